"""The routing graph through the real ChatGoogleGenerativeAI client, against a local Gemini-compatible server."""

import json
import pathlib
import socket

import httpx
import pytest
from langchain_core.messages import AIMessageChunk

from graphs.catalog import WORKFLOWS
from graphs.routing import graph
from nodes.intents import INTENTS
from nodes.judges import JUDGES
from nodes.llm import models
from state.context import Context
from tests.conftest import LESSON_ROUTES, run_cli, without_run_ids
from tests.fakes import Fault, GeminiServer, Reply, gemini_server


async def test_routing_graph_runs_through_the_real_gemini_client(gemini: GeminiServer) -> None:
    for query, route in LESSON_ROUTES.items():
        result = await graph.ainvoke({"query": query}, context=Context())  # "auto" picks Gemini: a key is set
        assert result["intent"] == INTENTS[route].label
        assert query in result["reply"]
        assert result["models"] == {"classify": "google_genai:gemini-2.5-flash", route: "google_genai:gemini-2.5-flash"}
    assert {request["model"] for request in gemini.requests} == {"gemini-2.5-flash"}
    classify = gemini.requests[0]["body"]
    config = classify["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["intent"]["enum"] == [i.label for i in INTENTS.values()]
    assert "Technical Support" in classify["systemInstruction"]["parts"][0]["text"]
    assert len(gemini.requests) == 6


async def test_malformed_gemini_output_falls_back_without_crashing(gemini: GeminiServer) -> None:
    gemini.scripted = ["```json\n{oops", '{"intent": "Billing', "Sorry, could you rephrase?"]
    result = await graph.ainvoke({"query": "My internet connection is not working."}, context=Context())
    assert result["intent"] == "Unclear"
    assert result["reply"] == "Sorry, could you rephrase?"
    assert "not usable, also when asked again" in result["notes"][0]


def test_json_nested_too_deeply_for_the_client_is_asked_for_again_then_falls_back(gemini: GeminiServer) -> None:
    # google-genai parses a structured reply itself and lets a RecursionError out: the model answered, unusably,
    # so the plan is asked for once more (not retried as an outage) and the run ends as for any unusable reply.
    gemini.respond = lambda messages, schema: "[" * 5000 + "]" * 5000 if schema else "Dear Customer"
    env = {"GOOGLE_API_KEY": gemini.api_key, "GOOGLE_GEMINI_BASE_URL": gemini.url}
    done = run_cli("run", "orchestrator", "Where is order A-12345?", "--json", "-q", **env)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["tasks"] == []
    assert any("nested too deeply" in note and "also when asked again" in note for note in result["notes"])
    assert len(gemini.requests) == 2, "asked once more, not retried"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("finish", ["SAFETY", "MAX_TOKENS"])
async def test_a_reply_cut_off_twice_is_not_sent_to_the_customer(gemini: GeminiServer, finish: str) -> None:
    classified = json.dumps({"intent": "Billing Inquiry", "confidence": 0.9})
    gemini.scripted = [classified, Reply("Dear customer, we will", finish), Reply("Dear customer, we", finish)]
    result = await graph.ainvoke({"query": "I was charged twice this month."}, context=Context())
    assert result["intent"] == "Billing Inquiry"
    assert "Dear customer, we" not in result["reply"] and "follow up" in result["reply"]
    assert (
        result["notes"][-1].startswith("The model's reply was not usable twice (")
        and "holding reply" in result["notes"][-1]
    )


async def test_per_node_override_uses_another_gemini_model(gemini: GeminiServer) -> None:
    context = Context(node_models={"classify": "gemini-2.5-flash-lite"})
    await graph.ainvoke({"query": "What are your opening hours?"}, context=context)
    assert [r["model"] for r in gemini.requests] == ["gemini-2.5-flash-lite", "gemini-2.5-flash"]


def test_cli_through_the_gemini_client(gemini: GeminiServer) -> None:
    done = run_cli("run", "routing", "--json", GOOGLE_API_KEY=gemini.api_key, GOOGLE_GEMINI_BASE_URL=gemini.url)
    assert done.returncode == 0, done.stderr
    assert "offline" not in done.stderr
    assert len(gemini.requests) == 6


def test_a_rejected_key_is_one_clear_line_without_the_key(gemini: GeminiServer) -> None:
    wrong = "AIzaWrongKeyWrongKeyWrongKeyWrongKey123"
    done = run_cli("run", "routing", "hello", GOOGLE_API_KEY=wrong, GOOGLE_GEMINI_BASE_URL=gemini.url)
    assert done.returncode == 1
    assert "rejected the API key" in done.stderr
    assert wrong not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert len(gemini.requests) == 1, "an invalid key is not retried"


@pytest.mark.parametrize("name", ["voting", "sectioning"])
def test_a_run_whose_every_model_call_fails_fails_though_its_nodes_tolerate_one(
    gemini: GeminiServer, name: str
) -> None:
    # A judge or a screen that fails is counted as such; when all of them do, no model answered at all.
    wrong = "AIzaWrongKeyWrongKeyWrongKeyWrongKey123"
    env = {"GOOGLE_API_KEY": wrong, "GOOGLE_GEMINI_BASE_URL": gemini.url}
    done = run_cli("run", name, "--json", **env)
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and not report["results"]
    assert all("every model call of the run failed" in f["error"] for f in report["failed"])
    assert all("rejected the API key" in f["error"] for f in report["failed"])
    one = run_cli("run", name, "Offshore wind is steadier than onshore wind.", **env)
    assert one.returncode == 1
    assert "every model call of the run failed" in one.stderr and "rejected the API key" in one.stderr
    assert wrong not in done.stderr + done.stdout + one.stderr + one.stdout
    assert "Traceback" not in done.stderr + one.stderr


def test_a_thread_whose_every_model_call_fails_says_so_and_offers_no_resume(
    gemini: GeminiServer, tmp_path: pathlib.Path
) -> None:
    wrong = "AIzaWrongKeyWrongKeyWrongKeyWrongKey123"
    db = str(tmp_path / "threads.sqlite")
    env = {"GOOGLE_API_KEY": wrong, "GOOGLE_GEMINI_BASE_URL": gemini.url}
    done = run_cli("run", "voting", "Offshore wind is steadier.", "--thread", "v1", "--db", db, **env)
    assert done.returncode == 1
    assert "every model call of the run failed" in done.stderr and "workflows history --thread v1" in done.stderr
    assert "resume" not in done.stderr
    # The thread is finished (its nodes tolerated each failed call), and what it shows says nothing came of it.
    told = run_cli("history", "--thread", "v1", "--db", db)
    assert "Finished, but every model call of the thread failed (4)" in told.stdout, told.stdout
    history = json.loads(run_cli("history", "--thread", "v1", "--db", db, "--json").stdout)
    assert (history["status"], history["no_model_answered"]) == ("finished", True)
    listed = run_cli("threads", "--db", db)
    assert "finished, no model answered" in listed.stdout, listed.stdout


def test_an_unreachable_server_is_one_clear_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    done = run_cli(
        "run", "routing", "hello", GOOGLE_API_KEY="some-key", GOOGLE_GEMINI_BASE_URL=f"http://127.0.0.1:{closed_port}"
    )
    assert done.returncode == 1
    assert "Could not reach the model provider" in done.stderr
    assert "some-key" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_every_workflow_gives_the_same_result_through_the_gemini_client(gemini: GeminiServer, name: str) -> None:
    """The fake server answers as the offline model does, so only the model labels may differ."""
    workflow = WORKFLOWS[name]
    payload = workflow.inputs(None)[0]
    through_gemini = dict(await workflow.load().ainvoke(payload, context=Context()))
    offline = dict(await workflow.load().ainvoke(payload, context=Context(model="offline")))
    assert set(through_gemini.pop("models").values()) == {"google_genai:gemini-2.5-flash"}
    offline.pop("models")
    assert without_run_ids(through_gemini) == without_run_ids(offline)
    assert all(request["model"] == "gemini-2.5-flash" for request in gemini.requests)


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview", "my-tuned.model_7"])
def test_the_fake_server_speaks_every_api_version_and_both_content_methods(version: str, model: str) -> None:
    """Real Gemini serves every API version; clients have moved between them, so the double must too."""
    body = {"contents": [{"role": "user", "parts": [{"text": "My internet connection is not working."}]}]}
    with gemini_server() as server, httpx.Client(base_url=server.url, timeout=10) as http:
        base = f"/{version}/models/{model}"
        plain = http.post(f"{base}:generateContent", json=body, headers={"x-goog-api-key": server.api_key})
        array = http.post(f"{base}:streamGenerateContent", params={"key": server.api_key}, json=body)
        events = http.post(f"{base}:streamGenerateContent?alt=sse", json=body, headers={"x-goog-api-key": "x"})
        events_ok = http.post(f"{base}:streamGenerateContent", params={"alt": "sse", "key": server.api_key}, json=body)
    assert plain.status_code == array.status_code == events_ok.status_code == 200
    whole = plain.json()
    assert whole["candidates"][0]["finishReason"] == "STOP"
    text = whole["candidates"][0]["content"]["parts"][0]["text"]
    assert text
    chunks = array.json()
    assert len(chunks) > 1, "a streamed reply arrives in several chunks"
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == text
    assert [("finishReason" in c["candidates"][0]) for c in chunks] == [False] * (len(chunks) - 1) + [True]
    used = [c["usageMetadata"]["candidatesTokenCount"] for c in chunks]
    assert used == sorted(used) and used[-1] == whole["usageMetadata"]["candidatesTokenCount"], "cumulative usage"
    assert events_ok.headers["content-type"].startswith("text/event-stream")
    sse = [json.loads(line[len("data: ") :]) for line in events_ok.text.splitlines() if line.startswith("data: ")]
    assert sse == chunks
    assert events.status_code == 400 and events.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert [(r["version"], r["model"], r["stream"]) for r in server.requests] == [
        (version, model, False),
        (version, model, True),
        (version, model, True),
        (version, model, True),
    ]


def test_the_fake_server_answers_faults_with_geminis_error_body() -> None:
    with gemini_server() as server, httpx.Client(base_url=server.url, timeout=10) as http:
        server.scripted = [Fault(429, "Resource has been exhausted (e.g. check quota).", retry_after=1.5)]
        limited = http.post("/v1/models/gemini-2.5-flash:generateContent", params={"key": server.api_key}, json={})
        unknown = http.post("/v2/models/gemini-2.5-flash:generateContent", params={"key": server.api_key}, json={})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1.5"
    error = limited.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["details"][0]["retryDelay"] == "1.5s"
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("chosen", [None, "v1", "v1beta"])
async def test_the_gemini_path_works_whichever_api_version_the_client_chooses(
    gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch, chosen: str | None
) -> None:
    """google-genai 2.x called v1beta, 3.x calls v1 and reads GOOGLE_GENAI_API_VERSION; older ones ignore it."""
    if chosen is None:
        monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    else:
        monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", chosen)
    models._gemini.cache_clear()  # the client reads the version when it is built
    models._built.clear()
    for query, route in LESSON_ROUTES.items():
        result = await graph.ainvoke({"query": query}, context=Context())
        assert result["intent"] == INTENTS[route].label
    versions = {request["version"] for request in gemini.requests}
    assert len(versions) == 1 and versions <= {"v1", "v1beta"}, versions


async def test_streamed_replies_through_the_gemini_client_add_up(gemini: GeminiServer) -> None:
    """Under stream_mode="messages" the client calls streamGenerateContent; chunks and usage must add up."""
    query = "My internet connection is not working."
    whole = await graph.ainvoke({"query": query}, context=Context())
    gemini.requests.clear()
    chunks: dict[str, list[AIMessageChunk]] = {}
    async for message, metadata in graph.astream({"query": query}, context=Context(), stream_mode="messages"):
        if isinstance(message, AIMessageChunk):
            chunks.setdefault(metadata["langgraph_node"], []).append(message)
    assert all(request["stream"] and "alt=sse" in request["path"] for request in gemini.requests)
    assert set(chunks) == {"classify", "technical_support"}
    reply_chunks = chunks["technical_support"]
    assert len(reply_chunks) > 1
    assert "".join(chunk.text for chunk in reply_chunks) == whole["reply"]
    # The text held back for key redaction goes out with the finishing chunk: none comes after it.
    finished = next(n for n, chunk in enumerate(reply_chunks) if chunk.response_metadata.get("finish_reason"))
    assert not "".join(chunk.text for chunk in reply_chunks[finished + 1 :])
    usage = [chunk.usage_metadata for chunk in reply_chunks if chunk.usage_metadata]
    assert sum(u["output_tokens"] for u in usage) == len(whole["reply"]) // 4 + 1, "per-chunk deltas of the totals"


async def test_each_request_carries_the_temperature_its_node_asked_for(gemini: GeminiServer) -> None:
    # The voting judges differ by temperature; langchain-google-genai before 4.1.3 sent none of a model's own
    # settings (an empty generationConfig), so every judge ran at Gemini's default.
    voting = WORKFLOWS["voting"]
    await voting.load().ainvoke(voting.inputs(None)[0], context=Context())
    run_temperature = Context().temperature
    asked = sorted({run_temperature if judge.temperature is None else judge.temperature for judge in JUDGES.values()})
    sent = sorted({request["body"]["generationConfig"].get("temperature") for request in gemini.requests})
    assert len(asked) > 1 and set(asked) <= set(sent), (asked, sent)
