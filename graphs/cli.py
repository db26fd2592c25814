"""The `workflows` command: list, run and draw the workflow graphs."""

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs import compare, threads
from graphs.catalog import WORKFLOWS, Workflow
from graphs.options import UsageError, add_document_option, add_model_options, check_questions, context_from, node_names
from nodes import llm
from nodes.documents import read_documents
from nodes.faq import DEFAULT_QUESTIONS, MAX_QUESTIONS
from state.context import Context

USAGE_ERROR = 2
RUN_ERROR = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workflows", description="Run the LLM workflow patterns of the lesson as LangGraph graphs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list the workflows with a one-line description")

    run = commands.add_parser("run", help="run a workflow on your text, or on the lesson's inputs")
    run.add_argument("name", help="workflow name (see `workflows list`)")
    run.add_argument("text", nargs="?", help="input text; omitted: the lesson's example inputs")
    run.add_argument("--json", action="store_true", help="print machine-readable JSON")
    add_model_options(
        run,
        "'auto' (Gemini 2.5 Flash with a key, else offline), 'offline', a Gemini model name, "
        "or provider:model for init_chat_model (default: auto)",
    )
    run.add_argument(
        "--questions",
        type=int,
        metavar="N",
        help=f"FAQ workflows: how many items to ask for, 1 to {MAX_QUESTIONS} (default: {DEFAULT_QUESTIONS})",
    )
    threads.add_run_options(run)
    add_document_option(run)

    draw = commands.add_parser("draw", help="print a workflow's graph as Mermaid (or ASCII)")
    draw.add_argument("name", help="workflow name")
    draw.add_argument("--ascii", action="store_true", help="draw with characters instead of Mermaid")
    threads.add_commands(commands)
    compare.add_parser(commands)
    return parser


def _workflow(name: str) -> Workflow:
    if name not in WORKFLOWS:
        raise UsageError(f"unknown workflow {name!r}; choose one of: {', '.join(WORKFLOWS)}")
    return WORKFLOWS[name]


def _inputs(
    workflow: Workflow, text: str | None, doc_files: Sequence[str] = (), questions: int | None = None
) -> list[dict[str, Any]]:
    if text is not None and not text.strip():
        raise UsageError("the input text is empty; pass the text to process, or nothing for the lesson's inputs")
    check_questions(questions)
    try:
        return workflow.inputs(text, read_documents(doc_files), questions)
    except ValueError as error:  # DocumentError from --doc files or the text; an option the workflow lacks
        raise UsageError(str(error)) from None


async def _run_all(
    graph: CompiledStateGraph[Any, Any, Any, Any], inputs: list[dict[str, Any]], context: Context
) -> list[dict[str, Any]]:
    return [dict(await graph.ainvoke(payload, context=context)) for payload in inputs]


def _print_results(args: argparse.Namespace, workflow: Workflow, results: list[dict[str, Any]]) -> None:
    if args.json:
        print(json.dumps({"workflow": args.name, "results": results}, indent=2, ensure_ascii=False))
        return
    for index, result in enumerate(results):
        if index:
            print()
        print(workflow.render(result))
        for note in result.get("notes", []):
            print(f"Note:   {note}")


def _run(args: argparse.Namespace) -> int:
    workflow = _workflow(args.name)
    inputs = _inputs(workflow, args.text, args.doc, args.questions)
    graph = workflow.load()
    nodes = node_names([graph])
    context = context_from(args, args.name, nodes)
    if threads.wanted(args):
        threads.check_run(args, workflow, inputs, nodes)
    try:
        llm.check_context(context, nodes)
    except llm.ModelSetupError as error:
        raise UsageError(str(error)) from None
    if threads.wanted(args):
        return threads.run(args, workflow, inputs[0], context, _print_results)
    results = asyncio.run(_run_all(graph, inputs, context))
    _print_results(args, workflow, results)
    return 0


def _draw(args: argparse.Namespace) -> int:
    drawable = _workflow(args.name).load().get_graph()
    print(drawable.draw_ascii() if args.ascii else drawable.draw_mermaid())
    return 0


def _list() -> int:
    width = max(len(name) for name in WORKFLOWS)
    for name, workflow in WORKFLOWS.items():
        print(f"{name:<{width}}  {workflow.description}")
    return 0


def _show_notices_on_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    logger = logging.getLogger("workflows")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # argparse fills the optional `text` only from words before the first option, so in
    # `workflows run routing --model offline "text"` the text is left over: it is still the text.
    if args.command == "run" and args.text is None and len(extra) == 1 and not extra[0].startswith("-"):
        args.text = extra.pop()
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parse(argv)
    _show_notices_on_stderr()
    try:
        if args.command == "list":
            return _list()
        if args.command == "draw":
            return _draw(args)
        if args.command in threads.COMMANDS:
            return threads.main(args, _print_results)
        if args.command == "compare":
            return compare.run(args)
        return _run(args)
    except (UsageError, threads.ThreadError) as error:
        print(f"workflows: error: {llm.redact(str(error))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("workflows: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - any failure becomes one clear line, never a traceback
        print(f"workflows: error: {llm.describe_error(error)}", file=sys.stderr)
        return RUN_ERROR


def entry_point() -> None:
    """Console-script entry: exit with main()'s code."""
    sys.exit(main())
