"""State and LLM-output schema of the routing graph."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import Fraction, NodeName, RunInfo


class Classification(BaseModel):
    """Classifier verdict (structured output); nodes narrow `intent` to the registered labels."""

    intent: str = Field(description="Exactly one category name from the list in the prompt.")
    confidence: Fraction = Field(
        ge=0.0, le=1.0, description="How sure you are of the category, from 0.0 (guess) to 1.0 (certain)."
    )


LESSON_QUERIES = (
    "My internet connection is not working.",
    "I think there is a mistake on my last invoice.",
    "What are your opening hours?",
)
"""The lesson's three customer queries: the CLI's default inputs and the examples in Studio's input form."""


# Studio builds its input form from this JSON schema: the attribute docstring becomes the field's help text and
# the examples are the lesson's inputs, so the form documents itself.
@with_config(
    ConfigDict(use_attribute_docstrings=True, json_schema_extra={"examples": [{"query": q} for q in LESSON_QUERIES]})
)
class RoutingInput(TypedDict):
    """What the user supplies: the only field in Studio's input form."""

    query: str
    """The customer's message, e.g. "My internet connection is not working."."""


class RoutingOutput(TypedDict, total=False):
    """What a finished run returns."""

    query: str
    intent: str
    """Label of the intent that answered, or the fallback's label."""
    confidence: float
    reply: str
    models: dict[str, str]
    notes: list[str]


class RoutingState(RoutingInput, RunInfo, total=False):
    """Everything the routing graph's nodes read and write."""

    route: Annotated[str, NodeName()]
    """Registry key of the handler node chosen by the classifier (or the fallback's key)."""
    intent: str
    confidence: float
    reply: str
