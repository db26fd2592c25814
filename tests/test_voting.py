"""Voting: every judge scores the same answer through its own Send; a rule turns the votes into a verdict."""

import json
from collections import Counter
from pathlib import Path
from typing import Any, get_args

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field

from graphs.voting import build_voting, graph
from nodes.judges import JUDGES, Judge
from nodes.offline import OfflineChatModel
from nodes.voting import RULES
from state.context import Context
from state.voting import VOTING_ANSWERS, VoteRule
from tests.fakes import GeminiServer, KeyedChatModel, ProviderRefusal

ANSWER = "Offshore wind farms produce more consistent power because the winds there are stronger."
LESSON_CHAIN = json.loads((Path(__file__).parent / "data" / "lesson_chain_output.json").read_text())
"""The FAQ items Gemini wrote in the lesson: answers drawn from the pages, some of them paraphrased."""


def panel(marks: dict[str, float]) -> dict[str, Judge]:
    """Judges told apart by their prompts, so a keyed model can give each its own score."""
    return {
        name: Judge(label=name.title(), prompt=f"You are judge {name}.", pass_mark=mark) for name, mark in marks.items()
    }


def scores(by_judge: dict[str, Any]) -> KeyedChatModel:
    answers = {
        f"You are judge {name}.": value
        if isinstance(value, Exception | str)
        else json.dumps({"score": value, "reason": f"{name} read it"})
        for name, value in by_judge.items()
    }
    return KeyedChatModel(answers=answers, prompts=[])


async def vote(judges: dict[str, Judge], chat: KeyedChatModel, **given: Any) -> dict[str, Any]:
    voting = build_voting(judges).compile()
    return dict(await voting.ainvoke({"answer": ANSWER, **given}, context=Context(chat_model=chat)))


@pytest.mark.parametrize(
    ("rule", "threshold", "judges", "needed"),
    [
        ("majority", None, 4, 3),
        ("majority", None, 5, 3),
        ("threshold", 0.5, 4, 2),
        ("threshold", 0.75, 4, 3),
        ("threshold", 0.3, 10, 3),
        ("threshold", 1.0, 3, 3),
        ("unanimity", None, 4, 4),
    ],
)
def test_each_rule_needs_the_votes_it_says(rule: str, threshold: float | None, judges: int, needed: int) -> None:
    assert RULES[rule].needed(judges, threshold if threshold is not None else 0.5) == needed


def test_the_rules_are_exactly_the_input_schemas_choices() -> None:
    assert set(RULES) == set(get_args(VoteRule))
    rule_field = graph.get_input_jsonschema()["properties"]["rule"]
    assert set(rule_field["enum"]) == set(RULES)


@pytest.mark.parametrize(
    ("rule", "supported"), [("majority", True), ("threshold", True), ("unanimity", False)], ids=str
)
async def test_three_of_four_supported_votes_pass_by_majority_but_not_by_unanimity(rule: str, supported: bool) -> None:
    judges = panel({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.9})
    result = await vote(judges, scores({"a": 0.8, "b": 0.9, "c": 0.7, "d": 0.8}), rule=rule)
    assert [v["status"] for v in result["votes"]] == ["supported"] * 3 + ["not supported"]
    assert result["supported"] is supported
    assert result["agreement"] == 0.75
    assert result["decision"].startswith("3 of 4 judges voted supported, 1 not supported. Rule ")


async def test_a_judge_votes_by_its_own_pass_mark() -> None:
    judges = panel({"lenient": 0.5, "strict": 0.95})
    result = await vote(judges, scores({"lenient": 0.9, "strict": 0.9}))
    assert [(v["judge"], v["score"], v["status"]) for v in result["votes"]] == [
        ("lenient", 0.9, "supported"),
        ("strict", 0.9, "not supported"),
    ]


async def test_a_failed_judge_does_not_sink_the_run_and_counts_against_passing() -> None:
    judges = panel({"a": 0.5, "b": 0.5, "c": 0.5})
    result = await vote(judges, scores({"a": 0.9, "b": 0.9, "c": ProviderRefusal("judge c is down")}), rule="unanimity")
    failed = result["votes"][2]
    assert (failed["status"], failed["score"]) == ("failed", None) and "judge c is down" in failed["reason"]
    assert result["supported"] is False
    assert (
        "1 failed (C)" in result["decision"] and "A failed judge counts as not voting supported." in result["decision"]
    )
    assert result["agreement"] == 1.0, "agreement is among the judges that voted"
    assert any("C gave no readable vote" in note for note in result["notes"])
    by_majority = await vote(judges, scores({"a": 0.9, "b": 0.9, "c": ProviderRefusal("down")}), rule="majority")
    assert by_majority["supported"] is True


async def test_an_unreadable_vote_is_asked_for_again() -> None:
    judges = panel({"a": 0.5})
    chat = scores({"a": "not json"})
    result = await vote(judges, chat)
    assert result["votes"][0]["status"] == "failed"
    assert sum("You are judge a." in prompt for prompt in chat.prompts) == 2
    assert "No judge gave a readable vote" in result["decision"]


async def test_every_registered_judge_gets_its_own_send_and_votes_once_in_registry_order() -> None:
    durable = graph.copy(update={"checkpointer": InMemorySaver()})
    config = {"configurable": {"thread_id": "t"}}
    result = await durable.ainvoke({"answer": ANSWER}, config, context=Context(model="offline"))
    fan_out = [s for s in durable.get_state_history(config) if any(t.name == "judge" for t in s.tasks)]
    assert len(fan_out[0].tasks) == len(JUDGES)
    assert [v["judge"] for v in result["votes"]] == list(JUDGES)


async def test_the_citation_checker_sees_only_the_cited_documents() -> None:
    chat = KeyedChatModel(answers={}, prompts=[])
    cited = "Understanding Wind Turbines"
    await graph.ainvoke({"answer": ANSWER, "sources": [cited]}, context=Context(chat_model=chat))
    [citation_prompt] = [p for p in chat.prompts if JUDGES["citation_checker"].prompt in p]
    assert "Source Title: Understanding Wind Turbines" in citation_prompt
    assert "Source Title: The Benefits of Solar Energy" not in citation_prompt
    others = [p for p in chat.prompts if JUDGES["citation_checker"].prompt not in p]
    assert all("Source Title: The Benefits of Solar Energy" in p for p in others)


class TemperatureLog(BaseCallbackHandler):
    """Records each chat-model call's system prompt and the temperature of the model that was called."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, *, metadata: Any = None, **_: Any) -> None:
        self.calls.append((messages[0][0].text, round(float((metadata or {})["ls_temperature"]), 3)))


async def test_a_judge_with_its_own_temperature_calls_gemini_built_with_it(gemini: GeminiServer) -> None:
    log = TemperatureLog()
    # "auto" is Gemini here (a key is set); the temperature is read from the called model, not the request body:
    # the oldest supported Gemini client (the CI's floors) does not send it.
    await graph.ainvoke({"answer": ANSWER}, {"callbacks": [log]}, context=Context(temperature=0.1))
    prompts = {judge.prompt for judge in JUDGES.values()}
    asked = Counter((next(p for p in prompts if system.startswith(p)), degrees) for system, degrees in log.calls)
    # The second reader has the fact checker's prompt: only its temperature tells the two apart.
    assert asked == Counter((j.prompt, 0.1 if j.temperature is None else j.temperature) for j in JUDGES.values())
    assert any(j.temperature not in (None, 0.1) for j in JUDGES.values())
    assert len(gemini.requests) == len(JUDGES)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"answer": "  "}, "answer: is empty"),
        (
            {"answer": ANSWER, "sources": ["No Such Page"]},
            "sources: must be titles of the documents; unknown: 'No Such Page'",
        ),
        ({"answer": ANSWER, "rule": "plurality"}, "rule: Input should be 'majority', 'threshold' or 'unanimity'"),
        ({"answer": ANSWER, "rule": "threshold", "threshold": 0}, "threshold: must be a number above 0"),
        ({"answer": ANSWER, "threshold": 1.5}, "threshold: must be a number above 0"),
        ({"answer": ANSWER, "threshold": True}, "threshold: Input should be a valid number"),
    ],
)
async def test_bad_input_is_refused_before_any_model_call(given: dict[str, Any], message: str) -> None:
    chat = KeyedChatModel(answers={}, prompts=[])
    with pytest.raises(ValueError, match=message):
        await graph.ainvoke(given, context=Context(chat_model=chat))
    assert chat.prompts == []


async def test_offline_the_lessons_recorded_gemini_answers_pass_and_made_up_ones_do_not() -> None:
    for item in LESSON_CHAIN:
        result = await graph.ainvoke(
            {"answer": item["answer"], "question": item["question"], "sources": item["sources"]},
            context=Context(model="offline"),
        )
        assert result["supported"] is True, (item["answer"], result["decision"])
    made_up = [
        VOTING_ANSWERS[1],
        "Wind turbines work best in calm weather and are usually built inside cities.",
        "Lithium-ion batteries last forty years and never lose their capacity.",
    ]
    for answer in made_up:
        result = await graph.ainvoke({"answer": answer, "rule": "threshold"}, context=Context(model="offline"))
        assert result["supported"] is False, (answer, result["decision"])


class Rating(BaseModel):
    score: float = Field(ge=0.0, le=1.0, description="How well the documents support the answer.")


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        ("Wind turbines capture energy.", 1.0),
        ("Wind turbines capture sunlight at night.", 0.6),
        ("Bananas are yellow.", 0.0),
    ],
)
async def test_offline_a_score_rates_the_quoted_text_by_the_share_of_it_the_material_holds(
    answer: str, score: float
) -> None:
    """The offline model's judge capability: with no option to choose, a score is grounding in the material."""
    system = "Rate the answer. The documents follow.\n---\nWind turbines capture kinetic energy from the wind.\n---"
    rated = (
        await OfflineChatModel()
        .with_structured_output(Rating)
        .ainvoke([SystemMessage(system), HumanMessage(f'Answer: "{answer}"')])
    )
    assert rated == Rating(score=score)


async def test_a_judge_answering_true_for_its_score_gives_no_vote() -> None:
    # Pydantic alone reads true as 1.0: a judge that answered a boolean would have voted "supported" at full marks.
    judges = panel({"a": 0.5, "b": 0.5})
    result = await vote(judges, scores({"a": True, "b": 0.9}))
    boolean, number = result["votes"]
    assert (boolean["status"], boolean["score"]) == ("failed", None) and "not true or false" in boolean["reason"]
    assert (number["status"], number["score"]) == ("supported", 0.9)
