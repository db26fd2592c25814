"""The worker registry of the orchestrator graph: a new task type is one entry in WORKERS."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from nodes.backend import SupportBackend
from nodes.text import clip
from state.orchestrator import BillingInquiry, InvoiceConcern, ProductReturn, StatusUpdate

TaskT = TypeVar("TaskT", bound=BaseModel)
AnswerT = TypeVar("AnswerT", bound=BaseModel)

GENERAL_CONCERN = "General inquiry regarding the invoice"
CONCERN_CHARS = 300
"""How much of the customer's concern the case and the email keep."""


class UnusableReply(ValueError):
    """The model's structured reply was unusable (malformed, cut off, off-schema), also when asked again."""


class Ask(Protocol):
    """Ask the worker's chat model for structured output (the node picks the model and records its label)."""

    async def __call__(self, schema: type[AnswerT], system: str, human: str) -> AnswerT:
        """Return the model's answer validated into `schema`, asking once more if the first is unusable.

        Raises UnusableReply when the second answer is unusable too, and llm.ModelCallError when the call
        itself failed (after the model layer's retries).
        """
        ...


@dataclass(frozen=True)
class Job(Generic[TaskT]):
    """Everything a handler gets for one task."""

    task: TaskT
    """The task, validated against the worker's task schema."""
    message: str
    """The customer's whole message, for handlers that need context beyond the task's fields."""
    key: str
    """Stable identity of the task: pass it to backend actions that create something, so they run once."""
    backend: SupportBackend
    ask: Ask


@dataclass(frozen=True)
class Outcome:
    """What a handler did, for the results list and the email."""

    reference: str
    """The id the customer needs (case id, RMA number, order id); the synthesizer checks the email has it."""
    summary: str
    """One line on what was done."""
    details: dict[str, str]
    """Facts for the email, label -> value, in display order."""
    notes: list[str] = field(default_factory=list)
    """What the handler had to work around (such as a model answer it could not read); added to the run's notes."""


@dataclass(frozen=True)
class Worker:
    """One task type: what the planner extracts, and how a worker handles it."""

    label: str
    """Human name used in results and the email, e.g. "Billing Inquiry"."""
    description: str
    """When to plan this task type; shown to the planner."""
    task_schema: type[BaseModel]
    """The task's fields; their descriptions and patterns guide the planner and validate its output."""
    handle: Callable[[Job[Any]], Awaitable[Outcome]]
    """Do the work. Raise on failure: the node retries transient errors, then reports a follow-up."""
    example: str
    """A customer sentence holding one such request (documentation, and the registry contract tests)."""
    identity_fields: tuple[str, ...] = ()
    """The task fields that say which task it is (all of them when empty). Only these, case-folded, go into the
    task's key: a re-sent message whose plan words the rest differently (a return's reason) then finds the
    case or RMA it already has instead of getting a second one."""

    def identity(self, fields: Mapping[str, str]) -> dict[str, str]:
        """Return the fields that identify a task, case-folded and with spaces collapsed."""
        names = self.identity_fields or tuple(fields)
        return {name: " ".join(fields.get(name, "").split()).casefold() for name in names}


BILLING_PROMPT = """You are a specialized billing assistant. The customer's message concerns invoice {invoice_number}, \
possibly among other requests.
Extract the specific concern or question the customer voices about invoice {invoice_number}, in their words.
If they voice no specific concern beyond a general inquiry about the invoice, answer '{general}'."""


async def investigate_invoice(job: Job[BillingInquiry]) -> Outcome:
    """Ask the model what the customer's concern is, then open an investigation case about the invoice."""
    invoice = job.task.invoice_number
    system = BILLING_PROMPT.format(invoice_number=invoice, general=GENERAL_CONCERN)
    concern, notes = GENERAL_CONCERN, []
    try:
        concern = clip((await job.ask(InvoiceConcern, system, job.message)).concern.strip(), CONCERN_CHARS)
    # An unreadable concern must not cost the customer their case: the invoice number alone is enough to open
    # one. A failed call (network, rate limit) propagates, so the node reports a follow-up.
    except UnusableReply as error:
        notes.append(
            f"Could not read the customer's concern about {invoice} from the model, also when asked again "
            f"({error}); opened the case as '{GENERAL_CONCERN}'."
        )
    concern = concern or GENERAL_CONCERN
    case = await job.backend.open_investigation(job.key, invoice, concern)
    return Outcome(
        reference=case.case_id,
        summary=f"Opened investigation case {case.case_id} for invoice {invoice}",
        details={
            "Invoice number": invoice,
            "Your stated concern": concern,
            "Our action": f"An investigation (case ID: {case.case_id}) has been opened regarding your concern.",
            "Expected resolution": f"We will get back to you within {case.resolution_eta}.",
        },
        notes=notes,
    )


async def authorize_return(job: Job[ProductReturn]) -> Outcome:
    """Issue an RMA number with shipping instructions."""
    rma = await job.backend.issue_rma(job.key, job.task.product_name, job.task.reason_for_return)
    return Outcome(
        reference=rma.rma_number,
        summary=f"Issued {rma.rma_number} for {rma.product_name} (reason: {rma.reason})",
        details={
            "Product": rma.product_name,
            "Reason for return": rma.reason,
            "Return authorization (RMA)": rma.rma_number,
            "Shipping instructions": rma.shipping_instructions,
        },
    )


async def look_up_order(job: Job[StatusUpdate]) -> Outcome:
    """Look the order up and report its status."""
    order = await job.backend.order_status(job.task.order_id)
    if not order.found:
        return Outcome(
            reference=order.order_id,
            summary=f"Order {order.order_id} was not found",
            details={
                "Order ID": order.order_id,
                "Current status": "We could not find an order with this number; please check it and reply with "
                "the number from your order confirmation.",
            },
        )
    details = {"Order ID": order.order_id, "Current status": order.status}
    if order.carrier != "N/A":
        details["Carrier"] = order.carrier
    if order.tracking_number != "N/A":
        details["Tracking number"] = order.tracking_number
    details["Delivery estimate"] = order.expected_delivery
    return Outcome(reference=order.order_id, summary=f"Order {order.order_id}: {order.status}", details=details)


WORKERS: dict[str, Worker] = {
    "billing_inquiry": Worker(
        label="Billing Inquiry",
        description="A question or complaint about one invoice: a charge, fee, amount, payment or refund on it "
        "(needs the invoice number, like INV-20417).",
        task_schema=BillingInquiry,
        handle=investigate_invoice,
        example="I have a question about invoice INV-4521: I was charged twice.",
        identity_fields=("invoice_number",),
    ),
    "product_return": Worker(
        label="Product Return",
        description="The customer wants to return a product and send it back (needs the product's name and the "
        "reason for the return).",
        task_schema=ProductReturn,
        handle=authorize_return,
        example="I would like to return the 'EasyPrinter 300' because it arrived broken.",
        identity_fields=("product_name",),
    ),
    "status_update": Worker(
        label="Status Update",
        description="Where an order is: its status, updates on it, shipping, tracking or delivery (needs the order id, "
        "like B-40213).",
        task_schema=StatusUpdate,
        handle=look_up_order,
        example="Can you give me an update on my order A-20001?",
        identity_fields=("order_id",),
    ),
}
"""Registry key -> worker. The key is the task `kind` the planner answers with and the worker's node name."""
