"""Plain-text helpers shared by the nodes, the offline model and the quality checks: words, headings, overlap."""

import re

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just let me more most my no nor not now of off on once
    only or other our ours out over own please same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself i'm it's don't can't""".split()
)
"""Words that carry no topic: ignored when texts are compared."""

MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
"""A Markdown ATX heading line ("# Title", "## Title ##"); group 1 is the title."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")


def stem(word: str) -> str:
    """Crudely fold inflections together ("invoices"/"invoice", "working"/"work") for overlap counts."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Return the stemmed words of `text` that carry meaning (stopwords and one-letter words dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def overlap(a: str, b: str) -> int:
    """Count the content words two texts share."""
    return len(content_words(a) & content_words(b))


def sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping each one's punctuation."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def approx_tokens(text: str) -> int:
    """Estimate a token count the way providers roughly do for English: one token per four characters."""
    return max(1, (len(text) + 3) // 4) if text else 0


def first_line(error: object) -> str:
    """Return the first line of an error's message (at most 160 characters), or its type name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__


def clip(text: str, width: int) -> str:
    """Shorten `text` to `width` characters, marking a cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def one_line(text: str) -> str:
    """Collapse text onto one line with no double quotes, so it can stand in a prompt as a `Label: "..."` field."""
    return " ".join(text.split()).replace('"', "'")
