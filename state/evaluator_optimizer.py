"""State and LLM-output schema of the evaluator-optimizer graph: write an email, evaluate, revise until it passes."""

from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import Fraction, RunInfo

DEFAULT_MAX_WORDS = 150
DEFAULT_MAX_ROUNDS = 3
MAX_ROUNDS = 10
"""Each round is two model calls; a limit past this is more likely a typo than a plan."""


class CriterionScore(BaseModel):
    """The evaluator's verdict on one judged criterion (structured output)."""

    score: Fraction = Field(
        ge=0.0, le=1.0, description="How well the email meets this criterion: 1.0 fully, 0.0 not at all."
    )
    feedback: str = Field(
        description="What to change so that it does, concretely, quoting the email; empty when nothing needs to change."
    )


class Round(TypedDict):
    """One draft and its evaluation."""

    round: int
    """1 for the first draft, 2 for the first revision, and so on."""
    draft: str
    score: float | None
    """Mean of the criteria's scores (0 to 1); None when the evaluator's verdict could not be read."""
    passed: bool
    """Whether every criterion passed: exact checks fully, judged ones at or above the pass score."""
    scores: dict[str, float]
    """Criterion key -> its score in this round."""
    feedback: list[str]
    """What the writer is asked to fix in the next round, one line per failed criterion."""


StopReason = Literal["passed", "round_limit", "no_progress", "evaluator_failed", "writer_failed"]


SUPPORT_CASE_FACTS = """\
The customer asked why the March bill is higher than usual and whether a home battery would help.
Invoice INV-20417 for March is 86.40 EUR, based on an estimated meter reading.
Case CASE-55012 is open to replace the estimate with the customer's actual reading; a corrected invoice follows \
within 5 business days.
A home battery stores excess solar power for the evening, so less electricity is bought from the grid.
A technician can visit for a battery quote on 18 April between 08:00 and 12:00."""
"""What an energy company's support team found for one customer: the CLI's default input and Studio's example."""


@with_config(ConfigDict(use_attribute_docstrings=True, json_schema_extra={"examples": [{"facts": SUPPORT_CASE_FACTS}]}))
class EvaluatorOptimizerInput(TypedDict):
    """What the user supplies: the facts the email must convey, and optionally its length and the round limit."""

    facts: str
    """What the support team found and did for the customer, one fact per line; ids, amounts and dates in it must
    reach the email exactly."""
    max_words: NotRequired[Annotated[int, Field(ge=1)]]
    """The email's length limit, in words; 150 when absent."""
    max_rounds: NotRequired[Annotated[int, Field(ge=1, le=MAX_ROUNDS)]]
    """How many drafts may be evaluated before the best one is sent anyway (1 to 10); 3 when absent."""


class EvaluatorOptimizerOutput(TypedDict, total=False):
    """What a finished run returns."""

    email: str
    """The draft that passed, else the best-scoring one."""
    passed: bool
    best_round: int
    """The round whose draft is `email` (0 when no draft was written)."""
    stopped: StopReason
    """Why the loop ended: the draft passed, the round limit, a revision that repeated an earlier draft word for
    word, an evaluator verdict that could not be read, or a revision that could not be written."""
    outcome: str
    """The same in words, with the chosen round and its score."""
    rounds: list[Round]
    """Every evaluated draft with its score and feedback, in order."""
    models: dict[str, str]
    notes: list[str]


class EvaluatorOptimizerState(EvaluatorOptimizerInput, RunInfo, total=False):
    """Everything the evaluator-optimizer graph's nodes read and write."""

    draft: str
    """The latest draft, before it is evaluated."""
    rounds: list[Round]
    stopped: StopReason | Literal[""]
    """Empty while the loop goes on."""
    email: str
    passed: bool
    best_round: int
    outcome: str
