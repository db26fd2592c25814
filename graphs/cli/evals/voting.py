"""`workflows eval voting`: the judges' votes on labelled answers, and the verdict of every rule on those votes.

A line: `{"answer": "...", "label": "supported"}` (or "not supported": the documents do not state all of it, or
the answer's `sources` do not), with optional `question`, `sources` (titles of the documents it cites),
`documents` (`[{"title": ..., "content": ...}]`; the lesson's three pages when absent), `kind` (what sort of
answer it is, reported per kind), `domain` and `split`.

Each answer is put to the judges once. The tally is a pure function of the votes and the rule, so every rule of
`nodes.voting.RULES` is applied to the same votes: the rules are compared on identical ballots, at the cost of one
run.
"""

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from graphs.cli.evals.base import (
    SETS,
    Item,
    Report,
    Suite,
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
from nodes.text import clip

LABELS = {"supported": True, "not supported": False}


def check(item: Item, where: str) -> None:
    """Check a labelled answer: its label, and documents and sources the graph would accept."""
    from nodes.documents import DocumentError, check_documents, lesson_documents

    text_field(item, "answer", where)
    text_field(item, "question", where, required=False)
    label = item.get("label")
    if not isinstance(label, str) or label.casefold() not in LABELS:
        raise UsageError(f"{where}: needs 'label', one of {', '.join(map(repr, LABELS))}, got {label!r}")
    item["label"] = label.casefold()
    for key in ("kind", "domain"):
        if key in item:
            text_field(item, key, where)
    documents = item.get("documents")
    if documents is not None:
        if not isinstance(documents, list) or not all(isinstance(doc, dict) for doc in documents):
            raise UsageError(f"{where}: 'documents' must be a list of {{'title': ..., 'content': ...}} objects")
        try:
            item["documents"] = check_documents(documents)
        except DocumentError as error:
            raise UsageError(f"{where}: {error}") from None
    sources = item.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(title, str) for title in sources):
        raise UsageError(f"{where}: 'sources' must be a list of document titles")
    titles = {doc["title"] for doc in item.get("documents") or lesson_documents()}
    unknown = [title for title in sources if title not in titles]
    if unknown:
        raise UsageError(f"{where}: sources must be titles of the item's documents; unknown: {', '.join(unknown)}")


def payload(item: Item) -> dict[str, Any]:
    """Return the voting graph's input for an item (the rule is left at its default: every rule is applied later)."""
    return {key: item[key] for key in ("answer", "question", "sources", "documents") if key in item}


async def _verdicts(states: Sequence[dict[str, Any]]) -> list[dict[str, bool]]:
    """Apply every registered rule to each run's votes, with the graph's own tally."""
    from nodes.judges import JUDGES
    from nodes.voting import RULES, make_tally

    tally = make_tally(JUDGES)
    return [
        {rule: bool((await tally({**state, "rule": rule}))["supported"]) for rule in RULES}  # type: ignore[typeddict-item]
        for state in states
    ]


def report(items: list[Item], states: list[dict[str, Any]]) -> Report:
    """Score every rule's verdict, the judges one by one, their agreement, and where the rules part ways."""
    verdicts = asyncio.run(_verdicts(states))
    rules = list(verdicts[0]) if verdicts else []
    expected = [LABELS[item["label"]] for item in items]
    judges = list(dict.fromkeys(vote["judge"] for state in states for vote in state.get("votes", [])))
    splits = splits_of(items)
    members = {split: indices_in(split, items) for split in splits}

    by_rule: dict[str, dict[str, VerdictScore]] = {
        split: {rule: score_verdicts([(expected[n], verdicts[n][rule]) for n in members[split]]) for rule in rules}
        for split in splits
    }
    by_judge: dict[str, dict[str, VerdictScore]] = {}
    failed: dict[str, dict[str, int]] = {}
    for split in splits:
        by_judge[split], failed[split] = {}, {}
        for judge in judges:
            ballots = [(n, _vote(states[n], judge)) for n in members[split]]
            by_judge[split][judge] = score_verdicts(
                [
                    (expected[n], vote["status"] == "supported")
                    for n, vote in ballots
                    if vote and vote["status"] != "failed"
                ]
            )
            failed[split][judge] = sum(1 for _, vote in ballots if vote is None or vote["status"] == "failed")
    agreement = {split: [float(states[n].get("agreement", 0.0)) for n in members[split]] for split in splits}
    yes_votes = {
        split: Counter(sum(v["status"] == "supported" for v in states[n].get("votes", [])) for n in members[split])
        for split in splits
    }
    differ = {
        split: {
            f"{a} / {b}": sum(verdicts[n][a] != verdicts[n][b] for n in members[split])
            for i, a in enumerate(rules)
            for b in rules[i + 1 :]
        }
        for split in splits
    }
    kinds = list(dict.fromkeys(item.get("kind", "") for item in items if item.get("kind")))

    rows = [["answers (supported / not)", *(f"{_count(by_rule[s], rules)}" for s in splits)]]
    for rule in rules:
        rows += [
            [
                f"{rule}: accuracy",
                *(f"{fraction(by_rule[s][rule].accuracy)} ({by_rule[s][rule].correct})" for s in splits),
            ],
            [f"{rule}: supported precision / recall", *(precision_recall(by_rule[s][rule]) for s in splits)],
            [
                f"{rule}: unsupported passed / supported failed",
                *(f"{by_rule[s][rule].false_yes} / {by_rule[s][rule].false_no}" for s in splits),
            ],
        ]
    rows += [
        [f"rules differ: {pair}", *(str(differ[s][pair]) for s in splits)]
        for pair in (differ[splits[0]] if splits else {})
    ]
    rows.append(["mean agreement", *(fraction(sum(a) / len(a) if a else None) for a in agreement.values())])
    rows.append(
        [
            f"supported votes of {len(judges)}: answers",
            *(" ".join(f"{k}:{yes_votes[s][k]}" for k in range(len(judges) + 1)) for s in splits),
        ]
    )
    for judge in judges:
        rows.append(
            [
                f"judge {judge}: accuracy, failed",
                *(f"{fraction(by_judge[s][judge].accuracy)}, {failed[s][judge]}" for s in splits),
            ]
        )
    for kind in kinds:
        rows.append(
            [
                f"kind {kind}: right by " + "/".join(rules),
                *(
                    "/".join(
                        str(sum(verdicts[n][rule] == expected[n] for n in members[s] if items[n].get("kind") == kind))
                        for rule in rules
                    )
                    + f" of {sum(items[n].get('kind') == kind for n in members[s])}"
                    for s in splits
                ),
            ]
        )
    lines = table(["", *splits], rows)
    wrong = [n for n in range(len(items)) if any(verdicts[n][rule] != expected[n] for rule in rules)]
    if wrong:
        lines += ["", f"Answers some rule got wrong ({len(wrong)}; verdicts {'/'.join(rules)}, y = supported):"]
        for n in wrong:
            item = items[n]
            marks = "/".join("y" if verdicts[n][rule] else "n" for rule in rules)
            votes = " ".join(f"{v['judge']}={_short(v)}" for v in states[n].get("votes", []))
            lines.append(
                f"  {item['id']} [{item['split']}] {item['label']}, {item.get('kind', '-')}: {marks}  ({votes})"
                f"  {clip(item['answer'], 60)}"
            )
    result = {
        "rules": rules,
        "splits": {
            split: {
                "rules": {rule: asdict(score) for rule, score in by_rule[split].items()},
                "judges": {
                    judge: {**asdict(score), "failed": failed[split][judge]} for judge, score in by_judge[split].items()
                },
                "mean_agreement": sum(agreement[split]) / len(agreement[split]) if agreement[split] else None,
                "supported_votes": {str(k): yes_votes[split][k] for k in range(len(judges) + 1)},
                "rules_differ": differ[split],
            }
            for split in splits
        },
        "items": [
            {
                "id": item["id"],
                "split": item["split"],
                "kind": item.get("kind", ""),
                "expected": item["label"],
                "verdicts": {rule: "supported" if verdicts[n][rule] else "not supported" for rule in rules},
                "agreement": states[n].get("agreement"),
                "votes": [
                    {key: vote[key] for key in ("judge", "status", "score")} for vote in states[n].get("votes", [])
                ],
            }
            for n, item in enumerate(items)
        ],
    }
    return result, lines


def _vote(state: dict[str, Any], judge: str) -> dict[str, Any] | None:
    return next((vote for vote in state.get("votes", []) if vote["judge"] == judge), None)


def _short(vote: dict[str, Any]) -> str:
    return "failed" if vote["status"] == "failed" else f"{vote['score']:.2f}"


def _count(scores: dict[str, VerdictScore], rules: list[str]) -> str:
    return labelled_counts(scores[rules[0]]) if rules else "-"


SUITE = Suite(
    workflow="voting",
    summary="the judges' votes and every rule's verdict on them",
    data=SETS / "voting.jsonl",
    check=check,
    payload=payload,
    report=report,
    fields=("question", "answer", "label", "sources", "documents", "kind", "domain"),
)
