"""Test doubles: a scripted chat model and a Gemini-compatible HTTP server on 127.0.0.1."""

import asyncio
import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from nodes.backend import LocalBackend, OrderStatus
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


class ProviderRefusal(Exception):
    """A provider's refusal as its client raises it, the HTTP status on the exception: a model failure that is not
    retried (a RuntimeError would be a bug, which fails the run)."""

    code = 400


class KeyedChatModel(OfflineChatModel):
    """Replies by what the prompt holds, so parallel branches get their own answer in any order; records every prompt.

    `answers` maps a piece of text to the reply for any call whose messages or JSON schema contain it: a text (JSON
    for a structured call) or an exception to raise. The first key found wins; other calls get the offline answer.
    """

    answers: dict[str, Any] = {}
    prompts: list[str] = []

    def _answer(self, messages: list[BaseMessage], schema: dict[str, Any] | None) -> ChatResult:
        text = "\n".join(m.text for m in messages) + (json.dumps(schema) if schema else "")
        self.prompts.append(text)
        for key, answer in self.answers.items():
            if key in text:
                if isinstance(answer, Exception):
                    raise answer
                usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=answer, usage_metadata=usage))])
        return super()._answer(messages, schema)


_PATH = re.compile(
    r"^/(?P<version>v1|v1beta|v1alpha)/(?P<model>(?:models|tunedModels)/[^:/]+)"
    r":(?P<method>generateContent|streamGenerateContent)$"
)
"""Every path a Gemini client may call for content: any API version the service offers, any model name."""

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class RecordingBackend(LocalBackend):
    """The sample support backend, remembering every order it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str] = []

    async def order_status(self, order_id: str) -> OrderStatus:
        self.looked_up.append(order_id)
        return await super().order_status(order_id)


class HoldingModel(OfflineChatModel):
    """Offline answers; keeps the peak number of calls in flight at once.

    Each call whose first message holds `hold_marker` waits (a bounded time) until `hold_until` calls are in flight,
    or until no more can come (`held` calls of that kind in all): however slowly branches start on a loaded
    machine, every call a bound lets through is in flight at once, and a bound that let more through shows in
    `peak`.
    """

    hold_marker: str = "specialized billing assistant"
    hold_until: int = 1
    held: int = 1
    in_flight: int = 0
    peak: int = 0
    done: int = 0

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        holding = self.hold_marker in messages[0].text
        try:
            for _ in range(2000 if holding else 0):
                if self.in_flight >= self.hold_until or self.done + self.in_flight >= self.held:
                    break
                await asyncio.sleep(0.005)
            return await super()._agenerate(messages, *args, **kwargs)
        finally:
            self.in_flight -= 1
            self.done += holding


@dataclass
class Reply:
    """One scripted answer: a text with its finish reason (e.g. "MAX_TOKENS" for a cut-off reply)."""

    text: str
    finish_reason: str = "STOP"


@dataclass
class Fault:
    """One scripted failure, answered with Gemini's error body (`{"error": {code, message, status}}`).

    `retry_after` (seconds) is sent both ways a client may read it: a `Retry-After` header and the
    `google.rpc.RetryInfo` detail that Gemini puts in its 429 bodies.
    """

    status: int
    message: str = "The service is currently unavailable."
    retry_after: float | None = None
    raw: str | None = None
    """A body to send as is instead of the JSON error (e.g. an HTML page from a proxy, with status 200)."""


@dataclass
class Hangup:
    """Close the connection without answering, as a dropped connection or a crashed proxy does."""


@dataclass
class Slow:
    """Wait `seconds` before answering with `then` (the computed answer when None)."""

    seconds: float
    then: "Reply | Fault | None" = None


Scripted = str | Reply | Fault | Hangup | Slow
"""One scripted answer: a reply text, a Reply, or a fault."""


@dataclass
class Chaos:
    """Answer a share of requests with a random fault instead (seeded, so a run can be repeated)."""

    rate: float
    faults: tuple[Fault | Hangup, ...] = (
        Fault(429, "Resource has been exhausted (e.g. check quota).", retry_after=0.05),
        Fault(503, "The model is overloaded. Please try again later."),
        Fault(200, raw="<html><body>502 Bad Gateway</body></html>"),
    )
    seed: int = 0
    injected: int = 0
    """How many faults were sent so far."""

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self) -> Fault | Hangup | None:
        """Return a fault for this request, or None to answer it normally."""
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            self.injected += 1
            return self._random.choice(self.faults)


@dataclass
class GeminiServer:
    """What the fake Gemini server saw and how it should answer."""

    url: str
    api_key: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    """One entry per request: version, method, model, stream (SSE or not), path, the JSON body, and when it
    arrived (`at`, time.monotonic())."""
    scripted: list[Scripted] = field(default_factory=list)
    """Answers to send instead of computed ones, in order (for malformed-output and fault tests)."""
    chaos: Chaos | None = None
    """Random faults on a share of the requests that have no scripted answer."""
    respond: Callable[[list[BaseMessage], dict[str, Any] | None], str] | None = None
    """Compute the reply text from the prompt and the JSON schema (if any) instead of the offline model: a
    hostile or broken model for the tests. Scripted answers and chaos come first."""
    thoughts_tokens: int = 0
    """Thinking tokens to report in usageMetadata (Gemini 2.5 models think by default)."""


def _messages(body: dict[str, Any]) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        messages.append(SystemMessage("\n".join(p.get("text", "") for p in system.get("parts", []))))
    for content in body.get("contents", []):
        text = "\n".join(p.get("text", "") for p in content.get("parts", []))
        messages.append(AIMessage(text) if content.get("role") == "model" else HumanMessage(text))
    return messages


def _answer(state: GeminiServer, body: dict[str, Any]) -> Reply | Fault | Hangup | Slow:
    if state.scripted:
        scripted = state.scripted.pop(0)
        return Reply(scripted) if isinstance(scripted, str) else scripted
    fault = state.chaos.pick() if state.chaos else None
    if fault is not None:
        return fault
    return _computed(state, body)


def _computed(state: GeminiServer, body: dict[str, Any]) -> Reply:
    messages = _messages(body)
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if state.respond is not None:
        return Reply(state.respond(messages, schema))
    return Reply(json.dumps(fill_schema(schema, messages)) if schema else answer_text(messages))


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


def _stream_pieces(text: str, pieces: int = 3) -> list[str]:
    """Split `text` at spaces into up to `pieces` chunks, as a streamed reply arrives (never an empty chunk)."""
    words = re.split(r"(?<= )", text)
    size = max(1, -(-len(words) // pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)] or [""]


def _responses(reply: Reply, model: str, prompt_tokens: int, thoughts: int, stream: bool) -> list[dict[str, Any]]:
    """The GenerateContentResponse objects for `reply`: one, or one per streamed chunk.

    As Gemini does, every streamed chunk carries the usage so far (cumulative counts) and only the last one a
    finish reason; the client works out per-chunk deltas itself.
    """
    pieces = _stream_pieces(reply.text) if stream else [reply.text]
    responses = []
    written = ""
    for number, piece in enumerate(pieces, start=1):
        written += piece
        last = number == len(pieces)
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = reply.finish_reason
        output = _tokens(written)
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output}
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] = prompt_tokens + output + thoughts
        responses.append(
            {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": f"r{number}"}
        )
    return responses


@contextmanager
def gemini_server(api_key: str = "test-key-not-secret", lifetime: float = 120.0) -> Iterator[GeminiServer]:
    """Serve the Gemini API's content methods on 127.0.0.1, answering like the offline model.

    `POST /{v1,v1beta,v1alpha}/models/{model}:generateContent` and `:streamGenerateContent` (server-sent events
    with `?alt=sse`, else one JSON array), for any model name, with the key in the `x-goog-api-key` header or a
    `key` query parameter, as the real service takes it. Requests with another key get Gemini's 400 "API key not
    valid"; unknown paths get its 404 body. The server stops when the block ends, or by itself after `lifetime`
    seconds, whichever comes first.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            path, _, query_string = self.path.partition("?")
            query = parse_qs(query_string)
            match = _PATH.match(path)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            key = self.headers.get("x-goog-api-key") or query.get("key", [""])[0]
            stream = bool(match and match["method"] == "streamGenerateContent")
            sse = stream and query.get("alt") == ["sse"]
            state.requests.append(
                {
                    "version": match and match["version"],
                    "method": match and match["method"],
                    "model": match and match["model"].partition("/")[2],
                    "stream": stream,
                    "path": self.path,
                    "body": body,
                    "at": time.monotonic(),
                }
            )
            if match is None:
                self._error(Fault(404, f"Method not found: {path}"))
            elif key != state.api_key:
                self._error(Fault(400, "API key not valid. Please pass a valid API key."))
            else:
                answer = _answer(state, body)
                if isinstance(answer, Slow):
                    time.sleep(answer.seconds)
                    answer = answer.then or _computed(state, body)
                if isinstance(answer, Hangup):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(answer, Fault):
                    self._error(answer)
                    return
                prompt_tokens = sum(_tokens(m.text) for m in _messages(body))
                model = match["model"].partition("/")[2]
                responses = _responses(answer, model, prompt_tokens, state.thoughts_tokens, stream)
                if sse:
                    self._send_events(responses)
                else:
                    self._send(200, responses if stream else responses[0])

        def _error(self, fault: Fault) -> None:
            if fault.raw is not None:
                data = fault.raw.encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            error: dict[str, Any] = {
                "code": fault.status,
                "message": fault.message,
                "status": _STATUS_NAMES.get(fault.status, "UNKNOWN"),
            }
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
                error["details"] = [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fault.retry_after:g}s"}
                ]
            self._send(fault.status, {"error": error}, headers)

        def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_events(self, responses: list[dict[str, Any]]) -> None:
            """Stream one `data:` event per chunk with chunked transfer encoding, as Gemini's SSE endpoint does."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for response in responses:
                event = f"data: {json.dumps(response)}\r\n\r\n".encode()
                self.wfile.write(f"{len(event):X}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the stdlib's 5 makes bursts of concurrent branches wait, then fail

        def handle_error(self, request: Any, client_address: Any) -> None:
            # A client that hung up (its timeout or deadline passed, its run was cancelled) is no server error, as
            # for a real server; the stdlib would print a traceback to stderr, into whichever test captures it.
            if isinstance(sys.exc_info()[1], ConnectionError):
                return
            super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
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


@dataclass
class FaultOutcomes:
    """How runs of one workflow fared against a server that injects faults."""

    workflow: str
    rate: float
    runs: int = 0
    clean: int = 0
    """Finished with no note: every fault was absorbed by retries."""
    degraded: int = 0
    """Finished with notes saying what was worked around."""
    failed: list[str] = field(default_factory=list)
    """One line per run that raised (the CLI would exit 1 with it)."""
    requests: int = 0
    faults: int = 0

    @property
    def finished(self) -> int:
        """Runs that returned a result, clean or degraded."""
        return self.clean + self.degraded


async def outcomes_under_faults(
    workflow: str, rate: float, runs: int, seed: int = 0, context: Any = None
) -> FaultOutcomes:
    """Run `workflow` on its lesson input `runs` times through the real Gemini client, `rate` of requests failing.

    Faults are a 429 with Retry-After, a 503 and an HTML page instead of JSON (Chaos' defaults), seeded. The
    caller sets how long retries wait (tests shorten them); `context` defaults to Context() ("auto": Gemini).
    """
    import os

    from graphs.catalog import WORKFLOWS
    from nodes import llm
    from state.context import Context

    entry = WORKFLOWS[workflow]
    graph = entry.load()
    outcome = FaultOutcomes(workflow, rate)
    saved = {name: os.environ.get(name) for name in ("GOOGLE_API_KEY", llm.BASE_URL_VARIABLE)}
    with gemini_server() as server:
        server.chaos = Chaos(rate=rate, seed=seed)
        os.environ["GOOGLE_API_KEY"], os.environ[llm.BASE_URL_VARIABLE] = server.api_key, server.url
        try:
            for number in range(runs):
                outcome.runs += 1
                try:
                    result = await graph.ainvoke(entry.inputs(None)[0], context=context or Context())
                except Exception as error:  # noqa: BLE001 - counted; the figures say how runs ended
                    outcome.failed.append(f"run {number + 1}: {llm.describe_error(error)}")
                    continue
                if result.get("notes"):
                    outcome.degraded += 1
                else:
                    outcome.clean += 1
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        outcome.requests = len(server.requests)
        outcome.faults = server.chaos.injected
    return outcome
