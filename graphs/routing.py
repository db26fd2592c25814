"""Routing: classify a customer query, then answer it with the prompt of its intent (or ask to rephrase)."""

from collections.abc import Mapping

from langgraph.graph import END, START, StateGraph

from nodes.edges import on_the_loop
from nodes.intents import FALLBACK, FALLBACK_ROUTE, INTENTS, Intent
from nodes.routing import make_classify, make_handler, route_by_intent
from state.context import Context
from state.routing import RoutingInput, RoutingOutput, RoutingState

RoutingBuilder = StateGraph[RoutingState, Context, RoutingInput, RoutingOutput]


def build_routing(intents: Mapping[str, Intent] = INTENTS) -> RoutingBuilder:
    """Wire classify -> one handler per registered intent (plus the fallback) -> END."""
    clash = {"classify", FALLBACK_ROUTE} & set(intents)
    if clash:
        raise ValueError(f"Intent keys {sorted(clash)} are reserved node names; pick other registry keys.")
    categories = ", ".join(intent.label for intent in intents.values())
    builder = StateGraph(RoutingState, context_schema=Context, input_schema=RoutingInput, output_schema=RoutingOutput)
    builder.add_node("classify", make_classify(intents))
    for key, intent in {**intents, FALLBACK_ROUTE: FALLBACK}.items():
        builder.add_node(key, make_handler(key, intent, categories))
        builder.add_edge(key, END)
    builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", on_the_loop(route_by_intent), [*intents, FALLBACK_ROUTE])
    return builder


builder = build_routing()
graph = builder.compile(name="routing")
