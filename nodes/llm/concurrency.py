"""How many model calls run at once, and how many a provider gets per minute.

Two different limits, kept apart:

- `call_slots` bounds the calls of one run (one invocation of a graph: its nodes and all its Send branches) to
  `Context.max_concurrency`. It is per run, so concurrent runs in one process (a server) do not queue behind
  each other's branches.
- `rate_limiter` paces the requests to one model across the whole process, all runs and branches together, to
  `Context.requests_per_minute`: what a provider's quota counts. It is a token bucket (langchain-core's
  InMemoryRateLimiter), started full, so a run does not wait for its first request.

Both are taken per attempt by the guard, so a call waiting out a retry's backoff holds neither.
"""

import asyncio
import contextlib
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager

from langchain_core.rate_limiters import InMemoryRateLimiter
from langgraph.runtime import Runtime

from state.context import Context, context_of

_MAX_RUNS_REMEMBERED = 4096
_run_slots: "OrderedDict[int, tuple[object, asyncio.Semaphore]]" = OrderedDict()


def call_slots(runtime: Runtime[Context] | None) -> AbstractAsyncContextManager[object]:
    """Return what a model call attempt holds while it runs: one of its run's `max_concurrency` slots.

    LangGraph gives every invocation (a run, a resume) its own `runtime.control` object, shared by all the
    invocation's nodes and Send branches: the slots are kept per control object. Outside a run there is no bound.
    """
    control = getattr(runtime, "control", None)
    if runtime is None or control is None:
        return contextlib.nullcontext()
    entry = _run_slots.get(id(control))
    if entry is None or entry[0] is not control:
        entry = (control, asyncio.Semaphore(max(1, context_of(runtime).max_concurrency)))
        _run_slots[id(control)] = entry
        while len(_run_slots) > _MAX_RUNS_REMEMBERED:  # a run older than thousands of others is long over
            _run_slots.popitem(last=False)
    return entry[1]


ANY_MODEL = "*"
"""The `requests_per_minute` key that applies to every model without an entry of its own."""
_limiters: dict[tuple[str, float], InMemoryRateLimiter] = {}


def rate_limit_of(context: Context, model: str) -> float | None:
    """Return the requests per minute `context` allows `model` ("gemini-2.5-flash"), or None for no limit."""
    limits = context.requests_per_minute
    name = model.rpartition("/")[2]  # "models/gemini-2.5-flash" is "gemini-2.5-flash"
    limit = limits.get(name, limits.get(model, limits.get(ANY_MODEL)))
    return float(limit) if limit else None


def rate_limiter(model: str, per_minute: float) -> InMemoryRateLimiter:
    """Return the process-wide limiter of `model` at `per_minute` requests, shared by every run and branch.

    The bucket holds up to ten seconds' worth of requests (at least one) and starts full.
    """
    key = (model, per_minute)
    if key not in _limiters:
        per_second = per_minute / 60
        limiter = InMemoryRateLimiter(
            requests_per_second=per_second,
            check_every_n_seconds=min(0.1, 0.5 / per_second),
            max_bucket_size=max(1.0, per_second * 10),
        )
        limiter.available_tokens = limiter.max_bucket_size
        _limiters[key] = limiter
    return _limiters[key]
