"""Building chat models: Gemini by default, any init_chat_model provider, or the offline model."""

import asyncio
import logging
import os
from dataclasses import dataclass, replace
from functools import lru_cache

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime

from nodes.llm import usage
from nodes.llm.errors import ModelSetupError
from nodes.llm.guard import guarded
from nodes.llm.keys import BASE_URL_VARIABLE, find_api_key, keys_loaded, redact
from nodes.llm.prices import PRICES_VARIABLE, load_prices, price_of
from nodes.offline import OFFLINE_LABEL, OfflineChatModel
from state.context import AUTO, OFFLINE, Context, context_of

logger = logging.getLogger("workflows")

GEMINI_DEFAULT = "gemini-2.5-flash"
OFFLINE_NOTICE = (
    "No GOOGLE_API_KEY found: using the offline model (deterministic answers built from the input, not Gemini)."
)


def gemini_name(spec: str) -> str | None:
    """Return the Gemini model name a spec asks for ("gemini-2.5-flash", "google_genai:..."), else None."""
    provider, _, name = spec.rpartition(":")
    if provider in ("google_genai", "google-genai", "gemini") or (not provider and name.startswith("gemini")):
        return name
    return None


def resolve_spec(spec: str) -> str:
    """Turn "auto" into Gemini 2.5 Flash when a key is set, else "offline"; other specs pass through."""
    if spec != AUTO:
        return spec
    return GEMINI_DEFAULT if find_api_key() else OFFLINE


@dataclass(frozen=True)
class BuiltModel:
    """A chat model and the label recorded in the run's `models` map."""

    model: BaseChatModel
    label: str


_built: dict[tuple[str, float, str | None, str | None], BuiltModel] = {}
"""(spec, temperature, key, base URL) -> the model built for it: built once per configuration and process."""


def build_model(spec: str, temperature: float = 0.0) -> BuiltModel:
    """Build the chat model a spec names (once per configuration); raise ModelSetupError when that is impossible."""
    configuration = (spec, temperature, find_api_key(), os.environ.get(BASE_URL_VARIABLE))
    if configuration not in _built:
        _built[configuration] = _build(spec, temperature)
    return _built[configuration]


def _build(spec: str, temperature: float) -> BuiltModel:
    resolved = resolve_spec(spec)
    if resolved == OFFLINE:
        if spec == AUTO:
            _announce_offline()
        return BuiltModel(_offline(), OFFLINE_LABEL)
    name = gemini_name(resolved)
    if name is not None:
        key = find_api_key()
        if not key:
            raise ModelSetupError(
                f"Model {name!r} needs a Gemini API key: set GOOGLE_API_KEY (or GEMINI_API_KEY) in the environment "
                "or a .env file (get one at https://aistudio.google.com/apikey), or choose --model offline."
            )
        return BuiltModel(_gemini(name, temperature, key, os.environ.get(BASE_URL_VARIABLE)), f"google_genai:{name}")
    return BuiltModel(_init_chat_model(resolved, temperature), resolved)


@lru_cache(maxsize=1)
def _offline() -> BaseChatModel:
    return guarded(OfflineChatModel(), in_place=True)


@lru_cache(maxsize=16)
def _gemini(name: str, temperature: float, key: str, base_url: str | None) -> BaseChatModel:
    from langchain_google_genai import ChatGoogleGenerativeAI

    # No client-side retries: the guard retries transient failures (nodes.llm.retry), honouring Retry-After and
    # the run's deadline; the client's own retries would multiply the attempts and hide the faults.
    return guarded(
        ChatGoogleGenerativeAI(
            model=name, google_api_key=key, temperature=temperature, max_retries=1, timeout=120, base_url=base_url
        ),
        in_place=True,
    )


@lru_cache(maxsize=16)
def _init_chat_model(spec: str, temperature: float) -> BaseChatModel:
    from langchain.chat_models import init_chat_model  # a dependency; imported here because it is slow to load

    try:
        model = init_chat_model(spec, temperature=temperature)
    except ImportError as missing:
        raise ModelSetupError(f"Model {spec!r} needs its provider package installed: {missing}") from missing
    except ValueError as unknown:
        raise ModelSetupError(
            f"Unknown model {spec!r}: use 'offline', 'auto', a Gemini name such as {GEMINI_DEFAULT!r}, "
            f"or 'provider:model' ({redact(str(unknown)).splitlines()[0]})"
        ) from unknown
    return guarded(model, in_place=True)


_announced = False


def _announce_offline() -> None:
    global _announced
    if not _announced:
        _announced = True
        logger.warning(OFFLINE_NOTICE)


def spec_for(context: Context, node: str) -> str:
    """Return the model spec a node runs on: its override, else the run's model."""
    return context.node_models.get(node) or context.model


def model_for(context: Context, node: str) -> BuiltModel:
    """Return the chat model a node should call under `context` (a Python model object unless overridden)."""
    if node not in context.node_models and context.chat_model is not None:
        model = context.chat_model
        label = getattr(model, "model_name", None) or f"custom:{type(model).__name__}"
        return BuiltModel(guarded(model), label)
    return build_model(spec_for(context, node), context.temperature)


async def chat_model(runtime: Runtime[Context] | None, node: str, *, temperature: float | None = None) -> BuiltModel:
    """Return the chat model for `node`: at once when it was built before, else built in a thread.

    Building may read files (.env, certificates), which must not block the event loop (`langgraph dev` refuses it);
    a model already built for this configuration is returned without a thread hop, so a hundred concurrent runs do
    not queue on the default thread pool. Raises usage.BudgetSpent instead when the run's budget is spent.
    `temperature` replaces the run's own for this model (a voting judge that samples), under the run's budget.
    """
    context = context_of(runtime)
    usage.watch(context, node)
    if temperature is not None and temperature != context.temperature:
        context = replace(context, temperature=temperature)
    built = _already_built(context, node)
    if built is not None:
        return built
    return await asyncio.to_thread(_loaded_model_for, context, node)


def _already_built(context: Context, node: str) -> BuiltModel | None:
    """Return the node's model if it needs no building (a Python model object, or one built before), else None."""
    if node not in context.node_models and context.chat_model is not None:
        return model_for(context, node)
    if not keys_loaded():
        return None
    return _built.get((spec_for(context, node), context.temperature, find_api_key(), os.environ.get(BASE_URL_VARIABLE)))


def _loaded_model_for(context: Context, node: str) -> BuiltModel:
    # The key lookup reads .env once per process; done here, off the event loop, before any reply needs redacting.
    find_api_key()
    return model_for(context, node)


def check_context(context: Context, nodes: list[str]) -> None:
    """Build every model a run will use, so setup errors (ModelSetupError) surface before the run starts.

    With a cost budget, every model must also have a known price (a budget that cannot be counted is no budget).
    """
    prices = load_prices()
    for node in nodes:
        built = model_for(context, node)
        if context.max_cost is not None and price_of(priced_name(built), prices) is None:
            raise ModelSetupError(
                f"max_cost needs the price of {built.label} (node {node}), which is not in the price table: "
                f"add it to a JSON file named by ${PRICES_VARIABLE}, such as "
                '{"MODEL": {"input": 0.3, "output": 2.5}} (dollars per million tokens)'
            )


def priced_name(built: BuiltModel) -> str:
    """Return the name a model is priced by: "offline" for the offline model, else its label."""
    return "offline" if isinstance(built.model, OfflineChatModel) else built.label
