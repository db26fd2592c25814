"""The judge registry of the voting graph: a new independent judge of an answer is one entry in JUDGES."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Judge:
    """One independent reader of an answer: its own instructions, evidence, strictness and sampling."""

    label: str
    """Human name for votes and decisions, e.g. "Fact checker"."""
    prompt: str
    """The judge's system prompt: how it reads the answer. Judges differ here, so their errors are independent."""
    pass_mark: float
    """The score (0 to 1) at or above which the judge votes "supported": a strict judge sets it high."""
    evidence: Literal["all", "cited"] = "all"
    """The documents the judge sees: all of them, or only those the answer cites (all when it cites none)."""
    temperature: float | None = None
    """The judge's own sampling temperature (None: the run's), for a second reading of the same prompt. Applies to
    models built from a name; a model object passed as Context.chat_model keeps its own."""


FACT_CHECKER = """You are a fact checker. Check each claim of the answer against the documents. A claim counts as \
supported only when the documents state it; general knowledge, however true, does not count."""

JUDGES: dict[str, Judge] = {
    "fact_checker": Judge(label="Fact checker", prompt=FACT_CHECKER, pass_mark=0.75),
    "strict_auditor": Judge(
        label="Strict auditor",
        prompt="You are a strict compliance auditor. Any number, name, comparison, promise or piece of advice that "
        "the documents do not state makes the answer unreliable, however plausible it sounds.",
        pass_mark=0.9,
    ),
    "citation_checker": Judge(
        label="Citation checker",
        prompt="You check citations. You see only the documents the answer cites. Judge whether a reader of these "
        "documents alone would find every claim of the answer in them.",
        pass_mark=0.75,
        evidence="cited",
    ),
    "second_reader": Judge(
        label="Second reader",
        prompt=FACT_CHECKER,
        pass_mark=0.75,
        temperature=0.7,
    ),
}
"""Registry key -> judge. Every judge gets a `Send` of its own to the `judge` node; `tally` counts in this order."""
