"""`workflows compare faq`: run the single call and the chain on the same documents; print both scorecards."""

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs.catalog import WORKFLOWS
from graphs.cli.costs import money, report_budget_stop, usage_report
from graphs.cli.options import UsageError, check_questions, context_from, node_names
from nodes import llm
from nodes.documents import DocumentError, lesson_documents, read_documents
from nodes.llm import BudgetSpent, Usage, UsageMeter
from nodes.scorecard import SUPPORT_THRESHOLD, passed
from nodes.text import clip
from state.context import Context
from state.faq import Document

Graph = CompiledStateGraph[Any, Any, Any, Any]
CONTENDERS = {"single call": "faq_single_call", "chain": "faq_chain"}
"""Column title -> workflow name (see graphs.catalog), in the order they run and print."""
_WIDTH = 46


def contenders() -> dict[str, Graph]:
    """Return the compared graphs by column title."""
    return {title: WORKFLOWS[name].load() for title, name in CONTENDERS.items()}


@dataclass
class Measured:
    """One graph's run on the documents: its result and what it cost."""

    name: str
    result: dict[str, Any]
    calls: int
    failed_calls: int
    input_tokens: int
    output_tokens: int
    seconds: float
    usage: dict[str, Any]
    """Calls, tokens (thinking too) and cost per node and in total (graphs.cli.costs.usage_report)."""


async def measure(
    name: str, graph: Graph, payload: dict[str, Any], context: Context, counter: UsageMeter | None = None
) -> Measured:
    """Run one graph with a usage counter (which may hold a budget) and a wall clock."""
    counter = counter or UsageMeter()
    started = time.perf_counter()
    result = await graph.ainvoke(payload, context=context, config={"callbacks": [counter]})
    seconds = time.perf_counter() - started
    used = counter.run_total()
    return Measured(
        name,
        dict(result),
        used.calls,
        used.failed_calls,
        used.input_tokens,
        used.output_tokens,
        seconds,
        usage_report([counter]),
    )


async def compare_faq(
    documents: list[Document],
    questions: int,
    context: Context,
    graphs: dict[str, Graph] | None = None,
    meters: list[UsageMeter] | None = None,
    measured: list[Measured] | None = None,
) -> list[Measured]:
    """Run both FAQ graphs (`graphs`, default `contenders()`), one after the other so neither slows the other.

    The context's budget (max_tokens, max_cost) is the comparison's: a graph's run counts what the graphs before
    it used, and raises `llm.BudgetSpent` when the two together reach it. Each run's meter is appended to
    `meters` and each finished run to `measured`, so a caller still has what was used and what finished when
    that happens.
    """
    payload = {"documents": documents, "num_questions": questions}
    used_before = Usage()
    measured = [] if measured is None else measured
    for name, graph in (graphs or contenders()).items():
        before = Usage()
        before.add(used_before)
        meter = UsageMeter.for_context(context, spent=before)
        if meters is not None:
            meters.append(meter)
        measured.append(await measure(name, graph, payload, context, meter))
        used_before.add(meter.run_total())
    return measured


def render(measured: Sequence[Measured], documents: Sequence[Document], questions: int) -> str:
    """Lay the runs out side by side: cost first, then each scorecard line."""
    rows: list[tuple[str, list[str]]] = [
        ("model calls", [str(m.calls) + (f" ({m.failed_calls} failed)" if m.failed_calls else "") for m in measured]),
        ("tokens in / out", [f"{m.input_tokens} / {m.output_tokens}" for m in measured]),
        ("tokens total", [str(m.input_tokens + m.output_tokens) for m in measured]),
        ("thinking tokens", [str(m.usage["total"]["thinking_tokens"]) for m in measured]),
        ("cost", [money(m.usage["total"]["cost"]) for m in measured]),
        ("wall time", [f"{m.seconds:.2f} s" for m in measured]),
        ("scorecard", [passed(m.result.get("scorecard", [])) for m in measured]),
    ]
    names = [check["name"] for check in measured[0].result.get("scorecard", [])]
    for index, name in enumerate(names):
        cells = []
        for m in measured:
            check = m.result["scorecard"][index]
            cells.append(f"{'pass' if check['passed'] else 'FAIL'}  {check['detail']}")
        rows.append((name, cells))
    rows.append(("failed questions", [str(len(m.result.get("failed", []))) for m in measured]))
    rows.append(("notes", [str(len(m.result.get("notes", []))) for m in measured]))
    label_width = max(len(label) for label, _ in rows)
    models = sorted({label for m in measured for label in m.result.get("models", {}).values()})
    titles = "; ".join(doc["title"] for doc in documents)
    lines = [
        f"FAQ from {len(documents)} document(s) ({titles}), {questions} items asked for",
        f"Model: {', '.join(models)}",
        "",
        " " * label_width + "  " + "".join(f"{m.name:<{_WIDTH}}  " for m in measured).rstrip(),
    ]
    lines += [
        f"{label:<{label_width}}  " + "".join(f"{clip(c, _WIDTH):<{_WIDTH}}  " for c in cells).rstrip()
        for label, cells in rows
    ]
    lines.append("")
    lines.append(f"cost: {llm.prices_note()}.")
    lines.append(
        f"supported: an answer shares >= {SUPPORT_THRESHOLD:.0%} of its content words with the documents it cites."
    )
    for m in measured:
        for note in m.result.get("notes", []):
            lines.append(f"Note ({m.name}): {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run `workflows compare`; return the exit code. Bad input raises UsageError (the CLI prints it, exit 2)."""
    check_questions(args.questions)
    try:
        documents = read_documents(args.doc) if args.doc else lesson_documents()
    except DocumentError as error:
        raise UsageError(str(error)) from None
    graphs = contenders()
    context = context_from(args, "compare faq", node_names(list(graphs.values())))
    meters: list[UsageMeter] = []
    measured: list[Measured] = []
    try:
        asyncio.run(compare_faq(documents, args.questions, context, graphs, meters, measured))
    except BudgetSpent as stop:
        finished = [m.name for m in measured]
        hint = (
            f"The budget covers both graphs; finished before the stop: {', '.join(finished) or 'none'}. "
            "Raise --max-tokens or --max-cost to compare them."
        )
        if measured and not args.json:
            # What finished is worth seeing: its scorecard was paid for.
            print(render(measured, documents, args.questions), end="\n\n")
        where = {"finished": finished, "results": json_report(measured)}
        return report_budget_stop(args, stop, usage_report(meters), where, hint, workflow="compare faq")
    if args.json:
        print(json.dumps(json_report(measured), indent=2, ensure_ascii=False))
    else:
        print(render(measured, documents, args.questions))
    return 0


def json_report(measured: Sequence[Measured]) -> dict[str, Any]:
    """Return each run's cost and result by column title, as `--json` prints them."""
    return {
        m.name: {
            "calls": m.calls,
            "failed_calls": m.failed_calls,
            "input_tokens": m.input_tokens,
            "output_tokens": m.output_tokens,
            "seconds": round(m.seconds, 3),
            "usage": m.usage,
            **m.result,
        }
        for m in measured
    }
