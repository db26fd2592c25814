"""Nodes and gate of the Summarize -> Translate chain."""

from collections.abc import Mapping
from typing import Any, Literal

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
    if notes:
        update["text"] = given["text"]
    if retry:
        return {**update, "notes": notes, "summary_attempts": state.get("summary_attempts", 0) + 1}
    # The language is settled here, not only by `translate`, so a run that never translates reports its own.
    language = (given.get("language") or DEFAULT_LANGUAGE).strip()
    return {**update, "summary_attempts": 1, "language": language, **fresh_run_info(update["models"], notes)}


def _reply_notes(what: str, reply: llm.Text) -> list[str]:
    if not reply.problems:
        return []
    if reply.complete:
        return [f"The first {what} was not usable ({reply.problems[0]}); asked again."]
    return [f"The {what} was not usable, also when asked again ({reply.problems[-1]})."]


def summary_problem(summary: str, max_words: int) -> str:
    """Say what is wrong with a summary (empty, over-long), or return "" when it may be translated."""
    if not summary.strip():
        return "the summary was empty"
    words = len(summary.split())
    if words > max_words:
        return f"the summary had {words} words, over the limit of {max_words}"
    return ""


async def check_summary(state: SummarizeTranslateState) -> dict[str, Any]:
    """Gate between the steps: pass a usable summary on, ask once more for a bad one, then report it."""
    problem = summary_problem(state.get("summary", ""), max_words_of(state))
    attempts = state.get("summary_attempts", 0)
    if not problem:
        note = ["The first summary was rejected; the retry passed the gate."] if attempts > 1 else []
        return {"summary_ok": True, "summary_problem": "", "notes": note}
    if attempts < MAX_SUMMARY_ATTEMPTS:
        return {"summary_ok": False, "summary_problem": problem, "notes": [f"Asked for a new summary: {problem}."]}
    return {
        "summary_ok": False,
        "summary_problem": problem,
        # Written, not left out: an earlier run's translation on this thread would otherwise be returned.
        "translation": "",
        "notes": [f"Not translated: after {attempts} attempts {problem}."],
    }


def after_check(state: SummarizeTranslateState) -> Literal["translate", "summarize", "__end__"]:
    """Translate a good summary, retry a bad one once, and stop after that."""
    if state.get("summary_ok"):
        return "translate"
    if state.get("summary_attempts", 0) < MAX_SUMMARY_ATTEMPTS:
        return "summarize"
    return "__end__"


async def translate(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Translate the summary into the target language."""
    language = (state.get("language") or DEFAULT_LANGUAGE).strip()
    built = await llm.chat_model(runtime, "translate")
    reply = await llm.ask_text(built.model, [("human", TRANSLATE.format(language=language, text=state["summary"]))])
    notes = _reply_notes(f"translation into {language}", reply)
    translation = reply.text if reply.complete else ""
    return {"translation": translation, "language": language, "models": {"translate": built.label}, "notes": notes}
