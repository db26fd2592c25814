"""Benchmark: the offline planner's time grows about linearly with a message's length, even on adversarial text.

Run: python benchmarks/offline_long_messages.py. Each shape repeats one piece (a comma, "please", "so") N times
inside an ordinary request, the kind of run that makes a regex anchored at the end, or one with nested
repetition, try every start again: such a regex costs time quadratic in N (a 14 kB run of " ," once took 10 s).
The table gives the plan node's seconds per shape at N = 750, 1,500, 3,000 and 6,000 repetitions, and the ratio
of the last to the first: linear work shows about 8, quadratic about 64.
"""

import asyncio
import time

from langgraph.runtime import Runtime

from graphs.cli.evaluate import planned_tasks
from nodes.orchestrator import make_plan
from nodes.workers import WORKERS
from state.context import Context

SIZES = (750, 1_500, 3_000, 6_000)
"""Repetitions; the longest message stays under Context.max_input_chars (50,000)."""
SHAPES = {
    "commas": lambda n: "Please cancel order A-12345" + ", " * n + "no need to call me",
    "spaced commas": lambda n: "I want to return the kettle it leaks" + " ," * n + " x please send a label",
    "please": lambda n: "Please cancel my plan " + "please " * n + "thanks no need to call me",
    "so": lambda n: "Please cancel my plan " + "so " * n + "no need to call me",
    "we": lambda n: "I want to return the kettle it leaks " + "we " * n + "x please send a label",
    "because": lambda n: "I want to return the kettle because " + "so " * n + "x please send a label",
    "and": lambda n: "I want to return the kettle " + "and " * n + "please",
    "ids": lambda n: "Where are orders " + ", ".join(f"A-{10000 + i}" for i in range(n // 10)) + "?",
    "spaces": lambda n: "Where is order A-12345? Thanks" + " " * (5 * n) + "1",
    "blank lines": lambda n: "Where is order A-12345?" + "\n \t" * n + "1. return the lamp\n2. thanks",
}


async def plan_seconds(message: str) -> float:
    """Plan one message offline and return the plan node's wall time."""
    node = make_plan(WORKERS)
    started = time.perf_counter()
    update = await node({"message": message}, runtime=Runtime(context=Context(model="offline")))
    seconds = time.perf_counter() - started
    planned_tasks(update)  # the plan is read as the eval reads it, so a malformed one would fail here
    return seconds


async def main() -> None:
    """Print one row per shape: the seconds at each size and the growth from the smallest to the largest."""
    await plan_seconds("Where is order A-12345?")  # warm up: imports, schemas, the vocabulary's caches
    print(f"{'shape':<14}" + "".join(f"{f'N={n:,}':>11}" for n in SIZES) + f"{'x (8x the text)':>17}")
    for name, make in SHAPES.items():
        seconds = [await plan_seconds(make(n)) for n in SIZES]
        cells = "".join(f"{s:>10.3f}s" for s in seconds)
        print(f"{name:<14}{cells}{seconds[-1] / max(seconds[0], 1e-9):>16.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
