"""Command-line pieces shared by the `workflows` subcommands: errors, options and their checks.

This module imports no LangGraph or LangChain at load time (they take most of a second), so that
`workflows list` and `--help` answer at once; the few checks that need them import them when called.
"""

import argparse
import importlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from state.limits import DEFAULT_QUESTIONS, MAX_QUESTIONS

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from state.context import Context

USAGE_ERROR = 2
"""Exit code for bad input from the user."""
RUN_ERROR = 1
"""Exit code for a run that failed (a node raised, the provider refused, ...)."""
BUDGET_SPENT = 3
"""Exit code for a run stopped because its --max-tokens or --max-cost budget was spent."""
THREAD_COMMANDS = ("resume", "history", "threads")


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ThreadError(UsageError):
    """Bad thread input (unknown thread, node or checkpoint; unusable --db): one line, exit code 2."""


class MissingPackage(UsageError):
    """A package the command needs is not installed: one line saying what installs it, exit code 2."""


DISTRIBUTION = "langgraph-workflow-patterns"


def require(module: str, package: str, needed_for: str, extra: str | None = None) -> None:
    """Raise MissingPackage unless `module` imports; `extra` names the project extra that installs it, if any."""
    try:
        importlib.import_module(module)
    except ImportError:
        install = f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {package}"
        raise MissingPackage(f"{needed_for} needs the {package} package, which is not installed: {install}") from None


def add_document_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable `--doc FILE` option (.txt or .md; titled by its first heading, else its file name)."""
    parser.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="FILE",
        help="a .txt or .md document (repeatable); titled by its first heading, else by its file name",
    )


def add_model_options(
    parser: argparse.ArgumentParser, model_help: str, node_example: str = "classify=gemini-2.5-flash-lite"
) -> None:
    """Add `--model`, `--node-model NODE=MODEL` (repeatable) and `--max-concurrency`.

    `node_example` is a `--node-model` value the command accepts, for its help.

    Left unset, `--model` and `--max-concurrency` stay None and the run takes Context's own defaults.
    """
    parser.add_argument("--model", help=model_help)
    parser.add_argument(
        "--node-model",
        action="append",
        default=[],
        metavar="NODE=MODEL",
        help=f"model for one node, e.g. {node_example} (repeatable)",
    )
    # The default is Context's (a test holds the two together): this module stays free of LangChain's import time.
    parser.add_argument("--max-concurrency", type=int, help="most parallel model calls of one run (default: 16)")
    parser.add_argument(
        "--rpm",
        action="append",
        default=[],
        metavar="[MODEL=]N",
        help="most requests per minute to a model, shared by all runs of the process, e.g. 10 (every model) or "
        "gemini-2.5-flash=10 (repeatable; default: no limit)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="most seconds a run may take, from its first model call; model calls past it fail and the run ends "
        "as its fallbacks allow (default: no limit)",
    )


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    """Add `--quiet` and `--stream`: how much of a run's progress to show on stderr while it works."""
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("-q", "--quiet", action="store_true", help="show no progress while the run works")
    shown.add_argument(
        "--stream", action="store_true", help="also show model text (replies, emails, summaries) as it arrives"
    )


def _positive_int(text: str) -> int:
    # An ArgumentTypeError's message is shown as it is; a ValueError would show the function's name.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of dollars, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a number of dollars above 0")
    return value


def add_budget_options(parser: argparse.ArgumentParser, whose: str = "the run has", default: str = "") -> None:
    """Add `--max-tokens` and `--max-cost`, the run's budget (Context.max_tokens and max_cost)."""
    parser.add_argument(
        "--max-tokens",
        type=_positive_int,
        metavar="N",
        help=f"stop before the next model call once {whose} used N tokens (input + output){default}",
    )
    parser.add_argument(
        "--max-cost",
        type=_positive_float,
        metavar="USD",
        help=f"stop before the next model call once {whose} cost USD dollars (Gemini list prices){default}",
    )


def add_questions_option(parser: argparse.ArgumentParser, default: int | None) -> None:
    """Add `--questions N` for the FAQ workflows."""
    parser.add_argument(
        "--questions",
        type=int,
        default=default,
        metavar="N",
        help=f"FAQ items to ask for, 1 to {MAX_QUESTIONS} (default: {DEFAULT_QUESTIONS})",
    )


def thread_id(text: str) -> str:
    """Read a `--thread` ID: spaces around it are dropped (a quoted " a" is thread "a"), and it may not be empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a non-empty ID")
    from nodes.llm.keys import redact  # imported here: only commands with a thread need it

    if redact(text) != text:
        # Thread ids are listed by `workflows threads` and stored in every checkpoint's row, unmasked.
        raise argparse.ArgumentTypeError("looks like an API key; thread IDs are shown and stored, so pick another")
    return text.strip()


def _add_db(parser: "argparse._ActionsContainer") -> None:
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="SQLite file, or postgresql://USER@HOST/DB database, that keeps the threads "
        "(default: ~/.local/state/workflows/threads.sqlite)",
    )


def _add_interrupt(parser: "argparse._ActionsContainer") -> None:
    parser.add_argument(
        "--interrupt-before",
        action="append",
        default=[],
        metavar="NODE",
        help="pause the run before NODE runs (repeatable; see `workflows draw NAME` for node names)",
    )


def add_thread_options(run: argparse.ArgumentParser) -> None:
    """Add --thread, --interrupt-before and --db to `workflows run`."""
    group = run.add_argument_group("durable threads")
    group.add_argument(
        "--thread", type=thread_id, metavar="ID", help="keep the run as thread ID, so it can pause, resume and replay"
    )
    _add_interrupt(group)
    _add_db(group)


def add_thread_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `resume` and `history` subcommands."""
    resume = commands.add_parser(
        "resume", help="continue a paused thread, or replay/fork it from an earlier checkpoint"
    )
    resume.add_argument("--thread", type=thread_id, required=True, metavar="ID", help="the thread to continue")
    resume.add_argument(
        "--checkpoint",
        metavar="ID",
        help="replay from this checkpoint (an ID, or a unique prefix, from `workflows history`): the steps after "
        "it run again on a new branch of the thread; the old branch stays in the history",
    )
    resume.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="edit the state before continuing (VALUE is JSON, else text); with --checkpoint this forks the thread",
    )
    resume.add_argument("--model", help="model for the rest of the run (default: the one the thread started with)")
    add_budget_options(resume, "the thread's runs have", "; default: the thread's own budget")
    add_progress_options(resume)
    _add_interrupt(resume)
    resume.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_db(resume)

    threads = commands.add_parser("threads", help="list the threads in the store (or delete one)")
    threads.add_argument("--delete", type=thread_id, metavar="ID", help="delete thread ID and all its checkpoints")
    threads.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_db(threads)

    history = commands.add_parser("history", help="list a thread's checkpoints: which node ran and what it wrote")
    history.add_argument("--thread", type=thread_id, required=True, metavar="ID", help="the thread to show")
    history.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_db(history)


def add_compare_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `compare` subcommand."""
    compare = commands.add_parser("compare", help="compare the single-call FAQ with the chain, side by side")
    compare.add_argument("what", choices=["faq"], help="what to compare (faq: one big call against the chain)")
    add_document_option(compare)
    add_questions_option(compare, DEFAULT_QUESTIONS)
    add_model_options(
        compare, "model for both graphs, as for `run` (default: auto)", "answer_question=gemini-2.5-flash-lite"
    )
    add_budget_options(compare, "the two graphs together have")
    compare.add_argument("--json", action="store_true", help="print machine-readable JSON")


def node_names(graphs: Sequence["CompiledStateGraph[Any, Any, Any, Any]"]) -> list[str]:
    """Return the nodes of `graphs` a user can name (LangGraph's own `__start__` left out), first seen first."""
    return list(dict.fromkeys(name for graph in graphs for name in graph.nodes if not name.startswith("__")))


def check_nodes(option: str, owner: str, nodes: Sequence[str], named: Iterable[str]) -> None:
    """Refuse an `option` value that names no node of `owner` (whose nodes are `nodes`)."""
    for node in named:
        if node not in nodes:
            raise UsageError(f"{option}: {owner} has no node {node!r}; its nodes: {', '.join(nodes)}")


def check_inputs(
    inputs: Sequence[dict[str, Any]], graph: "CompiledStateGraph[Any, Any, Any, Any]", context: "Context"
) -> None:
    """Refuse, before anything runs, an input the graph's first node would refuse (types, size)."""
    from nodes.documents import DocumentError, check_documents
    from nodes.inputs import InputError, check_input  # imported here: it loads pydantic and LangChain

    for payload in inputs:
        try:
            valid = check_input(payload, graph.builder.input_schema, context)
            if valid.get("documents") is not None:
                # `--input documents=[...]`: the checks a graph's first node makes (none, a title twice, no text).
                check_documents(valid["documents"])
        except InputError as error:
            raise UsageError(str(error)) from None
        except DocumentError as error:
            raise UsageError(f"documents: {error}") from None


def check_models(context: "Context", nodes: Sequence[str]) -> None:
    """Refuse, before anything runs, a model `nodes` could not get (no key, provider package missing, ...)."""
    from nodes import llm  # imported here: it loads LangChain, which `workflows list` does not need

    try:
        llm.check_context(context, list(nodes))
    except llm.ModelSetupError as error:
        raise UsageError(str(error)) from None


def context_from(args: argparse.Namespace, owner: str, nodes: Sequence[str]) -> "Context":
    """Build the run's Context from the model options and check it: node names, concurrency, model setup."""
    from state.context import Context  # imported here: it loads LangChain, which `workflows list` does not need

    overrides: dict[str, str] = {}
    for item in args.node_model:
        node, sep, model = item.partition("=")
        if not sep or not node.strip() or not model.strip():
            raise UsageError(f"--node-model expects NODE=MODEL, got {item!r}")
        check_nodes("--node-model", owner, nodes, [node.strip()])
        overrides[node.strip()] = model.strip()
    if args.max_concurrency is not None and args.max_concurrency < 1:
        raise UsageError("--max-concurrency must be at least 1")
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0")
    given = {
        "model": args.model,
        "max_concurrency": args.max_concurrency,
        "timeout": timeout,
        "max_tokens": getattr(args, "max_tokens", None),
        "max_cost": getattr(args, "max_cost", None),
        "requests_per_minute": rate_limits(getattr(args, "rpm", [])) or None,
    }
    context = Context(node_models=overrides, **{key: value for key, value in given.items() if value is not None})
    check_models(context, nodes)
    return context


def rate_limits(items: Sequence[str]) -> dict[str, float]:
    """Read `--rpm [MODEL=]N` options into Context.requests_per_minute ("*" for a limit without a model)."""
    limits: dict[str, float] = {}
    for item in items:
        model, sep, number = item.rpartition("=")
        try:
            per_minute = float(number)
        except ValueError:
            per_minute = 0.0
        if not per_minute > 0 or (sep and not model.strip()):
            raise UsageError(f"--rpm expects N or MODEL=N with N a number above 0, got {item!r}")
        limits[model.strip() if sep else "*"] = per_minute
    return limits


def check_questions(questions: int | None) -> None:
    """Refuse a `--questions` count the FAQ graphs would refuse, before anything runs."""
    if questions is not None and not 1 <= questions <= MAX_QUESTIONS:
        raise UsageError(f"--questions must be between 1 and {MAX_QUESTIONS}, got {questions}")
