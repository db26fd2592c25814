"""Reading structured (JSON-schema) replies: the parsed value, or what was wrong with it."""

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from nodes.text import first_line

ModelT = TypeVar("ModelT", bound=BaseModel)


@overload
def read_structured(answer: Mapping[str, Any]) -> tuple[Any | None, str]: ...
@overload
def read_structured(answer: Mapping[str, Any], schema: type[ModelT]) -> tuple[ModelT | None, str]: ...
def read_structured(answer: Mapping[str, Any], schema: type[BaseModel] | None = None) -> tuple[Any | None, str]:
    """Read an `include_raw=True` structured reply: its parsed value, or None and what was wrong with it.

    With `schema`, the value is validated into it. The problem is one line for the run's notes, ending in a
    short excerpt of the raw reply so a reader can see what the model actually said.
    """
    error: object = answer.get("parsing_error")
    parsed = answer.get("parsed")
    if error is None and parsed is None:
        error = "no JSON object"
    if error is None:
        if schema is None:
            return parsed, ""
        try:
            return schema.model_validate(parsed), ""
        except ValidationError as invalid:
            error = invalid
    raw = getattr(answer.get("raw"), "text", "")[:120]
    return None, f"{first_line(error)}; raw: {raw!r}"
