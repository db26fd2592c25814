"""The criteria registry of the evaluator-optimizer graph: a new requirement on the email is one entry in CRITERIA."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Brief:
    """What an email is checked against."""

    facts: str
    max_words: int


@dataclass(frozen=True)
class Finding:
    """An exact check's result."""

    score: float
    """1.0 when the criterion is met, lower the further the email is from it."""
    problem: str = ""
    """What to fix, concretely, for the writer's next round; empty when the criterion is met."""


@dataclass(frozen=True)
class Criterion:
    """One requirement on the email: told to the writer, and then either checked by code or judged by the evaluator."""

    label: str
    """Human name for scores and feedback, e.g. "Every fact"."""
    description: str
    """The requirement in words ({max_words} is the length limit): in the writer's prompt, and, for a judged
    criterion, in the evaluator's schema."""
    check: Callable[[str, Brief], Finding] | None = None
    """Measure the email exactly (draft, brief -> finding). None: the evaluator model judges it. What code can
    measure (ids present, length) is never left to a model's reading."""


def _token(word: str) -> str:
    return word.strip("()[]{}<>\"'“”‘’.,;:!?€$£%#")


def figures(text: str) -> list[str]:
    """Return the ids, amounts, dates and other figures in `text`: its words that hold a digit, in order, once each."""
    found = (_token(word) for word in text.split())
    return list(dict.fromkeys(word for word in found if any(c.isdigit() for c in word)))


def every_figure(draft: str, brief: Brief) -> Finding:
    """Check that every id, amount and date of the facts appears in the email exactly as written."""
    wanted = figures(brief.facts)
    present = set(figures(draft))
    missing = [figure for figure in wanted if figure not in present]
    if not missing:
        return Finding(1.0)
    return Finding(
        (len(wanted) - len(missing)) / len(wanted),
        f"these figures from the facts are missing; copy them exactly: {', '.join(missing)}",
    )


def no_new_figures(draft: str, brief: Brief) -> Finding:
    """Check that the email states no id, amount or date that the facts do not."""
    stated = figures(draft)
    known = set(figures(brief.facts))
    invented = [figure for figure in stated if figure not in known]
    if not invented:
        return Finding(1.0)
    return Finding(
        1 - len(invented) / len(stated),
        f"these figures are not in the facts; remove them or use the facts' own: {', '.join(invented)}",
    )


def within_length(draft: str, brief: Brief) -> Finding:
    """Check the email's length against the limit."""
    words = len(draft.split())
    if words <= brief.max_words:
        return Finding(1.0)
    return Finding(brief.max_words / words, f"it has {words} words; cut it to at most {brief.max_words}")


CRITERIA: dict[str, Criterion] = {
    "every_figure": Criterion(
        label="Every figure",
        description="Every id, amount, date and time from the facts appears exactly as written.",
        check=every_figure,
    ),
    "no_new_figures": Criterion(
        label="No new figures",
        description="No id, amount, date or promise that the facts do not contain.",
        check=no_new_figures,
    ),
    "length": Criterion(
        label="Length",
        description="At most {max_words} words.",
        check=within_length,
    ),
    "answers_the_customer": Criterion(
        label="Answers the customer",
        description="Answers what the customer asked and conveys every fact, in an order that reads naturally.",
    ),
    "tone": Criterion(
        label="Tone",
        description="Friendly, professional and plain: greets the customer (such as Dear Customer), ends with a "
        "polite closing (such as Best regards), and has no internal notes, jargon or blame.",
    ),
}
"""Criterion key -> criterion. The email passes when every checked criterion scores 1.0 and every judged one at
least the pass score; a round's score is the mean over all of them."""

JUDGED_PASS_SCORE = 0.8
"""The evaluator's score a judged criterion needs to pass."""
