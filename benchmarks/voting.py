"""Benchmark: how often the judges agree, and what the rule does with their votes, on answers with known labels.

Run: python benchmarks/voting.py. The cases are the ten FAQ answers Gemini wrote in the lesson (supported by their
sources, some paraphrased) and answers that are not supported: made-up claims, a true claim cited to the wrong
page, and a claim that reuses the pages' words to say something they do not. Each case is voted on under every
rule; the table shows the judges' scores, the agreement, and each rule's verdict against the label. The judges run
on the offline model, whose score is word overlap with the documents: the figures show the mechanism (pass marks,
rules, agreement), not how well Gemini judges. A last run times one vote on a model that takes 0.5 s per call.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphs.voting import graph
from nodes.judges import JUDGES
from nodes.offline import OfflineChatModel
from nodes.voting import RULES
from state.context import Context
from state.voting import VOTING_ANSWERS

LESSON_CHAIN = Path(__file__).resolve().parent.parent / "tests" / "data" / "lesson_chain_output.json"
LATENCY = 0.5


@dataclass(frozen=True)
class Case:
    """An answer to vote on, and whether its sources really support it."""

    answer: str
    supported: bool
    kind: str
    sources: tuple[str, ...] = ()
    question: str = ""


@dataclass
class Outcome:
    """What the judges made of one case."""

    case: Case
    scores: list[float | None]
    agreement: float
    verdicts: dict[str, bool] = field(default_factory=dict)
    """Rule -> the graph's verdict under it."""


def lesson_cases() -> list[Case]:
    """Return the lesson's ten Gemini answers (supported) and the unsupported answers written for this benchmark."""
    recorded = json.loads(LESSON_CHAIN.read_text())
    cases = [Case(i["answer"], True, "lesson (Gemini)", tuple(i["sources"]), i["question"]) for i in recorded]
    return cases + [
        Case(VOTING_ANSWERS[1], False, "made up"),
        Case("Wind turbines work best in calm weather and are usually built inside cities.", False, "made up"),
        Case("Lithium-ion batteries last forty years and never lose their capacity.", False, "made up"),
        Case(
            "Solar panels cut greenhouse gas emissions, and most homeowners earn back the installation cost within "
            "two years.",
            False,
            "half made up",
        ),
        Case(
            "Offshore wind farms generally produce more consistent power because the winds there are stronger.",
            False,
            "wrong source",
            ("The Benefits of Solar Energy",),
        ),
        Case(
            "Wind turbines generate electricity even when the wind does not blow, so storage is not needed.",
            False,
            "twisted words",
        ),
    ]


async def vote(case: Case, rule: str, context: Context) -> dict[str, Any]:
    """Run the voting graph on one case under one rule."""
    given: dict[str, Any] = {"answer": case.answer, "rule": rule}
    if case.sources:
        given["sources"] = list(case.sources)
    if case.question:
        given["question"] = case.question
    return dict(await graph.ainvoke(given, context=context))


async def measure(cases: list[Case]) -> list[Outcome]:
    """Vote on every case under every rule, offline."""
    context = Context(model="offline")
    outcomes = []
    for case in cases:
        results = {rule: await vote(case, rule, context) for rule in RULES}
        first = next(iter(results.values()))
        outcome = Outcome(case, [v["score"] for v in first["votes"]], first["agreement"])
        outcome.verdicts = {rule: result["supported"] for rule, result in results.items()}
        outcomes.append(outcome)
    return outcomes


async def timed_vote(latency: float = LATENCY, model: OfflineChatModel | None = None) -> float:
    """Time one vote with every judge on `model` (by default one that takes `latency` seconds per call)."""
    context = Context(chat_model=model or OfflineChatModel(latency=latency), max_concurrency=len(JUDGES))
    started = time.perf_counter()
    await vote(lesson_cases()[0], "majority", context)
    return time.perf_counter() - started


def _score(value: float | None) -> str:
    return "fail" if value is None else f"{value:.2f}"


async def main() -> None:
    """Print each case's scores, agreement and verdicts, then each rule's record against the labels."""
    outcomes = await measure(lesson_cases())
    marks = ", ".join(f"{judge.label} {judge.pass_mark}" for judge in JUDGES.values())
    print(f"voting: {len(JUDGES)} judges (pass marks: {marks}), offline model")
    print(f"{'case':<17} {'label':<5} {'scores':<23} agree  " + "  ".join(f"{rule:<9}" for rule in RULES))
    for o in outcomes:
        scores = " ".join(_score(s) for s in o.scores)
        verdicts = "  ".join(f"{('yes' if o.verdicts[rule] else 'no'):<9}" for rule in RULES)
        label = "yes" if o.case.supported else "no"
        print(f"{o.case.kind:<17} {label:<5} {scores:<23} {o.agreement:>4.0%}   {verdicts}")
    unanimous = sum(o.agreement == 1.0 for o in outcomes)
    print(
        f"judges unanimous on {unanimous} of {len(outcomes)} answers; mean agreement "
        f"{sum(o.agreement for o in outcomes) / len(outcomes):.0%}"
    )
    supported = [o for o in outcomes if o.case.supported]
    unsupported = [o for o in outcomes if not o.case.supported]
    for rule in RULES:
        right = sum(o.verdicts[rule] == o.case.supported for o in outcomes)
        false_pass = sum(o.verdicts[rule] for o in unsupported)
        false_fail = sum(not o.verdicts[rule] for o in supported)
        print(
            f"rule {rule:<9}: {right}/{len(outcomes)} right; passed {false_pass} of {len(unsupported)} unsupported, "
            f"failed {false_fail} of {len(supported)} supported"
        )
    seconds = await timed_vote()
    print(
        f"one vote, {len(JUDGES)} judges at {LATENCY} s per call: {seconds:.2f} s (one after another "
        f"{len(JUDGES) * LATENCY:.1f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
