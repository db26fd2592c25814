"""What runs used, for the end of `run`, `resume` and `compare`: calls, tokens and cost per node, as text or JSON."""

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from graphs.cli.options import BUDGET_SPENT
from nodes import llm
from nodes.llm import Usage, UsageMeter


def usage_report(meters: Sequence[UsageMeter], earlier: Usage | None = None) -> dict[str, Any]:
    """Sum the meters of one command's runs by node; `earlier` is what the thread used before (resume).

    The result is JSON data: `nodes` (node -> counts), `total`, `models` (node -> model priced), `prices`,
    and `thread_total` when `earlier` is given.
    """
    nodes: dict[str, Usage] = {}
    models: dict[str, str] = {}
    total = Usage()
    for meter in meters:
        for node, usage in meter.by_node.items():
            nodes.setdefault(node, Usage()).add(usage)
            total.add(usage)
        models.update(meter.models)
    report: dict[str, Any] = {
        "nodes": {node: usage.as_dict() for node, usage in nodes.items()},
        "total": total.as_dict(),
        "models": models,
        "prices": llm.prices_note(),
    }
    if earlier is not None:
        thread = Usage()
        thread.add(earlier)
        thread.add(total)
        report["thread_total"] = thread.as_dict()
    return report


def money(cost: float | None) -> str:
    """Show dollars to the micro-dollar, without trailing zeros ("?" when a price was unknown)."""
    return "?" if cost is None else f"${cost:.6f}".rstrip("0").rstrip(".") if cost else "$0"


def render_usage(report: dict[str, Any], runs: int = 1) -> str:
    """Lay a `usage_report` out as a table: one row per node, then the total (a line when no node made a call)."""
    # A resume the budget stopped before its first call: an empty table would look broken.
    lines = _usage_table(report, runs) if report["nodes"] else ["Usage: no model calls in this run."]
    if "thread_total" in report:
        thread = Usage.from_dict(report["thread_total"])
        lines.append(f"The thread so far: {thread.total_tokens:,} tokens, {money(thread.cost)}.")
    return "\n".join(lines)


def _usage_table(report: dict[str, Any], runs: int) -> list[str]:
    rows = [(node, Usage.from_dict(counts)) for node, counts in report["nodes"].items()]
    rows.append(("total" + (f" ({runs} runs)" if runs > 1 else ""), Usage.from_dict(report["total"])))
    header = ("node", "calls", "input", "output", "thinking", "cost")
    cells = [header] + [
        (
            name,
            str(usage.calls) + (f" ({usage.failed_calls} failed)" if usage.failed_calls else ""),
            f"{usage.input_tokens:,}",
            f"{usage.output_tokens:,}",
            f"{usage.thinking_tokens:,}",
            money(usage.cost),
        )
        for name, usage in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.insert(len(lines) - 1, lines[1])
    models = sorted(set(report["models"].values()))
    lines.append(f"Usage: output includes thinking; models {', '.join(models) or 'none'}; {report['prices']}.")
    return lines


def report_budget_stop(
    args: argparse.Namespace,
    stop: llm.BudgetSpent,
    usage: dict[str, Any],
    where: dict[str, Any],
    hint: str,
    workflow: str | None = None,
) -> int:
    """Say that the budget stopped the run and what it used; return the BUDGET_SPENT exit code.

    `where` is the thread and checkpoint to continue from (empty without --thread); `hint` says how to go on;
    `workflow` names what was stopped (default: the `run` command's workflow, `args.name`).
    """
    print(f"workflows: stopped: {llm.redact(str(stop))}.", file=sys.stderr)
    print(hint, file=sys.stderr)
    if args.json:
        name = workflow or args.name
        stopped = {"workflow": name, "status": "stopped", **where, "reason": stop.reason, "usage": usage}
        print(json.dumps(stopped, indent=2, ensure_ascii=False))
    else:
        print(render_usage(usage))
    return BUDGET_SPENT
