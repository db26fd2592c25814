"""Nodes and edges of the routing graph: classify a query, then answer it with the matching intent's prompt."""

from collections.abc import Mapping
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime

from nodes import llm, prompts
from nodes.inputs import read_input
from nodes.intents import FALLBACK, FALLBACK_ROUTE, Intent
from state.common import fresh_run_info
from state.context import Context
from state.routing import Classification, RoutingInput, RoutingState

EMPTY_QUERY_REPLY = "Your message was empty. Please tell us what you need help with, and we will route it."


class Node(Protocol):
    """A routing node as LangGraph calls it."""

    async def __call__(self, state: RoutingState, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Return the state keys the node changes."""
        ...


def classification_schema(intents: Mapping[str, Intent]) -> dict[str, Any]:
    """Return the classifier's JSON schema, with the registered labels as the only allowed intents."""
    schema = Classification.model_json_schema()
    schema["properties"]["intent"]["enum"] = [intent.label for intent in intents.values()]
    return schema


def _fallback(notes: list[str], confidence: float = 0.0, models: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "route": FALLBACK_ROUTE,
        "intent": FALLBACK.label,
        "confidence": confidence,
        **fresh_run_info(models, notes),
    }


def make_classify(intents: Mapping[str, Intent]) -> Node:
    """Build the `classify` node for a registry of intents."""
    schema = classification_schema(intents)
    routes = {intent.label.casefold(): key for key, intent in intents.items()}
    menu = "\n".join(f'- "{intent.label}": {intent.description}' for intent in intents.values())
    system = prompts.CLASSIFY_SYSTEM.format(menu=menu)

    async def classify(state: RoutingState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Label the query with one registered intent, or send it to the fallback when unsure."""
        context = llm.context_of(runtime)
        given, notes = await read_input(state, RoutingInput, context)
        query = given.get("query", "").strip()
        # The checked query replaces the raw one in state (a pasted key is gone from it, and from what follows).
        cleaned = {"query": given["query"]} if notes else {}
        if not query:
            return {**cleaned, **_fallback([*notes, "The query was empty, so it was not classified."])}
        built = await llm.chat_model(runtime, "classify")
        reply = await llm.ask_structured(
            built.model,
            schema,
            [("system", system), ("human", prompts.as_data("query", query))],
            Classification.model_validate,
        )
        seen = {"classify": built.label}
        if reply.value is None:
            problem = f"The classifier's output was not usable, also when asked again ({reply.problems[-1]})."
            return {**cleaned, **_fallback([*notes, f"{problem} Asked to rephrase."], models=seen)}
        if reply.asked_again:
            notes.append(f"The classifier's first reply was not usable ({reply.problems[0]}); asked again.")
        verdict = reply.value
        route = routes.get(verdict.intent.strip().casefold())
        if route is None:
            notes.append(f"The classifier answered an unknown category {verdict.intent[:80]!r}.")
            return {**cleaned, **_fallback(notes, models=seen)}
        threshold = context.min_confidence
        if verdict.confidence < threshold:
            notes.append(
                f"The classifier's best guess was {verdict.intent!r} with confidence {verdict.confidence:.2f}, "
                f"below the {threshold} threshold."
            )
            return {**cleaned, **_fallback(notes, verdict.confidence, seen)}
        return {
            **cleaned,
            "route": route,
            "intent": intents[route].label,
            "confidence": verdict.confidence,
            **fresh_run_info(seen, notes),
        }

    return classify


def make_handler(key: str, intent: Intent, categories: str) -> Node:
    """Build the handler node that answers a query with `intent`'s prompt."""

    async def handle(state: RoutingState, runtime: Runtime[Context]) -> dict[str, Any]:
        query = state.get("query", "").strip()
        if not query:
            return {"reply": EMPTY_QUERY_REPLY}
        built = await llm.chat_model(runtime, key)
        prompt = intent.prompt.format(query=prompts.as_data("message", query), categories=categories)
        text, notes = await reply_or_retry(built.model, prompt)
        return {"reply": text, "models": {key: built.label}, "notes": notes}

    handle.__name__ = handle.__qualname__ = key
    handle.__doc__ = f"Answer a {intent.label} query with its specialised prompt."
    return handle


HOLDING_REPLY = "Sorry, we could not prepare an answer just now. A member of our team will follow up."


async def reply_or_retry(model: BaseChatModel, prompt: str) -> tuple[str, list[str]]:
    """Ask once more when the reply is empty, cut off or over-long; then send a holding reply, and say so.

    The reply goes to the customer: half a sentence ("Dear customer, we"), text a safety stop cut short or a
    clipped wall of text is worse than saying that a person will follow up.
    """
    reply = await llm.ask_text(model, [("human", prompt)])
    if not reply.problems:
        return reply.text, []
    if reply.complete:
        return reply.text, [f"The model's first reply was not usable ({reply.problems[0]}); asked again."]
    return HOLDING_REPLY, [f"The model's reply was not usable twice ({reply.problems[-1]}); sent a holding reply."]


def route_by_intent(state: RoutingState) -> str:
    """Go to the handler node chosen by `classify` (its targets are declared in the graph's path map)."""
    return state.get("route", FALLBACK_ROUTE)
