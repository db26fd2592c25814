"""State of the Summarize -> Translate chain."""

from typing import Annotated, Required

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import RunInfo
from state.faq import LESSON_PAGES


@with_config(
    ConfigDict(
        use_attribute_docstrings=True,
        json_schema_extra={"examples": [{"text": page["content"]} for page in LESSON_PAGES]},
    )
)
class SummarizeTranslateInput(TypedDict, total=False):
    """What the user supplies: the text, and optionally the language and the summary's length limit."""

    text: Required[str]
    """The text to summarize, e.g. one of the lesson's web pages."""
    language: str
    """Target language of the translation, e.g. "Italian"; "French" when absent or blank (the result's notes say
    so when it was blank)."""
    max_words: Annotated[int, Field(ge=1)]
    """Longest acceptable summary, in words (at least 1); 80 when absent."""


class SummarizeTranslateOutput(TypedDict, total=False):
    """What a finished run returns."""

    summary: str
    translation: str
    """Empty when the summary never passed the gate: nothing trustworthy to translate."""
    language: str
    summary_ok: bool
    """Whether the summary passed the gate (non-empty, within `max_words`)."""
    models: dict[str, str]
    notes: list[str]


class SummarizeTranslateState(SummarizeTranslateInput, RunInfo, total=False):
    """Everything the chain's nodes read and write."""

    summary: str
    summary_attempts: int
    """How many summaries were written: the gate allows one retry."""
    summary_problem: str
    """Why the gate rejected the latest summary; empty when it passed."""
    summary_ok: bool
    translation: str
