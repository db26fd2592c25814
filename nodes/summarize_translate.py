"""Nodes and gate of the Summarize -> Translate chain."""

from typing import Any, Literal

from langgraph.runtime import Runtime

from nodes import llm
from nodes.inputs import whole_number
from state.common import fresh_run_info
from state.context import Context
from state.summarize_translate import SummarizeTranslateState

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


def max_words_of(state: SummarizeTranslateState) -> int:
    """Return the summary's word limit, checked."""
    return whole_number(state.get("max_words"), "max_words", DEFAULT_MAX_WORDS)


async def summarize(state: SummarizeTranslateState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Summarize the text within the word limit (again, if the gate rejected the first summary)."""
    text = state.get("text", "").strip()
    if not text:
        raise ValueError("the text to summarize is empty")
    limit = max_words_of(state)
    built = await llm.chat_model(runtime, "summarize")
    prompt = SUMMARIZE.format(max_words=limit, text=text)
    # Only the gate sends a run back here; anything else is a new run on the thread, which starts the count over
    # (a finished run ends with the summary passed or the attempts used up, so it never looks like a retry).
    retry = state.get("summary_ok") is False and state.get("summary_attempts", 0) < MAX_SUMMARY_ATTEMPTS
    if retry and state.get("summary_problem"):
        # Say why the last attempt was rejected: a retry with the same prompt tends to repeat the mistake.
        prompt += f"\n\nA previous attempt was rejected: {state['summary_problem']}."
    reply = await built.model.ainvoke([("human", prompt)])
    update: dict[str, Any] = {"summary": reply.text.strip(), "models": {"summarize": built.label}}
    if retry:
        return {**update, "summary_attempts": state.get("summary_attempts", 0) + 1}
    # The language is settled here, not only by `translate`, so a run that never translates reports its own.
    language = (state.get("language") or DEFAULT_LANGUAGE).strip()
    return {**update, "summary_attempts": 1, "language": language, **fresh_run_info(update["models"])}


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
    reply = await built.model.ainvoke([("human", TRANSLATE.format(language=language, text=state["summary"]))])
    translation = reply.text.strip()
    notes = [] if translation else [f"The translation into {language} came back empty."]
    return {"translation": translation, "language": language, "models": {"translate": built.label}, "notes": notes}
