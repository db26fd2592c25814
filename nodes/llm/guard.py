"""The guard every chat model the project builds is wrapped in: retries, the run's deadline and key redaction.

`guarded(model)` returns a view of any LangChain chat model whose class is a subclass of the model's own class,
so it keeps everything the provider does (structured output, tool binding, streaming) and LangGraph's streaming
and callbacks see it as they would the original. Its low-level calls (`_agenerate`, `_astream` and their sync
forms, only those the provider implements) go through the guard:

- transient faults are retried (nodes.llm.retry), each attempt holding one of the run's concurrency slots;
- nothing runs past the run's deadline (Context.timeout);
- every classified provider failure leaves as a ModelCallError (the provider's error as its cause), anything
  else (a bug, a bad setting) as itself;
- every text the model returns is redacted before anyone sees it, streamed text included.
"""

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, Generation, LLMResult
from langchain_core.rate_limiters import InMemoryRateLimiter
from langgraph.config import get_stream_writer
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from nodes.llm import retry
from nodes.llm.concurrency import call_slots, rate_limit_of, rate_limiter
from nodes.llm.errors import DeadlineExceeded, classify
from nodes.llm.keys import StreamRedactor, redact_value, secrets
from nodes.llm.retry import Deadline, current_runtime, deadline_of, retrying
from nodes.llm.usage import BudgetRefusal, UsageMeter
from state.context import context_of

_inside = contextvars.ContextVar("inside_guarded_call", default=False)
"""Set while a guarded call runs: a provider whose async call runs its sync one in a thread is guarded once."""
_pending_events: set["asyncio.Task[None]"] = set()


def _transient(error: BaseException) -> bool:
    if isinstance(error, BudgetRefusal):
        return False
    classified = classify(error)
    return classified is not None and classified.transient


def _as_call_error(error: BaseException) -> BaseException:
    """Return the error to raise for a failed call: its ModelCallError if classified, else the error itself."""
    if isinstance(error, BudgetRefusal):
        return error
    classified = classify(error)
    if classified is None or classified is error:
        return error
    classified.__cause__ = error
    return classified


def _redact_message(message: BaseMessage, known: list[str]) -> BaseMessage:
    update: dict[str, Any] = {"content": redact_value(message.content, known)}
    if isinstance(message, AIMessage) and message.tool_calls:
        update["tool_calls"] = [{**call, "args": redact_value(call["args"], known)} for call in message.tool_calls]
    return message.model_copy(update=update)


def _redact_result(result: ChatResult) -> ChatResult:
    known = secrets()
    generations = [
        ChatGeneration(message=_redact_message(g.message, known), generation_info=g.generation_info)
        for g in result.generations
    ]
    return ChatResult(generations=generations, llm_output=result.llm_output)


def _with_text(chunk: ChatGenerationChunk, text: str) -> ChatGenerationChunk:
    message = chunk.message.model_copy(update={"content": text})
    return ChatGenerationChunk(message=message, generation_info=chunk.generation_info)


class _StreamGuard:
    """Redact a stream of chunks whose string content may split a key across two of them."""

    def __init__(self) -> None:
        self.redactor = StreamRedactor()
        self.last: ChatGenerationChunk | None = None

    def chunk(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        self.last = chunk
        content = chunk.message.content
        if isinstance(content, str):
            text = self.redactor.feed(content)
            if _finishes(chunk):
                # The text held back in case a key went on in the next chunk goes out with the chunk that says
                # the reply is finished: a reader that stops there would otherwise lose it.
                text += self.redactor.flush()
            return _with_text(chunk, text)
        # Content blocks (thinking, images) arrive whole: redact them as they are.
        return _with_text(chunk, redact_value(content))

    def tail(self) -> ChatGenerationChunk | None:
        rest = self.redactor.flush()
        if not rest or self.last is None:
            return None
        return ChatGenerationChunk(message=AIMessageChunk(content=rest, id=self.last.message.id))


def _finishes(chunk: ChatGenerationChunk) -> bool:
    """Tell whether a chunk carries the reply's finish reason (the provider's last text chunk)."""
    return bool(
        (chunk.generation_info or {}).get("finish_reason") or chunk.message.response_metadata.get("finish_reason")
    )


def _on_retry(run_manager: AsyncCallbackManagerForLLMRun | None) -> Any:
    """Tell the run's callbacks (progress displays) about each retry as it is about to wait."""

    def notify(attempt: int, error: BaseException, seconds: float) -> None:
        if run_manager is None:
            return
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        state.idle_for = seconds
        state.outcome_timestamp = time.monotonic()
        state.set_exception((type(error), error, error.__traceback__))
        task = asyncio.get_running_loop().create_task(run_manager.on_retry(state))
        _pending_events.add(task)
        task.add_done_callback(_pending_events.discard)

    return notify


def _meters(run_manager: AsyncCallbackManagerForLLMRun | None) -> list[tuple[UsageMeter, UUID]]:
    """Return the usage meters among a call's callbacks (the run's budget and its counts), with the call's id."""
    if run_manager is None:
        return []
    return [(handler, run_manager.run_id) for handler in run_manager.handlers if isinstance(handler, UsageMeter)]


def _guard_agenerate(provider: Any) -> Any:
    async def _agenerate(
        self: BaseChatModel,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if _inside.get():
            result: ChatResult = await provider(self, messages, stop, run_manager, **kwargs)
            return result
        runtime = current_runtime()
        slots = call_slots(runtime)
        limiter = _limiter(self, runtime)

        meters = _meters(run_manager)

        async def attempt() -> ChatResult:
            await _take_turn(limiter, self)
            async with slots:
                # Checked again with the slot held, and counted before it is given up: the run's next call,
                # waiting for this slot, sees what this one used (one call at a time stops at the budget).
                for meter, call in meters:
                    meter.admit(call)
                token = _inside.set(True)
                try:
                    answer: ChatResult = await provider(self, messages, stop, run_manager, **kwargs)
                finally:
                    _inside.reset(token)
                for meter, call in meters:
                    meter.settle(call, LLMResult(generations=[cast(list[Generation], answer.generations)]))
                return answer

        try:
            result = await retrying(
                attempt, transient=_transient, deadline=deadline_of(runtime), on_retry=_on_retry(run_manager)
            )
        except Exception as error:  # noqa: BLE001 - re-raised, as a ModelCallError when classified
            raise _as_call_error(error) from None
        return _redact_result(result)

    return _agenerate


def _guard_generate(provider: Any) -> Any:
    def _generate(
        self: BaseChatModel,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if _inside.get():
            result: ChatResult = provider(self, messages, stop, run_manager, **kwargs)
            return result
        deadline = deadline_of(current_runtime())

        limiter = _limiter(self, current_runtime())

        def attempt() -> ChatResult:
            deadline.remaining()
            if limiter is not None:
                limiter.acquire()
            token = _inside.set(True)
            try:
                answer: ChatResult = provider(self, messages, stop, run_manager, **kwargs)
                return answer
            finally:
                _inside.reset(token)

        retryer = Retrying(
            stop=stop_after_attempt(retry.RETRY.attempts),
            wait=lambda state: _sync_wait(state, deadline),
            retry=retry_if_exception(lambda e: not isinstance(e, DeadlineExceeded) and _transient(e)),
            reraise=True,
        )
        try:
            result = retryer(attempt)
        except Exception as error:  # noqa: BLE001 - re-raised, as a ModelCallError when classified
            raise _as_call_error(error) from None
        return _redact_result(result)

    return _generate


def _guard_astream(provider: Any) -> Any:
    async def _astream(
        self: BaseChatModel,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if _inside.get():
            async for chunk in provider(self, messages, stop, run_manager, **kwargs):
                yield chunk
            return
        runtime = current_runtime()
        deadline = deadline_of(runtime)
        guard = _StreamGuard()
        notify = _on_retry(run_manager)
        for attempt in range(1, retry.RETRY.attempts + 1):
            started = False
            try:
                await _take_turn(_limiter(self, runtime), self)
                async with call_slots(runtime):
                    for meter, call in _meters(run_manager):
                        meter.admit(call)
                    token = _inside.set(True)
                    try:
                        async for chunk in _bounded(provider(self, messages, stop, run_manager, **kwargs), deadline):
                            started = True
                            yield guard.chunk(chunk)
                    finally:
                        _inside.reset(token)
                break
            except Exception as error:  # noqa: BLE001 - re-raised unless retried
                # Once text has been shown, a retry would show it twice: only a stream that never started retries.
                seconds = (
                    None if started or not _transient(error) else retry.next_wait(attempt, error, retry.RETRY, deadline)
                )
                if seconds is None:  # the text was shown, the fault is not transient, or this was the last try
                    raise _as_call_error(error) from None
                notify(attempt, error, seconds)
                await asyncio.sleep(seconds)
        tail = guard.tail()
        if tail is not None:
            yield tail

    return _astream


def _guard_stream(provider: Any) -> Any:
    def _stream(
        self: BaseChatModel,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if _inside.get():
            yield from provider(self, messages, stop, run_manager, **kwargs)
            return
        guard = _StreamGuard()
        try:
            for chunk in provider(self, messages, stop, run_manager, **kwargs):
                yield guard.chunk(chunk)
        except Exception as error:  # noqa: BLE001 - re-raised, as a ModelCallError when classified
            raise _as_call_error(error) from None
        tail = guard.tail()
        if tail is not None:
            yield tail

    return _stream


def _limiter(model: BaseChatModel, runtime: Any) -> InMemoryRateLimiter | None:
    """Return the process-wide rate limiter of `model` under the run's Context, if it sets one (none offline)."""
    if runtime is None or model._llm_type == "offline":
        return None
    name = _model_name(model)
    per_minute = rate_limit_of(context_of(runtime), name)
    return rate_limiter(name, per_minute) if per_minute else None


async def _take_turn(limiter: InMemoryRateLimiter | None, model: BaseChatModel) -> None:
    """Wait for the model's requests-per-minute limit; a call it holds back says so on the run's custom stream.

    The custom stream is what `workflows run` shows as progress and Studio under the run: a run that is only
    waiting its turn would otherwise look hung.
    """
    if limiter is None or limiter.acquire(blocking=False):
        return
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a graph run: no stream to say it on
        writer = None
    if writer is not None:
        writer({"progress": f"waiting for {_model_name(model)}'s requests-per-minute limit"})
    await limiter.aacquire()


def _model_name(model: BaseChatModel) -> str:
    return str(getattr(model, "model", None) or getattr(model, "model_name", None) or type(model).__name__)


def _sync_wait(state: RetryCallState, deadline: Deadline) -> float:
    error = state.outcome.exception() if state.outcome else None
    return retry.next_wait(state.attempt_number, error, retry.RETRY, deadline) or 0.0


async def _bounded(
    chunks: AsyncIterator[ChatGenerationChunk], deadline: Deadline
) -> AsyncIterator[ChatGenerationChunk]:
    """Yield `chunks`, raising DeadlineExceeded when the next one does not arrive before the deadline."""
    iterator = chunks.__aiter__()
    while True:
        left = deadline.remaining()
        try:
            chunk = await (iterator.__anext__() if left is None else asyncio.wait_for(iterator.__anext__(), left))
        except StopAsyncIteration:
            return
        except TimeoutError:
            if deadline.at is not None and time.monotonic() >= deadline.at:
                raise DeadlineExceeded(deadline.seconds or 0.0) from None
            raise
        yield chunk


_GUARDS = {
    "_agenerate": _guard_agenerate,
    "_generate": _guard_generate,
    "_astream": _guard_astream,
    "_stream": _guard_stream,
}
_MARK = "__workflows_guarded__"


@cache
def _guarded_class(cls: type[BaseChatModel]) -> type[BaseChatModel]:
    # Only the methods the provider implements are guarded: overriding one it lacks (say `_astream`) would make
    # LangChain believe the provider can stream. Each guard calls the provider's own method, found on `cls`.
    namespace: dict[str, Any] = {"__module__": cls.__module__, _MARK: True}
    for name, guard in _GUARDS.items():
        provider = getattr(cls, name)
        if provider is not getattr(BaseChatModel, name):
            namespace[name] = guard(provider)
    return type(f"Guarded{cls.__name__}", (cls,), namespace)


def is_guarded(model: BaseChatModel) -> bool:
    """Tell whether `model` already goes through the guard."""
    return bool(getattr(type(model), _MARK, False))


_PYDANTIC_STATE = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def guarded(model: BaseChatModel, *, in_place: bool = False) -> BaseChatModel:
    """Return `model` guarded: a view of it, or, with `in_place`, the model itself with its class swapped.

    A view shares the model's attribute storage rather than copying it, so a model that keeps state (counters, a
    scripted test double) behaves as one object whichever of the two is called, and the caller's object is left
    as it was: for models a user hands in. The model layer guards the models it builds itself in place: a view's
    original, once dropped, could run a finalizer that closes the client both share (langchain-google-genai 4.0's
    `__del__` does).
    """
    if is_guarded(model):
        return model
    if in_place:
        model.__class__ = _guarded_class(type(model))
        return model
    view = object.__new__(_guarded_class(type(model)))
    for slot in _PYDANTIC_STATE:
        object.__setattr__(view, slot, getattr(model, slot))
    return view
