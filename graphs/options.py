"""Command-line pieces shared by `workflows run` and `workflows compare`: usage errors, options and their checks."""

import argparse
from collections.abc import Sequence
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from nodes.faq import MAX_QUESTIONS
from state.context import Context


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def add_document_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable `--doc FILE` option (.txt or .md; titled by its first heading, else its file name)."""
    parser.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="FILE",
        help="a .txt or .md document (repeatable); titled by its first heading, else by its file name",
    )


def add_model_options(parser: argparse.ArgumentParser, model_help: str) -> None:
    """Add `--model`, `--node-model NODE=MODEL` (repeatable) and `--max-concurrency`."""
    parser.add_argument("--model", default="auto", help=model_help)
    parser.add_argument(
        "--node-model",
        action="append",
        default=[],
        metavar="NODE=MODEL",
        help="model for one node, e.g. classify=gemini-2.5-flash-lite (repeatable)",
    )
    parser.add_argument("--max-concurrency", type=int, default=5, help="most parallel model calls (default: 5)")


def node_names(graphs: Sequence[CompiledStateGraph[Any, Any, Any, Any]]) -> list[str]:
    """Return the nodes of `graphs` a user can name (LangGraph's own `__start__` left out), first seen first."""
    return list(dict.fromkeys(name for graph in graphs for name in graph.nodes if not name.startswith("__")))


def context_from(args: argparse.Namespace, owner: str, nodes: Sequence[str]) -> Context:
    """Build the run's Context from the model options, checking every `--node-model` names one of `nodes`."""
    overrides: dict[str, str] = {}
    for item in args.node_model:
        node, sep, model = item.partition("=")
        if not sep or not node.strip() or not model.strip():
            raise UsageError(f"--node-model expects NODE=MODEL, got {item!r}")
        if node.strip() not in nodes:
            raise UsageError(f"--node-model: {owner} has no node {node.strip()!r}; its nodes: {', '.join(nodes)}")
        overrides[node.strip()] = model.strip()
    if args.max_concurrency < 1:
        raise UsageError("--max-concurrency must be at least 1")
    return Context(model=args.model, node_models=overrides, max_concurrency=args.max_concurrency)


def check_questions(questions: int | None) -> None:
    """Refuse a `--questions` count the FAQ graphs would refuse, before anything runs."""
    if questions is not None and not 1 <= questions <= MAX_QUESTIONS:
        raise UsageError(f"--questions must be between 1 and {MAX_QUESTIONS}, got {questions}")
