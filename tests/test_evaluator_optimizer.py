"""Evaluator-optimizer: write, evaluate (exact checks and a judge), revise with the feedback, stop on pass or limit."""

import json
from typing import Any

import pytest

from graphs.evaluator_optimizer import build_evaluator_optimizer, graph
from nodes import llm
from nodes.criteria import CRITERIA, Brief, every_figure, figures, no_new_figures, within_length
from nodes.evaluator_optimizer import REVISE, evaluation_schema, evaluation_type
from state.context import Context
from state.evaluator_optimizer import SUPPORT_CASE_FACTS
from tests.fakes import KeyedChatModel, ProviderRefusal, ScriptedChatModel

FACTS = "Order A-20001 shipped on 3 May with DHL.\nTracking number 1Z999AA10123456784.\nDelivery is expected by 7 May."
COMPLETE = (
    "Dear Customer,\n\nYour order A-20001 shipped on 3 May with DHL (tracking 1Z999AA10123456784) and should "
    "arrive by 7 May.\n\nBest regards,\nCustomer Support"
)
NO_TRACKING = "Dear Customer,\n\nYour order A-20001 shipped on 3 May and should arrive by 7 May.\n\nBest regards"
NO_DATES = "Dear Customer,\n\nYour order A-20001 shipped with DHL (tracking 1Z999AA10123456784).\n\nBest regards"
JUDGED = [key for key, criterion in CRITERIA.items() if criterion.check is None]


def evaluation(score: float = 0.9, feedback: str = "", **per_criterion: tuple[float, str]) -> str:
    verdicts = {key: {"score": score, "feedback": feedback} for key in JUDGED}
    verdicts.update({key: {"score": s, "feedback": f} for key, (s, f) in per_criterion.items()})
    return json.dumps(verdicts)


async def run(replies: list[str], **given: Any) -> tuple[dict[str, Any], ScriptedChatModel]:
    scripted = ScriptedChatModel(replies=list(replies), prompts=[], schemas=[])
    result = await graph.ainvoke({"facts": FACTS, **given}, context=Context(chat_model=scripted))
    return dict(result), scripted


def test_figures_are_the_words_that_hold_a_digit_stripped_of_punctuation() -> None:
    assert figures("Invoice #INV-20417 (86.40 EUR), due 18 April, 08:00-12:00. Call us!") == [
        "INV-20417",
        "86.40",
        "18",
        "08:00-12:00",
    ]


def test_the_exact_checks_measure_the_draft_against_the_facts() -> None:
    brief = Brief(facts=FACTS, max_words=20)
    assert every_figure(COMPLETE, brief).score == 1.0
    missing = every_figure(NO_TRACKING, brief)
    assert missing.score == 0.75 and missing.problem.endswith("copy them exactly: 1Z999AA10123456784")
    invented = no_new_figures(COMPLETE + " Refund of 12.50 EUR on 9 May.", brief)
    assert invented.problem.endswith("use the facts' own: 12.50, 9") and invented.score == pytest.approx(4 / 6)
    long = within_length(COMPLETE, brief)
    assert long.score == pytest.approx(20 / len(COMPLETE.split())) and "cut it to at most 20" in long.problem
    assert within_length(COMPLETE, Brief(FACTS, 100)).problem == ""


@pytest.mark.parametrize("key", CRITERIA)
def test_every_criterion_is_told_to_the_writer_and_only_judged_ones_are_asked_of_the_evaluator(key: str) -> None:
    criterion = CRITERIA[key]
    described = criterion.description.format(max_words=123)
    assert described and "{" not in described
    schema = evaluation_schema(evaluation_type(CRITERIA, Brief(FACTS, 123)))
    evaluator_fields = schema["properties"]
    assert (key in evaluator_fields) is (criterion.check is None)
    if key in evaluator_fields:
        assert evaluator_fields[key]["description"] == described
        assert set(evaluator_fields[key]["properties"]) == {"score", "feedback"}, "written out in place, no $ref"
    assert "$defs" not in schema


async def test_a_failing_draft_is_revised_with_the_feedback_until_it_passes() -> None:
    result, scripted = await run([NO_TRACKING, evaluation(), COMPLETE, evaluation()])
    first, second = result["rounds"]
    assert (first["passed"], second["passed"]) == (False, True)
    assert first["feedback"] == [
        "Every figure: these figures from the facts are missing; copy them exactly: 1Z999AA10123456784"
    ]
    assert first["score"] < second["score"] == 0.96
    assert (result["email"], result["passed"], result["best_round"], result["stopped"]) == (COMPLETE, True, 2, "passed")
    assert result["outcome"] == "Passed in round 2 (score 0.96)."
    revision_prompt = scripted.prompts[2][-1].text
    assert revision_prompt.startswith(REVISE.split("{round}")[0]) and first["feedback"][0] in revision_prompt
    assert NO_TRACKING in revision_prompt


async def test_the_loop_stops_at_the_round_limit_with_the_best_draft() -> None:
    result, _ = await run([NO_TRACKING, evaluation(), NO_DATES, evaluation(0.85)], max_rounds=2)
    assert [r["round"] for r in result["rounds"]] == [1, 2]
    assert result["stopped"] == "round_limit" and result["passed"] is False
    best = max(result["rounds"], key=lambda r: r["score"])
    assert (result["email"], result["best_round"]) == (best["draft"], best["round"])
    assert result["outcome"].startswith("Stopped at the limit of 2 round(s) without passing; sent round 1")


async def test_a_revision_that_repeats_a_draft_stops_without_another_evaluation() -> None:
    result, scripted = await run([NO_TRACKING, evaluation(), NO_TRACKING])
    assert len(result["rounds"]) == 1 and result["stopped"] == "no_progress"
    assert sum(schema is not None for schema in scripted.schemas) == 1, "the repeat was not evaluated"
    assert result["email"] == NO_TRACKING


async def test_an_unreadable_evaluator_ends_the_loop_with_the_best_draft_so_far() -> None:
    result, _ = await run([NO_TRACKING, evaluation(), NO_DATES, "not json", "still {not json"])
    assert [r["score"] is None for r in result["rounds"]] == [False, True]
    assert result["stopped"] == "evaluator_failed"
    assert (result["email"], result["best_round"]) == (NO_TRACKING, 1), "the scored draft beats the unscored one"
    assert any("verdict on round 2 could not be read" in note for note in result["notes"])


async def test_an_evaluator_unreadable_on_the_first_round_keeps_that_draft() -> None:
    result, _ = await run([COMPLETE, "nope", "nope again"])
    assert (result["email"], result["best_round"], result["passed"]) == (COMPLETE, 1, False)
    assert (
        result["outcome"] == "Stopped at round 1: the evaluator's verdict could not be read; sent round 1's "
        "draft (not scored)."
    )


async def test_a_judged_criterion_below_the_pass_score_sends_its_feedback_to_the_writer() -> None:
    curt = evaluation(tone=(0.4, "Too curt: thank the customer for waiting."))
    result, scripted = await run([COMPLETE, curt, COMPLETE + " Thank you for waiting.", evaluation()])
    assert result["rounds"][0]["feedback"] == ["Tone: Too curt: thank the customer for waiting."]
    assert result["rounds"][0]["scores"]["tone"] == 0.4
    assert "Too curt: thank the customer for waiting." in scripted.prompts[2][-1].text
    assert result["passed"] is True and result["best_round"] == 2


async def test_a_revision_that_fails_keeps_the_best_draft_and_a_first_draft_that_fails_fails_the_run() -> None:
    broken_revision = KeyedChatModel(answers={"did not pass review": ProviderRefusal("writer down")}, prompts=[])
    given = {"facts": FACTS, "max_words": 5}  # the offline draft is longer: round 1 fails, so a revision is asked
    result = await graph.ainvoke(given, context=Context(chat_model=broken_revision))
    assert result["stopped"] == "writer_failed" and result["best_round"] == 1
    assert any("revision in round 2 failed" in note and "writer down" in note for note in result["notes"])
    broken_first = KeyedChatModel(answers={"Write the email.": ProviderRefusal("writer down")}, prompts=[])
    with pytest.raises(llm.ModelCallError, match="writer down"):
        await graph.ainvoke(given, context=Context(chat_model=broken_first))


@pytest.mark.parametrize("replies", [["", ""], ["   ", "\n"]])
async def test_a_first_draft_unusable_twice_ends_the_run_with_no_email_and_says_why(replies: list[str]) -> None:
    scripted = ScriptedChatModel(replies=list(replies), prompts=[], schemas=[])
    result = await graph.ainvoke({"facts": FACTS}, context=Context(chat_model=scripted))
    assert result["email"] == "" and result["passed"] is False and result["stopped"] == "writer_failed"
    assert result["rounds"] == [] and result["outcome"].startswith("No draft was written")
    assert any(note.startswith("The first draft was not usable") for note in result["notes"]), result["notes"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"facts": " \n "}, "facts: is empty"),
        ({"facts": FACTS, "max_rounds": 0}, "max_rounds: must be a whole number from 1 to 10"),
        ({"facts": FACTS, "max_rounds": 11}, "max_rounds: must be a whole number from 1 to 10"),
        ({"facts": FACTS, "max_words": 0}, "max_words: must be a whole number of at least 1"),
    ],
)
async def test_bad_input_is_refused_before_any_model_call(given: dict[str, Any], message: str) -> None:
    scripted = ScriptedChatModel(replies=[], prompts=[], schemas=[])
    with pytest.raises(ValueError, match=message):
        await graph.ainvoke(given, context=Context(chat_model=scripted))
    assert scripted.prompts == []


@pytest.mark.parametrize("facts", [SUPPORT_CASE_FACTS, FACTS], ids=["support case", "shipping"])
async def test_offline_an_email_carries_every_figure_and_passes_in_one_round(facts: str) -> None:
    result = await graph.ainvoke({"facts": facts}, context=Context(model="offline"))
    assert result["passed"] is True and len(result["rounds"]) == 1, result["rounds"]
    assert set(figures(facts)) <= set(figures(result["email"]))
    assert result["rounds"][0]["scores"]["every_figure"] == 1.0


def test_an_empty_registry_is_refused() -> None:
    with pytest.raises(ValueError, match="At least one criterion"):
        build_evaluator_optimizer({})
