"""The one place that builds chat models: Gemini by default, any init_chat_model provider, or the offline model."""

import asyncio
import logging
import os
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy
from pydantic import BaseModel, ValidationError

from nodes.offline import OFFLINE_LABEL, OfflineChatModel
from nodes.text import first_line
from state.context import AUTO, OFFLINE, Context

logger = logging.getLogger("workflows")

GEMINI_DEFAULT = "gemini-2.5-flash"
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
BASE_URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
"""Read by google-genai too; lets the Gemini client talk to a Gemini-compatible server (tests use 127.0.0.1)."""
OFFLINE_NOTICE = (
    "No GOOGLE_API_KEY found: using the offline model (deterministic answers built from the input, not Gemini)."
)
_GEMINI_KEY_SHAPE = re.compile(r"AIza[0-9A-Za-z_\-]{20,}")


class ModelSetupError(ValueError):
    """A model that cannot be built as asked (missing key, unknown provider); the message says what to do."""


def find_api_key() -> str | None:
    """Return the Gemini key from the environment, a `.env` file, or Colab's secrets, in that order."""
    for name in KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    from dotenv import dotenv_values, find_dotenv

    dotenv_path = find_dotenv(usecwd=True)
    if dotenv_path:
        values = dotenv_values(dotenv_path)
        for name in KEY_VARIABLES:
            if values.get(name):
                return values[name]
    try:
        from google.colab import userdata

        secret = userdata.get("GOOGLE_API_KEY")
        return str(secret) if secret else None
    except Exception:  # noqa: BLE001 - not in Colab, or the secret is missing or not shared with this notebook
        return None


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


def build_model(spec: str, temperature: float = 0.0) -> BuiltModel:
    """Build the chat model a spec names; raise ModelSetupError with advice when that is impossible."""
    resolved = resolve_spec(spec)
    if resolved == OFFLINE:
        if spec == AUTO:
            _announce_offline()
        return BuiltModel(OfflineChatModel(), OFFLINE_LABEL)
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


@lru_cache(maxsize=16)
def _gemini(name: str, temperature: float, key: str, base_url: str | None) -> BaseChatModel:
    from langchain_google_genai import ChatGoogleGenerativeAI

    # No client-side retries: the graph's RetryPolicy retries transient failures with backoff, and an
    # unreachable network must end in seconds, not after the client's default half-minute of retries.
    return ChatGoogleGenerativeAI(
        model=name, google_api_key=key, temperature=temperature, max_retries=1, timeout=120, base_url=base_url
    )


@lru_cache(maxsize=16)
def _init_chat_model(spec: str, temperature: float) -> BaseChatModel:
    from langchain.chat_models import init_chat_model  # a dependency; imported here because it is slow to load

    try:
        return init_chat_model(spec, temperature=temperature)
    except ImportError as missing:
        raise ModelSetupError(f"Model {spec!r} needs its provider package installed: {missing}") from missing
    except ValueError as unknown:
        raise ModelSetupError(
            f"Unknown model {spec!r}: use 'offline', 'auto', a Gemini name such as {GEMINI_DEFAULT!r}, "
            f"or 'provider:model' ({redact(str(unknown)).splitlines()[0]})"
        ) from unknown


_announced = False


def _announce_offline() -> None:
    global _announced
    if not _announced:
        _announced = True
        logger.warning(OFFLINE_NOTICE)


def context_of(runtime: Runtime[Context] | None) -> Context:
    """Return the run's context; `ainvoke()` without `context=` gives None, Studio may give a dict."""
    context = runtime.context if runtime is not None else None
    if isinstance(context, dict):
        return Context(**context)
    return context or Context()


def spec_for(context: Context, node: str) -> str:
    """Return the model spec a node runs on: its override, else the run's model."""
    return context.node_models.get(node) or context.model


def model_for(context: Context, node: str) -> BuiltModel:
    """Return the chat model a node should call under `context` (a Python model object unless overridden)."""
    if node not in context.node_models and context.chat_model is not None:
        model = context.chat_model
        return BuiltModel(model, getattr(model, "model_name", None) or f"custom:{type(model).__name__}")
    return build_model(spec_for(context, node), context.temperature)


async def chat_model(runtime: Runtime[Context] | None, node: str) -> BuiltModel:
    """Return the chat model for `node`; built in a thread, as building may read files (.env, certificates)."""
    return await asyncio.to_thread(model_for, context_of(runtime), node)


_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def fan_out_slots(runtime: Runtime[Context] | None) -> asyncio.Semaphore:
    """Return the semaphore that bounds parallel branches to the context's `max_concurrency`.

    Send branches of one step run as tasks on one event loop, so a semaphore per loop and bound is what
    keeps them to the bound: pass it as `call_with_retries(..., slots=...)`, which holds a slot per attempt.
    Runs sharing a loop (a server) with the same bound share the slots, which also shields a provider's
    rate limit. LangGraph's own `max_concurrency` run config bounds every node, not just the fan-out.
    """
    limit = max(1, context_of(runtime).max_concurrency)
    per_loop = _slots.setdefault(asyncio.get_running_loop(), {})
    if limit not in per_loop:
        per_loop[limit] = asyncio.Semaphore(limit)
    return per_loop[limit]


ModelT = TypeVar("ModelT", bound=BaseModel)


@overload
def read_structured(answer: Mapping[str, Any]) -> tuple[Any | None, str]: ...
@overload
def read_structured(answer: Mapping[str, Any], schema: type[ModelT]) -> tuple[ModelT | None, str]: ...
def read_structured(answer: Mapping[str, Any], schema: type[BaseModel] | None = None) -> tuple[Any | None, str]:
    """Read an `include_raw=True` structured reply: its parsed value, or None and what was wrong with it.

    With `schema`, the value is validated into it. The problem is one line for the run's notes, ending in a
    short excerpt of the raw reply so a reader can see what the model actually said.
    """
    error: object = answer.get("parsing_error")
    parsed = answer.get("parsed")
    if error is None and parsed is None:
        error = "no JSON object"
    if error is None:
        if schema is None:
            return parsed, ""
        try:
            return schema.model_validate(parsed), ""
        except ValidationError as invalid:
            error = invalid
    raw = getattr(answer.get("raw"), "text", "")[:120]
    return None, f"{first_line(error)}; raw: {raw!r}"


def check_context(context: Context, nodes: list[str]) -> None:
    """Build every model a run will use, so setup errors (ModelSetupError) surface before the run starts."""
    for node in nodes:
        model_for(context, node)


def is_transient(error: BaseException) -> bool:
    """Tell whether retrying a failed model call may help (network, rate limit, server), for RetryPolicy."""
    if isinstance(error, ValueError):  # includes OutputParserException and ModelSetupError
        return False
    retryable = getattr(error, "is_retryable", None)
    if isinstance(retryable, bool):
        return retryable
    code = getattr(error, "code", None) or getattr(error, "status_code", None)
    if isinstance(code, int):
        return code == 429 or code >= 500
    name = type(error).__name__
    return isinstance(error, (ConnectionError, TimeoutError)) or any(
        word in name for word in ("Connect", "Timeout", "Transport", "Network", "RateLimit", "Unavailable")
    )


LLM_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.5, retry_on=is_transient)
"""Retry policy for nodes that call a model: three attempts, only for failures that may pass."""

T = TypeVar("T")


def _retries(policy: RetryPolicy, error: Exception) -> bool:
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(error, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(error, tuple(retry_on))
    return bool(retry_on(error))


async def call_with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy = LLM_RETRY, slots: asyncio.Semaphore | None = None
) -> tuple[T, int]:
    """Await `call`, retrying what `policy` retries with its backoff; return the result and the attempts made.

    For one branch of a fan-out: a node RetryPolicy fails the whole run after its last attempt, while a
    branch that keeps failing should fail only itself. The last error is raised for the branch to report.
    With `slots` (see fan_out_slots), each attempt holds a slot only while it runs: a branch waiting out its
    backoff must not keep a sibling from calling the model.
    """
    interval = policy.initial_interval
    for attempt in range(1, policy.max_attempts + 1):
        try:
            if slots is None:
                return await call(), attempt
            async with slots:
                return await call(), attempt
        except Exception as error:
            if attempt >= policy.max_attempts or not _retries(policy, error):
                raise
            await asyncio.sleep(min(interval, policy.max_interval))
            interval *= policy.backoff_factor
    raise AssertionError("unreachable: the loop returns or raises")


def redact(text: str) -> str:
    """Remove API keys (ours, wherever they were found, and anything shaped like a Google key) from `text`."""
    for secret in {*(os.environ.get(name) for name in KEY_VARIABLES), find_api_key()}:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _GEMINI_KEY_SHAPE.sub("***", text)


def describe_error(error: BaseException) -> str:
    """Explain a failed run in one line a user can act on; never includes a key."""
    if isinstance(error, ModelSetupError):
        return redact(str(error))
    message = " ".join(str(error).split()) or type(error).__name__
    lowered = message.lower()
    name = type(error).__name__
    if "api key" in lowered or "api_key" in lowered or name.endswith(("AuthenticationError", "PermissionDeniedError")):
        return redact(
            f"The model provider rejected the API key ({message[:200]}). "
            "Check GOOGLE_API_KEY, or run with --model offline."
        )
    if is_transient(error) and not isinstance(getattr(error, "code", None), int):
        return redact(
            f"Could not reach the model provider ({name}: {message[:200]}). "
            "Check the network connection, or run with --model offline."
        )
    failed = "The model call failed" if _from_a_model_client(error) else "The run failed"
    return redact(f"{failed} ({name}: {message[:300]}).")


def _from_a_model_client(error: BaseException) -> bool:
    package = type(error).__module__.split(".")[0]
    return package in {"langchain_google_genai", "google", "httpx", "httpcore", "openai", "anthropic"} or (
        getattr(error, "is_retryable", None) is not None
    )
