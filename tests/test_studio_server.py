"""The real `langgraph dev` server (LangGraph Studio's backend) on studio/langgraph.json, driven with langgraph_sdk."""

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph._internal._constants import PUSH  # the path marker of tasks created by Send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from graphs.catalog import WORKFLOWS
from nodes import llm
from state.context import Context
from tests.conftest import REPO, clean_env, edited_text, updates_of, without_run_ids

STUDIO = REPO / "studio"
STARTUP_LIMIT = 60.0
"""Seconds the server may take to answer /ok (about 3 s here; CI machines can be slower)."""


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    folder: Path
    """Where the server runs: a copy of studio/langgraph.json and nothing else (no .env)."""


def strip_colors(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def free_loopback_port() -> int:
    # Port 2024, the default, may be taken, and `langgraph dev` then silently moves elsewhere; pick one ourselves.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    assert port != 2024
    return port


def server_config(studio: Path = STUDIO) -> dict[str, Any]:
    """studio/langgraph.json with its relative paths made absolute, to run from any folder.

    `langgraph dev` resolves dependencies against its working folder and keeps its threads in
    `.langgraph_api/` there; running it from a temporary folder keeps the developer's studio/ untouched.
    """
    config: dict[str, Any] = json.loads((studio / "langgraph.json").read_text())
    config["dependencies"] = [str((studio / dep).resolve()) for dep in config["dependencies"]]
    for entry in config["graphs"].values():
        file, _, attribute = entry["path"].partition(":")
        entry["path"] = f"{(studio / file).resolve()}:{attribute}"
    return config


def test_the_server_runs_studio_config_with_only_its_paths_made_absolute() -> None:
    studio = json.loads((STUDIO / "langgraph.json").read_text())
    copied = server_config()
    assert copied["dependencies"] == [str(REPO)]
    for name, entry in copied["graphs"].items():
        file, _, attribute = entry["path"].partition(":")
        assert (Path(file).relative_to(REPO).with_suffix("").as_posix().replace("/", "."), attribute) == (
            WORKFLOWS[name].module,
            "graph",
        )
        entry["path"] = studio["graphs"][name]["path"]
    assert {**copied, "dependencies": studio["dependencies"]} == studio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    langgraph = Path(sys.executable).with_name("langgraph")
    assert langgraph.exists(), "langgraph-cli[inmem] is missing: pip install -e '.[test]'"
    folder = tmp_path_factory.mktemp("studio")
    # No .env is copied: the config still names one, so the server starts as on a fresh checkout, keyless.
    (folder / "langgraph.json").write_text(json.dumps(server_config(), indent=2))
    log = tmp_path_factory.mktemp("studio-log") / "server.log"
    port = free_loopback_port()
    # clean_env drops the key and base URL variables, so a developer's key never reaches these offline runs.
    env = clean_env(
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="1",
        LANGSMITH_TRACING="false",
        LANGGRAPH_DISABLE_FILE_PERSISTENCE="true",
    )
    assert not set(env) & {*llm.KEY_VARIABLES, llm.BASE_URL_VARIABLE}
    command = [str(langgraph), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    process: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        with log.open("w") as output:
            process = subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT)
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            # The banner names the URL it serves; should the port have been taken meanwhile, that is where it went.
            if announced := re.search(r"API: (http://127\.0\.0\.1:\d+)", strip_colors(log.read_text())):
                try:
                    if httpx.get(f"{announced[1]}/ok", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.monotonic() - started > STARTUP_LIMIT:
                pytest.fail(f"langgraph dev did not answer within {STARTUP_LIMIT} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(announced[1], log, folder)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def client(server: Server) -> LangGraphClient:
    return get_client(url=server.url, timeout=60)


async def assistant_id(client: LangGraphClient, name: str) -> str:
    [assistant] = await client.assistants.search(graph_id=name, limit=10)
    return str(assistant["assistant_id"])


def lesson_input(name: str) -> dict[str, Any]:
    return WORKFLOWS[name].make_input(WORKFLOWS[name].examples[0])


def edited_input(name: str) -> dict[str, Any]:
    return WORKFLOWS[name].make_input(edited_text(WORKFLOWS[name]))


async def uninterrupted(name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    # The server runs without a key, so Context() means the offline model here too. Ids scoped by the run or
    # thread (case and RMA numbers) differ between a server thread and this run, and are masked.
    result = await WORKFLOWS[name].load().ainvoke(payload or lesson_input(name), context=Context())
    masked: dict[str, Any] = without_run_ids(dict(result))
    return masked


async def wait(client: LangGraphClient, name: str, thread: str, payload: Any, **options: Any) -> dict[str, Any]:
    result = await client.runs.wait(thread, await assistant_id(client, name), input=payload, **options)
    assert isinstance(result, dict), result
    masked: dict[str, Any] = without_run_ids(result)
    return masked


def canonical(pairs: list[tuple[str, Any]]) -> list[str]:
    return sorted(
        json.dumps(without_run_ids([node, wrote]), sort_keys=True, ensure_ascii=False) for node, wrote in pairs
    )


def plain_log(server: Server) -> str:
    return strip_colors(server.log.read_text())


def test_the_server_starts_without_the_env_file_its_config_names_and_loads_every_graph(server: Server) -> None:
    # The fresh-checkout start the README describes: langgraph.json names a .env that does not exist.
    assert json.loads((server.folder / "langgraph.json").read_text())["env"] == ".env"
    assert not (server.folder / ".env").exists()
    log = plain_log(server)
    assert "Application started up" in log
    assert all(f"graph_id={name} " in log for name in WORKFLOWS), log
    assert "Traceback" not in log


async def test_one_assistant_per_registered_graph_with_its_description(client: LangGraphClient) -> None:
    assistants = await client.assistants.search(limit=100)
    assert sorted(assistant["graph_id"] for assistant in assistants) == sorted(WORKFLOWS)
    for assistant in assistants:
        assert assistant["description"] == WORKFLOWS[assistant["graph_id"]].description


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_the_drawing_is_the_graph_with_its_declared_edges(client: LangGraphClient, name: str) -> None:
    drawing = await client.assistants.get_graph(await assistant_id(client, name))
    local = WORKFLOWS[name].load().get_graph()
    assert {node["id"] for node in drawing["nodes"]} == set(local.nodes)
    assert {(e["source"], e["target"], bool(e.get("conditional"))) for e in drawing["edges"]} == {
        (edge.source, edge.target, edge.conditional) for edge in local.edges
    }


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_the_forms_are_the_input_schema_with_examples_and_the_context(client: LangGraphClient, name: str) -> None:
    graph = WORKFLOWS[name].load()
    schemas = await client.assistants.get_schemas(await assistant_id(client, name))
    assert schemas["input_schema"] == graph.get_input_jsonschema()
    assert schemas["input_schema"]["examples"][0] == lesson_input(name)
    assert schemas["context_schema"] == graph.get_context_jsonschema()
    assert {"model", "node_models", "max_concurrency"} <= set(schemas["context_schema"]["properties"])


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_each_graph_runs_the_lesson_input_on_the_offline_model_with_the_notice_in_the_log(
    client: LangGraphClient, server: Server, name: str
) -> None:
    thread = await client.threads.create()
    result = await wait(client, name, thread["thread_id"], lesson_input(name))
    assert result == await uninterrupted(name)
    assert set(result["models"].values()) == {llm.OFFLINE_LABEL}
    # The notice is logged once per server process, by the first run that builds the offline model.
    assert llm.OFFLINE_NOTICE in plain_log(server)


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_the_run_context_reaches_the_nodes(client: LangGraphClient, name: str) -> None:
    thread = await client.threads.create()
    with pytest.raises(Exception, match="needs a Gemini API key"):
        await wait(client, name, thread["thread_id"], lesson_input(name), context={"model": "gemini-2.5-flash"})


async def test_settings_from_the_form_are_read_by_their_types_and_a_wrong_one_is_named(client: LangGraphClient) -> None:
    thread = (await client.threads.create())["thread_id"]
    context = {"model": "offline", "max_concurrency": "2"}  # a form's number, as text
    assert await wait(client, "faq_chain", thread, lesson_input("faq_chain"), context=context) == await uninterrupted(
        "faq_chain"
    )
    with pytest.raises(Exception, match="context temperature: input should be a valid number"):
        await wait(client, "faq_chain", thread, lesson_input("faq_chain"), context={"temperature": "hot"})


RUN_LIMIT = 60.0
"""Seconds a run that must end may take: a hung run fails the test instead of blocking the suite."""


async def test_a_spent_budget_ends_the_run_with_its_reason_and_leaves_the_thread_usable(
    client: LangGraphClient,
) -> None:
    thread = (await client.threads.create())["thread_id"]
    spent = wait(client, "routing", thread, lesson_input("routing"), context={"model": "offline", "max_tokens": 10})
    with pytest.raises(Exception, match="token budget is spent"):
        await asyncio.wait_for(spent, RUN_LIMIT)
    assert (await client.threads.get(thread))["status"] == "error"
    # The thread is not left busy: the next run on it, with room in its budget, finishes.
    again = wait(client, "routing", thread, lesson_input("routing"), context={"model": "offline"})
    assert (await asyncio.wait_for(again, RUN_LIMIT))["intent"]


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_updates_stream_node_by_node(client: LangGraphClient, name: str) -> None:
    graph = WORKFLOWS[name].load()
    # The server streams only the keys of the graph's output schema; internal keys stay on the server.
    shown = set(graph.get_output_jsonschema()["properties"])
    expected = [
        (node, {key: value for key, value in wrote.items() if key in shown})
        for node, wrote in await updates_of(WORKFLOWS[name], WORKFLOWS[name].examples[0])
    ]
    thread = await client.threads.create()
    streamed: list[tuple[str, Any]] = []
    async for part in client.runs.stream(
        thread["thread_id"], await assistant_id(client, name), input=lesson_input(name), stream_mode="updates"
    ):
        if part.event == "updates":
            streamed.extend(part.data.items())
    assert canonical(streamed) == canonical(expected)


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_interrupt_before_a_node_pauses_resumes_and_leaves_a_history(client: LangGraphClient, name: str) -> None:
    last = (await updates_of(WORKFLOWS[name], WORKFLOWS[name].examples[0]))[-1][0]
    thread = (await client.threads.create())["thread_id"]
    await wait(client, name, thread, lesson_input(name), interrupt_before=[last])
    paused = await client.threads.get_state(thread)
    assert set(paused["next"]) == {last}

    assert await wait(client, name, thread, None) == await uninterrupted(name)
    history = await client.threads.get_history(thread, limit=100)
    assert history[0]["next"] == []
    assert paused["checkpoint"]["checkpoint_id"] in {state["checkpoint"]["checkpoint_id"] for state in history}
    ran = {task["name"] for state in history for task in state["tasks"] if task.get("result") is not None}
    assert {node for node, _ in await updates_of(WORKFLOWS[name], WORKFLOWS[name].examples[0])} <= ran


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_interrupt_before_a_send_target_pauses_every_branch_and_resumes(
    client: LangGraphClient, name: str
) -> None:
    local = WORKFLOWS[name].load().copy(update={"checkpointer": InMemorySaver()})
    config = {"configurable": {"thread_id": "local"}}
    await local.ainvoke(lesson_input(name), config, context=Context())
    fan_outs = [s for s in local.get_state_history(config) if any(task.path[0] == PUSH for task in s.tasks)]
    if not fan_outs:
        pytest.skip(f"{name} has no Send fan-out on its lesson input, so no Send target to pause before")
    # Send branches of one step run as one superstep: pausing before one target pauses the whole step.
    step_tasks = sorted(task.name for task in fan_outs[0].tasks)
    target = next(task.name for task in fan_outs[0].tasks if task.path[0] == PUSH)
    thread = (await client.threads.create())["thread_id"]
    await wait(client, name, thread, lesson_input(name), interrupt_before=[target])
    paused = await client.threads.get_state(thread)
    assert target in paused["next"]
    assert sorted(paused["next"]) == step_tasks
    assert await wait(client, name, thread, None) == await uninterrupted(name)


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_edit_the_state_of_a_paused_run_then_continue(client: LangGraphClient, name: str) -> None:
    thread = (await client.threads.create())["thread_id"]
    await wait(client, name, thread, lesson_input(name), interrupt_before="*")
    paused = await client.threads.get_state(thread)
    assert paused["values"] == {**paused["values"], **lesson_input(name)}
    # Studio's state editor: change the input before the first node runs; the run continues on the edit.
    await client.threads.update_state(thread, edited_input(name))
    assert await wait(client, name, thread, None) == await uninterrupted(name, edited_input(name))


@pytest.mark.parametrize(
    ("name", "join"), [("orchestrator", "synthesize"), ("faq_chain", "collect"), ("voting", "tally")]
)
async def test_an_edit_after_a_send_fan_out_continues_at_the_join_with_each_branch_run_once(
    client: LangGraphClient, name: str, join: str
) -> None:
    thread = (await client.threads.create())["thread_id"]
    await wait(client, name, thread, lesson_input(name), interrupt_before=[join])
    # Studio's state editor sends no as_node: the edit is applied as the node that fanned out, whose edge runs again.
    await client.threads.update_state(thread, {"notes": ["edited in Studio"]})
    assert (await client.threads.get_state(thread))["next"] == [join]
    expected = await uninterrupted(name)
    assert await wait(client, name, thread, None) == {**expected, "notes": ["edited in Studio", *expected["notes"]]}


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_fork_from_an_earlier_checkpoint_and_replay_it(client: LangGraphClient, name: str) -> None:
    thread = (await client.threads.create())["thread_id"]
    finished = await wait(client, name, thread, lesson_input(name))
    history = await client.threads.get_history(thread, limit=100)
    [start] = [state for state in history if state["metadata"]["source"] == "loop" and state["metadata"]["step"] == 0]

    await client.threads.update_state(thread, edited_input(name), checkpoint=start["checkpoint"])
    assert await wait(client, name, thread, None) == await uninterrupted(name, edited_input(name))

    replayed = await wait(client, name, thread, None, checkpoint=start["checkpoint"])
    assert replayed == finished == await uninterrupted(name)
    branches = await client.threads.get_history(thread, limit=100)
    assert {state["checkpoint"]["checkpoint_id"] for state in history} < {
        state["checkpoint"]["checkpoint_id"] for state in branches
    }
