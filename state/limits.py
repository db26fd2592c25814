"""Input limits the command line checks before any graph runs, apart from the schemas so it need not load pydantic."""

DEFAULT_QUESTIONS = 10
"""FAQ items the FAQ graphs ask for when the input names no `num_questions`."""
MAX_QUESTIONS = 50
"""Each question costs two model calls in the chain; past this a run is more likely a typo than a plan."""
