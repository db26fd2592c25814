"""Benchmark: sectioning's wall time is about its longest branch, not the sum of its branches.

Run: python benchmarks/sectioning.py. Every model call takes LATENCY seconds (OfflineChatModel(latency=...)). The
graph runs the draft and N screens side by side, so with the concurrency bound at or above the branch count a
run should take about one call's time whatever N is, while one call after another would take N + 1 calls. A last
run makes the draft slower than the screens (a long reply against short JSON verdicts): the run then takes the
draft's time, not the sum.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.outputs import ChatResult

from graphs.sectioning import build_sectioning
from nodes.llm import UsageMeter
from nodes.offline import OfflineChatModel
from nodes.screens import SCREENS, Screen
from state.context import Context
from state.sectioning import SECTIONING_QUERIES

LATENCY = 0.5
DRAFT_LATENCY = 1.5
QUERY = SECTIONING_QUERIES[0]


class SlowTextModel(OfflineChatModel):
    """The offline model, with free-text replies (the draft) taking `text_latency` and JSON verdicts `latency`."""

    text_latency: float = DRAFT_LATENCY

    def call_seconds(self, result: ChatResult, schema: dict[str, Any] | None) -> float:
        """Take `latency` for a JSON verdict and `text_latency` for prose."""
        return self.latency if schema is not None else self.text_latency


@dataclass(frozen=True)
class Timing:
    """One timed run."""

    screens: int
    max_concurrency: int
    calls: int
    seconds: float

    @property
    def sequential(self) -> float:
        """What the same calls would take one after another."""
        return self.calls * LATENCY


def screens_of(count: int) -> dict[str, Screen]:
    """Return `count` screens: the registry's, repeated under new keys when more are asked for."""
    registered = list(SCREENS.items())
    picked = [registered[n % len(registered)] for n in range(count)]
    return {f"{key}_{n}": screen for n, (key, screen) in enumerate(picked)}


async def timed_run(screens: int, max_concurrency: int, model: OfflineChatModel | None = None) -> Timing:
    """Run the graph once with `screens` screens on `model` (by default LATENCY seconds per call)."""
    graph = build_sectioning(screens_of(screens)).compile()
    counter = UsageMeter()
    chat = model or OfflineChatModel(latency=LATENCY)
    context = Context(chat_model=chat, max_concurrency=max_concurrency)
    started = time.perf_counter()
    await graph.ainvoke({"query": QUERY}, context=context, config={"callbacks": [counter]})
    return Timing(screens, max_concurrency, counter.run_total().calls, time.perf_counter() - started)


async def measure(screen_counts: tuple[int, ...] = (1, 4, 8, 16)) -> list[Timing]:
    """Time the graph at each screen count with the bound at the branch count, then the registry at the default."""
    timings = [await timed_run(count, count + 1) for count in screen_counts]
    timings.append(await timed_run(16, Context().max_concurrency))
    return timings


async def uneven() -> Timing:
    """Time the registry's screens (LATENCY each) beside a draft that takes DRAFT_LATENCY."""
    return await timed_run(len(SCREENS), len(SCREENS) + 1, SlowTextModel(latency=LATENCY))


async def main() -> None:
    """Print wall time against the one-after-another sum for growing numbers of branches, then uneven branches."""
    print(f"sectioning: the draft and N screens side by side, {LATENCY} s per model call")
    print("screens  branches  max_concurrency  calls  wall time          one after another")
    for timing in await measure():
        print(
            f"{timing.screens:>7}  {timing.screens + 1:>8}  {timing.max_concurrency:>15}  {timing.calls:>5}  "
            f"{timing.seconds:5.2f} s = {timing.seconds / LATENCY:3.1f} calls  {timing.sequential:5.1f} s"
        )
    slow = await uneven()
    total = DRAFT_LATENCY + len(SCREENS) * LATENCY
    print(
        f"draft {DRAFT_LATENCY} s beside {len(SCREENS)} screens of {LATENCY} s: wall {slow.seconds:.2f} s "
        f"(longest branch {DRAFT_LATENCY} s; one after another {total:.1f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
