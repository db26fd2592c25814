"""The evals of `workflows eval`: one module per eval, each declaring a `SUITE`; a new eval is one new module.

Modules are found here by name, so they must stay cheap to import (the parser of every `workflows` command lists
them): import LangGraph, LangChain and the graphs' node modules inside functions.
"""

import importlib
import pkgutil

from graphs.cli.evals.base import Suite

SUITES: dict[str, Suite] = {}
"""Eval name (its module's name) -> what it runs and how it scores it."""

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        SUITES[_module.name] = importlib.import_module(f"{__name__}.{_module.name}").SUITE
