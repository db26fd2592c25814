"""`workflows eval routing|orchestrator`: run a graph's deciding node over a labelled set and score its answers.

The graph runs as it is wired (its retry policy included) and stops after the node that decides (`classify`,
`plan`), so the handlers and workers cost nothing; the items run concurrently, at most `--max-concurrency` at a
time. A labelled set is JSON Lines, one item per line, with an optional `split` ("dev" or "heldout").
"""

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from graphs.catalog import WORKFLOWS
from graphs.cli.metrics import (
    PlanScore,
    Routed,
    RoutingScore,
    Task,
    TaskRules,
    compare_plan,
    score_plans,
    score_routes,
)
from graphs.cli.options import UsageError, add_model_options, context_from, node_names
from nodes.intents import FALLBACK_ROUTE, INTENTS
from nodes.text import clip

# The parser is built for every `workflows` command, so this module loads no LangGraph or LangChain (most of a
# second): the functions that run graphs, and the worker registry that needs them, import them where used.
if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from state.context import Context

    Graph = CompiledStateGraph[Any, Any, Any, Any]
SETS = Path(__file__).with_name("evalsets")
"""The labelled sets shipped with the package."""
SPLITS = ("dev", "heldout")
"""The halves of a shipped set: rules and registry texts are written against `dev`; `heldout` measures them."""
ALL = "all"


@dataclass(frozen=True)
class Suite:
    """What `eval NAME` runs: a workflow, the node whose answer is scored, and where an item's input is."""

    workflow: str
    node: str
    input_key: str
    data: Path


SUITES = {
    "routing": Suite("routing", "classify", "query", SETS / "routing.jsonl"),
    "orchestrator": Suite("orchestrator", "plan", "message", SETS / "orchestrator.jsonl"),
}


def add_eval_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `eval` subcommand."""
    evaluate = commands.add_parser(
        "eval", help="score the router or the planner on a labelled set (accuracy, precision, recall, cost)"
    )
    evaluate.add_argument("what", choices=list(SUITES), help="routing: the classify node; orchestrator: the plan node")
    evaluate.add_argument(
        "--data", metavar="FILE.jsonl", help="labelled items, one JSON object a line (default: the shipped set)"
    )
    evaluate.add_argument("--split", choices=SPLITS, help="score only this half of the set (default: both)")
    add_model_options(evaluate, "model for every node, as for `run` (default: auto)")
    evaluate.add_argument("--json", action="store_true", help="print machine-readable JSON")


# --- Labelled items -------------------------------------------------------------------------------------------


def route_names() -> dict[str, str]:
    """Return every name a label may use for a route (registry key or label, any case) -> the route's key."""
    names = {key.casefold(): key for key in [*INTENTS, FALLBACK_ROUTE]}
    names.update({intent.label.casefold(): key for key, intent in INTENTS.items()})
    return names


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: needs {key!r}, a non-empty string")
    return value


def _check_routing(item: dict[str, Any], where: str) -> None:
    _text(item, "query", where)
    names = route_names()
    for route in [_text(item, "route", where), *item.get("accept", [])]:
        if not isinstance(route, str) or route.casefold() not in names:
            known = ", ".join([*INTENTS, FALLBACK_ROUTE])
            raise UsageError(f"{where}: unknown route {route!r}; routes: {known}")
    item["route"] = names[item["route"].casefold()]
    item["accept"] = [names[route.casefold()] for route in item.get("accept", [])]


def _check_orchestrator(item: dict[str, Any], where: str) -> None:
    from nodes.orchestrator import OTHER_KIND
    from nodes.workers import WORKERS

    _text(item, "message", where)
    tasks = item.get("tasks")
    if not isinstance(tasks, list):
        raise UsageError(f"{where}: needs 'tasks', a list of {{'kind': ..., field: value}} objects (may be empty)")
    for task in tasks:
        kind = task.get("kind") if isinstance(task, dict) else None
        if kind not in (*WORKERS, OTHER_KIND):
            raise UsageError(f"{where}: unknown task kind {kind!r}; kinds: {', '.join([*WORKERS, OTHER_KIND])}")
        if not all(isinstance(value, str) for value in task.values()):
            raise UsageError(f"{where}: task fields must be strings, got {task!r}")


CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "routing": _check_routing,
    "orchestrator": _check_orchestrator,
}


def load_items(what: str, path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Read and check a labelled set (one JSON object a line; blank lines skipped); keep one split if asked."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read --data {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cannot read --data {path}: not UTF-8 text") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(item, dict):
            raise UsageError(f"{where}: each line must be a JSON object")
        CHECKS[what](item, where)
        if item.setdefault("split", ALL) not in (*SPLITS, ALL):
            raise UsageError(f"{where}: split must be one of {', '.join(SPLITS)}, got {item['split']!r}")
        item.setdefault("id", f"line {number}")
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
    graph: "Graph", node: str, inputs: Sequence[dict[str, Any]], context: "Context", progress: Progress
) -> tuple[list[dict[str, Any] | BaseException], Cost]:
    """Run `graph` on each input until `node` has answered; return each run's state (or its error) and the cost."""
    from langgraph.checkpoint.memory import InMemorySaver

    from nodes.llm import UsageMeter

    saver = InMemorySaver()
    stopping = graph.copy(update={"checkpointer": saver})
    counter = UsageMeter()
    slots = asyncio.Semaphore(max(1, context.max_concurrency))

    async def one(number: int, payload: dict[str, Any]) -> dict[str, Any] | BaseException:
        thread = f"eval-{number}"
        config: Any = {"configurable": {"thread_id": thread}, "callbacks": [counter]}
        async with slots:
            try:
                await stopping.ainvoke(payload, config, context=context, interrupt_after=[node])
                values = dict((await stopping.aget_state(config)).values)
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
    used = counter.run_total()
    cost = Cost(used.calls, used.failed_calls, used.input_tokens, used.output_tokens, seconds)
    return list(states), cost


# --- Scoring --------------------------------------------------------------------------------------------------


def task_rules() -> TaskRules:
    """Return what makes two tasks the same for the registered workers: identity fields, id (patterned) fields."""
    from nodes.orchestrator import OTHER_KIND
    from nodes.workers import WORKERS

    identity, ids = {}, {}
    for kind, worker in WORKERS.items():
        fields = worker.task_schema.model_json_schema().get("properties", {})
        identity[kind] = worker.identity_fields or tuple(fields)
        ids[kind] = frozenset(name for name, spec in fields.items() if "pattern" in spec)
    identity[OTHER_KIND] = ("request",)
    return TaskRules(identity=identity, ids=ids, unhandled_kind=OTHER_KIND)


def planned_tasks(state: Mapping[str, Any]) -> list[Task]:
    """Return the plan node's tasks in the customer's order, those it could not give a worker included."""
    from nodes.orchestrator import OTHER_KIND

    tasks = [(t["index"], Task(t["kind"], dict(t["fields"]))) for t in state.get("tasks", [])]
    tasks += [
        (u["index"], Task(u["kind"] or OTHER_KIND, {"request": u["request"]}, handled=False))
        for u in state.get("unhandled", [])
    ]
    return [task for _, task in sorted(tasks, key=lambda pair: pair[0])]


def labelled_tasks(item: Mapping[str, Any]) -> list[Task]:
    """Return an item's labelled tasks."""
    return [Task(t["kind"], {k: v for k, v in t.items() if k != "kind"}) for t in item["tasks"]]


def _splits(items: Sequence[Mapping[str, Any]]) -> list[str]:
    present = [split for split in SPLITS if any(item["split"] == split for item in items)]
    return [*present, ALL] if len(present) > 1 or any(item["split"] == ALL for item in items) else present


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(len(header))]
    return [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _report_routing(items: list[dict[str, Any]], states: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    labels = [*INTENTS, FALLBACK_ROUTE]
    routed = [
        Routed(item["route"], state.get("route", FALLBACK_ROUTE), frozenset(item["accept"]), item.get("category", ""))
        for item, state in zip(items, states, strict=True)
    ]
    splits = _splits(items)
    scores: dict[str, RoutingScore] = {
        split: score_routes(
            [r for r, item in zip(routed, items, strict=True) if split == ALL or item["split"] == split],
            labels,
            FALLBACK_ROUTE,
        )
        for split in splits
    }
    rows = [
        ["queries", *(str(scores[s].total) for s in splits)],
        ["accuracy", *(f"{_fraction(scores[s].accuracy)} ({scores[s].correct})" for s in splits)],
        ["fallback rate", *(_fraction(scores[s].fallback_rate) for s in splits)],
    ]
    rows += [[f"{label}: precision / recall", *(_pr(scores[s].per_label[label]) for s in splits)] for label in labels]
    categories = list(dict.fromkeys(item.get("category", "") for item in items if item.get("category")))
    rows += [[f"category {c}", *(_correct_of(scores[s].by_category.get(c)) for s in splits)] for c in categories]
    lines = _table(["", *splits], rows)
    overall = scores[splits[-1]]
    lines += ["", f"Confusion ({splits[-1]}; rows: expected, columns: predicted):"]
    lines += _table(
        ["", *(str(n) for n in range(1, len(labels) + 1))],
        [[f"{n}. {label}", *(str(overall.confusion[label][p]) for p in labels)] for n, label in enumerate(labels, 1)],
    )
    wrong = [(r, item, state) for r, item, state in zip(routed, items, states, strict=True) if not r.correct]
    if wrong:
        lines += ["", f"Wrong routes ({len(wrong)}):"]
        lines += [
            f"  {item['id']} [{item['split']}] {item['route']} -> {r.predicted}"
            f" ({state.get('confidence', 0.0):.2f}): {clip(item['query'], 70)}"
            for r, item, state in wrong
        ]
    report = {
        "splits": {split: asdict(score) for split, score in scores.items()},
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "category": item.get("category", ""),
                "expected": item["route"],
                "predicted": r.predicted,
                "confidence": state.get("confidence"),
                "correct": r.correct,
            }
            for r, item, state in zip(routed, items, states, strict=True)
        ],
    }
    return report, lines


def _pr(score: Any) -> str:
    return f"{_fraction(score.precision)} / {_fraction(score.recall)}"


def _correct_of(pair: tuple[int, int] | None) -> str:
    return "-" if pair is None else f"{pair[0]}/{pair[1]}"


def _report_plans(items: list[dict[str, Any]], states: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    rules = task_rules()
    outcomes = [
        compare_plan(item["message"], labelled_tasks(item), planned_tasks(state), rules)
        for item, state in zip(items, states, strict=True)
    ]
    splits = _splits(items)
    scores: dict[str, PlanScore] = {
        split: score_plans(
            [o for o, item in zip(outcomes, items, strict=True) if split == ALL or item["split"] == split], rules
        )
        for split in splits
    }
    rows = [
        ["messages", *(str(scores[s].messages) for s in splits)],
        ["exact plans", *(f"{scores[s].exact_plans}/{scores[s].messages}" for s in splits)],
        ["task precision", *(_fraction(scores[s].task_precision) for s in splits)],
        ["task recall", *(_fraction(scores[s].task_recall) for s in splits)],
        ["id precision", *(_fraction(scores[s].id_precision) for s in splits)],
        ["id recall", *(_fraction(scores[s].id_recall) for s in splits)],
        ["ids not in the message", *(str(len(scores[s].ids_not_in_message)) for s in splits)],
        [
            "unhandled requests named",
            *(f"{scores[s].unhandled_named}/{scores[s].unhandled_expected}" for s in splits),
        ],
    ]
    kinds = list(dict.fromkeys(kind for s in splits for kind in scores[s].per_kind))
    rows += [
        [
            f"{kind}: labelled / planned / matched",
            *("/".join(map(str, scores[s].per_kind.get(kind, (0, 0, 0)))) for s in splits),
        ]
        for kind in kinds
    ]
    lines = _table(["", *splits], rows)
    unhandled = [(item, o) for item, o in zip(items, outcomes, strict=True) if any(not t.handled for t in o.predicted)]
    if unhandled:
        lines += ["", "Requests the plan could not give a worker (the email names them):"]
        lines += [
            f"  {item['id']} [{item['split']}] " + "; ".join(t.fields["request"] for t in o.predicted if not t.handled)
            for item, o in unhandled
        ]
    wrong = [(item, o) for item, o in zip(items, outcomes, strict=True) if not o.exact]
    if wrong:
        lines += ["", f"Plans that differ from the labels ({len(wrong)}):"]
        for item, o in wrong:
            lines.append(f"  {item['id']} [{item['split']}] {clip(item['message'], 90)}")
            lines += [f"      missed: {t.describe()}" for t in o.missed]
            lines += [f"      extra:  {t.describe()}" for t in o.extra]
    report = {
        "splits": {split: asdict(score) for split, score in scores.items()},
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "exact": o.exact,
                "planned": [asdict(t) for t in o.predicted],
                "missed": [asdict(t) for t in o.missed],
                "extra": [asdict(t) for t in o.extra],
            }
            for item, o in zip(items, outcomes, strict=True)
        ],
    }
    return report, lines


REPORTS = {"routing": _report_routing, "orchestrator": _report_plans}


def run(args: argparse.Namespace) -> int:
    """Run `workflows eval`; return the exit code. Bad input raises UsageError (the CLI prints it, exit 2)."""
    from nodes import llm

    suite = SUITES[args.what]
    path = Path(args.data) if args.data else suite.data
    items = load_items(args.what, path, args.split)
    graph = WORKFLOWS[suite.workflow].load()
    context = context_from(args, f"eval {args.what}", node_names([graph]))
    progress = Progress(f"eval {args.what}", len(items))
    inputs = [{suite.input_key: item[suite.input_key]} for item in items]
    states, cost = asyncio.run(run_items(graph, suite.node, inputs, context, progress))
    failed = [(item, state) for item, state in zip(items, states, strict=True) if isinstance(state, BaseException)]
    if len(failed) == len(items):
        raise failed[0][1]
    answered = [(item, state) for item, state in zip(items, states, strict=True) if isinstance(state, dict)]
    report, lines = REPORTS[args.what]([item for item, _ in answered], [state for _, state in answered])
    models = sorted({f"{node} = {label}" for _, state in answered for node, label in state.get("models", {}).items()})
    errors = [{"id": item["id"], "error": llm.describe_error(error)} for item, error in failed]
    if args.json:
        summary = {"what": args.what, "data": str(path), "node": suite.node, "models": models, **asdict(cost)}
        print(json.dumps({**summary, **report, "errors": errors}, indent=2, ensure_ascii=False))
        return 0
    print(f"eval {args.what}: {len(items)} items from {path}, scoring the {suite.node} node")
    print(f"Model: {'; '.join(models) or '(none answered)'}")
    print()
    print("\n".join(lines))
    print()
    print(
        f"Cost: {cost.calls} model calls ({cost.failed_calls} failed), {cost.input_tokens} tokens in / "
        f"{cost.output_tokens} out, {cost.seconds:.2f} s wall time"
    )
    for error in errors:
        print(f"Not scored: {error['id']}: {error['error']}")
    return 0
