"""`python -m graphs.cli`: the same as the `workflows` command."""

from graphs.cli.commands import entry_point

entry_point()
