"""Checking what a user gives a run: the input's types and size, and the optional numbers (FAQ items, summary length).

Every graph's first node reads its input through `read_input`, so bad input fails at the entry, before any model
call, with an InputError naming the field (exit code 2 from the CLI), instead of an AttributeError deep inside.
"""

import asyncio
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from nodes.llm.keys import find_api_key, keys_loaded, redact_value
from state.context import Context


class InputError(ValueError):
    """Input a graph cannot take: the message names the field and what is wrong with it."""

    def __init__(self, field: str, problem: str) -> None:
        """Name the field (e.g. "documents.0.content") and the problem."""
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field


@cache
def _adapter(schema: type) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def _characters(value: object) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(_characters(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_characters(item) for item in value)
    return 0


def check_input(state: Mapping[str, Any], schema: type, context: Context) -> dict[str, Any]:
    """Return the input fields of `state` checked against the graph's input `schema`; raise InputError if bad.

    Types are checked strictly (no "42" for a number, no None for a required text; None for an optional field
    means it was left out, as Studio's form sends it); all texts together may hold at most
    `context.max_input_chars` characters. The CLI calls this before a run; each graph's first node again.
    """
    required: frozenset[str] = getattr(schema, "__required_keys__", frozenset())
    given = {name: state[name] for name in schema.__annotations__ if state.get(name) is not None}
    for name in required:
        if name in state and state[name] is None:
            raise InputError(name, "is required, got None")
    try:
        valid: dict[str, Any] = _adapter(schema).validate_python(given, strict=True)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        if bounded := out_of_range(schema, field, problem):
            raise InputError(field, bounded) from None
        raise InputError(field, f"{problem['msg']} (got {type(problem.get('input')).__name__})") from None
    size = _characters(valid)
    if size > context.max_input_chars:
        longest = max(valid, key=lambda name: _characters(valid[name]))
        raise InputError(
            longest,
            f"the input has {size:,} characters, over the limit of {context.max_input_chars:,} "
            "(Context.max_input_chars); send a shorter text",
        )
    return valid


async def read_input(state: Mapping[str, Any], schema: type, context: Context) -> tuple[dict[str, Any], list[str]]:
    """Return the checked input fields of `state` (see check_input) and notes on what was changed in them.

    Anything shaped like an API key is replaced (a customer may paste one), so it reaches no model and no output.
    """
    valid = check_input(state, schema, context)
    if not keys_loaded():
        await asyncio.to_thread(find_api_key)  # reads .env once, off the event loop, so redaction knows that key
    cleaned = redact_value(valid)
    notes = ["Removed what looked like an API key from the input."] if cleaned != valid else []
    return cleaned, notes


OUT_OF_RANGE = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
"""Pydantic's error types for a number outside the bounds an input schema gives it (`Field(ge=1, le=10)`)."""


def out_of_range(schema: type, field: str, problem: Mapping[str, Any]) -> str | None:
    """Say what numbers `schema`'s `field` takes (its `Field(ge=..., le=...)` bounds), as `whole_number` says it.

    `problem` is one of pydantic's errors for that field; None when it is not about a bound.
    """
    if problem["type"] not in OUT_OF_RANGE:
        return None
    value = problem["input"]
    hint = typing.get_type_hints(schema, include_extras=True).get(field)
    while typing.get_origin(hint) in (typing.NotRequired, typing.Required):
        hint = typing.get_args(hint)[0]
    bounds: dict[str, Any] = {}
    # Annotated[int, Field(ge=1, le=10)]: the FieldInfo holds annotated_types' Ge(1) and Le(10).
    for field_info in getattr(hint, "__metadata__", ()):
        for constraint in getattr(field_info, "metadata", ()):
            bounds |= {
                name: getattr(constraint, name) for name in ("ge", "gt", "le", "lt") if hasattr(constraint, name)
            }
    whole = all(isinstance(limit, int) for limit in bounds.values())
    if not bounds:  # a bound set some other way than on the field itself (none of ours): no numbers to name
        return f"is out of range, got {value!r}"
    if whole and {"ge", "le"} <= set(bounds):
        allowed = f"a whole number from {bounds['ge']} to {bounds['le']}"
    else:
        words = {"ge": "of at least", "gt": "above", "le": "at most", "lt": "below"}
        said = " and ".join(f"{words[name]} {limit:g}" for name, limit in bounds.items())
        allowed = f"{'a whole number' if whole else 'a number'} {said}"
    return f"must be {allowed}, got {value!r}"


def whole_number(value: object, name: str, default: int, low: int = 1, high: int | None = None) -> int:
    """Return `value` checked to be a whole number in range, or `default` when it is absent (None).

    The input schemas give the same bounds (`Field(ge=1, le=10)`), which `check_input` and `resume --set` apply;
    this check stays for a caller that builds the state without the schema.
    """
    if value is None:
        return default
    # bool is an int to Python, and `or default` would turn an explicit 0 into the default without a word.
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InputError(name, f"must be a whole number {allowed}, got {value!r}")
    return value
