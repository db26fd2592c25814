"""Compiled LangGraph workflows, one module per pattern, and the catalog of them; `graphs.cli` is the app on top."""
