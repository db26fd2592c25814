"""The routing graph through the real ChatGoogleGenerativeAI client, against a local Gemini-compatible server."""

import socket

import pytest

from graphs.catalog import WORKFLOWS
from graphs.routing import graph
from nodes.intents import INTENTS
from state.context import Context
from tests.fakes import GeminiServer
from tests.test_cli import run_cli
from tests.test_routing import LESSON


async def test_routing_graph_runs_through_the_real_gemini_client(gemini: GeminiServer) -> None:
    for query, route in LESSON.items():
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
    gemini.scripted = ["```json\n{oops", "Sorry, could you rephrase?"]
    result = await graph.ainvoke({"query": "My internet connection is not working."}, context=Context())
    assert result["intent"] == "Unclear"
    assert result["reply"] == "Sorry, could you rephrase?"
    assert "not valid" in result["notes"][0]


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
    assert through_gemini == offline
    assert all(request["model"] == "gemini-2.5-flash" for request in gemini.requests)
