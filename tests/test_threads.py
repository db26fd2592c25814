"""Durable threads from the CLI: pause, resume in another process, history, replay and fork, bad input."""

import asyncio
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from graphs.catalog import WORKFLOWS
from graphs.cli import main, threads
from graphs.cli.progress import as_data
from nodes import llm
from state.context import Context
from tests.conftest import edited_text, nodes_run, run_cli, updates_of, without_run_ids
from tests.fakes import GeminiServer

FAKE_KEY = "AIzaSyTHIS-IS-NOT-A-REAL-KEY-0123456789"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def lesson(name: str) -> str:
    return WORKFLOWS[name].examples[0]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_run_paused_in_one_process_resumes_in_another_with_the_uninterrupted_result(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = lesson(name)
    last = asyncio.run(nodes_run(WORKFLOWS[name], text))[-1]
    uninterrupted = run_json(capsys, "run", name, text, "--model", "offline")
    db = str(tmp_path / "threads.sqlite")
    # A key that cannot work: if `resume` forgot the thread's --model offline, it would pick Gemini and fail.
    env = {"GOOGLE_API_KEY": FAKE_KEY, llm.BASE_URL_VARIABLE: "http://127.0.0.1:9"}

    paused = run_cli(
        "run", name, text, "--model", "offline", "--thread", "t-1", "--interrupt-before", last, "--db", db, **env
    )
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith(f"Paused before {last}")
    assert f"(workflow {name}, thread t-1, checkpoint " in paused.stdout
    assert f"workflows resume --thread t-1 --db {db}" in paused.stdout

    resumed = run_cli("resume", "--thread", "t-1", "--db", db, "--json", **env)
    assert resumed.returncode == 0, resumed.stderr
    finished = json.loads(resumed.stdout)
    assert finished.pop("thread") == "t-1" and finished.pop("checkpoint")
    # The resume used only what was left; with what the paused run used, the thread used what one run does.
    assert finished.pop("usage")["thread_total"] == uninterrupted.pop("usage")["total"]
    assert without_run_ids(finished) == without_run_ids(uninterrupted)
    assert FAKE_KEY not in Path(db).read_bytes().decode("latin-1")


def canonical(pairs: list[tuple[str, Any]]) -> list[str]:
    # Parallel branches of one step may finish in any order; compare the writes as a sorted list. History shows
    # an Overwrite write as its value, so the stream's writes are compared the same way.
    return sorted(
        json.dumps(without_run_ids([node, as_data(wrote)]), sort_keys=True, ensure_ascii=False) for node, wrote in pairs
    )


@pytest.mark.parametrize("name", WORKFLOWS)
def test_history_lists_each_node_that_ran_and_what_it_wrote(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = WORKFLOWS[name]
    expected = asyncio.run(updates_of(workflow, lesson(name)))
    last = expected[-1][0]
    before_last = expected[: [node for node, _ in expected].index(last)]
    db = str(tmp_path / "t.sqlite")
    paused = run_json(capsys, "run", name, lesson(name), "--thread", "h", "--interrupt-before", last, "--db", db)
    assert paused["paused_before"] == [node for node, _ in expected if node == last]

    before = run_json(capsys, "history", "--thread", "h", "--db", db)
    assert before["workflow"] == name
    assert (before["status"], before["errors"]) == ("paused", [])
    rows = before["checkpoints"]
    assert rows[-1]["checkpoint"] == paused["checkpoint"]
    assert rows[-1]["next"] == paused["paused_before"]
    assert rows[1]["ran"] == [{"node": "__start__", "wrote": workflow.make_input(lesson(name))}]
    assert canonical([(r["node"], r["wrote"]) for row in rows[2:] for r in row["ran"]]) == canonical(before_last)

    run_json(capsys, "resume", "--thread", "h", "--db", db)
    finished = run_json(capsys, "history", "--thread", "h", "--db", db)
    assert (finished["status"], finished["errors"]) == ("finished", [])
    after = finished["checkpoints"]
    assert after[: len(rows)] == rows
    assert canonical([(r["node"], r["wrote"]) for row in after[2:] for r in row["ran"]]) == canonical(expected)

    assert main(["history", "--thread", "h", "--db", db]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Thread h: workflow {name}, {len(after)} checkpoints, oldest first.")
    assert f"  {expected[0][0]} wrote " in text
    assert text.rstrip().splitlines()[-2] == "Finished."


@pytest.mark.parametrize("name", WORKFLOWS)
def test_replay_from_a_checkpoint_reruns_the_later_steps_on_a_new_branch(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.sqlite")
    first = run_json(capsys, "run", name, lesson(name), "--thread", "r", "--db", db)["results"][0]
    history = run_json(capsys, "history", "--thread", "r", "--db", db)["checkpoints"]
    start = history[1]  # the input is in the state; the first node has not run yet
    assert start["ran"][0]["node"] == "__start__"

    replayed = run_json(capsys, "resume", "--thread", "r", "--checkpoint", start["checkpoint"][:30], "--db", db)
    assert replayed["results"] == [first]
    branched = run_json(capsys, "history", "--thread", "r", "--db", db)["checkpoints"]
    assert branched[: len(history)] == history
    fork = branched[len(history)]
    assert (fork["source"], fork["parent"], fork["ran"]) == ("fork", start["checkpoint"], [])


@pytest.mark.parametrize("name", WORKFLOWS)
def test_editing_the_input_at_a_checkpoint_forks_a_run_on_the_edited_input(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = WORKFLOWS[name]
    first, other = workflow.examples[0], edited_text(workflow)
    db = str(tmp_path / "t.sqlite")
    order = asyncio.run(nodes_run(workflow, first))
    run_json(capsys, "run", name, first, "--thread", "f", "--interrupt-before", order[0], "--db", db)
    edits = [f"--set={key}={json.dumps(value)}" for key, value in workflow.make_input(other).items()]
    forked = run_json(capsys, "resume", "--thread", "f", *edits, "--db", db)
    fresh = run_json(capsys, "run", name, other, "--model", "offline")["results"]
    assert without_run_ids(forked["results"]) == without_run_ids(fresh)
    rows = run_json(capsys, "history", "--thread", "f", "--db", db)["checkpoints"]
    edit = next(row for row in rows if row["source"] == "update")
    assert edit["ran"] == [{"node": "(edit)", "wrote": workflow.make_input(other)}]


def test_the_thread_remembers_its_workflow_and_context_in_checkpoint_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.sqlite"
    name = next(iter(WORKFLOWS))
    args = ["run", name, lesson(name), "--thread", "m", "--db", str(db), "--model", "offline", "--max-concurrency", "3"]
    assert main(args) == 0, capsys.readouterr().err
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT metadata FROM checkpoints WHERE thread_id = 'm'").fetchall()
    assert rows
    for (raw,) in rows:
        metadata = json.loads(raw)
        assert metadata[threads.WORKFLOW_KEY] == name
        context = threads.context_from_json(metadata[threads.CONTEXT_KEY])
        assert context == Context(model="offline", max_concurrency=3)


def test_without_db_threads_go_to_the_user_state_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = next(iter(WORKFLOWS))
    assert not threads.default_db().exists()
    assert threads.default_db() == tmp_path / "state" / "workflows" / "threads.sqlite"  # conftest's XDG_STATE_HOME
    assert main(["run", name, lesson(name), "--thread", "d", "--model", "offline"]) == 0
    assert threads.default_db().is_file()
    assert main(["history", "--thread", "d"]) == 0
    assert capsys.readouterr().out.count("Finished.") == 1


@pytest.fixture
def finished_thread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    db = str(tmp_path / "t.sqlite")
    name = next(iter(WORKFLOWS))
    assert main(["run", name, lesson(name), "--thread", "done", "--db", db, "--model", "offline"]) == 0
    capsys.readouterr()
    return db


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resume", "--thread", "nope"], "unknown thread 'nope'"),
        (["history", "--thread", "nope"], "unknown thread 'nope'"),
        (["resume", "--thread", "done"], "nothing to resume in thread 'done': it has finished"),
        (["resume", "--thread", "done", "--checkpoint", "zzz"], "--checkpoint 'zzz' matches no checkpoint"),
        (["resume", "--thread", "done", "--interrupt-before", "nonode"], "has no node 'nonode'"),
        (["run", "NAME", "TEXT", "--thread", "done"], "thread 'done' already exists"),
        (["run", "NAME", "TEXT", "--thread", "new", "--interrupt-before", "nonode"], "has no node 'nonode'"),
        (["run", "NAME", "TEXT", "--interrupt-before", "nonode"], "--interrupt-before needs --thread ID"),
        (["run", "NAME", "--thread", "new"], "a thread holds one run: pass the input text"),
    ],
)
def test_bad_thread_input_is_one_clear_line_and_exit_code_2(
    args: list[str], message: str, finished_thread: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = next(iter(WORKFLOWS))
    argv = [{"NAME": name, "TEXT": lesson(name)}.get(arg, arg) for arg in args]
    assert main([*argv, "--db", finished_thread]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workflows: error: ") and message in err, err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("missing-folder/t.sqlite", "the folder"),
        (".", "is a folder"),
        ("junk.sqlite", "is not a usable thread store"),
    ],
)
@pytest.mark.parametrize("command", ["run", "history"])
def test_a_bad_db_path_is_one_clear_line_and_exit_code_2(
    db: str, message: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.sqlite").write_text("not a database\n")
    name = next(iter(WORKFLOWS))
    argv = ["run", name, lesson(name)] if command == "run" else ["history"]
    assert main([*argv, "--thread", "t", "--db", str(tmp_path / db)]) == 2
    err = capsys.readouterr().err
    expected = "no thread store" if command == "history" and db.startswith("missing") else message
    assert expected in err and err.count("\n") == 1, err
    assert (tmp_path / "junk.sqlite").read_text() == "not a database\n"
    assert not (tmp_path / "missing-folder").exists()


def test_a_run_that_fails_keeps_its_thread_says_so_and_resumes_once_the_cause_is_fixed(
    gemini: GeminiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # classify runs offline and finishes; the handler calls the local Gemini server with a key it rejects.
    text = lesson("routing")
    models = ["--model", "gemini-2.5-flash", "--node-model", "classify=offline"]
    db = str(tmp_path / "t.sqlite")
    hint = f"--thread f --db {db}"
    wrong = {"GOOGLE_API_KEY": FAKE_KEY, llm.BASE_URL_VARIABLE: gemini.url}

    failed = run_cli("run", "routing", text, *models, "--thread", "f", "--db", db, "--quiet", **wrong)
    assert failed.returncode == 1
    error, keeps = failed.stderr.splitlines()
    assert error.startswith("workflows: error: The model provider rejected the API key"), error
    assert keeps == (
        f"The thread keeps the steps that finished: workflows resume {hint} (after fixing the cause), "
        f"workflows history {hint}."
    )
    assert failed.stdout == ""

    history = run_json(capsys, "history", "--thread", "f", "--db", db)
    assert history["status"] == "failed"
    [stopped] = history["errors"]
    assert stopped["node"] == "technical_support" and "API key not valid" in stopped["error"]
    assert [r["node"] for row in history["checkpoints"] for r in row["ran"]] == ["__start__", "classify"]
    assert history["checkpoints"][-1]["next"] == ["technical_support"]
    assert main(["history", "--thread", "f", "--db", db]) == 0
    ending = capsys.readouterr().out.splitlines()[-2]
    assert ending.startswith("Stopped by an error in technical_support: ") and "API key not valid" in ending

    # Still the wrong key: resuming fails the same way and says the same.
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    assert main(["resume", "--thread", "f", "--db", db, "--quiet"]) == 1
    assert capsys.readouterr().err.splitlines()[1] == keeps

    right = {"GOOGLE_API_KEY": gemini.api_key, llm.BASE_URL_VARIABLE: gemini.url}
    resumed = run_cli("resume", "--thread", "f", "--db", db, "--json", **right)
    assert resumed.returncode == 0, resumed.stderr
    uninterrupted = run_cli("run", "routing", text, *models, "--json", **right)
    assert json.loads(resumed.stdout)["results"] == json.loads(uninterrupted.stdout)["results"]
    assert run_json(capsys, "history", "--thread", "f", "--db", db)["status"] == "finished"


def test_history_json_keeps_non_ascii_text_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    assert main(["run", "routing", "Mon reçu est faux — facture n° 7", "--thread", "u", "--db", db]) == 0
    capsys.readouterr()
    assert main(["history", "--thread", "u", "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    assert "Mon reçu est faux — facture n° 7" in out and "\\u" not in out


def test_a_thread_whose_run_failed_after_an_edit_still_resumes_with_its_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key that cannot work: if the thread's --model offline were lost, the default would pick Gemini and fail.
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    monkeypatch.setenv(llm.BASE_URL_VARIABLE, "http://127.0.0.1:9")
    db = str(tmp_path / "t.sqlite")
    text = lesson("routing")
    settings = ["--model", "offline", "--max-concurrency", "3"]
    paused = run_json(
        capsys, "run", "routing", text, *settings, "--thread", "e", "--interrupt-before", "classify", "--db", db
    )
    # The edit's checkpoint carries no run metadata, and the failing run after it (its query is over the input
    # limit, so classify refuses it) writes none.
    too_long = "x" * 60_000
    edit = ["resume", "--thread", "e", "--checkpoint", paused["checkpoint"], "--set", f"query={too_long}"]
    assert main([*edit, "--db", db]) == 1
    capsys.readouterr()

    history = run_json(capsys, "history", "--thread", "e", "--db", db)
    assert (history["workflow"], history["status"]) == ("routing", "failed")
    assert history["checkpoints"][-1]["source"] == "update"

    resumed = run_json(capsys, "resume", "--thread", "e", f"--set=query={json.dumps(text)}", "--db", db)
    assert resumed["results"] == run_json(capsys, "run", "routing", text, *settings)["results"]
    with sqlite3.connect(db) as connection:
        last = connection.execute("SELECT metadata FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1").fetchone()
    assert threads.context_from_json(json.loads(last[0])[threads.CONTEXT_KEY]) == Context(
        model="offline", max_concurrency=3
    )


def test_history_only_reads_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A SQLite file that is no thread store: history must refuse it, not turn it into one.
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()
    before = db.read_bytes()
    assert main(["history", "--thread", "t", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "is not a usable thread store (no such table: checkpoints)" in err and err.count("\n") == 1, err
    assert db.read_bytes() == before
    assert not (tmp_path / "other.sqlite-wal").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_history_reads_a_store_it_may_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "t.sqlite"
    assert main(["run", "routing", lesson("routing"), "--thread", "r", "--db", str(db)]) == 0
    capsys.readouterr()
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        assert main(["history", "--thread", "r", "--db", str(db)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.splitlines()[-2] == "Finished."
    finally:
        folder.chmod(0o755)


def test_a_run_refused_before_it_starts_creates_no_thread_store(capsys: pytest.CaptureFixture[str]) -> None:
    # No key, so Gemini cannot be used: the run stops before anything is stored, and leaves no state folder.
    assert main(["run", "routing", "hello", "--thread", "t", "--model", "gemini-2.5-flash"]) == 2
    assert "GOOGLE_API_KEY" in capsys.readouterr().err
    assert not threads.default_db().parent.parent.exists()


def test_json_says_whether_a_run_paused_or_finished_and_where_its_thread_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.sqlite")
    text = lesson("routing")
    paused = run_json(capsys, "run", "routing", text, "--thread", "j", "--interrupt-before", "classify", "--db", db)
    assert (paused["status"], paused["thread"], paused["paused_before"]) == ("paused", "j", ["classify"])
    finished = run_json(capsys, "resume", "--thread", "j", "--db", db)
    last = run_json(capsys, "history", "--thread", "j", "--db", db)["checkpoints"][-1]["checkpoint"]
    assert (finished["status"], finished["thread"], finished["checkpoint"]) == ("finished", "j", last)
    assert finished["workflow"] == "routing" and len(finished["results"]) == 1
    plain = run_json(capsys, "run", "routing", text)
    assert plain["status"] == "finished" and "thread" not in plain and "checkpoint" not in plain


def test_thread_ids_are_stripped_and_may_not_be_blank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    assert main(["run", "routing", lesson("routing"), "--thread", " a ", "--db", db]) == 0
    assert main(["history", "--thread", "a", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[-2] == "Finished."
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall() == [("a",)]
    connection.close()
    for command in (["run", "routing", "hi"], ["history"], ["resume"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--thread", "  ", "--db", db])
        assert exited.value.code == 2
        assert "--thread: needs a non-empty ID" in capsys.readouterr().err


def test_a_thread_needs_one_input_and_the_hint_shows_where_it_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "summarize_translate", "--thread", "s", "--db", str(tmp_path / "t.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "workflows: error: a thread holds one run: pass the input text, e.g. "
        "workflows run summarize_translate TEXT --thread s\n"
    )
