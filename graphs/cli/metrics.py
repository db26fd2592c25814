"""Scores for `workflows eval` (pure functions): routes, plans and yes/no verdicts against labelled answers."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nodes.text import content_words

NAME_MATCH = 0.5
"""Two free-text values (product names) name the same thing when more than this share of their words agree."""


def ratio(part: int, whole: int) -> float | None:
    """Return part / whole, or None when there is nothing to divide (no prediction made, no example given)."""
    return part / whole if whole else None


# --- Routing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routed:
    """One labelled query and the route the router chose for it."""

    expected: str
    predicted: str
    accepted: frozenset[str] = frozenset()
    """Other routes that also count as right (an out-of-scope question answered as a general one)."""
    category: str = ""

    @property
    def correct(self) -> bool:
        """Whether the router chose the expected route or an accepted one."""
        return self.predicted == self.expected or self.predicted in self.accepted

    @property
    def credited(self) -> str:
        """The route counted for precision and recall: an accepted route counts as the expected one."""
        return self.expected if self.correct else self.predicted


@dataclass(frozen=True)
class LabelScore:
    """Precision and recall of one route (None when undefined: never predicted, or never expected)."""

    precision: float | None
    recall: float | None
    support: int
    """How many queries expect this route."""


@dataclass(frozen=True)
class RoutingScore:
    """How well a router did on a set of labelled queries."""

    total: int
    correct: int
    accuracy: float | None
    fallback_rate: float | None
    """Share of queries sent to the fallback route, right or wrong."""
    per_label: dict[str, LabelScore]
    confusion: dict[str, dict[str, int]]
    """Expected route -> predicted route -> count (raw predictions, accepted alternatives shown as they are)."""
    by_category: dict[str, tuple[int, int]]
    """Category -> (correct, total)."""


def score_routes(items: Sequence[Routed], labels: Sequence[str], fallback: str) -> RoutingScore:
    """Score routed queries: accuracy, per-route precision and recall, a confusion matrix, the fallback rate."""
    correct = sum(item.correct for item in items)
    per_label = {}
    for label in labels:
        hits = sum(1 for item in items if item.credited == label == item.expected)
        chosen = sum(1 for item in items if item.credited == label)
        support = sum(1 for item in items if item.expected == label)
        per_label[label] = LabelScore(ratio(hits, chosen), ratio(hits, support), support)
    confusion = {label: dict.fromkeys(labels, 0) for label in labels}
    for item in items:
        row = confusion.setdefault(item.expected, dict.fromkeys(labels, 0))
        row[item.predicted] = row.get(item.predicted, 0) + 1
    by_category: dict[str, tuple[int, int]] = {}
    for item in items:
        right, seen = by_category.get(item.category, (0, 0))
        by_category[item.category] = (right + item.correct, seen + 1)
    return RoutingScore(
        total=len(items),
        correct=correct,
        accuracy=ratio(correct, len(items)),
        fallback_rate=ratio(sum(item.predicted == fallback for item in items), len(items)),
        per_label=per_label,
        confusion=confusion,
        by_category=by_category,
    )


# --- Plans ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One task of a plan, or of its labelled answer: a kind and its fields."""

    kind: str
    fields: Mapping[str, str]
    handled: bool = True
    """False for a request the plan could not give a worker (its `unhandled` list): only its `request` is known."""

    def describe(self) -> str:
        """Return the task as one short line, e.g. "status_update order_id=A-12345"."""
        shown = ", ".join(f"{name}={value}" for name, value in self.fields.items())
        return f"{self.kind} {shown}".strip() if self.handled else f"unhandled {self.kind}: {shown}".strip()


@dataclass(frozen=True)
class TaskRules:
    """What makes two tasks the same, per task kind."""

    identity: Mapping[str, tuple[str, ...]]
    """Kind -> the fields that say which task it is (a worker's identity fields)."""
    ids: Mapping[str, frozenset[str]]
    """Kind -> its fields that hold ids (those with a pattern): compared exactly and counted as ids."""
    unhandled_kind: str
    """The kind of a request no worker takes: matched by words against anything the plan could not handle."""


def same_id(a: str, b: str) -> bool:
    """Tell whether two ids are the same, ignoring a leading '#', surrounding spaces and case."""
    return a.strip().lstrip("#").strip().casefold() == b.strip().lstrip("#").strip().casefold()


def same_name(a: str, b: str) -> bool:
    """Tell whether two free-text values name the same thing: they share most of their content words."""
    left, right = content_words(a), content_words(b)
    if not left or not right:
        return a.strip().casefold() == b.strip().casefold()
    return len(left & right) / len(left | right) > NAME_MATCH


def same_task(expected: Task, predicted: Task, rules: TaskRules) -> bool:
    """Tell whether a planned task is the labelled one: same kind and identity, or the same unhandled request."""
    if expected.kind == rules.unhandled_kind:
        if predicted.handled:
            return False
        return bool(
            content_words(expected.fields.get("request", "")) & content_words(predicted.fields.get("request", ""))
        )
    if not predicted.handled or predicted.kind != expected.kind:
        return False
    ids = rules.ids.get(expected.kind, frozenset())
    for name in rules.identity.get(expected.kind) or tuple(expected.fields):
        want, got = expected.fields.get(name, ""), predicted.fields.get(name, "")
        if not (same_id(want, got) if name in ids else same_name(want, got)):
            return False
    return True


@dataclass(frozen=True)
class PlanOutcome:
    """One labelled message and how its plan compares."""

    message: str
    expected: list[Task]
    predicted: list[Task]
    matched: list[tuple[Task, Task]] = field(default_factory=list)
    """(expected, predicted) pairs that are the same task."""
    missed: list[Task] = field(default_factory=list)
    """Labelled tasks the plan does not have."""
    extra: list[Task] = field(default_factory=list)
    """Planned tasks the labels do not have."""

    @property
    def exact(self) -> bool:
        """Whether the plan has every labelled task and nothing else."""
        return not self.missed and not self.extra


def compare_plan(message: str, expected: Sequence[Task], predicted: Sequence[Task], rules: TaskRules) -> PlanOutcome:
    """Pair each labelled task with the first unpaired planned task that is the same task."""
    free = list(predicted)
    matched, missed = [], []
    for want in expected:
        found = next((got for got in free if same_task(want, got, rules)), None)
        if found is None:
            missed.append(want)
        else:
            free.remove(found)
            matched.append((want, found))
    return PlanOutcome(message, list(expected), list(predicted), matched, missed, free)


def ids_of(tasks: Sequence[Task], rules: TaskRules) -> list[str]:
    """Return the ids the handled tasks carry, normalised ('#' and case dropped), one per occurrence."""
    return [
        task.fields[name].strip().lstrip("#").strip().casefold()
        for task in tasks
        if task.handled
        for name in sorted(rules.ids.get(task.kind, frozenset()))
        if task.fields.get(name)
    ]


@dataclass(frozen=True)
class PlanScore:
    """How well a planner did on a set of labelled messages."""

    messages: int
    exact_plans: int
    task_precision: float | None
    task_recall: float | None
    id_precision: float | None
    id_recall: float | None
    ids_not_in_message: list[str]
    """Ids the plan holds that the customer never wrote (invented or altered)."""
    unhandled_expected: int
    unhandled_named: int
    """Labelled requests no worker takes that the plan kept (as unhandled, so the email names them)."""
    per_kind: dict[str, tuple[int, int, int]]
    """Kind -> (labelled, planned, matched)."""


def score_plans(outcomes: Sequence[PlanOutcome], rules: TaskRules) -> PlanScore:
    """Score compared plans: task- and id-level precision and recall, invented ids, unhandled requests kept."""
    expected = sum(len(o.expected) for o in outcomes)
    predicted = sum(len(o.predicted) for o in outcomes)
    matched = sum(len(o.matched) for o in outcomes)
    id_hits = id_predicted = id_expected = 0
    invented: list[str] = []
    for outcome in outcomes:
        want, got = Counter(ids_of(outcome.expected, rules)), Counter(ids_of(outcome.predicted, rules))
        id_hits += sum((want & got).values())
        id_predicted += sum(got.values())
        id_expected += sum(want.values())
        text = outcome.message.casefold()
        invented += [value for value in got if value not in text]
    per_kind: dict[str, tuple[int, int, int]] = {}
    for outcome in outcomes:
        for tasks, slot in ((outcome.expected, 0), (outcome.predicted, 1), ([m[0] for m in outcome.matched], 2)):
            for task in tasks:
                kind = task.kind if task.handled else rules.unhandled_kind
                counts = list(per_kind.get(kind, (0, 0, 0)))
                counts[slot] += 1
                per_kind[kind] = (counts[0], counts[1], counts[2])
    unhandled = [task for o in outcomes for task in o.expected if task.kind == rules.unhandled_kind]
    named = [want for o in outcomes for want, _ in o.matched if want.kind == rules.unhandled_kind]
    return PlanScore(
        messages=len(outcomes),
        exact_plans=sum(o.exact for o in outcomes),
        task_precision=ratio(matched, predicted),
        task_recall=ratio(matched, expected),
        id_precision=ratio(id_hits, id_predicted),
        id_recall=ratio(id_hits, id_expected),
        ids_not_in_message=invented,
        unhandled_expected=len(unhandled),
        unhandled_named=len(named),
        per_kind=per_kind,
    )


# --- Yes/no verdicts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictScore:
    """How well yes/no verdicts (an answer supported, a screen flagging, a draft sent) match their labels."""

    total: int
    correct: int
    accuracy: float | None
    precision: float | None
    """Of the items given "yes", the share labelled "yes"."""
    recall: float | None
    """Of the items labelled "yes", the share given "yes"."""
    false_yes: int
    """Labelled "no", given "yes" (an unsupported answer passed, a clean message flagged)."""
    false_no: int
    """Labelled "yes", given "no"."""
    labelled_yes: int
    labelled_no: int


def score_verdicts(pairs: Sequence[tuple[bool, bool]]) -> VerdictScore:
    """Score (expected, given) yes/no pairs: accuracy, precision and recall of "yes", and both kinds of error."""
    hits = sum(1 for expected, given in pairs if expected and given)
    given_yes = sum(1 for _, given in pairs if given)
    labelled_yes = sum(1 for expected, _ in pairs if expected)
    correct = sum(1 for expected, given in pairs if expected == given)
    return VerdictScore(
        total=len(pairs),
        correct=correct,
        accuracy=ratio(correct, len(pairs)),
        precision=ratio(hits, given_yes),
        recall=ratio(hits, labelled_yes),
        false_yes=given_yes - hits,
        false_no=labelled_yes - hits,
        labelled_yes=labelled_yes,
        labelled_no=len(pairs) - labelled_yes,
    )
