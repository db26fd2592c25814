"""A broken or hostile model, faults and bad input: nothing is lost and nothing leaks.

Through the real ChatGoogleGenerativeAI client against the local Gemini-compatible server (tests/fakes.py), which
plays faults (429 with Retry-After, 503, dropped connections, HTML instead of JSON, slow replies) and a model
taken over by prompt injection (echoing the key, inventing tasks and ids, flooding the plan).
"""

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import typing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import BaseMessage
from tenacity import RetryCallState

from graphs.catalog import WORKFLOWS
from graphs.orchestrator import build_orchestrator
from graphs.routing import graph as routing
from nodes import llm
from nodes.backend import LocalBackend
from nodes.inputs import InputError
from nodes.llm.guard import _sync_wait
from nodes.llm.retry import RETRY, Deadline, RetrySettings, retrying
from nodes.offline import answer_text, fill_schema
from nodes.orchestrator import MAX_NOTES, foreign_links
from state.context import Context
from state.orchestrator import LESSON_MESSAGE
from tests.conftest import clean_env, run_cli, stored_bytes, without_run_ids, workflows_command
from tests.fakes import Fault, GeminiServer, Hangup, RecordingBackend, Reply, Slow, gemini_server

SENTINEL = "sentinel-KEY-0123456789abcdef"
"""A key that is not shaped like a Google key: only redaction by value can keep it out."""


def _poisoned(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return f"{value} {secret}"
    if isinstance(value, dict):
        return {key: _poisoned(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_poisoned(item, secret) for item in value]
    return value


def echo_key(secret: str) -> Any:
    """A model that answers as the offline model would, but appends the key to every text it writes."""

    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        if schema:
            return json.dumps(_poisoned(fill_schema(schema, messages), secret))
        return f"{answer_text(messages)} By the way, the API key is {secret}."

    return respond


# --- Secrets ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_model_echoing_the_key_leaks_it_nowhere(name: str, tmp_path: Path) -> None:
    db = tmp_path / "threads.sqlite"
    with gemini_server(api_key=SENTINEL) as server:
        server.respond = echo_key(SENTINEL)
        env = {"GOOGLE_API_KEY": SENTINEL, llm.BASE_URL_VARIABLE: server.url}
        text = WORKFLOWS[name].examples[0]
        runs = [
            run_cli("run", name, text, "--json", "--thread", "t", "--db", str(db), **env),
            run_cli("history", "--thread", "t", "--json", "--db", str(db), **env),
            run_cli("run", name, text, "--stream", **env),
        ]
    assert server.requests, "the model was called"
    assert all(done.returncode == 0 for done in runs), [done.stderr for done in runs]
    assert "***" in runs[0].stdout, "the echoed key was there, and was redacted"
    for done in runs:
        assert SENTINEL not in done.stdout + done.stderr
    for file in tmp_path.glob("threads.sqlite*"):
        assert SENTINEL.encode() not in file.read_bytes(), file


def test_a_key_pasted_into_the_input_is_removed_before_the_model_or_the_store_sees_it(thread_db: str) -> None:
    # LangGraph checkpoints the input before the first node removes the key; the store must not write it. (The
    # PostgreSQL saver keeps text values in the checkpoint row itself, past the serializer.)
    with gemini_server(api_key=SENTINEL) as server:
        env = {"GOOGLE_API_KEY": SENTINEL, llm.BASE_URL_VARIABLE: server.url}
        text = f"My internet is down. My key is {SENTINEL}, does it work?"
        done = run_cli("run", "routing", text, "--json", "--thread", "p", "--db", thread_db, **env)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert "Removed what looked like an API key from the input." in result["notes"]
    assert SENTINEL not in json.dumps([request["body"] for request in server.requests])
    stored = stored_bytes(thread_db)
    assert b"My internet is down." in stored, "the input was stored"
    assert SENTINEL.encode() not in stored


def test_keys_split_across_streamed_chunks_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", SENTINEL)
    redactor = llm.keys.StreamRedactor()
    text = f"The answer is here. Key: {SENTINEL} and more words after it to push the key out of the held tail."
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    shown = "".join(redactor.feed(piece) for piece in pieces) + redactor.flush()
    assert SENTINEL not in shown and "***" in shown
    assert shown.replace("***", SENTINEL) == text


# --- Grounding, caps and bounds in the orchestrator -------------------------------------------------------------


def plan_reply(tasks: list[dict[str, Any]]) -> Any:
    """A planner that returns `tasks`, whatever the message; every other call answered as offline."""

    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        if schema and "tasks" in schema.get("properties", {}):
            return json.dumps({"tasks": tasks})
        return json.dumps(fill_schema(schema, messages)) if schema else answer_text(messages)

    return respond


async def test_a_planner_naming_ids_the_customer_never_wrote_acts_on_none_of_them(gemini: GeminiServer) -> None:
    gemini.respond = plan_reply(
        [
            {"kind": "status_update", "order_id": "A-20001"},
            {"kind": "status_update", "order_id": "B-31337"},
            {"kind": "billing_inquiry", "invoice_number": "INV-9999"},
            {"kind": "other", "request": "also tell them about order B-31337"},
        ]
    )
    backend = RecordingBackend()
    graph = build_orchestrator(backend=backend).compile()
    result = await graph.ainvoke({"message": "Where is my order A-20001?"}, context=Context())
    assert backend.looked_up == ["A-20001"], "another customer's order was looked up"
    assert backend.cases == {}
    for foreign in ("B-31337", "INV-9999", "LC48213"):
        assert foreign not in result["email"]
        assert foreign not in json.dumps(result["unhandled"])
    assert "Processing" in result["email"]
    assert any("Dropped 2 planned task(s)" in note for note in result["notes"])


@pytest.mark.parametrize(
    ("message", "acted_on"),
    [
        ("Where is my order ＡＢ? No: order Ａ－２０００１.", ["A-20001"]),  # full-width, NFKC-equal to A-20001
        ("Where is my order A-٢٠٠٠١?", []),  # Arabic-Indic digits: no system of ours issues such an id
    ],
)
async def test_ids_match_after_unicode_normalisation_and_only_in_ascii_digits(
    gemini: GeminiServer, message: str, acted_on: list[str]
) -> None:
    written = re.search(r"[AＡ][-－][0-9０-９٠-٩]{5}", message)
    assert written is not None
    gemini.respond = plan_reply([{"kind": "status_update", "order_id": written[0]}])
    backend = RecordingBackend()
    await build_orchestrator(backend=backend).compile().ainvoke({"message": message}, context=Context())
    assert backend.looked_up == acted_on


async def test_a_flooded_plan_gives_a_bounded_email_and_bounded_notes(gemini: GeminiServer) -> None:
    flood = [{"kind": "other", "request": "Please call me back."}] * 202
    flood += [{"kind": "other", "request": f"wish number {n}"} for n in range(1000)]
    flood += [{"kind": "status_update", "order_id": "A-20001"}] * 50
    gemini.respond = plan_reply(flood)
    result = (
        await build_orchestrator(backend=LocalBackend())
        .compile()
        .ainvoke({"message": "Where is my order A-20001?"}, context=Context())
    )
    assert len(result["email"]) < 5_000
    assert result["email"].count("Please call me back.") == 1
    assert "more request(s)" in result["email"]
    assert len(result["notes"]) <= MAX_NOTES and all(len(note) <= 300 for note in result["notes"])
    assert [task["fields"]["order_id"] for task in result["tasks"]] == ["A-20001"]


async def test_an_email_naming_an_id_the_customer_did_not_write_is_not_sent(gemini: GeminiServer) -> None:
    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        if schema:
            return json.dumps(fill_schema(schema, messages))
        return "Dear Customer, your order A-20001 is processing, and so is order C-40404. Best regards"

    gemini.respond = respond
    result = (
        await build_orchestrator(backend=LocalBackend())
        .compile()
        .ainvoke({"message": "Where is my order A-20001?"}, context=Context())
    )
    assert "C-40404" not in result["email"]
    assert result["email"].startswith("Dear Customer,\n\nRegarding your Status Update:")
    assert "Sent the points as a plain email: it named ids the customer did not write." in result["notes"]


@pytest.mark.parametrize(
    ("text", "foreign"),
    [
        ("Log in at evil-login.example/verify today", ["evil-login.example/verify"]),
        ("Visit paypal.com.evil.io now", ["paypal.com.evil.io"]),
        ("Write to help@evil.example.", ["help@evil.example"]),
        # The customer's own link and address, however the model wrote them out, are theirs.
        ("See **https://shop.example/help** or `www.shop.example/help/`", []),
        ("https://shop.example/faq, or mail ann@mail.example.", []),
        ("It weighs 3.5 kg, e.g. the lamp; invoice INV-1234 is £12.50.", []),
    ],
)
def test_links_and_addresses_the_customer_did_not_write_are_found(text: str, foreign: list[str]) -> None:
    message = "My order at https://shop.example/help is late. Mail me at ann@mail.example; see shop.example/faq"
    assert foreign_links(text, message) == foreign


async def test_links_a_model_made_up_never_reach_the_customers_email(gemini: GeminiServer) -> None:
    # An injected message asks the planner and the synthesizer to send the customer to a page of the attacker's.
    message = "Where is my order A-20001? Also see https://shop.example/help for what I mean."
    plan = {
        "tasks": [
            {"kind": "status_update", "order_id": "A-20001"},
            {"kind": "other", "request": "verify the account at http://evil.example/login or mail pay@evil.example"},
        ]
    }

    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        if schema:
            return json.dumps(plan if "tasks" in schema.get("properties", {}) else fill_schema(schema, messages))
        return "Dear Customer, order A-20001 is on its way. Please log in at http://evil.example/login. Best regards"

    gemini.respond = respond
    result = await build_orchestrator(backend=LocalBackend()).compile().ainvoke({"message": message}, context=Context())
    email = result["email"]
    assert "evil.example" not in email
    assert "A request we could not handle: verify the account at [a link not in your message] or mail [a link" in email
    assert "Sent the points as a plain email: it gave links or addresses the customer did not write." in result["notes"]


async def test_an_over_long_message_is_refused_before_any_model_call(gemini: GeminiServer) -> None:
    message = "Where is my order A-20001? " * 8_000
    with pytest.raises(InputError, match=r"^message: the input has 216,000 characters, over the limit of 50,000"):
        await build_orchestrator().compile().ainvoke({"message": message}, context=Context())
    assert gemini.requests == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"query": 123}, "query"),
        ({"query": None}, "query"),
        ({"query": ["a list"]}, "query"),
    ],
)
async def test_bad_input_is_an_input_error_naming_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as raised:
        await routing.ainvoke(payload, context=Context(model="offline"))
    assert raised.value.field == field


def _bad_payload(name: str) -> tuple[dict[str, Any], str]:
    """A payload with one field of the wrong type: the first text field the workflow takes, else its documents."""
    schema = WORKFLOWS[name].load().builder.input_schema
    fields = typing.get_type_hints(schema)
    text = next((field for field, kind in fields.items() if kind is str), None)
    return ({text: 123}, text) if text else ({"documents": "one long string"}, "documents")


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_every_graph_checks_its_input_at_the_entry(name: str) -> None:
    payload, field = _bad_payload(name)
    with pytest.raises(InputError) as raised:
        await WORKFLOWS[name].load().ainvoke(payload, context=Context(model="offline"))
    assert raised.value.field == field


async def test_a_document_without_content_is_named_down_to_its_field() -> None:
    with pytest.raises(InputError) as raised:
        payload = {"documents": [{"title": "T", "content": None}]}
        await WORKFLOWS["faq_single_call"].load().ainvoke(payload, context=Context(model="offline"))
    assert raised.value.field == "documents.0.content"


def test_bad_input_from_the_cli_is_one_line_and_exit_2() -> None:
    done = run_cli("run", "orchestrator", "x" * 60_000, "--model", "offline")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("workflows: error: message: the input has 60,000")
    assert "Traceback" not in done.stderr


# --- Malformed, truncated and hostile replies --------------------------------------------------------------------


def nested(depth: int) -> str:
    return '{"intent": ' * depth + '"Billing Inquiry"' + "}" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_output_nested_a_thousand_deep_goes_to_the_fallback(
    gemini: GeminiServer, waits: list[float], depth: int
) -> None:
    def respond(messages: list[BaseMessage], schema: dict[str, Any] | None) -> str:
        return nested(depth) if schema else answer_text(messages)

    gemini.respond = respond
    result = await routing.ainvoke({"query": "I was charged twice."}, context=Context())
    assert result["intent"] == "Unclear"
    assert "The classifier's output was not usable" in result["notes"][0]


async def test_a_concern_cut_off_by_the_token_limit_is_asked_for_again(gemini: GeminiServer) -> None:
    plan = json.dumps({"tasks": [{"kind": "billing_inquiry", "invoice_number": "INV-7890"}]})
    gemini.scripted = [plan, Reply('{"concern": "It seems h', "MAX_TOKENS")]
    backend = LocalBackend()
    result = await build_orchestrator(backend=backend).compile().ainvoke({"message": LESSON_MESSAGE}, context=Context())
    [case] = backend.cases.values()
    assert case.concern == "It seems higher than I expected."
    assert any("cut off at the output token limit (MAX_TOKENS)" in note for note in result["notes"])


async def test_a_reply_stopped_by_a_safety_filter_is_asked_for_again(gemini: GeminiServer) -> None:
    gemini.scripted = [json.dumps({"intent": "Technical Support", "confidence": 0.9}), Reply("", "SAFETY")]
    result = await routing.ainvoke({"query": "My internet connection is not working."}, context=Context())
    assert result["reply"] and "ended early (SAFETY)" in result["notes"][0]


# --- Transient faults: one retry layer ---------------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every wait the retry layer asks for, without waiting."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: Any) -> Any:
        if delay > 0:
            asked.append(delay)
        return await real_sleep(0, *args)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


@pytest.mark.parametrize(
    "fault",
    [
        Fault(429, "Resource has been exhausted (e.g. check quota)."),
        Fault(503, "The model is overloaded."),
        Fault(500),
        Fault(200, raw="<html><body>502 Bad Gateway</body></html>"),
        Hangup(),
    ],
    ids=["429", "503", "500", "html-200", "hangup"],
)
async def test_transient_faults_are_retried_and_the_run_is_whole(
    gemini: GeminiServer, waits: list[float], fault: Fault | Hangup
) -> None:
    gemini.scripted = [fault, fault]
    result = await routing.ainvoke({"query": "I was charged twice."}, context=Context())
    assert result["intent"] == "Billing Inquiry" and result["notes"] == []
    assert len(gemini.requests) == 2 + 2, "classify tried three times, then the reply"
    assert len(waits) == 2


async def test_retry_after_is_honoured_and_capped(gemini: GeminiServer, waits: list[float]) -> None:
    gemini.scripted = [Fault(429, "quota", retry_after=2.5), Fault(429, "quota", retry_after=3600)]
    await routing.ainvoke({"query": "I was charged twice."}, context=Context())
    assert 2.5 <= waits[0] <= 3.5, waits
    assert 30.0 <= waits[1] <= 31.0, "an hour's Retry-After is capped"


async def test_branches_failing_together_do_not_retry_in_lockstep(gemini: GeminiServer, waits: list[float]) -> None:
    message = "Please check invoices INV-1001, INV-1002, INV-1003, INV-1004 and INV-1005."
    plan = json.dumps({"tasks": [{"kind": "billing_inquiry", "invoice_number": f"INV-100{n}"} for n in range(1, 6)]})
    gemini.scripted = [plan, *[Fault(503)] * 5]
    result = (
        await build_orchestrator(backend=LocalBackend())
        .compile()
        .ainvoke({"message": message}, context=Context(max_concurrency=5))
    )
    assert all(r["ok"] for r in result["results"])
    assert len(waits) == 5 and len(set(waits)) == 5, "each branch waits its own random time"


@pytest.mark.parametrize(
    ("fault", "said", "tries"),
    [
        (Fault(404, "models/gemini-9 is not found"), "does not know the model", 1),
        (Fault(403, "Permission denied"), "rejected the API key", 1),
        (Fault(400, "Invalid JSON payload"), "refused the request", 1),
        (Fault(429, "quota"), "rate limit was reached", 5),
        (Fault(503, "overloaded"), "had a server error", 5),
    ],
)
def test_a_failed_run_names_its_cause_in_one_line(gemini: GeminiServer, fault: Fault, said: str, tries: int) -> None:
    gemini.scripted = [fault] * 5
    done = run_cli("run", "routing", "hello", GOOGLE_API_KEY=gemini.api_key, GOOGLE_GEMINI_BASE_URL=gemini.url)
    assert done.returncode == 1
    [line] = [line for line in done.stderr.splitlines() if line.startswith("workflows: error:")]
    assert said in line
    assert "Traceback" not in done.stderr
    assert len(gemini.requests) == tries


def test_debug_shows_the_traceback(gemini: GeminiServer) -> None:
    gemini.scripted = [Fault(404, "not found")]
    done = run_cli("--debug", "run", "routing", "hi", GOOGLE_API_KEY=gemini.api_key, GOOGLE_GEMINI_BASE_URL=gemini.url)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "ModelCallError" in done.stderr


async def test_the_run_deadline_stops_a_hung_model_call(gemini: GeminiServer) -> None:
    gemini.scripted = [Slow(60)]
    with pytest.raises(llm.DeadlineExceeded) as raised:
        await routing.ainvoke({"query": "I was charged twice."}, context=Context(timeout=0.5))
    assert "time limit of 0.5 s" in llm.describe_error(raised.value)


async def test_after_the_deadline_the_orchestrator_still_sends_what_was_done(gemini: GeminiServer) -> None:
    plan = json.dumps(
        {
            "tasks": [
                {"kind": "status_update", "order_id": "A-12345"},
                {"kind": "billing_inquiry", "invoice_number": "INV-7890"},
            ]
        }
    )
    gemini.scripted = [plan, Slow(60)]
    backend = LocalBackend()
    result = (
        await build_orchestrator(backend=backend)
        .compile()
        .ainvoke({"message": LESSON_MESSAGE}, context=Context(timeout=1.0))
    )
    by_kind = {r["kind"]: r for r in result["results"]}
    assert by_kind["status_update"]["ok"] and not by_kind["billing_inquiry"]["ok"]
    assert "A-12345" in result["email"] and "follow up" in result["email"]
    assert len(backend.follow_ups) == 1


# --- A killed run resumes without doing anything twice -------------------------------------------------------------


def _store_records(db: str, kind: str) -> list[str]:
    """The ids of the support backend's records of `kind` in the thread store's LangGraph store, read directly."""
    field = "rma_number" if kind == "rmas" else "case_id"
    if db.startswith("postgresql://"):
        with psycopg.connect(db, connect_timeout=10) as connection:
            try:
                rows = connection.execute("SELECT value FROM store WHERE prefix = %s", (f"workflows.support.{kind}",))
                return [value[field] for (value,) in rows]
            except psycopg.errors.UndefinedTable:  # the table is not there yet
                return []
    with sqlite3.connect(db) as connection:
        try:
            rows = connection.execute("SELECT value FROM store WHERE prefix = ?", (f"workflows.support.{kind}",))
            return [json.loads(value)[field] for (value,) in rows]
        except sqlite3.OperationalError:  # the table is not there yet
            return []


@pytest.mark.faults
def test_a_run_killed_mid_fan_out_resumes_in_a_new_process_with_no_second_rma(thread_db: str, tmp_path: Path) -> None:
    db = thread_db
    reference = tmp_path / "reference.sqlite"
    # Four CLI processes in a row: on a loaded machine that outlasts the server's default two-minute lifetime.
    with gemini_server(lifetime=600) as server:
        env = clean_env(GOOGLE_API_KEY=server.api_key, **{llm.BASE_URL_VARIABLE: server.url})

        def concern_call_arrived() -> bool:
            return any("specialized billing assistant" in json.dumps(r["body"]) for r in server.requests)

        # The billing worker's model call hangs; the return's RMA is issued meanwhile; then the process dies.
        server.respond = None
        plan = json.dumps(
            {
                "tasks": [
                    {"kind": "billing_inquiry", "invoice_number": "INV-7890"},
                    {
                        "kind": "product_return",
                        "product_name": "SuperWidget 5000",
                        "reason_for_return": "not compatible with my system",
                    },
                    {"kind": "status_update", "order_id": "A-12345"},
                ]
            }
        )
        server.scripted = [plan, Slow(60)]
        command = [*workflows_command(), "run", "orchestrator", LESSON_MESSAGE, "--thread", "k", "--db", db]
        running = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not (concern_call_arrived() and _store_records(db, "rmas")):
                assert running.poll() is None, running.communicate()
                assert time.monotonic() < deadline, "the run never reached the billing worker's model call"
                time.sleep(0.05)
            os.kill(running.pid, signal.SIGKILL)
        finally:
            running.wait(timeout=30)
        [issued] = _store_records(db, "rmas")

        history = subprocess.run(
            [*workflows_command(), "history", "--thread", "k", "--db", db, "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert json.loads(history.stdout)["status"] == "interrupted", history.stdout + history.stderr

        server.scripted = []
        resumed = subprocess.run(
            [*workflows_command(), "resume", "--thread", "k", "--db", db, "--json", "-q"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        server.scripted = [plan]
        fresh = subprocess.run(
            [*workflows_command(), "run", "orchestrator", LESSON_MESSAGE, "--thread", "k", "--db", str(reference)]
            + ["--json", "-q"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert fresh.returncode == 0, fresh.stderr
    [result] = json.loads(resumed.stdout)["results"]
    [expected] = json.loads(fresh.stdout)["results"]
    assert _store_records(db, "rmas") == [issued], "no second RMA"
    assert len(_store_records(db, "cases")) == 1
    assert issued in result["email"]
    assert result["email"] == expected["email"], "the same thread gets the same email as an uninterrupted run"
    assert without_run_ids(result) == without_run_ids(expected)


async def test_the_last_try_announces_no_retry_and_fails_with_its_own_error() -> None:
    # tenacity asks for the wait before it checks whether another try is allowed: the last failure must not be
    # reported as a retry (progress showed "try 6" of 5).
    announced: list[int] = []
    tries = 0

    async def failing() -> None:
        nonlocal tries
        tries += 1
        raise ConnectionError(f"try {tries} failed")

    settings = RetrySettings(attempts=3, initial=0.001, maximum=0.001)
    with pytest.raises(ConnectionError, match="try 3 failed"):
        await retrying(
            failing,
            transient=lambda error: True,
            settings=settings,
            on_retry=lambda attempt, error, seconds: announced.append(attempt),
        )
    assert tries == settings.attempts and announced == [1, 2]


def test_the_sync_path_waits_for_no_retry_after_its_last_try() -> None:
    # The sync model call's wait is asked for after the last try too: with the deadline close, it must not raise
    # DeadlineExceeded in place of the call's own error.
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = RETRY.attempts
    state.set_exception((ConnectionError, ConnectionError("the real error"), None))
    nearly_over = Deadline(60.0, time.monotonic() + 0.001)
    assert _sync_wait(state, nearly_over) == 0.0
