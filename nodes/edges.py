"""Conditional edges, run on the event loop: the graphs' edge functions are sync and pure, and cheap."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def on_the_loop(edge: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return the edge function `edge` as a coroutine function, for `add_conditional_edges`.

    LangGraph runs a sync path function of an async run in the event loop's thread pool (`run_in_executor`): a
    thread hop per run for a function that only reads the state, and, with many runs at once, a wait for a free
    thread. As a coroutine function it runs on the loop. `functools.wraps` keeps its name, signature and return
    annotation, from which LangGraph reads the edge's targets (a `Literal`); the function itself stays sync, so
    tests and other code call it as before.
    """

    @functools.wraps(edge)
    async def on_loop(*args: P.args, **kwargs: P.kwargs) -> R:
        return edge(*args, **kwargs)

    return on_loop
