"""Time a 10-task plan on a model that takes 0.5 s per call: the workers' fan-out should cost about one call.

With the project installed (`pip install -e .`): `python benchmarks/orchestrator_fanout.py`. A plan of 10 billing
tasks makes 12 model calls (plan, one per billing worker, synthesis); one after another they would take
12 x 0.5 s = 6 s. The default Context.max_concurrency of 5 runs the ten workers in two waves; the run with
max_concurrency=10 shows the single wave.
"""

import asyncio
import time

from graphs.orchestrator import build_orchestrator
from nodes.backend import LocalBackend
from nodes.offline import OfflineChatModel
from state.context import Context

LATENCY = 0.5
TASKS = 10
MESSAGE = " ".join(f"Please check invoice INV-{1000 + n}, the amount looks wrong." for n in range(TASKS))


async def timed_run(max_concurrency: int) -> tuple[float, int]:
    """Run the plan once on a fresh backend; return the wall time and the number of results."""
    graph = build_orchestrator(backend=LocalBackend()).compile()
    context = Context(chat_model=OfflineChatModel(latency=LATENCY), max_concurrency=max_concurrency)
    start = time.perf_counter()
    result = await graph.ainvoke({"message": MESSAGE}, context=context)
    return time.perf_counter() - start, len(result["results"])


async def main() -> None:
    """Print the wall time at two concurrency bounds next to the sequential figure."""
    calls = TASKS + 2
    print(f"{TASKS} billing tasks, {calls} model calls at {LATENCY} s each")
    print(f"sequential (the lesson's loop): {calls * LATENCY:.2f} s = {calls} calls")
    for max_concurrency in (TASKS, Context().max_concurrency):
        waves = -(-TASKS // max_concurrency)
        seconds, results = await timed_run(max_concurrency)
        print(
            f"max_concurrency={max_concurrency:<2}: {seconds:.2f} s = {seconds / LATENCY:.1f} calls' time "
            f"(expected {2 + waves}: plan, {waves} wave(s) of workers, synthesis); {results} results"
        )


if __name__ == "__main__":
    asyncio.run(main())
