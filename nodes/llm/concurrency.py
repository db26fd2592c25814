"""Bounding how many model calls the branches of a fan-out make at once."""

import asyncio
import weakref

from langgraph.runtime import Runtime

from state.context import Context, context_of

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
