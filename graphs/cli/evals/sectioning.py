"""`workflows eval sectioning`: each screen's verdict and the send/hold decision on labelled customer messages.

A line: `{"query": "...", "screens": ["prompt_injection"]}`: the keys of the screens (`nodes/screens.py`) that
should flag the message, `[]` for one that should be answered; optional `accept` (screens that may flag it or
not: neither counted right nor wrong for that screen, e.g. out of scope on an insult), `documents` (what is in
scope; the lesson's three pages when absent), `category` and `split`. A new screen is scored once labels name it.

The graph runs to its end, because the draft runs beside the screens in the same step (no run can stop before
one and not the other): the draft runs on the offline model unless `--node-model draft=...` names another, so it
costs no calls, and `decide`'s send or hold is scored as wired.
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
    indices_in,
    labelled_counts,
    precision_recall,
    splits_of,
    table,
    text_field,
)
from graphs.cli.metrics import VerdictScore, score_verdicts
from graphs.cli.options import UsageError
from nodes.screens import SCREENS
from nodes.text import clip


def check(item: Item, where: str) -> None:
    """Check a labelled message: screen keys of the registry, and documents the graph would accept."""
    from nodes.documents import DocumentError, check_documents

    text_field(item, "query", where)
    screens = item.get("screens")
    if not isinstance(screens, list):
        raise UsageError(f"{where}: needs 'screens', a list of the screens that should flag it (may be empty)")
    accept = item.setdefault("accept", [])
    if not isinstance(accept, list):
        raise UsageError(f"{where}: 'accept' must be a list of screen keys")
    if not all(isinstance(key, str) for key in [*screens, *accept]):
        raise UsageError(f"{where}: 'screens' and 'accept' must be lists of screen keys (text)")
    unknown = [key for key in [*screens, *accept] if key not in SCREENS]
    if unknown:
        raise UsageError(f"{where}: unknown screen {unknown[0]!r}; screens: {', '.join(SCREENS)}")
    if "documents" in item:
        documents = item["documents"]
        if not isinstance(documents, list) or not all(isinstance(doc, dict) for doc in documents):
            raise UsageError(f"{where}: 'documents' must be a list of {{'title': ..., 'content': ...}} objects")
        try:
            item["documents"] = check_documents(documents)
        except DocumentError as error:
            raise UsageError(f"{where}: {error}") from None


def payload(item: Item) -> dict[str, Any]:
    """Return the sectioning graph's input for an item."""
    return {key: item[key] for key in ("query", "documents") if key in item}


def _status(state: dict[str, Any], key: str) -> str:
    return next((r["status"] for r in state.get("screens", []) if r["screen"] == key), "failed")


def report(items: list[Item], states: list[dict[str, Any]]) -> Report:
    """Score each screen (precision and recall of flagging), the send/hold decision, and false holds."""
    splits = splits_of(items)
    members = {split: indices_in(split, items) for split in splits}

    send = [not item["screens"] for item in items]
    sent = [bool(state.get("sent_draft")) for state in states]
    per_screen: dict[str, dict[str, VerdictScore]] = {
        split: {
            key: score_verdicts(
                [
                    (key in items[n]["screens"], _status(states[n], key) == "flagged")
                    for n in members[split]
                    if key not in items[n]["accept"]
                ]
            )
            for key in SCREENS
        }
        for split in splits
    }
    failed = {
        split: {key: sum(_status(states[n], key) == "failed" for n in members[split]) for key in SCREENS}
        for split in splits
    }
    decision = {split: score_verdicts([(send[n], sent[n]) for n in members[split]]) for split in splits}
    categories = list(dict.fromkeys(item.get("category", "") for item in items if item.get("category")))
    by_category = {
        split: {
            c: (
                sum(send[n] == sent[n] for n in members[split] if items[n].get("category") == c),
                sum(items[n].get("category") == c for n in members[split]),
            )
            for c in categories
        }
        for split in splits
    }

    def held_of_clean(score: VerdictScore) -> str:
        rate = score.false_no / score.labelled_yes if score.labelled_yes else None
        return f"{fraction(rate)} ({score.false_no}/{score.labelled_yes})"

    rows = [
        [
            "messages (to send / to hold)",
            *(labelled_counts(decision[s]) for s in splits),
        ],
        ["send/hold right", *(f"{fraction(decision[s].accuracy)} ({decision[s].correct})" for s in splits)],
        ["clean messages held (false holds)", *(held_of_clean(decision[s]) for s in splits)],
        ["messages to hold that were sent", *(f"{decision[s].false_yes}/{decision[s].labelled_no}" for s in splits)],
    ]
    for key in SCREENS:
        rows.append(
            [
                f"{key}: precision / recall",
                *(f"{precision_recall(per_screen[s][key])} ({per_screen[s][key].labelled_yes})" for s in splits),
            ]
        )
        rows.append(
            [
                f"{key}: flagged wrongly, failed",
                *(f"{per_screen[s][key].false_yes}, {failed[s][key]}" for s in splits),
            ]
        )
    rows += [[f"category {c}: decision right", *(correct_of(by_category[s][c]) for s in splits)] for c in categories]
    lines = table(["", *splits], rows)
    flagged_by = [[key for key in SCREENS if _status(state, key) == "flagged"] for state in states]
    wrong = []
    for n, item in enumerate(items):
        judged = set(SCREENS) - set(item["accept"])
        if send[n] != sent[n] or set(flagged_by[n]) & judged != set(item["screens"]) & judged:
            wrong.append((item, flagged_by[n], sent[n]))
    if wrong:
        lines += ["", f"Messages whose screens or decision differ from the labels ({len(wrong)}):"]
        lines += [
            f"  {item['id']} [{item['split']}] {'sent' if was_sent else 'held'}; expected "
            f"{','.join(item['screens']) or 'none'}, flagged {','.join(flagged) or 'none'}: {clip(item['query'], 70)}"
            for item, flagged, was_sent in wrong
        ]
    result = {
        "screens": list(SCREENS),
        "splits": {
            split: {
                "decision": asdict(decision[split]),
                "screens": {
                    key: {**asdict(score), "failed": failed[split][key]} for key, score in per_screen[split].items()
                },
                "by_category": by_category[split],
            }
            for split in splits
        },
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "category": item.get("category", ""),
                "expected": item["screens"],
                "flagged": flagged_by[n],
                "failed": [key for key in SCREENS if _status(states[n], key) == "failed"],
                "sent": sent[n],
                "correct": send[n] == sent[n],
            }
            for n, item in enumerate(items)
        ],
    }
    return result, lines


SUITE = Suite(
    workflow="sectioning",
    summary="each screen's verdict and the send/hold decision (the draft on the offline model)",
    data=SETS / "sectioning.jsonl",
    check=check,
    payload=payload,
    report=report,
    fields=("query", "screens", "accept", "category", "documents"),
    offline_nodes=("draft",),
)
