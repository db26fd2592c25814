"""The `workflows` command: list, run and draw the workflow graphs."""

import argparse
import importlib
import json
import logging
import os
import re
import stat
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from graphs.catalog import WORKFLOWS, Workflow
from graphs.cli.options import (
    DISTRIBUTION,
    RUN_ERROR,
    THREAD_COMMANDS,
    USAGE_ERROR,
    UsageError,
    add_budget_options,
    add_compare_command,
    add_document_option,
    add_model_options,
    add_progress_options,
    add_questions_option,
    add_thread_commands,
    add_thread_options,
    check_inputs,
    check_questions,
    context_from,
    node_names,
    require,
)

# LangGraph and LangChain take most of a second to import, pydantic and asyncio a tenth each; `workflows list`,
# `--help` and usage errors should not wait for them, so the modules that need them (threads, compare, nodes,
# state, asyncio) are imported where used.
if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from nodes.llm import UsageMeter
    from state.context import Context

BROKEN_PIPE = 141
"""Exit code when the reader of our output went away (`workflows compare faq | head`): 128 + SIGPIPE, what a
shell reports for any other program in a pipeline that stopped writing for the same reason."""


EXAMPLES = """examples:
  workflows list                                    the workflows, one line each (--json: nodes and input fields)
  workflows run routing "I was charged twice"       run one workflow on your text (progress on stderr)
  echo "Where is order A-12345?" | workflows run orchestrator    text from a pipe (or `-` for stdin)
  workflows run summarize_translate --doc notes.txt --input language=Italian   any input field
  workflows run orchestrator --max-cost 0.01 --thread t1         a budget; the thread resumes past it
  workflows resume --thread t1 --max-cost 0.05      continue a paused, failed or stopped thread
  workflows threads                                 the threads in the store (--delete ID)
  workflows draw orchestrator --png graph.png       a picture of the graph (also --svg, --ascii)
  workflows compare faq                             one big call against the chain, side by side
  workflows bench --quick                           time every workflow on a simulated remote model"""


class _VersionAction(argparse.Action):
    """`--version`: looks the installed version up only when asked (reading package metadata takes a while)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show program's version number and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = f"{DISTRIBUTION} {version(DISTRIBUTION)}"
        except PackageNotFoundError:  # run from a checkout that was never installed
            found = f"{DISTRIBUTION} (not installed)"
        print(found)  # on stdout, as argparse's own version action prints
        parser.exit()


_LAZY_COMMANDS = {
    "eval": ("graphs.cli.evaluate", "add_eval_command"),
    "bench": ("graphs.cli.bench", "add_bench_command"),
}
"""Commands whose modules take long to import (asyncio, their scenarios and metrics), with the function that adds
each one's parser: added only when the command line may need them (see `_parser`)."""


def _workflow_names(with_nodes: bool) -> str:
    """The workflows (and their nodes, which loads every graph: only for `run --help` and `draw --help`)."""
    lines = ["workflows and their nodes (for --node-model and --interrupt-before):" if with_nodes else "workflows:"]
    for name, workflow in WORKFLOWS.items():
        nodes = f": {', '.join(node_names([workflow.load()]))}" if with_nodes else ""
        lines.append(f"  {name}{nodes}")
    return "\n".join(lines)


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, as the command's own checks print them (exit code 2).

    argparse prints the whole usage block before the error; the line names the command's `--help` instead.
    Subcommand parsers are of this class too (argparse makes them of their parent's class).
    """

    def error(self, message: str) -> NoReturn:
        from nodes import llm  # only on an error: the help and `list` load no LangChain

        self.exit(USAGE_ERROR, f"workflows: error: {llm.redact(message)} (see: {self.prog} --help)\n")


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _OneLineParser(
        prog="workflows",
        description="Run the LLM workflow patterns of the lesson as LangGraph graphs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("WORKFLOWS_DEBUG", "") not in ("", "0"),
        help="on an error, print the traceback too (also WORKFLOWS_DEBUG=1)",
    )
    # Loading the graphs takes a second: only the help of the commands that name nodes lists them.
    helping = "-h" in argv or "--help" in argv
    names = _workflow_names(with_nodes=helping)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list the workflows with a one-line description")
    listing.add_argument("--json", action="store_true", help="print JSON: each workflow's nodes and input fields")

    run = commands.add_parser(
        "run",
        help="run a workflow on your text, or on the lesson's inputs",
        epilog=names,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("name", help="workflow name (see `workflows list`)")
    run.add_argument(
        "text", nargs="?", help="input text ('-': read it from stdin, as when piped); omitted: the lesson's inputs"
    )
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set another input field of the workflow (VALUE is JSON, else text), e.g. language=Italian; "
        "the fields are listed by `workflows list --json`",
    )
    run.add_argument("--json", action="store_true", help="print machine-readable JSON")
    add_model_options(
        run,
        "'auto' (Gemini 2.5 Flash with a key, else offline), 'offline', a Gemini model name, "
        "or provider:model for init_chat_model (default: auto)",
    )
    add_questions_option(run, None)
    add_progress_options(run)
    add_budget_options(run)
    add_thread_options(run)
    add_document_option(run)

    draw = commands.add_parser(
        "draw",
        help="print a workflow's graph as Mermaid (or ASCII), or save a picture",
        epilog=names,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    draw.add_argument("name", help="workflow name")
    drawn = draw.add_mutually_exclusive_group()
    drawn.add_argument("--ascii", action="store_true", help="draw with characters instead of Mermaid")
    drawn.add_argument("--svg", metavar="FILE", help="save an SVG picture of the graph to FILE")
    drawn.add_argument("--png", metavar="FILE", help="save a PNG picture of the graph to FILE (needs Pillow)")
    add_thread_commands(commands)
    add_compare_command(commands)
    # A command line that names another command needs no parser of these; without a command (help), or with one
    # of these or an unknown one (whose error lists every command), they are all added.
    named = next((word for word in argv if not word.startswith("-")), None)
    for name, (module, adder) in _LAZY_COMMANDS.items():
        if named not in commands.choices or named == name:
            getattr(importlib.import_module(module), adder)(commands)
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
    from nodes.documents import read_documents

    try:
        return workflow.inputs(text, read_documents(doc_files), questions)
    except ValueError as error:  # DocumentError from --doc files or the text; an option the workflow lacks
        raise UsageError(str(error)) from None


RUNS_AT_ONCE = 8
"""Inputs `workflows run` works on at the same time (each run's own model calls are bounded by --max-concurrency)."""


async def _run_all(
    args: argparse.Namespace,
    graph: "CompiledStateGraph[Any, Any, Any, Any]",
    inputs: list[dict[str, Any]],
    context: "Context",
    meters: "list[UsageMeter]",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the inputs concurrently (at most RUNS_AT_ONCE), each with its own meter, showing progress on stderr.

    Results come back in input order. One input that fails does not stop or hide the others: returns (results,
    failures). With one input, or with --debug, the failure is raised instead (one line, or its traceback); a
    spent budget (BudgetSpent) is raised once every run has ended.
    """
    from graphs.cli.progress import choose, stream_run
    from nodes import llm
    from nodes.llm import UsageMeter

    progress = choose(args.quiet)
    meters.extend(UsageMeter.for_context(context) for _ in inputs)
    import asyncio

    turns = asyncio.Semaphore(RUNS_AT_ONCE)

    async def one(number: int, payload: dict[str, Any]) -> dict[str, Any]:
        label = f"{number}/{len(inputs)}" if len(inputs) > 1 else ""
        async with turns:
            return await stream_run(
                graph, payload, {}, context, meters[number - 1], progress, run=label, stream_text=args.stream
            )

    try:
        ended = await asyncio.gather(
            *(one(number, payload) for number, payload in enumerate(inputs, 1)), return_exceptions=True
        )
    finally:
        progress.close()
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for number, outcome in enumerate(ended, 1):
        if isinstance(outcome, llm.BudgetSpent) or (
            isinstance(outcome, BaseException) and not isinstance(outcome, Exception)
        ):
            raise outcome  # a spent budget, KeyboardInterrupt: they stop the command, not one input
        if isinstance(outcome, Exception):
            if args.debug or len(inputs) == 1:
                raise outcome
            failed.append({"input": number, "error": llm.describe_error(outcome)})
        else:
            results.append(outcome)
    return results, failed


def _print_results(
    args: argparse.Namespace,
    workflow: Workflow,
    results: list[dict[str, Any]],
    thread: dict[str, Any],
    failed: list[dict[str, Any]] | None = None,
) -> None:
    """Print finished results (and the inputs that failed); `thread` is what `--json` adds for a thread run."""
    from nodes import llm
    from nodes.text import printable

    if args.json:
        status = "failed" if failed else "finished"
        finished = {"workflow": args.name, "status": status, **thread, "results": results}
        if failed:
            finished["failed"] = failed
        # Redacted once more on the way out: whatever reached the state, no key leaves through stdout.
        print(llm.redact(json.dumps(finished, indent=2, ensure_ascii=False)))
        return
    for index, result in enumerate(results):
        if index:
            print()
        # Customer text goes to the terminal: no key, and no control character that could rewrite the screen.
        print(printable(llm.redact(workflow.render(result))))
        for note in result.get("notes", []):
            print(printable(llm.redact(f"Note:   {note}")))
    for failure in failed or []:
        print(f"workflows: error: input {failure['input']}: {failure['error']}", file=sys.stderr)
    if "usage" in thread:
        from graphs.cli.costs import render_usage

        print()
        print(render_usage(thread["usage"], runs=len(results)))


def _stdin_text(args: argparse.Namespace) -> str | None:
    """Return the text to run: the argument, stdin for "-" or a pipe or file redirect, or None (lesson inputs)."""
    if args.text == "-":
        return _read_stdin().strip()
    if args.text is not None:
        return _utf8(str(args.text), "the text")
    if args.doc:
        return None
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):  # no stdin at all, or one replaced by an object without a descriptor
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISREG(mode):
        # Piped or redirected text; an empty pipe (a script's or CI's stdin) means no text given.
        return _read_stdin().strip() or None
    return None


def _read_stdin() -> str:
    """Read stdin as UTF-8 text; bytes that are not UTF-8 are refused, not run as replacement characters."""
    return _utf8(str(sys.stdin.read()), "the text on stdin")


def _utf8(text: str, what: str) -> str:
    """Return `text`, or refuse it if it held bytes that are not UTF-8."""
    # Python reads undecodable bytes of stdin and argv as lone surrogates (surrogateescape): the first says where.
    bad = re.search(r"[\udc80-\udcff]", text)
    if bad:
        byte = ord(bad.group()) - 0xDC00
        raise UsageError(
            f"{what} is not UTF-8 (byte 0x{byte:02x} at character {bad.start()}); convert it first, "
            "e.g. iconv -f latin1 -t utf-8"
        )
    return text


def _set_fields(
    graph: "CompiledStateGraph[Any, Any, Any, Any]", inputs: list[dict[str, Any]], items: Sequence[str]
) -> list[dict[str, Any]]:
    """Apply `--input FIELD=VALUE` to every input, checked against the graph's input schema."""
    if not items:
        return inputs
    from pydantic import TypeAdapter, ValidationError

    from nodes.inputs import out_of_range

    schema = TypeAdapter(graph.builder.input_schema)
    fields = list(graph.get_input_jsonschema().get("properties", {}))
    given: dict[str, Any] = {}
    raws: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key.strip() not in fields:
            raise UsageError(f"--input expects FIELD=VALUE with FIELD one of: {', '.join(fields)}; got {item!r}")
        raws[key.strip()] = raw
        try:
            given[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            given[key.strip()] = raw
    updated = [{**payload, **given} for payload in inputs]
    for payload in updated:
        while True:
            try:
                schema.validate_python(payload)
                break
            except ValidationError as error:
                problem = error.errors()[0]
                where = ".".join(str(part) for part in problem["loc"])
                if where in raws and payload[where] != raws[where]:
                    # As `--set` reads it: a JSON value of the wrong type is text where the field holds text
                    # (`--input language=123`); if the text does not fit either, the JSON value's problem is said.
                    try:
                        schema.validate_python({**payload, where: raws[where]})
                    except ValidationError:
                        pass
                    else:
                        payload[where] = raws[where]
                        continue
                said = out_of_range(graph.builder.input_schema, where, problem) or problem["msg"]
                raise UsageError(f"--input {where}: {said}") from None
    return updated


def _text_field(workflow: Workflow) -> str | None:
    """Return the input field the workflow's text goes to ("query" for routing), or None (the FAQ's documents)."""
    probe = "\x00text"
    try:
        made = workflow.make_input(probe)
    except ValueError:
        return None
    fields = [key for key, value in made.items() if value == probe]
    return fields[0] if len(fields) == 1 else None


def _text_and_fields(workflow: Workflow, text: str | None, args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """Return the text to run and the other --input items: `--input query=...` is the text, given another way.

    So it makes one run, not one per lesson input; it may not be given beside the text; empty, it is refused
    as an empty text is.
    """
    field = _text_field(workflow)
    items = [item for item in args.input if item.partition("=")[0].strip() != field or "=" not in item]
    given = [item.partition("=")[2] for item in args.input if item not in items]
    if field is None or not given:
        return text, list(args.input)
    if text is not None or args.doc or len(given) > 1:
        raise UsageError(f"the text is given twice (as the text and as --input {field}=...): give it once")
    try:
        value = json.loads(given[0])
    except json.JSONDecodeError:
        value = given[0]
    if not isinstance(value, str):
        return text, list(args.input)  # not text: the input schema's check says so
    return value, items


def _run(args: argparse.Namespace) -> int:
    from graphs.cli import threads

    workflow = _workflow(args.name)
    text, fields = _text_and_fields(workflow, _stdin_text(args), args)
    inputs = _inputs(workflow, text, args.doc, args.questions)
    graph = workflow.load()
    inputs = _set_fields(graph, inputs, fields)
    nodes = node_names([graph])
    if threads.wanted(args):
        threads.check_run(args, inputs, nodes)
    context = context_from(args, args.name, nodes)
    check_inputs(inputs, graph, context)
    if threads.wanted(args):
        return threads.run(args, workflow, inputs[0], context, _print_results)
    from graphs.cli.costs import report_budget_stop, usage_report
    from nodes.llm import BudgetSpent

    meters: list[UsageMeter] = []
    try:
        import asyncio

        results, failed = asyncio.run(_run_all(args, graph, inputs, context, meters))
    except BudgetSpent as stop:
        hint = "Nothing was kept: run with --thread ID to keep the finished steps and resume them with a larger budget."
        return report_budget_stop(args, stop, usage_report(meters), {}, hint)
    _print_results(args, workflow, results, {"usage": usage_report(meters)}, failed)
    return RUN_ERROR if failed else 0


def _draw(args: argparse.Namespace) -> int:
    workflow = _workflow(args.name)
    if args.ascii or args.svg or args.png:
        option = "--ascii" if args.ascii else "--svg" if args.svg else "--png"
        require("grandalf", "grandalf", f"workflows draw {option}")
    if args.png:
        require("PIL", "Pillow", "workflows draw --png", extra="pictures")
    target = Path(args.svg or args.png or ".").expanduser()
    if (args.svg or args.png) and not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
    drawable = workflow.load().get_graph()
    if not (args.svg or args.png):
        print(drawable.draw_ascii() if args.ascii else drawable.draw_mermaid())
        return 0
    from graphs.cli import picture

    scene = picture.layout(drawable)
    try:
        if args.svg:
            target.write_text(picture.to_svg(scene, args.name), encoding="utf-8")
        else:
            picture.to_png(scene, target)
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror or error}") from None
    print(f"Wrote {target} ({args.name}, {len(scene.boxes)} nodes, {len(scene.arrows)} edges).")
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.json:
        listed = []
        for name, workflow in WORKFLOWS.items():
            graph = workflow.load()
            schema = graph.get_input_jsonschema()
            listed.append(
                {
                    "name": name,
                    "description": workflow.description,
                    "module": workflow.module,
                    "nodes": node_names([graph]),
                    "inputs": schema.get("properties", {}),
                }
            )
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return 0
    width = max(len(name) for name in WORKFLOWS)
    for name, workflow in WORKFLOWS.items():
        print(f"{name:<{width}}  {workflow.description}")
    return 0


class _NoticeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write each notice to `sys.stderr` as it is when the notice is logged (as logging's own last resort does).

    A handler holding the stream of its first `main()` would, in a process that calls `main()` again (tests, a
    Python caller, a captured or replaced stderr), write to a stream that may since have been closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("note: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass  # StreamHandler.__init__ sets it; the stream is always the current stderr


def _show_notices_on_stderr() -> None:
    """Send the project's notices (`logging.getLogger("workflows")`) to stderr: once, however often `main` runs."""
    logger = logging.getLogger("workflows")
    if not any(isinstance(handler, _NoticeHandler) for handler in logger.handlers):
        logger.addHandler(_NoticeHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    # `--debug` is the command line's, not a command's: after the command's name it means the same.
    if "--debug" in extra:
        extra = [word for word in extra if word != "--debug"]
        args.debug = True
    # argparse fills the optional `text` only from words before the first option, so in
    # `workflows run routing --model offline "text"` the text is left over: it is still the text.
    if args.command == "run" and args.text is None and len(extra) == 1 and not extra[0].startswith("-"):
        args.text = extra.pop()
    if extra:
        parser.prog = f"{parser.prog} {args.command}"  # the help that lists the command's options
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _command(args: argparse.Namespace) -> int:
    if args.command == "list":
        return _list(args)
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
    if args.command == "bench":
        from graphs.cli import bench

        return bench.run(args)
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

        if args.debug:
            traceback.print_exc()
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
    except Exception as error:  # noqa: BLE001 - any failure becomes one clear line (the traceback with --debug)
        from nodes import llm
        from nodes.documents import DocumentError
        from nodes.inputs import InputError

        if args.debug:
            traceback.print_exc()
        print(f"workflows: error: {llm.describe_error(error)}", file=sys.stderr)
        return USAGE_ERROR if isinstance(error, InputError | DocumentError) else RUN_ERROR


def entry_point() -> None:
    """Console-script entry: exit with main()'s code."""
    sys.exit(main())
