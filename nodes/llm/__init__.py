"""The model layer, the only place that builds and calls chat models; nodes import it as `from nodes import llm`.

Its modules, each importing only those above it:

- `keys`: where the Gemini key comes from, and `redact()`, which keeps it out of any text.
- `errors`: which failures are transient, and one-line descriptions of failures for users.
- `retry`: the node RetryPolicy, and retries inside one fan-out branch.
- `prices`: Gemini's list prices per million tokens (dated; a file named by $WORKFLOWS_PRICES overrides them).
- `usage`: tokens and cost per node and run (a callback handler), and the budget that stops a run.
- `models`: building a chat model for a node from the run's Context (Gemini, any init_chat_model provider, offline).
- `structured`: reading structured (JSON-schema) replies.
- `concurrency`: the bound on parallel model calls of a fan-out.
"""

from nodes.llm.concurrency import fan_out_slots
from nodes.llm.errors import ModelSetupError, describe_error, is_transient
from nodes.llm.keys import BASE_URL_VARIABLE, KEY_VARIABLES, find_api_key, redact
from nodes.llm.models import (
    GEMINI_DEFAULT,
    OFFLINE_NOTICE,
    BuiltModel,
    build_model,
    chat_model,
    check_context,
    gemini_name,
    model_for,
    resolve_spec,
    spec_for,
)
from nodes.llm.prices import PRICES_DATE, PRICES_VARIABLE, Price, load_prices, price_of
from nodes.llm.retry import LLM_RETRY, call_with_retries
from nodes.llm.structured import read_structured
from nodes.llm.usage import BudgetSpent, Usage, UsageMeter, prices_note
from nodes.offline import OFFLINE_LABEL
from state.context import context_of

__all__ = [
    "BASE_URL_VARIABLE",
    "GEMINI_DEFAULT",
    "KEY_VARIABLES",
    "LLM_RETRY",
    "OFFLINE_LABEL",
    "OFFLINE_NOTICE",
    "PRICES_DATE",
    "PRICES_VARIABLE",
    "BudgetSpent",
    "Price",
    "Usage",
    "UsageMeter",
    "BuiltModel",
    "ModelSetupError",
    "build_model",
    "call_with_retries",
    "chat_model",
    "check_context",
    "context_of",
    "describe_error",
    "fan_out_slots",
    "find_api_key",
    "gemini_name",
    "is_transient",
    "load_prices",
    "price_of",
    "prices_note",
    "model_for",
    "read_structured",
    "redact",
    "resolve_spec",
    "spec_for",
]
