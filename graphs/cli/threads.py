"""Durable threads for the CLI: runs kept in SQLite or PostgreSQL that pause before a node, resume, replay, fork."""

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shlex
import sqlite3
import sys
import traceback
import typing
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import unquote

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.errors import InvalidUpdateError
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.store.sqlite.aio import AsyncSqliteStore
from langgraph.types import StateSnapshot
from pydantic import TypeAdapter, ValidationError

from graphs.catalog import WORKFLOWS, Workflow
from graphs.cli.costs import report_budget_stop, usage_report
from graphs.cli.options import RUN_ERROR, ThreadError, check_models, check_nodes, node_names, require
from graphs.cli.progress import NoModelAnswered, as_data, choose, stream_run
from nodes import llm
from nodes.inputs import out_of_range
from nodes.llm import BudgetSpent, Usage, UsageMeter
from nodes.llm.keys import REDACTED, RedactingSerializer
from nodes.text import clip, printable
from state.common import NodeName
from state.context import Context

Graph = CompiledStateGraph[Any, Any, Any, Any]
Show = Callable[[argparse.Namespace, Workflow, list[dict[str, Any]], dict[str, Any]], None]
"""How the CLI prints finished results (`workflows run`'s own printer, so `resume` prints the same); the last
argument is what `--json` adds for a thread: its `thread` and `checkpoint`."""

WORKFLOW_KEY = "workflow"
"""Checkpoint metadata key naming the thread's workflow, so `resume` and `history` need no workflow name."""
CONTEXT_KEY = "workflow_context"
"""Checkpoint metadata key holding the run's Context as JSON (LangGraph keeps only scalar metadata values)."""
PAUSES_KEY = "workflow_interrupt_before"
"""Checkpoint metadata key holding, as JSON, the nodes the run was asked to pause before: a run that stopped
before any other node did not pause, it was interrupted (killed, or crashed)."""


def default_db() -> Path:
    """Return where threads live without --db: the user's state folder, outside any project tree."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "workflows" / "threads.sqlite"


def wanted(args: argparse.Namespace) -> bool:
    """Tell whether `workflows run` was asked for a durable thread (any thread option: --db alone is refused)."""
    return args.thread is not None or bool(args.interrupt_before) or args.db is not None


def check_run(args: argparse.Namespace, inputs: list[dict[str, Any]], nodes: Sequence[str]) -> None:
    """Validate `run`'s thread options before any model is built (the store is checked when the run opens it)."""
    if args.thread is None and args.interrupt_before:
        raise ThreadError("--interrupt-before needs --thread ID: a paused run is kept in a thread to resume later")
    if args.thread is None:
        raise ThreadError("--db needs --thread ID: it names where the thread is kept, and without one nothing is")
    if len(inputs) != 1:
        raise ThreadError(
            f"a thread holds one run: pass the input text, e.g. workflows run {args.name} TEXT "
            f"--thread {shlex.quote(args.thread)}"
        )
    check_nodes("--interrupt-before", args.name, nodes, args.interrupt_before)


def run(args: argparse.Namespace, workflow: Workflow, payload: dict[str, Any], context: Context, show: Show) -> int:
    """Run one input as a new thread, pausing where --interrupt-before says (after `check_run`)."""
    return asyncio.run(_start(args, workflow, payload, context, show))


def main(args: argparse.Namespace, show: Show) -> int:
    """Run the `resume`, `history` or `threads` subcommand."""
    if args.command == "resume":
        return asyncio.run(_resume(args, show))
    if args.command == "threads":
        return asyncio.run(_delete(args) if args.delete else _threads(args))
    return asyncio.run(_history(args))


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
"""`--db` values that name a PostgreSQL database (libpq's URL forms) rather than a SQLite file."""
POSTGRES_EXTRA = "postgres"
"""The project extra that installs the PostgreSQL thread store's packages."""


def is_postgres(db: str | None) -> bool:
    """Tell whether `--db` names a PostgreSQL database (a `postgresql://` or `postgres://` URL), not a file."""
    return db is not None and db.startswith(POSTGRES_SCHEMES)


# The password runs to the last "@" before the query: one written with a bare "@" (which libpq cannot read) is
# hidden whole, and so is a user name holding one ("u@x:p@host").
_URL_PASSWORD = re.compile(r"^(?P<head>[a-z]+://[^:/?#]*:)(?P<password>[^?#]*)@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&#]*)", re.IGNORECASE)


def shown_db(db: str) -> str:
    """Return `--db` as it may be printed: a password in a database URL becomes `***`."""
    if not is_postgres(db):
        return db
    db = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", db)
    return _QUERY_PASSWORD.sub(rf"\g<head>{REDACTED}", db)


def _without_password(text: str, db: str) -> str:
    """Return `text` (a driver's message, which may quote the URL) with the URL's password taken out."""
    found = [match["password"] for match in (*_URL_PASSWORD.finditer(db), *_QUERY_PASSWORD.finditer(db))]
    for password in sorted({*found, *(unquote(password) for password in found)} - {""}, key=len, reverse=True):
        text = text.replace(password, REDACTED)
    return text.replace(db, shown_db(db))


def start_hint(db: str | None, thread: str = "ID") -> str:
    """Return the command that starts a thread in the store `db` (the default store needs no `--db`)."""
    where = f" --db {shlex.quote(shown_db(db))}" if db else ""
    return f"workflows run NAME TEXT --thread {shlex.quote(thread)}{where}"


def store_path(db: str | None, *, create: bool) -> Path:
    """Return the thread store's path, checked; only `create` accepts a missing file (and makes its folder)."""
    path = Path(db).expanduser() if db else default_db()
    if path.is_dir():
        raise ThreadError(f"--db {path} is a folder; give a file path such as {path / 'threads.sqlite'}")
    if not path.exists():
        if not create:
            raise ThreadError(f"no thread store at {path}; start a thread with: {start_hint(db)}")
        if db is None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ThreadError(f"cannot create the thread store folder {path.parent}: {error.strerror}") from None
        elif not path.parent.is_dir():
            raise ThreadError(f"--db {path}: the folder {path.parent} does not exist")
    return path


class StoreTables(Protocol):
    """The CLI's own queries beside the saver: what each run of a thread used, and which threads there are."""

    async def spent(self, thread: str) -> Usage:
        """Return what all runs of `thread` used so far (nothing for a store from before usage was kept)."""
        ...

    async def record(self, thread: str, used: Usage) -> None:
        """Add what one run of `thread` used."""
        ...

    async def forget(self, thread: str) -> None:
        """Delete what the runs of `thread` used (the thread is being deleted)."""
        ...

    async def thread_ids(self) -> list[str]:
        """Return the id of every thread with a checkpoint."""
        ...


@dataclasses.dataclass(frozen=True)
class Stores:
    """Where the threads (checkpoints) live and, beside them, the long-lived records: SQLite or PostgreSQL."""

    saver: BaseCheckpointSaver[Any]
    """Checkpoints: what each thread's run did, to pause, resume and replay."""
    store: BaseStore | None
    """The LangGraph store the graphs' nodes see as `runtime.store`: the orchestrator keeps its cases, RMAs and
    follow-ups there, so a run resumed in another process finds them (None when opened read-only)."""
    tables: StoreTables
    """What each run used (for thread budgets) and the list of threads."""


@asynccontextmanager
async def open_store(db: str | None, *, create: bool, read_only: bool = False) -> AsyncIterator[Stores]:
    """Open the thread store at `db`: a SQLite file (default: `default_db()`) or a `postgresql://` URL.

    Only `create` makes a missing store. `read_only` opens it without write access and without creating
    tables, so a store the user may only read (a shared or archived file, a read-only database role) can still
    be shown. Checkpoints are written through a RedactingSerializer: a key in a run's input is never written.
    """
    if db and is_postgres(db):
        opening = _open_postgres(db, create=create, read_only=read_only)
    else:
        opening = _open_sqlite(db, create=create, read_only=read_only)
    async with opening as stores:
        yield stores


@asynccontextmanager
async def _open_sqlite(db: str | None, *, create: bool, read_only: bool) -> AsyncIterator[Stores]:
    path = store_path(db, create=create and not read_only)
    async with AsyncExitStack() as stack:
        try:
            if read_only:
                saver = AsyncSqliteSaver(await _connect_read_only(stack, path), serde=RedactingSerializer())
                store = None
            else:
                connection = await stack.enter_async_context(aiosqlite.connect(str(path)))
                saver = AsyncSqliteSaver(connection, serde=RedactingSerializer())
                store = await stack.enter_async_context(AsyncSqliteStore.from_conn_string(str(path)))
                async with _setup_lock(path):
                    await saver.setup()
                    await store.setup()
                    await saver.conn.execute(_USAGE_TABLE)
        except (sqlite3.Error, OSError) as error:
            raise ThreadError(f"--db {path} is not a usable thread store ({error})") from None
        yield Stores(saver, store, SqliteTables(saver.conn))


@asynccontextmanager
async def _open_postgres(url: str, *, create: bool, read_only: bool) -> AsyncIterator[Stores]:
    needed_for = f"--db {url.partition('://')[0]}://..."
    require("psycopg", "psycopg[binary]", needed_for, extra=POSTGRES_EXTRA)
    require("langgraph.checkpoint.postgres.aio", "langgraph-checkpoint-postgres", needed_for, extra=POSTGRES_EXTRA)
    from graphs.cli import postgres

    def unusable(error: Exception) -> ThreadError:
        reason = _without_password(" ".join(str(error).split()), url)
        return ThreadError(f"--db {shown_db(url)} is not a usable thread store ({reason})")

    async with AsyncExitStack() as stack:
        try:
            saver, store, tables = await stack.enter_async_context(
                postgres.open_stores(url, create=create, read_only=read_only)
            )
        except postgres.NoThreadStore:
            raise ThreadError(f"no thread store in {shown_db(url)}; start a thread with: {start_hint(url)}") from None
        except postgres.CannotConnect as error:
            reason = _without_password(" ".join(str(error).split()), url)
            raise ThreadError(f"--db {shown_db(url)}: cannot connect to the database ({reason})") from None
        except postgres.Error as error:
            raise unusable(error) from None
        try:
            yield Stores(saver, store, tables)
        except postgres.Error as error:
            if not read_only:
                raise  # a run's own errors keep their handling (the thread kept, and the hint to resume it)
            # `history` and `threads` only query: a refusal there (a role that may connect but not read the
            # tables) is the store's, not a failed run's.
            raise unusable(error) from None


@asynccontextmanager
async def _setup_lock(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock on the store's folder while the store's tables are made or migrated.

    Two processes making the same new store at once would otherwise both record LangGraph's store migrations
    (one fails: "UNIQUE constraint failed: store_migrations.v"). The lock is on the folder, not the file:
    SQLite's own locks on the file are POSIX locks, which closing another descriptor of the file would release.
    Where there is no flock (Windows) or the folder cannot be opened, setup runs unlocked, as LangGraph's does.
    """
    try:
        import fcntl

        folder = os.open(path.parent, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        await asyncio.to_thread(fcntl.flock, folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


async def _connect_read_only(stack: AsyncExitStack, path: Path) -> aiosqlite.Connection:
    uri = path.resolve().as_uri()
    try:
        return await _probe(stack, f"{uri}?mode=ro")
    except sqlite3.OperationalError:
        # The store is in WAL mode, and reading it needs its -shm index, which cannot be made in a read-only
        # folder; immutable=1 reads the database file alone (only a crashed writer's -wal would be missed).
        return await _probe(stack, f"{uri}?mode=ro&immutable=1")


async def _probe(stack: AsyncExitStack, uri: str) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(uri, uri=True)
    try:
        # Nothing is read until the first query: fail here, as one clear line, on a file that is no store.
        await connection.execute("SELECT thread_id FROM checkpoints LIMIT 1")
    except BaseException:
        await connection.close()
        raise
    stack.push_async_callback(connection.close)
    return connection


_USAGE_TABLE = """
CREATE TABLE IF NOT EXISTS workflows_usage (thread_id TEXT NOT NULL, recorded_at TEXT NOT NULL, usage TEXT NOT NULL)
"""
"""What each run or resume of a thread used (a Usage as JSON), so a resumed thread keeps to its budget."""


class SqliteTables:
    """The CLI's own queries beside the SQLite saver (see StoreTables), on the saver's connection."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        """Query through `connection`."""
        self.connection = connection

    async def spent(self, thread: str) -> Usage:
        """Return what all runs of `thread` used so far (nothing for a store from before usage was kept)."""
        total = Usage()
        try:
            query = "SELECT usage FROM workflows_usage WHERE thread_id = ?"
            async with self.connection.execute(query, (thread,)) as rows:
                async for (raw,) in rows:
                    total.add(Usage.from_dict(json.loads(raw)))
        except sqlite3.OperationalError:  # a read-only store written before this table existed
            pass
        return total

    async def record(self, thread: str, used: Usage) -> None:
        """Add what one run of `thread` used."""
        now = datetime.now(UTC).isoformat()
        await self.connection.execute(
            "INSERT INTO workflows_usage VALUES (?, ?, ?)", (thread, now, json.dumps(used.as_dict()))
        )
        await self.connection.commit()

    async def forget(self, thread: str) -> None:
        """Delete what the runs of `thread` used (the thread is being deleted)."""
        await self.connection.execute("DELETE FROM workflows_usage WHERE thread_id = ?", (thread,))
        await self.connection.commit()

    async def thread_ids(self) -> list[str]:
        """Return the id of every thread with a checkpoint."""
        async with self.connection.execute("SELECT DISTINCT thread_id FROM checkpoints") as cursor:
            return [thread for (thread,) in await cursor.fetchall()]


async def _record(stores: Stores, thread: str, meter: UsageMeter) -> None:
    used = meter.run_total()
    if used.calls:
        await stores.tables.record(thread, used)


def durable(workflow: Workflow, stores: Stores) -> Graph:
    """Return the workflow's graph with the thread store's checkpointer and store, every other option kept."""
    return workflow.load().copy(update={"checkpointer": stores.saver, "store": stores.store})


def thread_config(thread: str, checkpoint: str | None = None) -> RunnableConfig:
    """Return the config that addresses a thread (its latest checkpoint unless one is named)."""
    configurable: dict[str, Any] = {"thread_id": thread}
    if checkpoint is not None:
        configurable.update(checkpoint_ns="", checkpoint_id=checkpoint)
    return {"configurable": configurable}


def context_to_json(context: Context) -> str:
    """Serialize the settings a resumed run should reuse (a Python model object cannot be stored)."""
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context) if f.name != "chat_model"}
    return json.dumps(fields, sort_keys=True)


def context_from_json(raw: object) -> Context:
    """Rebuild a stored Context, ignoring settings this version no longer has."""
    known = {f.name for f in dataclasses.fields(Context)} - {"chat_model"}
    stored = json.loads(raw) if isinstance(raw, str) else {}
    return Context(**{key: value for key, value in stored.items() if key in known})


def _waiting(nodes: Sequence[str]) -> str:
    # A Send fan-out pauses before one task per branch, all with the same node name.
    counts = Counter(nodes)
    return ", ".join(f"{node} ({count} branches)" if count > 1 else node for node, count in counts.items())


def _hint(args: argparse.Namespace) -> str:
    db = f" --db {shlex.quote(shown_db(args.db))}" if args.db else ""
    return f"--thread {shlex.quote(args.thread)}{db}"


async def _start(
    args: argparse.Namespace, workflow: Workflow, payload: dict[str, Any], context: Context, show: Show
) -> int:
    async with open_store(args.db, create=True) as stores:
        # Checked on the connection the run writes with, so the store is opened once.
        existing = await stores.saver.aget_tuple(thread_config(args.thread))
        graph = durable(workflow, stores)
        if existing is not None:
            owner = existing.metadata.get(WORKFLOW_KEY, "?")
            # A finished thread has nothing to continue: point at what it did and how to branch off it instead.
            kept = durable(WORKFLOWS[owner], stores) if owner in WORKFLOWS else None
            finished = kept is not None and not (await kept.aget_state(thread_config(args.thread))).next
            go_on = (
                f"it has finished: see it with `workflows history {_hint(args)}`, or replay from one of its "
                f"checkpoints with `workflows resume {_hint(args)} --checkpoint ID`"
                if finished
                else f"continue it with `workflows resume {_hint(args)}`"
            )
            raise ThreadError(f"thread {args.thread!r} already exists ({owner}); {go_on}, or pick a new --thread ID")
        config = _with_metadata(thread_config(args.thread), args.name, context, args.interrupt_before)
        return await _go(stores, graph, args, workflow, payload, config, context, show, Usage())


def _failed(args: argparse.Namespace, error: Exception) -> int:
    # Unlike a run without --thread, nothing is lost: the thread holds every step that finished, and resuming
    # starts again at the step that failed.
    if args.debug:
        traceback.print_exc()
    print(f"workflows: error: {llm.describe_error(error)}", file=sys.stderr)
    print(
        f"The thread keeps the steps that finished: workflows resume {_hint(args)} (after fixing the cause), "
        f"workflows history {_hint(args)}.",
        file=sys.stderr,
    )
    return RUN_ERROR


def _with_metadata(config: RunnableConfig, name: str, context: Context, pauses: Sequence[str]) -> RunnableConfig:
    # Run metadata is copied into every checkpoint the run writes, so each one names its workflow, its settings
    # and where it was asked to pause.
    metadata = {WORKFLOW_KEY: name, CONTEXT_KEY: context_to_json(context), PAUSES_KEY: json.dumps(list(pauses))}
    return {**config, "metadata": metadata}


async def _report(
    graph: Graph,
    args: argparse.Namespace,
    workflow: Workflow,
    result: dict[str, Any],
    show: Show,
    usage: dict[str, Any],
) -> int:
    state = await graph.aget_state(thread_config(args.thread))
    checkpoint = state.config["configurable"]["checkpoint_id"]
    where = {"thread": args.thread, "checkpoint": checkpoint}
    if not state.next:
        show(args, workflow, [result], {**where, "usage": usage})
        return 0
    waiting = _waiting(state.next)
    if args.json:
        paused = {"workflow": args.name, "status": "paused", **where, "paused_before": list(state.next)}
        values = as_data(state.values)
        shown = {**paused, "values": values, "usage": usage}
        print(llm.redact(json.dumps(shown, indent=2, ensure_ascii=False, default=str)))
        return 0
    lines = [
        f"Paused before {waiting} (workflow {args.name}, thread {args.thread}, checkpoint {checkpoint}).",
        f"Inspect: workflows history {_hint(args)}",
        f"Resume:  workflows resume {_hint(args)}",
    ]
    print(printable(llm.redact("\n".join(lines))))
    return 0


async def _thread(saver: BaseCheckpointSaver[Any], thread: str, db: str | None) -> tuple[Workflow, str, Context]:
    """Return the thread's workflow, its name and the Context its run was started (or last resumed) with."""
    seen = False
    metadata: dict[str, Any] = {}
    # An edit (`resume --set`, Studio's state editor) writes a checkpoint without the run's metadata; when the
    # run after it fails, that edit stays the newest checkpoint, so look past it to the last one a run wrote.
    # aclosing: leaving the loop early must close the saver's generator now, while its connection is still open.
    listing = cast(AsyncGenerator[CheckpointTuple, None], saver.alist(thread_config(thread)))
    async with aclosing(listing) as checkpoints:
        async for checkpoint in checkpoints:
            seen = True
            if WORKFLOW_KEY in checkpoint.metadata:
                metadata = dict(checkpoint.metadata)
                break
    if not seen:
        raise ThreadError(f"unknown thread {thread!r}; start one with: {start_hint(db, thread)}")
    name = metadata.get(WORKFLOW_KEY)
    if not isinstance(name, str) or name not in WORKFLOWS:
        raise ThreadError(f"thread {thread!r} belongs to no registered workflow (recorded: {name!r})")
    return WORKFLOWS[name], name, context_from_json(metadata.get(CONTEXT_KEY))


async def _find_checkpoint(graph: Graph, thread: str, wanted: str) -> RunnableConfig:
    ids = [
        snapshot.config["configurable"]["checkpoint_id"]
        async for snapshot in graph.aget_state_history(thread_config(thread))
    ]
    matches = [checkpoint for checkpoint in ids if checkpoint.startswith(wanted)]
    if wanted in ids:
        matches = [wanted]
    if len(matches) != 1:
        problem = "matches no checkpoint" if not matches else f"matches {len(matches)} checkpoints"
        raise ThreadError(
            f"--checkpoint {wanted!r} {problem} of thread {thread!r}; see workflows history --thread {thread}"
        )
    return thread_config(thread, matches[0])


def _updates(graph: Graph, items: Sequence[str]) -> dict[str, Any]:
    """Read `--set KEY=VALUE` edits, each checked against the type the state declares for KEY.

    VALUE is JSON, else text; a JSON value of the wrong type is taken as text when the key holds text
    (`--set query=42` sets the query "42"). A value that fits neither is refused, so a thread is never left
    holding state its nodes cannot read.
    """
    hints = typing.get_type_hints(graph.builder.state_schema, include_extras=True)
    keys = [key for key in graph.builder.channels if not key.startswith("__") and key in hints]
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in keys:
            raise ThreadError(f"--set expects KEY=VALUE with KEY one of: {', '.join(keys)}; got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        adapter = _state_type(hints[key])
        try:
            updates[key] = adapter.validate_python(value, strict=True)
        except ValidationError as error:
            try:
                updates[key] = adapter.validate_python(raw, strict=True)
            except ValidationError:
                problem = error.errors()[0]
                # The bounds the graph's entry checks (`Field(ge=1, le=10)`): a paused thread gets the same.
                if bounded := out_of_range(graph.builder.state_schema, key, problem):
                    raise ThreadError(f"--set {key}: {bounded}") from None
                raise ThreadError(f"--set {key}: {problem['msg']} (got {value!r})") from None
        marks = typing.get_args(hints[key])[1:] if typing.get_origin(hints[key]) is typing.Annotated else ()
        if any(isinstance(mark, NodeName) for mark in marks) and updates[key] not in _edge_targets(graph):
            # An edge goes to the node this key names: another value would fail the run where the edge is taken.
            targets = ", ".join(_edge_targets(graph))
            raise ThreadError(
                f"--set {key}: must name a node an edge goes to, one of: {targets} (got {updates[key]!r})"
            )
        required: frozenset[str] = getattr(graph.builder.input_schema, "__required_keys__", frozenset())
        if key in required and isinstance(updates[key], str) and not updates[key].strip():
            # As `run` refuses an empty input text: no node of the run could do anything with it.
            raise ThreadError(f"--set {key}: is empty, and the run cannot go on without it")
    return updates


async def _last_ran(graph: Graph, snapshot: StateSnapshot) -> str | None:
    """Return a node of the step that led to `snapshot`'s checkpoint, for an edit to be applied as its output.

    LangGraph infers that node when it is not named, and gets it wrong after parallel steps: two nodes that ran at
    once ("Ambiguous update, specify as_node"), or workers fed by Send, which leave no trace it reads, so the edit is
    applied as the node that sent them. An earlier edit's checkpoint stands where the step before it left the run,
    so that step's node is the one; None (LangGraph's own choice) before any step ran.
    """
    while (snapshot.metadata or {}).get("source") in ("update", "fork") and snapshot.parent_config is not None:
        snapshot = await graph.aget_state(snapshot.parent_config)
    if (snapshot.metadata or {}).get("source") != "loop" or snapshot.parent_config is None:
        return None
    ran = [task.name for task in (await graph.aget_state(snapshot.parent_config)).tasks]
    return ran[0] if ran else None


def _edge_targets(graph: Graph) -> list[str]:
    """Return the nodes the graph's conditional edges may go to, as their path maps declare them."""
    ends = [spec.ends or {} for branches in graph.builder.branches.values() for spec in branches.values()]
    return list(dict.fromkeys(str(node) for end in ends for node in end.values()))


def _state_type(hint: Any) -> TypeAdapter[Any]:
    if typing.get_origin(hint) in (typing.NotRequired, typing.Required):
        hint = typing.get_args(hint)[0]
    return TypeAdapter(hint)


async def _resume(args: argparse.Namespace, show: Show) -> int:
    async with open_store(args.db, create=False) as stores:
        workflow, name, context = await _thread(stores.saver, args.thread, args.db)
        args.name = name
        graph = durable(workflow, stores)
        nodes = node_names([graph])
        check_nodes("--interrupt-before", name, nodes, args.interrupt_before)
        if args.model:
            context = dataclasses.replace(context, model=args.model)
        budget = {"max_tokens": args.max_tokens, "max_cost": args.max_cost}
        context = dataclasses.replace(context, **{key: value for key, value in budget.items() if value is not None})
        config = thread_config(args.thread)
        if args.checkpoint:
            config = await _find_checkpoint(graph, args.thread, args.checkpoint)
        paused = await graph.aget_state(config)
        if not paused.next:
            where = f"checkpoint {args.checkpoint!r} is the end of its branch" if args.checkpoint else "it has finished"
            raise ThreadError(
                f"nothing to resume in thread {args.thread!r}: {where}; replay from an earlier one with "
                f"--checkpoint ID (see workflows history --thread {args.thread})"
            )
        updates = _updates(graph, args.set)
        check_models(context, nodes)
        if updates:
            try:
                config = await graph.aupdate_state(config, updates, as_node=await _last_ran(graph, paused))
            except InvalidUpdateError as error:
                raise ThreadError(f"--set: {error}") from None
        earlier = await stores.tables.spent(args.thread)
        config = _with_metadata(config, name, context, args.interrupt_before)
        return await _go(stores, graph, args, workflow, None, config, context, show, earlier)


async def _go(
    stores: Stores,
    graph: Graph,
    args: argparse.Namespace,
    workflow: Workflow,
    payload: dict[str, Any] | None,
    config: RunnableConfig,
    context: Context,
    show: Show,
    earlier: Usage,
) -> int:
    """Run (payload) or resume (None) the thread with progress and a meter; report how it ended."""
    meter = UsageMeter.for_context(context, spent=earlier)
    progress = choose(args.quiet)
    try:
        result = await stream_run(
            graph,
            payload,
            config,
            context,
            meter,
            progress,
            interrupt_before=args.interrupt_before,
            stream_text=args.stream,
            # Each step's checkpoint is written before the next step starts: a process killed mid-run loses at
            # most the step it was in (LangGraph's default writes them while the next step already runs).
            durability="sync",
        )
    except BudgetSpent as stop:
        progress.close()
        await _record(stores, args.thread, meter)
        checkpoint = (await graph.aget_state(thread_config(args.thread))).config["configurable"]["checkpoint_id"]
        limit = "--max-tokens N" if stop.reason.startswith("the token") else "--max-cost USD"
        hint = (
            f"The thread keeps the steps that finished; continue with a larger budget: "
            f"workflows resume {_hint(args)} {limit}"
        )
        where = {"thread": args.thread, "checkpoint": checkpoint}
        return report_budget_stop(args, stop, usage_report([meter], earlier), where, hint)
    except asyncio.CancelledError:
        # Ctrl-C: asyncio.run cancels the run, then raises KeyboardInterrupt (exit 130). What the run used so far
        # counts towards the thread's budget, and the steps that finished are kept.
        progress.close()
        await _record(stores, args.thread, meter)
        print(f"The thread keeps the steps that finished: workflows resume {_hint(args)}", file=sys.stderr)
        raise
    except NoModelAnswered as error:
        # The run ended (its last checkpoint is final, nothing to resume), but no model answered.
        progress.close()
        await _record(stores, args.thread, meter)
        print(f"workflows: error: {llm.describe_error(error)}", file=sys.stderr)
        print(f"The thread holds what the run wrote: workflows history {_hint(args)}", file=sys.stderr)
        return RUN_ERROR
    except Exception as error:  # noqa: BLE001 - the checkpoints so far are kept; say how to go on from them
        progress.close()
        await _record(stores, args.thread, meter)
        return _failed(args, error)
    progress.close()
    await _record(stores, args.thread, meter)
    return await _report(graph, args, workflow, result, show, usage_report([meter], earlier))


_QUIET = {"input": "(input received)", "fork": "(copy of the checkpoint it branches off, to replay from)"}


def _short(value: Any, width: int = 70) -> str:
    return clip(json.dumps(value, ensure_ascii=False, default=str), width)


def history_rows(snapshots: Sequence[StateSnapshot]) -> list[dict[str, Any]]:
    """Describe checkpoints oldest first: which nodes ran to produce each one and what they wrote."""
    by_id = {snapshot.config["configurable"]["checkpoint_id"]: snapshot for snapshot in snapshots}
    rows = []
    for snapshot in sorted(snapshots, key=lambda s: s.config["configurable"]["checkpoint_id"]):
        parent_id = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        parent = by_id.get(parent_id) if parent_id else None
        # A task's result is what it wrote; the parent's tasks are the ones that ran to make this checkpoint.
        ran = [
            {"node": task.name, "wrote": as_data(task.result)}
            for task in (parent.tasks if parent else ())
            if task.result is not None
        ]
        metadata = snapshot.metadata or {}
        if metadata.get("source") == "fork":
            # Replaying from a checkpoint first copies it; nothing ran to make the copy.
            ran = []
        elif metadata.get("source") == "update" and parent is not None:
            # An edit (--set, or Studio's state editor) is no task; what it changed is the difference.
            changed = {k: v for k, v in snapshot.values.items() if parent.values.get(k) != v}
            ran = [{"node": "(edit)", "wrote": changed}]
        rows.append(
            {
                "checkpoint": snapshot.config["configurable"]["checkpoint_id"],
                "parent": parent_id,
                "step": metadata.get("step"),
                "source": metadata.get("source"),
                "ran": ran,
                "next": list(snapshot.next),
                "created_at": snapshot.created_at,
            }
        )
    return rows


def failures(snapshot: StateSnapshot) -> list[dict[str, str]]:
    """Return the tasks of `snapshot` that raised, as node and error text (the checkpointer keeps the repr)."""
    return [{"node": task.name, "error": llm.redact(str(task.error))} for task in snapshot.tasks if task.error]


def status(snapshot: StateSnapshot) -> str:
    """Tell how a thread's latest checkpoint stands.

    "finished"; "stopped" (a budget ran out before a model call: resume with a larger one); "failed" (a node
    raised); "paused" (before a node the run was asked to pause before, or a thread this CLI did not start, such
    as Studio's); "interrupted" (the run stopped before another node: the process was killed or crashed).
    Resuming continues all but a finished thread.
    """
    if not snapshot.next:
        return "finished"
    errors = failures(snapshot)
    if errors and all(failed["error"].startswith(f"{BudgetSpent.__name__}(") for failed in errors):
        return "stopped"
    if errors:
        return "failed"
    pauses = (snapshot.metadata or {}).get(PAUSES_KEY)
    if isinstance(pauses, str) and not set(snapshot.next) & set(json.loads(pauses)):
        return "interrupted"
    return "paused"


async def _history(args: argparse.Namespace) -> int:
    async with open_store(args.db, create=False, read_only=True) as stores:
        workflow, name, _ = await _thread(stores.saver, args.thread, args.db)
        graph = durable(workflow, stores)
        rows = history_rows([snapshot async for snapshot in graph.aget_state_history(thread_config(args.thread))])
        latest = await graph.aget_state(thread_config(args.thread))
        used = await stores.tables.spent(args.thread)
    ending = status(latest)
    errors = failures(latest)
    # A run whose nodes tolerate a failed call finishes even when every call failed (the CLI then exits 1): its
    # thread is finished, but nothing in it came from a model, and the history says so.
    unanswered = used.none_answered
    if args.json:
        shown = {
            "workflow": name,
            "thread": args.thread,
            "status": ending,
            "errors": errors,
            "no_model_answered": unanswered,
        }
        print(llm.redact(json.dumps({**shown, "checkpoints": rows}, indent=2, ensure_ascii=False, default=str)))
        return 0
    lines = [f"Thread {args.thread}: workflow {name}, {len(rows)} checkpoints, oldest first."]
    previous = None
    for row in rows:
        did = "; ".join(
            f"{ran['node']} wrote " + ", ".join(f"{key}={_short(value)}" for key, value in ran["wrote"].items())
            if isinstance(ran["wrote"], dict)
            else f"{ran['node']} wrote {_short(ran['wrote'])}"
            for ran in row["ran"]
        )
        did = did or _QUIET.get(row["source"], "(nothing ran)")
        fork = f" [branches off {row['parent']}]" if row["parent"] and row["parent"] != previous else ""
        lines.append(f"{row['checkpoint']}  step {row['step']:>2}  {row['source']:<6} {did}{fork}")
        previous = row["checkpoint"]
    if ending == "finished" and unanswered:
        lines.append(
            f"Finished, but every model call of the thread failed ({used.failed_calls}): what it wrote came from "
            "fallbacks, not a model. Once the cause is fixed, run it again on a new thread."
        )
    elif ending == "finished":
        lines.append("Finished.")
    elif ending == "paused":
        lines.append(f"Paused before: {_waiting(latest.next)}.")
    elif ending == "interrupted":
        lines.append(
            f"Interrupted before {_waiting(latest.next)}: the run stopped without finishing (its process was "
            f"killed or crashed). Resume continues it: workflows resume {_hint(args)}"
        )
    elif ending == "stopped":
        nodes = ", ".join(sorted({failed["node"] for failed in errors}))
        lines.append(
            f"Stopped by the budget before {nodes}'s model call. Continue with a larger budget: "
            f"workflows resume {_hint(args)} --max-tokens N (or --max-cost USD)"
        )
    else:
        stopped = "; ".join(f"{failed['node']}: {failed['error'][:300]}" for failed in errors)
        lines.append(
            f"Stopped by an error in {stopped}. After fixing the cause, resume re-runs it: "
            f"workflows resume {_hint(args)}"
        )
    lines.append(f"Replay or fork from a checkpoint: workflows resume {_hint(args)} --checkpoint ID [--set KEY=VALUE]")
    print(printable(llm.redact("\n".join(lines))))
    return 0


async def thread_rows(stores: Stores) -> list[dict[str, Any]]:
    """Describe every thread of a store, newest first: workflow, status, last step, time and what it used."""
    saver = stores.saver
    rows: list[dict[str, Any]] = []
    for thread in await stores.tables.thread_ids():
        try:
            workflow, name, _ = await _thread(saver, thread, None)
        except ThreadError:  # a thread of no registered workflow (Studio's, or an older version's)
            latest = await saver.aget_tuple(thread_config(thread))
            when = latest.checkpoint["ts"] if latest else ""
            rows.append({"thread": thread, "workflow": None, "status": "unknown", "step": None, "updated": when})
            continue
        state = await durable(workflow, stores).aget_state(thread_config(thread))
        used = await stores.tables.spent(thread)
        rows.append(
            {
                "thread": thread,
                "workflow": name,
                "status": status(state),
                "no_model_answered": used.none_answered,
                "step": (state.metadata or {}).get("step"),
                "next": list(state.next),
                "updated": state.created_at,
                "usage": used.as_dict(),
            }
        )
    return sorted(rows, key=lambda row: str(row["updated"]), reverse=True)


async def _threads(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    # The default store is made by the first thread run, so before one it holds no threads: not an error, as a
    # `--db` naming a missing file is (it may be mistyped).
    if args.db is not None or default_db().exists():
        async with open_store(args.db, create=False, read_only=True) as stores:
            rows = await thread_rows(stores)
    if args.json:
        print(json.dumps({"threads": rows}, indent=2, ensure_ascii=False, default=str))
        return 0
    if not rows:
        print(f"No threads; start one with: {start_hint(args.db)}")
        return 0
    table = [("thread", "workflow", "status", "step", "updated", "tokens", "cost")]
    for row in rows:
        used = Usage.from_dict(row.get("usage") or {})
        waiting = f" before {_waiting(row['next'])}" if row.get("next") and row["status"] == "paused" else ""
        waiting += ", no model answered" if row.get("no_model_answered") else ""
        cost = "?" if used.cost is None else f"${used.cost:.4f}"
        table.append(
            (
                row["thread"],
                row["workflow"] or "?",
                row["status"] + waiting,
                str(row["step"] if row["step"] is not None else "?"),
                str(row["updated"] or "")[:19].replace("T", " "),
                f"{used.total_tokens:,}",
                cost,
            )
        )
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return 0


async def _delete(args: argparse.Namespace) -> int:
    async with open_store(args.db, create=False) as stores:
        saver = stores.saver
        if await saver.aget_tuple(thread_config(args.delete)) is None:
            raise ThreadError(f"unknown thread {args.delete!r}; see workflows threads")
        await saver.adelete_thread(args.delete)
        await stores.tables.forget(args.delete)
    if args.json:
        print(json.dumps({"deleted": args.delete}))
    else:
        print(f"Deleted thread {args.delete}.")
    return 0
