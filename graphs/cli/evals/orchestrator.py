"""`workflows eval orchestrator`: the planner's `plan` node against labelled tasks.

A line: `{"message": "...", "tasks": [{"kind": "status_update", "order_id": "A-12345"}, {"kind": "other",
"request": "cancel my plan"}]}`, with an optional `split`.
"""

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from graphs.cli.evals.base import SETS, Item, Report, Suite, fraction, in_split, splits_of, table, text_field
from graphs.cli.metrics import PlanScore, Task, TaskRules, compare_plan, score_plans
from graphs.cli.options import UsageError
from nodes.text import clip


def check(item: Item, where: str) -> None:
    """Check a labelled message: every task of a registered kind (or `other`), with the fields its schema takes."""
    from pydantic import ValidationError

    from nodes.orchestrator import OTHER_KIND
    from nodes.workers import WORKERS

    text_field(item, "message", where)
    tasks = item.get("tasks")
    if not isinstance(tasks, list):
        raise UsageError(f"{where}: needs 'tasks', a list of {{'kind': ..., field: value}} objects (may be empty)")
    for task in tasks:
        if not isinstance(task, dict) or "kind" not in task:
            raise UsageError(f"{where}: each task must be an object with a 'kind' and its fields, got {task!r}")
        kind = task["kind"]
        if kind not in (*WORKERS, OTHER_KIND):
            raise UsageError(f"{where}: unknown task kind {kind!r}; kinds: {', '.join([*WORKERS, OTHER_KIND])}")
        if not all(isinstance(value, str) for value in task.values()):
            raise UsageError(f"{where}: task fields must be strings, got {task!r}")
        fields = {name: value for name, value in task.items() if name != "kind"}
        if kind == OTHER_KIND:
            if set(fields) != {"request"} or not fields["request"].strip():
                raise UsageError(f"{where}: an {OTHER_KIND!r} task has one field, 'request', the request in words")
            continue
        # A label the worker's own schema would refuse is a labelling mistake, not a miss of the planner's.
        schema = WORKERS[kind].task_schema
        unknown = set(fields) - set(schema.model_fields)
        if unknown:
            raise UsageError(
                f"{where}: a {kind!r} task has no field {sorted(unknown)[0]!r}; its fields: "
                f"{', '.join(schema.model_fields)}"
            )
        try:
            schema.model_validate(fields)
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(part) for part in problem["loc"])
            raise UsageError(f"{where}: a {kind!r} task's {field!r}: {problem['msg']}") from None


def task_rules() -> TaskRules:
    """Return what makes two tasks the same for the registered workers: identity fields, id (patterned) fields."""
    from nodes.orchestrator import OTHER_KIND
    from nodes.workers import WORKERS

    identity, ids = {}, {}
    for kind, worker in WORKERS.items():
        fields = worker.task_schema.model_json_schema().get("properties", {})
        identity[kind] = worker.identity_fields or tuple(fields)
        ids[kind] = frozenset(name for name, spec in fields.items() if "pattern" in spec)
    identity[OTHER_KIND] = ("request",)
    return TaskRules(identity=identity, ids=ids, unhandled_kind=OTHER_KIND)


def planned_tasks(state: Mapping[str, Any]) -> list[Task]:
    """Return the plan node's tasks in the customer's order, those it could not give a worker included."""
    from nodes.orchestrator import OTHER_KIND

    tasks = [(t["index"], Task(t["kind"], dict(t["fields"]))) for t in state.get("tasks", [])]
    tasks += [
        (u["index"], Task(u["kind"] or OTHER_KIND, {"request": u["request"]}, handled=False))
        for u in state.get("unhandled", [])
    ]
    return [task for _, task in sorted(tasks, key=lambda pair: pair[0])]


def labelled_tasks(item: Mapping[str, Any]) -> list[Task]:
    """Return an item's labelled tasks."""
    return [Task(t["kind"], {k: v for k, v in t.items() if k != "kind"}) for t in item["tasks"]]


def report(items: list[Item], states: list[dict[str, Any]]) -> Report:
    """Score the plans: exact plans, task and id precision and recall, invented ids, unhandled requests kept."""
    rules = task_rules()
    outcomes = [
        compare_plan(item["message"], labelled_tasks(item), planned_tasks(state), rules)
        for item, state in zip(items, states, strict=True)
    ]
    splits = splits_of(items)
    scores: dict[str, PlanScore] = {
        split: score_plans([o for o, item in zip(outcomes, items, strict=True) if in_split(split, item)], rules)
        for split in splits
    }
    rows = [
        ["messages", *(str(scores[s].messages) for s in splits)],
        ["exact plans", *(f"{scores[s].exact_plans}/{scores[s].messages}" for s in splits)],
        ["task precision", *(fraction(scores[s].task_precision) for s in splits)],
        ["task recall", *(fraction(scores[s].task_recall) for s in splits)],
        ["id precision", *(fraction(scores[s].id_precision) for s in splits)],
        ["id recall", *(fraction(scores[s].id_recall) for s in splits)],
        ["ids not in the message", *(str(len(scores[s].ids_not_in_message)) for s in splits)],
        [
            "unhandled requests named",
            *(f"{scores[s].unhandled_named}/{scores[s].unhandled_expected}" for s in splits),
        ],
    ]
    kinds = list(dict.fromkeys(kind for s in splits for kind in scores[s].per_kind))
    rows += [
        [
            f"{kind}: labelled / planned / matched",
            *("/".join(map(str, scores[s].per_kind.get(kind, (0, 0, 0)))) for s in splits),
        ]
        for kind in kinds
    ]
    lines = table(["", *splits], rows)
    unhandled = [(item, o) for item, o in zip(items, outcomes, strict=True) if any(not t.handled for t in o.predicted)]
    if unhandled:
        lines += ["", "Requests the plan could not give a worker (the email names them):"]
        lines += [
            f"  {item['id']} [{item['split']}] " + "; ".join(t.fields["request"] for t in o.predicted if not t.handled)
            for item, o in unhandled
        ]
    wrong = [(item, o) for item, o in zip(items, outcomes, strict=True) if not o.exact]
    if wrong:
        lines += ["", f"Plans that differ from the labels ({len(wrong)}):"]
        for item, o in wrong:
            lines.append(f"  {item['id']} [{item['split']}] {clip(item['message'], 90)}")
            lines += [f"      missed: {t.describe()}" for t in o.missed]
            lines += [f"      extra:  {t.describe()}" for t in o.extra]
    result = {
        "splits": {split: asdict(score) for split, score in scores.items()},
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "exact": o.exact,
                "planned": [asdict(t) for t in o.predicted],
                "missed": [asdict(t) for t in o.missed],
                "extra": [asdict(t) for t in o.extra],
            }
            for item, o in zip(items, outcomes, strict=True)
        ],
    }
    return result, lines


SUITE = Suite(
    workflow="orchestrator",
    summary="the plan node",
    data=SETS / "orchestrator.jsonl",
    check=check,
    payload=lambda item: {"message": item["message"]},
    report=report,
    fields=("message", "tasks"),
    stop_after="plan",
)
