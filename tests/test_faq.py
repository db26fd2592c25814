import asyncio
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from graphs.cli import main
from graphs.cli.compare import compare_faq
from graphs.cli.options import BUDGET_SPENT
from graphs.faq_chain import assign_questions
from graphs.faq_chain import graph as chain
from graphs.faq_single_call import graph as single_call
from nodes import llm
from nodes.documents import DocumentError, lesson_documents, read_document
from nodes.faq import collect, parse_single_call
from nodes.inputs import InputError
from nodes.llm import UsageMeter
from nodes.offline import OFFLINE_LABEL, OfflineChatModel, Prompt
from nodes.scorecard import score_faq, support
from nodes.text import sentences
from state.context import Context
from tests.conftest import clean_env, workflows_command
from tests.fakes import ScriptedChatModel

DATA = Path(__file__).parent / "data"
LESSON_SINGLE_CALL = json.loads((DATA / "lesson_single_call_output.json").read_text())
LESSON_CHAIN = json.loads((DATA / "lesson_chain_output.json").read_text())
TITLES = [doc["title"] for doc in lesson_documents()]


def failing(scorecard: list[Any]) -> list[str]:
    return [check["name"] for check in scorecard if not check["passed"]]


# --- scorecard -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("recorded", [LESSON_SINGLE_CALL, LESSON_CHAIN], ids=["single_call", "chain"])
def test_the_lessons_recorded_outputs_pass_every_check(recorded: list[dict[str, Any]]) -> None:
    scorecard = score_faq(recorded, lesson_documents(), 10)
    assert [check["name"] for check in scorecard] == [
        "item count",
        "complete items",
        "known sources",
        "supported answers",
        "distinct questions",
    ]
    assert failing(scorecard) == []
    assert scorecard[0]["detail"] == "10 items, 10 asked for"


def _nine_items(items: list[dict[str, Any]]) -> None:
    del items[-1]


def _unknown_source(items: list[dict[str, Any]]) -> None:
    items[2]["sources"] = ["The Benefits of Solar Energy", "Nuclear Power Today"]


def _unsupported_answer(items: list[dict[str, Any]]) -> None:
    # Right vocabulary, wrong page: a wind-turbine answer cited to the solar page.
    items[4]["sources"] = ["The Benefits of Solar Energy"]


def _invented_answer(items: list[dict[str, Any]]) -> None:
    items[0]["answer"] = "Geothermal plants tap volcanic heat beneath Iceland to desalinate seawater cheaply."


def _duplicate_question(items: list[dict[str, Any]]) -> None:
    items[7]["question"] = items[1]["question"].upper().rstrip("?") + " ?"


def _missing_sources(items: list[dict[str, Any]]) -> None:
    items[3]["sources"] = []
    del items[5]["answer"]


@pytest.mark.parametrize(
    ("breakage", "failed_check", "detail"),
    [
        (_nine_items, "item count", "9 items, 10 asked for"),
        (_unknown_source, "known sources", "unknown: 'Nuclear Power Today'"),
        (_unsupported_answer, "supported answers", "9/10 supported; not: #5"),
        (_invented_answer, "supported answers", "9/10 supported; not: #1"),
        (_duplicate_question, "distinct questions", "9 distinct of 10; repeated: #8"),
        (_missing_sources, "complete items", "8/10 complete; incomplete: #4, #6"),
    ],
)
def test_each_broken_output_fails_exactly_its_check(breakage: Any, failed_check: str, detail: str) -> None:
    items = copy.deepcopy(LESSON_SINGLE_CALL)
    breakage(items)
    scorecard = score_faq(items, lesson_documents(), 10)
    expected_failures = [failed_check]
    if breakage is _missing_sources:  # the item without an answer is unsupported too
        expected_failures.append("supported answers")
    assert failing(scorecard) == expected_failures
    assert detail in next(c["detail"] for c in scorecard if c["name"] == failed_check)


def test_support_is_the_share_of_answer_words_in_the_cited_documents() -> None:
    solar, wind, _ = lesson_documents()
    answer = "Wind turbines capture kinetic energy from the wind."
    assert support(answer, [wind]) == 1.0
    assert support(answer, [solar]) < 0.5
    assert support("", [wind]) == 0.0


def test_scorecard_survives_malformed_items() -> None:
    items: list[Any] = [{"question": 3, "answer": None, "sources": "not a list"}, {}]
    scorecard = score_faq(items, lesson_documents(), 2)
    assert failing(scorecard) == ["complete items", "supported answers"]


def test_an_empty_faq_fails_with_no_items_rather_than_all_titles_known() -> None:
    scorecard = score_faq([], lesson_documents(), 10)
    assert {check["name"]: (check["passed"], check["detail"]) for check in scorecard} == {
        "item count": (False, "0 items, 10 asked for"),
        "complete items": (False, "0/0 complete"),
        "known sources": (False, "no items"),
        "supported answers": (False, "0/0 supported"),
        "distinct questions": (True, "0 distinct of 0"),
    }


# --- single call -----------------------------------------------------------------------------------------


async def test_single_call_parses_the_lessons_recorded_json(scripted: ScriptedChatModel) -> None:
    scripted.replies = [json.dumps(LESSON_SINGLE_CALL)]
    result = await single_call.ainvoke({}, context=Context(chat_model=scripted))
    assert result["faqs"] == LESSON_SINGLE_CALL
    assert failing(result["scorecard"]) == []
    assert result["notes"] == []
    [[system, human]] = scripted.prompts
    assert system.text == "You are an expert at creating FAQs from provided documents."
    assert "generate a list of exactly 10 frequently asked questions" in human.text
    assert all(f"Source Title: {title}" in human.text for title in TITLES)


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        ("Sure! Here are your FAQs:", "not usable, also when asked again (Invalid json output"),
        ('{"question": "Q?", "answer": "A.", "sources": []}', "not a JSON array"),
    ],
)
async def test_unusable_single_call_output_is_a_note_not_a_crash(
    scripted: ScriptedChatModel, reply: str, note: str
) -> None:
    scripted.replies = [reply, reply]
    result = await single_call.ainvoke({"num_questions": 3}, context=Context(chat_model=scripted))
    assert result["faqs"] == []
    assert any(note in n for n in result["notes"]), result["notes"]
    assert failing(result["scorecard"])[0] == "item count"
    assert len(scripted.prompts) == 2, "an object where the array belongs is asked for again, as prose is"
    asked_again = scripted.prompts[1][-1].text
    assert asked_again.endswith("Answer again with only JSON that follows the schema."), "not 'a JSON object'"


def test_malformed_single_call_items_are_dropped_and_named() -> None:
    raw = [LESSON_SINGLE_CALL[0], {"question": "Only a question?"}, "text", LESSON_SINGLE_CALL[1]]
    items, notes = parse_single_call(raw)
    assert items == LESSON_SINGLE_CALL[:2]
    assert [n.split(" of the")[0] for n in notes] == ["FAQ item 2", "FAQ item 3"]
    assert "answer: Field required" in notes[0]


async def test_offline_single_call_derives_ten_items_from_the_documents() -> None:
    result = await single_call.ainvoke({}, context=Context(model="offline"))
    assert len(result["faqs"]) == 10
    assert failing(result["scorecard"]) == []
    assert {s for item in result["faqs"] for s in item["sources"]} == set(TITLES)
    assert result["models"] == {"generate_faq": OFFLINE_LABEL}


# --- chain -----------------------------------------------------------------------------------------------


async def test_offline_chain_makes_one_plus_two_n_calls_and_passes_its_scorecard() -> None:
    counter = UsageMeter()
    result = await chain.ainvoke(
        {"num_questions": 4}, context=Context(model="offline"), config={"callbacks": [counter]}
    )
    assert counter.run_total().calls == 1 + 2 * 4
    assert counter.run_total().total_tokens > 0
    assert len(result["faqs"]) == 4
    assert [item["question"] for item in result["faqs"]] == result["questions"]
    assert failing(result["scorecard"]) == []
    assert result["failed"] == []
    assert set(result["models"]) == {"generate_questions", "answer_question"}
    pages = " ".join(" ".join(doc["content"].split()) for doc in lesson_documents())
    for item in result["faqs"]:  # extractive: every answer sentence is a sentence of the pages, labels stripped
        assert all(sentence in pages for sentence in sentences(item["answer"])), item["answer"]


async def test_chain_uses_documents_given_from_python() -> None:
    documents = [
        {"title": "Tea", "content": "Green tea is steamed soon after picking. Black tea is fully oxidised."},
        {"title": "Coffee", "content": "Arabica beans grow at high altitude. Robusta beans carry more caffeine."},
    ]
    result = await chain.ainvoke({"documents": documents, "num_questions": 3}, context=Context(model="offline"))
    assert len(result["faqs"]) == 3
    assert {s for item in result["faqs"] for s in item["sources"]} <= {"Tea", "Coffee"}
    assert failing(result["scorecard"]) == []


async def test_chain_rejects_an_empty_document_list() -> None:
    with pytest.raises(DocumentError, match="at least one document"):
        await chain.ainvoke({"documents": []}, context=Context(model="offline"))


@pytest.mark.parametrize("graph", [chain, single_call], ids=["chain", "single_call"])
@pytest.mark.parametrize(
    ("count", "problem"),
    [
        (0, "must be a whole number from 1 to 50, got 0"),
        (-1, "must be a whole number from 1 to 50, got -1"),
        (51, "must be a whole number from 1 to 50, got 51"),
        (True, "Input should be a valid integer"),
        ("3", "Input should be a valid integer"),
    ],
)
async def test_an_out_of_range_question_count_fails_before_any_model_call(
    scripted: ScriptedChatModel, graph: Any, count: Any, problem: str
) -> None:
    with pytest.raises(InputError, match=f"num_questions: {problem}"):
        await graph.ainvoke({"num_questions": count}, context=Context(chat_model=scripted))
    assert scripted.prompts == []


async def test_a_missing_question_count_means_ten() -> None:
    result = await single_call.ainvoke({"num_questions": None}, context=Context(model="offline"))
    assert len(result["faqs"]) == 10
    assert result["scorecard"][0]["detail"] == "10 items, 10 asked for"


class GatedModel(OfflineChatModel):
    """Answer calls finish in the reverse of the order they started, and the peak of calls in flight is kept.

    Waiting on events rather than timers: a branch can only finish after the one started after it, so the
    run completes only if all branches are in flight at once.
    """

    branches: int = 0
    started: list[str] = []
    finished: list[str] = []
    events: dict[int, asyncio.Event] = {}
    in_flight: int = 0
    peak: int = 0

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            question = Prompt.from_messages(messages).fields.get("question")
            if question is not None and "response_json_schema" not in kwargs:
                rank = len(self.started)
                self.started.append(question)
                self.events.setdefault(rank, asyncio.Event())
                if rank + 1 < self.branches:
                    await asyncio.wait_for(self.events.setdefault(rank + 1, asyncio.Event()).wait(), 30)
                self.finished.append(question)
                self.events[rank].set()
            else:
                # Yield to the loop (no waiting) until a sibling call is in flight: branches reach their slots
                # only after building their model in a thread, so one yield may come before any sibling does.
                for _ in range(1000):
                    if self.in_flight > 1:
                        break
                    await asyncio.sleep(0)
            return await super()._agenerate(messages, *args, **kwargs)
        finally:
            self.in_flight -= 1


async def test_chain_branches_run_at_once_and_items_keep_question_order() -> None:
    model = GatedModel(branches=5, started=[], finished=[], events={})
    result = await chain.ainvoke({"num_questions": 5}, context=Context(chat_model=model, max_concurrency=5))
    assert model.finished == model.started[::-1]
    assert model.finished != result["questions"]
    assert [item["question"] for item in result["faqs"]] == result["questions"]
    assert model.peak == 5


async def test_fan_out_is_bounded_by_max_concurrency() -> None:
    model = GatedModel(branches=0, started=[], finished=[], events={})
    model.branches = 0  # no gating: measure the peak only
    counter = UsageMeter()
    await chain.ainvoke(
        {"num_questions": 6},
        context=Context(chat_model=model, max_concurrency=2),
        config={"callbacks": [counter]},
    )
    assert model.peak == 2
    assert counter.run_total().calls == 13


class FailingModel(OfflineChatModel):
    """Offline answers, except that answering questions containing `poison` raises `error` (`times` times)."""

    poison: str
    error: str = "runtime"
    times: int = 99

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        question = Prompt.from_messages(messages).fields.get("question", "")
        if self.poison in question and "response_json_schema" not in kwargs and self.times > 0:
            self.times -= 1
            if self.error == "transient":
                raise ConnectionError("network down")
            if self.error == "bug":
                raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
            raise ProviderError("The model is overloaded. Please try again later.")
        return await super()._agenerate(messages, *args, **kwargs)


class InventingSourcesModel(OfflineChatModel):
    """Offline answers, except that the source-finding step cites a title no document has, and one title 50 times."""

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        schema = kwargs.get("response_json_schema") or {}
        if "sources" in schema.get("properties", {}):
            cited = ["Secret Internal Doc", *[TITLES[0]] * 50]
            return ChatResult(generations=[ChatGeneration(message=AIMessage(json.dumps({"sources": cited})))])
        return await super()._agenerate(messages, *args, **kwargs)


async def test_sources_no_document_has_are_left_out_and_said_and_each_title_is_cited_once() -> None:
    result = await chain.ainvoke({"num_questions": 2}, context=Context(chat_model=InventingSourcesModel()))
    assert [item["sources"] for item in result["faqs"]] == [[TITLES[0]], [TITLES[0]]]
    unknown = [note for note in result["notes"] if "titles no document has" in note]
    assert len(unknown) == 2 and all("Secret Internal Doc" in note for note in unknown), result["notes"]


class ProviderError(Exception):
    """A provider's server error as its client raises it: the HTTP status on the exception."""

    code = 503


async def test_a_failing_branch_is_reported_and_the_others_are_kept() -> None:
    model = FailingModel(poison="wind turbines")
    result = await chain.ainvoke({"num_questions": 10}, context=Context(chat_model=model))
    [failed] = result["failed"]
    assert "wind turbines" in failed["question"]
    assert "overloaded" in failed["error"] and "server error" in failed["error"]
    assert len(result["faqs"]) == 9
    kept = [q for i, q in enumerate(result["questions"]) if i != failed["index"]]
    assert [item["question"] for item in result["faqs"]] == kept
    assert any(f"Question {failed['index'] + 1} failed" in note for note in result["notes"])
    assert failing(result["scorecard"]) == ["item count"]


async def test_a_transient_branch_failure_is_retried_inside_the_call() -> None:
    model = FailingModel(poison="wind turbines", error="transient", times=1)
    counter = UsageMeter()
    result = await chain.ainvoke(
        {"num_questions": 10}, context=Context(chat_model=model), config={"callbacks": [counter]}
    )
    assert result["failed"] == []
    assert len(result["faqs"]) == 10
    assert model.times == 0, "the fault happened"
    usage = counter.run_total()
    assert (usage.calls, usage.failed_calls) == (21, 0), "retried inside one model call, which then succeeded"


async def test_a_bug_in_a_branch_fails_the_run_instead_of_becoming_a_failed_question() -> None:
    model = FailingModel(poison="wind turbines", error="bug")
    with pytest.raises(TypeError, match="unsupported operand"):
        await chain.ainvoke({"num_questions": 10}, context=Context(chat_model=model))


async def test_question_step_drops_repeats_and_asks_again_when_short(scripted: ScriptedChatModel) -> None:
    scripted.replies = [
        json.dumps({"questions": ["What is solar energy?", "what is solar energy", "Why store energy?"]}),
        json.dumps({"questions": ["Where do turbines go?", "What is pumped hydro?", "Is PV cheap?"]}),
    ]
    result = await chain.ainvoke({"num_questions": 4}, context=Context(chat_model=scripted))
    assert result["questions"] == [
        "What is solar energy?",
        "Why store energy?",
        "Where do turbines go?",
        "What is pumped hydro?",
    ]
    assert any("asked again" in note for note in result["notes"])
    assert any("kept the first 4" in note for note in result["notes"])
    assert scripted.schemas[0] is not None
    questions = scripted.schemas[0]["properties"]["questions"]
    assert (questions["minItems"], questions["maxItems"]) == (4, 4)
    source_schema = next(s for s in scripted.schemas if s and "sources" in s["properties"])
    assert source_schema["properties"]["sources"]["items"]["enum"] == TITLES


async def test_malformed_questions_are_asked_for_again(scripted: ScriptedChatModel) -> None:
    scripted.replies = ["not json", json.dumps({"questions": ["What is solar energy?", "Why store energy?"]})]
    result = await chain.ainvoke({"num_questions": 2}, context=Context(chat_model=scripted))
    assert result["questions"] == ["What is solar energy?", "Why store energy?"]
    assert len(result["faqs"]) == 2
    [note] = result["notes"]
    assert note.startswith("The question step's output was not valid JSON questions (")
    assert "raw: 'not json'" in note and note.endswith("; asked again.")


@pytest.mark.parametrize("second", ["still not json", json.dumps({"wrong_key": []})])
async def test_malformed_questions_twice_leave_an_empty_faq_with_notes(
    scripted: ScriptedChatModel, second: str
) -> None:
    scripted.replies = ["not json", second]
    result = await chain.ainvoke({"num_questions": 3}, context=Context(chat_model=scripted))
    assert len(scripted.prompts) == 2  # no branch ran: nothing to answer
    assert (result["questions"], result["faqs"], result["failed"]) == ([], [], [])
    assert [note.split(" (")[0] for note in result["notes"]] == [
        "The question step's output was not valid JSON questions",
        "The question step's output was not valid JSON questions",
        "Only 0 distinct questions of 3 after a retry; the FAQ is short.",
    ]
    assert result["notes"][1].endswith("; no questions from it.")
    assert result["scorecard"][0]["detail"] == "0 items, 3 asked for"


async def test_collect_sorts_by_question_index_and_separates_failures() -> None:
    answered: list[Any] = [
        {"index": 2, "question": "C?", "answer": "c", "sources": ["T"]},
        {"index": 0, "question": "A?", "answer": "a", "sources": ["T"]},
        {"index": 1, "question": "B?", "error": "boom"},
    ]
    update = await collect({"answered": answered})
    assert [item["question"] for item in update["faqs"]] == ["A?", "C?"]
    assert update["failed"] == [{"index": 1, "question": "B?", "error": "boom"}]
    assert update["notes"] == ["Question 2 failed and was left out: boom"]


def test_assign_questions_sends_the_validated_documents_or_goes_to_collect() -> None:
    documents = lesson_documents()[:1]
    sends = assign_questions({"questions": ["A?", "B?"], "documents": documents})
    assert isinstance(sends, list)
    assert [(s.node, s.arg["index"], s.arg["question"], s.arg["documents"]) for s in sends] == [
        ("answer_question", 0, "A?", documents),
        ("answer_question", 1, "B?", documents),
    ]
    assert assign_questions({"questions": [], "documents": documents}) == "collect"


def test_chain_draws_the_fan_out() -> None:
    mermaid = chain.get_graph().draw_mermaid()
    assert "generate_questions -.-> answer_question;" in mermaid
    assert "generate_questions -.-> collect;" in mermaid
    assert "answer_question --> collect;" in mermaid
    assert "collect --> score;" in mermaid


# --- documents and the command line ----------------------------------------------------------------------


def test_read_document_titles_from_heading_or_file_name(tmp_path: Path) -> None:
    md = tmp_path / "notes.md"
    md.write_text("Intro line.\n\n## Heat Pumps\n\nHeat pumps move heat.\n")
    txt = tmp_path / "grid_basics.txt"
    txt.write_text("The grid balances supply and demand.\n")
    assert read_document(md)["title"] == "Heat Pumps"
    assert read_document(txt) == {"title": "grid basics", "content": "The grid balances supply and demand."}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.md", None, "no such file"),
        ("empty.txt", "  \n", "empty"),
        ("page.pdf", "x", "only .txt and .md"),
        ("notes.md", "FOLDER", "is a folder; pass the .txt or .md files in it"),
        ("only.md", "# Only\n", "has a heading but no text"),
        ("headings.md", "# Title\n\n## Section ##\n  \n", "has a heading but no text"),
    ],
)
def test_unusable_doc_files_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "FOLDER":
        path.mkdir()  # a folder named like a document is still no document
    elif content is not None:
        path.write_text(content)
    for argv in (["compare", "faq", "--doc", str(path)], ["run", "faq_chain", "--doc", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("name", ["faq_chain", "faq_single_call"])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Only", "the text has no content to write an FAQ from"),
        ("# A\n# B\n", "the text has no content to write an FAQ from"),
        ("# A\nx.\n# A\ny.", "two documents share the title 'A'"),
    ],
)
def test_unusable_document_text_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    assert main(["run", name, text, "--model", "offline"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"workflows: error: {message}") and err.count("\n") == 1, err


def test_unusable_document_text_exits_2_from_the_console_script() -> None:
    done = run_cli("run", "faq_chain", "# Only")
    assert done.returncode == 2
    assert done.stderr.startswith("workflows: error: the text has no content to write an FAQ from")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_doc_files_are_refused_by_text_workflows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nSome text.\n")
    assert main(["run", "routing", "--doc", str(doc)]) == 2
    assert "takes text, not --doc" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "faq_chain", "--questions", "0"], "--questions must be between 1 and 50, got 0"),
        (["run", "faq_single_call", "--questions", "51"], "--questions must be between 1 and 50, got 51"),
        (["run", "routing", "hi", "--questions", "3"], "this workflow takes no --questions"),
        (["compare", "faq", "--questions", "0"], "--questions must be between 1 and 50, got 0"),
        (["compare", "faq", "--max-concurrency", "0"], "--max-concurrency must be at least 1"),
        (["compare", "faq", "--node-model", "classify=offline"], "compare faq has no node 'classify'"),
        (["compare", "faq", "--node-model", "score"], "--node-model expects NODE=MODEL"),
        (["compare", "faq", "--model", "nosuchprovider:model-x"], "Unknown model"),
    ],
)
def test_bad_faq_options_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("workflows: error: ") and message in err and err.count("\n") == 1, err


def test_run_questions_sets_the_faq_length(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "faq_chain", "--questions", "3", "--model", "offline", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert len(result["faqs"]) == len(result["questions"]) == 3
    assert result["scorecard"][0]["detail"] == "3 items, 3 asked for"


def test_compare_node_model_reaches_only_that_node(gemini: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "faq", "--questions", "2", "--model", "offline", "--json"]
    assert main([*argv, "--node-model", "generate_questions=gemini-2.5-flash"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["chain"]["models"] == {
        "generate_questions": "google_genai:gemini-2.5-flash",
        "answer_question": OFFLINE_LABEL,
    }
    assert report["single call"]["models"] == {"generate_faq": OFFLINE_LABEL}
    assert len(gemini.requests) == 1


def test_compare_budget_covers_both_graphs_and_stops_with_what_was_used(capsys: pytest.CaptureFixture[str]) -> None:
    # One call at a time, so a budget is checked before each call with every earlier call counted.
    argv = ["compare", "faq", "--questions", "3", "--model", "offline", "--json", "--max-concurrency", "1"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    single, chain = (report[name]["usage"]["total"]["total_tokens"] for name in ("single call", "chain"))
    assert single < chain
    # Room for either graph alone (the chain's last call starts below its own total), not for both: only a
    # budget the two share stops the chain.
    assert main([*argv, "--max-tokens", str(chain)]) == BUDGET_SPENT
    captured = capsys.readouterr()
    stopped = json.loads(captured.out)
    assert stopped["status"] == "stopped" and stopped["workflow"] == "compare faq"
    assert stopped["finished"] == ["single call"]
    assert stopped["usage"]["nodes"]["generate_faq"]["calls"] == 1, "what the single call used is reported"
    assert "finished before the stop: single call" in captured.err
    assert "max_tokens" in stopped["reason"]
    # The finished graph's result was paid for, so it is shown: its FAQ and scorecard, as a full run gives them.
    assert list(stopped["results"]) == ["single call"]
    assert stopped["results"]["single call"]["faqs"] == report["single call"]["faqs"]
    assert main([*argv[:-5], "--max-concurrency", "1", "--max-tokens", str(chain)]) == BUDGET_SPENT
    text = capsys.readouterr().out
    assert "single call" in text and "scorecard" in text and "chain" not in text.split("\n")[3]


async def test_compare_runs_both_graphs_on_the_same_documents() -> None:
    single, chained = await compare_faq(lesson_documents(), 3, Context(model="offline"))
    assert (single.name, single.calls) == ("single call", 1)
    assert (chained.name, chained.calls) == ("chain", 7)
    assert chained.input_tokens > single.input_tokens
    assert len(single.result["faqs"]) == len(chained.result["faqs"]) == 3


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*workflows_command(), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_compare_faq_offline_from_the_command_line() -> None:
    done = run_cli("compare", "faq")
    assert done.returncode == 0, done.stderr
    rows = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines() if "  " in line}
    assert rows["model calls"][-2:] == ["1", "21"]
    assert done.stdout.count("5/5 checks passed") == 2
    for name in ("item count", "complete items", "known sources", "supported answers", "distinct questions"):
        assert name in rows, name
    assert "wall time" in rows and "tokens in / out" in rows
    assert done.stderr.count(llm.OFFLINE_NOTICE) == 1
    assert "Traceback" not in done.stderr


def test_compare_faq_json_with_doc_files(tmp_path: Path) -> None:
    (tmp_path / "tea.md").write_text("# Tea\n\nGreen tea is steamed soon after picking. Black tea is oxidised.\n")
    (tmp_path / "coffee.txt").write_text("Arabica grows at altitude. Robusta carries more caffeine.\n")
    done = run_cli(
        "compare", "faq", "--doc", str(tmp_path / "tea.md"), "--doc", str(tmp_path / "coffee.txt"),
        "--questions", "3", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["single call"]["calls"] == 1
    assert report["chain"]["calls"] == 7
    for run in report.values():
        assert {s for item in run["faqs"] for s in item["sources"]} <= {"Tea", "coffee"}


def test_run_faq_chain_prints_items_and_scorecard(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "faq_chain", "--model", "offline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. ")
    assert "Scorecard: 5/5 checks passed" in out


async def test_both_graphs_run_through_the_real_gemini_client(gemini: Any) -> None:
    """The JSON schemas (a top-level array; an enum of titles) go through langchain-google-genai unchanged."""
    single = await single_call.ainvoke({"num_questions": 3}, context=Context(model="gemini-2.5-flash"))
    chained = await chain.ainvoke({"num_questions": 3}, context=Context(model="gemini-2.5-flash"))
    assert failing(single["scorecard"]) == failing(chained["scorecard"]) == []
    assert single["models"] == {"generate_faq": "google_genai:gemini-2.5-flash"}
    configs = [request["body"].get("generationConfig", {}) for request in gemini.requests]
    assert len(configs) == 1 + 1 + 2 * 3
    assert configs[0]["responseJsonSchema"]["type"] == "array"
    source_schemas = [c["responseJsonSchema"] for c in configs[2:] if "responseJsonSchema" in c]
    assert len(source_schemas) == 3
    assert all(schema["properties"]["sources"]["items"]["enum"] == TITLES for schema in source_schemas)
