import asyncio
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from graphs.catalog import WORKFLOWS
from graphs.cli.commands import main
from graphs.cli.evals.orchestrator import task_rules
from graphs.cli.evaluate import SETS, SPLITS, Progress, run_items
from graphs.cli.metrics import Routed, Task, compare_plan, same_name, score_plans, score_routes
from nodes import orchestrator
from nodes.intents import FALLBACK_ROUTE, INTENTS
from nodes.offline import OfflineChatModel
from nodes.workers import WORKERS
from state.context import Context
from state.orchestrator import LESSON_MESSAGE
from state.routing import LESSON_QUERIES
from tests.conftest import REPO
from tests.fakes import Fault, GeminiServer

ROUTES = [*INTENTS, FALLBACK_ROUTE]


def shipped(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SETS / f"{name}.jsonl").read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


# --- Metrics --------------------------------------------------------------------------------------------------


def test_routing_scores_count_accepted_routes_as_right_and_keep_raw_predictions_in_the_confusion() -> None:
    items = [
        Routed("technical_support", "technical_support", category="tech"),
        Routed("technical_support", "ask_to_rephrase", category="tech"),
        Routed("billing_inquiry", "technical_support", category="bill"),
        Routed("ask_to_rephrase", "general_question", frozenset({"general_question"}), category="off"),
    ]
    # Routes of the test's own, not the registry's: a user's new intent does not change what is scored here.
    routes = ["technical_support", "billing_inquiry", "general_question", FALLBACK_ROUTE]
    score = score_routes(items, routes, FALLBACK_ROUTE)
    assert (score.total, score.correct, score.accuracy) == (4, 2, 0.5)
    assert score.fallback_rate == 0.25
    tech = score.per_label["technical_support"]
    assert (tech.precision, tech.recall, tech.support) == (0.5, 0.5, 2)
    assert score.per_label["billing_inquiry"].recall == 0.0 and score.per_label["billing_inquiry"].precision is None
    # The accepted general answer is credited to the expected fallback, so General Question is never "predicted".
    assert score.per_label["general_question"].precision is None
    assert score.per_label[FALLBACK_ROUTE].precision == 0.5, "one of the two fallbacks was a technical query"
    assert score.confusion[FALLBACK_ROUTE]["general_question"] == 1
    assert score.confusion["technical_support"] == {
        "technical_support": 1,
        "billing_inquiry": 0,
        "general_question": 0,
        FALLBACK_ROUTE: 1,
    }
    assert score.by_category == {"tech": (1, 2), "bill": (0, 1), "off": (1, 1)}


def test_an_empty_set_scores_none_rather_than_dividing_by_zero() -> None:
    score = score_routes([], ROUTES, FALLBACK_ROUTE)
    assert score.accuracy is None and score.fallback_rate is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("headphones", "my headphones", True),
        ("Sony WH-1000 headphones", "Sony WH-1000", True),
        ("blender", "blenders", True),
        ("headphones", "I'd like to send back my headphones, the left ear stopped working.", False),
        ("Zephyr Desk Lamp", "Zephyr Floor Lamp", False),
    ],
)
def test_names_match_on_most_of_their_words(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same


def test_plans_are_scored_by_task_and_by_id() -> None:
    rules = task_rules()
    message = "Where are orders A-11111 and A-22222? Return my kettle, it leaks. Cancel my plan."
    expected = [
        Task("status_update", {"order_id": "A-11111"}),
        Task("status_update", {"order_id": "A-22222"}),
        Task("product_return", {"product_name": "kettle", "reason_for_return": "it leaks"}),
        Task("other", {"request": "cancel my plan"}),
    ]
    predicted = [
        Task("status_update", {"order_id": "#a-11111"}),
        Task("status_update", {"order_id": "B-99999"}),
        Task("product_return", {"product_name": "the kettle", "reason_for_return": "whatever"}),
        Task("other", {"request": "Cancel my plan"}, handled=False),
    ]
    outcome = compare_plan(message, expected, predicted, rules)
    assert [want.fields for want, _ in outcome.matched] == [
        {"order_id": "A-11111"},
        {"product_name": "kettle", "reason_for_return": "it leaks"},
        {"request": "cancel my plan"},
    ]
    assert outcome.missed == [expected[1]] and outcome.extra == [predicted[1]] and not outcome.exact
    score = score_plans([outcome], rules)
    assert (score.task_precision, score.task_recall) == (0.75, 0.75)
    assert (score.id_precision, score.id_recall) == (0.5, 0.5)
    assert score.ids_not_in_message == ["b-99999"]
    assert (score.unhandled_expected, score.unhandled_named) == (1, 1)
    assert score.per_kind["status_update"] == (2, 2, 1)


def test_a_request_no_worker_takes_must_be_kept_as_unhandled_not_given_to_a_worker() -> None:
    rules = task_rules()
    want = Task("other", {"request": "unsubscribe me from the newsletter"})
    assert not compare_plan("m", [want], [Task("other", {"request": "newsletter"})], rules).matched
    assert compare_plan("m", [want], [Task("status_update", {"request": "newsletter"}, handled=False)], rules).matched
    assert not compare_plan("m", [want], [Task("other", {"request": "reset my router"}, handled=False)], rules).matched


def test_task_rules_follow_the_worker_registry() -> None:
    rules = task_rules()
    assert rules.unhandled_kind == orchestrator.OTHER_KIND
    for kind, worker in WORKERS.items():
        patterned = {
            name for name, spec in worker.task_schema.model_json_schema()["properties"].items() if "pattern" in spec
        }
        assert rules.ids[kind] == patterned
        assert set(rules.identity[kind]) <= set(worker.task_schema.model_fields)


# --- The shipped sets -----------------------------------------------------------------------------------------


def test_the_routing_set_covers_every_route_and_the_hard_cases_in_both_halves() -> None:
    items = shipped("routing")
    assert len(items) >= 100
    assert len({item["id"] for item in items}) == len(items)
    assert {item["route"] for item in items} == set(ROUTES), "each route needs labelled queries in routing.jsonl"
    categories = {item["category"] for item in items}
    hard = {"out_of_scope", "ambiguous", "multi_intent", "short", "other_language", "typos", "injection"}
    assert hard <= categories
    for category in categories:
        halves = {split: sum(1 for i in items if i["category"] == category and i["split"] == split) for split in SPLITS}
        assert all(halves.values()) and abs(halves["dev"] - halves["heldout"]) <= 1, (category, halves)
    assert not {item["query"] for item in items} & set(LESSON_QUERIES), "none of the lesson's inputs"


def test_the_orchestrator_set_has_one_to_five_requests_of_every_kind_in_both_halves() -> None:
    items = shipped("orchestrator")
    assert len(items) >= 40
    assert LESSON_MESSAGE not in {item["message"] for item in items}
    assert {len(item["tasks"]) for item in items} >= {0, 1, 2, 3, 4, 5}
    for split in SPLITS:
        half = [item for item in items if item["split"] == split]
        assert abs(len(half) - len(items) / 2) <= 1
        kinds = {task["kind"] for item in half for task in item["tasks"]}
        assert kinds == {*WORKERS, orchestrator.OTHER_KIND}, f"each kind needs {split} messages in orchestrator.jsonl"
    for item in items:
        for task in item["tasks"]:
            for name in task_rules().ids.get(task["kind"], ()):
                # In either case: the customer's "order a-12345" is order A-12345.
                assert task[name].casefold() in item["message"].casefold(), "every labelled id is in the message"


def test_a_non_editable_install_ships_the_sets() -> None:
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped_files = {
        path.name for pattern in package_data["graphs.cli"] for path in (REPO / "graphs/cli").glob(pattern)
    }
    assert (
        shipped_files
        == {path.name for path in SETS.glob("*.jsonl")}
        >= {"routing.jsonl", "orchestrator.jsonl", "voting.jsonl", "sectioning.jsonl"}
    )


# --- The command ----------------------------------------------------------------------------------------------


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["eval", *args, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_eval_routing_reports_both_halves_the_model_and_the_cost(capsys: pytest.CaptureFixture[str]) -> None:
    report = eval_json(capsys, "routing", "--model", "offline")
    items = shipped("routing")
    assert report["models"] == ["classify = offline (deterministic stand-in, not Gemini)"]
    assert set(report["splits"]) == {"dev", "heldout", "all"}
    assert report["splits"]["all"]["total"] == len(items) == report["calls"]
    assert report["input_tokens"] > 0 and report["output_tokens"] > 0 and report["seconds"] > 0
    assert [item["id"] for item in report["items"]] == [item["id"] for item in items]
    assert set(report["splits"]["dev"]["per_label"]) == set(ROUTES)
    assert report["errors"] == []


def test_eval_orchestrator_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "orchestrator", "--model", "offline", "--split", "dev"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "scoring the plan node" in out and "Model: plan = offline" in out
    for row in ("task precision", "task recall", "id precision", "id recall", "unhandled requests named"):
        assert row in out
    assert out.splitlines()[3].split() == ["dev"], "only the dev half was asked for"
    dev = sum(1 for item in shipped("orchestrator") if item["split"] == "dev")
    assert out.startswith(f"eval orchestrator: {dev} items from ")
    assert f"eval orchestrator: {dev}/{dev}" in captured.err, "progress goes to stderr"


def test_eval_of_your_own_file_without_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {"query": "My router keeps rebooting", "route": "Technical Support"},
            {"query": "hello", "route": "ask_to_rephrase"},
        ],
    )
    report = eval_json(capsys, "routing", "--data", str(data), "--model", "offline")
    assert list(report["splits"]) == ["all"]
    assert [item["id"] for item in report["items"]] == ["line 1", "line 2"]
    assert report["items"][0]["expected"] == "technical_support", "a label may name the intent by its label"
    one = write_jsonl(
        tmp_path / "one.jsonl", [{"query": "Is there a fee for paper bills?", "route": "billing_inquiry"}]
    )
    assert main(["eval", "routing", "--data", str(one), "--model", "offline"]) == 0
    assert capsys.readouterr().out.startswith(f"eval routing: 1 item from {one}, scoring the classify node")


@pytest.mark.parametrize(
    ("what", "lines", "message"),
    [
        ("routing", ["{not json"], "mine.jsonl:1: not valid JSON"),
        ("routing", ['["a list"]'], "mine.jsonl:1: each line must be a JSON object"),
        ("routing", ['{"query": "hi", "route": "sales"}'], "mine.jsonl:1: unknown route 'sales'"),
        ("routing", ['{"query": " ", "route": "technical_support"}'], "needs 'query'"),
        ("routing", ['{"query": "hi", "route": "technical_support", "split": "train"}'], "split must be one of"),
        ("routing", [""], "holds no items"),
        ("orchestrator", ['{"message": "hi", "tasks": [{"kind": "refund"}]}'], "unknown task kind 'refund'"),
        ("orchestrator", ['{"message": "hi"}'], "needs 'tasks'"),
        ("orchestrator", ['{"message": "hi", "tasks": [{"kind": "status_update", "order_id": 1}]}'], "must be strings"),
        # Malformed in ways the checks above did not catch: each is still one line naming the file and line.
        ("routing", ['{"query": "hi", "route": "billing_inquiry", "accept": 5}'], "mine.jsonl:1: 'accept' must be"),
        ("routing", ['{"query": "hi", "route": "billing_inquiry", "accept": "general_question"}'], "'accept' must be"),
        ("routing", ["[" * 100_000], "mine.jsonl:1: not valid JSON (nested too deeply)"),
        (
            "routing",
            [
                '{"id": "a", "query": "hi", "route": "billing_inquiry"}',
                '{"id": "a", "query": "yo", "route": "billing_inquiry"}',
            ],
            "mine.jsonl:2: id 'a' is also line 1's",
        ),
        ("routing", [json.dumps({"query": "x" * 60_000, "route": "billing_inquiry"})], "item 'line 1': query: the"),
        ("orchestrator", ['{"message": "hi", "tasks": ["status_update"]}'], "each task must be an object with a"),
        ("orchestrator", ['{"message": "hi", "tasks": [{"kind": "status_update"}]}'], "'order_id': Field required"),
        (
            "orchestrator",
            ['{"message": "hi", "tasks": [{"kind": "status_update", "order_id": "order A-12345"}]}'],
            "'order_id': String should match pattern",
        ),
        (
            "orchestrator",
            ['{"message": "hi", "tasks": [{"kind": "status_update", "order_id": "A-12345", "colour": "red"}]}'],
            "has no field 'colour'",
        ),
        ("orchestrator", ['{"message": "hi", "tasks": [{"kind": "other"}]}'], "has one field, 'request'"),
        # A misspelt field would be dropped without a word, and the line scored against labels it does not hold.
        (
            "routing",
            ['{"query": "hi", "route": "billing_inquiry", "acept": ["general_question"]}'],
            "mine.jsonl:1: unknown field 'acept'; a line's fields: id, split, query, route, accept, category",
        ),
        ("orchestrator", ['{"message": "hi", "task": []}'], "mine.jsonl:1: unknown field 'task'"),
    ],
)
def test_a_bad_labelled_set_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, lines: list[str], message: str
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(lines) + "\n")
    assert main(["eval", what, "--data", str(data), "--model", "offline"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_missing_file_or_an_empty_split_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "routing", "--data", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read --data" in capsys.readouterr().err
    data = write_jsonl(tmp_path / "dev.jsonl", [{"query": "hi", "route": "ask_to_rephrase", "split": "dev"}])
    assert main(["eval", "routing", "--data", str(data), "--split", "heldout"]) == 2
    assert "no items in split 'heldout'" in capsys.readouterr().err


def test_eval_through_the_gemini_client_names_the_model_of_the_node(
    gemini: GeminiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [{"query": q, "route": "technical_support"} for q in ("The app crashes", "My modem is dead", "No signal")]
    data = write_jsonl(tmp_path / "three.jsonl", items)
    report = eval_json(capsys, "routing", "--data", str(data), "--node-model", "classify=gemini-2.5-flash-lite")
    assert report["models"] == ["classify = google_genai:gemini-2.5-flash-lite"]
    assert report["calls"] == len(gemini.requests) == 3, "only the classifier runs: no handler is called"
    assert all("gemini-2.5-flash-lite" in request["path"] for request in gemini.requests)
    assert report["input_tokens"] > 0 and report["output_tokens"] > 0, "tokens come from Gemini's usageMetadata"


def test_an_item_that_fails_is_named_and_the_others_are_scored(
    gemini: GeminiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gemini.scripted = [Fault(400, "The request was malformed.")]
    items = [{"query": "The app crashes", "route": "technical_support"}, {"query": "hi", "route": "ask_to_rephrase"}]
    data = write_jsonl(tmp_path / "two.jsonl", items)
    assert main(["eval", "routing", "--data", str(data), "--max-concurrency", "1"]) == 0
    out = capsys.readouterr().out
    assert "Not scored: line 1:" in out and "malformed" in out
    assert re.search(r"^queries +1$", out, re.M), out


def test_when_every_item_fails_the_eval_fails_with_one_line(
    gemini: GeminiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gemini.scripted = [Fault(400, "The request was malformed.")]
    data = write_jsonl(tmp_path / "one.jsonl", [{"query": "The app crashes", "route": "technical_support"}])
    assert main(["eval", "routing", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "malformed" in err and "Traceback" not in err


async def test_items_run_concurrently_up_to_the_bound() -> None:
    running = peak = done = 0
    bound = 1
    inputs = [{"query": f"My router number {n} is broken"} for n in range(12)]

    class Slow(OfflineChatModel):
        async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
            nonlocal running, peak, done
            running += 1
            peak = max(peak, running)
            try:
                # Hold each call until `bound` are in flight (or no more can come), however slowly items start
                # on a loaded machine: a bound that let more through would show in `peak`.
                for _ in range(1000):
                    if running >= bound or done + running >= len(inputs):
                        break
                    await asyncio.sleep(0.005)
                return await super()._agenerate(messages, *args, **kwargs)
            finally:
                running -= 1
                done += 1

    graph = WORKFLOWS["routing"].load()
    for bound in (1, 4):
        peak = done = 0
        context = Context(chat_model=Slow(), max_concurrency=bound)
        states, cost = await run_items(graph, "classify", inputs, context, Progress("t", len(inputs)))
        assert peak == bound
        assert cost.calls == len(inputs)
        assert all(isinstance(state, dict) and "reply" not in state for state in states), "handlers never run"


def test_registering_eval_keeps_langgraph_out_of_quick_commands() -> None:
    probe = "import sys, graphs.cli.commands; print(sorted(m for m in sys.modules if m.startswith('lang')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_text_report_masks_a_key_pasted_into_the_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = "AIza" + "Sy" + "D3x9Qw7Lm2Np4Rt6Vb8Xc0Zk1Jh5Gf3Ds"
    data = write_jsonl(
        tmp_path / "k.jsonl", [{"query": f"my key is {key} and my wifi is broken", "route": "billing_inquiry"}]
    )
    assert main(["eval", "routing", "--data", str(data), "--model", "offline"]) == 0
    out = capsys.readouterr().out
    assert "my key is *** and my wifi" in out and key not in out
