import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes import llm
from tests.fakes import GeminiServer, ScriptedChatModel, gemini_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts keyless, away from any developer .env, with no base URL override."""
    for name in (*llm.KEY_VARIABLES, llm.BASE_URL_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def scripted() -> ScriptedChatModel:
    return ScriptedChatModel(replies=[], prompts=[], schemas=[])


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiServer]:
    """A Gemini-compatible server on 127.0.0.1, with the key and base URL set for the real client."""
    with gemini_server() as server:
        monkeypatch.setenv("GOOGLE_API_KEY", server.api_key)
        monkeypatch.setenv(llm.BASE_URL_VARIABLE, server.url)
        yield server


def workflows_command() -> list[str]:
    """The installed console script when present, else the module."""
    script = Path(sys.executable).with_name("workflows")
    return [str(script)] if script.exists() else [sys.executable, "-m", "graphs"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no keys unless given, no tracing."""
    env = {k: v for k, v in os.environ.items() if k not in (*llm.KEY_VARIABLES, llm.BASE_URL_VARIABLE)}
    env.update({"LANGSMITH_TRACING": "false", "PYTHONPATH": str(REPO)}, **extra)
    return env
