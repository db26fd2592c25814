"""State and LLM-output schema of the voting graph: judges score one answer, a rule turns votes into a verdict."""

import operator
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import Fraction, RunInfo
from state.faq import Document

VoteRule = Literal["majority", "threshold", "unanimity"]
"""How votes become a verdict: more than half, at least `threshold` of the judges, or every judge."""
DEFAULT_RULE: VoteRule = "majority"
DEFAULT_THRESHOLD = 0.5


class SupportScore(BaseModel):
    """One judge's reading of the answer (structured output); the judge's pass mark turns it into a vote."""

    score: Fraction = Field(
        ge=0.0,
        le=1.0,
        description="How well the documents support the answer: 1.0 when they state every claim in it, "
        "0.0 when they state none.",
    )
    reason: str = Field(description="One sentence on why, naming the claim that decided it.")


VoteStatus = Literal["supported", "not supported", "failed"]


class Vote(TypedDict):
    """One judge's vote."""

    judge: str
    """Registry key of the judge."""
    label: str
    status: VoteStatus
    """"failed" when the judge gave no readable score after its retries; the rule counts it as no support."""
    score: float | None
    """The judge's score; None when it failed."""
    pass_mark: float
    """The score at or above which this judge votes "supported"."""
    reason: str
    """The judge's reason, or what went wrong when it failed."""


VOTING_ANSWERS = (
    "Homeowners who install solar panels can lower their monthly electricity bills, and in some cases sell "
    "excess power back to the grid.",
    "Solar panels pay for themselves within three years, and the government covers half of the installation cost.",
)
"""Two FAQ answers about the lesson's pages, one drawn from them and one not: the CLI's default inputs and
Studio's examples."""


@with_config(
    ConfigDict(use_attribute_docstrings=True, json_schema_extra={"examples": [{"answer": a} for a in VOTING_ANSWERS]})
)
class VotingInput(TypedDict):
    """What the user supplies: the answer to check; the rest is optional."""

    answer: str
    """The FAQ answer to check against the documents."""
    question: NotRequired[str]
    """The question it answers, shown to the judges for context."""
    sources: NotRequired[list[str]]
    """Titles of the documents the answer cites; judges that check citations see only these. All when absent."""
    documents: NotRequired[list[Document]]
    """The documents the answer should come from; the lesson's three web pages when absent."""
    rule: NotRequired[VoteRule]
    """How votes become the verdict: "majority" (more than half of the judges, the default), "threshold" (at least
    `threshold` of them) or "unanimity" (all of them). A judge that fails counts as not voting "supported"."""
    threshold: NotRequired[Annotated[float, Field(gt=0.0, le=1.0)]]
    """For the "threshold" rule: the share of judges that must vote "supported", above 0 and at most 1 (0.5 when
    absent)."""


class VotingOutput(TypedDict, total=False):
    """What a finished run returns."""

    answer: str
    supported: bool
    """The verdict: whether the rule found the answer supported."""
    rule: VoteRule
    threshold: float
    votes: list[Vote]
    """One vote per registered judge, in registry order."""
    agreement: float
    """Share of the judges that voted (did not fail) on the winning side: 1.0 when they all agree."""
    decision: str
    """The verdict in words: the counts, the rule, and how failed judges were counted."""
    models: dict[str, str]
    notes: list[str]


class JudgeTask(TypedDict):
    """The `Send` payload of one judge."""

    judge: str
    answer: str
    question: str
    documents: list[Document]
    """The documents this judge sees: all of them, or only the cited ones for a citation checker."""


class VotingState(VotingInput, RunInfo, total=False):
    """Everything the voting graph's nodes read and write."""

    ballots: Annotated[list[Vote], operator.add]
    """Judges append in whatever order they finish; `tally` puts them in registry order as `votes`."""
    votes: list[Vote]
    supported: bool
    agreement: float
    decision: str
