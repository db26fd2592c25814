"""Bounding how many model calls run at the same time."""

import asyncio
import contextlib
import weakref
from contextlib import AbstractAsyncContextManager

from langgraph.runtime import Runtime

from state.context import Context, context_of

_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def call_slots(runtime: Runtime[Context] | None) -> AbstractAsyncContextManager[object]:
    """Return what a model call attempt holds while it runs: one of `max_concurrency` slots (none outside a run).

    The guard takes a slot per attempt, so a call waiting out its backoff does not keep a sibling branch from
    calling the model. Send branches of one step run as tasks on one event loop, so one semaphore per loop and
    bound is what keeps them to the bound; runs sharing a loop (a server) with the same bound share the slots.
    """
    if runtime is None:
        return contextlib.nullcontext()
    limit = max(1, context_of(runtime).max_concurrency)
    per_loop = _slots.setdefault(asyncio.get_running_loop(), {})
    if limit not in per_loop:
        per_loop[limit] = asyncio.Semaphore(limit)
    return per_loop[limit]
