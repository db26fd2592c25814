"""Live progress of runs, from LangGraph's stream modes: each node and fan-out branch as it starts and finishes.

`stream_run` runs a graph with `astream` and turns its stream into calls on a `Progress`: the `tasks` stream says
when each node or `Send` branch starts and finishes (with what it wrote, or its error), the `custom` stream
carries `{"progress": "..."}` reports (the model layer's, when a call waits for its rate limit, and any a node
makes with `get_stream_writer()`), and with `stream_text` the
`messages` stream carries model text as it arrives. A callback reports each failed model call as it happens, so
retries show. Every call names its run (`run`), so several runs at once can share one display.

Three displays: `RichProgress` (a live view on a terminal), `PlainProgress` (one line per event, for logs and
pipes) and `Progress` itself, which shows nothing (`--quiet`, `--json` to a pipe).
"""

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability, StreamMode
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from nodes import llm
from nodes.llm import Usage, UsageMeter
from nodes.text import clip, printable
from state.context import Context

Graph = CompiledStateGraph[Any, Any, Any, Any]

_QUIET_KEYS = {"models", "notes"}
"""Written by every node (provenance and warnings): the final output shows them, progress lines need not."""
_ITEM_NAMES = ("summary", "question", "label", "kind", "intent", "title", "name")
"""Keys that name an item of a list (a planned task, a worker's result, an FAQ item), best first."""
OVERWRITE = "__overwrite__"
"""The key of LangGraph's plain-JSON Overwrite write (see state.common.overwrite)."""


def as_data(value: Any) -> Any:
    """Return `value` with LangGraph's `{"__overwrite__": v}` writes replaced by `v`, at any depth."""
    if isinstance(value, Mapping):
        if set(value) == {OVERWRITE}:
            return as_data(value[OVERWRITE])
        return {key: as_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    return value


def item_label(item: Any, width: int = 48) -> str:
    """Name one item of a list in a few words: its summary, question, label or kind (plus its first field)."""
    if not isinstance(item, Mapping):
        return clip(str(item), width)
    name = next((str(item[key]) for key in _ITEM_NAMES if isinstance(item.get(key), str) and item[key]), "")
    fields = item.get("fields")
    if isinstance(fields, Mapping) and fields:
        name = f"{name} {next(iter(fields.values()))}".strip()
    if not name:
        name = next((str(value) for value in item.values() if isinstance(value, str) and value), "")
    return clip(" ".join(name.split()), width)  # one line, even when the item's text has several (a draft)


def describe_update(update: Any, width: int = 100) -> str:
    """Say in one line what a node wrote: short values as they are, lists by their items' names."""
    if not isinstance(update, Mapping):
        return "" if update is None else clip(str(update), width)
    parts = []
    for key, raw in as_data(update).items():
        if key in _QUIET_KEYS or raw in (None, "", [], {}):
            continue
        if isinstance(raw, list):
            names = [item_label(item, 40) for item in raw]
            parts.append(f"{key}: " + " · ".join(names) if names else f"{key}: none")
        elif isinstance(raw, float):
            parts.append(f"{key}={raw:.2f}")
        elif isinstance(raw, Mapping):
            parts.append(f"{key}: {len(raw)} entries")
        else:
            parts.append(f"{key}={clip(' '.join(str(raw).split()), 60)}")
    return clip("; ".join(parts), width)


def describe_branch(node: str, payload: Any) -> str:
    """Name a fan-out branch of `node` from its `Send` payload: its number and its task (or question)."""
    if not isinstance(payload, Mapping):
        return ""
    inner = payload.get("task")
    task: Mapping[str, Any] = inner if isinstance(inner, Mapping) else payload
    index = task.get("index")
    number = f"#{index + 1} " if isinstance(index, int) else ""
    label = item_label(task).removeprefix(node).strip()  # a worker node is named after its task's kind
    return f"{number}{label}".strip()


def usage_words(usage: Usage | None) -> str:
    """Say what a task's model calls used, e.g. "2 calls, 845 tokens" ("" when it made none)."""
    if usage is None or not usage.calls:
        return ""
    calls = f"{usage.calls} call{'s' if usage.calls != 1 else ''}"
    if usage.failed_calls:
        calls += f" ({usage.failed_calls} failed)"
    thinking = f" ({usage.thinking_tokens:,} thinking)" if usage.thinking_tokens else ""
    return f"{calls}, {usage.total_tokens:,} tokens{thinking}"


@dataclass
class Task:
    """A node or branch under way."""

    run: str
    node: str
    detail: str
    started: float = field(default_factory=time.monotonic)
    text: str = ""
    """Model text streamed so far (with --stream)."""


class Progress:
    """Shows nothing; the base of the displays, which override what they show."""

    def __init__(self) -> None:
        """Start with no task under way."""
        self.tasks: dict[str, Task] = {}

    def started(self, run: str, task_id: str, node: str, detail: str) -> None:
        """A node (or one branch of a fan-out) started."""
        self.tasks[task_id] = Task(run, node, detail)

    def finished(self, task_id: str, wrote: Any, error: str | None, usage: Usage | None) -> None:
        """A task finished: it wrote `wrote`, or failed with `error`."""
        task = self.tasks.pop(task_id, None)
        if task is not None:
            self.show_finished(task, time.monotonic() - task.started, wrote, error, usage)

    def show_finished(self, task: Task, seconds: float, wrote: Any, error: str | None, usage: Usage | None) -> None:
        """Show a finished task (nothing here)."""

    def call_failed(self, run: str, node: str, error: str) -> None:
        """A model call failed; the node or branch may retry it."""

    def reported(self, run: str, node: str, message: str) -> None:
        """A node reported something through the custom stream."""

    def text(self, run: str, task_id: str, node: str, chunk: str) -> None:
        """Model text arrived for a task (with --stream)."""

    def close(self) -> None:
        """Stop the display (a live view must give the terminal back)."""


def _prefix(run: str) -> str:
    return f"[{run}] " if run else ""


def _finished_line(task: Task, seconds: float, wrote: Any, error: str | None, usage: Usage | None) -> str:
    name = f"{task.node} {task.detail}".strip()
    cost = "; ".join(part for part in (f"{seconds:.1f} s", usage_words(usage)) if part)
    if error is not None:
        return f"{_prefix(task.run)}{name} failed ({cost}): {clip(error, 160)}"
    said = describe_update(wrote)
    return f"{_prefix(task.run)}{name} done ({cost})" + (f": {said}" if said else "")


def _shown(text: str) -> str:
    """Return text as the terminal may show it: no key, no control character."""
    return printable(llm.redact(text))


class PlainProgress(Progress):
    """One line per event on a stream (stderr by default): for logs, pipes and terminals without a live view."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        """Write to `stream` (default sys.stderr, looked up when writing so tests can capture it)."""
        super().__init__()
        self._stream = stream

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(_shown(line) + "\n")
        stream.flush()

    def started(self, run: str, task_id: str, node: str, detail: str) -> None:
        """Write that the task started."""
        super().started(run, task_id, node, detail)
        self._write(f"{_prefix(run)}{node} {detail}".rstrip() + " ...")

    def show_finished(self, task: Task, seconds: float, wrote: Any, error: str | None, usage: Usage | None) -> None:
        """Write the task's outcome, then any streamed text it had not ended with a newline."""
        if task.text:
            self._write(f"{_prefix(task.run)}{task.node} | {task.text}")
        self._write(_finished_line(task, seconds, wrote, error, usage))

    def call_failed(self, run: str, node: str, error: str) -> None:
        """Write the failed call."""
        self._write(f"{_prefix(run)}{node}: a model call failed: {clip(error, 200)}")

    def reported(self, run: str, node: str, message: str) -> None:
        """Write what the node reported."""
        self._write(f"{_prefix(run)}{node}: {message}" if node else f"{_prefix(run)}{message}")

    def text(self, run: str, task_id: str, node: str, chunk: str) -> None:
        """Write each complete line of streamed text as it arrives, prefixed with its node."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        *lines, task.text = (task.text + chunk).split("\n")
        for line in lines:
            self._write(f"{_prefix(run)}{node} | {line}")


class RichProgress(Progress):
    """A live view on a terminal: a spinner per task under way, a line per finished one, streamed text."""

    def __init__(self, console: Console | None = None) -> None:
        """Draw on `console` (default: a stderr console)."""
        super().__init__()
        self.console = console or Console(stderr=True)
        self._live = Live(console=self.console, refresh_per_second=8, transient=True, get_renderable=self._view)
        self._live.start()

    def _view(self) -> Group:
        rows = Table.grid(padding=(0, 1))
        for task in list(self.tasks.values()):
            elapsed = Text(f"{time.monotonic() - task.started:4.1f} s", style="dim")
            rows.add_row(Spinner("dots"), Text(f"{_prefix(task.run)}{task.node} {task.detail}".rstrip()), elapsed)
            if task.text:
                tail = "\n".join(task.text.splitlines()[-4:])
                rows.add_row("", Text(_shown(tail), style="italic"), "")
        return Group(rows)

    def show_finished(self, task: Task, seconds: float, wrote: Any, error: str | None, usage: Usage | None) -> None:
        """Print the task's outcome above the live view (and the text it streamed, in full)."""
        if task.text.strip():
            self.console.print(Text(_shown(task.text.strip()), style="italic"))
        line = Text("✗ " if error is not None else "✓ ", style="red" if error is not None else "green")
        line.append(_shown(_finished_line(task, seconds, wrote, error, usage)))
        self.console.print(line)

    def call_failed(self, run: str, node: str, error: str) -> None:
        """Print the failed call."""
        self.console.print(Text(_shown(f"! {_prefix(run)}{node}: a model call failed: {clip(error, 200)}"), "yellow"))

    def reported(self, run: str, node: str, message: str) -> None:
        """Print what the node reported."""
        said = f"{node}: {message}" if node else message
        self.console.print(Text(_shown(f"· {_prefix(run)}{said}"), style="dim"))

    def text(self, run: str, task_id: str, node: str, chunk: str) -> None:
        """Keep the text; the live view shows its last lines under the task."""
        task = self.tasks.get(task_id)
        if task is not None:
            task.text += chunk

    def close(self) -> None:
        """Stop the live view."""
        self._live.stop()


def choose(quiet: bool, stream: IO[str] | None = None) -> Progress:
    """Return the display for this terminal: none when quiet, live on a terminal, plain lines otherwise."""
    if quiet:
        return Progress()
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(Console(file=target))
    return PlainProgress(stream)


class _FailedCalls(BaseCallbackHandler):
    """Tells the display about each failed model call, as it fails (a retry follows if it may help)."""

    run_inline = True

    def __init__(self, progress: Progress, run: str) -> None:
        self.progress = progress
        self.run = run
        self.nodes: dict[UUID, str] = {}
        self.first: BaseException | None = None
        """The first call that failed, to name if none succeeds."""

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.nodes[run_id] = str((metadata or {}).get("langgraph_node", "?"))

    def on_llm_end(self, response: Any, *, run_id: UUID, **_: Any) -> None:
        self.nodes.pop(run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **_: Any) -> None:
        self.first = self.first or error
        self.progress.call_failed(self.run, self.nodes.pop(run_id, "?"), llm.describe_error(error))

    def on_retry(self, retry_state: Any, *, run_id: UUID, **_: Any) -> None:
        # The model layer retries inside one call (nodes.llm.retry): each failed attempt is told here as it waits.
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        why = llm.describe_error(error) if error is not None else "it failed"
        waiting = f"try {retry_state.attempt_number + 1} in {retry_state.idle_for:.1f} s"
        self.progress.call_failed(self.run, self.nodes.get(run_id, "?"), f"{waiting}: {why}")


def _is_prose(text: str) -> bool:
    # A structured (JSON-schema) reply streams as JSON; only prose (replies, emails, summaries) is shown.
    return not text.lstrip().startswith(("{", "["))


class NoModelAnswered(Exception):
    """A run that finished although every model call it made failed: nothing in its result came from a model.

    Its nodes tolerate one failed call (a judge, a screen, a draft), which is right for one; when all of them
    failed, the model is unreachable or refuses the key, so the command fails, naming the first failure.
    """

    def __init__(self, calls: int, first: BaseException) -> None:
        """Say how many calls failed and why the first did."""
        super().__init__(f"every model call of the run failed ({calls}); the first: {llm.describe_error(first)}")


async def stream_run(
    graph: Graph,
    payload: Any,
    config: RunnableConfig,
    context: Context,
    meter: UsageMeter,
    progress: Progress,
    *,
    run: str = "",
    interrupt_before: Sequence[str] | None = None,
    stream_text: bool = False,
    durability: Durability | None = None,
) -> dict[str, Any]:
    """Run `graph` as `ainvoke` would, return its output, and show its progress; `meter` counts its calls.

    Raises what the run raises (llm.BudgetSpent included); `meter` then holds what was used so far. A run that
    ends although every model call it made failed raises NoModelAnswered (with --thread, the thread keeps what it
    wrote).
    """
    modes: list[StreamMode] = ["values", "tasks", "custom"]
    if stream_text:
        modes.append("messages")
    failures = _FailedCalls(progress, run)
    callbacks = [meter, failures]
    given = config.get("callbacks") or []
    if not isinstance(given, list):
        raise TypeError("stream_run takes callbacks as a list")
    config = {**config, "callbacks": [*given, *callbacks]}
    latest: dict[str, Any] = {}
    prose: dict[str, bool] = {}
    async for part in graph.astream(
        payload,
        config,
        context=context,
        stream_mode=modes,
        interrupt_before=interrupt_before or None,
        durability=durability,
    ):
        mode, data = cast(tuple[str, Any], part)
        if mode == "values":
            if "__interrupt__" not in data:  # as ainvoke does: an interrupt is no state
                latest = dict(data)
        elif mode == "tasks":
            if "result" in data or "error" in data:
                error = data.get("error")
                progress.finished(
                    data["id"], data.get("result"), None if error is None else llm.describe_error(error),
                    meter.by_task.get(data["id"]),
                )  # fmt: skip
            else:
                pushed = "__pregel_push" in data.get("triggers", ())
                progress.started(
                    run, data["id"], data["name"], describe_branch(data["name"], data["input"]) if pushed else ""
                )
        elif mode == "custom":
            message = data.get("progress") if isinstance(data, Mapping) else data
            progress.reported(run, "", str(message))
        elif mode == "messages":
            chunk, metadata = data
            task = str(metadata.get("langgraph_checkpoint_ns", "")).rpartition("|")[2].rpartition(":")[2]
            text = chunk.text if isinstance(chunk.text, str) else ""
            message = str(chunk.id or task)
            if message not in prose and text.strip():
                prose[message] = _is_prose(text)
            if text and prose.get(message):
                progress.text(run, task, str(metadata.get("langgraph_node", "")), text)
    used = meter.run_total()
    if used.none_answered and failures.first is not None:
        raise NoModelAnswered(used.calls, failures.first)
    return latest
