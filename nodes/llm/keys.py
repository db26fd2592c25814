"""The Gemini API key: where it is looked up, and keeping it (and anything shaped like one) out of text."""

import os
import re

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
BASE_URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
"""Read by google-genai too; lets the Gemini client talk to a Gemini-compatible server (tests use 127.0.0.1)."""
_GEMINI_KEY_SHAPE = re.compile(r"AIza[0-9A-Za-z_\-]{20,}")


def find_api_key() -> str | None:
    """Return the Gemini key from the environment, a `.env` file, or Colab's secrets, in that order."""
    for name in KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
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


def redact(text: str) -> str:
    """Remove API keys (ours, wherever they were found, and anything shaped like a Google key) from `text`."""
    for secret in {*(os.environ.get(name) for name in KEY_VARIABLES), find_api_key()}:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _GEMINI_KEY_SHAPE.sub("***", text)
