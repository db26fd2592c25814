"""The `workflows` command line: an app built on the graphs (run, draw, durable threads, compare)."""

from graphs.cli.commands import entry_point, main

__all__ = ["entry_point", "main"]
