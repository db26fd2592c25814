"""Summarize -> Translate: the lesson's two-step chain, with a gate that retries a bad summary once."""

from langgraph.graph import END, START, StateGraph

from nodes.edges import on_the_loop
from nodes.summarize_translate import after_check, check_summary, summarize, translate
from state.context import Context
from state.summarize_translate import SummarizeTranslateInput, SummarizeTranslateOutput, SummarizeTranslateState

builder = StateGraph(
    SummarizeTranslateState,
    context_schema=Context,
    input_schema=SummarizeTranslateInput,
    output_schema=SummarizeTranslateOutput,
)
builder.add_node(summarize)
builder.add_node(check_summary)
builder.add_node(translate)
builder.add_edge(START, "summarize")
builder.add_edge("summarize", "check_summary")
builder.add_conditional_edges("check_summary", on_the_loop(after_check))
builder.add_edge("translate", END)
graph = builder.compile(name="summarize_translate")
