"""Evaluator-optimizer: write an email, evaluate it against the criteria, revise with the feedback, until it passes."""

from collections.abc import Mapping

from langgraph.graph import END, START, StateGraph

from nodes.criteria import CRITERIA, Criterion
from nodes.edges import on_the_loop
from nodes.evaluator_optimizer import after_evaluate, after_write, finish, make_evaluate, make_write, prepare
from state.context import Context
from state.evaluator_optimizer import EvaluatorOptimizerInput, EvaluatorOptimizerOutput, EvaluatorOptimizerState

EvaluatorOptimizerBuilder = StateGraph[
    EvaluatorOptimizerState, Context, EvaluatorOptimizerInput, EvaluatorOptimizerOutput
]


def build_evaluator_optimizer(criteria: Mapping[str, Criterion] = CRITERIA) -> EvaluatorOptimizerBuilder:
    """Wire prepare -> write -> evaluate, back to write until the draft passes or the loop stops -> finish -> END."""
    if not criteria:
        raise ValueError("At least one criterion is needed: without one, there is nothing to evaluate.")
    builder = StateGraph(
        EvaluatorOptimizerState,
        context_schema=Context,
        input_schema=EvaluatorOptimizerInput,
        output_schema=EvaluatorOptimizerOutput,
    )
    builder.add_node(prepare)
    # No RetryPolicy: both nodes retry their model calls themselves, so that a revision or an evaluation that keeps
    # failing ends the loop with the best draft so far instead of failing the run.
    builder.add_node("write", make_write(criteria))
    builder.add_node("evaluate", make_evaluate(criteria))
    builder.add_node(finish)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "write")
    builder.add_conditional_edges("write", on_the_loop(after_write))
    builder.add_conditional_edges("evaluate", on_the_loop(after_evaluate))
    builder.add_edge("finish", END)
    return builder


builder = build_evaluator_optimizer()
graph = builder.compile(name="evaluator_optimizer")
