"""Benchmark: the evaluator-optimizer's score per round, rounds used, tokens spent, and where it stops.

Run: python benchmarks/evaluator_optimizer.py. Every model call takes LATENCY seconds. The offline writer copies
every fact into its first draft, so it passes in round 1; to watch revisions, the other runs use a writer that
forgets: like the offline model, but its first draft leaves out every fact that holds a figure, and each revision
adds back at most two of the facts whose figures the feedback names (an LLM that fixes some, not all, of what it
is told). The evaluator is the offline model throughout, and the exact checks are the registry's.
"""

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.outputs import ChatResult

from graphs.evaluator_optimizer import graph
from nodes.criteria import figures
from nodes.llm import UsageMeter
from nodes.offline import OfflineChatModel
from state.context import Context
from state.evaluator_optimizer import SUPPORT_CASE_FACTS

LATENCY = 0.2
_BLOCK = re.compile(r"^---\n(.*?)\n---$", re.S | re.M)


class ForgettingWriter(OfflineChatModel):
    """The offline model as a writer that forgets: facts with figures reach an email only once feedback names them.

    A fact (a line of the facts) whose figures are all in its previous draft stays; one whose figures a feedback
    line ("- ...") names is added back, at most `remembers` per revision; the other facts with figures are left out.
    """

    remembers: int = 2

    def _answer(self, messages: list[BaseMessage], schema: dict[str, Any] | None) -> ChatResult:
        if schema is not None:
            return super()._answer(messages, schema)
        request = messages[-1].text.splitlines()
        named = {f for line in request if line.startswith("- ") for f in figures(line)}
        drafted = {f for line in request if not line.startswith("- ") for f in figures(line)}

        def forget(block: re.Match[str]) -> str:
            kept, added = [], 0
            for line in block.group(1).splitlines():
                held = set(figures(line))
                if held <= drafted:
                    kept.append(line)
                elif held & named and added < self.remembers:
                    kept.append(line)
                    added += 1
            return "---\n" + "\n".join(kept) + "\n---"

        edited = [SystemMessage(_BLOCK.sub(forget, m.text)) if m.type == "system" else m for m in messages]
        return super()._answer(edited, None)


@dataclass(frozen=True)
class Run:
    """One run of the loop."""

    name: str
    scores: list[float | None]
    tokens: list[int]
    """Tokens spent by the end of each round (cumulative)."""
    stopped: str
    passed: bool
    best_round: int
    calls: int
    seconds: float


async def timed_run(name: str, writer: OfflineChatModel, **given: Any) -> Run:
    """Run the loop on the support case's facts, noting the tokens spent by the end of each round."""
    counter = UsageMeter()
    context = Context(chat_model=writer)
    tokens: list[int] = []
    result: dict[str, Any] = {}
    started = time.perf_counter()
    stream = graph.astream(
        {"facts": SUPPORT_CASE_FACTS, **given},
        context=context,
        config={"callbacks": [counter]},
        stream_mode=["updates", "values"],
    )
    async for mode, chunk in stream:
        if mode == "updates" and "evaluate" in chunk:
            tokens.append(counter.run_total().total_tokens)
        elif mode == "values":
            result = chunk
    seconds = time.perf_counter() - started
    return Run(
        name,
        [r["score"] for r in result["rounds"]],
        tokens,
        result["stopped"],
        result["passed"],
        result["best_round"],
        counter.run_total().calls,
        seconds,
    )


async def measure(latency: float = LATENCY) -> list[Run]:
    """Run the four scenarios: the offline writer, the forgetting writer, its round limit, and an unmeetable limit."""
    return [
        await timed_run("offline writer", OfflineChatModel(latency=latency)),
        await timed_run("forgetting writer", ForgettingWriter(latency=latency)),
        await timed_run("forgetting, max_rounds=2", ForgettingWriter(latency=latency), max_rounds=2),
        await timed_run("forgetting, max_words=60", ForgettingWriter(latency=latency), max_words=60, max_rounds=5),
    ]


async def main() -> None:
    """Print each scenario's score per round, tokens, rounds used and why it stopped."""
    print(f"evaluator-optimizer on the support case's facts, {LATENCY} s per model call")
    for run in await measure():
        scores = " -> ".join("unread" if s is None else f"{s:.2f}" for s in run.scores)
        tokens = " -> ".join(str(t) for t in run.tokens)
        print(f"{run.name}:")
        print(f"  score per round: {scores}")
        print(f"  tokens by round: {tokens} (total)")
        print(
            f"  rounds used {len(run.scores)}, stopped: {run.stopped}, passed: {run.passed}, sent round "
            f"{run.best_round}; {run.calls} model calls, {run.seconds:.2f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())
