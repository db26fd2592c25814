"""Nodes of the orchestrator-workers graph: plan tasks, handle each with its worker, synthesize one email.

The plan is model output, so it is checked before anything acts on it: each task must fit its worker's schema, and
every id and name that identifies it must occur in the customer's own message (a planner can be talked into
looking up someone else's order). Tasks are merged and capped, and so are the requests no worker can handle, so the
email and the notes stay bounded whatever the planner returns. The email is checked in turn: it must name every
reference the workers produced and no id the customer did not write.
"""

import hashlib
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, cast

from langgraph.runtime import Runtime
from pydantic import BaseModel, ValidationError

from nodes import llm, prompts
from nodes.backend import BackendError, LocalBackend, StoreBackend, SupportBackend
from nodes.inputs import read_input
from nodes.text import clip, content_words
from nodes.workers import Job, Outcome, UnusableReply, Worker
from state.common import fresh_run_info, overwrite
from state.context import Context
from state.orchestrator import (
    OrchestratorInput,
    OrchestratorState,
    Plan,
    PlannedTask,
    UnhandledTask,
    WorkerResult,
    WorkerState,
)

OTHER_KIND = "other"
"""The planner's `kind` for a request no worker covers; such tasks go to the "could not handle" list."""
PLAN_UNUSABLE = "The planner's output was not usable, also when asked again"
"""How the plan node's note opens when the planner's output was unusable twice; `synthesize` reads it."""
MAX_TASKS = Context.max_tasks
"""Default cap on tasks worked on per message (Context.max_tasks); the rest are named in one line of the email."""
MAX_UNHANDLED = 5
"""Distinct requests the email lists as not handled; more are summed up in one line."""
MAX_NOTES = 12
"""Notes one node may add; a flood of repeated problems is summed up instead."""
MAX_EMAIL_CHARS = 12_000
"""A longer email from the synthesizer is not sent (a runaway or hostile model); the plain one is."""
REQUEST_CHARS = 120
"""How much of a request the email and notes quote."""
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


def task_key(message: str, kind: str, fields: Mapping[str, str], scope: str = "") -> str:
    """Return the task's stable identity: the same scope, message and task always give the same key, anywhere.

    `scope` says whose task it is (the customer id, else the thread): two customers who send the same words get
    two cases, while a run resumed or replayed on its thread finds the case it opened. `fields` are the ones that
    identify the task (Worker.identity). Model output (the billing concern, the planner's wording of a reason)
    is not part of the key: it may vary between tries.
    """
    canonical = json.dumps(
        {"scope": scope, "message": " ".join(message.split()), "kind": kind, "fields": dict(fields)}, sort_keys=True
    )
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def task_scope(given: Mapping[str, Any], runtime: Runtime[Context] | None) -> str:
    """Return whose tasks these are: the customer id if given, else the thread, else this run alone."""
    customer = str(given.get("customer_id") or "").strip()
    if customer:
        return f"customer:{customer}"
    info = getattr(runtime, "execution_info", None)
    thread = getattr(info, "thread_id", None)
    return f"thread:{thread}" if thread else f"run:{uuid.uuid4().hex}"


def normalized(text: str) -> str:
    """Return `text` in Unicode NFKC form (full-width "ＩＮＶ－７８９０" becomes "INV-7890"), case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def id_patterns(workers: Mapping[str, Worker]) -> list[re.Pattern[str]]:
    """Return the id formats of the registered task types, to find ids in free text (anchors dropped)."""
    found: list[re.Pattern[str]] = []
    for worker in workers.values():
        for schema in llm.json_schema(worker.task_schema).get("properties", {}).values():
            pattern = schema.get("pattern")
            if pattern:
                body = pattern.removeprefix("^").removesuffix("$")
                found.append(re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.ASCII | re.IGNORECASE))
    return found


def foreign_ids(text: str, message: str, patterns: list[re.Pattern[str]]) -> list[str]:
    """Return the ids in `text` that do not occur in the customer's `message`."""
    known = normalized(message)
    return list(dict.fromkeys(m[0] for p in patterns for m in p.finditer(text) if normalized(m[0]) not in known))


_LINK = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"'`*()\[\]]+"  # a web link with its scheme or www.
    r"|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an email address
    # A bare domain ("evil-login.example/verify", "paypal.com.evil.io"), with its path.
    r"|\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}\b(?:/[^\s<>\"'`*()\[\]]*)?",
    re.I,
)
"""A web link, an email address or a domain: somewhere a customer could be sent."""
_SCHEME = re.compile(r"^(?:https?://)?(?:www\.)?", re.I)


def _bare(link: str) -> str:
    """A link as compared: without its scheme, "www.", case, or the punctuation and slash that may end it."""
    return _SCHEME.sub("", link.casefold()).rstrip("/.,;:!?")


def foreign_links(text: str, message: str) -> list[str]:
    """Return the links, domains and email addresses in `text` that do not occur in the customer's `message`.

    A model's text reaches the customer's email; a link it made up (a phishing page an injected message asked
    for) must not, whatever request it rides on. The customer's own link, written with or without its scheme,
    "www." or a closing slash, is theirs.
    """
    known = " ".join(_bare(m[0]) for m in _LINK.finditer(message))
    found = [m[0].rstrip(".,;:!?") for m in _LINK.finditer(text)]
    return list(dict.fromkeys(link for link in found if _bare(link) not in known))


def _occurs(value: str, message: str, is_id: bool) -> bool:
    """Tell whether a task's identifying value is the customer's: an id verbatim, a name word for word."""
    if is_id:
        if not value.isascii():
            return False
        found = re.search(rf"(?<![\w-]){re.escape(normalized(value))}(?![\w-])", normalized(message))
        return found is not None
    words = content_words(unicodedata.normalize("NFKC", value))
    return bool(words) and words <= content_words(unicodedata.normalize("NFKC", message))


def ungrounded(worker: Worker, fields: Mapping[str, str], message: str) -> list[str]:
    """Return the identifying values of a task that do not occur in the message (ids checked verbatim)."""
    properties = llm.json_schema(worker.task_schema).get("properties", {})
    names = worker.identity_fields or tuple(fields)
    return [
        fields[name]
        for name in names
        if name in fields and not _occurs(fields[name], message, is_id="pattern" in properties.get(name, {}))
    ]


def _why_invalid(error: ValidationError) -> str:
    reasons = []
    for problem in error.errors():
        field = str(problem["loc"][0]).replace("_", " ") if problem["loc"] else "task"
        given = problem.get("input")
        if problem["type"] == "missing" or given in ("", None):
            reasons.append(f"the {field} is missing")
        elif problem["type"] == "string_pattern_mismatch":
            reasons.append(f"'{clip(str(given), 40)}' does not look like a valid {field}")
        else:
            reasons.append(f"the {field} is not valid")
    return "; ".join(dict.fromkeys(reasons))


def _tidy(value: Any) -> Any:
    # NFKC: a planner copying a full-width id ("Ａ－２０００１") gives the id it stands for; other scripts' digits
    # stay as they are, and no id pattern (ASCII digits only) accepts them.
    return unicodedata.normalize("NFKC", value).strip().lstrip("#").strip() if isinstance(value, str) else value


def _ids_in_their_case(worker: Worker, values: dict[str, Any]) -> dict[str, Any]:
    """Return `values` with an id written in the other case ("a-12345", "inv-7890") in the case its format gives.

    The customer's "order a-12345" is order A-12345: without this, a planner that copies the id as written (the
    offline one does, and so may Gemini) gets the task refused as "not a valid order id".
    """
    properties = llm.json_schema(worker.task_schema).get("properties", {})
    fixed = dict(values)
    for name, value in values.items():
        pattern = properties.get(name, {}).get("pattern")
        if pattern and isinstance(value, str) and not re.search(pattern, value):
            for cased in (value.upper(), value.lower()):
                if re.search(pattern, cased):
                    fixed[name] = cased
                    break
    return fixed


class _Unhandled:
    """The requests no worker can take, merged when they repeat and capped at MAX_UNHANDLED."""

    def __init__(self, message: str, patterns: list[re.Pattern[str]]) -> None:
        self.message = message
        self.patterns = patterns
        self.items: dict[str, UnhandledTask] = {}
        self.more: list[int] = []
        self.summaries: list[UnhandledTask] = []
        """Lines that sum up requests left out (too many of them); never merged or capped away."""

    def add(self, index: int, kind: str, request: str, reason: str) -> None:
        # Both texts may quote what the planner wrote ("'B-31337' does not look like a valid invoice number").
        for foreign in foreign_ids(f"{request}\n{reason}", self.message, self.patterns):
            request = request.replace(foreign, "[an id not in your message]")
            reason = reason.replace(foreign, "[an id not in your message]")
        # Read after the ids are masked, so a link around a foreign id is still found and masked whole.
        for foreign in foreign_links(f"{request}\n{reason}", self.message):
            request = request.replace(foreign, "[a link not in your message]")
            reason = reason.replace(foreign, "[a link not in your message]")
        request = clip(" ".join(request.split()), REQUEST_CHARS) or "an unnamed request"
        merged = normalized(f"{request}|{reason}")
        if merged in self.items:
            return
        if len(self.items) >= MAX_UNHANDLED:
            self.more.append(index)
            return
        self.items[merged] = {"index": index, "kind": kind, "request": request, "reason": reason}

    def result(self) -> list[UnhandledTask]:
        items = [*self.items.values(), *self.summaries]
        if self.more:
            items.append(
                {
                    "index": self.more[0],
                    "kind": OTHER_KIND,
                    "request": f"{len(self.more)} more request(s)",
                    "reason": "there were too many separate requests in one message",
                }
            )
        return items


def read_plan(
    parsed: Any,
    workers: Mapping[str, Worker],
    message: str,
    scope: str = "",
    max_tasks: int = MAX_TASKS,
) -> tuple[list[PlannedTask], list[UnhandledTask], list[str]]:
    """Split the planner's JSON into valid tasks and unhandled ones; never raise on malformed output.

    A task whose identifying values (an invoice number, an order id, a product name) do not occur in the message
    is dropped with a note and never named to the customer. Repeated tasks are handled once; past `max_tasks`
    tasks and MAX_UNHANDLED unhandled requests the rest are summed up in one line each.
    """
    items = parsed.get("tasks") if isinstance(parsed, dict) else parsed
    if not isinstance(items, list):
        shape = "an object without a 'tasks' list" if isinstance(parsed, dict) else type(parsed).__name__
        return [], [], [f"The planner's output was {shape}, not a task list; asked the customer for details."]
    patterns = id_patterns(workers)
    tasks: list[PlannedTask] = []
    unhandled = _Unhandled(message, patterns)
    notes: list[str] = []
    repeated: Counter[str] = Counter()
    dropped: list[str] = []
    over_cap: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            unhandled.add(index, "", str(item)[:REQUEST_CHARS], "we could not understand it")
            continue
        kind = str(item.get("kind") or "").strip()[:40]
        values = {k: _tidy(v) for k, v in item.items() if k != "kind"}
        shown = ", ".join(clip(str(v), 60) for v in values.values() if v not in ("", None))
        if kind == OTHER_KIND:
            request = str(values.get("request") or shown or "your other request")
            unhandled.add(index, kind, request, "this is not something we can handle here")
            continue
        worker = workers.get(kind)
        if worker is None:
            request = f"{kind} ({shown})" if kind and shown else kind or shown
            unhandled.add(index, kind, request, "we do not handle this kind of request")
            continue
        values = _ids_in_their_case(worker, values)
        try:
            task = worker.task_schema.model_validate(values)
        except ValidationError as error:
            unhandled.add(index, kind, f"{worker.label} ({shown})" if shown else worker.label, _why_invalid(error))
            continue
        # Unset optional fields are left out: str(None) would reach the worker as the text "None".
        fields = {name: str(value) for name, value in task.model_dump(mode="json", exclude_none=True).items()}
        foreign = ungrounded(worker, fields, message)
        if foreign:
            dropped.append(f"{worker.label} ({', '.join(clip(v, 40) for v in foreign)})")
            continue
        key = task_key(message, kind, worker.identity(fields), scope)
        if key in seen:
            repeated[worker.label] += 1
            continue
        seen.add(key)
        if len(tasks) >= max_tasks:
            over_cap.append(f"{worker.label} ({shown})")
            continue
        tasks.append({"index": index, "kind": kind, "fields": fields, "key": key})
    if dropped:
        notes.append(
            f"Dropped {len(dropped)} planned task(s) naming what the customer did not write: "
            f"{clip('; '.join(dropped), 200)}."
        )
    for label, count in repeated.items():
        notes.append(f"The plan repeated a {label} task {count} time(s); handled it once.")
    if over_cap:
        notes.append(f"The plan had more than {max_tasks} tasks; {len(over_cap)} were not worked on.")
        unhandled.summaries.append(
            {
                "index": len(items),
                "kind": OTHER_KIND,
                "request": f"{len(over_cap)} further request(s), starting with: {clip(over_cap[0], 60)}",
                "reason": f"we handle at most {max_tasks} requests per message; please send the rest separately",
            }
        )
    return tasks, unhandled.result(), bounded(notes)


def bounded(notes: list[str]) -> list[str]:
    """Return at most MAX_NOTES notes, repeats merged, each at most 300 characters; say how many were left out."""
    counts = Counter(clip(note, 300) for note in notes)
    merged = [f"{note} (x{count})" if count > 1 else note for note, count in counts.items()]
    if len(merged) <= MAX_NOTES:
        return merged
    return [*merged[: MAX_NOTES - 1], f"... and {len(merged) - MAX_NOTES + 1} more note(s)."]


def _check_plan(parsed: Any) -> Any:
    """Reject a reply that has no task list, so the planner is asked again before anything is planned."""
    items = parsed.get("tasks") if isinstance(parsed, dict) else parsed
    if not isinstance(items, list):
        raise ValueError("the reply has no 'tasks' list")
    return parsed


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
        context = llm.context_of(runtime)
        given, notes = await read_input(state, OrchestratorInput, context)
        message = given.get("message", "").strip()
        # `results` accumulates: an earlier run's results on this thread must not reach this run's email.
        fresh: dict[str, Any] = {"tasks": [], "unhandled": [], "results": overwrite([])}
        if notes:
            fresh["message"] = given["message"]
        if not message:
            return {**fresh, **fresh_run_info(notes=[*notes, "The message was empty, so no tasks were planned."])}
        built = await llm.chat_model(runtime, "plan")
        asked = [("system", system), ("human", prompts.as_data("message", message))]
        reply = await llm.ask_structured(built.model, schema, asked, _check_plan)
        seen = {"plan": built.label}
        if reply.value is None:
            note = f"{PLAN_UNUSABLE} ({reply.problems[-1]})."
            return {**fresh, **fresh_run_info(seen, [*notes, f"{note} Asked the customer for details."])}
        if reply.asked_again:
            notes.append(f"The planner's first output was not usable ({reply.problems[0]}); asked again.")
        scope = task_scope(given, runtime)
        tasks, unhandled, plan_notes = read_plan(reply.value, workers, message, scope, context.max_tasks)
        return {**fresh, "tasks": tasks, "unhandled": unhandled, **fresh_run_info(seen, bounded(notes + plan_notes))}

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


_SHARED_BACKEND = LocalBackend()


def backend_for(runtime: Runtime[Context] | None, backend: SupportBackend | None) -> SupportBackend:
    """Return the backend a worker acts on: the one the graph was built with, else the run's store, else memory."""
    if backend is not None:
        return backend
    store = getattr(runtime, "store", None)
    return StoreBackend(store) if store is not None else _SHARED_BACKEND


def _backend_transient(error: BaseException) -> bool:
    return isinstance(error, BackendError) and error.transient


def _scrubbed(outcome: Outcome, message: str, patterns: list[re.Pattern[str]]) -> tuple[Outcome, list[str]]:
    """Replace ids the customer did not write in what a handler reports (a model may have put them there)."""
    found: list[str] = []

    def scrub(text: str) -> str:
        for foreign in foreign_ids(text, message, patterns):
            found.append(foreign)
            text = text.replace(foreign, "[an id not in your message]")
        return text

    details = {label: scrub(value) for label, value in outcome.details.items()}
    cleaned = Outcome(outcome.reference, scrub(outcome.summary), details, outcome.notes)
    notes = [f"Removed ids the customer did not write from the result: {clip(', '.join(found), 120)}."] if found else []
    return cleaned, notes


def make_worker(
    kind: str, worker: Worker, backend: SupportBackend | None = None, patterns: list[re.Pattern[str]] | None = None
) -> WorkerNode:
    """Build the node that handles one `kind` of task (one Send per task).

    `patterns` are the id formats of every registered task type (id_patterns): ids of those shapes that the
    customer did not write are removed from what the handler reports. Default: this worker's own formats.
    """
    known_ids = id_patterns({kind: worker}) if patterns is None else patterns

    async def work(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
        task = state["task"]
        support = backend_for(runtime, backend)
        used: dict[str, str] = {}
        built: llm.BuiltModel | None = None
        asked_again: list[str] = []

        async def ask(schema: type[AnswerT], system: str, human: str) -> AnswerT:
            nonlocal built
            if built is None:
                built = await llm.chat_model(runtime, kind)
                used[kind] = built.label
            # What a handler asks about is the customer's message: it goes as data, under the handler's own rules.
            asked = [
                ("system", f"{system}\n{prompts.data_rule('message')}"),
                ("human", prompts.as_data("message", human)),
            ]
            reply = await llm.ask_structured(built.model, schema, asked)
            if reply.value is None:
                raise UnusableReply(reply.problems[-1])
            if reply.asked_again:
                asked_again.append(f"the model's first answer was not usable ({reply.problems[0]}); asked again")
            return reply.value

        fields = worker.task_schema.model_validate(task["fields"])
        number = f"The {worker.label} task #{task['index'] + 1}"
        try:
            # Model calls retry inside the model layer; what is retried here is a backend that may recover.
            outcome = await llm.retrying(
                lambda: worker.handle(Job(fields, state["message"], task["key"], support, ask)),
                transient=_backend_transient,
                deadline=llm.deadline_of(runtime),
            )
        # A failed task must not sink its siblings: record a follow-up, and let the email promise it. Only the
        # failures a follow-up can fix are caught here; anything else is a bug and fails the run.
        except (llm.ModelCallError, BackendError, UnusableReply) as error:
            why = llm.describe_error(error) if isinstance(error, llm.ModelCallError) else str(error)
            return await _follow_up(task, worker, support, used, f"{number} failed ({why})")
        outcome, scrubbed = _scrubbed(outcome, state["message"], known_ids)
        notes = [f"{number}: {note}" for note in [*asked_again, *outcome.notes, *scrubbed]]
        return {"results": [_result(task, worker, outcome, ok=True)], "models": used, "notes": bounded(notes)}

    work.__name__ = work.__qualname__ = kind
    work.__doc__ = f"Handle one {worker.label} task."
    return work


async def _follow_up(
    task: PlannedTask, worker: Worker, support: SupportBackend, used: dict[str, str], failure: str
) -> dict[str, Any]:
    facts = {name.replace("_", " ").capitalize(): value for name, value in task["fields"].items()}
    request = f"{worker.label}: " + ", ".join(task["fields"].values())
    try:
        follow_up = await support.record_follow_up(task["key"], request)
    except BackendError as error:
        # Without a record nobody would follow up: do not promise it, ask the customer to write again.
        status = "We could not complete this just now. Please write to us again about it."
        failed = Outcome(
            next(iter(task["fields"].values()), ""), f"Not completed: {status}", {**facts, "Status": status}
        )
        note = f"{failure}; the follow-up could not be recorded either ({error}), so none is promised."
        return {"results": [_result(task, worker, failed, ok=False)], "models": used, "notes": [note]}
    status = f"{FOLLOW_UP} (reference {follow_up.follow_up_id})"
    failed = Outcome(follow_up.follow_up_id, f"Not completed: {status}", {**facts, "Status": status})
    note = f"{failure}; recorded follow-up {follow_up.follow_up_id}, which the email promises."
    return {"results": [_result(task, worker, failed, ok=False)], "models": used, "notes": [note]}


def _point(item: WorkerResult | UnhandledTask, workers: Mapping[str, Worker]) -> str:
    if "ok" in item:
        result = cast(WorkerResult, item)
        lines = [f"Regarding your {result['label']}:"]
        lines += [f"  - {label}: {value}" for label, value in result["details"].items()]
        return "\n".join(lines)
    # A worker's request that lacked a detail can be taken care of once the customer sends it; one no worker
    # handles cannot, and promising it would be untrue.
    then = " Please reply with the details and we will take care of it." if item["kind"] in workers else ""
    return f"A request we could not handle: {item['request']}\n  - Why: {item['reason']}.{then}"


def _must_mention(item: WorkerResult | UnhandledTask) -> str:
    return cast(WorkerResult, item)["reference"] if "ok" in item else item["request"]


def _plain_email(body: str) -> str:
    return f"Dear Customer,\n\n{body}\n\nBest regards,\nCustomer Support"


def ask_for_details(workers: Mapping[str, Worker], *, unhandled: bool = False, unread: bool = False) -> str:
    """Return the reply to a message with no request a worker could act on: it asks for what the workers need.

    `unhandled`: the email has named requests it could not handle, before this paragraph. `unread`: the planner's
    output was not usable, so whether the message held requests is not known.

    What each needs is the "(needs ...)" of its description ("the invoice number, like INV-20417": "the invoice
    number"), so a new worker's details are asked for too; a description without one gives its label.
    """
    needs: list[str] = []
    for worker in workers.values():
        said = re.search(r"\(needs ([^)]+)\)", worker.description)
        # Only the example goes: "the order id, like B-40213, and the new address" still asks for the address.
        need = re.sub(r",?\s*\b(?:like|e\.g\.|such as)\s+[^,]*", "", said.group(1)).strip(" ,") if said else ""
        need = re.sub(r",\s+and\b", " and", need)
        need = need or f"the details of your {worker.label.lower()}"
        if need not in needs:
            needs.append(need)
    listed = ", ".join(needs[:-1]) + f", or {needs[-1]}" if len(needs) > 1 else "".join(needs)
    more = f": {listed}, and what you need?" if listed else " about what you need?"
    if unhandled:
        # After the requests it names as not handled, "no request" would contradict the email itself.
        return f"We could not act on what you asked above. If we can help with something else, could you tell us{more}"
    if unread:
        # The planner failed: saying the message held no request would blame the customer for it.
        return f"Thank you for your message. We could not read its requests just now. Could you tell us{more}"
    return f"Thank you for your message. We could not find a request we can act on in it. Could you tell us more{more}"


def make_synthesize(workers: Mapping[str, Worker]) -> Any:
    """Build the `synthesize` node, which checks the email against the id formats of `workers`."""
    patterns = id_patterns(workers)
    asking = ask_for_details(workers)
    asking_after = ask_for_details(workers, unhandled=True)
    asking_unread = ask_for_details(workers, unread=True)

    def point(item: WorkerResult | UnhandledTask) -> str:
        return _point(item, workers)

    async def synthesize(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Write one email covering every task in the customer's order; check what it names before sending it."""
        items: list[WorkerResult | UnhandledTask] = [*state.get("results", []), *state.get("unhandled", [])]
        items.sort(key=lambda item: item["index"])
        if not any("ok" in item for item in items):
            # Nothing was done, so there is nothing to phrase: a fixed reply is clearer than a model's.
            unhandled = "\n\n".join(point(item) for item in items)
            if unhandled:
                return {"email": _plain_email(f"{unhandled}\n\n{asking_after}")}
            # This run's notes (the plan node starts them afresh) say whether its plan was unusable.
            unread = any(note.startswith(PLAN_UNUSABLE) for note in state.get("notes", []))
            return {"email": _plain_email(asking_unread if unread else asking)}
        points = "\n\n".join(point(item) for item in items)
        plain = _plain_email(points)
        try:
            built = await llm.chat_model(runtime, "synthesize")
            reply = await llm.ask_text(built.model, [("human", prompts.SYNTHESIZE.format(points=points))])
        # The workers' cases and RMAs exist by now: failing the run would hide them from the customer, while the
        # points themselves already make a complete, if plain, email.
        except llm.ModelCallError as error:
            note = f"The synthesizer failed ({llm.describe_error(error)}); sent the points as a plain email."
            return {"email": plain, "notes": [note]}
        models = {"synthesize": built.label}
        email = reply.text
        # What is in the points may be named; what the model added may not: an id from nowhere is someone else's.
        allowed = "\n".join([state.get("message", ""), points])
        problem = (
            (not reply.complete and f"its reply was not usable ({reply.problems[-1]})")
            or (len(email) > MAX_EMAIL_CHARS and f"the email was {len(email):,} characters long")
            or (foreign_ids(email, allowed, patterns) and "it named ids the customer did not write")
            or (foreign_links(email, allowed) and "it gave links or addresses the customer did not write")
        )
        if problem:
            return {"email": plain, "models": models, "notes": [f"Sent the points as a plain email: {problem}."]}
        notes = []
        if reply.problems:
            notes.append(f"The synthesizer's first reply was not usable ({reply.problems[0]}); asked again.")
        missing = [item for item in items if _must_mention(item) not in email]
        if len(missing) == len(items):
            # An email that names nothing it was asked to cover ("0", a refusal, another topic) is no letter to
            # append a P.S. to: the points alone make the better email.
            note = "Sent the points as a plain email: the synthesizer's email named none of them."
            return {"email": plain, "models": models, "notes": [*notes, note]}
        if missing:
            names = ", ".join(_must_mention(item) for item in missing)
            notes.append(f"The synthesizer's email left out {clip(names, 200)}; appended those points.")
            email += "\n\nP.S. So that nothing is missed:\n\n" + "\n\n".join(point(item) for item in missing)
        return {"email": email, "models": models, "notes": notes}

    synthesize.__name__ = synthesize.__qualname__ = "synthesize"
    return synthesize
