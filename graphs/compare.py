"""`workflows compare faq`: run the single call and the chain on the same documents; print both scorecards."""

import argparse
import asyncio
import importlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs.options import UsageError, add_document_option, add_model_options, check_questions, context_from, node_names
from nodes import llm
from nodes.documents import DocumentError, lesson_documents, read_documents
from nodes.faq import DEFAULT_QUESTIONS, MAX_QUESTIONS
from nodes.scorecard import SUPPORT_THRESHOLD, passed
from nodes.usage import UsageCounter
from state.context import Context
from state.faq import Document

CONTENDERS = {"single call": "graphs.faq_single_call", "chain": "graphs.faq_chain"}
"""Column title -> module of the compiled graph, in the order they run and print."""
_WIDTH = 46


def add_parser(commands: Any) -> None:
    """Register `compare` on the CLI's subcommands (`commands` is argparse's subparsers action)."""
    compare = commands.add_parser("compare", help="compare the single-call FAQ with the chain, side by side")
    compare.add_argument("what", choices=["faq"], help="what to compare (faq: one big call against the chain)")
    add_document_option(compare)
    compare.add_argument(
        "--questions",
        type=int,
        default=DEFAULT_QUESTIONS,
        metavar="N",
        help=f"FAQ items to ask for, 1 to {MAX_QUESTIONS} (default: {DEFAULT_QUESTIONS})",
    )
    add_model_options(compare, "model for both graphs, as for `run` (default: auto)")
    compare.add_argument("--json", action="store_true", help="print machine-readable JSON")


def contenders() -> dict[str, CompiledStateGraph[Any, Any, Any, Any]]:
    """Return the compared graphs by column title."""
    return {name: importlib.import_module(module).graph for name, module in CONTENDERS.items()}


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


async def measure(
    name: str, graph: CompiledStateGraph[Any, Any, Any, Any], payload: dict[str, Any], context: Context
) -> Measured:
    """Run one graph with a usage counter and a wall clock."""
    counter = UsageCounter()
    started = time.perf_counter()
    result = await graph.ainvoke(payload, context=context, config={"callbacks": [counter]})
    seconds = time.perf_counter() - started
    return Measured(
        name, dict(result), counter.calls, counter.failed, counter.input_tokens, counter.output_tokens, seconds
    )


async def compare_faq(documents: list[Document], questions: int, context: Context) -> list[Measured]:
    """Run both FAQ graphs, one after the other so neither slows the other, on the same input."""
    payload = {"documents": documents, "num_questions": questions}
    return [await measure(name, graph, payload, context) for name, graph in contenders().items()]


def _cell(text: str) -> str:
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def render(measured: Sequence[Measured], documents: Sequence[Document], questions: int) -> str:
    """Lay the runs out side by side: cost first, then each scorecard line."""
    rows: list[tuple[str, list[str]]] = [
        ("model calls", [str(m.calls) + (f" ({m.failed_calls} failed)" if m.failed_calls else "") for m in measured]),
        ("tokens in / out", [f"{m.input_tokens} / {m.output_tokens}" for m in measured]),
        ("tokens total", [str(m.input_tokens + m.output_tokens) for m in measured]),
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
        f"{label:<{label_width}}  " + "".join(f"{_cell(c):<{_WIDTH}}  " for c in cells).rstrip()
        for label, cells in rows
    ]
    lines.append("")
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
    nodes = node_names(list(contenders().values()))
    context = context_from(args, "compare faq", nodes)
    try:
        documents = read_documents(args.doc) if args.doc else lesson_documents()
        llm.check_context(context, nodes)
    except (DocumentError, llm.ModelSetupError) as error:
        raise UsageError(str(error)) from None
    measured = asyncio.run(compare_faq(documents, args.questions, context))
    if args.json:
        report = {
            m.name: {
                "calls": m.calls,
                "failed_calls": m.failed_calls,
                "input_tokens": m.input_tokens,
                "output_tokens": m.output_tokens,
                "seconds": round(m.seconds, 3),
                **m.result,
            }
            for m in measured
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render(measured, documents, args.questions))
    return 0
