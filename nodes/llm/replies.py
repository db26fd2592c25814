"""Asking a model for a reply and checking it: structured output, or text, asked again once when unusable.

A reply is unusable when it did not finish normally (cut off at the token limit, stopped by a safety filter),
is empty, is not valid JSON, or does not fit the schema. The model is then shown its reply and what was wrong
with it, once; if the second reply is unusable too, the caller gets None (structured) or the reply flagged
(text), with notes saying so, and takes its fallback. Nothing unusable is passed on silently.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from nodes.llm.errors import ModelCallError
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
    """Read an `include_raw=True` structured reply: its parsed value, or None and what was wrong with it.

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
    shape = "only a JSON object that follows the schema" if structured else "the complete reply, more briefly"
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
    structured = model.with_structured_output(schema, include_raw=True)
    validate = check or (schema.model_validate if isinstance(schema, type) else (lambda parsed: parsed))
    conversation: list[Message] = list(messages)
    problems: list[str] = []
    for _ in range(2):
        try:
            answer = cast(dict[str, Any], await structured.ainvoke(conversation))
        except ModelCallError as error:
            if error.kind != "garbled":
                raise
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
            reply = await model.ainvoke(conversation)
        except ModelCallError as error:
            if error.kind != "garbled":
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
