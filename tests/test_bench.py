"""`workflows bench`: the latency model, the floor, the call log, and a smoke run of the whole bench (--quick)."""

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from graphs.catalog import WORKFLOWS
from graphs.cli import bench
from graphs.cli.bench import AnswerCache, Call, CallLog, floor, make_model, run_floor, width
from graphs.cli.commands import main
from graphs.faq_chain import graph as faq_chain
from nodes import offline
from nodes.offline import OfflineChatModel
from state.context import Context


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the delays the offline model asks for, and let the event loop move on without waiting them out."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: Any) -> None:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(offline.asyncio, "sleep", sleep)
    monkeypatch.setattr(offline.time, "sleep", delays.append)
    return delays


def call(run: str, step: int | None, task: str, seconds: float) -> Call:
    return Call(run, step, task, "node", 1, 1, seconds, 0.0, [], None)


def test_a_call_takes_the_fixed_latency_plus_the_time_per_output_token(slept: list[float]) -> None:
    model = OfflineChatModel(latency=0.5, token_latency=0.01)
    reply = asyncio.run(model.ainvoke("Summarize: wind turbines turn wind into electricity."))
    output_tokens = reply.usage_metadata["output_tokens"]
    assert output_tokens > 0
    assert slept == [pytest.approx(0.5 + 0.01 * output_tokens)]
    model.invoke("Summarize: wind turbines turn wind into electricity.")
    assert slept[1] == slept[0]  # deterministic: the same prompt takes the same time, sync or async
    longer = asyncio.run(model.ainvoke("Summarize in one word: wind."))
    assert longer.usage_metadata["output_tokens"] != output_tokens
    assert slept[2] == pytest.approx(0.5 + 0.01 * longer.usage_metadata["output_tokens"])


def test_no_latency_means_no_wait(slept: list[float]) -> None:
    asyncio.run(OfflineChatModel().ainvoke("hello"))
    assert slept == []


def test_the_floor_sums_each_steps_longest_task_and_overlaps_runs_at_once() -> None:
    one_run = [
        call("a", 1, "plan", 0.2),
        call("a", 2, "worker 1", 0.1),
        call("a", 2, "worker 1", 0.1),  # a second call of the same task waits for its first
        call("a", 2, "worker 2", 0.15),
        call("a", 3, "write", 0.3),
    ]
    assert run_floor(one_run) == pytest.approx(0.2 + 0.2 + 0.3)
    two_runs = one_run + [call("b", c.step, c.task, c.seconds) for c in one_run]
    assert floor(two_runs, at_once=2) == pytest.approx(0.7)
    assert floor(two_runs, at_once=1) == pytest.approx(1.4)
    # Three runs two at a time cannot beat the work shared between two lanes.
    three_runs = two_runs + [call("c", c.step, c.task, c.seconds) for c in one_run]
    assert floor(three_runs, at_once=2) == pytest.approx(2.1 / 2)
    assert width(two_runs, at_once=2) == 4 and width(two_runs, at_once=1) == 2
    assert floor([], at_once=1) == 0.0
    # Calls outside any graph step follow one another.
    assert run_floor([call("", None, "call 0", 0.1), call("", None, "call 1", 0.1)]) == pytest.approx(0.2)


def test_the_simulated_model_logs_each_call_of_a_real_run_with_its_step_and_task(slept: list[float]) -> None:
    log = CallLog()
    model = make_model(1.0, 0.0, AnswerCache(), log)
    result = asyncio.run(faq_chain.ainvoke({"num_questions": 3}, context=Context(chat_model=model)))
    assert len(result["faqs"]) == 3
    assert len(log.calls) == 1 + 2 * 3 and len(slept) == 7 and log.uncached == 7
    assert {c.node for c in log.calls} == {"generate_questions", "answer_question"}
    branches = {c.task for c in log.calls if c.node == "answer_question"}
    assert len(branches) == 3
    # Questions, then each branch's answer and its sources one after the other: three calls' time.
    assert floor(log.calls, at_once=1) == pytest.approx(3.0)
    assert width(log.calls, at_once=1) == 3


def test_answers_come_from_the_cache_once_worked_out() -> None:
    answers = AnswerCache()
    first, second = CallLog(), CallLog()
    prompt = [HumanMessage("Summarize: solar panels turn sunlight into electricity.")]
    reply = asyncio.run(make_model(0.0, 0.0, answers, first).ainvoke(prompt))
    again = asyncio.run(make_model(0.0, 0.0, answers, second).ainvoke(prompt))
    assert reply.content == again.content and reply.id != again.id
    assert (first.uncached, second.uncached) == (1, 0)
    assert len(second.calls) == 1 and second.calls[0].output_tokens == reply.usage_metadata["output_tokens"]


def test_calls_in_flight_are_counted_past_the_concurrency_bound() -> None:
    log = CallLog()
    model = make_model(0.05, 0.0, AnswerCache(), log)
    asyncio.run(faq_chain.ainvoke({"num_questions": 4}, context=Context(chat_model=model, max_concurrency=2)))
    assert log.peak == 2 and log.in_flight == 0


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One `workflows bench --quick` run: its JSON and its table."""
    target = tmp_path_factory.mktemp("bench") / "bench.json"
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        assert main(["bench", "--quick", "--json", str(target), "-q"]) == 0
    return json.loads(target.read_text()), table.getvalue()


def test_quick_bench_runs_every_catalog_workflow_and_every_scenario(quick: tuple[dict[str, Any], str]) -> None:
    data, table = quick
    scenarios = {s["key"]: s for s in data["scenarios"]}
    assert {f"catalog/{name}" for name in WORKFLOWS} <= set(scenarios)
    sizes = bench.QUICK
    for tasks in sizes.orchestrator_tasks:
        assert scenarios[f"orchestrator/{tasks}"]["model_calls"] == tasks + 2  # plan, one per worker, the email
    for questions in sizes.faq_questions:
        assert scenarios[f"faq_chain/{questions}"]["model_calls"] == 1 + 2 * questions
    for at_once in sizes.routing_concurrency:
        routed = scenarios[f"routing/c{at_once}"]
        assert routed["model_calls"] == 2 * sizes.routing_queries and routed["runs"] == sizes.routing_queries
        assert routed["peak_calls_in_flight"] <= at_once  # a routing run makes one call at a time
    assert scenarios["routing/c1"]["peak_calls_in_flight"] == 1
    widest = max(sizes.routing_concurrency)
    at_once = scenarios[f"parallel/routing/{widest}"]
    assert at_once["runs"] == at_once["runs_at_once"] == widest and at_once["model_calls"] == 2 * widest
    alone, together = (s for s in data["scenarios"] if s["key"].startswith("parallel/faq_chain/"))
    assert together["model_calls"] == sizes.parallel_runs * alone["model_calls"]
    assert {"canon/sectioning/2", "canon/voting", "canon/evaluator_optimizer"} <= set(scenarios)
    for s in data["scenarios"]:
        assert not s["problems"] and s["uncached_answers"] == 0, s
        assert s["model_calls"] > 0 and s["input_tokens"] > 0 and s["output_tokens"] > 0
        # Sleeps never end early: no run beats its floor, and the lesson's loop takes at least its calls' time.
        assert 0 < s["floor_seconds"] <= s["wall_seconds"] and s["sequential_seconds"] >= s["floor_seconds"]
        # Seconds are rounded to 0.1 ms in the JSON, efficiency to 0.001: at --quick's millisecond floors the
        # rounding alone moves floor / wall by a few percent, so the bounds are those the rounding allows.
        floor, wall, half = s["floor_seconds"], s["wall_seconds"], 0.5e-4
        assert (floor - half) / (wall + half) - 0.5e-3 <= s["efficiency"] <= (floor + half) / (wall - half) + 0.5e-3
        assert s["speedup"] == pytest.approx(s["sequential_seconds"] / s["wall_seconds"], rel=0.02, abs=0.01)
        assert 1 <= s["peak_calls_in_flight"] <= s["widest_step_calls"]
        assert s["title"] in table
    assert [row["workflow"] for row in data["overhead"]] == list(WORKFLOWS)
    assert all(row["nodes"] >= 2 and row["bare_langgraph_ms"] > 0 for row in data["overhead"])
    assert data["startup"]["best_seconds"] > 0 and data["memory"]["process_peak_rss_mb"] > 0
    # Quick sizes measure none of the sized targets; the overhead and start-up ones hold at any size.
    assert {t["target"] for t in data["targets"]} == {bench.TARGETS[-2].title, bench.TARGETS[-1].title}
    assert "Targets (issue 10)" in table and data["model"]["latency_seconds"] == sizes.latency


def test_json_goes_to_stdout_instead_of_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--quick", "--only", "orchestrator", "--json", "-q", "--latency", "0"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert [s["key"] for s in data["scenarios"]] == [f"orchestrator/{n}" for n in bench.QUICK.orchestrator_tasks]
    assert data["model"]["latency_seconds"] == 0 and data["overhead"] == [] and data["startup"] == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--latency", "-1"], "--latency takes seconds from 0 to 10"),
        (["--token-latency", "11"], "--token-latency takes seconds from 0 to 10"),
        (["--json", "/no/such/folder/bench.json"], "the folder /no/such/folder does not exist"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--quick", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_only_picks_groups_and_scenarios_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    def keys(*only: str) -> list[str]:
        return [scenario.key for scenario in bench.scenarios_of(bench.FULL, only)]

    assert keys("faq_chain/50") == ["faq_chain/50", "faq_chain/50/max_concurrency=50"]
    assert keys("faq_chain/50/max_concurrency=50", "orchestrator/3", "faq_chain/10") == [
        "orchestrator/3",
        "faq_chain/10",
        "faq_chain/50/max_concurrency=50",
    ]
    assert keys("parallel") == ["parallel/routing/64", "parallel/faq_chain/10x1", "parallel/faq_chain/10x4"]
    assert keys("overhead") == []
    assert main(["bench", "--only", "everything"]) == 2
    err = capsys.readouterr().err
    assert "--only everything: no such group or scenario" in err and len(err.strip().splitlines()) == 1


def test_a_new_workflow_joins_the_bench_by_its_catalog_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(WORKFLOWS, "routing_again", WORKFLOWS["routing"])
    keys = [s.key for s in bench.catalog_scenarios(bench.QUICK)]
    assert keys == [f"catalog/{name}" for name in WORKFLOWS]


def test_product_sheets_hold_room_for_fifty_distinct_questions() -> None:
    sheets = bench.product_sheets()
    facts = [sentence for sheet in sheets for sentence in sheet["content"].split(". ")]
    assert len(set(facts)) == len(facts) >= 50
    assert bench.faq_input(10) == {"num_questions": 10}
    assert bench.faq_input(50)["documents"] == sheets


def test_benchmarks_missing_leave_the_canon_scenarios_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench, "BENCHMARKS", tmp_path)
    assert bench.canon_scenarios(bench.QUICK) == []


def test_the_counting_pool_counts_each_thread_hop() -> None:
    pool = bench.CountingPool()

    async def hop_twice() -> list[int]:
        asyncio.get_running_loop().set_default_executor(pool)
        return [await asyncio.to_thread(len, "ab"), await asyncio.to_thread(len, "abc")]

    assert asyncio.run(hop_twice()) == [2, 3] and pool.submitted == 2
