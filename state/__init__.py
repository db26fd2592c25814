"""Typed graph state, run context and LLM-output schemas; imports nothing from this project."""
