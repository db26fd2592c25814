"""The workflows the CLI and Studio offer: where each graph lives, its lesson input, and how to show a result."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph

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


WORKFLOWS: dict[str, Workflow] = {
    "routing": Workflow(
        module="graphs.routing",
        description="Classify a customer query (Technical Support / Billing Inquiry / General Question), "
        "then answer with the prompt of that intent.",
        examples=LESSON_QUERIES,
        make_input=lambda text: {"query": text},
        render=_render_routing,
    ),
}
"""Name -> workflow; the names match studio/langgraph.json."""
