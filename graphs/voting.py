"""Parallelization, voting: several independent judges score one answer at once; a rule turns votes into a verdict."""

from collections.abc import Mapping

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from nodes.edges import on_the_loop
from nodes.judges import JUDGES, Judge
from nodes.voting import JUDGE_NODE, evidence_for, make_judge, make_tally, prepare
from state.context import Context
from state.voting import JudgeTask, VotingInput, VotingOutput, VotingState

VotingBuilder = StateGraph[VotingState, Context, VotingInput, VotingOutput]


def build_voting(judges: Mapping[str, Judge] = JUDGES) -> VotingBuilder:
    """Wire prepare -> one `judge` Send per registered judge -> tally -> END."""
    if not judges:
        raise ValueError("At least one judge is needed to vote.")

    def assign_judges(state: VotingState) -> list[Send] | str:
        """Fan out: the same answer to every judge that has not voted, each with the documents it is meant to see.

        In a run none has voted (`prepare` clears the ballots); an edit of a thread paused after the votes, made
        without `as_node` (as Studio and the SDK send it), runs this edge again and must not count a judge twice.
        """
        documents, sources = state["documents"], state.get("sources", [])
        voted = {ballot["judge"] for ballot in state.get("ballots", [])}
        sends = [
            Send(
                JUDGE_NODE,
                JudgeTask(
                    judge=key,
                    answer=state["answer"],
                    question=state.get("question") or "",
                    documents=evidence_for(judge, documents, sources),
                ),
            )
            for key, judge in judges.items()
            if key not in voted
        ]
        return sends or "tally"

    builder = StateGraph(VotingState, context_schema=Context, input_schema=VotingInput, output_schema=VotingOutput)
    builder.add_node(prepare)
    # One node for every judge, fed by Send: judges differ only in their registry entry (prompt, evidence, pass
    # mark, temperature), so a new judge adds a Send, not a node. The node retries its own model calls, so a judge
    # that keeps failing becomes a failed vote instead of failing the run.
    builder.add_node(JUDGE_NODE, make_judge(judges), input_schema=JudgeTask)
    builder.add_node("tally", make_tally(judges))
    builder.add_edge(START, "prepare")
    fan_out = on_the_loop(assign_judges)  # named first: mypy then types it as the edge, not as the wider parameter
    builder.add_conditional_edges("prepare", fan_out, [JUDGE_NODE, "tally"])
    builder.add_edge(JUDGE_NODE, "tally")
    builder.add_edge("tally", END)
    return builder


builder = build_voting()
graph = builder.compile(name="voting")
