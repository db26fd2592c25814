"""`workflows eval NAME`: run a workflow over a labelled set and score what it decided.

Each eval is a module of `graphs.cli.evals` declaring a `Suite`: the workflow, the node after which the graph may
stop (so what follows costs nothing), how an item is checked and fed in, and how the answers are scored. The
graph runs as it is wired (its retries included); the items run concurrently, at most `--max-concurrency` at a
time. A labelled set is JSON Lines, one item per line, with an optional `split` ("dev" or "heldout").
"""

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from graphs.catalog import WORKFLOWS
from graphs.cli.evals import SUITES
from graphs.cli.evals.base import ALL, SETS, SPLITS

# Kept importable from here, where they lived before the evals became modules (tests and benchmarks use them).
from graphs.cli.evals.orchestrator import labelled_tasks, planned_tasks, task_rules
from graphs.cli.options import UsageError, add_model_options, check_inputs, context_from, node_names

# The parser is built for every `workflows` command, so this module loads no LangGraph or LangChain (most of a
# second): the functions that run graphs, and the registries that need them, import them where used.
if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from state.context import Context

    Graph = CompiledStateGraph[Any, Any, Any, Any]

__all__ = [
    "SETS",
    "SPLITS",
    "SUITES",
    "Cost",
    "Progress",
    "add_eval_command",
    "labelled_tasks",
    "load_items",
    "planned_tasks",
    "run",
    "run_items",
    "task_rules",
]


def add_eval_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `eval` subcommand."""
    evaluate = commands.add_parser(
        "eval", help="score a workflow's decisions on a labelled set (accuracy, precision, recall, cost)"
    )
    evaluate.add_argument(
        "what",
        metavar="WORKFLOW",
        choices=list(SUITES),
        help="one of " + "; ".join(f"{name}: {suite.summary}" for name, suite in SUITES.items()),
    )
    evaluate.add_argument(
        "--data", metavar="FILE.jsonl", help="labelled items, one JSON object a line (default: the shipped set)"
    )
    evaluate.add_argument("--split", choices=SPLITS, help="score only this half of the set (default: both)")
    add_model_options(
        evaluate,
        "model for every node, as for `run` (default: auto)",
        "classify=gemini-2.5-flash-lite (a node of the workflow scored: classify for routing)",
    )
    evaluate.add_argument("--json", action="store_true", help="print machine-readable JSON")


# --- Labelled items -------------------------------------------------------------------------------------------


def load_items(what: str, path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Read and check a labelled set (one JSON object a line; blank lines skipped); keep one split if asked."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read --data {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cannot read --data {path}: not UTF-8 text") from None
    items = []
    lines_of: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{where}: not valid JSON ({error.msg})") from None
        except RecursionError:
            raise UsageError(f"{where}: not valid JSON (nested too deeply)") from None
        if not isinstance(item, dict):
            raise UsageError(f"{where}: each line must be a JSON object")
        known = ("id", "split", *SUITES[what].fields)
        unknown = [field for field in item if field not in known]
        if unknown:
            raise UsageError(f"{where}: unknown field {unknown[0]!r}; a line's fields: {', '.join(known)}")
        SUITES[what].check(item, where)
        if item.setdefault("split", ALL) not in (*SPLITS, ALL):
            raise UsageError(f"{where}: split must be one of {', '.join(SPLITS)}, got {item['split']!r}")
        item.setdefault("id", f"line {number}")
        if not isinstance(item["id"], str) or not item["id"].strip():
            raise UsageError(f"{where}: 'id' must be a non-empty string")
        if item["id"] in lines_of:
            raise UsageError(f"{where}: id {item['id']!r} is also line {lines_of[item['id']]}'s; ids tell items apart")
        lines_of[item["id"]] = number
        items.append(item)
    if not items:
        raise UsageError(f"{path} holds no items")
    chosen = [item for item in items if split is None or item["split"] == split]
    if not chosen:
        raise UsageError(f"{path} has no items in split {split!r}")
    return chosen


# --- Running --------------------------------------------------------------------------------------------------


class Progress:
    """Count finished items on stderr: one line redrawn on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        """Start at zero of `total`."""
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown = -1

    def step(self) -> None:
        """Record one finished item."""
        self.done += 1
        if self.live:
            end = "\n" if self.done == self.total else ""
            print(f"\r{self.label}: {self.done}/{self.total}", end=end, file=self.stream, flush=True)
        elif self.done * 10 // self.total > self.shown:
            self.shown = self.done * 10 // self.total
            print(f"{self.label}: {self.done}/{self.total}", file=self.stream, flush=True)


@dataclass
class Cost:
    """What a whole evaluation cost."""

    calls: int
    failed_calls: int
    input_tokens: int
    output_tokens: int
    seconds: float


async def run_items(
    graph: "Graph",
    node: str | None,
    inputs: Sequence[dict[str, Any]],
    context: "Context",
    progress: Progress,
    unscored: Sequence[str] = (),
) -> tuple[list[dict[str, Any] | BaseException], Cost]:
    """Run `graph` on each input until `node` has answered (to the end when None); return the states and cost.

    A run that fails gives its error in place of its state. The cost leaves out the calls of the `unscored` nodes.
    """
    from langgraph.checkpoint.memory import InMemorySaver

    from nodes.llm import BudgetSpent, Usage, UsageMeter

    saver = InMemorySaver()
    stopping = graph.copy(update={"checkpointer": saver})
    counter = UsageMeter()
    slots = asyncio.Semaphore(max(1, context.max_concurrency))
    stop = [node] if node else None

    async def one(number: int, payload: dict[str, Any]) -> dict[str, Any] | BaseException:
        thread = f"eval-{number}"
        config: Any = {"configurable": {"thread_id": thread}, "callbacks": [counter]}
        async with slots:
            try:
                await stopping.ainvoke(payload, config, context=context, interrupt_after=stop)
                values = dict((await stopping.aget_state(config)).values)
            except BudgetSpent:
                raise  # a spent budget stops the evaluation, not one item
            # One item's failure (a rate limit that outlasted the retries) must not lose the others' answers.
            except Exception as error:  # noqa: BLE001
                values_or_error: dict[str, Any] | BaseException = error
            else:
                values_or_error = values
            finally:
                await saver.adelete_thread(thread)
        progress.step()
        return values_or_error

    started = time.perf_counter()
    states = await asyncio.gather(*(one(number, payload) for number, payload in enumerate(inputs)))
    seconds = time.perf_counter() - started
    used = Usage()
    for name, usage in counter.by_node.items():
        if name not in unscored:
            used.add(usage)
    cost = Cost(used.calls, used.failed_calls, used.input_tokens, used.output_tokens, seconds)
    return list(states), cost


def run(args: argparse.Namespace) -> int:
    """Run `workflows eval`; return the exit code. Bad input raises UsageError (the CLI prints it, exit 2)."""
    from nodes import llm
    from nodes.text import printable

    suite = SUITES[args.what]
    path = Path(args.data) if args.data else suite.data
    items = load_items(args.what, path, args.split)
    graph = WORKFLOWS[suite.workflow].load()
    context = context_from(args, f"eval {args.what}", node_names([graph]))
    # Nodes the graph must pass through but whose answers are not scored cost nothing on the offline model.
    unscored = [node for node in suite.offline_nodes if node not in context.node_models]
    if unscored:
        context = replace(context, node_models={**context.node_models, **dict.fromkeys(unscored, "offline")})
    inputs = [suite.payload(item) for item in items]
    for item, payload in zip(items, inputs, strict=True):
        try:
            check_inputs([payload], graph, context)
        except UsageError as refused:
            # Found before any model call: one item the graph would refuse is the set's error, not a failed run.
            raise UsageError(f"{path}: item {item['id']!r}: {refused}") from None
    progress = Progress(f"eval {args.what}", len(items))
    states, cost = asyncio.run(run_items(graph, suite.stop_after, inputs, context, progress, unscored))
    failed = [(item, state) for item, state in zip(items, states, strict=True) if isinstance(state, BaseException)]
    if len(failed) == len(items):
        raise failed[0][1]
    answered = [(item, state) for item, state in zip(items, states, strict=True) if isinstance(state, dict)]
    report, lines = suite.report([item for item, _ in answered], [state for _, state in answered])
    models = sorted({f"{node} = {label}" for _, state in answered for node, label in state.get("models", {}).items()})
    errors = [{"id": item["id"], "error": llm.describe_error(error)} for item, error in failed]
    if args.json:
        summary = {
            "what": args.what,
            "data": str(path),
            "node": suite.stop_after,
            "scored": suite.summary,
            "models": models,
            **asdict(cost),
        }
        print(llm.redact(json.dumps({**summary, **report, "errors": errors}, indent=2, ensure_ascii=False)))
        return 0
    counted = "1 item" if len(items) == 1 else f"{len(items)} items"
    print(f"eval {args.what}: {counted} from {path}, scoring {suite.summary}")
    print(f"Model: {'; '.join(models) or '(none answered)'}")
    print()
    # The report quotes the set's texts: a key pasted into one is masked, as in every other output.
    print(printable(llm.redact("\n".join(lines))))
    print()
    print(
        f"Cost: {cost.calls} model calls ({cost.failed_calls} failed), {cost.input_tokens} tokens in / "
        f"{cost.output_tokens} out, {cost.seconds:.2f} s wall time"
        + (f" (not counting {', '.join(unscored)}, run on the offline model)" if unscored else "")
    )
    for unscored_item in errors:
        print(printable(llm.redact(f"Not scored: {unscored_item['id']}: {unscored_item['error']}")))
    return 0
