"""Benchmark: how runs of every workflow end when a share of model requests fail.

Run: python benchmarks/fault_rates.py [--runs N] [--real-waits]. Each workflow runs its lesson input through the
real Gemini client against the local test server (tests/fakes.py), which answers a share of requests with a 429
(Retry-After 0.05 s), a 503 or an HTML page instead of JSON. Retries wait at most 1 ms unless --real-waits is
given: how long a retry waits does not change whether the run finishes, only how long it takes.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ is not installed with the package

from graphs.catalog import WORKFLOWS  # noqa: E402
from nodes.llm import retry  # noqa: E402
from tests.fakes import outcomes_under_faults  # noqa: E402

RATES = (0.2, 0.5)


async def main(runs: int, real_waits: bool) -> None:
    """Print one row per workflow and fault rate: how the runs ended and how many faults they met."""
    if not real_waits:
        retry.RETRY = retry.RetrySettings(initial=0.001, maximum=0.001, retry_after_cap=0.001)
    print(f"{runs} runs per workflow and rate; retries: {retry.RETRY.attempts} tries in all per model call")
    header = (
        f"{'workflow':<20} {'faults':>6} {'finished':>9} {'clean':>6} {'degraded':>9} {'failed':>7} {'requests':>9}"
    )
    print(header)
    for rate in RATES:
        for name in WORKFLOWS:
            outcome = await outcomes_under_faults(name, rate, runs, seed=int(rate * 100))
            print(
                f"{name:<20} {rate:>6.0%} {outcome.finished:>4}/{runs:<4} {outcome.clean:>6} {outcome.degraded:>9} "
                f"{len(outcome.failed):>7} {outcome.requests:>9}"
            )
            for line in outcome.failed:
                print(f"    {line}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--real-waits", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.real_waits))
