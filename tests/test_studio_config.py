"""Studio's view of every registered workflow, checked without starting a server."""

import importlib
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph

from graphs.catalog import WORKFLOWS, Workflow
from state.context import Context
from tests.conftest import clean_env, without_run_ids

STUDIO = Path(__file__).resolve().parent.parent / "studio"
CONFIG = json.loads((STUDIO / "langgraph.json").read_text())


def module_of(path: str) -> str:
    """Turn a langgraph.json graph path ("../graphs/routing.py:graph") into the module it loads."""
    file, _, attribute = path.partition(":")
    assert attribute == "graph", path
    assert file.startswith("../") and file.endswith(".py"), path
    return file.removeprefix("../").removesuffix(".py").replace("/", ".")


def builder_of(workflow: Workflow) -> StateGraph[Any, Any, Any, Any]:
    builder: StateGraph[Any, Any, Any, Any] = importlib.import_module(workflow.module).builder
    return builder


def test_langgraph_json_registers_exactly_the_catalog_with_the_same_modules() -> None:
    graphs = CONFIG["graphs"]
    assert list(graphs) == list(WORKFLOWS)
    for name, entry in graphs.items():
        assert module_of(entry["path"]) == WORKFLOWS[name].module
        assert entry["description"] == WORKFLOWS[name].description


def test_langgraph_json_names_the_folder_above_and_studio_env_whose_example_documents_the_key() -> None:
    # The README's literal setup: `cd studio && langgraph dev` installs "..", and `cp .env.example .env` makes the
    # optional key file. tests/test_studio_server.py starts the server without that file.
    assert CONFIG["dependencies"] == [".."]
    assert CONFIG["env"] == ".env"
    assert "GOOGLE_API_KEY=" in (STUDIO / ".env.example").read_text()


@pytest.mark.parametrize("name", WORKFLOWS)
def test_input_form_shows_only_the_user_fields_with_the_lesson_inputs_as_examples(name: str) -> None:
    workflow = WORKFLOWS[name]
    schema = workflow.load().get_input_jsonschema()
    lesson = [workflow.make_input(example) for example in workflow.examples]
    assert schema["examples"] == lesson
    assert set(schema.get("required", [])) <= set(lesson[0]) <= set(schema["properties"])
    assert all(field.get("description") for field in schema["properties"].values()), schema


@pytest.mark.parametrize("name", WORKFLOWS)
def test_context_form_is_the_context_dataclass_without_python_only_fields(name: str) -> None:
    schema = WORKFLOWS[name].load().get_context_jsonschema()
    assert schema is not None
    assert schema["title"] == Context.__name__
    assert {"model", "node_models", "max_concurrency", "temperature"} <= set(schema["properties"])
    assert "chat_model" not in schema["properties"]
    assert schema["properties"]["model"]["default"] == Context().model
    assert all(field.get("description") for field in schema["properties"].values()), schema


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_conditional_edge_declares_its_targets(name: str) -> None:
    # Without declared targets LangGraph draws an edge to every node, and Studio shows that false picture.
    branches = builder_of(WORKFLOWS[name]).branches
    for source, by_name in branches.items():
        for branch_name, branch in by_name.items():
            assert branch.ends, f"{name}: conditional edge {branch_name!r} from {source!r} declares no targets"


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_graph_has_no_checkpointer_and_its_builder_accepts_one(name: str) -> None:
    workflow = WORKFLOWS[name]
    graph = workflow.load()
    assert graph.checkpointer is None
    durable = builder_of(workflow).compile(checkpointer=InMemorySaver(), name=name)
    config = {"configurable": {"thread_id": "t"}}
    payload = workflow.make_input(workflow.examples[0])
    await durable.ainvoke(payload, config, context=Context(model="offline"), interrupt_before="*")
    paused = await durable.aget_state(config)
    assert paused.next and set(paused.next) <= set(graph.nodes) - {"__start__"}, paused
    resumed = await durable.ainvoke(None, config, context=Context(model="offline"))
    assert without_run_ids(resumed) == without_run_ids(await graph.ainvoke(payload, context=Context(model="offline")))


def test_langgraph_dockerfile_builds_a_server_image_from_the_same_config(tmp_path: Path) -> None:
    # The scale path: `langgraph build` / `langgraph up` make this image (Postgres + Redis behind it). Generating
    # the Dockerfile needs no Docker engine, so CI can check what the image would contain.
    langgraph = Path(sys.executable).with_name("langgraph")
    env = clean_env(LANGGRAPH_CLI_NO_ANALYTICS="1", LANGGRAPH_NO_VERSION_CHECK="1")
    done = subprocess.run(
        [str(langgraph), "dockerfile", str(tmp_path / "Dockerfile")],
        cwd=STUDIO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    dockerfile = (tmp_path / "Dockerfile").read_text()
    project = STUDIO.parent.name  # `dependencies: [".."]` becomes a build context named after the checkout
    assert dockerfile.startswith("# syntax=docker/dockerfile")
    assert "\nFROM langchain/langgraph-api:" in dockerfile
    assert f"COPY --from={project} . /deps/{project}" in dockerfile
    assert "uv pip install --system --no-cache-dir -c /api/constraints.txt -e ." in dockerfile
    [graphs_line] = [line for line in dockerfile.splitlines() if line.startswith("ENV LANGSERVE_GRAPHS=")]
    # langgraph-cli puts the JSON in single quotes without escaping, so an apostrophe in a description would
    # break the image build; parse the line the way Docker's shell-like quoting does.
    instruction, assignment = shlex.split(graphs_line)
    assert instruction == "ENV"
    graphs = json.loads(assignment.removeprefix("LANGSERVE_GRAPHS="))
    assert list(graphs) == list(WORKFLOWS)
    for name, entry in graphs.items():
        module = WORKFLOWS[name].module
        assert entry["path"] == f"/deps/{project}/{module.replace('.', '/')}.py:graph"
        assert entry["description"] == WORKFLOWS[name].description
    assert not (STUDIO / "Dockerfile").exists()
