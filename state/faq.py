"""State and LLM-output schemas of the FAQ graphs (one big call, and the question -> answer -> sources chain)."""

import operator
from textwrap import dedent
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import RunInfo
from state.limits import DEFAULT_QUESTIONS as DEFAULT_QUESTIONS  # re-exported: the FAQ's limits live here too
from state.limits import MAX_QUESTIONS as MAX_QUESTIONS


class Document(TypedDict):
    """One source document, e.g. one of the lesson's web pages."""

    title: str
    """Cited by the FAQ's `sources`: the scorecard checks every source against these titles."""
    content: str


LESSON_PAGES: tuple[Document, ...] = (
    Document(
        title="The Benefits of Solar Energy",
        content=dedent(
            """
    Solar energy is a renewable powerhouse, offering numerous environmental and economic benefits.
    By converting sunlight into electricity through photovoltaic (PV) panels, it reduces reliance on fossil fuels,
    thereby cutting down greenhouse gas emissions. Homeowners who install solar panels can significantly
    lower their monthly electricity bills, and in some cases, sell excess power back to the grid.
    While the initial installation cost can be high, government incentives and long-term savings make
    it a financially viable option for many. Solar power is also a key component in achieving energy
    independence for nations worldwide.
    """
        ).strip(),
    ),
    Document(
        title="Understanding Wind Turbines",
        content=dedent(
            """
    Wind turbines are towering structures that capture kinetic energy from the wind and convert it into
    electrical power. They are a critical part of the global shift towards sustainable energy.
    Turbines can be installed both onshore and offshore, with offshore wind farms generally producing more
    consistent power due to stronger, more reliable winds. The main challenge for wind energy is its
    intermittency—it only generates power when the wind blows. This necessitates the use of energy
    storage solutions, like large-scale batteries, to ensure a steady supply of electricity.
    """
        ).strip(),
    ),
    Document(
        title="Energy Storage Solutions",
        content=dedent(
            """
    Effective energy storage is the key to unlocking the full potential of renewable sources like solar
    and wind. Because these sources are intermittent, storing excess energy when it's plentiful and
    releasing it when it's needed is crucial for a stable power grid. The most common form of
    large-scale storage is pumped-hydro storage, but battery technologies, particularly lithium-ion,
    are rapidly becoming more affordable and widespread. These batteries can be used in homes, businesses,
    and at the utility scale to balance energy supply and demand, making our energy system more
    resilient and reliable.
    """
        ).strip(),
    ),
)
"""The lesson's mock web pages (dedented): the default input of the FAQ graphs and the example in Studio's form."""


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


@with_config(
    ConfigDict(
        use_attribute_docstrings=True,
        json_schema_extra={
            "examples": [{"documents": [{"title": p["title"], "content": p["content"]} for p in LESSON_PAGES]}]
        },
    )
)
class FaqInput(TypedDict, total=False):
    """What the user supplies; both fields are optional."""

    documents: list[Document]
    """The documents to write the FAQ from; the lesson's three web pages when absent."""
    num_questions: Annotated[int, Field(ge=1, le=MAX_QUESTIONS)]
    """How many FAQ items to produce (N, 1 to 50); 10 when absent, as in the lesson."""


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
