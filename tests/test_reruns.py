"""A second run on a thread (Studio, resumed threads) must answer as if the thread were new."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graphs.evaluator_optimizer import builder as evaluator_optimizer
from graphs.faq_chain import builder as faq_chain
from graphs.faq_single_call import builder as faq_single_call
from graphs.orchestrator import builder as orchestrator
from graphs.routing import builder as routing
from graphs.sectioning import builder as sectioning
from graphs.summarize_translate import build_summarize_translate
from graphs.summarize_translate import builder as summarize_translate
from graphs.voting import builder as voting
from nodes.documents import lesson_documents
from nodes.summarize_translate import STEPS
from state.context import Context
from state.evaluator_optimizer import SUPPORT_CASE_FACTS
from state.sectioning import SECTIONING_QUERIES
from state.voting import VOTING_ANSWERS
from tests.conftest import without_run_ids
from tests.fakes import ScriptedChatModel

TEXT = " ".join(lesson_documents()[0]["content"].split())
OFFLINE = Context(model="offline")

CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = [
    ("routing", routing, {"query": "I think there is a mistake on my last invoice."}, {"query": "   "}),
    (
        "orchestrator",
        orchestrator,
        {"message": "Can you give me an update on my order A-12345?"},
        {"message": "I have a question about invoice INV-4521: I was charged twice."},
    ),
    ("faq_chain", faq_chain, {"num_questions": 3}, {"num_questions": 2}),
    ("faq_single_call", faq_single_call, {"num_questions": 3}, {"num_questions": 2}),
    (
        "summarize_translate",
        summarize_translate,
        {"text": TEXT, "language": "German", "max_words": 40},
        {"text": TEXT, "language": "Italian", "max_words": 30},
    ),
    ("sectioning", sectioning, {"query": SECTIONING_QUERIES[1]}, {"query": SECTIONING_QUERIES[0]}),
    (
        "voting",
        voting,
        {"answer": VOTING_ANSWERS[1], "rule": "unanimity"},
        {"answer": VOTING_ANSWERS[0], "rule": "majority"},
    ),
    (
        "evaluator_optimizer",
        evaluator_optimizer,
        {"facts": SUPPORT_CASE_FACTS, "max_words": 40, "max_rounds": 2},
        {"facts": SUPPORT_CASE_FACTS, "max_words": 150, "max_rounds": 3},
    ),
]


async def _run(builder: Any, inputs: list[dict[str, Any]], context: Callable[[], Context]) -> dict[str, Any]:
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid4())}}
    result: dict[str, Any] = {}
    for given in inputs:
        result = await graph.ainvoke(given, config, context=context())
    return result


@pytest.mark.parametrize(("name", "builder", "first", "second"), CASES, ids=[case[0] for case in CASES])
async def test_a_second_run_on_a_thread_equals_a_run_on_a_new_thread(
    name: str, builder: Any, first: dict[str, Any], second: dict[str, Any]
) -> None:
    again = await _run(builder, [first, second], lambda: OFFLINE)
    fresh = await _run(builder, [second], lambda: OFFLINE)
    assert without_run_ids(again) == without_run_ids(fresh)


async def test_a_rerun_after_a_retried_summary_gets_its_own_retry_and_no_old_translation() -> None:
    replies = [
        ["word " * 12, "Short one.", "Une courte."],  # run 1: the gate retries once, then translates
        ["word " * 12, "word " * 12],  # run 2: both attempts fail, so nothing may be translated
    ]
    scripted = ScriptedChatModel(replies=[r for run in replies for r in run], prompts=[], schemas=[])
    given = {"text": TEXT, "max_words": 10}
    # The lesson's two steps from the registry: the replies are scripted for them, whatever else `STEPS` holds.
    lesson_chain = build_summarize_translate([step for step in STEPS if step.name in {"summarize", "translate"}])
    again = await _run(lesson_chain, [given, given], lambda: Context(chat_model=scripted))
    assert scripted.replies == []
    fresh_model = ScriptedChatModel(replies=replies[1], prompts=[], schemas=[])
    fresh = await _run(lesson_chain, [given], lambda: Context(chat_model=fresh_model))
    assert again == fresh
    assert again["translation"] == "" and again["summary_ok"] is False
