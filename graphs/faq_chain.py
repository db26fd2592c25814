"""FAQ as a chain: generate N questions, then one branch per question (answer -> sources), collected in order."""

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from nodes.edges import on_the_loop
from nodes.faq import answer_question, collect, generate_questions, score
from state.context import Context
from state.faq import FaqInput, FaqOutput, FaqState, QuestionTask


def assign_questions(state: FaqState) -> list[Send] | Literal["collect"]:
    """Fan out: one `answer_question` branch per generated question not yet answered (none: straight to `collect`).

    In a run none is answered yet (`generate_questions` clears them); an edit of a thread paused after the answers,
    made without `as_node` (as Studio and the SDK send it), runs this edge again and must not answer twice.
    """
    done = {answered["index"] for answered in state.get("answered", [])}
    sends = [
        Send("answer_question", QuestionTask(index=index, question=question, documents=state["documents"]))
        for index, question in enumerate(state.get("questions", []))
        if index not in done
    ]
    return sends or "collect"


builder = StateGraph(FaqState, context_schema=Context, input_schema=FaqInput, output_schema=FaqOutput)
builder.add_node(generate_questions)
# A branch's failed model call (after the model layer's retries) fails one question, not the run.
builder.add_node(answer_question)
builder.add_node(collect)
builder.add_node(score)
builder.add_edge(START, "generate_questions")
fan_out = on_the_loop(assign_questions)  # named first: mypy then types it as the edge, not as the wider parameter
builder.add_conditional_edges("generate_questions", fan_out, ["answer_question", "collect"])
builder.add_edge("answer_question", "collect")
builder.add_edge("collect", "score")
builder.add_edge("score", END)
graph = builder.compile(name="faq_chain")
