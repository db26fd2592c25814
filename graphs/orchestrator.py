"""Orchestrator-workers: plan typed tasks, fan out one worker per task with Send, synthesize one email."""

from collections.abc import Mapping

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from nodes.backend import SupportBackend
from nodes.edges import on_the_loop
from nodes.orchestrator import OTHER_KIND, id_patterns, make_plan, make_synthesize, make_worker
from nodes.workers import WORKERS, Worker
from state.context import Context
from state.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState, WorkerState

OrchestratorBuilder = StateGraph[OrchestratorState, Context, OrchestratorInput, OrchestratorOutput]


def assign_workers(state: OrchestratorState) -> list[Send] | str:
    """Fan out: one Send per planned task not yet done to its worker's node; with none, go straight to synthesize.

    A task is done once its result is in the state. In a run that is never so (`plan` clears the results), but an
    edit of a thread paused after the workers, made without `as_node` (as Studio and the SDK send it), is applied
    as `plan`'s and runs this edge again: the workers must not run twice and double the results.
    """
    done = {result["index"] for result in state.get("results", [])}
    to_do = [task for task in state.get("tasks", []) if task["index"] not in done]
    if not to_do:
        return "synthesize"
    return [Send(task["kind"], WorkerState(message=state["message"], task=task)) for task in to_do]


def build_orchestrator(
    workers: Mapping[str, Worker] = WORKERS, backend: SupportBackend | None = None
) -> OrchestratorBuilder:
    """Wire plan -> one worker node per task type (one Send per task) -> synthesize -> END.

    `backend` is what the workers act on; None: the run's LangGraph store when it has one (StoreBackend: LangGraph
    Server's store, or the one the CLI keeps beside its threads), else a bounded in-memory LocalBackend.
    """
    clash = {"plan", "synthesize", OTHER_KIND} & set(workers)
    if clash:
        raise ValueError(f"Worker keys {sorted(clash)} are reserved names; pick other registry keys.")
    builder = StateGraph(
        OrchestratorState, context_schema=Context, input_schema=OrchestratorInput, output_schema=OrchestratorOutput
    )
    builder.add_node("plan", make_plan(workers))
    # One node per task type rather than one dispatching `work` node: Studio then draws which workers exist
    # (plan -> billing_inquiry / product_return / status_update -> synthesize) and shows each task's run under
    # its type, and node_models can give one type its own model. The registry builds the nodes, so a new type
    # still needs no edit here. A task whose model call still fails after the model layer's retries becomes a
    # recorded follow-up in the email instead of failing the run; the worker knows its task, so it can word and
    # record that follow-up, which a graph-wide error handler could not.
    patterns = id_patterns(workers)
    for kind, worker in workers.items():
        builder.add_node(kind, make_worker(kind, worker, backend, patterns), input_schema=WorkerState)
        builder.add_edge(kind, "synthesize")
    # A failed or unusable email falls back to a plain one: the cases and RMAs exist by then and must reach the
    # customer, so synthesize never fails the run for a model error.
    builder.add_node("synthesize", make_synthesize(workers))
    builder.add_edge(START, "plan")
    fan_out = on_the_loop(assign_workers)  # named first: mypy then types it as the edge, not as the wider parameter
    builder.add_conditional_edges("plan", fan_out, [*workers, "synthesize"])
    builder.add_edge("synthesize", END)
    return builder


builder = build_orchestrator()
graph = builder.compile(name="orchestrator")
