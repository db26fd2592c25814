"""Tokens, cost and budgets (nodes/llm/usage.py, prices.py): counted per node and task, priced, enforced."""

import json
from pathlib import Path

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langgraph.checkpoint.memory import InMemorySaver

from graphs.catalog import WORKFLOWS
from graphs.orchestrator import builder as orchestrator_builder
from graphs.routing import graph as routing
from nodes import llm
from nodes.documents import lesson_documents
from nodes.llm.prices import GEMINI_PRICES, Price
from nodes.offline import OfflineChatModel
from state.context import Context
from state.orchestrator import LESSON_MESSAGE
from tests.fakes import GeminiServer

QUERY = "I think there is a mistake on my last invoice."


async def test_the_meter_counts_each_node_offline_at_no_cost() -> None:
    meter = llm.UsageMeter()
    await routing.ainvoke({"query": QUERY}, {"callbacks": [meter]}, context=Context(model="offline"))
    assert set(meter.by_node) == {"classify", "billing_inquiry"}
    for usage in meter.by_node.values():
        assert usage.calls == 1
        assert usage.input_tokens > 0 and usage.output_tokens > 0
        assert usage.cost == 0.0
    total = meter.run_total()
    assert total.total_tokens == sum(u.total_tokens for u in meter.by_node.values())
    assert meter.models == {"classify": "offline", "billing_inquiry": "offline"}


async def test_gemini_thinking_tokens_are_counted_and_priced_as_output(gemini: GeminiServer) -> None:
    gemini.thoughts_tokens = 40
    meter = llm.UsageMeter()
    await routing.ainvoke({"query": QUERY}, {"callbacks": [meter]}, context=Context())
    price = GEMINI_PRICES["gemini-2.5-flash"]
    for usage in meter.by_node.values():
        assert usage.thinking_tokens == 40
        assert usage.output_tokens > 40  # the reply's own tokens plus the thinking
        assert usage.cost == pytest.approx(price.cost(usage.input_tokens, usage.output_tokens))
    assert meter.run_total().cost == pytest.approx(sum(u.cost or 0 for u in meter.by_node.values()))
    assert set(meter.models.values()) == {"gemini-2.5-flash"}


def test_prices_find_a_model_family_and_bill_long_prompts_higher() -> None:
    assert llm.price_of("models/gemini-2.5-flash-001") == GEMINI_PRICES["gemini-2.5-flash"]
    assert llm.price_of("google_genai:gemini-2.5-flash-lite-preview-06-17") == GEMINI_PRICES["gemini-2.5-flash-lite"]
    assert llm.price_of("gpt-4.1") is None
    pro = GEMINI_PRICES["gemini-2.5-pro"]
    assert pro.cost(200_001, 0) / 200_001 > pro.cost(200_000, 0) / 200_000


def test_a_price_file_overrides_and_extends_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps({"gemini-2.5-flash": {"input": 1, "output": 2}, "my-model": {"input": 0, "output": 5}})
    )
    monkeypatch.setenv(llm.PRICES_VARIABLE, str(prices))
    assert llm.price_of("gemini-2.5-flash") == Price(1.0, 2.0)
    assert llm.price_of("my-model-v2") == Price(0.0, 5.0)
    assert llm.price_of("gemini-2.5-pro") == GEMINI_PRICES["gemini-2.5-pro"]
    toml = tmp_path / "prices.toml"
    toml.write_text("[gemini-2-local]\ninput = 0.5\noutput = 1.5\n")
    monkeypatch.setenv(llm.PRICES_VARIABLE, str(toml))
    assert llm.price_of("gemini-2-local") == Price(0.5, 1.5)


@pytest.mark.parametrize(
    "content", ["not json", '{"m": {"input": 1}}', '{"m": {"input": -1, "output": 1}}', '["m"]', '{"m": 3}']
)
def test_a_malformed_price_file_is_a_setup_error(content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(content)
    monkeypatch.setenv(llm.PRICES_VARIABLE, str(prices))
    with pytest.raises(llm.ModelSetupError, match=llm.PRICES_VARIABLE):
        llm.load_prices()


def test_a_cost_budget_needs_every_model_priced() -> None:
    unpriced = Context(chat_model=OfflineChatModel(), max_cost=1.0)
    llm.check_context(unpriced, ["classify"])  # the offline model is priced, even as a Python object
    with pytest.raises(llm.ModelSetupError, match="max_cost needs the price"):
        llm.check_context(Context(chat_model=GenericFakeChatModel(messages=iter([])), max_cost=1.0), ["classify"])
    llm.check_context(
        Context(chat_model=GenericFakeChatModel(messages=iter([])), max_tokens=10), ["classify"]
    )  # tokens need no price


@pytest.mark.parametrize("limit", [{"max_tokens": 400}, {"max_cost": 1e-9}])
async def test_a_spent_budget_stops_before_the_next_call_and_the_thread_resumes(limit: dict[str, float]) -> None:
    graph = orchestrator_builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "budget"}}
    meter = llm.UsageMeter()
    # The offline model costs nothing, so a cost budget is tested on a model priced like Gemini Flash.
    priced = Context(model="offline", **limit)  # type: ignore[arg-type]
    meter.prices = {**meter.prices, "offline": GEMINI_PRICES["gemini-2.5-flash"]}
    meter.max_tokens, meter.max_cost = priced.max_tokens, priced.max_cost
    with pytest.raises(llm.BudgetSpent) as stopped:
        await graph.ainvoke({"message": LESSON_MESSAGE}, {**config, "callbacks": [meter]}, context=priced)
    assert meter.over_budget() is not None
    spent_calls = meter.run_total().calls
    assert stopped.value.node in {"synthesize", *WORKFLOWS["orchestrator"].load().nodes}
    state = await graph.aget_state(config)
    assert state.next  # the rest of the run waits in the thread
    assert "email" not in state.values
    result = await graph.ainvoke(None, config, context=Context(model="offline"))
    assert result["email"].startswith("Dear")
    assert spent_calls < 5  # plan + 3 workers + synthesize: the stop came before the last call


async def test_a_context_budget_works_without_a_meter_from_the_caller() -> None:
    context = Context(model="offline", max_tokens=1)
    with pytest.raises(llm.BudgetSpent, match="max_tokens=1"):
        await routing.ainvoke({"query": QUERY}, context=context)
    # The classifier ran (the budget was not spent before it); its handler was refused.
    with pytest.raises(llm.BudgetSpent, match="stopped before classify"):
        await routing.ainvoke({"query": QUERY}, context=context)  # the same Context object: the same budget
    fresh = await routing.ainvoke({"query": QUERY}, context=Context(model="offline", max_tokens=100_000))
    assert fresh["intent"] == "Billing Inquiry"


async def test_a_call_waiting_for_a_slot_is_checked_against_the_budget_when_it_gets_one() -> None:
    # One call at a time: three answers queue behind one slot. The first gets through; by the time the second
    # has the slot the budget is spent, and it is refused without being counted as a call or a failure.
    graph = WORKFLOWS["faq_chain"].load()
    payload = {"documents": lesson_documents(), "num_questions": 3}
    free = llm.UsageMeter()
    await graph.ainvoke(payload, {"callbacks": [free]}, context=Context(model="offline", max_concurrency=1))
    asked = free.by_node["generate_questions"].total_tokens
    limited = Context(model="offline", max_concurrency=1, max_tokens=asked + 1)
    meter = llm.UsageMeter.for_context(limited)
    with pytest.raises(llm.BudgetSpent, match="stopped before answer_question"):
        await graph.ainvoke(payload, {"callbacks": [meter]}, context=limited)
    answered = meter.by_node["answer_question"]
    assert (answered.calls, answered.failed_calls) == (1, 0)


def test_usage_round_trips_as_data() -> None:
    usage = llm.Usage(calls=2, input_tokens=10, output_tokens=5, thinking_tokens=2, cost=0.25)
    assert llm.Usage.from_dict({**usage.as_dict(), "unknown": 1}) == usage
    usage.add(llm.Usage(calls=1, cost=None))
    assert usage.cost is None and usage.calls == 3
