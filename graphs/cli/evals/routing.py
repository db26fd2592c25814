"""`workflows eval routing`: the router's `classify` node against labelled routes.

A line: `{"query": "...", "route": "technical_support"}` (a registry key, its label, or the fallback route), with
optional `accept` (other routes that count as right), `category` and `split`.
"""

from dataclasses import asdict
from typing import Any

from graphs.cli.evals.base import (
    SETS,
    Item,
    Report,
    Suite,
    correct_of,
    fraction,
    in_split,
    precision_recall,
    splits_of,
    table,
    text_field,
)
from graphs.cli.metrics import Routed, RoutingScore, score_routes
from graphs.cli.options import UsageError
from nodes.intents import FALLBACK_ROUTE, INTENTS
from nodes.text import clip


def route_names() -> dict[str, str]:
    """Return every name a label may use for a route (registry key or label, any case) -> the route's key."""
    names = {key.casefold(): key for key in [*INTENTS, FALLBACK_ROUTE]}
    names.update({intent.label.casefold(): key for key, intent in INTENTS.items()})
    return names


def check(item: Item, where: str) -> None:
    """Check a labelled query and turn its route names into registry keys."""
    text_field(item, "query", where)
    names = route_names()
    accepted = item.get("accept", [])
    if not isinstance(accepted, list):
        raise UsageError(f"{where}: 'accept' must be a list of route names, got {accepted!r}")
    for route in [text_field(item, "route", where), *accepted]:
        if not isinstance(route, str) or route.casefold() not in names:
            known = ", ".join([*INTENTS, FALLBACK_ROUTE])
            raise UsageError(f"{where}: unknown route {route!r}; routes: {known}")
    item["route"] = names[item["route"].casefold()]
    item["accept"] = [names[route.casefold()] for route in item.get("accept", [])]


def report(items: list[Item], states: list[dict[str, Any]]) -> Report:
    """Score the routes: accuracy, per-route precision and recall, confusion, fallback rate, per category."""
    labels = [*INTENTS, FALLBACK_ROUTE]
    routed = [
        Routed(item["route"], state.get("route", FALLBACK_ROUTE), frozenset(item["accept"]), item.get("category", ""))
        for item, state in zip(items, states, strict=True)
    ]
    splits = splits_of(items)
    scores: dict[str, RoutingScore] = {
        split: score_routes(
            [r for r, item in zip(routed, items, strict=True) if in_split(split, item)], labels, FALLBACK_ROUTE
        )
        for split in splits
    }
    rows = [
        ["queries", *(str(scores[s].total) for s in splits)],
        ["accuracy", *(f"{fraction(scores[s].accuracy)} ({scores[s].correct})" for s in splits)],
        ["fallback rate", *(fraction(scores[s].fallback_rate) for s in splits)],
    ]
    rows += [
        [f"{label}: precision / recall", *(precision_recall(scores[s].per_label[label]) for s in splits)]
        for label in labels
    ]
    categories = list(dict.fromkeys(item.get("category", "") for item in items if item.get("category")))
    rows += [[f"category {c}", *(correct_of(scores[s].by_category.get(c)) for s in splits)] for c in categories]
    lines = table(["", *splits], rows)
    overall = scores[splits[-1]]
    lines += ["", f"Confusion ({splits[-1]}; rows: expected, columns: predicted):"]
    lines += table(
        ["", *(str(n) for n in range(1, len(labels) + 1))],
        [[f"{n}. {label}", *(str(overall.confusion[label][p]) for p in labels)] for n, label in enumerate(labels, 1)],
    )
    wrong = [(r, item, state) for r, item, state in zip(routed, items, states, strict=True) if not r.correct]
    if wrong:
        lines += ["", f"Wrong routes ({len(wrong)}):"]
        lines += [
            f"  {item['id']} [{item['split']}] {item['route']} -> {r.predicted}"
            f" ({state.get('confidence', 0.0):.2f}): {clip(item['query'], 70)}"
            for r, item, state in wrong
        ]
    result = {
        "splits": {split: asdict(score) for split, score in scores.items()},
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "category": item.get("category", ""),
                "expected": item["route"],
                "predicted": r.predicted,
                "confidence": state.get("confidence"),
                "correct": r.correct,
            }
            for r, item, state in zip(routed, items, states, strict=True)
        ],
    }
    return result, lines


SUITE = Suite(
    workflow="routing",
    summary="the classify node",
    data=SETS / "routing.jsonl",
    check=check,
    payload=lambda item: {"query": item["query"]},
    report=report,
    fields=("query", "route", "accept", "category"),
    stop_after="classify",
)
