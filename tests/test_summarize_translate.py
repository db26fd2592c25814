from pathlib import Path
from typing import Any

import pytest
from langgraph.runtime import Runtime

from graphs.cli.commands import main
from graphs.summarize_translate import build_summarize_translate, graph
from nodes import llm
from nodes.documents import lesson_documents
from nodes.inputs import InputError
from nodes.offline import OFFLINE_LABEL
from nodes.summarize_translate import STEPS, Step, clearing, summary_problem
from state.context import Context
from state.summarize_translate import SummarizeTranslateState
from tests.fakes import ScriptedChatModel

TEXT = " ".join(lesson_documents()[1]["content"].split())


def registry_step(name: str) -> Step:
    return next(step for step in STEPS if step.name == name)


# The lesson's chain, from the registry's steps: these tests hold when a user adds a step to `STEPS`.
lesson_chain = build_summarize_translate([registry_step("summarize"), registry_step("translate")]).compile()


async def test_a_good_summary_is_translated_into_the_requested_language(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["Wind turbines turn wind into power.", "Le turbine eoliche trasformano il vento in energia."]
    result = await lesson_chain.ainvoke({"text": TEXT, "language": "Italian"}, context=Context(chat_model=scripted))
    assert result["summary"] == "Wind turbines turn wind into power."
    assert result["translation"] == "Le turbine eoliche trasformano il vento in energia."
    assert result["summary_ok"] is True
    assert result["notes"] == []
    summarize_prompt, translate_prompt = (p[0].text for p in scripted.prompts)
    assert TEXT in summarize_prompt and "at most 80 words" in summarize_prompt
    assert "into Italian" in translate_prompt and "Wind turbines turn wind into power." in translate_prompt


async def test_the_gate_retries_an_over_long_summary_once_and_says_why(scripted: ScriptedChatModel) -> None:
    problem = "the summary had 12 words, over the limit of 10"
    scripted.replies = ["word " * 12, "Turbines make power.", "Les turbines produisent de l'énergie."]
    result = await lesson_chain.ainvoke({"text": TEXT, "max_words": 10}, context=Context(chat_model=scripted))
    assert result["summary"] == "Turbines make power."
    assert result["translation"] == "Les turbines produisent de l'énergie."
    assert result["language"] == "French"
    assert result["notes"] == [
        f"Asked for a new summary: {problem}.",
        "The first summary was rejected; the retry passed the gate.",
    ]
    assert f"A previous attempt was rejected: {problem}." in scripted.prompts[1][0].text
    assert len(scripted.prompts) == 3


async def test_an_empty_summary_is_asked_for_again_at_once(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["", "Turbines make power.", "Les turbines produisent de l'énergie."]
    result = await lesson_chain.ainvoke({"text": TEXT, "max_words": 10}, context=Context(chat_model=scripted))
    assert result["summary"] == "Turbines make power." and result["summary_ok"] is True
    assert result["notes"] == ["The first summary was not usable (the reply was empty); asked again."]


async def test_a_summary_that_fails_twice_is_reported_and_not_translated(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["", "   ", "", "", "should never be used"]
    result = await lesson_chain.ainvoke({"text": TEXT}, context=Context(chat_model=scripted))
    assert result["summary_ok"] is False
    assert result["translation"] == ""
    assert result["notes"][-1] == "Not translated: after 2 attempts the summary was empty."
    assert len(scripted.prompts) == 4, "each gate attempt asks twice"
    assert scripted.replies == ["should never be used"]


async def test_a_summary_cut_off_by_the_token_limit_is_never_translated_as_if_whole() -> None:
    class CutOff(ScriptedChatModel):
        def _answer(self, messages, schema):  # type: ignore[no-untyped-def]
            result = super()._answer(messages, schema)
            result.generations[0].message.response_metadata["finish_reason"] = "MAX_TOKENS"
            return result

    model = CutOff(replies=["Wind turbines turn", "Wind turbines", "Wind", "Win"], prompts=[], schemas=[])
    result = await lesson_chain.ainvoke({"text": TEXT}, context=Context(chat_model=model))
    assert result["summary_ok"] is False and result["translation"] == ""
    assert any("cut off at the output token limit" in note for note in result["notes"])
    # The gate says why the summary was refused, not that it was empty.
    assert result["notes"][-1].startswith("Not translated: after 2 attempts the summary was not usable (")
    assert "cut off" in result["notes"][-1]


@pytest.mark.parametrize("fence", ["```json\n```", "```", "``` ```"])
async def test_a_bare_code_fence_is_no_summary(scripted: ScriptedChatModel, fence: str) -> None:
    scripted.replies = [fence, fence, "should never be used"]
    result = await lesson_chain.ainvoke({"text": TEXT}, context=Context(chat_model=scripted))
    assert result["summary_ok"] is False and result["translation"] == ""
    assert result["notes"][-1] == "Not translated: after 2 attempts the summary was empty."


async def test_offline_run_summarizes_within_the_limit_and_marks_the_translation() -> None:
    result = await lesson_chain.ainvoke(
        {"text": TEXT, "language": "German", "max_words": 40}, context=Context(model="offline")
    )
    assert result["summary_ok"] is True
    assert 0 < len(result["summary"].split()) <= 40
    assert result["summary"] in TEXT
    assert result["translation"].startswith("[German translation unavailable offline")
    assert result["models"] == {"summarize": OFFLINE_LABEL, "translate": OFFLINE_LABEL}


async def test_empty_text_fails_before_any_model_call(scripted: ScriptedChatModel) -> None:
    with pytest.raises(ValueError, match="empty"):
        await lesson_chain.ainvoke({"text": "  "}, context=Context(chat_model=scripted))
    assert scripted.prompts == []


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        (0, "must be a whole number of at least 1, got 0"),
        (-5, "must be a whole number of at least 1, got -5"),
        (False, "Input should be a valid integer"),
        ("80", "Input should be a valid integer"),
    ],
)
async def test_a_bad_word_limit_fails_before_any_model_call(
    scripted: ScriptedChatModel, limit: object, problem: str
) -> None:
    with pytest.raises(InputError, match=f"max_words: {problem}"):
        await lesson_chain.ainvoke({"text": TEXT, "max_words": limit}, context=Context(chat_model=scripted))
    assert scripted.prompts == []


async def test_a_missing_word_limit_means_80(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["Turbines make power.", "Les turbines produisent de l'énergie."]
    await lesson_chain.ainvoke({"text": TEXT, "max_words": None}, context=Context(chat_model=scripted))
    assert "at most 80 words" in scripted.prompts[0][0].text


def test_summary_problem_accepts_exactly_the_limit() -> None:
    assert summary_problem("one two three", 3) == ""
    assert summary_problem("one two three four", 3) == "the summary had 4 words, over the limit of 3"


def test_graph_draws_the_gate() -> None:
    mermaid = lesson_chain.get_graph().draw_mermaid()
    for edge in ("check_summary -.-> translate;", "check_summary -.-> summarize;", "check_summary -.-> __end__;"):
        assert edge in mermaid


async def proofread(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
    """A step a user might add between the gate and the translation: it rewrites the summary."""
    built = await llm.chat_model(runtime, "proofread")
    reply = await llm.ask_text(built.model, [("human", f"Fix the spelling of this text:\n{state['summary']}")])
    return {"summary": reply.text, "models": {"proofread": built.label}}


async def nodes_run(chain: Any, given: dict[str, Any], scripted: ScriptedChatModel) -> list[str]:
    updates = chain.astream(given, context=Context(chat_model=scripted), stream_mode="updates")
    return [node async for update in updates for node in update]


async def test_the_graph_runs_the_registry_in_order(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["A good summary."] * (len(STEPS) + 1)
    in_order = [name for step in STEPS for name in (step.name, *([step.gate.name] if step.gate else []))]
    assert await nodes_run(graph, {"text": TEXT}, scripted) == in_order


async def test_a_step_added_to_the_registry_runs_in_its_place_without_touching_the_graph_module(
    scripted: ScriptedChatModel,
) -> None:
    steps = [registry_step("summarize"), Step(proofread), registry_step("translate")]
    chain = build_summarize_translate(steps).compile()
    scripted.replies = ["A good sumary.", "A good summary.", "Un bon résumé."]
    result = await chain.ainvoke({"text": TEXT}, context=Context(chat_model=scripted))
    # The gate passes the summary to the new step, whose output is what gets translated.
    assert "A good summary." in scripted.prompts[2][0].text
    assert result["summary"] == "A good summary." and result["translation"] == "Un bon résumé."
    assert set(result["models"]) == {"summarize", "proofread", "translate"}
    scripted.replies = ["A good sumary.", "A good summary.", "Un bon résumé."]
    in_order = ["summarize", "check_summary", "proofread", "translate"]
    assert await nodes_run(chain, {"text": TEXT}, scripted) == in_order


async def test_a_gate_that_gives_up_ends_the_chain_before_every_later_step(scripted: ScriptedChatModel) -> None:
    steps = [registry_step("summarize"), Step(proofread), registry_step("translate")]
    chain = build_summarize_translate(steps).compile()
    scripted.replies = ["word " * 12, "word " * 12]
    assert await nodes_run(chain, {"text": TEXT, "max_words": 10}, scripted) == ["summarize", "check_summary"] * 2
    assert len(scripted.prompts) == 2


async def test_the_first_step_starts_the_later_steps_fields_empty_under_its_own_name() -> None:
    """What keeps a run that a gate ends from returning an earlier run's later output (test_reruns runs it)."""

    async def first(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
        return {"summary": "kept", "headline": "its own"}

    node = clearing(first, ["translation", "headline"])
    assert node.__name__ == "first"
    assert await node({"text": TEXT}, Runtime(context=Context())) == {
        "translation": "",
        "headline": "its own",
        "summary": "kept",
    }
    assert clearing(first, []) is first


def test_a_chain_needs_a_step() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        build_summarize_translate([])


async def test_a_blank_language_is_the_default_and_the_notes_say_so(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["A good summary.", "Un bon résumé."]
    result = await graph.ainvoke({"text": TEXT, "language": " "}, context=Context(chat_model=scripted))
    assert result["language"] == "French" and result["translation"] == "Un bon résumé."
    assert result["notes"] == ["The language was left blank; translated into French, the default."]


def test_the_text_is_the_one_required_input() -> None:
    assert graph.get_input_jsonschema()["required"] == ["text"]


def test_each_document_summarised_from_the_cli_says_which_text_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bikes.md").write_text("# Bikes\nEvery bike we sell is serviced free in its first spring.\n")
    (tmp_path / "returns.txt").write_text("Returns are taken within 30 days, with the receipt.\n")
    argv = ["run", "summarize_translate", "--model", "offline"]
    assert main([*argv, "--doc", str(tmp_path / "bikes.md"), "--doc", str(tmp_path / "returns.txt")]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Text:")]
    assert shown == [
        "Text:        # Bikes Every bike we sell is serviced free in its first spring. (13 words)",
        "Text:        Returns are taken within 30 days, with the receipt. (9 words)",
    ]
