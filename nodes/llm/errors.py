"""Classifying failed model calls (may a retry help?) and describing them in one line a user can act on."""

from nodes.llm.keys import redact


class ModelSetupError(ValueError):
    """A model that cannot be built as asked (missing key, unknown provider); the message says what to do."""


def is_transient(error: BaseException) -> bool:
    """Tell whether retrying a failed model call may help (network, rate limit, server), for RetryPolicy."""
    if isinstance(error, ValueError):  # includes OutputParserException and ModelSetupError
        return False
    retryable = getattr(error, "is_retryable", None)
    if isinstance(retryable, bool):
        return retryable
    code = getattr(error, "code", None) or getattr(error, "status_code", None)
    if isinstance(code, int):
        return code == 429 or code >= 500
    name = type(error).__name__
    return isinstance(error, (ConnectionError, TimeoutError)) or any(
        word in name for word in ("Connect", "Timeout", "Transport", "Network", "RateLimit", "Unavailable")
    )


def describe_error(error: BaseException) -> str:
    """Explain a failed run in one line a user can act on; never includes a key."""
    if isinstance(error, ModelSetupError):
        return redact(str(error))
    message = " ".join(str(error).split()) or type(error).__name__
    lowered = message.lower()
    name = type(error).__name__
    if "api key" in lowered or "api_key" in lowered or name.endswith(("AuthenticationError", "PermissionDeniedError")):
        return redact(
            f"The model provider rejected the API key ({message[:200]}). "
            "Check GOOGLE_API_KEY, or run with --model offline."
        )
    if is_transient(error) and not isinstance(getattr(error, "code", None), int):
        return redact(
            f"Could not reach the model provider ({name}: {message[:200]}). "
            "Check the network connection, or run with --model offline."
        )
    failed = "The model call failed" if _from_a_model_client(error) else "The run failed"
    return redact(f"{failed} ({name}: {message[:300]}).")


def _from_a_model_client(error: BaseException) -> bool:
    package = type(error).__module__.split(".")[0]
    return package in {"langchain_google_genai", "google", "httpx", "httpcore", "openai", "anthropic"} or (
        getattr(error, "is_retryable", None) is not None
    )
