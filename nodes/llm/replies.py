"""Asking a model for a reply and checking it: structured output, or text, asked again once when unusable.

A reply is unusable when it did not finish normally (cut off at the token limit, stopped by a safety filter),
is empty, is not valid JSON, or does not fit the schema. The model is then shown its reply and what was wrong
with it, once; if the second reply is unusable too, the caller gets None (structured) or the reply flagged
(text), with notes saying so, and takes its fallback. Nothing unusable is passed on silently.
"""

import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar, cast, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.outputs import ChatGeneration
from langchain_core.tracers.context import tracing_v2_callback_var
from langchain_core.utils.function_calling import convert_to_json_schema
from langsmith.utils import tracing_is_enabled
from pydantic import BaseModel, ValidationError

from nodes.llm.errors import ModelCallError
from nodes.llm.usage import BudgetRefusal
from nodes.offline import OfflineChatModel
from nodes.text import clip, first_line

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_REPLY_CHARS = 100_000
"""Longer replies are treated as unusable: no node needs that much, and a runaway model must not flood state."""
_NORMAL_ENDINGS = {"stop", "end_turn", "stop_sequence", "tool_use", "tool_calls", "function_call", "end"}
_CUT_OFF = {"max_tokens", "length", "model_length"}

Message = BaseMessage | tuple[str, str]


def finish_problem(message: object) -> str:
    """Say why a reply did not finish normally (token limit, safety filter), or return "" when it did.

    Reads the finish reason providers put in `response_metadata`: Gemini's `finish_reason` ("STOP",
    "MAX_TOKENS", "SAFETY", ...), OpenAI's ("stop", "length"), Anthropic's `stop_reason` ("end_turn", "max_tokens").
    """
    metadata = getattr(message, "response_metadata", None) or {}
    reason = metadata.get("finish_reason") or metadata.get("stop_reason") or metadata.get("done_reason")
    if not reason:
        return ""
    normalized = str(reason).rsplit(".", 1)[-1].lower()
    if normalized in _NORMAL_ENDINGS:
        return ""
    if normalized in _CUT_OFF:
        return f"the reply was cut off at the output token limit ({reason})"
    return f"the reply ended early ({reason})"


def read_structured(answer: dict[str, Any], schema: type[ModelT] | None = None) -> tuple[Any | None, str]:
    """Read a structured reply (`ask_structured_once`'s shape): its parsed value, or None and what was wrong with it.

    With `schema`, the value is validated into it. The problem ends in a short excerpt of the raw reply, so a
    reader sees what the model actually said.
    """
    raw = answer.get("raw")
    text = getattr(raw, "text", "") or ""
    error: object = finish_problem(raw) or answer.get("parsing_error")
    parsed = answer.get("parsed")
    if not error and len(text) > MAX_REPLY_CHARS:
        error = f"the reply was {len(text):,} characters long"
    if not error and parsed is None:
        error = "no JSON object"
    if not error and text.strip() and not getattr(raw, "tool_calls", None) and not _strict_json(text):
        # LangChain's JSON parser closes what a cut-off reply left open: the value parses, but may lack items.
        error = "the JSON was incomplete or malformed (it only parsed after repair)"
    if not error and schema is not None:
        try:
            parsed = schema.model_validate(parsed)
        except ValidationError as invalid:
            error = invalid
        except RecursionError:
            error = "the JSON was nested too deeply"
    if error:
        return None, f"{first_line(error)}; raw: {clip(text, 120)!r}"
    return parsed, ""


def _strict_json(text: str) -> bool:
    body = text.strip()
    if body.startswith("```"):
        body = body.removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


Schema = dict[str, Any] | type[BaseModel]
"""What a structured call is asked to follow: a JSON schema, or a pydantic model (its schema)."""


@cache
def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return `model.model_json_schema()`, built once per type: the dict is shared, so copy it before changing it.

    Pydantic builds the schema anew on every call (about half a millisecond for a small model), and the nodes ask
    for the same few schemas on every model call.
    """
    return model.model_json_schema()


@cache
def _offline_schema(model: type[BaseModel]) -> dict[str, Any]:
    return convert_to_json_schema(model)  # what the offline model's with_structured_output converts it to


def json_options(model: BaseChatModel, schema: Schema) -> dict[str, Any] | None:
    """Return the call options that make `model` answer in JSON for `schema`, or None for a provider not known here.

    They are what the provider's own `with_structured_output(schema)` binds in its default JSON-schema mode: for
    Gemini (`ChatGoogleGenerativeAI`) `response_mime_type` and `response_json_schema`, for the offline model
    `response_json_schema`. Calling the model with them and parsing the reply here does what that method's
    `include_raw=True` chain does without its runnable plumbing, whose sync parser and lambdas LangChain runs in
    the thread pool (three thread hops per call). A class that overrides `with_structured_output` may bind
    something else, so it keeps its own, as does every other provider (see `ask_structured_once`).
    """
    method = type(model).with_structured_output
    if method is OfflineChatModel.with_structured_output:
        return {"response_json_schema": schema if isinstance(schema, dict) else _offline_schema(schema)}
    gemini = sys.modules.get("langchain_google_genai")  # a Gemini model exists only once its package is imported
    if gemini is not None and method is gemini.ChatGoogleGenerativeAI.with_structured_output:
        options: dict[str, Any] = {
            "response_mime_type": "application/json",
            "response_json_schema": schema if isinstance(schema, dict) else json_schema(schema),
        }
        if tracing_v2_callback_var.get() is not None or tracing_is_enabled():
            # Only a LangSmith trace reads it (tracing is on as LangChain tests it: a tracer in context, or
            # LangSmith's settings), and LangChain converts it again on every call: about a millisecond a call.
            traced = convert_to_json_schema(schema) if not isinstance(schema, dict) or "title" in schema else schema
            options["ls_structured_output_format"] = {"kwargs": {"method": "json_schema"}, "schema": traced}
        return options
    return None


_JSON = JsonOutputParser()


async def _answer(call: Awaitable[T]) -> T:
    """Await a model call; a call the run's budget refused once under way stops the run (BudgetSpent) here."""
    try:
        return await call
    except BudgetRefusal as refusal:
        raise refusal.stop from None


async def ask_structured_once(model: BaseChatModel, schema: Schema, messages: Sequence[Message]) -> dict[str, Any]:
    """Ask once for JSON following `schema`, as `with_structured_output(schema, include_raw=True)` does.

    Returns that method's shape, which `read_structured` checks: `raw` (the reply), `parsed` (its JSON, or None)
    and `parsing_error`. For the providers `json_options` knows, the model is called with those options and its
    reply parsed here by LangChain's own JSON parser (the same repair of cut-off JSON, the same errors); other
    providers go through their `with_structured_output`.
    """
    options = json_options(model, schema)
    if options is None:
        structured = model.with_structured_output(schema, include_raw=True)
        return cast(dict[str, Any], await _answer(structured.ainvoke(list(messages))))
    raw = await _answer(model.ainvoke(list(messages), **options))
    try:
        parsed = _JSON.parse_result([ChatGeneration(message=raw)])
    except Exception as error:  # noqa: BLE001 - as with_structured_output's fallback: any parser failure is kept
        return {"raw": raw, "parsed": None, "parsing_error": error}
    return {"raw": raw, "parsed": parsed, "parsing_error": None}


@dataclass
class Structured(Generic[T]):
    """A structured reply: its value (None when both tries were unusable), and what went wrong on the way."""

    value: T | None
    problems: list[str] = field(default_factory=list)
    """What was wrong with each unusable reply, in order (empty when the first one was fine)."""

    @property
    def asked_again(self) -> bool:
        """Whether the first reply was unusable."""
        return bool(self.problems)


def _retry_prompt(problem: str, structured: bool) -> HumanMessage:
    # "JSON", not "a JSON object": some schemas ask for an array (the single-call FAQ).
    shape = "only JSON that follows the schema" if structured else "the complete reply, more briefly"
    return HumanMessage(f"Your reply above could not be used: {problem}. Answer again with {shape}.")


@overload
async def ask_structured(
    model: BaseChatModel, schema: type[ModelT], messages: Sequence[Message], check: None = None
) -> Structured[ModelT]: ...
@overload
async def ask_structured(
    model: BaseChatModel, schema: dict[str, Any], messages: Sequence[Message], check: None = None
) -> Structured[Any]: ...
@overload
async def ask_structured(
    model: BaseChatModel,
    schema: dict[str, Any] | type[BaseModel],
    messages: Sequence[Message],
    check: Callable[[Any], T],
) -> Structured[T]: ...
async def ask_structured(
    model: BaseChatModel,
    schema: dict[str, Any] | type[BaseModel],
    messages: Sequence[Message],
    check: Callable[[Any], Any] | None = None,
) -> Structured[Any]:
    """Ask for JSON following `schema`; when the reply is unusable, show the model why and ask once more.

    `check` turns the parsed JSON into the caller's value, raising ValueError (pydantic's ValidationError is one)
    to reject it; by default a pydantic `schema` validates the JSON and a dict schema keeps it as parsed.
    """
    validate = check or (schema.model_validate if isinstance(schema, type) else (lambda parsed: parsed))
    conversation: list[Message] = list(messages)
    problems: list[str] = []
    for _ in range(2):
        try:
            answer = await ask_structured_once(model, schema, conversation)
        except ModelCallError as error:
            if not error.unusable_reply:
                raise
            if error.kind == "unreadable_output":
                # The client read the reply but not its JSON: the model can be shown why and asked once more.
                problems.append("the JSON was nested too deeply to read")
                conversation.append(_retry_prompt(problems[-1], structured=True))
                continue
            # The client could not even read the reply, however often it was retried: unusable output.
            problems.append(f"the reply could not be read ({error})")
            return Structured(None, problems)
        parsed, problem = read_structured(answer)
        if not problem:
            try:
                return Structured(validate(parsed), problems)
            except ValueError as invalid:  # includes ValidationError
                problem = first_line(invalid)
            except RecursionError:
                problem = "the JSON was nested too deeply"
        problems.append(problem)
        raw_text = getattr(answer.get("raw"), "text", "") or ""
        conversation += [AIMessage(clip(raw_text, 4000)), _retry_prompt(problem, structured=True)]
    return Structured(None, problems)


@dataclass
class Text:
    """A text reply, and whether it is usable as it is."""

    text: str
    problems: list[str] = field(default_factory=list)
    """What was wrong with each unusable reply, in order."""
    complete: bool = True
    """False when even the second reply was empty or cut off: the caller must not pass it on as is."""


async def ask_text(model: BaseChatModel, messages: Sequence[Message]) -> Text:
    """Ask for text; when the reply is empty or did not finish normally, ask once more (shown why)."""
    conversation: list[Message] = list(messages)
    problems: list[str] = []
    text = ""
    for _ in range(2):
        try:
            reply = await _answer(model.ainvoke(conversation))
        except ModelCallError as error:
            if not error.unusable_reply:
                raise
            problems.append(f"the reply could not be read ({error})")
            return Text("", problems, complete=False)
        text = reply.text.strip()
        problem = finish_problem(reply) or ("" if text else "the reply was empty")
        if not problem and len(text) > MAX_REPLY_CHARS:
            problem = f"the reply was {len(text):,} characters long"
        if not problem:
            return Text(text, problems)
        problems.append(problem)
        conversation += [AIMessage(clip(text, 4000) or "(empty)"), _retry_prompt(problem, structured=False)]
    return Text(clip(text, MAX_REPLY_CHARS), problems, complete=False)
