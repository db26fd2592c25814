"""Classifying failed model calls (may a retry help? what should the user check?) and describing them in one line.

A model call fails in provider-specific ways: langchain-google-genai raises its own error classes (with the HTTP
status only on the google-genai error they wrap, in older releases), the HTTP layer raises httpx's (or httpx2's)
transport errors, a proxy's HTML page surfaces as a JSONDecodeError. `classify` reads all of them by type and
status, following the chain of causes, into one `ModelCallError` with a `kind` the rest of the project acts on.
"""

import asyncio
import email.utils
import json
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from nodes.llm.keys import redact

FaultKind = Literal[
    "rate_limit",
    "server",
    "network",
    "timeout",
    "garbled",
    "unreadable_output",
    "bad_key",
    "unknown_model",
    "invalid_request",
    "deadline",
]
TRANSIENT_KINDS: frozenset[FaultKind] = frozenset({"rate_limit", "server", "network", "timeout", "garbled"})
"""Faults a later attempt may not meet: retried (with backoff, honouring Retry-After)."""


class ModelSetupError(ValueError):
    """A model that cannot be built as asked (missing key, unknown provider); the message says what to do."""


class ModelCallError(Exception):
    """A model call that failed for a reason outside this project's code: a fallback may handle it.

    Raised by the model layer for every classified provider failure (after its retries, for transient ones);
    the provider's own error is the `__cause__`. Anything else a model call raises (a TypeError from a bad
    setting, say) is not wrapped, so it surfaces instead of turning into a fallback.
    """

    def __init__(self, kind: FaultKind, detail: str, *, status: int | None = None, retry_after: float | None = None):
        """Record what kind of fault it was, a short detail, the HTTP status and the server's Retry-After."""
        super().__init__(redact(detail))
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Whether another attempt may succeed."""
        return self.kind in TRANSIENT_KINDS

    @property
    def unusable_reply(self) -> bool:
        """Whether a reply came but could not be read: unusable output, for the caller's fallback, not an outage."""
        return self.kind in ("garbled", "unreadable_output")


class DeadlineExceeded(ModelCallError, TimeoutError):
    """The run's time limit (Context.timeout) passed before or during a model call."""

    def __init__(self, seconds: float):
        """Say which limit passed."""
        super().__init__("deadline", f"the run's time limit of {seconds:g} s passed")
        self.seconds = seconds


@dataclass(frozen=True)
class _Transport:
    """The transport error base classes of the HTTP clients that may be installed (httpx, httpx2, httpcore)."""

    errors: tuple[type[BaseException], ...]
    timeouts: tuple[type[BaseException], ...]


def _transport_classes() -> _Transport:
    errors: list[type[BaseException]] = [ConnectionError]
    timeouts: list[type[BaseException]] = [TimeoutError, asyncio.TimeoutError]
    for package in ("httpx", "httpx2", "httpcore", "httpcore2"):
        try:
            module = __import__(package)
        except ImportError:
            continue
        for name, into in (("TransportError", errors), ("NetworkError", errors), ("TimeoutException", timeouts)):
            found = getattr(module, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                into.append(found)
    return _Transport(tuple(errors), tuple(timeouts))


_TRANSPORT: _Transport | None = None


def _transport() -> _Transport:
    global _TRANSPORT
    if _TRANSPORT is None:
        _TRANSPORT = _transport_classes()
    return _TRANSPORT


def causes(error: BaseException) -> Iterator[BaseException]:
    """Yield `error` and the errors it was raised from (explicitly or while handling), nearest first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status(error: BaseException) -> int | None:
    for link in causes(error):
        for attribute in ("code", "status_code"):
            value = getattr(link, attribute, None)
            if isinstance(value, int) and 100 <= value <= 599:
                return value
        response = getattr(link, "response", None)
        value = getattr(response, "status_code", None)
        if isinstance(value, int) and 100 <= value <= 599 and value != 200:
            return value
    return None


_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_after(error: BaseException) -> float | None:
    """Return the wait the server asked for (Retry-After header or Gemini's RetryInfo detail), in seconds."""
    for link in causes(error):
        headers = getattr(getattr(link, "response", None), "headers", None)
        value = headers.get("retry-after") if headers is not None else None
        if value:
            seconds = _seconds(str(value))
            if seconds is not None:
                return seconds
        details: Any = getattr(link, "details", None)
        for detail in (details or {}).get("error", {}).get("details", []) if isinstance(details, dict) else []:
            match = _DELAY.match(str(detail.get("retryDelay", ""))) if isinstance(detail, dict) else None
            if match:
                return float(match[1])
    return None


def _seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_unreadable_output(error: BaseException) -> bool:
    # google-genai parses a structured reply's text itself (GenerateContentResponse.parsed) and lets a
    # RecursionError out of a model's JSON nested too deeply: the model answered, and asking again may help, while
    # repeating the same request would only get the same answer read the same way.
    return any(
        isinstance(link, RecursionError)
        and any(frame.filename.replace("\\", "/").endswith("genai/types.py") for frame in _frames(link))
        for link in causes(error)
    )


def _frames(error: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(error.__traceback__))


def _is_garbled(error: BaseException) -> bool:
    # Raised while a client read the response: a proxy's HTML page (JSONDecodeError), a reply nested too deeply
    # for the client's own JSON parsing (RecursionError), or google-genai's UnknownApiResponseError.
    names = {type(link).__name__ for link in causes(error)}
    unreadable = (json.JSONDecodeError, RecursionError)
    return bool({"UnknownApiResponseError"} & names or any(isinstance(link, unreadable) for link in causes(error)))


def _mentions_key(error: BaseException) -> bool:
    return any("api key" in str(link).lower() or "api_key" in str(link).lower() for link in causes(error))


def _langchain_kind(error: BaseException) -> FaultKind | None:
    """Read langchain-core's provider-neutral ModelError classes (langchain-core 1.5 and later)."""
    try:
        from langchain_core import exceptions
    except ImportError:  # pragma: no cover - langchain-core is a dependency
        return None
    kinds: list[tuple[str, FaultKind]] = [
        ("ModelAuthenticationError", "bad_key"),
        ("ModelPermissionDeniedError", "bad_key"),
        ("ModelNotFoundError", "unknown_model"),
        ("ModelRateLimitError", "rate_limit"),
        ("ModelAPIError", "server"),
        ("ModelConnectionError", "network"),
        ("ModelTimeoutError", "timeout"),
        ("ModelInvalidRequestError", "invalid_request"),
    ]
    for name, kind in kinds:
        cls = getattr(exceptions, name, None)
        if isinstance(cls, type) and isinstance(error, cls):
            return kind
    return None


def classify(error: BaseException) -> ModelCallError | None:
    """Turn what a model call raised into a ModelCallError, or None when it is no provider failure.

    None means a bug or a bad setting (TypeError, AttributeError, an unexpected ValueError): those must surface.
    """
    if isinstance(error, ModelCallError):
        return error
    detail = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
    status = _status(error)
    kind = _langchain_kind(error)
    if kind is None and status is not None:
        if status == 429:
            kind = "rate_limit"
        elif status >= 500:
            kind = "server"
        elif status in (401, 403) or (status == 400 and _mentions_key(error)):
            kind = "bad_key"
        elif status == 404:
            kind = "unknown_model"
        elif 400 <= status < 500:
            kind = "invalid_request"
    if kind == "invalid_request" and _mentions_key(error):
        kind = "bad_key"
    if kind is None:
        transport = _transport()
        if any(isinstance(link, transport.timeouts) for link in causes(error)):
            kind = "timeout"
        elif any(isinstance(link, transport.errors) for link in causes(error)):
            kind = "network"
        elif _is_unreadable_output(error):
            kind = "unreadable_output"
        elif _is_garbled(error):
            kind = "garbled"
    if kind is None:
        return None
    return ModelCallError(kind, detail, status=status, retry_after=retry_after(error))


def is_transient(error: BaseException) -> bool:
    """Tell whether retrying a failed model call may help (rate limit, server error, network, garbled reply)."""
    classified = classify(error)
    return classified is not None and classified.transient


_ADVICE: dict[FaultKind, str] = {
    "rate_limit": "The model provider's rate limit was reached ({detail}). Wait a minute and retry, or lower "
    "--max-concurrency.",
    "server": "The model provider had a server error ({detail}). Try again in a while, or run with --model offline.",
    "network": "Could not reach the model provider ({detail}). Check the network connection, or run with "
    "--model offline.",
    "timeout": "The model provider did not answer in time ({detail}). Try again, or run with --model offline.",
    "garbled": "The model provider's reply could not be read ({detail}); a proxy between you and it may be "
    "failing. Try again, or run with --model offline.",
    "unreadable_output": "The model's reply could not be read ({detail}): its JSON was nested too deeply for the "
    "client.",
    "bad_key": "The model provider rejected the API key ({detail}). Check GOOGLE_API_KEY, or run with --model offline.",
    "unknown_model": "The model provider does not know the model ({detail}). Check --model and --node-model.",
    "invalid_request": "The model provider refused the request ({detail}).",
    "deadline": "The run stopped: {detail}. Allow more time with --timeout (Context.timeout).",
}


def describe_error(error: BaseException) -> str:
    """Explain a failure in one line a user can act on; never includes a key."""
    if isinstance(error, ModelSetupError):
        return redact(str(error))
    classified = classify(error)
    if classified is not None:
        return redact(_ADVICE[classified.kind].format(detail=str(classified)))
    message = " ".join(str(error).split()) or type(error).__name__
    return redact(f"The run failed ({type(error).__name__}: {message[:300]}).")
