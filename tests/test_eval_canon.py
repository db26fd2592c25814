"""`workflows eval voting` and `workflows eval sectioning`, and the registry of evals they joined."""

import json
from pathlib import Path
from typing import Any

import pytest

from graphs.catalog import WORKFLOWS
from graphs.cli.commands import main
from graphs.cli.evals import SUITES
from graphs.cli.evals import voting as voting_eval
from graphs.cli.evaluate import SPLITS, load_items
from nodes.judges import JUDGES
from nodes.screens import SCREENS
from nodes.voting import RULES
from state.sectioning import SECTIONING_QUERIES
from state.voting import VOTING_ANSWERS
from tests.fakes import GeminiServer


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["eval", *args, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


# --- The registry ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SUITES))
def test_every_eval_names_a_workflow_its_nodes_and_a_shipped_set_that_loads(name: str) -> None:
    suite = SUITES[name]
    nodes = set(WORKFLOWS[suite.workflow].load().get_graph().nodes)
    assert {suite.stop_after or "__end__", *suite.offline_nodes} <= nodes
    items = load_items(name, suite.data)
    assert {item["split"] for item in items} == set(SPLITS)
    assert all(suite.payload(item) for item in items)


# --- Voting ---------------------------------------------------------------------------------------------------

PAGE = {
    "title": "Parking",
    "content": "Residents park free in zone B after six in the evening. Visitors pay two euros an hour.",
}


def test_eval_voting_scores_every_rule_and_counts_a_wrong_label_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        {"answer": "Residents park free in zone B after six in the evening.", "label": "supported"},
        {"answer": "Cyclists borrow helmets at the harbour kiosk.", "label": "not supported", "kind": "made up"},
        # Labelled against what the page says: every judge finds it there, so each rule counts it wrong.
        {"answer": "Visitors pay two euros an hour.", "label": "not supported", "kind": "mislabelled"},
    ]
    data = write_jsonl(tmp_path / "mine.jsonl", [{**item, "documents": [PAGE]} for item in items])
    report = eval_json(capsys, "voting", "--data", str(data), "--model", "offline")
    assert report["rules"] == list(RULES)
    assert report["calls"] == len(items) * len(JUDGES), "each answer is judged once, whatever the number of rules"
    split = report["splits"]["all"]
    for rule in RULES:
        score = split["rules"][rule]
        assert (score["correct"], score["false_yes"], score["false_no"]) == (2, 1, 0), rule
    assert split["supported_votes"] == {"0": 1, "1": 0, "2": 0, "3": 0, "4": 2}
    assert split["mean_agreement"] == 1.0
    assert all(judge["failed"] == 0 for judge in split["judges"].values())
    assert [item["verdicts"]["majority"] for item in report["items"]] == ["supported", "not supported", "supported"]
    assert [len(item["votes"]) for item in report["items"]] == [len(JUDGES)] * 3
    assert report["errors"] == []


def vote(judge: str, status: str) -> dict[str, Any]:
    score = None if status == "failed" else (1.0 if status == "supported" else 0.0)
    return {"judge": judge, "label": judge, "status": status, "score": score, "pass_mark": 0.75, "reason": ""}


def test_every_rule_is_applied_to_the_same_votes_and_failed_judges_are_counted() -> None:
    judges = list(JUDGES)
    split_votes = [vote(judges[0], "failed")] + [vote(j, "supported") for j in judges[1:]]
    items = [
        {"id": "a", "split": "all", "label": "supported", "answer": "x"},
        {"id": "b", "split": "all", "label": "not supported", "answer": "y"},
    ]
    states = [
        {"ballots": split_votes, "votes": split_votes, "agreement": 1.0, "threshold": 0.5},
        {
            "ballots": (against := [vote(j, "not supported") for j in judges]),
            "votes": against,
            "agreement": 0.75,
            "threshold": 0.5,
        },
    ]
    result, lines = voting_eval.report(items, states)
    verdicts = [item["verdicts"] for item in result["items"]]
    # Three of four judges said supported and one failed: enough for more than half, not for every judge.
    assert verdicts[0] == {"majority": "supported", "threshold": "supported", "unanimity": "not supported"}
    assert all(verdict == "not supported" for verdict in verdicts[1].values())
    split = result["splits"]["all"]
    assert split["rules_differ"]["majority / unanimity"] == 1
    assert split["rules_differ"]["majority / threshold"] == 0
    assert split["judges"][judges[0]]["failed"] == 1
    assert split["judges"][judges[0]]["total"] == 1, "a failed vote is not scored as the judge's verdict"
    assert split["mean_agreement"] == 0.875
    assert any(line.startswith("  a [all] supported") for line in lines), "the item unanimity got wrong is listed"


# --- Sectioning -----------------------------------------------------------------------------------------------


def test_eval_sectioning_scores_screens_and_decisions_without_paying_for_drafts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = "Take the monthly payment from card 4000 0000 0000 0002 please."
    items = [
        {"query": card, "screens": ["personal_data"], "accept": ["out_of_scope"]},
        {"query": card, "screens": [], "category": "mislabelled"},  # the pattern flags a card whatever the model says
    ]
    data = write_jsonl(tmp_path / "mine.jsonl", items)
    report = eval_json(capsys, "sectioning", "--data", str(data), "--model", "offline")
    assert report["calls"] == len(items) * len(SCREENS), "the draft's calls are not counted"
    assert "draft = offline (deterministic stand-in, not Gemini)" in report["models"]
    split = report["splits"]["all"]
    assert (split["decision"]["correct"], split["decision"]["false_no"]) == (1, 1), "the mislabelled one is wrong"
    personal = split["screens"]["personal_data"]
    assert (personal["precision"], personal["recall"], personal["false_yes"]) == (0.5, 1.0, 1)
    assert split["screens"]["out_of_scope"]["total"] == 1, "a screen an item accepts either way is not scored on it"
    assert [item["sent"] for item in report["items"]] == [False, False]
    assert [item["correct"] for item in report["items"]] == [True, False]
    assert split["by_category"]["mislabelled"] == [0, 1]


def test_eval_sectioning_through_the_gemini_client_sends_only_the_screens(
    gemini: GeminiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "one.jsonl", [{"query": "When is my next meter reading due?", "screens": []}])
    report = eval_json(capsys, "sectioning", "--data", str(data))
    assert len(gemini.requests) == len(SCREENS) == report["calls"], "no request for the draft"
    assert report["input_tokens"] > 0
    assert report["node"] is None, "the graph runs to its end: the draft and the screens share one step"


# --- Labelled sets --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "line", "message"),
    [
        ("voting", {"answer": "x", "label": "true"}, "needs 'label', one of 'supported', 'not supported'"),
        ("voting", {"answer": "", "label": "supported"}, "needs 'answer'"),
        ("voting", {"answer": "x", "label": "supported", "sources": ["Nowhere"]}, "unknown: Nowhere"),
        ("voting", {"answer": "x", "label": "supported", "documents": [{"title": "T"}]}, "non-empty 'title' and"),
        ("voting", {"answer": "x", "label": "supported", "documents": "notes.md"}, "'documents' must be a list"),
        ("sectioning", {"query": "hi"}, "needs 'screens'"),
        ("sectioning", {"query": "hi", "screens": ["spam"]}, "unknown screen 'spam'"),
        ("sectioning", {"query": "hi", "screens": [], "accept": "abuse"}, "'accept' must be a list"),
        ("sectioning", {"query": "hi", "screens": [["abuse"]]}, "must be lists of screen keys"),
        ("sectioning", {"query": "hi", "screens": [], "accept": [{"a": 1}]}, "must be lists of screen keys"),
        ("sectioning", {"query": "hi", "screens": [], "split": "test"}, "split must be one of"),
        ("sectioning", {"query": "hi", "screen": []}, "unknown field 'screen'"),
        ("voting", {"answer": "Yes.", "label": "supported", "source": ["A page"]}, "unknown field 'source'"),
    ],
)
def test_a_bad_line_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, line: dict[str, Any], message: str
) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", [line])
    assert main(["eval", what, "--data", str(data), "--model", "offline"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "mine.jsonl:1:" in err, err


def test_the_voting_set_spans_domains_and_every_kind_of_answer_in_both_halves() -> None:
    items = load_items("voting", SUITES["voting"].data)
    assert len(items) >= 40 and len({item["domain"] for item in items}) >= 6
    kinds = {item["kind"] for item in items}
    assert {"contradicted", "unsupported but plausible", "partly supported", "paraphrased"} <= kinds
    for split in SPLITS:
        assert {item["kind"] for item in items if item["split"] == split} == kinds
        assert {item["label"] for item in items if item["split"] == split} == {"supported", "not supported"}
    assert not {item["answer"] for item in items} & set(VOTING_ANSWERS), "none of the lesson's inputs"


def test_the_sectioning_set_labels_every_screen_and_holds_clean_and_tricky_messages_in_both_halves() -> None:
    items = load_items("sectioning", SUITES["sectioning"].data)
    for split in SPLITS:
        half = [item for item in items if item["split"] == split]
        assert {key for item in half for key in item["screens"]} == set(SCREENS)
        assert sum(not item["screens"] for item in half) >= len(half) / 3, "clean messages are a large share"
        assert {"tricky negative", "other language, clean"} <= {item["category"] for item in half}
    assert not {item["query"] for item in items} & set(SECTIONING_QUERIES), "none of the lesson's inputs"


def test_the_text_reports_name_what_was_scored_and_what_was_not_paid_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(
        tmp_path / "v.jsonl", [{"answer": "Visitors pay two euros an hour.", "label": "supported", "documents": [PAGE]}]
    )
    assert main(["eval", "voting", "--data", str(data), "--model", "offline"]) == 0
    out = capsys.readouterr().out
    assert all(f"{rule}: accuracy" in out for rule in RULES) and "mean agreement" in out
    data = write_jsonl(tmp_path / "s.jsonl", [{"query": "When is my next meter reading due?", "screens": []}])
    assert main(["eval", "sectioning", "--data", str(data), "--model", "offline"]) == 0
    out = capsys.readouterr().out
    assert "send/hold right" in out and "(not counting draft, run on the offline model)" in out
