"""Compliance scorecard for any FAQ output: does it do what the lesson's prompt asked, measurably?

Pure functions over plain data, so the graphs, the `workflows compare faq` command and the tests score
Gemini's output, the offline model's and the lesson's recorded output the same way.
"""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from nodes.text import content_words
from state.faq import Check, Document

SUPPORT_THRESHOLD = 0.6
"""Share of an answer's content words that must occur in the documents it cites.

Why content-word overlap: an answer drawn from its cited documents reuses their vocabulary, while one that
brings facts from elsewhere (or cites the wrong page) introduces words those documents never use. The lesson's
recorded answers, paraphrases included, score 0.76 to 1.0 against their own citations; the gap to 1.0 is
connective words ("primary", "however", "typically"). An answer about wind turbines cited to the solar page
scores 0.38. It is a cheap lexical proxy: it cannot see negation or a wrong number made of the right words.
"""


def support(answer: str, cited: Sequence[Document]) -> float:
    """Return the share of the answer's content words found in the cited documents (titles included)."""
    words = content_words(answer)
    if not words:
        return 0.0
    vocabulary: set[str] = set()
    for doc in cited:
        vocabulary |= _document_words(doc["title"], doc["content"])
    return len(words & vocabulary) / len(words)


@lru_cache(maxsize=64)
def _document_words(title: str, content: str) -> frozenset[str]:
    # Every item of an FAQ cites the same few documents: their words are worked out once, not once per item.
    return frozenset(content_words(f"{title} {content}"))


def normalized_question(question: str) -> str:
    """Fold case, punctuation and spacing, so "What is X?" and "what is x" count as the same question."""
    return " ".join(re.findall(r"[a-z0-9]+", question.casefold()))


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def _sources(item: Mapping[str, Any]) -> list[str]:
    value = item.get("sources")
    return [s.strip() for s in value if isinstance(s, str) and s.strip()] if isinstance(value, list) else []


def _numbers(positions: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(f"#{p}" for p in positions[:limit])
    return shown + (f" and {len(positions) - limit} more" if len(positions) > limit else "")


def score_faq(items: Sequence[Mapping[str, Any]], documents: Sequence[Document], expected: int) -> list[Check]:
    """Score FAQ items (dicts with question, answer, sources) against the documents and the count asked for.

    The checks, in order: item count (equals `expected`); complete items (a question, an answer and at least one
    source each); known sources (every source is a document title); supported answers (see SUPPORT_THRESHOLD);
    distinct questions (none repeats an earlier one once case, punctuation and spacing are folded).

    Items are numbered from 1 in the details. Malformed items (missing keys, wrong types) are scored as
    incomplete, never raise.
    """
    by_title = {doc["title"]: doc for doc in documents}
    total = len(items)

    incomplete = [
        n
        for n, item in enumerate(items, 1)
        if not (_text(item, "question") and _text(item, "answer") and _sources(item))
    ]

    unknown: list[str] = []
    for item in items:
        unknown += [s for s in _sources(item) if s not in by_title and s not in unknown]

    unsupported: list[int] = []
    weakest: tuple[float, int] | None = None
    for n, item in enumerate(items, 1):
        cited = [by_title[s] for s in _sources(item) if s in by_title]
        ratio = support(_text(item, "answer"), cited) if cited else 0.0
        if ratio < SUPPORT_THRESHOLD:
            unsupported.append(n)
        if weakest is None or ratio < weakest[0]:
            weakest = (ratio, n)

    first_seen: dict[str, int] = {}
    duplicates: list[int] = []
    for n, item in enumerate(items, 1):
        key = normalized_question(_text(item, "question"))
        if key and key in first_seen:
            duplicates.append(n)
        first_seen.setdefault(key, n)

    supported_detail = f"{total - len(unsupported)}/{total} supported"
    if unsupported:
        supported_detail += f"; not: {_numbers(unsupported)}"
    if weakest is not None:
        supported_detail += f" (lowest #{weakest[1]}: {weakest[0]:.0%})"
    return [
        Check(name="item count", passed=total == expected, detail=f"{total} items, {expected} asked for"),
        Check(
            name="complete items",
            passed=not incomplete and total > 0,
            detail=f"{total - len(incomplete)}/{total} complete"
            + (f"; incomplete: {_numbers(incomplete)}" if incomplete else ""),
        ),
        Check(
            name="known sources",
            passed=not unknown and total > 0,
            detail=f"unknown: {', '.join(repr(s) for s in unknown[:3])}"
            if unknown
            else ("all are document titles" if total else "no items"),
        ),
        Check(name="supported answers", passed=not unsupported and total > 0, detail=supported_detail),
        Check(
            name="distinct questions",
            passed=not duplicates,
            detail=f"{len(first_seen)} distinct of {total}"
            + (f"; repeated: {_numbers(duplicates)}" if duplicates else ""),
        ),
    ]


def passed(scorecard: Sequence[Check]) -> str:
    """Summarize a scorecard as "4/5 checks passed"."""
    return f"{sum(check['passed'] for check in scorecard)}/{len(scorecard)} checks passed"
