"""What an eval declares (`Suite`), and the helpers every eval's checks and report share."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphs.cli.options import UsageError

SETS = Path(__file__).parent.parent / "evalsets"
"""The labelled sets shipped with the package."""
SPLITS = ("dev", "heldout")
"""The halves of a shipped set: rules and registry texts are written against `dev`; `heldout` measures them."""
ALL = "all"

Item = dict[str, Any]
Report = tuple[dict[str, Any], list[str]]
"""An eval's result: the JSON part (`splits`, `items`, ...) and the lines of the text report."""


@dataclass(frozen=True)
class Suite:
    """What `eval NAME` runs and how it scores it: one per module of this package, as that module's `SUITE`."""

    workflow: str
    """The catalog name of the workflow whose graph runs, as it is wired."""
    summary: str
    """What is scored, for `eval --help` and the report's first line ("the classify node")."""
    data: Path
    """The shipped labelled set."""
    check: Callable[[Item, str], None]
    """Check one labelled item (raise UsageError naming `where`), normalising its labels in place."""
    payload: Callable[[Item], dict[str, Any]]
    """The graph's input for one item."""
    report: Callable[[list[Item], list[dict[str, Any]]], Report]
    """Score the answered items against their final (or stopped) states. Items carry `id` and `split`."""
    fields: tuple[str, ...]
    """The fields a line may have besides `id` and `split`: any other is refused, as a misspelt label would
    otherwise be dropped without a word."""
    stop_after: str | None = None
    """Stop each run after this node, so what follows it costs nothing; None runs the graph to its end."""
    offline_nodes: tuple[str, ...] = ()
    """Nodes that must run for the graph to reach what is scored but are not scored themselves: they run on the
    offline model (no calls paid for, not counted in the cost) unless `--node-model` names a model for them."""


def text_field(item: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    """Return `item[key]`, a non-empty string (or "" when it is absent and not required)."""
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: needs {key!r}, a non-empty string")
    return value


def splits_of(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the splits to report: those present, and `all` when there are several (or items without one)."""
    present = [split for split in SPLITS if any(item["split"] == split for item in items)]
    return [*present, ALL] if len(present) > 1 or any(item["split"] == ALL for item in items) else present


def in_split(split: str, item: Mapping[str, Any]) -> bool:
    """Tell whether an item belongs to the reported split (`all` holds every item)."""
    return split == ALL or item["split"] == split


def indices_in(split: str, items: Sequence[Mapping[str, Any]]) -> list[int]:
    """Return the positions of the items that belong to the reported split."""
    return [n for n, item in enumerate(items) if in_split(split, item)]


def labelled_counts(score: Any) -> str:
    """Format a yes/no score's item count as "total (labelled yes / labelled no)"."""
    return f"{score.total} ({score.labelled_yes} / {score.labelled_no})"


def fraction(value: float | None) -> str:
    """Format a ratio with two decimals, or "-" when it is undefined."""
    return "-" if value is None else f"{value:.2f}"


def precision_recall(score: Any) -> str:
    """Format an object's `precision` and `recall` as "p / r"."""
    return f"{fraction(score.precision)} / {fraction(score.recall)}"


def correct_of(pair: tuple[int, int] | None) -> str:
    """Format a (right, seen) pair as "right/seen"."""
    return "-" if pair is None else f"{pair[0]}/{pair[1]}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lay rows out in left-aligned columns."""
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(len(header))]
    return [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
