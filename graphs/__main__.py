"""`python -m graphs`: the same as the `workflows` command."""

from graphs.cli import entry_point

entry_point()
