"""The workflows the CLI and Studio offer: where each graph lives, its lesson input, and how to show a result."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from state.orchestrator import LESSON_MESSAGE
from state.routing import LESSON_QUERIES


@dataclass(frozen=True)
class Workflow:
    """One runnable graph as the command line sees it."""

    module: str
    """Module whose `graph` attribute is the compiled graph (imported only when used)."""
    description: str
    """One line for `workflows list` and Studio."""
    examples: tuple[str, ...]
    """The lesson's inputs, run when the user gives none."""
    make_input: Callable[[str], dict[str, Any]]
    """Turn the user's text into the graph's input."""
    render: Callable[[dict[str, Any]], str]
    """Turn a finished run's output into readable text."""

    def load(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Import and return the compiled graph."""
        graph: CompiledStateGraph[Any, Any, Any, Any] = importlib.import_module(self.module).graph
        return graph


def _render_routing(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Query:  {result.get('query', '')}",
            f"Intent: {result.get('intent', '?')} (confidence {result.get('confidence', 0.0):.2f})",
            f"Reply:  {result.get('reply', '')}",
        ]
    )


def _render_orchestrator(result: dict[str, Any]) -> str:
    lines = [f"Message: {result.get('message', '')}", "Plan:"]
    planned = sorted(
        [
            (t["index"], f"{t['kind']} " + ", ".join(f"{k}={v}" for k, v in t["fields"].items()))
            for t in result.get("tasks", [])
        ]
        + [(u["index"], f"could not handle: {u['request']} ({u['reason']})") for u in result.get("unhandled", [])]
    )
    lines += [f"  {index + 1}. {text}" for index, text in planned] or ["  (no tasks)"]
    lines.append("Results:")
    for worker_result in sorted(result.get("results", []), key=lambda r: r["index"]):
        status = "done" if worker_result["ok"] else "follow-up"
        lines.append(f"  {worker_result['index'] + 1}. [{status}] {worker_result['label']}: {worker_result['summary']}")
    if not result.get("results"):
        lines.append("  (none)")
    lines += ["Email:", *(f"  {line}" for line in result.get("email", "").splitlines())]
    return "\n".join(lines)


WORKFLOWS: dict[str, Workflow] = {
    "routing": Workflow(
        module="graphs.routing",
        description="Classify a customer query (Technical Support / Billing Inquiry / General Question), "
        "then answer with the prompt of that intent.",
        examples=LESSON_QUERIES,
        make_input=lambda text: {"query": text},
        render=_render_routing,
    ),
    "orchestrator": Workflow(
        module="graphs.orchestrator",
        description="Split a customer message into typed tasks, handle each with its worker in parallel, "
        "then write one email.",
        examples=(LESSON_MESSAGE,),
        make_input=lambda text: {"message": text},
        render=_render_orchestrator,
    ),
}
"""Name -> workflow; the names match studio/langgraph.json."""
