"""Parallelization, sectioning: draft a reply while every screen checks the query, at once; send it only if all pass."""

from collections.abc import Mapping

from langgraph.graph import END, START, StateGraph

from nodes.screens import SCREENS, Screen
from nodes.sectioning import DRAFT_NODE, draft, make_decide, make_screen, prepare, screen_node
from state.context import Context
from state.sectioning import SectioningInput, SectioningOutput, SectioningState

SectioningBuilder = StateGraph[SectioningState, Context, SectioningInput, SectioningOutput]


def build_sectioning(screens: Mapping[str, Screen] = SCREENS) -> SectioningBuilder:
    """Wire prepare -> the draft and one node per screen, side by side -> decide -> END."""
    if not screens:
        raise ValueError("At least one screen is needed: without one, every draft would be sent unchecked.")
    builder = StateGraph(
        SectioningState, context_schema=Context, input_schema=SectioningInput, output_schema=SectioningOutput
    )
    builder.add_node(prepare)
    # Plain edges from one node to several run them in the same step, concurrently: the sections are fixed in
    # advance (unlike orchestrator tasks), so no Send is needed and Studio draws every branch. The branches retry
    # their own model calls, so that a failing one holds the reply instead of failing the run.
    builder.add_node(DRAFT_NODE, draft)
    # Every screen masks what any screen's pattern finds (a card number) in its reason, not only its own finds.
    sensitive = [screen.detect for screen in screens.values() if screen.detect is not None]
    for key, screen in screens.items():
        builder.add_node(screen_node(key), make_screen(key, screen, sensitive))
    builder.add_node("decide", make_decide(screens))
    # Every branch is one node, so all of them finish in the same step and `decide` runs once, after the last. A
    # waiting edge, add_edge([...], "decide"), would say the same, but on `langgraph dev` (langgraph-api 0.16) a run
    # paused before such a join showed no next node and never ran it; local checkpointers keep it.
    for branch in [DRAFT_NODE, *map(screen_node, screens)]:
        builder.add_edge("prepare", branch)
        builder.add_edge(branch, "decide")
    builder.add_edge(START, "prepare")
    builder.add_edge("decide", END)
    return builder


builder = build_sectioning()
graph = builder.compile(name="sectioning")
