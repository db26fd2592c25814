"""The support backend the workers act on: an interface, and two implementations with sample orders.

Every action that creates something (a case, an RMA, a follow-up) takes the task's stable key and keeps one record
per key, so a retried worker, or a run resumed in another process, gets the same id back instead of creating a
second one. Ids derive from the key (the next free number if another key has it).

- `StoreBackend` keeps its records in a LangGraph store (`runtime.store`): LangGraph Server's own store, or the
  SQLite store the CLI opens beside its thread store, so the records outlive the process, as threads do.
- `LocalBackend` keeps them in memory, bounded: for runs without a store (a plain `ainvoke`, tests).
"""

import hashlib
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from langgraph.store.base import BaseStore

RETURNS_ADDRESS = "Returns Department, 123 Automation Lane, Tech City, TC 98765"
RESOLUTION_DAYS = 2
FOLLOW_UP_WITHIN = "one business day"


class BackendError(Exception):
    """The backend could not do what was asked; `transient` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        """Describe the failure and whether it may pass."""
        super().__init__(message)
        self.transient = transient


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
class FollowUp:
    """A task a person must finish, promised to the customer in the email."""

    follow_up_id: str
    request: str
    """What the customer asked for, as the email describes it."""
    due: str


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

    async def record_follow_up(self, key: str, request: str) -> FollowUp:
        """Record (once per task `key`) that a person will finish a task the workers could not."""
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
"""Digits of a case, RMA or follow-up number: with 5 or 6, two keys are likely to share one after a few hundred."""


def _number(key: str) -> int:
    number: int = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 10**ID_DIGITS
    return number


def _id(prefix: str, number: int) -> str:
    return f"{prefix}-{number:0{ID_DIGITS}d}"


def _case(case_id: str, invoice_number: str, concern: str) -> Case:
    return Case(case_id, invoice_number, concern, f"{RESOLUTION_DAYS} business days")


def _rma(rma_number: str, product_name: str, reason: str) -> ReturnAuthorization:
    instructions = (
        f"Please pack the '{product_name}' securely in its original packaging if possible. "
        f"Include all accessories and manuals. Write the RMA number ({rma_number}) clearly on the "
        f"outside of the package. Ship to: {RETURNS_ADDRESS}."
    )
    return ReturnAuthorization(rma_number, product_name, reason, instructions)


RecordT = TypeVar("RecordT")


class LocalBackend:
    """In-memory backend: one record per key, ids derived from the key, sample orders; bounded in size.

    Long-running processes (a server running many threads) must not grow without bound: past `max_records`
    records of a kind, the oldest are forgotten (their ids can then be reissued). Runs that must remember their
    cases across processes use a store (StoreBackend).
    """

    def __init__(self, orders: dict[str, OrderStatus] | None = None, max_records: int = 10_000) -> None:
        """Start with no records, and the sample orders unless others are given."""
        self.orders = dict(SAMPLE_ORDERS if orders is None else orders)
        self.max_records = max_records
        self.cases: OrderedDict[str, Case] = OrderedDict()
        self.rmas: OrderedDict[str, ReturnAuthorization] = OrderedDict()
        self.follow_ups: OrderedDict[str, FollowUp] = OrderedDict()
        self._owners: OrderedDict[str, str] = OrderedDict()  # id -> the task key it was issued for

    def _new_id(self, prefix: str, key: str) -> str:
        # Derived from the key so a fresh backend gives the same id; a number already issued for another key
        # is a hash collision, and two customers must never share a case or RMA: take the next free number.
        number = _number(key)
        while self._owners.setdefault(_id(prefix, number), key) != key:
            number = (number + 1) % 10**ID_DIGITS
        while len(self._owners) > 3 * self.max_records:
            self._owners.popitem(last=False)
        return _id(prefix, number)

    def _keep(self, records: "OrderedDict[str, RecordT]", key: str, record: RecordT) -> RecordT:
        records[key] = record
        while len(records) > self.max_records:
            records.popitem(last=False)
        return record

    async def open_investigation(self, key: str, invoice_number: str, concern: str) -> Case:
        """Open the case for `key` once; later calls with the same key return it unchanged."""
        # No await between the check and the insert: concurrent workers on one event loop cannot both insert.
        if key in self.cases:
            return self.cases[key]
        return self._keep(self.cases, key, _case(self._new_id("CASE", key), invoice_number, concern))

    async def issue_rma(self, key: str, product_name: str, reason: str) -> ReturnAuthorization:
        """Issue the RMA for `key` once; later calls with the same key return it unchanged."""
        if key in self.rmas:
            return self.rmas[key]
        return self._keep(self.rmas, key, _rma(self._new_id("RMA", key), product_name, reason))

    async def record_follow_up(self, key: str, request: str) -> FollowUp:
        """Record the follow-up for `key` once; later calls with the same key return it unchanged."""
        if key in self.follow_ups:
            return self.follow_ups[key]
        follow_up = FollowUp(self._new_id("FU", key), request, FOLLOW_UP_WITHIN)
        return self._keep(self.follow_ups, key, follow_up)

    async def order_status(self, order_id: str) -> OrderStatus:
        """Return the sample order, or a not-found status."""
        return self.orders.get(order_id, OrderStatus(order_id, found=False))


NAMESPACE = ("workflows", "support")


class StoreBackend:
    """Backend whose records live in a LangGraph store, so they outlive the process (a resumed run finds them).

    Records are keyed by task key under ("workflows", "support", KIND); an id's owner is kept under
    ("workflows", "support", "ids") so that a hash collision takes the next free number, as LocalBackend does.
    """

    def __init__(self, store: BaseStore, orders: dict[str, OrderStatus] | None = None) -> None:
        """Keep records in `store`; look orders up in the sample orders unless others are given."""
        self.store = store
        self.orders = dict(SAMPLE_ORDERS if orders is None else orders)

    async def _get(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            item = await self.store.aget((*NAMESPACE, kind), key)
        except Exception as error:  # noqa: BLE001 - any store failure is the backend's; the worker may retry it
            problem = f"the support store could not be read ({type(error).__name__})"
            raise BackendError(problem, transient=True) from error
        return dict(item.value) if item is not None else None

    async def _put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        try:
            await self.store.aput((*NAMESPACE, kind), key, value, index=False)
        except Exception as error:  # noqa: BLE001 - as in _get
            problem = f"the support store could not be written ({type(error).__name__})"
            raise BackendError(problem, transient=True) from error

    async def _new_id(self, prefix: str, key: str) -> str:
        number = _number(key)
        while True:
            candidate = _id(prefix, number)
            owner = await self._get("ids", candidate)
            if owner is None:
                await self._put("ids", candidate, {"key": key})
                return candidate
            if owner.get("key") == key:
                return candidate
            number = (number + 1) % 10**ID_DIGITS

    async def open_investigation(self, key: str, invoice_number: str, concern: str) -> Case:
        """Open the case for `key` once; later calls with the same key (in any process) return it unchanged."""
        found = await self._get("cases", key)
        if found is not None:
            return Case(**found)
        case = _case(await self._new_id("CASE", key), invoice_number, concern)
        await self._put("cases", key, asdict(case))
        return case

    async def issue_rma(self, key: str, product_name: str, reason: str) -> ReturnAuthorization:
        """Issue the RMA for `key` once; later calls with the same key (in any process) return it unchanged."""
        found = await self._get("rmas", key)
        if found is not None:
            return ReturnAuthorization(**found)
        rma = _rma(await self._new_id("RMA", key), product_name, reason)
        await self._put("rmas", key, asdict(rma))
        return rma

    async def record_follow_up(self, key: str, request: str) -> FollowUp:
        """Record the follow-up for `key` once; later calls with the same key (in any process) return it."""
        found = await self._get("follow_ups", key)
        if found is not None:
            return FollowUp(**found)
        follow_up = FollowUp(await self._new_id("FU", key), request, FOLLOW_UP_WITHIN)
        await self._put("follow_ups", key, asdict(follow_up))
        return follow_up

    async def order_status(self, order_id: str) -> OrderStatus:
        """Return the sample order, or a not-found status."""
        return self.orders.get(order_id, OrderStatus(order_id, found=False))
