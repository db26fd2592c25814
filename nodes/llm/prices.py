"""Gemini list prices per million tokens, to turn a run's token counts into money; overridable from a file."""

import json
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nodes.llm.errors import ModelSetupError

PRICES_VARIABLE = "WORKFLOWS_PRICES"
"""Names a JSON or TOML file of prices that replace or add to the table (see `load_prices`)."""
PRICES_DATE = "2026-03"
"""When the table below was checked against Google's Gemini API pricing page (standard tier, text input)."""
LONG_PROMPT = 200_000
"""Prompts above this many tokens are billed at a model's long-prompt rates, where it has them."""


@dataclass(frozen=True)
class Price:
    """What one model charges, in US dollars per million tokens; thinking tokens are billed as output."""

    input: float
    output: float
    input_long: float | None = None
    """Rate for every input token of a prompt over LONG_PROMPT tokens (None: the same as `input`)."""
    output_long: float | None = None
    """Rate for the output of such a prompt (None: the same as `output`)."""

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Return what one call with these counts costs (output_tokens includes thinking tokens)."""
        long = input_tokens > LONG_PROMPT
        per_input = self.input_long if long and self.input_long is not None else self.input
        per_output = self.output_long if long and self.output_long is not None else self.output
        return (input_tokens * per_input + output_tokens * per_output) / 1_000_000


GEMINI_PRICES: dict[str, Price] = {
    "gemini-2.5-pro": Price(1.25, 10.00, input_long=2.50, output_long=15.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini-2.0-flash": Price(0.10, 0.40),
    "gemini-2.0-flash-lite": Price(0.075, 0.30),
    "offline": Price(0.0, 0.0),
}
"""Model name -> list price. A versioned name (gemini-2.5-flash-001, a -preview-...) takes its family's price."""


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:
        raise ModelSetupError(f"{PRICES_VARIABLE}={path}: not a readable JSON or TOML price file ({error})") from None
    if not isinstance(data, dict):
        raise ModelSetupError(f"{PRICES_VARIABLE}={path}: expected a table of model name -> prices")
    return data


def _price(path: Path, model: str, entry: Any) -> Price:
    fields = {"input", "output", "input_long", "output_long"}
    if not isinstance(entry, dict) or not {"input", "output"} <= entry.keys() <= fields:
        raise ModelSetupError(
            f"{PRICES_VARIABLE}={path}: {model!r} needs input and output (and optionally input_long, output_long), "
            "in dollars per million tokens"
        )
    values = {key: entry[key] for key in fields & entry.keys()}
    if not all(
        isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 for value in values.values()
    ):
        raise ModelSetupError(f"{PRICES_VARIABLE}={path}: {model!r} has a price that is not a number >= 0")
    return Price(**{key: float(value) for key, value in values.items()})


@lru_cache(maxsize=8)
def _load(path: str | None) -> tuple[tuple[str, Price], ...]:
    prices = dict(GEMINI_PRICES)
    if path:
        file = Path(path).expanduser()
        prices.update({model: _price(file, model, entry) for model, entry in _read(file).items()})
    return tuple(prices.items())


def load_prices() -> dict[str, Price]:
    """Return the price table with the file named by $WORKFLOWS_PRICES merged over it.

    The file maps model names to `{"input": ..., "output": ...}` (dollars per million tokens; optional
    `input_long` and `output_long` for prompts over 200,000 tokens), in JSON or, for a `.toml` name, TOML.
    An unreadable or malformed file raises ModelSetupError.
    """
    return dict(_load(os.environ.get(PRICES_VARIABLE) or None))


def price_of(model: str | None, prices: dict[str, Price] | None = None) -> Price | None:
    """Return the price of `model` ("models/gemini-2.5-flash-001" finds gemini-2.5-flash), or None if unknown."""
    if not model:
        return None
    table = load_prices() if prices is None else prices
    name = model.rpartition(":")[2].removeprefix("models/")
    if name in table:
        return table[name]
    # The longest family name the model's name starts with: gemini-2.5-flash-lite-001 is flash-lite, not flash.
    families = [family for family in table if name.startswith(f"{family}-")]
    return table[max(families, key=len)] if families else None
