"""Count model calls and tokens over a run, through LangChain's callbacks (works for every provider)."""

import threading
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult


class UsageCounter(BaseCallbackHandler):
    """Pass as `config={"callbacks": [counter]}`: counts each chat-model call and the tokens it reports."""

    run_inline = True
    """Called on the event loop in order, not in an executor: counts are final when `ainvoke` returns."""

    def __init__(self) -> None:
        """Start from zero."""
        self.calls = 0
        self.failed = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self._lock = threading.Lock()

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any) -> None:
        """Count a call as it starts, so calls that fail are counted too."""
        with self._lock:
            self.calls += 1

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Add the tokens the provider reported (usage_metadata); providers that report none add nothing."""
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                if usage:
                    with self._lock:
                        self.input_tokens += usage.get("input_tokens", 0)
                        self.output_tokens += usage.get("output_tokens", 0)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        """Count a failed call."""
        with self._lock:
            self.failed += 1
