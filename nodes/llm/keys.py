"""The Gemini API key: where it is looked up, and keeping it (and anything shaped like one) out of every text.

A key can reach text in more ways than an error message: a Gemini-compatible proxy (or a model talked into it)
can echo the key it was sent, and a customer can paste one into a message. `redact` removes every key this
process knows of, and anything shaped like a Google API key, from a text; `redact_value` from nested data;
`StreamRedactor` from a text that arrives in pieces, where a key may be split across two of them.
"""

import os
import re
from typing import Any

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
BASE_URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
"""Read by google-genai too; lets the Gemini client talk to a Gemini-compatible server (tests use 127.0.0.1)."""
REDACTED = "***"
_GEMINI_KEY_SHAPE = re.compile(r"AIza[0-9A-Za-z_\-]{20,}")
_SHAPE_LONGEST = 64
"""Longest key-shaped text the stream redactor holds back for (Google keys are 39 characters)."""
_MIN_SECRET = 8
"""Shorter values are not treated as secrets: replacing every "test" in a text would garble it, not protect it."""


_stored: tuple[str | None] | None = None
"""The key found in a `.env` file or Colab's secrets, once looked up."""


def find_api_key() -> str | None:
    """Return the Gemini key from the environment, a `.env` file, or Colab's secrets, in that order.

    The environment is read every time (it is cheap, and tests change it); the `.env` file and Colab's secrets
    are read once per process, so the many calls on a run's hot path do no file I/O (`langgraph dev` refuses
    blocking calls in async nodes). `forget_found_keys()` makes the next call read them again.
    """
    for name in KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    global _stored
    if _stored is None:
        _stored = (_stored_key(),)
    return _stored[0]


def forget_found_keys() -> None:
    """Forget the key read from `.env` or Colab, so the next lookup reads them again (after editing `.env`)."""
    global _stored
    _stored = None


def keys_loaded() -> bool:
    """Tell whether the `.env`/Colab lookup has been done, so a lookup now does no file I/O."""
    return _stored is not None


def _stored_key() -> str | None:
    from dotenv import dotenv_values, find_dotenv

    dotenv_path = find_dotenv(usecwd=True)
    if dotenv_path:
        values = dotenv_values(dotenv_path)
        for name in KEY_VARIABLES:
            if values.get(name):
                return values[name]
    try:
        from google.colab import userdata

        secret = userdata.get("GOOGLE_API_KEY")
        return str(secret) if secret else None
    except Exception:  # noqa: BLE001 - not in Colab, or the secret is missing or not shared with this notebook
        return None


def secrets() -> list[str]:
    """Return the keys this process knows of (environment, .env, Colab), longest first."""
    found = {*(os.environ.get(name) for name in KEY_VARIABLES), find_api_key()}
    return sorted((s.strip() for s in found if s and len(s.strip()) >= _MIN_SECRET), key=len, reverse=True)


def redact(text: str, known: list[str] | None = None) -> str:
    """Remove API keys (ours, wherever they were found, and anything shaped like a Google key) from `text`."""
    for secret in secrets() if known is None else known:
        text = text.replace(secret, REDACTED)
    return _GEMINI_KEY_SHAPE.sub(REDACTED, text)


def redact_value(value: Any, known: list[str] | None = None) -> Any:
    """Return `value` with every string in it (dict keys and values, list items) redacted; other types kept."""
    known = secrets() if known is None else known
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {redact_value(k, known): redact_value(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item, known) for item in value)
    return value


class StreamRedactor:
    """Redact a text that arrives in pieces: hold back a tail that could be the start of a key until it is not."""

    def __init__(self) -> None:
        """Start with nothing held back."""
        self._known = secrets()
        self._hold = max([_SHAPE_LONGEST, *(len(s) for s in self._known)]) - 1
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Take the next piece; return the text that is now safe to show (possibly empty)."""
        text = redact(self._pending + piece, self._known)
        cut = max(0, len(text) - self._hold)
        # Never cut inside a redaction marker or a key-shaped run: move the cut back to a word boundary.
        while 0 < cut < len(text) and not text[cut - 1].isspace():
            cut -= 1
        self._pending = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        """Return what is still held back, redacted: the stream has ended."""
        rest, self._pending = redact(self._pending, self._known), ""
        return rest


class RedactingSerializer:
    """A checkpoint serializer that redacts keys from everything it writes, and reads like the one it wraps.

    LangGraph writes a run's input to the checkpoint before any node runs, so a key pasted into a message would
    reach the file before the first node could remove it: give a saver this serializer (the CLI's thread store
    does) and no key is ever written. `AsyncSqliteSaver(conn, serde=RedactingSerializer())`.
    """

    def __init__(self, inner: Any = None) -> None:
        """Wrap `inner` (LangGraph's JsonPlusSerializer by default)."""
        if inner is None:
            from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

            inner = JsonPlusSerializer()
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize `obj` with every string in it redacted."""
        dumped: tuple[str, bytes] = self.inner.dumps_typed(redact_value(obj))
        return dumped

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize as the wrapped serializer does."""
        return self.inner.loads_typed(data)
