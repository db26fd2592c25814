"""The thread store in PostgreSQL: LangGraph's Postgres saver and store, and the CLI's own usage table beside them.

Imported only for a `--db postgresql://...` store, after `options.require` has checked that the `postgres` extra
is installed; `threads.py` opens the store and turns the errors raised here into one-line messages.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row

from nodes.llm import Usage
from nodes.llm.keys import RedactingSerializer, redact_value

Error = psycopg.Error
"""What connecting, setting up or querying the store raises (the driver's base error)."""
Connection = psycopg.AsyncConnection[DictRow]

CONNECT_TIMEOUT = 10
"""Seconds to wait for a server that does not answer, unless the URL sets `connect_timeout` (libpq's default is
to wait forever, which would hang the command on a host that drops packets)."""

_SETUP_LOCK = 0x776F726B666C6F77
"""The advisory lock held while creating or migrating the tables: two processes starting their first threads on
a new database at once would otherwise both create the same tables and both record the same migration."""

SETUP_LOCK_POLL = 0.05
SETUP_LOCK_WAIT = 120.0
"""Seconds between tries for the setup lock, and most seconds to wait for it (a first setup takes well under one)."""

USAGE_TABLE = (
    "CREATE TABLE IF NOT EXISTS workflows_usage "
    "(thread_id TEXT NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, usage JSONB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS workflows_usage_thread_id ON workflows_usage (thread_id)",
)
"""What each run or resume of a thread used (a Usage), so a resumed thread keeps to its budget."""


class CannotConnect(Exception):
    """The URL cannot be read, the server cannot be reached, or it refused the login (the message says which)."""


class NoThreadStore(Exception):
    """The database holds no thread store (no checkpoints table), and none was to be created."""


class RedactingPostgresSaver(AsyncPostgresSaver):
    """AsyncPostgresSaver that writes no key, also in the values it keeps outside the serializer.

    The Postgres saver stores a channel's value inline in the checkpoint row, as JSON, when it is a string or
    another primitive, so those never pass through `serde`: a key pasted into a run's input would reach the
    table before the first node could remove it. Redact them here; everything else goes through `serde`.
    """

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save the checkpoint with every inline string value redacted."""
        values = {
            channel: redact_value(value) if isinstance(value, str) else value
            for channel, value in checkpoint["channel_values"].items()
        }
        return await super().aput(config, {**checkpoint, "channel_values": values}, metadata, new_versions)


async def connect(url: str, *, read_only: bool) -> Connection:
    """Connect as LangGraph's Postgres classes expect (autocommit, dict rows, no prepared statements).

    `read_only` makes every transaction of the session read-only, so `history` and `threads` cannot change a
    store even by mistake. Raises `CannotConnect` for a URL libpq cannot read, a server that cannot be reached, or a
    refused login.
    """
    before_query = re.split(r"[?#]", url.partition("://")[2], maxsplit=1)[0]
    if before_query.count("@") > 1:
        # libpq ends the user name and password at the first "@" and reads the rest of the password as the host.
        raise CannotConnect("the URL has more than one '@' before its host: write an '@' in a password as %40")
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise CannotConnect(f"not a database URL libpq can read: {error}") from error
    settings: dict[str, Any] = {}
    if "connect_timeout" not in given:
        settings["connect_timeout"] = CONNECT_TIMEOUT
    if read_only:
        settings["options"] = f"{given.get('options') or ''} -c default_transaction_read_only=on".strip()
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, **settings
        )
    except psycopg.OperationalError as error:
        raise CannotConnect(str(error)) from error


async def has_table(connection: Connection, table: str) -> bool:
    """Tell whether the database has `table` (in the connection's search path)."""
    row = await (await connection.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (table,))).fetchone()
    return bool(row and row["found"])


async def holds_threads(connection: Connection) -> bool:
    """Tell whether the database has a checkpoints table."""
    return await has_table(connection, "checkpoints")


class PostgresTables:
    """The CLI's own queries beside the saver: what each run used, and which threads the store holds."""

    def __init__(self, connection: Connection) -> None:
        """Query through `connection` (the saver's: autocommit, so each statement stands alone)."""
        self.connection = connection

    async def spent(self, thread: str) -> Usage:
        """Return what all runs of `thread` used (nothing for a store from before usage was kept)."""
        total = Usage()
        try:
            cursor = await self.connection.execute("SELECT usage FROM workflows_usage WHERE thread_id = %s", (thread,))
        except psycopg.errors.UndefinedTable:  # a store opened read-only, made before this table existed
            return total
        for row in await cursor.fetchall():
            total.add(Usage.from_dict(row["usage"]))
        return total

    async def record(self, thread: str, used: Usage) -> None:
        """Add what one run of `thread` used."""
        await self.connection.execute(
            "INSERT INTO workflows_usage VALUES (%s, %s, %s)",
            (thread, datetime.now(UTC), json.dumps(used.as_dict())),
        )

    async def forget(self, thread: str) -> None:
        """Delete what the runs of `thread` used (the thread is being deleted)."""
        await self.connection.execute("DELETE FROM workflows_usage WHERE thread_id = %s", (thread,))

    async def thread_ids(self) -> list[str]:
        """Return the id of every thread with a checkpoint."""
        cursor = await self.connection.execute("SELECT DISTINCT thread_id FROM checkpoints")
        return [row["thread_id"] for row in await cursor.fetchall()]


async def _migrated(connection: Connection, table: str, migrations: int) -> bool:
    """Tell whether `table` records all `migrations` (LangGraph's migration tables hold one row per version)."""
    if not await has_table(connection, table):
        return False
    latest = await (await connection.execute(f"SELECT max(v) AS v FROM {table}")).fetchone()
    return bool(latest and latest["v"] is not None and latest["v"] >= migrations - 1)


async def set_up(connection: Connection, saver: AsyncPostgresSaver, store: AsyncPostgresStore) -> bool:
    """Tell whether the tables exist and are migrated, so that opening the store need not run any DDL.

    LangGraph's `setup()` begins with `CREATE TABLE IF NOT EXISTS`, which PostgreSQL refuses to a role without the
    CREATE right on the schema even when the table exists: checking first lets a role that may only read and
    write the tables use a store its owner set up.
    """
    return (
        await _migrated(connection, "checkpoint_migrations", len(saver.MIGRATIONS))
        and await _migrated(connection, "store_migrations", len(store.MIGRATIONS))
        and await has_table(connection, "workflows_usage")
    )


async def take_setup_lock(connection: Connection) -> None:
    """Take the setup lock, asking again every `SETUP_LOCK_POLL` seconds until another process has released it.

    Not `pg_advisory_lock`, which waits inside a statement: LangGraph's setup creates its indexes with `CREATE INDEX
    CONCURRENTLY`, which waits for every open transaction, so a second process waiting for the lock in a statement
    and the first one's index build would wait for each other (PostgreSQL then cancels one as a deadlock). A
    `pg_try_advisory_lock` returns at once and leaves no transaction open between tries.
    """
    waited = 0.0
    while True:
        cursor = await connection.execute("SELECT pg_try_advisory_lock(%s) AS taken", (_SETUP_LOCK,))
        row = await cursor.fetchone()
        if row is not None and row["taken"]:
            return
        if waited >= SETUP_LOCK_WAIT:
            # A psycopg error, so the caller reports it as it reports the server's own errors.
            raise psycopg.errors.LockNotAvailable(
                f"another process has been creating the tables for more than {SETUP_LOCK_WAIT:.0f} s"
            )
        await asyncio.sleep(SETUP_LOCK_POLL)
        waited += SETUP_LOCK_POLL


@asynccontextmanager
async def open_stores(
    url: str, *, create: bool, read_only: bool
) -> AsyncIterator[tuple[RedactingPostgresSaver, AsyncPostgresStore | None, PostgresTables]]:
    """Open the saver, the store (None when `read_only`) and the usage table of the database at `url`.

    Unless `read_only`, tables that are missing or behind are created or migrated first, under an advisory lock.
    The saver and the store get a connection each; both are closed on leaving. Raises `Error` when the server
    cannot be reached or refuses, and `NoThreadStore` when the database has no thread store and `create` is false.
    """
    async with await connect(url, read_only=read_only) as connection:
        if not await holds_threads(connection) and (read_only or not create):
            raise NoThreadStore(url)
        saver = RedactingPostgresSaver(connection, serde=RedactingSerializer())
        if read_only:
            yield saver, None, PostgresTables(connection)
            return
        async with await connect(url, read_only=False) as store_connection:
            store = AsyncPostgresStore(store_connection)
            if await set_up(connection, saver, store):
                yield saver, store, PostgresTables(connection)
                return
            await take_setup_lock(connection)
            try:
                await saver.setup()
                await store.setup()
                for statement in USAGE_TABLE:
                    await connection.execute(statement)
            finally:
                await connection.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
            yield saver, store, PostgresTables(connection)
