"""The workflows the CLI and Studio offer: where each graph lives, its lesson input, and how to show a result.

Importing it imports no graph, no node and no pydantic model (`workflows list` only reads names and descriptions):
each entry loads its graph, its lesson inputs and its helpers when they are first used.
"""

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from state.faq import Document


@dataclass(frozen=True)
class Workflow:
    """One runnable graph as the command line sees it."""

    module: str
    """Module whose `graph` attribute is the compiled graph (imported only when used)."""
    description: str
    """One line for `workflows list` and Studio."""
    lesson_inputs: Callable[[], Sequence[str]]
    """Return the lesson's inputs (see `examples`); called once, when first needed."""
    make_input: Callable[[str], dict[str, Any]]
    """Turn the user's text into the graph's input; raises ValueError (e.g. DocumentError) for unusable text."""
    render: Callable[[dict[str, Any]], str]
    """Turn a finished run's output into readable text."""
    documents_input: "Callable[[list[Document]], list[dict[str, Any]]] | None" = None
    """For workflows that read documents: the inputs for `--doc` files (None: the workflow takes text only)."""
    count_key: str | None = None
    """The input key that `--questions` sets (None: the workflow takes no count)."""

    @cached_property
    def examples(self) -> tuple[str, ...]:
        """The lesson's inputs, run when the user gives none."""
        return tuple(self.lesson_inputs())

    def inputs(
        self, text: str | None, documents: "Sequence[Document]" = (), questions: int | None = None
    ) -> list[dict[str, Any]]:
        """Return the runs to make: for the user's text, the user's documents, or else the lesson's inputs."""
        if questions is not None and self.count_key is None:
            raise ValueError("this workflow takes no --questions; only the FAQ workflows do")
        if documents:
            if self.documents_input is None:
                raise ValueError("this workflow takes text, not --doc files")
            if text is not None:
                raise ValueError("give either the input text or --doc files, not both")
            runs = self.documents_input(list(documents))
        elif text is not None:
            runs = [self.make_input(text)]
        else:
            runs = [self.make_input(example) for example in self.examples]
        if questions is None or self.count_key is None:
            return runs
        return [{**run, self.count_key: questions} for run in runs]

    def load(self) -> "CompiledStateGraph[Any, Any, Any, Any]":
        """Import and return the compiled graph."""
        graph: CompiledStateGraph[Any, Any, Any, Any] = importlib.import_module(self.module).graph
        return graph


def _render_routing(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Query:  {result.get('query', '')}",
            f"Intent: {result.get('intent', '?')} (confidence {result.get('confidence', 0.0):.2f})",
            f"Reply:  {result.get('reply', '')}",
        ]
    )


def _render_orchestrator(result: dict[str, Any]) -> str:
    lines = [f"Message: {result.get('message', '')}", "Plan:"]
    planned = sorted(
        [
            (t["index"], f"{t['kind']} " + ", ".join(f"{k}={v}" for k, v in t["fields"].items()))
            for t in result.get("tasks", [])
        ]
        + [(u["index"], f"could not handle: {u['request']} ({u['reason']})") for u in result.get("unhandled", [])]
    )
    lines += [f"  {index + 1}. {text}" for index, text in planned] or ["  (no tasks)"]
    lines.append("Results:")
    for worker_result in sorted(result.get("results", []), key=lambda r: r["index"]):
        status = "done" if worker_result["ok"] else "follow-up"
        lines.append(f"  {worker_result['index'] + 1}. [{status}] {worker_result['label']}: {worker_result['summary']}")
    if not result.get("results"):
        lines.append("  (none)")
    lines += ["Email:", *(f"  {line}" for line in result.get("email", "").splitlines())]
    return "\n".join(lines)


def _render_faq(result: dict[str, Any]) -> str:
    from nodes.scorecard import passed

    lines: list[str] = []
    for number, item in enumerate(result.get("faqs", []), 1):
        lines += [
            f"{number}. {item['question']}",
            f"   {item['answer']}",
            f"   Sources: {'; '.join(item['sources']) or '(none)'}",
        ]
    for failed in result.get("failed", []):
        lines.append(f"Failed: question {failed['index'] + 1} ({failed['question']}): {failed['error']}")
    scorecard = result.get("scorecard", [])
    lines.append(f"Scorecard: {passed(scorecard)}")
    lines += [f"  [{'pass' if c['passed'] else 'FAIL'}] {c['name']}: {c['detail']}" for c in scorecard]
    return "\n".join(lines)


def _render_summary(result: dict[str, Any]) -> str:
    from nodes.text import clip

    # Which text this is, as routing shows its query: several --doc files give a block each.
    text = " ".join(str(result.get("text", "")).split())
    lines = [f"Text:        {clip(text, 72)} ({len(text.split())} words)", f"Summary:     {result.get('summary', '')}"]
    if "translation" in result:
        lines.append(f"Translation ({result.get('language', '?')}): {result['translation']}")
    return "\n".join(lines)


def _render_sectioning(result: dict[str, Any]) -> str:
    marks = {"passed": "pass", "flagged": "FLAG", "failed": "fail"}
    lines = [f"Query:    {result.get('query', '')}", "Screens:"]
    for screen in result.get("screens", []):
        reason = f": {screen['reason']}" if screen["status"] != "passed" and screen["reason"] else ""
        lines.append(f"  [{marks.get(screen['status'], screen['status'])}] {screen['label']}{reason}")
    lines += [f"Decision: {result.get('decision', '')}", f"Reply:    {result.get('reply', '')}"]
    return "\n".join(lines)


def _render_voting(result: dict[str, Any]) -> str:
    lines = [f"Answer:   {result.get('answer', '')}", "Votes:"]
    for vote in result.get("votes", []):
        score = f"{vote['score']:.2f}" if vote["score"] is not None else "-"
        lines.append(
            f"  [{vote['status']}] {vote['label']}: score {score}, pass mark {vote['pass_mark']:.2f}; {vote['reason']}"
        )
    verdict = "supported" if result.get("supported") else "not supported"
    lines += [
        f"Verdict:  {verdict} (rule {result.get('rule', '?')}, agreement {result.get('agreement', 0.0):.0%})",
        f"Decision: {result.get('decision', '')}",
    ]
    return "\n".join(lines)


def _render_evaluator_optimizer(result: dict[str, Any]) -> str:
    lines = []
    for round_ in result.get("rounds", []):
        score = f"{round_['score']:.2f}" if round_["score"] is not None else "unreadable"
        lines.append(f"Round {round_['round']}: score {score}, {'passed' if round_['passed'] else 'not passed'}")
        lines += [f"  - {line}" for line in round_["feedback"]]
    lines += [f"Outcome: {result.get('outcome', '')}", "Email:"]
    lines += [f"  {line}" for line in result.get("email", "").splitlines()]
    return "\n".join(lines)


def _faq_from_text(text: str) -> dict[str, Any]:
    from nodes.documents import DocumentError, check_documents, documents_from_text

    documents = documents_from_text(text)
    if not documents:
        raise DocumentError("the text has no content to write an FAQ from: put some text under its '# Title' lines")
    return {"documents": check_documents(documents)}


def _lesson(module: str, name: str) -> Callable[[], Sequence[str]]:
    """Return a loader of the lesson's input(s) kept as `name` (a text, or a tuple of them) in the module `module`."""

    def load() -> Sequence[str]:
        found = getattr(importlib.import_module(module), name)
        return (found,) if isinstance(found, str) else tuple(found)

    return load


def _lesson_pages() -> Sequence[str]:
    from state.faq import LESSON_PAGES

    return tuple(page["content"] for page in LESSON_PAGES)


def _lesson_documents() -> Sequence[str]:
    from nodes.documents import lesson_markdown

    return (lesson_markdown(),)


def _faq_workflow(module: str, description: str) -> Workflow:
    """Both FAQ graphs take the same input and give the same output; only the graph differs."""
    return Workflow(
        module=module,
        description=description,
        lesson_inputs=_lesson_documents,
        make_input=_faq_from_text,
        render=_render_faq,
        documents_input=lambda documents: [{"documents": documents}],
        count_key="num_questions",
    )


WORKFLOWS: dict[str, Workflow] = {
    "routing": Workflow(
        module="graphs.routing",
        # No apostrophe: langgraph-cli puts the descriptions in single quotes in the Dockerfile it writes.
        description="Classify a customer query into one of the registered intents (as shipped, the three of the "
        "lesson: Technical Support / Billing Inquiry / General Question), then answer with the prompt of that intent.",
        lesson_inputs=_lesson("state.routing", "LESSON_QUERIES"),
        make_input=lambda text: {"query": text},
        render=_render_routing,
    ),
    "orchestrator": Workflow(
        module="graphs.orchestrator",
        description="Split a customer message into typed tasks, handle each with its worker in parallel, "
        "then write one email.",
        lesson_inputs=_lesson("state.orchestrator", "LESSON_MESSAGE"),
        make_input=lambda text: {"message": text},
        render=_render_orchestrator,
    ),
    "faq_single_call": _faq_workflow(
        "graphs.faq_single_call",
        "FAQ in one big call (the lesson baseline): questions, answers and sources at once, scored.",
    ),
    "faq_chain": _faq_workflow(
        "graphs.faq_chain",
        "FAQ as a chain: N questions, then answer -> sources per question in parallel, scored.",
    ),
    "summarize_translate": Workflow(
        module="graphs.summarize_translate",
        description="Summarize a text, check the summary (one retry), then translate it (French by default).",
        lesson_inputs=_lesson_pages,
        make_input=lambda text: {"text": text},
        render=_render_summary,
        documents_input=lambda documents: [{"text": doc["content"]} for doc in documents],
    ),
    "sectioning": Workflow(
        module="graphs.sectioning",
        description="Parallelization, sectioning: draft a reply while screens check the query (injection, abuse, "
        "personal data, scope) at the same time; send the draft only if every screen passes.",
        lesson_inputs=_lesson("state.sectioning", "SECTIONING_QUERIES"),
        make_input=lambda text: {"query": text},
        render=_render_sectioning,
    ),
    "voting": Workflow(
        module="graphs.voting",
        description="Parallelization, voting: several judges score whether an FAQ answer is supported by the "
        "documents; a rule (majority, threshold, unanimity) turns their votes into a verdict.",
        lesson_inputs=_lesson("state.voting", "VOTING_ANSWERS"),
        make_input=lambda text: {"answer": text},
        render=_render_voting,
    ),
    "evaluator_optimizer": Workflow(
        module="graphs.evaluator_optimizer",
        description="Evaluator-optimizer: write a customer email from the facts, evaluate it (exact checks and a "
        "judge), and revise it with the feedback until it passes or the round limit.",
        lesson_inputs=_lesson("state.evaluator_optimizer", "SUPPORT_CASE_FACTS"),
        make_input=lambda text: {"facts": text},
        render=_render_evaluator_optimizer,
    ),
}
"""Name -> workflow; the names match studio/langgraph.json."""
