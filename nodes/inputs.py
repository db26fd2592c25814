"""Checks of the optional numbers a user may give a run (how many FAQ items, how long a summary)."""


def whole_number(value: object, name: str, default: int, low: int = 1, high: int | None = None) -> int:
    """Return `value` checked to be a whole number in range, or `default` when it is absent (None)."""
    if value is None:
        return default
    # bool is an int to Python, and `or default` would turn an explicit 0 into the default without a word.
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"{name} must be a whole number {allowed}, got {value!r}")
    return value
