"""`workflows compare faq`: run the single call and the chain on the same documents; print both scorecards."""

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from nodes import llm
from nodes.documents import DocumentError, lesson_documents, read_document
from nodes.faq import DEFAULT_QUESTIONS, MAX_QUESTIONS
from nodes.scorecard import SUPPORT_THRESHOLD, passed
from nodes.usage import UsageCounter
from state.context import Context
from state.faq import Document

CONTENDERS = {"single call": "graphs.faq_single_call", "chain": "graphs.faq_chain"}
"""Column title -> module of the compiled graph, in the order they run and print."""
_WIDTH = 46


def add_document_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable `--doc FILE` option (.txt or .md; titled by its first heading, else its file name)."""
    parser.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="FILE",
        help="a .txt or .md document (repeatable); titled by its first heading, else by its file name",
    )


def read_documents(paths: Sequence[str]) -> list[Document]:
    """Read every `--doc` file; raise DocumentError naming the first file that cannot be used."""
    documents = [read_document(path) for path in paths]
    titles = [doc["title"] for doc in documents]
    repeated = next((title for title in titles if titles.count(title) > 1), None)
    if repeated is not None:
        raise DocumentError(f"two documents share the title {repeated!r}; sources are cited by title")
    return documents


def add_parser(commands: Any) -> None:
    """Register `compare` on the CLI's subcommands (`commands` is argparse's subparsers action)."""
    compare = commands.add_parser("compare", help="compare the single-call FAQ with the chain, side by side")
    compare.add_argument("what", choices=["faq"], help="what to compare (faq: one big call against the chain)")
    add_document_option(compare)
    compare.add_argument(
        "--questions", type=int, default=DEFAULT_QUESTIONS, help=f"FAQ items to ask for (default: {DEFAULT_QUESTIONS})"
    )
    compare.add_argument("--model", default="auto", help="model for both graphs, as for `run` (default: auto)")
    compare.add_argument("--max-concurrency", type=int, default=5, help="most parallel chain branches (default: 5)")
    compare.add_argument("--json", action="store_true", help="print machine-readable JSON")


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
    measured = []
    for name, module in CONTENDERS.items():
        graph: CompiledStateGraph[Any, Any, Any, Any] = importlib.import_module(module).graph
        measured.append(await measure(name, graph, payload, context))
    return measured


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


def _usage_error(message: str) -> int:
    print(f"workflows: error: {llm.redact(message)}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run `workflows compare`; return the exit code (2 for bad input, printed as one line)."""
    if not 1 <= args.questions <= MAX_QUESTIONS:
        return _usage_error(f"--questions must be between 1 and {MAX_QUESTIONS}")
    if args.max_concurrency < 1:
        return _usage_error("--max-concurrency must be at least 1")
    try:
        documents = read_documents(args.doc) if args.doc else lesson_documents()
    except DocumentError as error:
        return _usage_error(str(error))
    context = Context(model=args.model, max_concurrency=args.max_concurrency)
    try:
        llm.check_context(context, ["generate_faq", "generate_questions", "answer_question"])
    except llm.ModelSetupError as error:
        return _usage_error(str(error))
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
