"""Source documents for the FAQ graphs: the lesson's three web pages, and reading users' own files."""

from collections.abc import Sequence
from pathlib import Path

from nodes.text import MARKDOWN_HEADING
from state.faq import LESSON_PAGES, Document

DOCUMENT_SUFFIXES = (".txt", ".md")


class DocumentError(ValueError):
    """A document that cannot be used (missing, unreadable, empty, wrong kind); the message says which."""


def lesson_documents() -> list[Document]:
    """Return fresh copies of the lesson's three pages."""
    return [Document(title=page["title"], content=page["content"]) for page in LESSON_PAGES]


def documents_from_text(text: str) -> list[Document]:
    """Split text into documents at its Markdown headings ("# Title"); text before any heading is "Your text"."""
    documents: list[Document] = []
    title, lines = "Your text", []
    for line in [*text.splitlines(), "# (end)"]:
        heading = MARKDOWN_HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        body = "\n".join(lines).strip()
        if body:
            documents.append(Document(title=title, content=body))
        title, lines = heading.group(1), []
    return documents


def lesson_markdown() -> str:
    """Return the lesson's pages as one Markdown text, one "# Title" section each (documents_from_text's inverse)."""
    return "\n\n".join(f"# {page['title']}\n{page['content']}" for page in LESSON_PAGES)


def combined_content(documents: Sequence[Document]) -> str:
    """Join documents the way the lesson does, so every prompt names each document's title."""
    return "\n\n".join(f"Source Title: {doc['title']}\nContent: {doc['content']}" for doc in documents)


def read_document(path: str | Path) -> Document:
    """Read a .txt or .md file as a document titled by its first Markdown heading, else by its file name."""
    file = Path(path)
    if file.is_dir():
        raise DocumentError(f"{file}: is a folder; pass the .txt or .md files in it (e.g. {file}/*.md)")
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
    headings = [m.group(1) for m in map(MARKDOWN_HEADING.match, text.splitlines()) if m]
    if len(headings) == len([line for line in text.splitlines() if line.strip()]):
        raise DocumentError(f"{file}: the document has a heading but no text")
    heading = headings[0] if headings else None
    title = heading or file.stem.replace("_", " ").replace("-", " ").strip() or file.name
    return Document(title=title, content=text.strip())


def read_documents(paths: Sequence[str | Path]) -> list[Document]:
    """Read every file as read_document does, then check them together (unique titles); none: an empty list."""
    return check_documents([read_document(path) for path in paths]) if paths else []


def check_documents(documents: Sequence[Document]) -> list[Document]:
    """Validate documents given from Python: at least one, each with a non-empty title and content, unique titles."""
    if not documents:
        raise DocumentError("at least one document is needed")
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
