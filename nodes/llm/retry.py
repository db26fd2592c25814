"""Retrying model calls: the node retry policy, and retries inside one fan-out branch."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from langgraph.types import RetryPolicy

from nodes.llm.errors import is_transient

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
