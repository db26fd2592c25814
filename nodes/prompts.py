"""Prompts shared by more than one node; per-intent and per-worker prompts live in their registry entries."""

CLASSIFY_SYSTEM = """You are an expert at classifying user intents.

Classify the user's query into one of the following categories:
{menu}

Answer with the category name exactly as written above, and your confidence from 0.0 to 1.0.
If the query fits none of the categories, or fits several equally well, give a confidence below 0.5."""
