"""Nodes and edges of the evaluator-optimizer graph: write an email, evaluate it, revise with the feedback, repeat."""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, Protocol

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, create_model

from nodes import llm
from nodes.criteria import JUDGED_PASS_SCORE, Brief, Criterion
from nodes.inputs import InputError, read_input, whole_number
from nodes.text import one_line
from state.common import fresh_run_info
from state.context import Context
from state.evaluator_optimizer import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_WORDS,
    MAX_ROUNDS,
    CriterionScore,
    EvaluatorOptimizerInput,
    EvaluatorOptimizerState,
    Round,
)

WRITE_SYSTEM = """You are a customer support agent for an energy company. Write one email to the customer that \
conveys the support team's facts below.

The email must meet these requirements:
{requirements}

Start with a greeting (such as Dear Customer) and end with a polite closing (such as Best regards). Write only the \
email, without a subject line or notes to the team. The facts follow.
---
{facts}
---"""

FIRST_DRAFT = "Write the email."

REVISE = """Your draft of round {round} did not pass review. Rewrite it so that it fixes every point below, and keep \
what was already right.
{feedback}

Your draft of round {round} follows.
{draft}"""

EVALUATE_SYSTEM = """You review a customer email that a support agent drafted from the team's facts. Score the email \
on each of these criteria, from 0.0 (not met at all) to 1.0 (fully met), and for a score below 1.0 say concretely \
what to change, quoting the email.
{criteria}

Judge by the facts below, not by your own knowledge. The facts follow.
---
{facts}
---"""


class UnusableDraft(ValueError):
    """The writer's reply stayed unusable (empty, cut off) when asked again; the message says why."""


class Node(Protocol):
    """An evaluator-optimizer node as LangGraph calls it."""

    async def __call__(self, state: EvaluatorOptimizerState, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Return the state keys the node changes."""
        ...


def brief_of(state: EvaluatorOptimizerState) -> Brief:
    """Return what the email is checked against: the facts and the length limit."""
    return Brief(facts=state["facts"].strip(), max_words=state.get("max_words", DEFAULT_MAX_WORDS))


def _requirements(criteria: Mapping[str, Criterion], brief: Brief) -> str:
    return "\n".join(f"- {c.label}: {c.description.format(max_words=brief.max_words)}" for c in criteria.values())


def evaluation_type(criteria: Mapping[str, Criterion], brief: Brief) -> type[BaseModel]:
    """Return the evaluator's output model: one scored field per judged criterion, described by its registry text."""
    words = brief.max_words
    judged = tuple((key, c.label, c.description.format(max_words=words)) for key, c in criteria.items() if not c.check)
    return _evaluation_type(judged)


@lru_cache(maxsize=64)
def _evaluation_type(judged: tuple[tuple[str, str, str], ...]) -> type[BaseModel]:
    # Made once per set of judged criteria (and word limit), not on every round: pydantic builds a model slowly.
    fields: dict[str, Any] = {
        key: (CriterionScore, Field(title=label, description=description)) for key, label, description in judged
    }
    model: type[BaseModel] = create_model("Evaluation", **fields)
    return model


@lru_cache(maxsize=64)
def evaluation_schema(verdict_type: type[BaseModel]) -> dict[str, Any]:
    """Return the evaluator's JSON schema with each criterion's object written out in place, not as a `$ref`.

    Each criterion's description sits beside its `$ref` in pydantic's schema, where JSON Schema tools may ignore
    it; in place, it is the object's own description, which is what guides the model. Built once per type and
    shared: callers must not change it.
    """
    schema = verdict_type.model_json_schema()
    definitions = schema.pop("$defs", {})
    for field in schema["properties"].values():
        target = field.pop("$ref", "").rpartition("/")[2]
        if target:
            field.update({**definitions[target], **field})
    return schema


async def prepare(state: EvaluatorOptimizerState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the facts and limits, and start clean: no rounds, email or notes of an earlier run on this thread."""
    given, notes = await read_input(state, EvaluatorOptimizerInput, llm.context_of(runtime))
    if not given["facts"].strip():
        raise InputError("facts", "is empty: give the facts the email must convey, one per line")
    # The checked facts replace the raw ones in state (a pasted key is gone from them, and from what follows).
    cleaned = {"facts": given["facts"]} if notes else {}
    return {
        **cleaned,
        "max_words": whole_number(given.get("max_words"), "max_words", DEFAULT_MAX_WORDS),
        "max_rounds": whole_number(given.get("max_rounds"), "max_rounds", DEFAULT_MAX_ROUNDS, high=MAX_ROUNDS),
        "draft": "",
        "rounds": [],
        "stopped": "",
        "email": "",
        "passed": False,
        "best_round": 0,
        "outcome": "",
        **fresh_run_info(notes=notes),
    }


def make_write(criteria: Mapping[str, Criterion]) -> Node:
    """Build the `write` node: the first draft, or a revision that answers the last round's feedback."""

    async def write(state: EvaluatorOptimizerState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Write the email from the facts; from round 2 on, revise the last draft with the evaluator's feedback."""
        rounds = state.get("rounds", [])
        number = len(rounds) + 1
        brief = brief_of(state)
        built = await llm.chat_model(runtime, "write")
        system = WRITE_SYSTEM.format(requirements=_requirements(criteria, brief), facts=brief.facts)
        human = FIRST_DRAFT
        if rounds:
            last = rounds[-1]
            feedback = "\n".join(f"- {line}" for line in last["feedback"])
            human = REVISE.format(round=last["round"], feedback=feedback, draft=last["draft"])

        used = {"write": built.label}
        try:
            reply = await llm.ask_text(built.model, [("system", system), ("human", human)])
            if not reply.complete:
                raise UnusableDraft(f"the email was not usable, also when asked again ({reply.problems[-1]})")
        except (llm.ModelCallError, UnusableDraft) as error:
            why = llm.describe_error(error) if isinstance(error, llm.ModelCallError) else str(error)
            if not rounds:
                if isinstance(error, llm.ModelCallError) and not error.unusable_reply:
                    raise  # the provider failed (down, a bad key): the run fails with that reason, to be run again
                # The model answered, twice, with nothing usable: the run ends with no email and says why (the
                # facts are the team's notes, not a letter to send in its place).
                note = f"The first draft was not usable ({why}); no email was written."
                return {"stopped": "writer_failed", "models": used, "notes": [note]}
            note = f"The revision in round {number} failed ({why}); kept the best draft so far."
            return {"stopped": "writer_failed", "models": used, "notes": [note]}
        text = reply.text
        notes = [f"Round {number}'s first draft was not usable ({p}); asked again." for p in reply.problems[:1]]
        if any(r["draft"] == text for r in rounds):
            # The same draft would get the same verdict: evaluating it again would only spend tokens.
            return {"draft": text, "stopped": "no_progress", "models": used, "notes": notes}
        return {"draft": text, "models": used, "notes": notes}

    return write


def make_evaluate(criteria: Mapping[str, Criterion]) -> Node:
    """Build the `evaluate` node: exact checks by code, the rest judged by the evaluator model."""
    judged = {key: c for key, c in criteria.items() if c.check is None}

    async def evaluate(state: EvaluatorOptimizerState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Score the draft on every criterion; pass it, send it back with feedback, or stop at the round limit."""
        rounds = state.get("rounds", [])
        number = len(rounds) + 1
        draft, brief = state["draft"], brief_of(state)
        scores: dict[str, float] = {}
        feedback: list[str] = []
        passed = True
        for key, criterion in criteria.items():
            if criterion.check is not None:
                finding = criterion.check(draft, brief)
                scores[key] = round(finding.score, 2)
                if finding.problem:
                    passed = False
                    feedback.append(f"{criterion.label}: {finding.problem}")
        update: dict[str, Any] = {"notes": []}
        if judged:
            built = await llm.chat_model(runtime, "evaluate")
            update["models"] = {"evaluate": built.label}
            system = EVALUATE_SYSTEM.format(criteria=_requirements(judged, brief), facts=brief.facts)
            verdict_type = evaluation_type(criteria, brief)
            messages = [("system", system), ("human", f'Email: "{one_line(draft)}"')]
            try:
                reply = await llm.ask_structured(
                    built.model, evaluation_schema(verdict_type), messages, verdict_type.model_validate
                )
                verdict, problems = reply.value, reply.problems
            # An evaluator that keeps failing ends the loop; the drafts so far are still worth sending.
            except llm.ModelCallError as error:
                verdict, problems = None, [llm.describe_error(error)]
            if verdict is None:
                unscored = Round(round=number, draft=draft, score=None, passed=False, scores=scores, feedback=feedback)
                note = f"The evaluator's verdict on round {number} could not be read ({problems[-1]}); stopped there."
                return {**update, "rounds": [*rounds, unscored], "stopped": "evaluator_failed", "notes": [note]}
            if problems:
                update["notes"].append(f"The evaluator's first verdict on round {number} was unreadable; asked again.")
            for key, criterion in judged.items():
                given: CriterionScore = getattr(verdict, key)
                scores[key] = round(given.score, 2)
                if given.score < JUDGED_PASS_SCORE:
                    passed = False
                    advice = given.feedback.strip() or f"scored {given.score:.2f} of the {JUDGED_PASS_SCORE} needed"
                    feedback.append(f"{criterion.label}: {advice}")
        score = round(sum(scores.values()) / len(scores), 2) if scores else 1.0
        this = Round(round=number, draft=draft, score=score, passed=passed, scores=scores, feedback=feedback)
        stopped = "passed" if passed else "round_limit" if number >= state.get("max_rounds", DEFAULT_MAX_ROUNDS) else ""
        return {**update, "rounds": [*rounds, this], "stopped": stopped}

    return evaluate


def after_write(state: EvaluatorOptimizerState) -> Literal["evaluate", "finish"]:
    """Evaluate the new draft, unless the writer failed or repeated an earlier draft."""
    return "finish" if state.get("stopped") else "evaluate"


def after_evaluate(state: EvaluatorOptimizerState) -> Literal["write", "finish"]:
    """Back to the writer with the feedback, until the draft passes or the loop must stop."""
    return "finish" if state.get("stopped") else "write"


def _best(rounds: list[Round]) -> Round | None:
    """The passing draft if any, else the best-scoring one (the later on ties), else the latest unscored one."""
    passing = [r for r in rounds if r["passed"]]
    if passing:
        return passing[-1]
    scored = [r for r in rounds if r["score"] is not None]
    if scored:
        return max(scored, key=lambda r: (r["score"], r["round"]))
    return rounds[-1] if rounds else None


async def finish(state: EvaluatorOptimizerState) -> dict[str, Any]:
    """Send the passing draft, or the best one so far, and say why the loop stopped."""
    rounds = state.get("rounds", [])
    best = _best(rounds)
    stopped = state.get("stopped") or "round_limit"
    if best is None:  # the first draft failed: nothing to evaluate or send
        outcome = "No draft was written: the writer's first draft failed (see notes); no email to send."
        return {"email": "", "passed": False, "best_round": 0, "stopped": stopped, "outcome": outcome}
    scored = f" (score {best['score']:.2f})" if best["score"] is not None else " (not scored)"
    chosen = f"sent round {best['round']}'s draft{scored}"
    last = rounds[-1]["round"]
    outcome = {
        "passed": f"Passed in round {best['round']}{scored}.",
        "round_limit": f"Stopped at the limit of {state.get('max_rounds', DEFAULT_MAX_ROUNDS)} round(s) without "
        f"passing; {chosen}, the best.",
        "no_progress": f"Stopped after round {last}: the revision repeated an earlier draft word for word; {chosen}.",
        "evaluator_failed": f"Stopped at round {last}: the evaluator's verdict could not be read; {chosen}.",
        "writer_failed": f"Stopped after round {last}: the revision could not be written; {chosen}.",
    }[stopped]
    return {
        "email": best["draft"],
        "passed": best["passed"],
        "best_round": best["round"],
        "stopped": stopped,
        "outcome": outcome,
    }
