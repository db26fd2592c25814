"""State and LLM-output schemas of the orchestrator-workers graph."""

import operator
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from state.common import RunInfo

# The id formats of the sample backend. A pattern both guides Gemini and lets the plan reject a value that
# is not an id at all ("my last invoice"), and the offline model finds ids in the text by the same pattern.
# ASCII digits only: `\d` would also take other scripts' digits ("INV-٧٨٩٠"), which no system of ours issues.
INVOICE_NUMBER = r"^INV-[0-9]{4,6}$"
ORDER_ID = r"^[A-Z]-[0-9]{5}$"


class BillingInquiry(BaseModel):
    """A question or complaint about one invoice: a charge, an amount, a fee on a bill."""

    invoice_number: str = Field(
        pattern=INVOICE_NUMBER,
        description="The invoice number exactly as the customer wrote it but without a leading '#', e.g. INV-20417.",
    )


class ProductReturn(BaseModel):
    """The customer wants to return a product they bought and send it back."""

    product_name: str = Field(
        min_length=1,
        max_length=120,
        description="The product's name as the customer wrote it, without quotes or a leading 'my' or 'the', "
        "e.g. Acme Blender 300.",
    )
    reason_for_return: str = Field(
        min_length=1,
        max_length=300,
        description="Why the customer is returning it, in their words, e.g. it arrived damaged; 'not stated' if "
        "they give no reason.",
    )


class StatusUpdate(BaseModel):
    """The customer asks where an order is: its status, shipping, tracking or delivery."""

    order_id: str = Field(
        pattern=ORDER_ID,
        description="The order id exactly as the customer wrote it but without a leading '#', e.g. B-40213.",
    )


class Plan(BaseModel):
    """The planner's verdict (structured output); nodes give `tasks` one schema variant per registered worker."""

    tasks: list[dict[str, Any]] = Field(
        description="One object per separate request in the message, in the order the customer wrote them. "
        "Each has `kind` (one task type from the list in the prompt) and that type's fields."
    )


class InvoiceConcern(BaseModel):
    """What the customer says about one invoice (structured output of the billing worker)."""

    concern: str = Field(
        description="What the customer says is wrong with this invoice, or asks about it, in their own words; "
        "'General inquiry regarding the invoice' if they say nothing specific about it."
    )


class PlannedTask(TypedDict):
    """One valid task of the plan: what a worker receives."""

    index: int
    """Position in the customer's message (0-based); results and the email keep this order."""
    kind: str
    """Registry key of the worker that handles it (also that worker's node name)."""
    fields: dict[str, str]
    """The task's fields, validated against its worker's task schema, as strings; unset optional ones left out."""
    key: str
    """Stable identity of the task (message + kind + fields): backend actions are idempotent on it."""


class UnhandledTask(TypedDict):
    """A planned task no worker can take: unknown type, missing fields, or a value that is not an id."""

    index: int
    kind: str
    """The type the planner named, as it named it (may be empty)."""
    request: str
    """What was asked, in a few words; the email must mention it."""
    reason: str
    """Why it could not be handled, in plain words for the customer's email."""


class WorkerResult(TypedDict):
    """What a worker reports back for one task."""

    index: int
    kind: str
    label: str
    """The task type's human name ("Product Return"), from the same registry entry as `kind`."""
    ok: bool
    """False when the worker still failed after its retries; the email then promises a follow-up."""
    reference: str
    """The id the customer needs (case id, RMA number, order id); the email must contain it."""
    summary: str
    """One line on what was done, e.g. "Opened investigation case CASE-04817263 for invoice INV-7890"."""
    details: dict[str, str]
    """Facts for the email, label -> value, in display order."""


LESSON_MESSAGE = (
    "Hi, I'm writing to you because I have a question about invoice #INV-7890. It seems higher than I expected.\n"
    "Also, I would like to return the 'SuperWidget 5000' I bought because it's not compatible with my system.\n"
    "Finally, can you give me an update on my order #A-12345?"
)
"""The lesson's customer message with three requests: the CLI's default input and the example in Studio's form."""


@with_config(ConfigDict(use_attribute_docstrings=True, json_schema_extra={"examples": [{"message": LESSON_MESSAGE}]}))
class OrchestratorInput(TypedDict):
    """What the user supplies: the message, and who sent it when known."""

    message: str
    """The customer's message, which may hold several requests."""
    customer_id: NotRequired[str]
    """Who sent it (optional): a resent message from the same customer finds the cases it already opened, while
    another customer's identical words get their own. Without it, tasks are kept apart per thread (or per run)."""


class OrchestratorOutput(TypedDict, total=False):
    """What a finished run returns."""

    message: str
    tasks: list[PlannedTask]
    unhandled: list[UnhandledTask]
    results: list[WorkerResult]
    email: str
    models: dict[str, str]
    notes: list[str]


class WorkerState(TypedDict):
    """The `Send` payload of one worker: its task and the message it came from."""

    message: str
    task: PlannedTask


class OrchestratorState(OrchestratorInput, RunInfo, total=False):
    """Everything the orchestrator graph's nodes read and write."""

    tasks: list[PlannedTask]
    unhandled: list[UnhandledTask]
    results: Annotated[list[WorkerResult], operator.add]
    """Workers append in whatever order they finish; readers sort by `index`."""
    email: str
