"""Nodes of the voting graph: check the input, let every judge score the answer, then count the votes by a rule."""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langgraph.runtime import Runtime

from nodes import llm
from nodes.documents import check_documents, combined_content, lesson_documents
from nodes.inputs import InputError, read_input
from nodes.judges import Judge
from nodes.text import one_line
from state.common import fresh_run_info, overwrite
from state.context import Context
from state.faq import Document
from state.voting import DEFAULT_RULE, DEFAULT_THRESHOLD, JudgeTask, SupportScore, Vote, VotingInput, VotingState

JUDGE_NODE = "judge"

# The documents go in the system turn and the answer in the user turn: the answer is what is judged, and an
# instruction hidden in it must not read as the judge's own.
JUDGE_SYSTEM = """{perspective}

Score how well the documents below support the answer you are given, from 0.0 (they state none of its claims) to \
1.0 (they state every claim). Judge by these documents only, not by your own knowledge. The documents follow.
---
{documents}
---"""

JUDGE_HUMAN = '{question}Answer: "{answer}"'


@dataclass(frozen=True)
class Rule:
    """How many "supported" votes make the verdict "supported"."""

    description: str
    """In words, for the decision; {threshold} is the run's threshold."""
    needed: Callable[[int, float], int]
    """(number of judges, threshold) -> votes needed."""


RULES: dict[str, Rule] = {
    "majority": Rule("more than half of the judges", lambda judges, _: judges // 2 + 1),
    # A small tolerance, so that 0.3 of 10 judges needs 3 votes, not 4 (0.3 * 10 is 3.0000000000000004).
    "threshold": Rule("at least {threshold:.0%} of the judges", lambda judges, share: math.ceil(share * judges - 1e-9)),
    "unanimity": Rule("every judge", lambda judges, _: judges),
}
"""Rule name (the input's `rule`) -> rule. Every judge counts, failed ones too: a failure can never help an
answer pass."""


class TallyNode(Protocol):
    """The tally as LangGraph calls it: it reads the state only."""

    async def __call__(self, state: VotingState) -> dict[str, Any]:
        """Return the verdict."""
        ...


class JudgeNode(Protocol):
    """The judge node as LangGraph calls it, once per Send."""

    async def __call__(self, state: JudgeTask, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Return this judge's vote."""
        ...


def _threshold(value: float | None) -> float:
    if value is None:
        return DEFAULT_THRESHOLD
    if not 0 < value <= 1:
        raise InputError("threshold", f"must be a number above 0 and at most 1, got {value!r}")
    return float(value)


async def prepare(state: VotingState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the answer, sources, rule and threshold, and start clean: no votes or notes of an earlier run."""
    given, notes = await read_input(state, VotingInput, llm.context_of(runtime))
    if not given["answer"].strip():
        raise InputError("answer", "is empty: give the FAQ answer to check")
    documents = given.get("documents")
    documents = lesson_documents() if documents is None else check_documents(documents)
    titles = {doc["title"] for doc in documents}
    unknown = [title for title in given.get("sources", []) if title not in titles]
    if unknown:
        raise InputError("sources", f"must be titles of the documents; unknown: {', '.join(map(repr, unknown))}")
    # The checked texts replace the raw ones in state (a pasted key is gone from them, and from what follows).
    cleaned: dict[str, Any] = {key: given[key] for key in ("answer", "question") if key in given} if notes else {}
    return {
        **cleaned,
        "documents": documents,
        "rule": given.get("rule", DEFAULT_RULE),
        "threshold": _threshold(given.get("threshold")),
        "ballots": overwrite([]),
        **fresh_run_info(notes=notes),
    }


def evidence_for(judge: Judge, documents: Sequence[Document], sources: Sequence[str]) -> list[Document]:
    """Return the documents a judge sees: the cited ones for a citation checker (when any are cited), else all."""
    if judge.evidence == "cited" and sources:
        return [doc for doc in documents if doc["title"] in sources]
    return list(documents)


def make_judge(judges: Mapping[str, Judge]) -> JudgeNode:
    """Build the `judge` node: one Send per registered judge, each scoring the answer its own way."""

    async def judge(state: JudgeTask, runtime: Runtime[Context]) -> dict[str, Any]:
        """Score how well the documents support the answer, as one registered judge, and vote by its pass mark."""
        entry = judges[state["judge"]]
        # Built outside the try: a model that cannot be built (no key) is the run's setup error, not one judge's.
        built = await llm.chat_model(runtime, JUDGE_NODE, temperature=entry.temperature)
        question = f"The question was: {one_line(state['question'])}\n" if state["question"].strip() else ""
        system = JUDGE_SYSTEM.format(perspective=entry.prompt, documents=combined_content(state["documents"]))
        messages = [
            ("system", system),
            ("human", JUDGE_HUMAN.format(question=question, answer=one_line(state["answer"]))),
        ]
        try:
            reply = await llm.ask_structured(
                built.model, llm.json_schema(SupportScore), messages, SupportScore.model_validate
            )
            verdict, problems = reply.value, reply.problems
        # A judge that fails is counted as such by the rule; it must not sink the run.
        except llm.ModelCallError as error:
            verdict, problems = None, [llm.describe_error(error)]
        notes: list[str] = []
        if verdict is None:
            vote = Vote(
                judge=state["judge"],
                label=entry.label,
                status="failed",
                score=None,
                pass_mark=entry.pass_mark,
                reason=problems[-1],
            )
            notes.append(f"The {entry.label} gave no readable vote ({problems[-1]}).")
        else:
            vote = Vote(
                judge=state["judge"],
                label=entry.label,
                status="supported" if verdict.score >= entry.pass_mark else "not supported",
                score=verdict.score,
                pass_mark=entry.pass_mark,
                reason=verdict.reason.strip(),
            )
            if problems:
                notes.append(f"The {entry.label}'s first answer was unreadable ({problems[0]}); asked again.")
        return {"ballots": [vote], "models": {JUDGE_NODE: built.label}, "notes": notes}

    return judge


def make_tally(judges: Mapping[str, Judge]) -> TallyNode:
    """Build the node that counts the votes by the run's rule and reports agreement."""

    async def tally(state: VotingState) -> dict[str, Any]:
        """Count the votes by the run's rule; report the verdict, the agreement and how failures were counted."""
        order = {key: index for index, key in enumerate(judges)}
        votes = sorted(state.get("ballots", []), key=lambda v: order.get(v["judge"], len(order)))
        total = len(judges)
        yes = [v for v in votes if v["status"] == "supported"]
        no = [v for v in votes if v["status"] == "not supported"]
        failed = [v for v in votes if v["status"] == "failed"]
        rule, threshold = state.get("rule", DEFAULT_RULE), state.get("threshold", DEFAULT_THRESHOLD)
        needed = RULES[rule].needed(total, threshold)
        supported = len(yes) >= needed
        voted = len(yes) + len(no)
        agreement = max(len(yes), len(no)) / voted if voted else 0.0
        counts = f"{len(yes)} of {total} judges voted supported, {len(no)} not supported"
        if failed:
            counts += f", {len(failed)} failed ({', '.join(v['label'] for v in failed)})"
        wanted = RULES[rule].description.format(threshold=threshold)
        decision = (
            f"{counts}. Rule {rule} ({wanted}) needs {needed} of {total}: "
            f"{'supported' if supported else 'not supported'}."
        )
        if failed:
            decision += " A failed judge counts as not voting supported."
        if not voted:
            decision += " No judge gave a readable vote, so there is no support to count."
        return {"votes": votes, "supported": supported, "agreement": round(agreement, 2), "decision": decision}

    return tally
