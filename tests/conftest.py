import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphs.catalog import Workflow
from nodes import llm
from nodes.llm import keys, retry
from nodes.llm.retry import RetrySettings
from state.context import Context
from tests import postgres
from tests.fakes import GeminiServer, ScriptedChatModel, gemini_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts keyless, away from any developer .env, with no base URL override."""
    for name in (*llm.KEY_VARIABLES, llm.BASE_URL_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    keys.forget_found_keys()  # a key read from another test's .env must not linger
    # The offline notice is given once per process: in-process tests would see it on whichever test runs first.
    # Tests of the notice run the CLI in a process of its own.
    monkeypatch.setattr(llm.models, "_announced", True)
    # The CLI's default thread store lives under the user's state folder; keep tests (and their
    # subprocesses, which inherit this) out of the real one.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> RetrySettings:
    """Keep the retry policy (three tries) but wait at most 1 ms between tries."""
    fast = RetrySettings(initial=0.001, maximum=0.001, retry_after_cap=0.001)
    monkeypatch.setattr(retry, "RETRY", fast)
    return fast


@pytest.fixture
def scripted() -> ScriptedChatModel:
    return ScriptedChatModel(replies=[], prompts=[], schemas=[])


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    """A Gemini-compatible server on 127.0.0.1, with the key and base URL set for the real client.

    It lives as long as the test (ten minutes at most): a test that runs several CLI processes in a row can
    outlast the server's default two minutes on a loaded machine.
    """
    with gemini_server(lifetime=600) as server:
        monkeypatch.setenv("GOOGLE_API_KEY", server.api_key)
        monkeypatch.setenv(llm.BASE_URL_VARIABLE, server.url)
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server on 127.0.0.1 for this session (CI's, or one started here), else a skip."""
    try:
        with postgres.server_url() as url:
            yield url
    except postgres.Unavailable as reason:
        pytest.skip(str(reason))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own (dropped after it), as a `postgresql://` URL with a password."""
    with postgres.database(postgres_server) as url:
        yield url


STORE_KINDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
"""The thread stores a test runs against; the PostgreSQL one is marked `postgres`."""


@pytest.fixture(params=STORE_KINDS)
def thread_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `--db` of a new thread store: a SQLite file, or a PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        return str(tmp_path / "threads.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


def stored_bytes(db: str) -> bytes:
    """Everything a thread store holds, as stored: the SQLite file and its journals, or every table's rows."""
    if db.startswith("postgresql://"):
        return postgres.contents(db)
    return b"".join(file.read_bytes() for file in Path(db).parent.glob(Path(db).name + "*"))


def workflows_command() -> list[str]:
    """The installed console script when present, else the module."""
    script = Path(sys.executable).with_name("workflows")
    return [str(script)] if script.exists() else [sys.executable, "-m", "graphs.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no keys unless given, no tracing."""
    env = {k: v for k, v in os.environ.items() if k not in (*llm.KEY_VARIABLES, llm.BASE_URL_VARIABLE)}
    env.update({"LANGSMITH_TRACING": "false", "PYTHONPATH": str(REPO)}, **extra)
    return env


def run_cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `workflows` command in a subprocess with a clean environment plus `env`, and `stdin` as its input.

    Without `stdin` the command reads nothing (/dev/null), whatever the test runner's own stdin is: `run` reads
    text from a pipe.
    """
    return subprocess.run(
        [*workflows_command(), *args],
        capture_output=True,
        text=True,
        env=clean_env(**env),
        timeout=120,
        **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}),
    )


LESSON_ROUTES = {
    "My internet connection is not working.": "technical_support",
    "I think there is a mistake on my last invoice.": "billing_inquiry",
    "What are your opening hours?": "general_question",
}
"""The lesson's three queries and the intent the lesson's Gemini run routed each to."""


_RUN_SCOPED = re.compile(r"\b(?:CASE|RMA|FU)-\d{8}\b|\b[a-z_]+:[0-9a-f]{20}\b")


def without_run_ids(value: Any) -> Any:
    """Return `value` with the ids a run derives from its own scope masked (task keys, case, RMA, follow-up ids).

    The orchestrator scopes task keys by customer, else thread, else run: two runs of the same message on
    different threads rightly get different cases. Comparisons of such runs compare everything else.
    """
    if isinstance(value, str):
        return _RUN_SCOPED.sub("<run-id>", value)
    if isinstance(value, dict):
        return {key: without_run_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_run_ids(item) for item in value]
    return value


async def updates_of(workflow: Workflow, text: str) -> list[tuple[str, Any]]:
    """(node, what it wrote) for each node of an uninterrupted offline run of `text`, in the order they ran."""
    seen: list[tuple[str, Any]] = []
    updates = workflow.load().astream(
        workflow.make_input(text), context=Context(model="offline"), stream_mode="updates"
    )
    async for update in updates:
        seen.extend((node, wrote) for node, wrote in update.items() if not node.startswith("__"))
    return seen


async def nodes_run(workflow: Workflow, text: str) -> list[str]:
    """The nodes an uninterrupted offline run of `text` goes through, in order (parallel ones side by side)."""
    return [node for node, _ in await updates_of(workflow, text)]


def edited_text(workflow: Workflow) -> str:
    """A different input to edit a paused run's state to: another lesson input, or the only one reworded."""
    first, last = workflow.examples[0], workflow.examples[-1]
    return last if last != first else f"{first} Please keep it short."
