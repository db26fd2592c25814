"""Compiled LangGraph workflows, one module per pattern, and the `workflows` command line."""
