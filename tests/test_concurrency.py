"""Concurrency: a per-run bound on model calls, a process-wide rate limit per model, models built once, and
`workflows run` working on its inputs at once."""

import asyncio
import json
import threading
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from graphs.cli.commands import main
from graphs.orchestrator import build_orchestrator
from graphs.routing import graph as routing
from nodes.backend import LocalBackend
from nodes.llm import concurrency, models
from nodes.offline import answer_text, fill_schema
from state.context import Context
from state.routing import LESSON_QUERIES
from tests.fakes import Fault, GeminiServer, HoldingModel


def invoices(first: int, count: int) -> str:
    return " ".join(f"Please check invoice INV-{first + n}." for n in range(count))


async def test_each_run_has_its_own_bound_on_model_calls() -> None:
    model = HoldingModel(hold_until=4, held=10)
    graph = build_orchestrator(backend=LocalBackend()).compile()
    context = Context(chat_model=model, max_concurrency=2)
    runs = [graph.ainvoke({"message": invoices(first, 5)}, context=context) for first in (1000, 2000)]
    results = await asyncio.gather(*runs)
    assert all(len(result["results"]) == 5 for result in results)
    assert model.peak == 4, "two runs of two slots each, not two slots for the whole process"


class CountingLimiter:
    """Stands in for the process-wide rate limiter: counts the requests it lets through."""

    def __init__(self) -> None:
        self.acquired = 0

    async def aacquire(self, blocking: bool = True) -> bool:
        self.acquired += 1
        return True

    def acquire(self, blocking: bool = True) -> bool:
        self.acquired += 1
        return True


async def test_the_rate_limit_counts_every_request_retries_included_and_is_shared_by_runs(
    gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch, fast_retries: Any
) -> None:
    limiters: dict[tuple[str, float], CountingLimiter] = {}

    def limiter(model: str, per_minute: float) -> CountingLimiter:
        return limiters.setdefault((model, per_minute), CountingLimiter())

    monkeypatch.setattr("nodes.llm.guard.rate_limiter", limiter)
    gemini.scripted = [Fault(503)]
    context = Context(requests_per_minute={"gemini-2.5-flash": 30, "*": 5}, node_models={"classify": "offline"})
    for query in ("My internet connection is not working.", "What are your opening hours?"):
        await routing.ainvoke({"query": query}, context=context)
    assert list(limiters) == [("gemini-2.5-flash", 30.0)], "one limiter per model; offline calls are not limited"
    assert limiters["gemini-2.5-flash", 30.0].acquired == len(gemini.requests) == 3


class EmptyLimiter(CountingLimiter):
    """A rate limiter whose bucket is empty: every request must wait for its turn."""

    def acquire(self, blocking: bool = True) -> bool:
        return False if not blocking else super().acquire()


async def test_a_call_the_rate_limit_holds_back_says_so_on_the_custom_stream(
    gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = EmptyLimiter()
    monkeypatch.setattr("nodes.llm.guard.rate_limiter", lambda model, per_minute: limiter)
    context = Context(requests_per_minute={"*": 10})
    stream = routing.astream({"query": "My wifi keeps dropping."}, context=context, stream_mode=["custom", "values"])
    events = [event async for event in stream]
    said = [data for mode, data in events if mode == "custom"]
    assert said and all(
        data == {"progress": "waiting for gemini-2.5-flash's requests-per-minute limit"} for data in said
    )
    assert len(said) == limiter.acquired == len(gemini.requests), "each request waited its turn, and said so once"
    assert events[-1][1]["reply"], "then it went on"


def test_the_rate_limiter_starts_full_with_ten_seconds_of_requests() -> None:
    limiter = concurrency.rate_limiter("some-model", 120)
    assert limiter is concurrency.rate_limiter("some-model", 120), "shared by every run of the process"
    assert limiter.requests_per_second == 2 and limiter.max_bucket_size == 20
    taken = sum(limiter._consume() for _ in range(25))  # noqa: SLF001 - the bucket's own accounting
    assert taken == 20, "a burst of ten seconds' worth goes through at once, the rest waits"


@pytest.mark.parametrize(
    ("limits", "model", "expected"),
    [
        ({}, "gemini-2.5-flash", None),
        ({"*": 10}, "gemini-2.5-flash", 10.0),
        ({"gemini-2.5-flash": 10, "*": 100}, "models/gemini-2.5-flash", 10.0),
        ({"gemini-2.5-flash": 10}, "gemini-2.5-flash-lite", None),
    ],
)
def test_rate_limits_are_per_model_with_a_default(limits: dict[str, float], model: str, expected: float | None) -> None:
    assert concurrency.rate_limit_of(Context(requests_per_minute=limits), model) == expected


async def test_a_model_is_built_once_and_then_handed_out_without_a_thread_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    await routing.ainvoke({"query": "I was charged twice."}, context=Context(model="offline"))
    hops: list[Any] = []
    real = asyncio.to_thread

    async def to_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(function)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(models.asyncio, "to_thread", to_thread)
    for _ in range(3):
        await routing.ainvoke({"query": "I was charged twice."}, context=Context(model="offline"))
    assert hops == []


def test_several_inputs_run_at_once_and_print_in_input_order(
    gemini: GeminiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = LESSON_QUERIES[0], LESSON_QUERIES[1]
    second_arrived = threading.Event()

    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        text = "\n".join(message.text for message in messages)
        if second in text:
            second_arrived.set()
        elif schema and first in text and not second_arrived.wait(30):
            # Run one after another, the second input cannot arrive while the first waits: route it nowhere.
            return json.dumps({"intent": "Sales", "confidence": 0.9})
        return json.dumps(fill_schema(schema, messages)) if schema else answer_text(messages)

    gemini.respond = respond
    assert main(["run", "routing", "--json", "-q"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [result["query"] for result in results] == list(LESSON_QUERIES)
    assert [result["intent"] for result in results][:2] == ["Technical Support", "Billing Inquiry"]
    assert {label for result in results for label in result["models"].values()} == {"google_genai:gemini-2.5-flash"}
