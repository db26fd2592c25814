"""At a 20% fault rate every run of every workflow finishes; at 50%, at least 90% do. No run ends in a traceback.

Through the real Gemini client against the local server injecting 429s (with Retry-After), 503s and HTML pages
instead of JSON. Retries wait at most a millisecond here (the `fast_retries` fixture keeps the policy, five tries,
and shortens the waits); `python benchmarks/fault_rates.py` prints the same figures with the real waits.
"""

import pytest

from graphs.catalog import WORKFLOWS
from nodes.llm.retry import RetrySettings
from tests.fakes import outcomes_under_faults

pytestmark = pytest.mark.faults
RUNS = 10


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_at_a_20_percent_fault_rate_every_run_finishes(name: str, fast_retries: RetrySettings) -> None:
    outcome = await outcomes_under_faults(name, 0.2, RUNS, seed=20)
    assert outcome.faults > 0, "faults were injected"
    assert outcome.failed == [], outcome.failed
    assert outcome.finished == RUNS


@pytest.mark.parametrize("name", WORKFLOWS)
async def test_at_a_50_percent_fault_rate_nine_runs_in_ten_finish(name: str, fast_retries: RetrySettings) -> None:
    outcome = await outcomes_under_faults(name, 0.5, RUNS, seed=50)
    assert outcome.faults > outcome.requests / 4
    assert outcome.finished >= 0.9 * RUNS, outcome.failed
