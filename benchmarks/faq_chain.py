"""Benchmark: the FAQ chain's model calls and wall time with a model that takes 0.5 s per call.

Run: python benchmarks/faq_chain.py [N]. The lesson runs its 2N per-question calls one after another; the chain
runs the questions concurrently, so its wall time should be about three calls (questions, then answer and
sources in each branch), not 1 + 2N.
"""

import asyncio
import sys
import time

from graphs.faq_chain import graph
from nodes.llm import UsageMeter
from nodes.offline import OfflineChatModel
from state.context import Context

LATENCY = 0.5


async def main(questions: int) -> None:
    """Run the chain once on the lesson's pages and print calls, wall time and the sequential estimate."""
    counter = UsageMeter()
    context = Context(chat_model=OfflineChatModel(latency=LATENCY), max_concurrency=questions)
    started = time.perf_counter()
    result = await graph.ainvoke({"num_questions": questions}, context=context, config={"callbacks": [counter]})
    seconds = time.perf_counter() - started
    calls = counter.run_total().calls
    sequential = calls * LATENCY
    print(f"N = {questions} questions, {LATENCY} s per model call, max_concurrency = {questions}")
    print(f"model calls:     {calls} (expected 1 + 2N = {1 + 2 * questions})")
    print(f"FAQ items:       {len(result['faqs'])}, failed: {len(result['failed'])}")
    print(f"wall time:       {seconds:.2f} s = {seconds / LATENCY:.1f} calls' time")
    print(f"sequential:      {calls} x {LATENCY} s = {sequential:.1f} s")
    print(f"speed-up:        {sequential / seconds:.1f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
