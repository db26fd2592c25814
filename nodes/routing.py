"""Nodes and edges of the routing graph: classify a query, then answer it with the matching intent's prompt."""

from collections.abc import Mapping
from typing import Any, Protocol, cast

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime

from nodes import llm, prompts
from nodes.intents import FALLBACK, FALLBACK_ROUTE, Intent
from state.common import fresh_run_info
from state.context import Context
from state.routing import Classification, RoutingState

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


def _fallback(note: str, confidence: float = 0.0, models: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "route": FALLBACK_ROUTE,
        "intent": FALLBACK.label,
        "confidence": confidence,
        **fresh_run_info(models, [note]),
    }


def make_classify(intents: Mapping[str, Intent]) -> Node:
    """Build the `classify` node for a registry of intents."""
    schema = classification_schema(intents)
    routes = {intent.label.casefold(): key for key, intent in intents.items()}
    menu = "\n".join(f'- "{intent.label}": {intent.description}' for intent in intents.values())
    system = prompts.CLASSIFY_SYSTEM.format(menu=menu)

    async def classify(state: RoutingState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Label the query with one registered intent, or send it to the fallback when unsure."""
        query = state.get("query", "").strip()
        if not query:
            return _fallback("The query was empty, so it was not classified.")
        built = await llm.chat_model(runtime, "classify")
        structured = built.model.with_structured_output(schema, include_raw=True)
        answer = cast(dict[str, Any], await structured.ainvoke([("system", system), ("human", query)]))
        seen = {"classify": built.label}
        verdict, problem = llm.read_structured(answer, Classification)
        if verdict is None:
            return _fallback(f"The classifier's output was not valid ({problem}); asked to rephrase.", models=seen)
        route = routes.get(verdict.intent.strip().casefold())
        if route is None:
            return _fallback(f"The classifier answered an unknown category {verdict.intent!r}.", models=seen)
        threshold = llm.context_of(runtime).min_confidence
        if verdict.confidence < threshold:
            note = (
                f"The classifier's best guess was {verdict.intent!r} with confidence {verdict.confidence:.2f}, "
                f"below the {threshold} threshold."
            )
            return _fallback(note, verdict.confidence, seen)
        return {
            "route": route,
            "intent": intents[route].label,
            "confidence": verdict.confidence,
            **fresh_run_info(seen),
        }

    return classify


def make_handler(key: str, intent: Intent, categories: str) -> Node:
    """Build the handler node that answers a query with `intent`'s prompt."""

    async def handle(state: RoutingState, runtime: Runtime[Context]) -> dict[str, Any]:
        query = state.get("query", "").strip()
        if not query:
            return {"reply": EMPTY_QUERY_REPLY}
        built = await llm.chat_model(runtime, key)
        prompt = intent.prompt.format(query=query, categories=categories)
        text, notes = await reply_or_retry(built.model, prompt)
        return {"reply": text, "models": {key: built.label}, "notes": notes}

    handle.__name__ = handle.__qualname__ = key
    handle.__doc__ = f"Answer a {intent.label} query with its specialised prompt."
    return handle


async def reply_or_retry(model: BaseChatModel, prompt: str) -> tuple[str, list[str]]:
    """Ask once more when the model replies with nothing; say so rather than return an empty reply."""
    for attempt in range(2):
        text = (await model.ainvoke([("human", prompt)])).text.strip()
        if text:
            return text, (["The model's first reply was empty; asked again."] if attempt else [])
    return (
        "Sorry, we could not prepare an answer just now. A member of our team will follow up.",
        ["The model replied with empty text twice; sent a holding reply."],
    )


def route_by_intent(state: RoutingState) -> str:
    """Go to the handler node chosen by `classify` (its targets are declared in the graph's path map)."""
    return state.get("route", FALLBACK_ROUTE)
