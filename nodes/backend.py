"""The support backend the workers act on: an interface, and a local deterministic implementation with sample data.

Every action that creates something takes the task's stable key. The local backend derives its ids from that
key (taking the next free number if another key already has it) and keeps one record per key, so a retried
worker (or a run resumed in another process) gets the same case id or RMA number back instead of opening a
second one.
"""

import hashlib
from dataclasses import dataclass
from typing import Protocol

RETURNS_ADDRESS = "Returns Department, 123 Automation Lane, Tech City, TC 98765"
RESOLUTION_DAYS = 2


@dataclass(frozen=True)
class Case:
    """An investigation opened about an invoice."""

    case_id: str
    invoice_number: str
    concern: str
    resolution_eta: str


@dataclass(frozen=True)
class ReturnAuthorization:
    """An RMA issued for a product return."""

    rma_number: str
    product_name: str
    reason: str
    shipping_instructions: str


@dataclass(frozen=True)
class OrderStatus:
    """Where an order is; `found` is False for an order id the backend does not know."""

    order_id: str
    found: bool
    status: str = "Unknown"
    carrier: str = "N/A"
    tracking_number: str = "N/A"
    expected_delivery: str = "N/A"


class SupportBackend(Protocol):
    """What the workers need from the company's systems."""

    async def open_investigation(self, key: str, invoice_number: str, concern: str) -> Case:
        """Open (or return the already opened) investigation case for the task `key`."""
        ...

    async def issue_rma(self, key: str, product_name: str, reason: str) -> ReturnAuthorization:
        """Issue (or return the already issued) return authorization for the task `key`."""
        ...

    async def order_status(self, order_id: str) -> OrderStatus:
        """Look an order up; read-only."""
        ...


SAMPLE_ORDERS: dict[str, OrderStatus] = {
    "A-12345": OrderStatus("A-12345", True, "Shipped", "SuperFast Shipping", "SF182305", "Tomorrow"),
    "A-20001": OrderStatus("A-20001", True, "Processing", "N/A", "N/A", "3-5 business days"),
    "B-31337": OrderStatus("B-31337", True, "Delivered", "Local Courier", "LC48213", "Delivered yesterday"),
    "C-40404": OrderStatus("C-40404", True, "Delayed", "Standard Post", "SP70112", "Expected in 2-3 additional days"),
}
"""Deterministic sample orders; the lesson's A-12345 is among them."""


ID_DIGITS = 8
"""Digits of a case or RMA number: with 5 or 6, two keys are likely to share one after a few hundred ids."""


def _digits(key: str, count: int = ID_DIGITS) -> str:
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return str(number % 10**count).zfill(count)


class LocalBackend:
    """In-memory backend: ids derived from the task key, one record per key, sample orders."""

    def __init__(self, orders: dict[str, OrderStatus] | None = None) -> None:
        """Start with no cases or RMAs, and the sample orders unless others are given."""
        self.orders = dict(SAMPLE_ORDERS if orders is None else orders)
        self.cases: dict[str, Case] = {}
        self.rmas: dict[str, ReturnAuthorization] = {}
        self._owners: dict[str, str] = {}  # id -> the task key it was issued for

    def _new_id(self, prefix: str, key: str) -> str:
        # Derived from the key so a fresh backend gives the same id; a number already issued for another key
        # is a hash collision, and two customers must never share a case or RMA: take the next free number.
        number = int(_digits(key))
        while self._owners.setdefault(f"{prefix}-{number:0{ID_DIGITS}d}", key) != key:
            number = (number + 1) % 10**ID_DIGITS
        return f"{prefix}-{number:0{ID_DIGITS}d}"

    async def open_investigation(self, key: str, invoice_number: str, concern: str) -> Case:
        """Open the case for `key` once; later calls with the same key return it unchanged."""
        # No await between the check and the insert: concurrent workers on one event loop cannot both insert.
        if key not in self.cases:
            self.cases[key] = Case(
                case_id=self._new_id("CASE", key),
                invoice_number=invoice_number,
                concern=concern,
                resolution_eta=f"{RESOLUTION_DAYS} business days",
            )
        return self.cases[key]

    async def issue_rma(self, key: str, product_name: str, reason: str) -> ReturnAuthorization:
        """Issue the RMA for `key` once; later calls with the same key return it unchanged."""
        if key not in self.rmas:
            rma_number = self._new_id("RMA", key)
            instructions = (
                f"Please pack the '{product_name}' securely in its original packaging if possible. "
                f"Include all accessories and manuals. Write the RMA number ({rma_number}) clearly on the "
                f"outside of the package. Ship to: {RETURNS_ADDRESS}."
            )
            self.rmas[key] = ReturnAuthorization(rma_number, product_name, reason, instructions)
        return self.rmas[key]

    async def order_status(self, order_id: str) -> OrderStatus:
        """Return the sample order, or a not-found status."""
        return self.orders.get(order_id, OrderStatus(order_id, found=False))
