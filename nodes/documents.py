"""Source documents for the FAQ graphs: the lesson's three web pages, and reading users' own files."""

import re
from collections.abc import Sequence
from pathlib import Path

from state.faq import Document

LESSON_PAGES: tuple[Document, ...] = (
    Document(
        title="The Benefits of Solar Energy",
        content="""
    Solar energy is a renewable powerhouse, offering numerous environmental and economic benefits.
    By converting sunlight into electricity through photovoltaic (PV) panels, it reduces reliance on fossil fuels,
    thereby cutting down greenhouse gas emissions. Homeowners who install solar panels can significantly
    lower their monthly electricity bills, and in some cases, sell excess power back to the grid.
    While the initial installation cost can be high, government incentives and long-term savings make
    it a financially viable option for many. Solar power is also a key component in achieving energy
    independence for nations worldwide.
    """,
    ),
    Document(
        title="Understanding Wind Turbines",
        content="""
    Wind turbines are towering structures that capture kinetic energy from the wind and convert it into
    electrical power. They are a critical part of the global shift towards sustainable energy.
    Turbines can be installed both onshore and offshore, with offshore wind farms generally producing more
    consistent power due to stronger, more reliable winds. The main challenge for wind energy is its
    intermittency—it only generates power when the wind blows. This necessitates the use of energy
    storage solutions, like large-scale batteries, to ensure a steady supply of electricity.
    """,
    ),
    Document(
        title="Energy Storage Solutions",
        content="""
    Effective energy storage is the key to unlocking the full potential of renewable sources like solar
    and wind. Because these sources are intermittent, storing excess energy when it's plentiful and
    releasing it when it's needed is crucial for a stable power grid. The most common form of
    large-scale storage is pumped-hydro storage, but battery technologies, particularly lithium-ion,
    are rapidly becoming more affordable and widespread. These batteries can be used in homes, businesses,
    and at the utility scale to balance energy supply and demand, making our energy system more
    resilient and reliable.
    """,
    ),
)
"""The lesson's mock web pages, verbatim: the default input of the FAQ graphs."""

DOCUMENT_SUFFIXES = (".txt", ".md")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


class DocumentError(ValueError):
    """A document that cannot be used (missing, unreadable, empty, wrong kind); the message says which."""


def lesson_documents() -> list[Document]:
    """Return fresh copies of the lesson's three pages."""
    return [Document(title=page["title"], content=page["content"]) for page in LESSON_PAGES]


def combined_content(documents: Sequence[Document]) -> str:
    """Join documents the way the lesson does, so every prompt names each document's title."""
    return "\n\n".join(f"Source Title: {doc['title']}\nContent: {doc['content']}" for doc in documents)


def read_document(path: str | Path) -> Document:
    """Read a .txt or .md file as a document titled by its first Markdown heading, else by its file name."""
    file = Path(path)
    if file.suffix.lower() not in DOCUMENT_SUFFIXES:
        raise DocumentError(f"{file}: only .txt and .md documents are supported")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError(f"{file}: cannot be read ({type(error).__name__})") from None
    if not text.strip():
        raise DocumentError(f"{file}: the document is empty")
    heading = next((m.group(1) for m in map(_HEADING.match, text.splitlines()) if m), None)
    title = heading or file.stem.replace("_", " ").replace("-", " ").strip() or file.name
    return Document(title=title, content=text.strip())


def check_documents(documents: Sequence[Document]) -> list[Document]:
    """Validate documents given from Python: each needs a non-empty title and content, titles must be unique."""
    checked: list[Document] = []
    for number, doc in enumerate(documents, 1):
        title = str(doc.get("title", "")).strip()
        content = str(doc.get("content", "")).strip()
        if not title or not content:
            raise DocumentError(f"document {number} needs a non-empty 'title' and 'content'")
        if any(title == seen["title"] for seen in checked):
            raise DocumentError(f"two documents share the title {title!r}; sources are cited by title")
        checked.append(Document(title=title, content=content))
    return checked
