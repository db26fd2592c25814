"""State keys every workflow shares: which model answered each node, and what went wrong on the way."""

import operator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator
from typing_extensions import TypedDict


@dataclass(frozen=True)
class NodeName:
    """Marks a state key whose value names a node of the graph, which an edge goes to (routing's `route`).

    `Annotated[str, NodeName()]`: an edit of a paused thread (`workflows resume --set`) must name one of the
    graph's nodes, or the edge would fail when the run goes on.
    """


def merge_dicts(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    """Merge two node->value maps; parallel writers each add their own keys."""
    return {**left, **right}


class RunInfo(TypedDict, total=False):
    """Provenance and warnings, filled by nodes as they run."""

    models: Annotated[dict[str, str], merge_dicts]
    """Node name -> label of the chat model that answered it (says "offline" when no real model ran)."""
    notes: Annotated[list[str], operator.add]
    """Recoverable problems met during the run (malformed model output, fallbacks taken), in plain words."""


def overwrite(value: Any) -> dict[str, Any]:
    """Return a write that replaces a reducer key's value instead of adding to it.

    The `{"__overwrite__": value}` form of `langgraph.types.Overwrite` (both exist in every langgraph we support): it
    is plain JSON, so a thread's history and Studio's update stream show it as data, not as an object's repr.
    """
    return {"__overwrite__": value}


def fresh_run_info(models: dict[str, str] | None = None, notes: list[str] | None = None) -> dict[str, Any]:
    """Return the first node's `models` and `notes`, replacing what earlier runs on the same thread left.

    Reducer keys accumulate across runs of a checkpointed thread (Studio, resumed threads), so a run's first
    node must overwrite them, or the second run would report the first one's notes and models too.
    """
    return {"models": overwrite(dict(models or {})), "notes": overwrite(list(notes or []))}


def _no_boolean(value: Any) -> Any:
    # Pydantic reads true as 1.0 for a float; a model answering `true` for a score has given no score.
    if isinstance(value, bool):
        raise ValueError("a score is a number from 0.0 to 1.0, not true or false")
    return value


Fraction = Annotated[float, BeforeValidator(_no_boolean)]
"""A model's score or confidence (bounded 0.0 to 1.0 by each field); a JSON boolean is refused, not read as 1 or 0."""
