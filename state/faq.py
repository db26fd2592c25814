"""State and LLM-output schemas of the FAQ graphs (one big call, and the question -> answer -> sources chain)."""

import operator
from typing import Annotated

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from state.common import RunInfo


class Document(TypedDict):
    """One source document, e.g. one of the lesson's web pages."""

    title: str
    """Cited by the FAQ's `sources`: the scorecard checks every source against these titles."""
    content: str


class FaqItem(TypedDict):
    """One finished FAQ entry, in the lesson's JSON shape."""

    question: str
    answer: str
    sources: list[str]
    """Titles of the documents the answer came from."""


class FaqEntry(BaseModel):
    """One FAQ entry as the single call must return it; validates each item of its JSON array."""

    question: str = Field(min_length=1, description="A question a reader of the documents might ask.")
    answer: str = Field(min_length=1, description="A concise answer derived only from the documents.")
    sources: list[str] = Field(description="The 'Source Title's of the documents used for this answer.")


class GeneratedQuestions(BaseModel):
    """The chain's first step (structured output); nodes check the count and distinctness."""

    questions: list[str] = Field(
        description="Relevant and distinct questions a user might have, each answerable from the content."
    )


class CitedSources(BaseModel):
    """The chain's source-finding step (structured output), as the lesson's prompt asks for it."""

    sources: list[str] = Field(description="Titles of the documents that were used to create the answer.")


class Check(TypedDict):
    """One line of an FAQ compliance scorecard."""

    name: str
    passed: bool
    detail: str
    """What was measured, e.g. "9 items, 10 asked for"."""


class FailedQuestion(TypedDict):
    """A chain question whose branch failed; the other questions' items are kept."""

    index: int
    question: str
    error: str


class Answered(TypedDict, total=False):
    """What one chain branch reports: an item, or the error that stopped it."""

    index: int
    """Position of the question in `questions`: branches finish in any order, items are sorted by it."""
    question: str
    answer: str
    sources: list[str]
    error: str


class QuestionTask(TypedDict):
    """The `Send` payload of one chain branch."""

    index: int
    question: str
    documents: list[Document]


class FaqInput(TypedDict, total=False):
    """What the user supplies; both fields are optional."""

    documents: list[Document]
    """The documents to write the FAQ from; the lesson's three web pages when absent."""
    num_questions: int
    """How many FAQ items to produce (N); 10 when absent, as in the lesson."""


class FaqOutput(TypedDict, total=False):
    """What a finished FAQ run returns."""

    faqs: list[FaqItem]
    """The FAQ items, in question order."""
    failed: list[FailedQuestion]
    scorecard: list[Check]
    questions: list[str]
    models: dict[str, str]
    notes: list[str]


class FaqState(FaqInput, RunInfo, total=False):
    """Everything the FAQ graphs' nodes read and write."""

    questions: list[str]
    answered: Annotated[list[Answered], operator.add]
    """One entry per finished branch; parallel branches append, so it needs a reducer."""
    faqs: list[FaqItem]
    failed: list[FailedQuestion]
    scorecard: list[Check]
