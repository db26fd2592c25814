"""Nodes of the FAQ graphs: the lesson's one big call, and its chain (questions -> answer -> sources per question)."""

from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime
from pydantic import TypeAdapter, ValidationError

from nodes import llm
from nodes.documents import check_documents, combined_content, lesson_documents
from nodes.inputs import read_input, whole_number
from nodes.scorecard import normalized_question, score_faq
from nodes.text import clip
from state.common import fresh_run_info, overwrite
from state.context import Context
from state.faq import (  # DEFAULT_QUESTIONS and MAX_QUESTIONS stay importable from here
    DEFAULT_QUESTIONS,
    MAX_QUESTIONS,
    Answered,
    CitedSources,
    Document,
    FailedQuestion,
    FaqEntry,
    FaqInput,
    FaqItem,
    FaqState,
    GeneratedQuestions,
    QuestionTask,
)

# The lesson's prompts, verbatim except for the counts, and the JSON shape structured output now enforces.
SINGLE_CALL_SYSTEM = "You are an expert at creating FAQs from provided documents."
SINGLE_CALL = """Based on the provided content from {pages}, generate a list of exactly {count} frequently asked questions (FAQs).
For each question, provide a concise answer derived ONLY from the text.
After each answer, you MUST include a list of the 'Source Title's that were used to formulate that answer.

Your final output should be a JSON array where each object has three keys: "question", "answer", and "sources" (which is an array of strings).

Provided Content:
---
{combined_content}
---"""  # noqa: E501 - the lesson's prompt, line for line

QUESTIONS_SYSTEM = "You are a helpful assistant that generates questions based on text."
GENERATE_QUESTIONS = """Based on the content below, generate a list of {count} relevant and distinct questions that a user might have.
Return these questions as a JSON array of strings, under the key "questions".

Provided Content:
---
{combined_content}
---"""  # noqa: E501

ANSWER_SYSTEM = "You answer questions based *only* on the provided context."
ANSWER_QUESTION = """Using ONLY the provided content below, answer the following question.
The answer should be concise and directly address the question.

Question:
"{question}"

Provided Content:
---
{combined_content}
---"""

SOURCES_SYSTEM = "You are an expert at identifying document sources for a given text."
FIND_SOURCES = """You will be given a question and an answer that was generated from a set of documents.
Your task is to identify which of the original documents were used to create the answer.
Return a JSON object with a single key "sources" which is a list of the titles of the relevant documents.

Question: "{question}"
Answer: "{answer}"

Documents:
---
{combined_content}
---"""


async def read_faq_input(state: FaqState, runtime: Runtime[Context]) -> tuple[list[Document], int, list[str]]:
    """Return the run's documents (the lesson's three pages when none were given) and N, checked, and notes.

    The first node calls this and writes the result to state; later nodes and edges read `state["documents"]`.
    """
    given, notes = await read_input(state, FaqInput, llm.context_of(runtime))
    documents = given.get("documents")
    count = whole_number(given.get("num_questions"), "num_questions", DEFAULT_QUESTIONS, high=MAX_QUESTIONS)
    return (lesson_documents() if documents is None else check_documents(documents)), count, notes


def _pages(documents: Sequence[Document]) -> str:
    return f"{len(documents)} webpage{'s' if len(documents) != 1 else ''}"


# The schemas below are built once per argument and shared by every call: callers must not change them.


@cache
def single_call_schema() -> dict[str, Any]:
    """Return the JSON schema of the single call: the lesson's shape only (count and titles left to the prompt)."""
    return {"type": "array", "items": FaqEntry.model_json_schema()}


@lru_cache(maxsize=64)
def questions_schema(count: int) -> dict[str, Any]:
    """Return the question step's JSON schema, asking for exactly `count` questions."""
    schema = GeneratedQuestions.model_json_schema()
    schema["properties"]["questions"].update(minItems=count, maxItems=count)
    return schema


def sources_schema(titles: Sequence[str]) -> dict[str, Any]:
    """Return the source step's JSON schema: every source must be one of the documents' titles."""
    return _sources_schema(tuple(titles))


@lru_cache(maxsize=64)
def _sources_schema(titles: tuple[str, ...]) -> dict[str, Any]:
    # Every question's branch asks with the same titles: built once per document set, not once per branch.
    schema = CitedSources.model_json_schema()
    schema["properties"]["sources"]["items"] = {"type": "string", "enum": list(titles)}
    return schema


_ENTRY = TypeAdapter(FaqEntry)


def parse_single_call(raw: Any) -> tuple[list[FaqItem], list[str]]:
    """Validate the single call's JSON item by item; keep the valid items and describe every problem."""
    if not isinstance(raw, list):
        return [], [f"The single call's output was not a JSON array of FAQ items (got {type(raw).__name__})."]
    items: list[FaqItem] = []
    notes: list[str] = []
    for number, entry in enumerate(raw, 1):
        try:
            valid = _ENTRY.validate_python(entry)
        except ValidationError as error:
            problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors()[:2])
            notes.append(f"FAQ item {number} of the single call was dropped as malformed ({problem}).")
            continue
        items.append(FaqItem(question=valid.question, answer=valid.answer, sources=valid.sources))
    return items, notes


def _an_array(parsed: Any) -> list[Any]:
    """Accept the single call's JSON when it is an array (its items are checked one by one after)."""
    if not isinstance(parsed, list):
        raise ValueError(f"not a JSON array of FAQ items (got {type(parsed).__name__})")
    return parsed


async def generate_faq(state: FaqState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask for the whole FAQ in one call, as the lesson's baseline does, and parse its JSON into items."""
    documents, count, notes = await read_faq_input(state, runtime)
    built = await llm.chat_model(runtime, "generate_faq")
    prompt = SINGLE_CALL.format(pages=_pages(documents), count=count, combined_content=combined_content(documents))
    reply = await llm.ask_structured(
        built.model, single_call_schema(), [("system", SINGLE_CALL_SYSTEM), ("human", prompt)], _an_array
    )
    items: list[FaqItem] = []
    if reply.value is None:
        notes.append(f"The single call's output was not usable, also when asked again ({reply.problems[-1]}).")
    else:
        if reply.asked_again:
            notes.append(f"The single call's first output was not usable ({reply.problems[0]}); asked again.")
        items, dropped = parse_single_call(reply.value)
        notes += dropped
        if not items and not dropped:
            notes.append("The single call returned no FAQ items.")
    return {
        "faqs": items,
        "documents": documents,
        "num_questions": count,
        **fresh_run_info({"generate_faq": built.label}, notes),
    }


async def generate_questions(state: FaqState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask for exactly N distinct questions about the documents; ask again when the reply is short or malformed."""
    documents, count, notes = await read_faq_input(state, runtime)
    built = await llm.chat_model(runtime, "generate_questions")
    schema = questions_schema(count)
    prompt = GENERATE_QUESTIONS.format(count=count, combined_content=combined_content(documents))
    questions: list[str] = []
    for attempt in range(2):
        answer = await llm.ask_structured_once(built.model, schema, [("system", QUESTIONS_SYSTEM), ("human", prompt)])
        offered, problem = _offered_questions(answer)
        if problem:
            then = "asked again" if attempt == 0 else "no questions from it"
            notes.append(f"The question step's output was not valid JSON questions ({problem}); {then}.")
        questions, dropped = _distinct([*questions, *offered])
        if dropped:
            notes.append(f"Dropped {dropped} empty or repeated question(s) from the question step.")
        if len(questions) >= count:
            break
        if attempt == 0 and not problem:
            notes.append(f"The question step gave {len(questions)} distinct questions of {count}; asked again.")
    if len(questions) > count:
        notes.append(f"The question step gave {len(questions)} questions; kept the first {count}.")
    elif len(questions) < count:
        notes.append(f"Only {len(questions)} distinct questions of {count} after a retry; the FAQ is short.")
    return {
        "questions": questions[:count],
        "documents": documents,
        "num_questions": count,
        # `answered` accumulates: without this, an earlier run's items on this thread join this run's FAQ.
        "answered": overwrite([]),
        **fresh_run_info({"generate_questions": built.label}, notes),
    }


def _offered_questions(answer: dict[str, Any]) -> tuple[list[str], str]:
    """Return the questions of a structured reply (`llm.ask_structured_once`), or none and what was wrong with it."""
    offered, problem = llm.read_structured(answer, GeneratedQuestions)
    return (offered.questions, "") if offered is not None else ([], problem)


def _distinct(questions: Sequence[str]) -> tuple[list[str], int]:
    kept: list[str] = []
    seen: set[str] = set()
    for question in questions:
        key = normalized_question(question)
        if key and key not in seen:
            seen.add(key)
            kept.append(question.strip())
    return kept, len(questions) - len(kept)


class UnusableReply(ValueError):
    """A branch's model reply that stayed unusable when asked again; the message says why."""


async def _answer(model: BaseChatModel, question: str, content: str) -> str:
    prompt = ANSWER_QUESTION.format(question=question, combined_content=content)
    reply = await llm.ask_text(model, [("system", ANSWER_SYSTEM), ("human", prompt)])
    if not reply.complete:
        raise UnusableReply(f"the answer was not usable, also when asked again ({reply.problems[-1]})")
    return reply.text


async def _find_sources(
    model: BaseChatModel, question: str, answer: str, documents: Sequence[Document]
) -> tuple[list[str], list[str]]:
    """Return the answer's sources (document titles, each once) and the titles cited that no document has."""
    titles = [doc["title"] for doc in documents]
    prompt = FIND_SOURCES.format(question=question, answer=answer, combined_content=combined_content(documents))
    reply = await llm.ask_structured(
        model, sources_schema(titles), [("system", SOURCES_SYSTEM), ("human", prompt)], CitedSources.model_validate
    )
    if reply.value is None:
        raise UnusableReply(f"the sources were not usable, also when asked again ({reply.problems[-1]})")
    cited = list(dict.fromkeys(reply.value.sources))
    return [title for title in cited if title in titles], [title for title in cited if title not in titles]


async def answer_question(state: QuestionTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer one question from the documents only, then find that answer's sources (one chain branch)."""
    built = await llm.chat_model(runtime, "answer_question")
    question, documents = state["question"], state["documents"]
    done = Answered(index=state["index"], question=question)
    notes: list[str] = []
    try:
        answer = await _answer(built.model, question, combined_content(documents))
        done["answer"] = answer
        done["sources"], unknown = await _find_sources(built.model, question, answer, documents)
        if unknown:
            # Left out, so the scorecard's "known sources" holds for what is kept; said here, so it is not hidden.
            named = clip("; ".join(unknown), 160)
            notes.append(f"Question {state['index'] + 1}'s sources named titles no document has, left out: {named}.")
    # One question's failure is reported and the others carry on; only model failures and unusable replies are
    # expected here: anything else is a bug and fails the run.
    except (llm.ModelCallError, UnusableReply) as error:
        done["error"] = llm.describe_error(error) if isinstance(error, llm.ModelCallError) else str(error)
    return {"answered": [done], "models": {"answer_question": built.label}, "notes": notes}


async def collect(state: FaqState) -> dict[str, Any]:
    """Put the answered questions back in question order; list the failed ones apart."""
    faqs: list[FaqItem] = []
    failed: list[FailedQuestion] = []
    notes: list[str] = []
    # LangGraph happens to apply parallel writes in task order today; sorting keeps that out of our contract.
    for done in sorted(state.get("answered", []), key=lambda d: d["index"]):
        if "error" in done:
            failed.append(FailedQuestion(index=done["index"], question=done["question"], error=done["error"]))
            notes.append(f"Question {done['index'] + 1} failed and was left out: {done['error']}")
        else:
            faqs.append(FaqItem(question=done["question"], answer=done["answer"], sources=done.get("sources", [])))
    return {"faqs": faqs, "failed": failed, "notes": notes}


async def score(state: FaqState) -> dict[str, Any]:
    """Score the FAQ against its documents and the number of items asked for (no model call)."""
    return {"scorecard": score_faq(state.get("faqs", []), state["documents"], state["num_questions"])}
