"""The `workflows` command: list, run and draw the workflow graphs."""

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphs.catalog import WORKFLOWS, Workflow
from graphs.cli.evaluate import add_eval_command
from graphs.cli.options import (
    RUN_ERROR,
    THREAD_COMMANDS,
    USAGE_ERROR,
    UsageError,
    add_compare_command,
    add_document_option,
    add_model_options,
    add_questions_option,
    add_thread_commands,
    add_thread_options,
    check_questions,
    context_from,
    node_names,
    require,
)
from nodes.documents import read_documents

# LangGraph and LangChain take most of a second to import; `workflows list`, `--help` and usage errors should not
# wait for them, so the modules that need them (threads, compare, nodes.llm) are imported where used.
if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from state.context import Context

BROKEN_PIPE = 141
"""Exit code when the reader of our output went away (`workflows compare faq | head`): 128 + SIGPIPE, what a
shell reports for any other program in a pipeline that stopped writing for the same reason."""


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
    add_questions_option(run, None)
    add_thread_options(run)
    add_document_option(run)

    draw = commands.add_parser("draw", help="print a workflow's graph as Mermaid (or ASCII)")
    draw.add_argument("name", help="workflow name")
    draw.add_argument("--ascii", action="store_true", help="draw with characters instead of Mermaid")
    add_thread_commands(commands)
    add_compare_command(commands)
    add_eval_command(commands)
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
    graph: "CompiledStateGraph[Any, Any, Any, Any]", inputs: list[dict[str, Any]], context: "Context"
) -> list[dict[str, Any]]:
    return [dict(await graph.ainvoke(payload, context=context)) for payload in inputs]


def _print_results(
    args: argparse.Namespace, workflow: Workflow, results: list[dict[str, Any]], thread: dict[str, Any]
) -> None:
    """Print finished results; `thread` is what `--json` adds for a thread run (its thread and checkpoint)."""
    if args.json:
        finished = {"workflow": args.name, "status": "finished", **thread, "results": results}
        print(json.dumps(finished, indent=2, ensure_ascii=False))
        return
    for index, result in enumerate(results):
        if index:
            print()
        print(workflow.render(result))
        for note in result.get("notes", []):
            print(f"Note:   {note}")


def _run(args: argparse.Namespace) -> int:
    from graphs.cli import threads

    workflow = _workflow(args.name)
    inputs = _inputs(workflow, args.text, args.doc, args.questions)
    graph = workflow.load()
    nodes = node_names([graph])
    if threads.wanted(args):
        threads.check_run(args, inputs, nodes)
    context = context_from(args, args.name, nodes)
    if threads.wanted(args):
        return threads.run(args, workflow, inputs[0], context, _print_results)
    results = asyncio.run(_run_all(graph, inputs, context))
    _print_results(args, workflow, results, {})
    return 0


def _draw(args: argparse.Namespace) -> int:
    workflow = _workflow(args.name)
    if args.ascii:
        require("grandalf", "grandalf", "workflows draw --ascii")
    drawable = workflow.load().get_graph()
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


def _command(args: argparse.Namespace) -> int:
    if args.command == "list":
        return _list()
    if args.command == "draw":
        return _draw(args)
    if args.command in THREAD_COMMANDS:
        from graphs.cli import threads

        return threads.main(args, _print_results)
    if args.command == "compare":
        from graphs.cli import compare

        return compare.run(args)
    if args.command == "eval":
        from graphs.cli import evaluate

        return evaluate.run(args)
    return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parse(argv)
    _show_notices_on_stderr()
    try:
        code = _command(args)
        # Flushed here rather than at exit, so that a reader gone away is handled below like any other.
        sys.stdout.flush()
        return code
    except UsageError as error:  # ThreadError too
        from nodes import llm

        print(f"workflows: error: {llm.redact(str(error))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("workflows: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Nobody reads the rest, so there is nothing to report; stdout goes to /dev/null so that Python's own
        # flush at exit does not fail on the closed pipe a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - any failure becomes one clear line, never a traceback
        from nodes import llm

        print(f"workflows: error: {llm.describe_error(error)}", file=sys.stderr)
        return RUN_ERROR


def entry_point() -> None:
    """Console-script entry: exit with main()'s code."""
    sys.exit(main())
