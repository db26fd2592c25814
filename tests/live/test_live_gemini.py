"""Calls the real Gemini API: run with `pytest -m live` and a GOOGLE_API_KEY; skipped otherwise."""

import os

import pytest

from graphs.routing import graph
from state.context import Context

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("GOOGLE_API_KEY"), reason="needs GOOGLE_API_KEY and internet"),
]


@pytest.fixture(autouse=True)
def no_key() -> None:
    """Override the suite's keyless fixture: live tests need the real key."""


@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("My internet connection is not working.", "Technical Support"),
        ("I think there is a mistake on my last invoice.", "Billing Inquiry"),
        ("What are your opening hours?", "General Question"),
    ],
)
async def test_gemini_routes_the_lesson_queries(query: str, intent: str) -> None:
    result = await graph.ainvoke({"query": query}, context=Context(model="gemini-2.5-flash"))
    assert result["intent"] == intent
    assert result["reply"]
