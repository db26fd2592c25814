"""Live progress, the usage table, budgets and pictures of `workflows` (graphs/cli: progress, costs, picture)."""

import io
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from rich.console import Console

from graphs.catalog import WORKFLOWS
from graphs.cli import threads
from graphs.cli.commands import main
from graphs.cli.progress import PlainProgress, RichProgress, as_data, stream_run
from nodes import llm
from state.context import Context
from state.orchestrator import LESSON_MESSAGE
from tests.conftest import run_cli, without_run_ids
from tests.fakes import Fault, GeminiServer

WORKERS = ("billing_inquiry #1", "product_return #2", "status_update #3")


async def test_a_terminal_shows_the_plan_each_worker_and_the_email_live() -> None:
    screen = io.StringIO()
    progress = RichProgress(Console(file=screen, force_terminal=True, width=160))
    graph = WORKFLOWS["orchestrator"].load()
    meter = llm.UsageMeter()
    try:
        result = await stream_run(
            graph, {"message": LESSON_MESSAGE}, {}, Context(model="offline"), meter, progress, stream_text=True
        )
    finally:
        progress.close()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert re.search(r"✓ plan done \(.* s; 1 call, [\d,]+ tokens\): tasks: billing_inquiry INV-7890", shown)
    for worker in WORKERS:
        assert f"✓ {worker}" in shown
    assert "✓ synthesize done" in shown
    assert result["email"].splitlines()[0] in shown  # streamed as it was written
    plain = dict(await graph.ainvoke({"message": LESSON_MESSAGE}, context=Context(model="offline")))
    assert without_run_ids(result) == without_run_ids(plain)


def test_without_a_terminal_progress_is_plain_lines_on_stderr_and_usage_ends_stdout() -> None:
    done = run_cli("run", "orchestrator")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "plan ..." in lines
    assert any(line.startswith("plan done (") and "tasks: billing_inquiry INV-7890" in line for line in lines)
    for worker in WORKERS:
        assert f"{worker.split()[0]} {worker.split()[1]}" in done.stderr
        assert any(line.startswith(worker) and " done (" in line for line in lines), worker
    table = done.stdout[done.stdout.index("\nnode ") :]
    assert re.search(r"\nplan +1 +[\d,]+ +[\d,]+ +0 +\$0\n", table)
    assert re.search(r"\ntotal +3 ", table)  # plan, the billing worker's concern, synthesize
    assert "Gemini list prices of" in table


def test_quiet_shows_no_progress_and_json_only_adds_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "routing", "I was charged twice", "--model", "offline", "--json", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    shown = json.loads(captured.out)
    assert list(shown) == ["workflow", "status", "usage", "results"]
    assert shown["results"][0]["intent"] == "Billing Inquiry"
    usage = shown["usage"]
    assert set(usage["nodes"]) == {"classify", "billing_inquiry"}
    assert usage["total"]["calls"] == 2 and usage["total"]["cost"] == 0
    assert usage["total"]["total_tokens"] == sum(n["total_tokens"] for n in usage["nodes"].values())


def test_stream_prints_prose_as_it_arrives_and_never_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "routing", "My internet connection is not working.", "--model", "offline", "--stream"]) == 0
    err = capsys.readouterr().err
    assert "technical_support | You wrote: “My internet connection is not working.”" in err
    assert "classify |" not in err  # the classifier answers in JSON


def test_a_failed_call_line(gemini: GeminiServer, capsys: pytest.CaptureFixture[str]) -> None:
    gemini.scripted = [Fault(503)]
    assert main(["run", "routing", "What are your opening hours?", "--node-model", "classify=offline"]) == 0
    err = capsys.readouterr().err
    assert "general_question: a model call failed: " in err
    assert re.search(
        r"general_question: a model call failed: try 2 in [0-9.]+ s: The model provider had a server error ", err
    )
    assert re.search(r"general_question done \(.*; 1 call, ", err), "retried inside one call, which then succeeded"


def test_a_budget_stops_the_run_and_the_thread_resumes_with_a_larger_one(thread_db: str) -> None:
    # The thread's budget counts what its earlier runs used, kept in the store beside the checkpoints.
    db = thread_db
    whole = run_cli("run", "orchestrator", LESSON_MESSAGE, "--json", "-q")
    nodes = json.loads(whole.stdout)["usage"]["nodes"]
    # Spent by the plan and the billing worker, so the run stops before the synthesizer's call.
    budget = nodes["plan"]["total_tokens"] + nodes["billing_inquiry"]["total_tokens"]
    stopped = run_cli(
        "run", "orchestrator", LESSON_MESSAGE, "--thread", "b", "--db", db, "--max-tokens", str(budget), "-q"
    )
    assert stopped.returncode == 3, stopped.stderr
    assert "workflows: stopped: the token budget is spent" in stopped.stderr
    assert f"workflows resume --thread b --db {shlex.quote(threads.shown_db(db))} --max-tokens N" in stopped.stderr
    assert re.search(r"\ntotal +\d", stopped.stdout)
    # history and threads call it stopped by the budget, and say to resume with a larger one.
    told = run_cli("history", "--thread", "b", "--db", db)
    assert "Stopped by the budget before synthesize's model call" in told.stdout
    assert f"resume --thread b --db {shlex.quote(threads.shown_db(db))} --max-tokens N" in told.stdout
    assert json.loads(run_cli("history", "--thread", "b", "--db", db, "--json").stdout)["status"] == "stopped"
    assert json.loads(run_cli("threads", "--db", db, "--json").stdout)["threads"][0]["status"] == "stopped"
    again = run_cli("resume", "--thread", "b", "--db", db, "-q", "--json")
    assert again.returncode == 3  # the thread keeps its budget, and it is spent
    assert json.loads(again.stdout)["status"] == "stopped"
    # In text, a resume stopped before its first call says so, not with an empty usage table.
    told_again = run_cli("resume", "--thread", "b", "--db", db, "-q")
    assert told_again.returncode == 3
    assert told_again.stdout.splitlines()[:1] == ["Usage: no model calls in this run."], told_again.stdout
    assert re.search(r"^The thread so far: [\d,]+ tokens, ", told_again.stdout, re.M)
    resumed = run_cli("resume", "--thread", "b", "--db", db, "--max-tokens", "100000", "-q", "--json")
    assert resumed.returncode == 0, resumed.stderr
    finished = json.loads(resumed.stdout)
    assert finished["results"][0]["email"].startswith("Dear")
    assert set(finished["usage"]["nodes"]) == {"synthesize"}  # only what was left ran
    assert finished["usage"]["thread_total"]["calls"] == 3


def test_a_budget_without_a_thread_says_nothing_was_kept(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "summarize_translate", "A text. " * 20, "--model", "offline", "--max-tokens", "1", "-q"]) == 3
    err = capsys.readouterr().err
    assert "stopped before translate's model call" in err  # summarize's call spent the one token allowed
    assert "run with --thread ID" in err


@pytest.mark.parametrize("args", [["--max-tokens", "0"], ["--max-cost", "-1"], ["--max-cost", "abc"]])
def test_a_bad_budget_is_a_usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "routing", "hi", *args])
    assert exited.value.code == 2


@pytest.mark.parametrize("name", WORKFLOWS)
def test_draw_writes_a_picture_of_every_node_and_edge(name: str, tmp_path: Path) -> None:
    drawable = WORKFLOWS[name].load().get_graph()
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    assert main(["draw", name, "--svg", str(svg)]) == 0
    assert main(["draw", name, "--png", str(png)]) == 0
    text = svg.read_text()
    labels = re.findall(r">([^<>]+)</text>", text)
    assert sorted(labels) == sorted({"__start__": "start", "__end__": "end"}.get(n, n) for n in drawable.nodes)
    assert text.count("stroke-dasharray") == sum(edge.conditional for edge in drawable.edges)
    assert text.count("<polyline") == len(drawable.edges)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    boxes = [tuple(map(float, m)) for m in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', text)]
    for index, (x, y, width) in enumerate(boxes):  # no two boxes of a layer overlap
        for other_x, other_y, other_width in boxes[index + 1 :]:
            assert y != other_y or x + width <= other_x or other_x + other_width <= x


def test_draw_png_without_pillow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main(["draw", "routing", "--png", str(tmp_path / "g.png")]) == 2
    assert "pip install 'langgraph-workflow-patterns[pictures]'" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_overwrite_writes_read_as_data() -> None:
    wrapped = {"results": {"__overwrite__": []}, "notes": {"__overwrite__": ["a"]}, "deep": [{"__overwrite__": 1}]}
    assert as_data(wrapped) == {"results": [], "notes": ["a"], "deep": [1]}
    assert as_data({"__overwrite__": 1, "other": 2}) == {"__overwrite__": 1, "other": 2}


def test_plain_progress_names_the_run_of_each_line() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.started("2/3", "t1", "answer_question", "#4 Why?")
    progress.text("2/3", "t1", "answer_question", "Because\nit is")
    progress.finished("t1", {"answered": [{"question": "Why?"}]}, None, llm.Usage(calls=2, input_tokens=5))
    assert out.getvalue().splitlines() == [
        "[2/3] answer_question #4 Why? ...",
        "[2/3] answer_question | Because",
        "[2/3] answer_question | it is",
        re.sub(r"\(0\.\d s", "(0.0 s", out.getvalue().splitlines()[3]),
    ]
    assert out.getvalue().splitlines()[3].endswith("2 calls, 5 tokens): answered: Why?")


def test_compare_prices_both_graphs(gemini: GeminiServer, capsys: pytest.CaptureFixture[str]) -> None:
    gemini.thoughts_tokens = 10
    assert main(["compare", "faq", "--questions", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for name, calls in {"single call": 1, "chain": 1 + 2 * 2}.items():
        total = report[name]["usage"]["total"]
        assert total["calls"] == report[name]["calls"] == calls
        assert total["thinking_tokens"] == 10 * calls
        assert total["cost"] > 0
