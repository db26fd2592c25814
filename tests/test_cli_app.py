"""The `workflows` app around the runs: stdin, input fields, list --json, --version, help, the threads command."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphs.catalog import WORKFLOWS
from graphs.cli.commands import main
from nodes.workers import WORKERS
from tests.conftest import run_cli, without_run_ids


@pytest.mark.parametrize("name", WORKFLOWS)
def test_text_from_a_pipe_runs_every_workflow(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = WORKFLOWS[name].examples[0]
    assert main(["run", name, text, "--model", "offline", "--json", "-q"]) == 0
    given = json.loads(capsys.readouterr().out)["results"]
    piped = run_cli("run", name, "--json", "-q", stdin=text)
    assert piped.returncode == 0, piped.stderr
    assert without_run_ids(json.loads(piped.stdout)["results"]) == without_run_ids(given)
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["run", name, "-", "--model", "offline", "--json", "-q"]) == 0
    assert without_run_ids(json.loads(capsys.readouterr().out)["results"]) == without_run_ids(given)


def test_an_empty_pipe_is_no_text_but_an_empty_dash_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lesson = run_cli("run", "routing", "--json", "-q", stdin="")
    assert len(json.loads(lesson.stdout)["results"]) == len(WORKFLOWS["routing"].examples)
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    assert main(["run", "routing", "-"]) == 2
    assert "input text is empty" in capsys.readouterr().err


def test_input_fields_come_from_the_schema_and_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    text = "The sun is a star. It is hot. It is far away."
    args = ["run", "summarize_translate", text, "--model", "offline", "--json", "-q"]
    assert main([*args, "--input", "language=Italian", "--input", "max_words=60"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["language"] == "Italian"
    assert result["translation"].startswith("[Italian translation unavailable offline")
    assert main([*args, "--input", "max_words=many"]) == 2
    assert "--input max_words: Input should be a valid integer" in capsys.readouterr().err
    assert main([*args, "--input", "colour=red"]) == 2
    assert "FIELD one of: text, language, max_words" in capsys.readouterr().err


def test_list_json_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    listed = {item["name"]: item for item in json.loads(capsys.readouterr().out)}
    assert list(listed) == list(WORKFLOWS)
    assert listed["summarize_translate"]["inputs"].keys() == {"text", "language", "max_words"}
    assert listed["routing"]["nodes"][0] == "classify"
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("langgraph-workflow-patterns ")
    for command in ("run", "draw"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = capsys.readouterr().out
        assert f"orchestrator: plan, {', '.join(WORKERS)}, synthesize" in shown  # with any worker a user added
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "examples:\n  workflows list" in capsys.readouterr().out


def test_threads_lists_and_deletes(thread_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = thread_db
    quiet = ["--model", "offline", "--db", db, "-q"]
    assert main(["run", "routing", "I was charged twice", "--thread", "done", *quiet]) == 0
    pause = ["--interrupt-before", "billing_inquiry"]
    assert main(["run", "routing", "I was charged twice", "--thread", "waits", *pause, *quiet]) == 0
    capsys.readouterr()
    assert main(["threads", "--db", db, "--json"]) == 0
    rows = {row["thread"]: row for row in json.loads(capsys.readouterr().out)["threads"]}
    assert rows["done"]["status"] == "finished" and rows["done"]["usage"]["calls"] == 2
    assert rows["waits"]["status"] == "paused" and rows["waits"]["next"] == ["billing_inquiry"]
    assert {row["workflow"] for row in rows.values()} == {"routing"}
    assert main(["threads", "--db", db]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["thread", "workflow", "status", "step", "updated", "tokens", "cost"]
    assert any(line.startswith("waits ") and "paused before billing_inquiry" in line for line in table)
    assert main(["threads", "--db", db, "--delete", "done"]) == 0
    assert main(["threads", "--db", db, "--delete", "done"]) == 2
    assert "unknown thread 'done'" in capsys.readouterr().err
    assert main(["threads", "--db", db, "--json"]) == 0
    assert [row["thread"] for row in json.loads(capsys.readouterr().out)["threads"]] == ["waits"]


def test_history_shows_values_as_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    message = WORKFLOWS["orchestrator"].examples[0]
    assert main(["run", "orchestrator", message, "--thread", "h", "--model", "offline", "--db", db, "-q"]) == 0
    capsys.readouterr()
    assert main(["history", "--thread", "h", "--db", db]) == 0
    assert "__overwrite__" not in capsys.readouterr().out
    assert main(["history", "--thread", "h", "--db", db, "--json"]) == 0
    shown = capsys.readouterr().out
    assert "__overwrite__" not in shown
    plan = next(ran for row in json.loads(shown)["checkpoints"] for ran in row["ran"] if ran["node"] == "plan")
    assert plan["wrote"]["results"] == []


def test_listing_imports_no_graph_model_layer_pydantic_or_asyncio() -> None:
    # How fast `workflows list` starts is the bench's to show; what it must not load is checked here.
    code = (
        "import sys\nfrom graphs.cli.commands import main\nassert main(['list']) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'asyncio', 'pydantic', 'langchain_core', 'langgraph', "
        "'nodes'}), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
    assert all(name in done.stdout for name in WORKFLOWS)


@pytest.mark.parametrize(
    ("command", "workflows"),
    [(["run"], ["routing"]), (["compare"], ["faq_single_call", "faq_chain"]), (["eval"], ["routing"])],
)
def test_the_node_model_example_in_each_help_names_a_node_the_command_runs(
    command: list[str], workflows: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    example = shown.split("--node-model NODE=MODEL model for one node, e.g. ")[1].split("=")[0]
    nodes = {node for name in workflows for node in WORKFLOWS[name].load().get_graph().nodes}
    assert example in nodes, f"{command[0]} --help names {example!r}, not one of {sorted(nodes)}"
