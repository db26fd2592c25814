"""Nodes of the orchestrator-workers graph: plan tasks, handle each with its worker, synthesize one email."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, cast

from langgraph.runtime import Runtime
from pydantic import BaseModel, ValidationError

from nodes import llm, prompts
from nodes.backend import SupportBackend
from nodes.workers import Job, Outcome, Worker
from state.common import fresh_run_info, overwrite
from state.context import Context
from state.orchestrator import (
    OrchestratorState,
    Plan,
    PlannedTask,
    UnhandledTask,
    WorkerResult,
    WorkerState,
)

OTHER_KIND = "other"
"""The planner's `kind` for a request no worker covers; such tasks go to the "could not handle" list."""
MAX_TASKS = 20
"""Tasks beyond this many in one message are not worked on; the email asks to send them separately."""
WORKER_RETRY = llm.LLM_RETRY
"""Attempts a worker makes before it reports a follow-up; its actions are idempotent, so retrying is safe."""
SYNTHESIZE_RETRY = llm.LLM_RETRY
"""Attempts at the email before `synthesize` sends the plain one; by then cases and RMAs exist, so it never fails."""
FOLLOW_UP = "We could not complete this just now; a member of our team will follow up with you within one business day."

AnswerT = TypeVar("AnswerT", bound=BaseModel)


class WorkerNode(Protocol):
    """A worker node as LangGraph calls it."""

    async def __call__(self, state: WorkerState, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Return the worker's result (and the model it used)."""
        ...


class PlanNode(Protocol):
    """The plan node as LangGraph calls it."""

    async def __call__(self, state: OrchestratorState, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Return the valid tasks, the unhandled ones, and notes."""
        ...


def plan_schema(workers: Mapping[str, Worker]) -> dict[str, Any]:
    """Return the planner's JSON schema: a list of tasks, one object variant per registered worker."""
    variants: list[dict[str, Any]] = []
    for kind, worker in workers.items():
        fields = worker.task_schema.model_json_schema()
        variants.append(
            {
                "title": fields.get("title", kind),
                "description": worker.description,
                "type": "object",
                "properties": {"kind": {"type": "string", "enum": [kind]}, **fields.get("properties", {})},
                "required": ["kind", *fields.get("required", [])],
            }
        )
    variants.append(
        {
            "title": "Other",
            "description": "A request none of the task types above covers.",
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": [OTHER_KIND]},
                "request": {"type": "string", "description": "What the customer asks for, in a few words."},
            },
            "required": ["kind", "request"],
        }
    )
    schema = Plan.model_json_schema()
    schema["properties"]["tasks"]["items"] = {"anyOf": variants}
    return schema


def task_key(message: str, kind: str, fields: Mapping[str, str]) -> str:
    """Return the task's stable identity: the same message and task always give the same key, on any machine.

    `fields` are the ones that identify the task (Worker.identity). The message is part of the key so that a
    resent message finds its case again, while the same invoice raised in a new message gets a new case. Model
    output (such as the billing concern, or the planner's wording of a reason) is not: it may vary between tries.
    """
    canonical = json.dumps({"message": " ".join(message.split()), "kind": kind, "fields": dict(fields)}, sort_keys=True)
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def _why_invalid(error: ValidationError) -> str:
    reasons = []
    for problem in error.errors():
        field = str(problem["loc"][0]).replace("_", " ") if problem["loc"] else "task"
        given = problem.get("input")
        if problem["type"] == "missing" or given in ("", None):
            reasons.append(f"the {field} is missing")
        elif problem["type"] == "string_pattern_mismatch":
            reasons.append(f"'{given}' does not look like a valid {field}")
        else:
            reasons.append(f"the {field} is not valid")
    return "; ".join(dict.fromkeys(reasons))


def _tidy(value: Any) -> Any:
    return value.strip().lstrip("#").strip() if isinstance(value, str) else value


def read_plan(
    parsed: Any, workers: Mapping[str, Worker], message: str
) -> tuple[list[PlannedTask], list[UnhandledTask], list[str]]:
    """Split the planner's JSON into valid tasks and unhandled ones; never raise on malformed output."""
    items = parsed.get("tasks") if isinstance(parsed, dict) else parsed
    if not isinstance(items, list):
        shape = "an object without a 'tasks' list" if isinstance(parsed, dict) else type(parsed).__name__
        return [], [], [f"The planner's output was {shape}, not a task list; asked the customer for details."]
    tasks: list[PlannedTask] = []
    unhandled: list[UnhandledTask] = []
    notes: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            unhandled.append(
                {"index": index, "kind": "", "request": str(item)[:80], "reason": "we could not understand it"}
            )
            continue
        kind = str(item.get("kind") or "").strip()
        values = {k: _tidy(v) for k, v in item.items() if k != "kind"}
        shown = ", ".join(str(v) for v in values.values() if v not in ("", None))
        if kind == OTHER_KIND:
            request = str(values.get("request") or shown or "your other request")
            unhandled.append(
                {"index": index, "kind": kind, "request": request, "reason": "this is not something we can handle here"}
            )
            continue
        worker = workers.get(kind)
        if worker is None:
            request = f"{kind} ({shown})" if kind and shown else kind or shown or "an unnamed request"
            unhandled.append(
                {"index": index, "kind": kind, "request": request, "reason": "we do not handle this kind of request"}
            )
            continue
        try:
            task = worker.task_schema.model_validate(values)
        except ValidationError as error:
            request = f"{worker.label} ({shown})" if shown else worker.label
            unhandled.append({"index": index, "kind": kind, "request": request, "reason": _why_invalid(error)})
            continue
        # Unset optional fields are left out: str(None) would reach the worker as the text "None".
        fields = {name: str(value) for name, value in task.model_dump(mode="json", exclude_none=True).items()}
        key = task_key(message, kind, worker.identity(fields))
        if key in seen:
            notes.append(f"The plan listed the {worker.label} {shown} twice; handled it once.")
            continue
        seen.add(key)
        if len(tasks) == MAX_TASKS:
            unhandled.append(
                {
                    "index": index,
                    "kind": kind,
                    "request": f"{worker.label} ({shown})",
                    "reason": f"we handle at most {MAX_TASKS} requests per message; please send it separately",
                }
            )
            continue
        tasks.append({"index": index, "kind": kind, "fields": fields, "key": key})
    return tasks, unhandled, notes


def _is_json(text: str) -> bool:
    text = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def make_plan(workers: Mapping[str, Worker]) -> PlanNode:
    """Build the `plan` node for a registry of workers."""
    schema = plan_schema(workers)
    menu = "\n".join(
        f'- "{kind}" ({worker.label}): {worker.description} Fields: '
        + ", ".join(f"`{name}`" for name in worker.task_schema.model_fields)
        for kind, worker in workers.items()
    )
    system = prompts.PLAN_SYSTEM.format(menu=menu, other=OTHER_KIND)

    async def plan(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Break the customer's message into typed tasks, one per request, in the customer's order."""
        message = state.get("message", "").strip()
        # `results` accumulates: an earlier run's results on this thread must not reach this run's email.
        fresh = {"tasks": [], "unhandled": [], "results": overwrite([])}
        if not message:
            return {**fresh, **fresh_run_info(notes=["The message was empty, so no tasks were planned."])}
        built = await llm.chat_model(runtime, "plan")
        structured = built.model.with_structured_output(schema, include_raw=True)
        answer = cast(dict[str, Any], await structured.ainvoke([("system", system), ("human", message)]))
        seen = {"plan": built.label}
        parsed, problem = llm.read_structured(answer)
        if parsed is None:
            note = f"The planner's output was not valid JSON ({problem}); asked the customer for details."
            return {**fresh, **fresh_run_info(seen, [note])}
        tasks, unhandled, notes = read_plan(parsed, workers, message)
        raw = getattr(answer["raw"], "text", "")
        if not _is_json(raw):
            # LangChain's JSON parser repairs truncated output; say so, as a cut-off plan may have lost tasks.
            notes.insert(0, f"The planner's output was not valid JSON (raw: {raw[:120]!r}); used what could be read.")
        return {**fresh, "tasks": tasks, "unhandled": unhandled, **fresh_run_info(seen, notes)}

    return plan


def _result(task: PlannedTask, worker: Worker, outcome: Outcome, *, ok: bool) -> WorkerResult:
    return {
        "index": task["index"],
        "kind": task["kind"],
        "label": worker.label,
        "ok": ok,
        "reference": outcome.reference,
        "summary": outcome.summary,
        "details": outcome.details,
    }


def make_worker(kind: str, worker: Worker, backend: SupportBackend) -> WorkerNode:
    """Build the node that handles one `kind` of task (one Send per task)."""

    async def work(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
        task = state["task"]
        used: dict[str, str] = {}

        built: llm.BuiltModel | None = None

        async def ask(schema: type[AnswerT], system: str, human: str) -> AnswerT:
            nonlocal built
            if built is None:
                built = await llm.chat_model(runtime, kind)
                used[kind] = built.label
            answer = await built.model.with_structured_output(schema).ainvoke([("system", system), ("human", human)])
            return schema.model_validate(answer)

        async def handle() -> Outcome:
            # Validated here rather than before the try: fields travel as strings, and a task schema whose
            # fields do not survive that round trip should fail this task, not the run.
            fields = worker.task_schema.model_validate(task["fields"])
            return await worker.handle(Job(fields, state["message"], task["key"], backend, ask))

        try:
            outcome, attempts = await llm.call_with_retries(handle, WORKER_RETRY, llm.fan_out_slots(runtime))
        # A failed task must not sink its siblings: report it, and let the email promise a follow-up.
        except Exception as error:  # noqa: BLE001
            facts = {name.replace("_", " ").capitalize(): value for name, value in task["fields"].items()}
            first_field = next(iter(task["fields"].values()), "")
            failed = Outcome(first_field, f"Not completed: {FOLLOW_UP}", {**facts, "Status": FOLLOW_UP})
            note = (
                f"The {worker.label} task #{task['index'] + 1} failed ({llm.describe_error(error)}); "
                "the email promises a follow-up."
            )
            return {"results": [_result(task, worker, failed, ok=False)], "models": used, "notes": [note]}
        number = f"The {worker.label} task #{task['index'] + 1}"
        notes = [f"{number} succeeded on attempt {attempts}."] if attempts > 1 else []
        notes += [f"{number}: {note}" for note in outcome.notes]
        return {"results": [_result(task, worker, outcome, ok=True)], "models": used, "notes": notes}

    work.__name__ = work.__qualname__ = kind
    work.__doc__ = f"Handle one {worker.label} task."
    return work


def _point(item: WorkerResult | UnhandledTask) -> str:
    if "ok" in item:
        result = cast(WorkerResult, item)
        lines = [f"Regarding your {result['label']}:"]
        lines += [f"  - {label}: {value}" for label, value in result["details"].items()]
        return "\n".join(lines)
    return (
        f"A request we could not handle: {item['request']}\n"
        f"  - Why: {item['reason']}. Please reply with the details and we will take care of it."
    )


def _must_mention(item: WorkerResult | UnhandledTask) -> str:
    return cast(WorkerResult, item)["reference"] if "ok" in item else item["request"]


def _plain_email(body: str) -> str:
    return f"Dear Customer,\n\n{body}\n\nBest regards,\nCustomer Support"


ASK_FOR_DETAILS = (
    "Thank you for your message. We could not find a request we can act on in it. Could you tell us a little "
    "more: the invoice number, the order id, or the product you would like to return, and what you need?"
)


async def synthesize(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write one email covering every task in the customer's order, and check that it names every id."""
    items: list[WorkerResult | UnhandledTask] = [*state.get("results", []), *state.get("unhandled", [])]
    items.sort(key=lambda item: item["index"])
    if not any("ok" in item for item in items):
        # Nothing was done, so there is nothing to phrase: a fixed reply is clearer than a model's.
        unhandled = "\n\n".join(_point(item) for item in items)
        return {"email": _plain_email(f"{unhandled}\n\n{ASK_FOR_DETAILS}" if unhandled else ASK_FOR_DETAILS)}
    points = "\n\n".join(_point(item) for item in items)
    models: dict[str, str] = {}

    async def write() -> str:
        built = await llm.chat_model(runtime, "synthesize")
        models["synthesize"] = built.label
        reply = await built.model.ainvoke([("human", prompts.SYNTHESIZE.format(points=points))])
        return reply.text.strip()

    try:
        email, _ = await llm.call_with_retries(write, SYNTHESIZE_RETRY)
    # The workers' cases and RMAs exist by now: failing the run would hide them from the customer, while the
    # points themselves already make a complete, if plain, email.
    except Exception as error:  # noqa: BLE001
        note = f"The synthesizer failed ({llm.describe_error(error)}); sent the points as a plain email."
        return {"email": _plain_email(points), "models": models, "notes": [note]}
    notes: list[str] = []
    if not email:
        notes.append("The synthesizer replied with empty text; sent the points as a plain email.")
        return {"email": _plain_email(points), "models": models, "notes": notes}
    missing = [item for item in items if _must_mention(item) not in email]
    if missing:
        names = ", ".join(_must_mention(item) for item in missing)
        notes.append(f"The synthesizer's email left out {names}; appended those points.")
        email += "\n\nP.S. So that nothing is missed:\n\n" + "\n\n".join(_point(item) for item in missing)
    return {"email": email, "models": models, "notes": notes}
