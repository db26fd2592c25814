"""The model layer, the only place that builds and calls chat models; nodes import it as `from nodes import llm`.

Its modules, each importing only those above it:

- `keys`: where the Gemini key comes from, and redaction, which keeps it out of any text.
- `errors`: classifying failed calls (transient or not, and what to check) and describing them in one line.
- `retry`: the one retry layer (backoff with jitter, Retry-After, the run's deadline).
- `concurrency`: the bound on model calls that run at the same time.
- `guard`: wraps every chat model so its calls are retried, bounded and redacted.
- `prices`: Gemini's list prices per million tokens (dated; a file named by $WORKFLOWS_PRICES overrides them).
- `usage`: tokens and cost per node and run (a callback handler), and the budget that stops a run.
- `models`: building a chat model for a node from the run's Context (Gemini, any init_chat_model provider, offline).
- `replies`: asking for structured output or text, and asking again once when the reply is unusable; JSON
  schemas of pydantic models, built once.
"""

from nodes.llm.errors import DeadlineExceeded, ModelCallError, ModelSetupError, classify, describe_error, is_transient
from nodes.llm.keys import BASE_URL_VARIABLE, KEY_VARIABLES, find_api_key, redact, redact_value
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
from nodes.llm.replies import (
    Structured,
    Text,
    ask_structured,
    ask_structured_once,
    ask_text,
    finish_problem,
    json_options,
    json_schema,
    read_structured,
)
from nodes.llm.retry import deadline_of, retrying
from nodes.llm.usage import BudgetSpent, Usage, UsageMeter, prices_note
from nodes.offline import OFFLINE_LABEL
from state.context import context_of

__all__ = [
    "BASE_URL_VARIABLE",
    "GEMINI_DEFAULT",
    "KEY_VARIABLES",
    "OFFLINE_LABEL",
    "OFFLINE_NOTICE",
    "PRICES_DATE",
    "PRICES_VARIABLE",
    "BudgetSpent",
    "Price",
    "Usage",
    "UsageMeter",
    "BuiltModel",
    "DeadlineExceeded",
    "ModelCallError",
    "ModelSetupError",
    "Structured",
    "Text",
    "ask_structured",
    "ask_structured_once",
    "ask_text",
    "build_model",
    "chat_model",
    "check_context",
    "classify",
    "context_of",
    "deadline_of",
    "describe_error",
    "find_api_key",
    "finish_problem",
    "gemini_name",
    "is_transient",
    "json_options",
    "json_schema",
    "load_prices",
    "price_of",
    "prices_note",
    "model_for",
    "read_structured",
    "redact",
    "redact_value",
    "resolve_spec",
    "retrying",
    "spec_for",
]
