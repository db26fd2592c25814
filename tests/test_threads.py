"""Durable threads from the CLI: pause, resume in another process, history, replay and fork, bad input.

Most tests run on both thread stores, a SQLite file and a PostgreSQL database (`thread_db`; the PostgreSQL runs are
marked `postgres`), and end with the same results on both.
"""

import asyncio
import importlib
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graphs.catalog import WORKFLOWS
from graphs.cli import main, threads
from graphs.cli.progress import as_data
from nodes import llm
from nodes.offline import answer_text
from state.context import Context
from state.orchestrator import LESSON_MESSAGE
from tests import postgres
from tests.conftest import (
    clean_env,
    edited_text,
    nodes_run,
    run_cli,
    stored_bytes,
    updates_of,
    without_run_ids,
    workflows_command,
)
from tests.fakes import GeminiServer, Slow

FAKE_KEY = "AIzaSyTHIS-IS-NOT-A-REAL-KEY-0123456789"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def lesson(name: str) -> str:
    return WORKFLOWS[name].examples[0]


def hint(thread: str, db: str) -> str:
    """The `--thread T --db DB` the CLI prints for a thread: a database URL with its password as ***."""
    return f"--thread {thread} --db {shlex.quote(threads.shown_db(db))}"


def checkpoint_metadata(db: str, thread: str) -> list[dict[str, Any]]:
    """The metadata of each checkpoint of `thread`, newest first, read through the store's own saver."""

    async def read() -> list[dict[str, Any]]:
        async with threads.open_store(db, create=False, read_only=True) as stores:
            return [dict(c.metadata) async for c in stores.saver.alist(threads.thread_config(thread))]

    return asyncio.run(read())


def thread_ids(db: str) -> list[str]:
    async def read() -> list[str]:
        async with threads.open_store(db, create=False, read_only=True) as stores:
            return await stores.tables.thread_ids()

    return asyncio.run(read())


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_run_paused_in_one_process_resumes_in_another_with_the_uninterrupted_result(
    name: str, thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = lesson(name)
    last = asyncio.run(nodes_run(WORKFLOWS[name], text))[-1]
    uninterrupted = run_json(capsys, "run", name, text, "--model", "offline")
    db = thread_db
    # A key that cannot work: if `resume` forgot the thread's --model offline, it would pick Gemini and fail.
    env = {"GOOGLE_API_KEY": FAKE_KEY, llm.BASE_URL_VARIABLE: "http://127.0.0.1:9"}

    paused = run_cli(
        "run", name, text, "--model", "offline", "--thread", "t-1", "--interrupt-before", last, "--db", db, **env
    )
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith(f"Paused before {last}")
    assert f"(workflow {name}, thread t-1, checkpoint " in paused.stdout
    assert f"workflows resume {hint('t-1', db)}" in paused.stdout

    resumed = run_cli("resume", "--thread", "t-1", "--db", db, "--json", **env)
    assert resumed.returncode == 0, resumed.stderr
    finished = json.loads(resumed.stdout)
    assert finished.pop("thread") == "t-1" and finished.pop("checkpoint")
    # The resume used only what was left; with what the paused run used, the thread used what one run does.
    assert finished.pop("usage")["thread_total"] == uninterrupted.pop("usage")["total"]
    assert without_run_ids(finished) == without_run_ids(uninterrupted)
    assert FAKE_KEY.encode() not in stored_bytes(db)


SAMPLED = ("routing", "orchestrator", "faq_chain")
"""The workflows whose history, replay and fork also run on PostgreSQL, to keep the suite fast: a plain chain, a
`Send` fan-out that keeps records in the store, and a wide fan-out. Every workflow pauses and resumes on both."""
SAMPLED_ON_POSTGRES = [pytest.param(name, "sqlite", id=f"sqlite-{name}") for name in WORKFLOWS] + [
    pytest.param(name, "postgres", id=f"postgres-{name}", marks=pytest.mark.postgres) for name in SAMPLED
]


def canonical(pairs: list[tuple[str, Any]]) -> list[str]:
    # Parallel branches of one step may finish in any order; compare the writes as a sorted list. History shows
    # an Overwrite write as its value, so the stream's writes are compared the same way.
    return sorted(
        json.dumps(without_run_ids([node, as_data(wrote)]), sort_keys=True, ensure_ascii=False) for node, wrote in pairs
    )


@pytest.mark.parametrize(("name", "thread_db"), SAMPLED_ON_POSTGRES, indirect=["thread_db"])
def test_history_lists_each_node_that_ran_and_what_it_wrote(
    name: str, thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = WORKFLOWS[name]
    expected = asyncio.run(updates_of(workflow, lesson(name)))
    last = expected[-1][0]
    before_last = expected[: [node for node, _ in expected].index(last)]
    db = thread_db
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


@pytest.mark.parametrize(("name", "thread_db"), SAMPLED_ON_POSTGRES, indirect=["thread_db"])
def test_replay_from_a_checkpoint_reruns_the_later_steps_on_a_new_branch(
    name: str, thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = thread_db
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


@pytest.mark.parametrize(("name", "thread_db"), SAMPLED_ON_POSTGRES, indirect=["thread_db"])
def test_editing_the_input_at_a_checkpoint_forks_a_run_on_the_edited_input(
    name: str, thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = WORKFLOWS[name]
    first, other = workflow.examples[0], edited_text(workflow)
    db = thread_db
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
    thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = next(iter(WORKFLOWS))
    args = [
        "run",
        name,
        lesson(name),
        "--thread",
        "m",
        "--db",
        thread_db,
        "--model",
        "offline",
        "--max-concurrency",
        "3",
    ]
    assert main(args) == 0, capsys.readouterr().err
    stored = checkpoint_metadata(thread_db, "m")
    assert stored
    for metadata in stored:
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


def test_before_any_thread_the_default_store_lists_none_but_a_missing_db_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fresh machine: the default store is made by the first thread run, so listing before it is no mistake.
    assert not threads.default_db().exists()
    assert main(["threads"]) == 0
    assert "No threads; start one with: workflows run NAME TEXT --thread ID" in capsys.readouterr().out
    assert main(["threads", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"threads": []}
    assert not threads.default_db().exists()  # listing made no store
    # A path given with --db that holds nothing may be mistyped: it is refused, and not created.
    assert main(["threads", "--db", str(tmp_path / "mistyped.sqlite")]) == 2
    assert "no thread store at" in capsys.readouterr().err
    assert not (tmp_path / "mistyped.sqlite").exists()


@pytest.fixture
def finished_thread(thread_db: str, capsys: pytest.CaptureFixture[str]) -> str:
    db = thread_db
    name = next(iter(WORKFLOWS))
    assert main(["run", name, lesson(name), "--thread", "done", "--db", db, "--model", "offline"]) == 0
    capsys.readouterr()
    return db


def test_the_hint_to_start_a_thread_names_the_store_it_was_given(
    finished_thread: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--thread", "nope", "--db", finished_thread]) == 2
    shown = shlex.quote(threads.shown_db(finished_thread))  # a database URL's password is never printed
    hint = f"workflows run NAME TEXT --thread nope --db {shown}"
    assert capsys.readouterr().err.rstrip().endswith(f"start one with: {hint}")
    missing = str(tmp_path / "elsewhere.sqlite")
    assert main(["threads", "--db", missing]) == 2
    assert capsys.readouterr().err.rstrip().endswith(f"--thread ID --db {shlex.quote(missing)}")
    assert main(["threads", "--delete", "done", "--db", finished_thread]) == 0
    capsys.readouterr()
    assert main(["threads", "--db", finished_thread]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"--thread ID --db {shown}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resume", "--thread", "nope"], "unknown thread 'nope'"),
        (["history", "--thread", "nope"], "unknown thread 'nope'"),
        (["resume", "--thread", "done"], "nothing to resume in thread 'done': it has finished"),
        (["resume", "--thread", "done", "--checkpoint", "zzz"], "--checkpoint 'zzz' matches no checkpoint"),
        (["resume", "--thread", "done", "--interrupt-before", "nonode"], "has no node 'nonode'"),
        (
            ["run", "NAME", "TEXT", "--thread", "done"],
            "already exists (NAME); it has finished: see it with `workflows history",
        ),
        (["run", "NAME", "TEXT", "--thread", "new", "--interrupt-before", "nonode"], "has no node 'nonode'"),
        (["run", "NAME", "TEXT", "--interrupt-before", "nonode"], "--interrupt-before needs --thread ID"),
        (["run", "NAME", "TEXT"], "--db needs --thread ID"),  # it was ignored: the run kept nothing
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
    assert err.startswith("workflows: error: ") and message.replace("NAME", name) in err, err
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
    gemini: GeminiServer, thread_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # classify runs offline and finishes; the handler calls the local Gemini server with a key it rejects.
    text = lesson("routing")
    models = ["--model", "gemini-2.5-flash", "--node-model", "classify=offline"]
    db = thread_db
    wrong = {"GOOGLE_API_KEY": FAKE_KEY, llm.BASE_URL_VARIABLE: gemini.url}

    failed = run_cli("run", "routing", text, *models, "--thread", "f", "--db", db, "--quiet", **wrong)
    assert failed.returncode == 1
    error, keeps = failed.stderr.splitlines()
    assert error.startswith("workflows: error: The model provider rejected the API key"), error
    assert keeps == (
        f"The thread keeps the steps that finished: workflows resume {hint('f', db)} (after fixing the cause), "
        f"workflows history {hint('f', db)}."
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


def test_history_json_keeps_non_ascii_text_readable(thread_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = thread_db
    assert main(["run", "routing", "Mon reçu est faux — facture n° 7", "--thread", "u", "--db", db]) == 0
    capsys.readouterr()
    assert main(["history", "--thread", "u", "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    assert "Mon reçu est faux — facture n° 7" in out and "\\u" not in out


def test_a_thread_whose_run_failed_after_an_edit_still_resumes_with_its_settings(
    thread_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key that cannot work: if the thread's --model offline were lost, the default would pick Gemini and fail.
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    monkeypatch.setenv(llm.BASE_URL_VARIABLE, "http://127.0.0.1:9")
    db = thread_db
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
    last = checkpoint_metadata(db, "e")[0]
    assert threads.context_from_json(last[threads.CONTEXT_KEY]) == Context(model="offline", max_concurrency=3)


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
    thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = thread_db
    text = lesson("routing")
    paused = run_json(capsys, "run", "routing", text, "--thread", "j", "--interrupt-before", "classify", "--db", db)
    assert (paused["status"], paused["thread"], paused["paused_before"]) == ("paused", "j", ["classify"])
    finished = run_json(capsys, "resume", "--thread", "j", "--db", db)
    last = run_json(capsys, "history", "--thread", "j", "--db", db)["checkpoints"][-1]["checkpoint"]
    assert (finished["status"], finished["thread"], finished["checkpoint"]) == ("finished", "j", last)
    assert finished["workflow"] == "routing" and len(finished["results"]) == 1
    plain = run_json(capsys, "run", "routing", text)
    assert plain["status"] == "finished" and "thread" not in plain and "checkpoint" not in plain


def test_thread_ids_are_stripped_and_may_not_be_blank(thread_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = thread_db
    assert main(["run", "routing", lesson("routing"), "--thread", " a ", "--db", db]) == 0
    assert main(["history", "--thread", "a", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[-2] == "Finished."
    assert thread_ids(db) == ["a"]
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


# --- Several processes on one store ----------------------------------------------------------------------------


def test_two_processes_resume_different_threads_of_one_store_at_once(thread_db: str, gemini: GeminiServer) -> None:
    env = {"GOOGLE_API_KEY": gemini.api_key, llm.BASE_URL_VARIABLE: gemini.url}
    models = ["--model", "gemini-2.5-flash", "--node-model", "classify=offline"]
    texts = {"a": lesson("routing"), "b": WORKFLOWS["routing"].examples[1]}

    def at_once(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        running = [
            subprocess.Popen(
                [*workflows_command(), *command, "--db", thread_db, "--json", "-q"],
                env=clean_env(**env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for command in commands
        ]
        finished = []
        for process in running:
            out, err = process.communicate(timeout=120)
            finished.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        return finished

    # Both threads start on a new store at once: both create its tables, neither trips over the other.
    started = at_once(
        *(
            ["run", "routing", text, *models, "--thread", thread, "--interrupt-before", "classify"]
            for thread, text in texts.items()
        )
    )
    assert [done.returncode for done in started] == [0, 0], [done.stderr for done in started]
    assert [json.loads(done.stdout)["status"] for done in started] == ["paused", "paused"]

    # Each resume's model call waits until the other's has arrived, so both processes are mid-run on the same
    # store at the same time (a barrier, not a timing guess: if they ran one after the other, both would fail).
    both = threading.Barrier(2, timeout=120)

    def meet(messages: list[Any], schema: dict[str, Any] | None) -> str:
        both.wait()
        return answer_text(messages)

    gemini.respond = meet
    resumed = at_once(*(["resume", "--thread", thread] for thread in texts))
    gemini.respond = None
    assert [done.returncode for done in resumed] == [0, 0], [done.stderr for done in resumed]
    for (thread, text), done in zip(texts.items(), resumed, strict=True):
        alone = run_cli("run", "routing", text, *models, "--json", "-q", **env)
        assert json.loads(done.stdout)["results"] == json.loads(alone.stdout)["results"], thread
        assert json.loads(done.stdout)["thread"] == thread
    assert sorted(thread_ids(thread_db)) == ["a", "b"]


# --- PostgreSQL: bad URLs, missing packages, passwords ----------------------------------------------------------

PASSWORD = "pw-NEVER-shown-4711"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.err.startswith("workflows: error: ") and captured.err.count("\n") == 1, captured.err
    assert PASSWORD not in captured.out + captured.err
    return captured.err


THREAD_COMMANDS = [
    ["run", "routing", "hello", "--thread", "t", "--model", "offline"],
    ["resume", "--thread", "t"],
    ["history", "--thread", "t"],
    ["threads"],
    ["threads", "--delete", "t"],
]


@pytest.mark.parametrize("command", THREAD_COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_without_the_password(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://workflows:{PASSWORD}@127.0.0.1:{postgres.free_port()}/threads"
    assert main([*command, "--db", url]) == 2
    err = one_error_line(capsys)
    assert err.startswith("workflows: error: --db postgresql://workflows:***@127.0.0.1:"), err
    assert "cannot connect to the database (connection failed: " in err and "Connection refused" in err, err


@pytest.mark.parametrize(
    ("url", "shown", "said"),
    [
        # A password in the query string, and a URL libpq cannot read (its message quotes the URL).
        (f"postgres://workflows@127.0.0.1:1/x?password={PASSWORD}", "?password=***", "Connection refused"),
        (f"postgresql://workflows:{PASSWORD}@[::1/x", "workflows:***@", "not a database URL libpq can read"),
        # An "@" after the query's "?" is no part of the password: the URL is tried, and its host shown.
        (
            f"postgresql://workflows:{PASSWORD}@127.0.0.1:1/x?application_name=me@home",
            "workflows:***@127.0.0.1:1/x",
            "Connection refused",
        ),
    ],
)
def test_a_password_anywhere_in_the_url_is_never_printed(
    url: str, shown: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--thread", "t", "--db", url]) == 2
    err = one_error_line(capsys)
    assert shown in err and said in err, err


def test_a_password_with_a_bare_at_sign_is_refused_and_never_printed_in_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before, after = "pw-BEFORE-9931", "pw/AFTER-5521"
    url = f"postgresql://workflows:{before}@{after}@127.0.0.1:{postgres.free_port()}/threads"
    assert main(["history", "--thread", "t", "--db", url]) == 2
    err = one_error_line(capsys)
    assert before not in err and "AFTER" not in err, err
    assert "workflows:***@127.0.0.1" in err and "write an '@' in a password as %40" in err, err


@pytest.mark.postgres
@pytest.mark.parametrize("problem", ["password", "database"])
def test_a_refused_login_or_a_missing_database_is_one_line_without_the_password(
    problem: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if problem == "password":
        url, said = postgres.with_password(postgres_url, PASSWORD), "password authentication failed"
    else:
        url, said = (
            postgres.with_database(postgres_url, "no_such_database"),
            'database "no_such_database" does not exist',
        )
    assert main(["run", "routing", "hello", "--thread", "t", "--model", "offline", "--db", url]) == 2
    err = one_error_line(capsys)
    assert "cannot connect to the database" in err and said in err, err


READER_PASSWORD = "reader-pw-NEVER-shown"


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["threads"], ["history", "--thread", "t"]])
def test_a_role_that_may_connect_but_not_read_is_one_line_on_reading(
    command: list[str], postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "routing", "hello", "--thread", "t", "--model", "offline", "--db", postgres_url, "-q"]) == 0
    capsys.readouterr()
    with postgres.login_role(postgres_url, READER_PASSWORD) as reader:
        assert main([*command, "--db", reader]) == 2
    err = one_error_line(capsys)
    assert "is not a usable thread store" in err and "permission denied" in err, err
    assert READER_PASSWORD not in err


@pytest.mark.postgres
def test_a_role_that_may_only_read_and_write_the_tables_runs_and_resumes_threads(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The owner's first run creates the tables; afterwards a role without the CREATE right uses them.
    assert main(["run", "routing", "hello", "--thread", "first", "--model", "offline", "--db", postgres_url, "-q"]) == 0
    data_rights = (
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    )
    with postgres.login_role(postgres_url, "writer-pw", *data_rights) as writer:
        paused = ["run", "routing", "My card was charged twice.", "--thread", "w", "--model", "offline", "-q"]
        assert main([*paused, "--interrupt-before", "classify", "--db", writer]) == 0
        assert main(["resume", "--thread", "w", "--db", writer, "-q"]) == 0
        capsys.readouterr()
        assert main(["threads", "--db", writer, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["threads"]
    assert {(thread["thread"], thread["status"]) for thread in listed} == {("first", "finished"), ("w", "finished")}


@pytest.mark.postgres
def test_a_database_without_threads_is_no_store_and_reading_it_creates_nothing(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["history", "--thread", "t"], ["resume", "--thread", "t"], ["threads"]):
        assert main([*command, "--db", postgres_url]) == 2
        err = one_error_line(capsys)
        assert f"no thread store in {threads.shown_db(postgres_url)}; start a thread with: " in err, err
    assert postgres.contents(postgres_url) == b"", "nothing was created"
    assert main(["run", "routing", lesson("routing"), "--thread", "t", "--db", postgres_url, "-q"]) == 0
    capsys.readouterr()
    assert main(["threads", "--db", postgres_url, "--json"]) == 0
    assert [row["thread"] for row in json.loads(capsys.readouterr().out)["threads"]] == ["t"]


def test_a_postgres_url_without_the_postgres_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # importing it now fails, as when it is not installed
    assert main(["history", "--thread", "t", "--db", f"postgresql://workflows:{PASSWORD}@127.0.0.1/x"]) == 2
    assert one_error_line(capsys) == (
        "workflows: error: --db postgresql://... needs the psycopg[binary] package, which is not installed: "
        "pip install 'langgraph-workflow-patterns[postgres]'\n"
    )


_WITH_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)
"""Run the command given after it with SIGINT's default action, so that Python turns it into KeyboardInterrupt."""


def test_ctrl_c_on_a_thread_counts_what_was_used_and_says_how_to_resume(gemini: GeminiServer, tmp_path: Path) -> None:
    # The plan answers offline at once; the billing worker's Gemini call is slow, so SIGINT lands during it.
    gemini.scripted = [Slow(5)] * 4
    db = str(tmp_path / "threads.sqlite")
    command = [*workflows_command(), "run", "orchestrator", LESSON_MESSAGE, "--thread", "c1", "--db", db]
    env = clean_env(GOOGLE_API_KEY=gemini.api_key, GOOGLE_GEMINI_BASE_URL=gemini.url)
    # A shell without job control starts background commands with SIGINT ignored, and Python keeps it so (no
    # KeyboardInterrupt): the command runs with SIGINT restored, as it is at a terminal, whoever started the suite.
    restored = [sys.executable, "-c", _WITH_SIGINT, *command, "--node-model", "plan=offline"]
    with subprocess.Popen(restored, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        seen = ""
        while "plan done" not in seen:
            line = process.stderr.readline()
            assert line, f"the run ended before its plan was done: {seen}"
            seen += line
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, seen + rest
    assert "workflows: interrupted" in rest and "workflows resume --thread c1" in rest
    listed = json.loads(run_cli("threads", "--db", db, "--json").stdout)["threads"][0]
    assert listed["usage"]["total_tokens"] > 0, "the plan's tokens count towards the thread's budget"


@pytest.mark.parametrize(
    ("name", "pause_before", "key", "extra"),
    [
        # After a Send fan-out: LangGraph would apply the edit as the node that sent, and send again.
        ("orchestrator", "synthesize", "message", []),
        ("faq_chain", "collect", "num_questions", ["--questions", "3"]),
        ("voting", "tally", "answer", []),
        # After two nodes that ran at once: LangGraph cannot tell which one's output the edit is.
        ("sectioning", "decide", "query", []),
    ],
)
def test_an_edit_after_parallel_branches_resumes_with_each_branch_run_once(
    name: str, pause_before: str, key: str, extra: list[str], thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = lesson(name)
    uninterrupted = run_json(capsys, "run", name, text, *extra, "--model", "offline")
    start = ["run", name, text, *extra, "--model", "offline", "--thread", "p", "--db", thread_db]
    paused = run_json(capsys, *start, "--interrupt-before", pause_before)
    assert paused["status"] == "paused"
    value = str(WORKFLOWS[name].make_input(text).get(key, 3))  # the same value: the edit changes nothing
    resumed = run_json(capsys, "resume", "--thread", "p", "--set", f"{key}={value}", "--db", thread_db)
    for result in (resumed, uninterrupted):
        for field in ("usage", "thread", "checkpoint", "status"):
            result.pop(field, None)
    assert without_run_ids(resumed) == without_run_ids(uninterrupted)


def test_a_fork_from_an_earlier_edit_after_parallel_nodes_takes_another_edit(
    thread_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    start = ["run", "sectioning", "Do batteries help wind power?", "--model", "offline", "--thread", "e"]
    run_json(capsys, *start, "--db", thread_db, "--interrupt-before", "decide")
    run_json(capsys, "resume", "--thread", "e", "--set", "query=Is wind power reliable?", "--db", thread_db)
    history = run_json(capsys, "history", "--thread", "e", "--db", thread_db)
    edit = next(row for row in history["checkpoints"] if row["source"] == "update")
    question = "Do solar panels work in winter?"
    args = ["resume", "--thread", "e", "--checkpoint", edit["checkpoint"], "--set", f"query={question}"]
    [forked] = run_json(capsys, *args, "--db", thread_db)["results"]
    assert forked["query"] == question and forked["reply"]


@pytest.mark.parametrize(
    ("name", "pause_before", "results"),
    [("orchestrator", "synthesize", "results"), ("faq_chain", "collect", "answered"), ("voting", "tally", "ballots")],
)
async def test_an_edit_without_as_node_after_a_send_fan_out_sends_nothing_again(
    name: str, pause_before: str, results: str
) -> None:
    """What Studio and the SDK send (`update_state` without `as_node`) resumes at the join, not at the fan-out."""
    builder = importlib.import_module(WORKFLOWS[name].module).builder
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "s"}}
    context = Context(model="offline")
    start = WORKFLOWS[name].make_input(lesson(name))
    await graph.ainvoke(start, config, context=context, interrupt_before=[pause_before])
    before = (await graph.aget_state(config)).values[results]
    edited = await graph.aupdate_state(config, {"notes": ["edited in Studio"]})
    assert (await graph.aget_state(edited)).next == (pause_before,)
    await graph.ainvoke(None, edited, context=context)
    after = (await graph.aget_state(config)).values[results]
    assert len(after) == len(before) > 0


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("max_rounds=-3", "--set max_rounds: must be a whole number from 1 to 10, got -3"),
        ("max_rounds=50", "--set max_rounds: must be a whole number from 1 to 10, got 50"),
        ("max_words=0", "--set max_words: must be a whole number of at least 1, got 0"),
        ("facts= ", "--set facts: is empty, and the run cannot go on without it"),
    ],
)
def test_resume_set_applies_the_bounds_the_graphs_entry_applies(
    thread_db: str, capsys: pytest.CaptureFixture[str], setting: str, problem: str
) -> None:
    # Paused after the entry node read the input: without the schema's bounds, --set would slip past them.
    start = ["run", "evaluator_optimizer", "--model", "offline", "--thread", "b", "--db", thread_db]
    run_json(capsys, *start, "--interrupt-before", "evaluate")
    assert main(["resume", "--thread", "b", "--set", setting, "--db", thread_db]) == 2
    assert one_error_line(capsys) == f"workflows: error: {problem}\n"
    history = run_json(capsys, "history", "--thread", "b", "--db", thread_db)
    assert history["status"] == "paused", "the refused edit changed nothing"


def test_a_thread_id_shaped_like_a_key_is_refused_before_anything_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "AIza" + "Sy" + "D3x9Qw7Lm2Np4Rt6Vb8Xc0Zk1Jh5Gf3Ds"
    db = tmp_path / "threads.sqlite"
    with pytest.raises(SystemExit) as exited:
        main(["run", "routing", "hi", "--model", "offline", "--thread", key, "--db", str(db)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--thread: looks like an API key" in err and key not in err
    assert not db.exists()


@pytest.mark.parametrize("route", ["bogus", "classify"])
def test_resume_set_refuses_a_route_no_edge_goes_to(
    thread_db: str, capsys: pytest.CaptureFixture[str], route: str
) -> None:
    # A walkthrough: `--set route=bogus` passed the type check (a str) and failed the run with a KeyError where the
    # edge was taken. A route must name a node the classifier's edge may go to ("classify" is a node, not one).
    start = ["run", "routing", "my wifi keeps dropping", "--model", "offline", "--thread", "r", "--db", thread_db]
    run_json(capsys, *start, "--interrupt-before", "technical_support")
    assert main(["resume", "--thread", "r", "--set", f"route={route}", "--db", thread_db]) == 2
    error = one_error_line(capsys)
    assert "--set route: must name a node an edge goes to" in error and "general_question" in error
    resumed = run_json(capsys, "resume", "--thread", "r", "--set", "route=general_question", "--db", thread_db)
    assert "general assistant" in resumed["results"][0]["reply"]
