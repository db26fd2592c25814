"""FAQ in one big call: the lesson's baseline (questions, answers and sources all at once), then scored."""

from langgraph.graph import END, START, StateGraph

from nodes.faq import generate_faq, score
from state.context import Context
from state.faq import FaqInput, FaqOutput, FaqState

builder = StateGraph(FaqState, context_schema=Context, input_schema=FaqInput, output_schema=FaqOutput)
builder.add_node(generate_faq)
builder.add_node(score)
builder.add_edge(START, "generate_faq")
builder.add_edge("generate_faq", "score")
builder.add_edge("score", END)
graph = builder.compile(name="faq_single_call")
