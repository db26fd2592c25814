"""Nodes and gate of the Summarize -> Translate chain."""

import functools
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langgraph.runtime import Runtime

from nodes import llm
from nodes.inputs import InputError, read_input, whole_number
from state.common import fresh_run_info
from state.context import Context
from state.summarize_translate import SummarizeTranslateInput, SummarizeTranslateState

DEFAULT_LANGUAGE = "French"
DEFAULT_MAX_WORDS = 80
MAX_SUMMARY_ATTEMPTS = 2
"""The first summary and one retry; a summary that still fails the gate is reported, not translated."""

SUMMARIZE = """Summarize the following text in at most {max_words} words.
Keep its key facts and write plain prose, without a title or a preamble.

Text:
---
{text}
---"""

# Worded without "summary": the step only sees text, so it cannot tell a summary from any other input.
TRANSLATE = """Translate the following text into {language}.
Return only the translation, without notes or explanations.

Text:
---
{text}
---"""


def max_words_of(state: Mapping[str, Any]) -> int:
    """Return the summary's word limit, checked."""
    return whole_number(state.get("max_words"), "max_words", DEFAULT_MAX_WORDS)


async def summarize(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Summarize the text within the word limit (again, if the gate rejected the first summary)."""
    given, notes = await read_input(state, SummarizeTranslateInput, llm.context_of(runtime))
    text = given.get("text", "").strip()
    if not text:
        raise InputError("text", "the text to summarize is empty")
    limit = max_words_of(given)
    built = await llm.chat_model(runtime, "summarize")
    prompt = SUMMARIZE.format(max_words=limit, text=text)
    # Only the gate sends a run back here; anything else is a new run on the thread, which starts the count over
    # (a finished run ends with the summary passed or the attempts used up, so it never looks like a retry).
    retry = state.get("summary_ok") is False and state.get("summary_attempts", 0) < MAX_SUMMARY_ATTEMPTS
    if retry and state.get("summary_problem"):
        # Say why the last attempt was rejected: a retry with the same prompt tends to repeat the mistake.
        prompt += f"\n\nA previous attempt was rejected: {state['summary_problem']}."
    reply = await llm.ask_text(built.model, [("human", prompt)])
    notes += _reply_notes("summary", reply)
    # The gate judges the summary; one cut off even when asked again is not passed on as if whole.
    summary = reply.text if reply.complete else ""
    update: dict[str, Any] = {"summary": summary, "models": {"summarize": built.label}}
    # What the gate names when it rejects an empty summary: why the reply was not taken, not only "empty".
    update["summary_problem"] = "" if reply.complete or not reply.text else reply.problems[-1]
    if notes:
        update["text"] = given["text"]
    if retry:
        return {**update, "notes": notes, "summary_attempts": state.get("summary_attempts", 0) + 1}
    # The language is settled here, not only by `translate`, so a run that never translates reports its own.
    language = (given.get("language") or "").strip() or DEFAULT_LANGUAGE
    if "language" in given and language == DEFAULT_LANGUAGE != given["language"].strip():
        notes.append(f"The language was left blank; translated into {DEFAULT_LANGUAGE}, the default.")
    return {**update, "summary_attempts": 1, "language": language, **fresh_run_info(update["models"], notes)}


def _reply_notes(what: str, reply: llm.Text) -> list[str]:
    if not reply.problems:
        return []
    if reply.complete:
        return [f"The first {what} was not usable ({reply.problems[0]}); asked again."]
    return [f"The {what} was not usable, also when asked again ({reply.problems[-1]})."]


def summary_problem(summary: str, max_words: int, unusable: str = "") -> str:
    """Say what is wrong with a summary (empty, over-long), or return "" when it may be translated.

    `unusable` is why the summarize step's reply was not taken (cut off or over-long, also when asked again).
    """
    if unusable and not summary:
        return f"the summary was not usable ({unusable})"
    # A bare code fence ("```json" and "```") is no summary, however it got there.
    if not re.sub(r"```[\w-]*", "", summary).strip():
        return "the summary was empty"
    words = len(summary.split())
    if words > max_words:
        return f"the summary had {words} words, over the limit of {max_words}"
    return ""


async def check_summary(state: SummarizeTranslateState) -> dict[str, Any]:
    """Gate between the steps: pass a usable summary on, ask once more for a bad one, then report it."""
    problem = summary_problem(state.get("summary", ""), max_words_of(state), state.get("summary_problem", ""))
    attempts = state.get("summary_attempts", 0)
    if not problem:
        note = ["The first summary was rejected; the retry passed the gate."] if attempts > 1 else []
        return {"summary_ok": True, "summary_problem": "", "notes": note}
    if attempts < MAX_SUMMARY_ATTEMPTS:
        return {"summary_ok": False, "summary_problem": problem, "notes": [f"Asked for a new summary: {problem}."]}
    return {
        "summary_ok": False,
        "summary_problem": problem,
        "notes": [f"Not translated: after {attempts} attempts {problem}."],
    }


async def translate(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Translate the summary into the target language."""
    language = (state.get("language") or DEFAULT_LANGUAGE).strip()
    built = await llm.chat_model(runtime, "translate")
    reply = await llm.ask_text(built.model, [("human", TRANSLATE.format(language=language, text=state["summary"]))])
    notes = _reply_notes(f"translation into {language}", reply)
    translation = reply.text if reply.complete else ""
    return {"translation": translation, "language": language, "models": {"translate": built.label}, "notes": notes}


class StepNode(Protocol):
    """A step's node: like `summarize`, a coroutine function of the state and the runtime, named for the graph."""

    __name__: str

    def __call__(self, state: SummarizeTranslateState, runtime: Runtime[Context]) -> Awaitable[dict[str, Any]]:
        """Return the state update: the field the step writes, its model's label under `models`, any `notes`."""


class GateNode(Protocol):
    """A gate's check: like `check_summary`, a coroutine function of the state alone."""

    __name__: str

    def __call__(self, state: SummarizeTranslateState) -> Awaitable[dict[str, Any]]:
        """Return the state update that records the verdict, which `Gate.passed` and `Gate.again` read."""


@dataclass(frozen=True)
class Gate:
    """A check between a step and the next: pass the step's output on, send the step back, or end the run."""

    check: GateNode
    """The node that judges the step's output and records its verdict in the state."""
    passed: Callable[[SummarizeTranslateState], bool]
    """Read the verdict: go on to the next step."""
    again: Callable[[SummarizeTranslateState], bool]
    """When it did not pass: run the step once more (else the run ends, with the check's notes saying why)."""

    @property
    def name(self) -> str:
        """The check's node name in the graph: its function's name."""
        return self.check.__name__

    def route(self, step: str, following: str) -> Callable[[SummarizeTranslateState], str]:
        """Return the edge function after the check: to `following`, back to `step`, or to the end."""

        def after_check(state: SummarizeTranslateState) -> str:
            if self.passed(state):
                return following
            return step if self.again(state) else "__end__"

        after_check.__name__ = f"after_{self.name}"
        return after_check


@dataclass(frozen=True)
class Step:
    """One step of the chain: a node that reads what the steps before it wrote, and an optional gate after it."""

    node: StepNode
    gate: Gate | None = None
    writes: tuple[str, ...] = ()
    """The text fields the step writes. Each run starts them empty: a step that does not run (a gate before it
    ended the run) then leaves no earlier run's value on the thread to be returned as this run's."""

    @property
    def name(self) -> str:
        """The node's name in the graph (`--node-model NAME=...`, progress, Studio): its function's name."""
        return self.node.__name__


def clearing(node: StepNode, fields: Sequence[str]) -> StepNode:
    """Return the first step's node, which also starts the later steps' `fields` of this run empty.

    A thread keeps its state from run to run; without this, a run that ends at a gate would return the last
    run's translation (or any later step's output) as its own.
    """
    if not fields:
        return node

    @functools.wraps(node)  # the same name in the graph, and the signature LangGraph reads to pass the runtime
    async def first(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
        return {**dict.fromkeys(fields, ""), **await node(state, runtime)}

    return first


STEPS: list[Step] = [
    Step(
        summarize,
        gate=Gate(
            check_summary,
            passed=lambda state: bool(state.get("summary_ok")),
            again=lambda state: state.get("summary_attempts", 0) < MAX_SUMMARY_ATTEMPTS,
        ),
    ),
    Step(translate, writes=("translation",)),
]
"""The chain, in order: `graphs/summarize_translate.py` wires whatever this holds, so a new step is a node above
and an entry here naming the field it writes (declared in `state/summarize_translate.py`)."""
