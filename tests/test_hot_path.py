"""The model-call hot path: structured output without the include_raw chain, schemas built once, no thread hops."""

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableLambda, RunnableSequence
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel, Field

from graphs.catalog import WORKFLOWS
from nodes import llm
from nodes.criteria import CRITERIA, Brief
from nodes.documents import lesson_documents
from nodes.evaluator_optimizer import evaluation_schema, evaluation_type
from nodes.faq import questions_schema, single_call_schema, sources_schema
from nodes.intents import INTENTS
from nodes.llm import replies
from nodes.llm.guard import guarded
from nodes.offline import OfflineChatModel
from nodes.routing import classification_schema
from state.context import Context
from state.evaluator_optimizer import DEFAULT_MAX_WORDS
from state.faq import DEFAULT_QUESTIONS
from state.orchestrator import BillingInquiry
from state.voting import SupportScore
from tests.fakes import GeminiServer, ScriptedChatModel


class Ticket(BaseModel):
    order_id: str = Field(pattern=r"^[A-Z]-\d{5}$", description="The order number, e.g. A-12345.")


def gemini_model() -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(model="gemini-2.5-flash", google_api_key="test-key-not-secret", max_retries=1)


MODELS: dict[str, Callable[[], BaseChatModel]] = {
    "offline": OfflineChatModel,
    "offline, guarded": lambda: guarded(OfflineChatModel()),
    "gemini": gemini_model,
    "gemini, guarded": lambda: guarded(gemini_model()),
}
SCHEMAS: dict[str, Any] = {"classification": classification_schema(INTENTS), "pydantic": Ticket}


def bound_options(model: BaseChatModel, schema: Any) -> dict[str, Any]:
    """Return the call options the provider's own with_structured_output(include_raw=True) binds to the model."""
    chain = model.with_structured_output(schema, include_raw=True)
    assert isinstance(chain, RunnableSequence)
    raw = chain.first.steps__["raw"]  # type: ignore[attr-defined]
    assert isinstance(raw, RunnableBinding)
    return dict(raw.kwargs)


@pytest.mark.parametrize("schema_name", SCHEMAS)
@pytest.mark.parametrize("model_name", MODELS)
def test_json_options_are_what_the_providers_with_structured_output_binds(model_name: str, schema_name: str) -> None:
    model, schema = MODELS[model_name](), SCHEMAS[schema_name]
    expected = bound_options(model, schema)
    expected.pop("ls_structured_output_format", None)  # for LangSmith only: see the next test
    assert llm.json_options(model, schema) == expected


def test_the_structured_output_format_goes_to_gemini_calls_only_when_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    model, schema = gemini_model(), SCHEMAS["classification"]
    assert "ls_structured_output_format" not in (llm.json_options(model, schema) or {})
    monkeypatch.setattr(replies, "tracing_is_enabled", lambda: True)
    assert llm.json_options(model, schema) == bound_options(model, schema)


class OwnStructuredOutput(OfflineChatModel):
    """A provider whose with_structured_output does something of its own: it must keep doing it."""

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable[Any, Any]:
        raw = AIMessage('{"order_id": "Z-99999"}')
        return RunnableLambda(lambda _: {"raw": raw, "parsed": {"order_id": "Z-99999"}, "parsing_error": None})


async def test_a_provider_with_its_own_structured_output_keeps_it() -> None:
    model = guarded(OwnStructuredOutput())
    assert llm.json_options(model, Ticket) is None
    reply = await llm.ask_structured(model, Ticket, [("human", "Where is order A-12345?")])
    assert reply.value == Ticket(order_id="Z-99999")


class CountingPool(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> "Future[Any]":
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
async def pool() -> AsyncIterator[CountingPool]:
    counting = CountingPool()
    asyncio.get_running_loop().set_default_executor(counting)
    yield counting
    counting.shutdown(wait=False)


@pytest.mark.parametrize("schema_name", SCHEMAS)
async def test_a_structured_call_makes_no_thread_hop(pool: CountingPool, schema_name: str) -> None:
    # with_structured_output(include_raw=True) ran its sync parser and lambdas in the pool: three hops a call.
    model = guarded(OfflineChatModel())
    reply = await llm.ask_structured(model, SCHEMAS[schema_name], [("human", "Where is order A-12345? It is late.")])
    assert reply.value is not None and not reply.problems
    assert pool.submitted == 0


async def test_a_malformed_structured_reply_is_read_as_with_structured_output_reads_it() -> None:
    # The same parser: cut-off JSON is repaired (and then refused as incomplete), other text is "Invalid json output".
    for text, problem in [('{"order_id": "A-12345"', "incomplete or malformed"), ("no JSON", "Invalid json output")]:
        model = ScriptedChatModel(replies=[text], prompts=[], schemas=[])
        answer = await llm.ask_structured_once(model, Ticket, [("human", "Where is order A-12345?")])
        value, found = llm.read_structured(answer, Ticket)
        assert value is None and problem in found, found
        assert model.schemas == [llm.json_options(model, Ticket)["response_json_schema"]]  # type: ignore[index]


def shared_schemas() -> dict[str, Any]:
    """The schemas built once and shared by every call, keyed by what they are for."""
    return {
        "support score": llm.json_schema(SupportScore),
        "worker task": llm.json_schema(BillingInquiry),
        "single call": single_call_schema(),
        "questions": questions_schema(DEFAULT_QUESTIONS),
        "sources": sources_schema([doc["title"] for doc in lesson_documents()]),
        "evaluation": evaluation_schema(evaluation_type(CRITERIA, Brief(facts="", max_words=DEFAULT_MAX_WORDS))),
    }


async def test_shared_schemas_are_built_once_and_come_back_unchanged_from_gemini(gemini: GeminiServer) -> None:
    before = shared_schemas()
    snapshot = copy.deepcopy(before)
    for workflow in WORKFLOWS.values():
        await workflow.load().ainvoke(workflow.inputs(None, questions=None)[0], context=Context())
    assert len(gemini.requests) >= 2 * len(WORKFLOWS)
    after = shared_schemas()
    assert all(after[key] is before[key] for key in before)
    assert after == snapshot


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_a_warm_run_hands_no_work_to_the_thread_pool(name: str, pool: CountingPool) -> None:
    # Under load a thread hop waits for a free thread: model lookups, structured calls and edges stay on the loop.
    graph, payload = WORKFLOWS[name].load(), WORKFLOWS[name].inputs(None)[0]
    await graph.ainvoke(payload, context=Context(model="offline"))  # builds the models, reads .env once
    before = pool.submitted
    await graph.ainvoke(payload, context=Context(model="offline"))
    assert pool.submitted == before
