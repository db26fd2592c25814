"""The one retry layer: every model call is retried here, and nowhere else.

Transient faults (rate limit, server error, network, timeout, a garbled reply) are tried again up to
`RetrySettings.attempts` times in all, waiting with exponential backoff and full jitter (so parallel branches that
failed together do not retry together), or as long as the server's Retry-After asks, capped. Nothing is retried past
the run's deadline (Context.timeout). Permanent faults (a rejected key, an unknown model) fail at once.
"""

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from langgraph.runtime import Runtime
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from nodes.llm.errors import DeadlineExceeded, retry_after
from state.context import Context, context_of

T = TypeVar("T")


@dataclass(frozen=True)
class RetrySettings:
    """How model calls are retried."""

    attempts: int = 5
    """Tries in all, the first one included: at a 50% fault rate a call still succeeds 97% of the time."""
    initial: float = 0.5
    """Upper bound of the first wait, in seconds; each later bound doubles (full jitter: a wait is random below)."""
    maximum: float = 8.0
    """Upper bound of any backoff wait."""
    retry_after_cap: float = 30.0
    """Longest Retry-After honoured; a server asking for more gets this."""


RETRY = RetrySettings()


def backoff(settings: RetrySettings, attempt: int, error: BaseException | None) -> float:
    """Return how long to wait after failed `attempt` (1-based): the server's Retry-After, else jittered backoff."""
    asked = retry_after(error) if error is not None else None
    if asked is not None:
        # A little jitter on top, so branches told the same Retry-After do not all come back at the same instant.
        return min(settings.retry_after_cap, asked) + random.uniform(0, min(1.0, settings.initial))
    return random.uniform(0, min(settings.maximum, settings.initial * 2 ** (attempt - 1)))


class Deadline:
    """When the current run must end (monotonic clock), or None for no limit."""

    def __init__(self, seconds: float | None, at: float | None) -> None:
        """Keep the limit in seconds (for messages) and the instant it passes."""
        self.seconds = seconds
        self.at = at

    def remaining(self) -> float | None:
        """Seconds left, None without a limit; raises DeadlineExceeded once none are left."""
        if self.at is None or self.seconds is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(self.seconds)
        return left


NO_DEADLINE = Deadline(None, None)
_deadlines: "OrderedDict[int, tuple[object, Deadline]]" = OrderedDict()
_MAX_RUNS_REMEMBERED = 4096


def deadline_of(runtime: Runtime[Context] | None) -> Deadline:
    """Return the deadline of the run `runtime` belongs to: Context.timeout from the run's first model call.

    LangGraph gives every invocation (a run, a resume) its own `runtime.control` object, shared by all the
    invocation's nodes and Send branches: the deadline is kept per control object, so each invocation gets
    the whole timeout. Runs are remembered in a bounded table (a run older than 4096 others is long over).
    """
    if runtime is None:
        return NO_DEADLINE
    seconds = context_of(runtime).timeout
    control = getattr(runtime, "control", None)
    if seconds is None or control is None:
        return NO_DEADLINE
    entry = _deadlines.get(id(control))
    if entry is None or entry[0] is not control:
        entry = (control, Deadline(seconds, time.monotonic() + seconds))
        _deadlines[id(control)] = entry
        while len(_deadlines) > _MAX_RUNS_REMEMBERED:
            _deadlines.popitem(last=False)
    return entry[1]


def current_runtime() -> Runtime[Context] | None:
    """Return the runtime of the LangGraph node being run, or None outside a graph run."""
    from langgraph.runtime import get_runtime

    try:
        return get_runtime(Context)
    except RuntimeError:  # not inside a LangGraph run
        return None


def next_wait(attempt: int, error: BaseException | None, settings: RetrySettings, deadline: Deadline) -> float | None:
    """Return the seconds to wait after try `attempt` failed with `error`, or None after the last try.

    Raises DeadlineExceeded when the wait would end past `deadline`. tenacity (8.3 on) asks for the wait before it
    checks `stop`: after the last try, a retry announced or a deadline raised in place of the real error would
    both be untrue. `retrying`, the sync model calls and the streamed ones all wait this way.
    """
    if attempt >= max(1, settings.attempts):
        return None
    seconds = backoff(settings, attempt, error)
    left = deadline.remaining()
    if left is not None and seconds >= left:
        raise DeadlineExceeded(deadline.seconds or 0.0) from error
    return seconds


OnRetry = Callable[[int, BaseException, float], None]
"""Told (attempt that failed, its error, seconds to wait) before each retry."""


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    transient: Callable[[BaseException], bool],
    deadline: Deadline = NO_DEADLINE,
    settings: RetrySettings | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """Await `call`, retrying the failures `transient` accepts; raise the last error when out of tries or time.

    Each attempt is bounded by the time left before `deadline`; a wait that would end past it is not begun.
    `settings` default to RETRY, read at each call (tests shorten the waits by replacing it).
    """
    settings = settings or RETRY

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        seconds = next_wait(state.attempt_number, error, settings, deadline)
        if seconds is None:
            return 0.0
        if on_retry is not None and error is not None:
            on_retry(state.attempt_number, error, seconds)
        return seconds

    async def attempt() -> T:
        left = deadline.remaining()
        if left is None:
            return await call()
        try:
            return await asyncio.wait_for(call(), timeout=left)
        except TimeoutError:
            if deadline.at is not None and time.monotonic() >= deadline.at:
                raise DeadlineExceeded(deadline.seconds or 0.0) from None
            raise

    retryer: AsyncRetrying = AsyncRetrying(
        # asyncio.sleep looked up at each wait (older tenacity binds it at import), so tests can stand in for it.
        sleep=lambda seconds: asyncio.sleep(seconds),
        stop=stop_after_attempt(max(1, settings.attempts)),
        wait=wait,
        retry=retry_if_exception(lambda error: not isinstance(error, DeadlineExceeded) and transient(error)),
        reraise=True,
    )
    result: T = await retryer(attempt)
    return result
