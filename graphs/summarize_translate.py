"""Summarize -> Translate: the lesson's two-step chain, with a gate that retries a bad summary once.

The graph is built from the registry `nodes.summarize_translate.STEPS`, so adding a step never changes this file.
"""

from collections.abc import Sequence

from langgraph.graph import END, START, StateGraph

from nodes.edges import on_the_loop
from nodes.summarize_translate import STEPS, Step, clearing
from state.context import Context
from state.summarize_translate import SummarizeTranslateInput, SummarizeTranslateOutput, SummarizeTranslateState

SummarizeTranslateBuilder = StateGraph[
    SummarizeTranslateState, Context, SummarizeTranslateInput, SummarizeTranslateOutput
]


def build_summarize_translate(steps: Sequence[Step] = STEPS) -> SummarizeTranslateBuilder:
    """Wire `steps` in order: each step's node, then its gate (if any), then the next step; the last ends the run."""
    if not steps:
        raise ValueError("a chain needs at least one step")
    builder = SummarizeTranslateBuilder(
        SummarizeTranslateState,
        context_schema=Context,
        input_schema=SummarizeTranslateInput,
        output_schema=SummarizeTranslateOutput,
    )
    names = [step.name for step in steps]
    builder.add_edge(START, names[0])
    later_fields = [field for step in steps[1:] for field in step.writes]
    nodes = [clearing(steps[0].node, later_fields), *(step.node for step in steps[1:])]
    for step, node, following in zip(steps, nodes, [*names[1:], END], strict=True):
        builder.add_node(step.name, node)
        if step.gate is None:
            builder.add_edge(step.name, following)
            continue
        builder.add_node(step.gate.name, step.gate.check)
        builder.add_edge(step.name, step.gate.name)
        targets = list(dict.fromkeys([following, step.name, END]))
        builder.add_conditional_edges(step.gate.name, on_the_loop(step.gate.route(step.name, following)), targets)
    return builder


builder = build_summarize_translate()
graph = builder.compile(name="summarize_translate")
