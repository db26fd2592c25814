"""Test doubles: a scripted chat model and a Gemini-compatible HTTP server on 127.0.0.1."""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from nodes.offline import OfflineChatModel, answer_text, fill_schema


class ScriptedChatModel(OfflineChatModel):
    """Replies with scripted texts in order (then falls back to offline answers) and records every prompt.

    Structured calls go through the same JSON-schema path as the offline model, so a scripted text such as
    "not json" reaches the node exactly as malformed provider output would.
    """

    replies: list[str] = []
    prompts: list[list[BaseMessage]] = []
    schemas: list[dict[str, Any] | None] = []

    def _answer(self, messages: list[BaseMessage], schema: dict[str, Any] | None) -> ChatResult:
        self.prompts.append(list(messages))
        self.schemas.append(schema)
        if not self.replies:
            return super()._answer(messages, schema)
        text = self.replies.pop(0)
        message = AIMessage(content=text, usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})
        return ChatResult(generations=[ChatGeneration(message=message)])


_PATH = re.compile(r"^/v1beta/models/(?P<model>[^:/]+):generateContent$")


@dataclass
class GeminiServer:
    """What the fake Gemini server saw and how it should answer."""

    url: str
    api_key: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    scripted: list[str] = field(default_factory=list)
    """Reply texts to send instead of computed answers, in order (for malformed-output tests)."""


def _messages(body: dict[str, Any]) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        messages.append(SystemMessage("\n".join(p.get("text", "") for p in system.get("parts", []))))
    for content in body.get("contents", []):
        text = "\n".join(p.get("text", "") for p in content.get("parts", []))
        messages.append(AIMessage(text) if content.get("role") == "model" else HumanMessage(text))
    return messages


def _answer(state: GeminiServer, body: dict[str, Any]) -> str:
    if state.scripted:
        return state.scripted.pop(0)
    messages = _messages(body)
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return json.dumps(fill_schema(schema, messages)) if schema else answer_text(messages)


@contextmanager
def gemini_server(api_key: str = "test-key-not-secret", lifetime: float = 120.0) -> Iterator[GeminiServer]:
    """Serve `POST /v1beta/models/{model}:generateContent` on 127.0.0.1, answering like the offline model.

    Requests with another key get Gemini's 400 "API key not valid". The server stops when the block ends, or
    by itself after `lifetime` seconds, whichever comes first.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            match = _PATH.match(self.path.split("?")[0])
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            key = self.headers.get("x-goog-api-key", "")
            state.requests.append({"model": match and match["model"], "path": self.path, "body": body})
            if match is None:
                self._send(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
            elif key != state.api_key:
                self._send(
                    400,
                    {
                        "error": {
                            "code": 400,
                            "status": "INVALID_ARGUMENT",
                            "message": "API key not valid. Please pass a valid API key.",
                        }
                    },
                )
            else:
                text = _answer(state, body)
                self._send(
                    200,
                    {
                        "candidates": [
                            {
                                "content": {"parts": [{"text": text}], "role": "model"},
                                "finishReason": "STOP",
                                "index": 0,
                            }
                        ],
                        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 15},
                        "modelVersion": match["model"],
                    },
                )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = GeminiServer(url=f"http://127.0.0.1:{server.server_address[1]}", api_key=api_key)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    watchdog = threading.Timer(lifetime, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield state
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
