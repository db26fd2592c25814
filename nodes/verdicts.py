"""Asking a model for a structured verdict (screens, judges, evaluators): retry failures, re-ask unreadable answers."""

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from nodes import llm

VerdictT = TypeVar("VerdictT", bound=BaseModel)

READS = 2
"""Answers read before a verdict counts as unreadable: a model that garbles JSON once often gets it right next time."""


async def ask_for_verdict(
    model: BaseChatModel,
    schema: dict[str, Any],
    verdict_type: type[VerdictT],
    messages: Sequence[tuple[str, str]],
    slots: asyncio.Semaphore | None = None,
) -> tuple[VerdictT | None, list[str]]:
    """Return the model's verdict for `schema`, validated as `verdict_type`, and what was wrong with earlier answers.

    Failures that may pass (network, rate limits) are retried with backoff (llm.call_with_retries, holding one of
    `slots` per attempt); others raise. An answer that is not valid JSON for the schema is asked for once more;
    when that one is unreadable too, the verdict is None and the problems say why.
    """
    structured = model.with_structured_output(schema, include_raw=True)
    problems: list[str] = []
    for _ in range(READS):
        answer, _ = await llm.call_with_retries(lambda: structured.ainvoke(list(messages)), slots=slots)
        verdict, problem = llm.read_structured(cast(dict[str, Any], answer), verdict_type)
        if verdict is not None:
            return verdict, problems
        problems.append(problem)
    return None, problems


def one_line(text: str) -> str:
    """Collapse text onto one line, so it can stand in a prompt as a quoted `Label: "..."` field."""
    return " ".join(text.split()).replace('"', "'")
