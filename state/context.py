"""Per-run settings: the context schema that Studio shows as the run's configuration."""

import functools
from dataclasses import dataclass, field, fields
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime
from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from pydantic.json_schema import SkipJsonSchema

AUTO = "auto"
OFFLINE = "offline"


# Studio's context form is built from this schema; attribute docstrings become each field's help text.
@with_config(ConfigDict(use_attribute_docstrings=True))
@dataclass(kw_only=True)
class Context:
    """Per-run settings; nodes read them and never mutate them."""

    model: str = AUTO
    """"auto" (Gemini 2.5 Flash when a key is set, else "offline"), "offline", a Gemini model name,
    or any "provider:model" string that LangChain's init_chat_model accepts."""
    node_models: dict[str, str] = field(default_factory=dict)
    """Per-node overrides, e.g. {"classify": "gemini-2.5-flash-lite"}: a cheaper model for an easy step."""
    temperature: float = 0.0
    """Sampling temperature for every model built from a name."""
    min_confidence: float = 0.5
    """Classifier verdicts below this confidence go to the fallback handler."""
    max_concurrency: int = 16
    """Most model calls one run makes at the same time (its fan-out branches: orchestrator workers, FAQ chain
    answers, screens, judges). Per run: concurrent runs do not share it. Enough for a run of ten parallel
    branches to reach its floor; a provider's quota is `requests_per_minute`'s job."""
    requests_per_minute: dict[str, float] = field(default_factory=dict)
    """Requests per minute each model may get, shared by every run and branch of the process, e.g.
    {"gemini-2.5-flash": 10} for Gemini's free tier; the key "*" covers models without an entry. Empty: no limit."""
    timeout: float | None = None
    """Seconds a run may take, counted from its first model call; model calls past it fail (and are not retried),
    and the graph ends as its fallbacks allow. None: no limit. Each resume of a thread gets the whole time again."""
    max_input_chars: int = 50_000
    """Longest input a run accepts (a query, a message, a text, all documents together), in characters; longer
    input is refused before any model call, with an error naming the field."""
    max_tasks: int = 20
    """Most tasks the orchestrator works on from one message; the email asks for the rest to be sent separately."""
    max_tokens: int | None = None
    """Token budget of the run (input plus output, thinking included): once it is spent, the run stops before its
    next model call. None: no limit. Calls already under way finish, so a run can end a little over it."""
    max_cost: float | None = None
    """Cost budget of the run in US dollars, priced from Gemini's list prices: once it is spent, the run stops
    before its next model call. None: no limit."""
    chat_model: SkipJsonSchema[BaseChatModel | None] = None
    """A chat model object from Python; overrides `model` (node_models still win). Hidden from Studio."""


def context_of(runtime: Runtime[Context] | None) -> Context:
    """Return the run's context; `ainvoke()` without `context=` gives None, Studio may give a dict."""
    context = runtime.context if runtime is not None else None
    if isinstance(context, dict):
        return context_from(context)
    if context is not None and _unchecked(context):
        # LangGraph makes the Context from Studio's or the SDK's dict without checking it: a form's "4" arrives as is.
        # Corrected in place, not copied: every node of the run holds this object, and the run's budget meter is
        # kept per object (nodes.llm.usage.meter_for), so a copy per call would start each node's count at zero.
        checked = context_from(vars(context))
        for setting in fields(Context):
            setattr(context, setting.name, getattr(checked, setting.name))
    return context or Context()


def _unchecked(context: Context) -> bool:
    """Tell whether a setting holds a value of another kind than its default ("4" where 16 is the default)."""
    defaults = _defaults()
    for setting in fields(Context):
        value, default = getattr(context, setting.name), getattr(defaults, setting.name)
        if isinstance(value, str) if default is None else not isinstance(value, type(default)):
            return True
    return False


@functools.cache
def _defaults() -> Context:
    return Context()


def context_from(values: dict[str, Any]) -> Context:
    """Return the Context a dict of settings makes (Studio's form, the SDK, `context={...}`), checked field by field.

    A dict is not checked by its type the way a `Context(...)` call is by mypy: a "4" from a form is read as 4,
    and a value that is no setting's kind is refused with one line naming the setting, not a TypeError later
    in whichever node first compares it. Raises ValueError.
    """
    unknown = sorted(set(values) - {setting.name for setting in fields(Context)})
    if unknown:
        known = ", ".join(setting.name for setting in fields(Context) if setting.name != "chat_model")
        raise ValueError(f"context: no setting {unknown[0]!r} (the settings: {known})")
    try:
        return _settings().validate_python(values)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(f"context {where}: {problem['msg'].lower()} (got {problem.get('input')!r})") from None


@functools.cache
def _settings() -> TypeAdapter[Context]:
    # Built on first use: the schema takes a tenth of a second to build, and most runs pass a Context, not a dict.
    return TypeAdapter(Context)
