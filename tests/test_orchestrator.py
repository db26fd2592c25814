import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field, ValidationError

from graphs.catalog import WORKFLOWS
from graphs.orchestrator import build_orchestrator, graph
from nodes import backend as backend_module
from nodes import llm
from nodes.backend import BackendError, Case, LocalBackend, ReturnAuthorization
from nodes.llm import models
from nodes.llm.errors import ModelSetupError
from nodes.llm.retry import RetrySettings
from nodes.offline import OFFLINE_LABEL, OfflineChatModel
from nodes.orchestrator import FOLLOW_UP, MAX_TASKS, ask_for_details, plan_schema, read_plan, task_key
from nodes.workers import GENERAL_CONCERN, WORKERS, Job, Outcome, Worker
from state.context import Context
from state.orchestrator import LESSON_MESSAGE, ORDER_ID
from tests.conftest import REPO, run_cli
from tests.fakes import GeminiServer, HoldingModel, Reply, ScriptedChatModel

ASK_FOR_DETAILS = ask_for_details(WORKERS)
ASK_AFTER_A_FAILED_PLAN = ask_for_details(WORKERS, unread=True)

OFFLINE = Context(model="offline")
RMA = re.compile(r"RMA-\d{8}")
CASE = re.compile(r"CASE-\d{8}")


async def run(message: str, context: Context = OFFLINE, **build: Any) -> dict[str, Any]:
    compiled = build_orchestrator(**build).compile() if build else graph
    return dict(await compiled.ainvoke({"message": message}, context=context))


def invoice_message(count: int) -> str:
    return " ".join(f"Please check invoice INV-{1000 + n}." for n in range(count))


# --- The lesson's message -------------------------------------------------------------------------------------


async def test_lesson_message_offline_gives_three_tasks_and_an_email_covering_them() -> None:
    backend = LocalBackend()
    result = await run(LESSON_MESSAGE, backend=backend)
    assert [(t["index"], t["kind"], t["fields"]) for t in result["tasks"]] == [
        (0, "billing_inquiry", {"invoice_number": "INV-7890"}),
        (
            1,
            "product_return",
            {"product_name": "SuperWidget 5000", "reason_for_return": "not compatible with my system"},
        ),
        (2, "status_update", {"order_id": "A-12345"}),
    ]
    assert result["unhandled"] == []
    [case] = backend.cases.values()
    [rma] = backend.rmas.values()
    assert case.invoice_number == "INV-7890"
    # The concern is the customer's own words about that invoice: the remark after the sentence naming it.
    assert case.concern in LESSON_MESSAGE and "INV-7890" not in case.concern and case.concern != GENERAL_CONCERN
    email = result["email"]
    assert case.case_id in email
    assert rma.rma_number in email
    assert rma.shipping_instructions in email
    assert "Ship to: Returns Department" in email
    assert "A-12345" in email and "Shipped" in email and "SF182305" in email
    assert email.startswith("Dear Customer,")
    assert result["notes"] == []
    assert result["models"] == {"plan": OFFLINE_LABEL, "billing_inquiry": OFFLINE_LABEL, "synthesize": OFFLINE_LABEL}


async def test_lesson_message_through_the_real_gemini_client(gemini: GeminiServer) -> None:
    backend = LocalBackend()
    result = await run(LESSON_MESSAGE, Context(), backend=backend)  # "auto" picks Gemini: a key is set
    assert [t["fields"] for t in result["tasks"]] == [
        {"invoice_number": "INV-7890"},
        {"product_name": "SuperWidget 5000", "reason_for_return": "not compatible with my system"},
        {"order_id": "A-12345"},
    ]
    email = result["email"]
    assert next(iter(backend.cases.values())).case_id in email
    assert next(iter(backend.rmas.values())).shipping_instructions in email
    assert "A-12345" in email and "Shipped" in email
    assert set(result["models"].values()) == {"google_genai:gemini-2.5-flash"}
    assert len(gemini.requests) == 3, "plan, the billing worker's concern, synthesis"
    plan_config = gemini.requests[0]["body"]["generationConfig"]
    assert plan_config["responseMimeType"] == "application/json"
    variants = plan_config["responseJsonSchema"]["properties"]["tasks"]["items"]["anyOf"]
    assert [v["properties"]["kind"]["enum"] for v in variants] == [[k] for k in WORKERS] + [["other"]]
    assert variants[0]["properties"]["invoice_number"]["pattern"] == r"^INV-[0-9]{4,6}$"


async def test_malformed_gemini_plan_asks_for_details_without_crashing(gemini: GeminiServer) -> None:
    gemini.scripted = ["```json\n{oops", "```json\n{oops"]
    result = await run(LESSON_MESSAGE, Context())
    assert result["tasks"] == [] and result["results"] == []
    # The planner failed, not the customer: the email does not say the message held no request.
    assert ASK_AFTER_A_FAILED_PLAN in result["email"] and "could not find a request" not in result["email"]
    [note] = result["notes"]
    assert "The planner's output was not usable, also when asked again" in note and "Asked the customer" in note
    assert len(gemini.requests) == 2


TRUNCATED_PLAN = '{"tasks": [{"kind": "status_update", "order_id": "A-12345"}, {"kind": "billing_inq'


async def test_a_truncated_plan_is_asked_for_again_not_half_acted_on(scripted: ScriptedChatModel) -> None:
    scripted.replies = [TRUNCATED_PLAN]
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted))
    assert [t["kind"] for t in result["tasks"]] == ["billing_inquiry", "product_return", "status_update"]
    [note] = result["notes"]
    assert note.startswith("The planner's first output was not usable (the JSON was incomplete or malformed")
    scripted.replies = [TRUNCATED_PLAN, TRUNCATED_PLAN]
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted))
    assert result["tasks"] == [] and ASK_AFTER_A_FAILED_PLAN in result["email"], "nothing is done on a partial plan"


async def test_a_plan_cut_off_by_the_token_limit_is_asked_for_again(gemini: GeminiServer) -> None:
    gemini.scripted = [Reply('{"tasks": [{"kind": "status_update", "order_id": "A-12345"}]}', "MAX_TOKENS")]
    result = await run(LESSON_MESSAGE, Context())
    assert len(result["tasks"]) == 3
    assert "cut off at the output token limit (MAX_TOKENS)" in result["notes"][0]


# --- Plan sizes and order -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        (WORKERS["product_return"].example, ["product_return"]),
        (LESSON_MESSAGE, ["billing_inquiry", "product_return", "status_update"]),
        (invoice_message(10), ["billing_inquiry"] * 10),
    ],
    ids=["1 task", "3 tasks", "10 tasks"],
)
async def test_every_planned_task_gets_a_result_and_a_place_in_the_email(message: str, kinds: list[str]) -> None:
    result = await run(message, backend=LocalBackend())
    assert [t["kind"] for t in result["tasks"]] == kinds
    results = result["results"]
    assert sorted(r["index"] for r in results) == list(range(len(kinds)))
    assert all(r["ok"] for r in results)
    references = [r["reference"] for r in sorted(results, key=lambda r: r["index"])]
    assert len(set(references)) == len(kinds)
    positions = [result["email"].index(reference) for reference in references]
    assert positions == sorted(positions), "the email keeps the customer's order"
    assert result["notes"] == []


async def test_ten_invoices_open_ten_distinct_cases() -> None:
    backend = LocalBackend()
    result = await run(invoice_message(10), backend=backend)
    assert sorted(case.invoice_number for case in backend.cases.values()) == [f"INV-{1000 + n}" for n in range(10)]
    for case in backend.cases.values():
        assert case.case_id in result["email"]


def slow_first_worker(finished: list[int]) -> Worker:
    """A worker whose first task waits until the last task is done, so results arrive in reverse order."""
    last_done = asyncio.Event()

    async def handle(job: Job[Any]) -> Outcome:
        position = int(job.task.order_id[-1])
        if position == 1:
            await asyncio.wait_for(last_done.wait(), timeout=10)
        finished.append(position)
        if position == 3:
            last_done.set()
        return Outcome(reference=f"DONE-{position}", summary=f"done {position}", details={"Done": f"DONE-{position}"})

    return Worker(
        label="Status Update",
        description=WORKERS["status_update"].description,
        task_schema=WORKERS["status_update"].task_schema,
        handle=handle,
        example=WORKERS["status_update"].example,
    )


async def test_results_keep_the_customers_order_whatever_order_workers_finish_in() -> None:
    finished: list[int] = []
    message = "Where is order A-00001? Where is order A-00002? Where is order A-00003?"
    result = await run(message, workers={"status_update": slow_first_worker(finished)})
    assert finished[0] != 1 and finished[-1] == 1, "the first task finished last"
    email = result["email"]
    assert email.index("DONE-1") < email.index("DONE-2") < email.index("DONE-3")
    rendered = WORKFLOWS["orchestrator"].render(result)
    assert rendered.index("DONE-1") < rendered.index("DONE-2") < rendered.index("DONE-3")


async def test_workers_call_the_model_concurrently_up_to_max_concurrency() -> None:
    for limit, expected in [(2, 2), (5, 5), (20, 10)]:
        model = HoldingModel(hold_until=expected, held=10)
        result = await run(invoice_message(10), Context(chat_model=model, max_concurrency=limit))
        assert len(result["results"]) == 10 and all(r["ok"] for r in result["results"])
        assert model.peak == expected, limit


# --- Malformed plans ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "note_part"),
    [
        ("this is not JSON at all", "Invalid json output"),
        ("", "Invalid json output"),
        ("42", "no 'tasks' list"),
        ('"INV-7890"', "no 'tasks' list"),
        ('{"steps": []}', "no 'tasks' list"),
        ('{"tasks": "INV-7890"}', "no 'tasks' list"),
    ],
)
async def test_unusable_plan_output_is_asked_again_then_gets_a_polite_reply_and_a_note(
    scripted: ScriptedChatModel, raw: str, note_part: str
) -> None:
    scripted.replies = [raw, raw]
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted))
    assert result["tasks"] == [] and result["results"] == []
    assert ASK_AFTER_A_FAILED_PLAN in result["email"]
    assert any(note_part in note for note in result["notes"]), result["notes"]
    assert len(scripted.prompts) == 2, "the plan twice; no worker or synthesizer call"


async def test_a_plan_with_no_tasks_asks_for_details_without_a_note(scripted: ScriptedChatModel) -> None:
    scripted.replies = ['{"tasks": []}']
    result = await run("Hello there!", Context(chat_model=scripted))
    assert result["email"] == f"Dear Customer,\n\n{ASK_FOR_DETAILS}\n\nBest regards,\nCustomer Support"
    assert result["notes"] == []


async def test_offline_small_talk_plans_nothing() -> None:
    result = await run("Hello there, have a nice day!")
    assert result["tasks"] == [] and ASK_FOR_DETAILS in result["email"]


SEVERAL_REQUESTS = (
    "About INV-7890, 12345 and my last invoice: a 5 EUR refund. Where is A-12345? Lamp X: change my address."
)


@pytest.mark.parametrize(
    ("task", "asked", "reason"),
    [
        ({"kind": "refund", "amount": "5 EUR"}, "refund (5 EUR)", "we do not handle this kind of request"),
        ({"invoice_number": "INV-7890"}, "INV-7890", "we do not handle this kind of request"),
        ({}, "an unnamed request", "we do not handle this kind of request"),
        ({"kind": "billing_inquiry"}, "Billing Inquiry", "the invoice number is missing"),
        ({"kind": "billing_inquiry", "invoice_number": ""}, "Billing Inquiry", "the invoice number is missing"),
        (
            {"kind": "billing_inquiry", "invoice_number": "my last invoice"},
            "Billing Inquiry (my last invoice)",
            "'my last invoice' does not look like a valid invoice number",
        ),
        (
            {"kind": "status_update", "order_id": "12345"},
            "Status Update (12345)",
            "'12345' does not look like a valid order id",
        ),
        ({"kind": "status_update", "order_id": 12345}, "Status Update (12345)", "the order id is not valid"),
        (
            {"kind": "product_return", "product_name": "SuperWidget 5000"},
            "Product Return (SuperWidget 5000)",
            "the reason for return is missing",
        ),
        (
            {"kind": "other", "request": "change my address"},
            "change my address",
            "this is not something we can handle here",
        ),
        ("INV-7890", "INV-7890", "we could not understand it"),
        ({"kind": None, "invoice_number": "INV-7890"}, "INV-7890", "we do not handle this kind of request"),
        ({"kind": 7, "order_id": "A-12345"}, "7 (A-12345)", "we do not handle this kind of request"),
        (
            {"kind": "billing_inquiry", "invoice_number": ["INV-7890"]},
            "Billing Inquiry (['INV-7890'])",
            "the invoice number is not valid",
        ),
        (
            {"kind": "product_return", "product_name": {"name": "Lamp X"}, "reason_for_return": None},
            "Product Return ({'name': 'Lamp X'})",
            "the product name is not valid; the reason for return is missing",
        ),
    ],
)
async def test_tasks_no_worker_can_take_are_listed_and_mentioned_while_the_rest_is_done(
    scripted: ScriptedChatModel, task: Any, asked: str, reason: str
) -> None:
    good = {"kind": "status_update", "order_id": "A-12345"}
    scripted.replies = [json.dumps({"tasks": [task, good]})]
    result = await run(SEVERAL_REQUESTS, Context(chat_model=scripted))
    assert result["unhandled"] == [
        {
            "index": 0,
            "kind": str(task.get("kind") or "") if isinstance(task, dict) else "",
            "request": asked,
            "reason": reason,
        }
    ]
    assert [r["reference"] for r in result["results"]] == ["A-12345"]
    email = result["email"]
    assert asked in email and reason in email
    assert email.index(asked) < email.index("A-12345"), "the unhandled request keeps its place"


async def test_only_unhandled_tasks_still_get_a_reply_that_names_them(scripted: ScriptedChatModel) -> None:
    scripted.replies = [json.dumps({"tasks": [{"kind": "billing_inquiry", "invoice_number": "last month's"}]})]
    result = await run("My last invoice is wrong.", Context(chat_model=scripted))
    assert result["results"] == []
    assert "Billing Inquiry (last month's)" in result["email"]
    # A worker's request that lacked a detail can be finished once the customer sends it: the email says so.
    assert "Please reply with the details and we will take care of it." in result["email"]
    assert ask_for_details(WORKERS, unhandled=True) in result["email"] and ASK_FOR_DETAILS not in result["email"]
    assert len(scripted.prompts) == 1


async def test_a_request_no_worker_handles_is_named_without_promising_to_take_care_of_it(
    scripted: ScriptedChatModel,
) -> None:
    scripted.replies = [json.dumps({"tasks": [{"kind": "other", "request": "move my delivery to Friday"}]})]
    result = await run("Could you move my delivery to Friday?", Context(chat_model=scripted))
    email = result["email"]
    assert "A request we could not handle: move my delivery to Friday" in email
    assert "take care of it" not in email, "nothing here can take care of it"
    assert "could not find a request" not in email, "the email has just named one"
    assert ask_for_details(WORKERS, unhandled=True) in email


def test_read_plan_accepts_a_bare_list_strips_hashes_and_drops_duplicates() -> None:
    billing = {"kind": "billing_inquiry", "invoice_number": "#INV-7890"}
    tasks, unhandled, notes = read_plan(
        [billing, dict(billing), {"kind": "status_update", "order_id": " #A-12345 "}], WORKERS, LESSON_MESSAGE
    )
    assert [(t["index"], t["fields"]) for t in tasks] == [
        (0, {"invoice_number": "INV-7890"}),
        (2, {"order_id": "A-12345"}),
    ]
    assert unhandled == []
    assert notes == ["The plan repeated a Billing Inquiry task 1 time(s); handled it once."]


def test_an_id_the_customer_wrote_in_lower_case_is_the_id_in_its_formats_case() -> None:
    message = "where is order a-12345? and inv-7890 looks wrong"
    copied = [
        {"kind": "status_update", "order_id": "a-12345"},
        {"kind": "billing_inquiry", "invoice_number": "inv-7890"},
    ]
    tasks, unhandled, _ = read_plan(copied, WORKERS, message)
    assert [t["fields"] for t in tasks] == [{"order_id": "A-12345"}, {"invoice_number": "INV-7890"}]
    assert unhandled == []


async def test_the_offline_planner_finds_ids_in_either_case() -> None:
    result = await run("where is order a-12345? and inv-7890 looks wrong", Context(model="offline"))
    assert [(t["kind"], t["fields"]) for t in result["tasks"]] == [
        ("status_update", {"order_id": "A-12345"}),
        ("billing_inquiry", {"invoice_number": "INV-7890"}),
    ]
    assert "A-12345" in result["email"] and "INV-7890" in result["email"]


def test_the_reply_to_a_message_with_no_request_asks_for_what_each_worker_needs() -> None:
    asked = ask_for_details({**WORKERS, "warranty_claim_elsewhere": WARRANTY})
    for need in ("the invoice number", "the product's name", "the order id", "its serial number"):
        assert need in asked
    assert "like INV-20417" not in asked and "SN-123456" not in asked, "the examples are not asked for"
    # What a description names after its example is still asked for, and two workers that need the same thing
    # ask for it once.
    asked = ask_for_details({**WORKERS, "change_address": CHANGE_ADDRESS, "status_again": WORKERS["status_update"]})
    assert "B-40213" not in asked and asked.count("the order id") == 2
    assert "the order id and the new address" in asked


def test_read_plan_caps_the_number_of_tasks() -> None:
    items = [{"kind": "billing_inquiry", "invoice_number": f"INV-{2000 + n}"} for n in range(MAX_TASKS + 1)]
    message = " ".join(item["invoice_number"] for item in items)
    tasks, unhandled, notes = read_plan({"tasks": items}, WORKERS, message)
    assert len(tasks) == MAX_TASKS
    [summary] = unhandled
    assert summary["request"] == f"1 further request(s), starting with: Billing Inquiry (INV-{2000 + MAX_TASKS})"
    assert "at most" in summary["reason"]
    assert notes == [f"The plan had more than {MAX_TASKS} tasks; 1 were not worked on."]


@pytest.mark.parametrize("message", ["", "   "])
async def test_empty_message_plans_nothing_without_calling_a_model(scripted: ScriptedChatModel, message: str) -> None:
    result = await run(message, Context(chat_model=scripted))
    assert result["tasks"] == [] and ASK_FOR_DETAILS in result["email"]
    assert scripted.prompts == []


# --- Failing workers and idempotency --------------------------------------------------------------------------


class FlakyBackend(LocalBackend):
    """Fails RMA requests: `fail_before` times before acting, then `fail_after` times after acting."""

    def __init__(self, error: BaseException, fail_before: int = 0, fail_after: int = 0) -> None:
        super().__init__()
        self.error, self.fail_before, self.fail_after = error, fail_before, fail_after
        self.rma_calls = 0

    async def issue_rma(self, key: str, product_name: str, reason: str) -> ReturnAuthorization:
        self.rma_calls += 1
        if self.fail_before:
            self.fail_before -= 1
            raise self.error
        rma = await super().issue_rma(key, product_name, reason)
        if self.fail_after:
            self.fail_after -= 1
            raise self.error
        return rma


class Reorder(BaseModel):
    """Order a product again, optionally the same as in an earlier order."""

    product_name: str = Field(min_length=1)
    order_id: str | None = Field(None, pattern=r"^[A-Z]-\d{5}$")


class Bundle(BaseModel):
    """Several products at once: a list does not survive the plan's string fields."""

    products: list[str]


async def reorder(job: Job[Reorder]) -> Outcome:
    return Outcome(
        f"RE-{job.key[-4:]}", "reordered", {"Product": job.task.product_name, "Reorder": f"RE-{job.key[-4:]}"}
    )


async def test_an_optional_field_the_planner_left_out_does_not_reach_the_worker_as_none(
    scripted: ScriptedChatModel,
) -> None:
    workers = {**WORKERS, "reorder": Worker("Reorder", "Order a product again.", Reorder, reorder, "Reorder Lamp X")}
    scripted.replies = [json.dumps({"tasks": [{"kind": "reorder", "product_name": "Lamp X"}]})]
    result = await run("Reorder Lamp X please.", Context(chat_model=scripted), workers=workers)
    assert result["tasks"][0]["fields"] == {"product_name": "Lamp X"}
    [done] = result["results"]
    assert done["ok"] and done["reference"] in result["email"]


async def test_a_task_schema_that_does_not_survive_the_plan_is_a_bug_that_surfaces(
    scripted: ScriptedChatModel,
) -> None:
    bundle = Worker("Bundle Order", "Several products at once.", Bundle, reorder, "Lamp X and Lamp Y")
    scripted.replies = [
        json.dumps(
            {
                "tasks": [
                    {"kind": "bundle", "products": ["Lamp X", "Lamp Y"]},
                    {"kind": "status_update", "order_id": "A-12345"},
                ]
            }
        )
    ]
    # A list field reaches the worker as text, which its schema refuses: a registry bug, which must not be
    # dressed up as a follow-up promised to the customer.
    with pytest.raises(ValidationError, match="products"):
        message = "Lamp X, Lamp Y, and my order A-12345."
        await run(message, Context(chat_model=scripted), workers={**WORKERS, "bundle": bundle})


async def test_a_failing_worker_does_not_sink_the_others_and_its_follow_up_is_recorded(fast_retries: Any) -> None:
    backend = FlakyBackend(BackendError("warehouse system down"), fail_before=99)
    result = await run(LESSON_MESSAGE, backend=backend)
    assert backend.rma_calls == 1, "an error that retrying cannot fix is not retried"
    by_kind = {r["kind"]: r for r in result["results"]}
    assert by_kind["billing_inquiry"]["ok"] and by_kind["status_update"]["ok"]
    assert not by_kind["product_return"]["ok"]
    email = result["email"]
    assert next(iter(backend.cases.values())).case_id in email and "A-12345" in email
    assert "SuperWidget 5000" in email and FOLLOW_UP in email
    assert backend.rmas == {}
    [follow_up] = backend.follow_ups.values()
    assert follow_up.follow_up_id in email and by_kind["product_return"]["reference"] == follow_up.follow_up_id
    assert "SuperWidget 5000" in follow_up.request
    [note] = result["notes"]
    assert "Product Return task #2 failed (warehouse system down)" in note
    assert f"recorded follow-up {follow_up.follow_up_id}" in note


async def test_a_worker_that_keeps_failing_transiently_gives_up_after_its_retries(fast_retries: Any) -> None:
    backend = FlakyBackend(BackendError("connection reset", transient=True), fail_before=99)
    result = await run(LESSON_MESSAGE, backend=backend)
    assert backend.rma_calls == fast_retries.attempts
    assert [r["ok"] for r in sorted(result["results"], key=lambda r: r["index"])] == [True, False, True]
    assert FOLLOW_UP in result["email"]


async def test_a_bug_in_a_worker_fails_the_run_instead_of_promising_a_follow_up() -> None:
    backend = FlakyBackend(AttributeError("'NoneType' object has no attribute 'sku'"), fail_before=1)
    with pytest.raises(AttributeError, match="sku"):
        await run(LESSON_MESSAGE, backend=backend)
    assert backend.follow_ups == {}


async def test_a_retried_worker_does_not_issue_a_second_rma(fast_retries: Any) -> None:
    backend = FlakyBackend(BackendError("reset after the RMA was issued", transient=True), fail_after=1)
    result = await run(LESSON_MESSAGE, backend=backend)
    assert backend.rma_calls == 2
    [rma] = backend.rmas.values()
    assert rma.rma_number == next(r["reference"] for r in result["results"] if r["kind"] == "product_return")
    assert rma.rma_number in result["email"]
    assert result["notes"] == []


BILLING_PLAN = json.dumps({"tasks": [{"kind": "billing_inquiry", "invoice_number": "INV-7890"}]})


async def test_an_unreadable_concern_still_opens_the_case_with_a_note(scripted: ScriptedChatModel) -> None:
    scripted.replies = [BILLING_PLAN, "not json", "not json"]
    backend = LocalBackend()
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted), backend=backend)
    [case] = backend.cases.values()
    assert case.invoice_number == "INV-7890" and case.concern == GENERAL_CONCERN
    [billing] = result["results"]
    assert billing["ok"] and billing["reference"] == case.case_id
    assert case.case_id in result["email"] and FOLLOW_UP not in result["email"]
    [note] = result["notes"]
    assert note.startswith("The Billing Inquiry task #1: Could not read the customer's concern about INV-7890")
    assert GENERAL_CONCERN in note
    assert len(scripted.prompts) == 1 + 2 + 1, "plan, the concern asked twice, synthesis"


async def test_an_unreadable_concern_is_asked_for_once_more(scripted: ScriptedChatModel) -> None:
    scripted.replies = [BILLING_PLAN, '{"concern": ', json.dumps({"concern": "I was charged twice."})]
    backend = LocalBackend()
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted), backend=backend)
    [case] = backend.cases.values()
    assert case.concern == "I was charged twice."
    assert "I was charged twice." in result["email"]
    [note] = result["notes"]
    assert note.startswith("The Billing Inquiry task #1: the model's first answer was not usable (")


class Crash(BaseException):
    """The process dies mid-worker: nothing inside the graph may catch it."""


async def test_a_resumed_run_reuses_the_rma_its_crashed_worker_issued() -> None:
    backend = FlakyBackend(Crash(), fail_after=1)
    compiled = build_orchestrator(backend=backend).compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "customer-1"}}
    with pytest.raises(Crash):
        await compiled.ainvoke({"message": LESSON_MESSAGE}, config, context=OFFLINE)
    [issued] = backend.rmas.values()
    result = await compiled.ainvoke(None, config, context=OFFLINE)
    assert backend.rma_calls == 2
    assert list(backend.rmas.values()) == [issued]
    assert issued.rma_number in result["email"]
    assert len(result["results"]) == 3


async def references(message: str, backend: LocalBackend, customer: str | None = None) -> list[str]:
    given = {"message": message} | ({"customer_id": customer} if customer else {})
    result = await build_orchestrator(backend=backend).compile().ainvoke(given, context=OFFLINE)
    return [r["reference"] for r in sorted(result["results"], key=lambda r: r["index"])]


async def test_a_customer_resending_a_message_finds_the_same_cases_even_on_a_fresh_backend() -> None:
    backend = LocalBackend()
    first = await references(LESSON_MESSAGE, backend, "cust-1")
    assert await references(LESSON_MESSAGE, backend, "cust-1") == first
    assert await references(LESSON_MESSAGE, LocalBackend(), "cust-1") == first
    assert len(backend.cases) == 1 and len(backend.rmas) == 1


async def test_two_customers_sending_the_same_words_get_their_own_cases() -> None:
    backend = LocalBackend()
    one = await references(LESSON_MESSAGE, backend, "cust-1")
    other = await references(LESSON_MESSAGE, backend, "cust-2")
    anonymous = [await references(LESSON_MESSAGE, backend), await references(LESSON_MESSAGE, backend)]
    ids = [one, other, *anonymous]
    made = [ref for refs in ids for ref in refs if not ref.startswith("A-")]
    assert len(set(made)) == len(made) == 8, "case and RMA per run; the order id is the customer's own"
    assert len(backend.cases) == 4 and len(backend.rmas) == 4


async def test_backend_ids_follow_the_task_key() -> None:
    backend = LocalBackend()
    one = task_key("msg", "product_return", {"product_name": "A", "reason_for_return": "b"})
    other = task_key("another msg", "product_return", {"product_name": "A", "reason_for_return": "b"})
    assert one == task_key(" msg ", "product_return", {"reason_for_return": "b", "product_name": "A"})
    first = await backend.issue_rma(one, "A", "b")
    assert await backend.issue_rma(one, "A", "changed") == first
    assert (await backend.issue_rma(other, "A", "b")).rma_number != first.rma_number
    case = await backend.open_investigation(one, "INV-1234", "too high")
    assert isinstance(case, Case) and CASE.fullmatch(case.case_id) and RMA.fullmatch(first.rma_number)
    assert (await backend.order_status("Z-00000")).found is False


# --- The synthesizer ------------------------------------------------------------------------------------------


async def test_an_email_that_drops_a_task_is_completed_and_noted(scripted: ScriptedChatModel) -> None:
    plan = json.dumps(
        {
            "tasks": [
                {"kind": "status_update", "order_id": "A-12345"},
                {"kind": "product_return", "product_name": "SuperWidget 5000", "reason_for_return": "too big"},
            ]
        }
    )
    scripted.replies = [plan, "Dear Customer,\nYour order A-12345 has shipped.\nBest regards"]
    result = await run(LESSON_MESSAGE, Context(chat_model=scripted), backend=LocalBackend())
    rma = next(r["reference"] for r in result["results"] if r["kind"] == "product_return")
    assert result["email"].startswith("Dear Customer,\nYour order A-12345 has shipped.")
    assert rma in result["email"].split("P.S.")[1]
    assert "Shipping instructions" in result["email"]
    assert result["notes"] == [f"The synthesizer's email left out {rma}; appended those points."]


@pytest.mark.parametrize("reply", ["42", "I cannot help with that.", "Dear Customer,\nThanks for writing.\nBye"])
async def test_an_email_that_names_none_of_its_tasks_becomes_a_plain_one(
    scripted: ScriptedChatModel, reply: str
) -> None:
    scripted.replies = [json.dumps({"tasks": [{"kind": "status_update", "order_id": "A-12345"}]}), reply]
    result = await run("Where is A-12345?", Context(chat_model=scripted))
    assert result["email"].startswith("Dear Customer,\n\nRegarding your Status Update:")
    assert "A-12345" in result["email"] and reply not in result["email"] and "P.S." not in result["email"]
    assert result["notes"] == ["Sent the points as a plain email: the synthesizer's email named none of them."]


async def test_an_empty_email_becomes_a_plain_one(scripted: ScriptedChatModel) -> None:
    scripted.replies = [json.dumps({"tasks": [{"kind": "status_update", "order_id": "A-12345"}]}), "  ", ""]
    result = await run("Where is A-12345?", Context(chat_model=scripted))
    assert result["email"].startswith("Dear Customer,\n\nRegarding your Status Update:")
    assert "A-12345" in result["email"]
    assert result["notes"] == ["Sent the points as a plain email: its reply was not usable (the reply was empty)."]


class WritesNoEmail(ScriptedChatModel):
    """Plans and answers structured calls offline, but every free-text call (the email) raises `error`."""

    error: Exception
    emails_asked: int = 0

    def _answer(self, messages: list[Any], schema: dict[str, Any] | None) -> Any:
        if schema is None:
            self.emails_asked += 1
            raise self.error
        return super()._answer(messages, schema)


class Refused(Exception):
    """A provider refusing a request, as its client raises it (HTTP 400 on the exception)."""

    code = 400


@pytest.mark.parametrize(
    ("error", "attempts"),
    [(ConnectionError("connection reset"), RetrySettings().attempts), (Refused("the request was refused"), 1)],
    ids=["transient", "permanent"],
)
async def test_a_failing_synthesizer_still_sends_an_email_naming_every_id(
    fast_retries: Any, error: Exception, attempts: int
) -> None:
    model = WritesNoEmail(replies=[], prompts=[], schemas=[], error=error)
    backend = LocalBackend()
    result = await run(LESSON_MESSAGE, Context(chat_model=model), backend=backend)
    assert model.emails_asked == attempts, "transient errors are retried, others are not"
    email = result["email"]
    assert email.startswith("Dear Customer,\n\nRegarding your Billing Inquiry:")
    [case] = backend.cases.values()
    [rma] = backend.rmas.values()
    for reference in (case.case_id, rma.rma_number, rma.shipping_instructions, "A-12345"):
        assert reference in email
    [note] = result["notes"]
    assert note.startswith("The synthesizer failed") and str(error) in note


async def test_the_synthesizer_sees_every_point_in_order(scripted: ScriptedChatModel) -> None:
    await run(LESSON_MESSAGE, Context(chat_model=scripted))
    synthesis = scripted.prompts[-1][-1].text
    labels = ["Regarding your Billing Inquiry", "Regarding your Product Return", "Regarding your Status Update"]
    assert [synthesis.index(label) for label in labels] == sorted(synthesis.index(label) for label in labels)


# --- The registry: contract tests run for every entry, including ones added later ------------------------------


async def check_planned_from_its_example(kind: str, compiled: Any = graph) -> None:
    worker = WORKERS[kind]
    result = dict(await compiled.ainvoke({"message": worker.example}, context=OFFLINE))
    assert [t["kind"] for t in result["tasks"]] == [kind]
    [worker_result] = result["results"]
    assert worker_result["ok"] and worker_result["label"] == worker.label
    assert worker_result["reference"] in result["email"]
    assert f"Regarding your {worker.label}" in result["email"]


def check_entry_is_complete(kind: str) -> None:
    worker = WORKERS[kind]
    assert kind.isidentifier() and worker.label.strip() and worker.description.strip()
    assert worker.task_schema.model_json_schema()["required"]
    assert [w.label for w in WORKERS.values()].count(worker.label) == 1


@pytest.mark.parametrize("kind", list(WORKERS))
async def test_each_worker_type_is_planned_from_its_example_and_appears_in_the_email(kind: str) -> None:
    await check_planned_from_its_example(kind)


@pytest.mark.parametrize("kind", list(WORKERS))
def test_registry_entry_is_complete(kind: str) -> None:
    check_entry_is_complete(kind)


def test_the_plan_schema_offers_every_worker_and_the_planner_prompt_names_them() -> None:
    variants = plan_schema(WORKERS)["properties"]["tasks"]["items"]["anyOf"]
    assert [v["properties"]["kind"]["enum"][0] for v in variants] == [*WORKERS, "other"]
    for variant, worker in zip(variants, WORKERS.values(), strict=False):
        assert set(worker.task_schema.model_fields) <= set(variant["required"])


class WarrantyClaim(BaseModel):
    """A product that broke while under warranty."""

    serial_number: str = Field(pattern=r"^SN-[0-9]{6}$", description="The product's serial number, e.g. SN-123456.")


async def register_claim(job: Job[WarrantyClaim]) -> Outcome:
    claim = f"WC-{job.key[-6:]}"
    return Outcome(claim, f"Registered claim {claim}", {"Serial number": job.task.serial_number, "Claim": claim})


WARRANTY = Worker(
    label="Warranty Claim",
    description="A product that broke under warranty (needs its serial number, like SN-123456).",
    task_schema=WarrantyClaim,
    handle=register_claim,
    example="My blender SN-123456 broke while still under warranty.",
)


async def test_a_new_worker_type_is_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch, scripted: ScriptedChatModel
) -> None:
    # What the README's example does: one entry in nodes.workers.WORKERS, and nothing else. graphs/orchestrator.py
    # builds its module-level graph with build_orchestrator() from that registry at import time.
    monkeypatch.setitem(WORKERS, "warranty_claim", WARRANTY)
    compiled = build_orchestrator().compile()
    assert "warranty_claim" in compiled.get_graph().nodes
    check_entry_is_complete("warranty_claim")
    await check_planned_from_its_example("warranty_claim", compiled)
    test_the_plan_schema_offers_every_worker_and_the_planner_prompt_names_them()

    message = f"{WARRANTY.example} Also, can you give me an update on my order #A-12345?"
    result = dict(await compiled.ainvoke({"message": message}, context=Context(chat_model=scripted)))
    assert '"warranty_claim" (Warranty Claim)' in scripted.prompts[0][0].text, "the planner is told about it"
    assert [t["kind"] for t in result["tasks"]] == ["warranty_claim", "status_update"]
    claim = next(r["reference"] for r in result["results"] if r["kind"] == "warranty_claim")
    assert claim.startswith("WC-") and claim in result["email"]
    assert "Regarding your Warranty Claim" in result["email"] and "A-12345" in result["email"]


async def test_build_orchestrator_takes_any_registry() -> None:
    # The lesson's three workers and one of the test's own: a user who added the README's "warranty_claim" to
    # WORKERS still gets a passing test (two workers of one description would split the claims between them).
    lesson = {kind: WORKERS[kind] for kind in ("billing_inquiry", "product_return", "status_update")}
    extended = {**lesson, "warranty_claim_elsewhere": WARRANTY}
    result = await run(WARRANTY.example, workers=extended)
    assert [t["kind"] for t in result["tasks"]] == ["warranty_claim_elsewhere"]
    assert "warranty_claim_elsewhere" not in graph.get_graph().nodes, "the module's graph is left as it was"


class ChangeAddress(BaseModel):
    """The customer wants an order delivered to a different address."""

    order_id: str = Field(pattern=ORDER_ID, description="The order id, e.g. B-40213.")
    new_address: str = Field(min_length=1, max_length=300, description="The new delivery address, e.g. 1 Elm Road.")


async def change_address(job: Job[ChangeAddress]) -> Outcome:
    return Outcome(f"AD-{job.key[-6:]}", "Changed the address", {"Order": job.task.order_id})


CHANGE_ADDRESS = Worker(
    label="Change Address",
    description="The customer wants an order delivered to a different address (needs the order id, like B-40213, "
    "and the new address).",
    task_schema=ChangeAddress,
    handle=change_address,
    example="Please change the delivery address of order B-40213 to 12 High Street, Leeds.",
)


async def test_a_new_worker_keyed_on_order_ids_shares_them_with_the_status_worker_by_what_is_asked() -> None:
    # A new-user walkthrough: every order id went to both workers, so a status question also changed an address,
    # and the change itself, acted on by "change", was a request for no worker.
    extended = {**WORKERS, "change_address": CHANGE_ADDRESS}
    planned = {
        "Where is my order A-20001?": ["status_update"],
        CHANGE_ADDRESS.example: ["change_address"],
        "Where is order B-40213? Also please change my email address.": ["status_update"],
        "Please cancel order B-12345.": [],
        LESSON_MESSAGE: ["billing_inquiry", "product_return", "status_update"],
    }
    for message, kinds in planned.items():
        result = await run(message, workers=extended)
        assert [t["kind"] for t in result["tasks"]] == kinds, message


def test_worker_keys_may_not_shadow_graph_nodes() -> None:
    with pytest.raises(ValueError, match="reserved"):
        build_orchestrator({**WORKERS, "synthesize": WORKERS["status_update"]})


def test_graph_draws_a_fan_out_edge_to_each_worker() -> None:
    mermaid = graph.get_graph().draw_mermaid()
    for kind in WORKERS:
        assert f"plan -.-> {kind};" in mermaid
        assert f"{kind} --> synthesize;" in mermaid
    assert "plan -.-> synthesize;" in mermaid
    assert "plan -.-> __end__" not in mermaid


def test_studio_config_serves_the_orchestrator() -> None:
    config = json.loads(Path(REPO, "studio", "langgraph.json").read_text())
    assert config["graphs"]["orchestrator"]["path"] == "../graphs/orchestrator.py:graph"


# --- Command line ---------------------------------------------------------------------------------------------


def test_cli_runs_the_lesson_message_offline() -> None:
    done = run_cli("run", "orchestrator")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "  1. billing_inquiry invoice_number=INV-7890" in out
    assert "  2. product_return product_name=SuperWidget 5000, reason_for_return=not compatible with my system" in out
    assert "  3. status_update order_id=A-12345" in out
    assert re.search(r"1\. \[done\] Billing Inquiry: Opened investigation case CASE-\d{8}", out)
    assert re.search(r"2\. \[done\] Product Return: Issued RMA-\d{8}", out)
    assert "3. [done] Status Update: Order A-12345: Shipped" in out
    assert "Email:\n  Dear Customer," in out
    assert done.stderr.count(llm.OFFLINE_NOTICE) == 1


def test_cli_json_output() -> None:
    done = run_cli(
        "run", "orchestrator", "Where is my order A-20001? Also return the 'Lamp X' because it flickers.", "--json"
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert [t["kind"] for t in result["tasks"]] == ["status_update", "product_return"]
    assert result["tasks"][1]["fields"] == {"product_name": "Lamp X", "reason_for_return": "it flickers"}
    assert "Processing" in result["email"] and RMA.search(result["email"])
    assert result["models"]["plan"] == llm.OFFLINE_LABEL


async def test_a_billing_model_that_cannot_be_built_fails_the_run_instead_of_promising_a_follow_up() -> None:
    backend = LocalBackend()
    context = Context(model="offline", node_models={"billing_inquiry": "gemini-2.5-flash"})
    with pytest.raises(ModelSetupError, match="needs a Gemini API key"):
        await run(WORKERS["billing_inquiry"].example, context, backend=backend)
    assert backend.cases == {} and backend.follow_ups == {}


async def test_the_billing_worker_builds_its_model_once_however_often_it_asks(
    scripted: ScriptedChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.replies = [BILLING_PLAN, '{"concern": ', json.dumps({"concern": "I was charged twice."})]
    built: list[str] = []
    model_for = llm.model_for

    def counting(context: Context, node: str) -> llm.BuiltModel:
        built.append(node)
        return model_for(context, node)

    monkeypatch.setattr(models, "model_for", counting)
    await run(LESSON_MESSAGE, Context(chat_model=scripted), backend=LocalBackend())
    assert built.count("billing_inquiry") == 1


class FailsFirstConcern(OfflineChatModel):
    """Offline answers, but the first structured call fails with a connection error; records the concerns asked."""

    asked: list[str] = []

    async def _agenerate(self, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        if "response_json_schema" in kwargs and "specialized billing assistant" in messages[0].text:
            self.asked.append(messages[0].text)
            if len(self.asked) == 1:
                raise ConnectionError("reset")
        return await super()._agenerate(messages, *args, **kwargs)


async def test_a_call_waiting_out_its_backoff_frees_its_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FailsFirstConcern(asked=[])
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: Any) -> Any:
        # The backoff ends only once the other task's call has run: with the slot held, that never happens.
        if delay > 0 and len(model.asked) == 1:
            for _ in range(500):
                if len(model.asked) >= 2:
                    return None
                await real_sleep(0)
            raise AssertionError("the other task never got the slot during the backoff")
        return await real_sleep(delay, *args)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    context = Context(chat_model=model, max_concurrency=1)
    result = await run(invoice_message(2), context)
    assert [r["ok"] for r in result["results"]] == [True, True]
    assert len(model.asked) == 3, "the failed call, the other task's, then the retry"


def test_a_reworded_plan_of_the_same_message_keeps_its_task_keys() -> None:
    first, _, _ = read_plan(
        [
            {"kind": "product_return", "product_name": "SuperWidget 5000", "reason_for_return": "not compatible"},
            {"kind": "billing_inquiry", "invoice_number": "INV-7890"},
        ],
        WORKERS,
        LESSON_MESSAGE,
    )
    again, _, _ = read_plan(
        [
            {"kind": "product_return", "product_name": "superwidget  5000", "reason_for_return": "It does not fit"},
            {"kind": "billing_inquiry", "invoice_number": "#INV-7890"},
        ],
        WORKERS,
        LESSON_MESSAGE,
    )
    assert [t["key"] for t in first] == [t["key"] for t in again]
    other, _, _ = read_plan(
        [{"kind": "billing_inquiry", "invoice_number": "INV-7891"}], WORKERS, f"{LESSON_MESSAGE} And INV-7891."
    )
    assert other[0]["key"] != first[1]["key"]


async def test_two_keys_whose_ids_collide_get_different_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_module, "_number", lambda key: 99999999)
    backend = LocalBackend()
    one = await backend.issue_rma("key-1", "A", "b")
    two = await backend.issue_rma("key-2", "A", "b")
    assert (one.rma_number, two.rma_number) == ("RMA-99999999", "RMA-00000000")
    assert await backend.issue_rma("key-2", "A", "b") == two
    case = await backend.open_investigation("key-1", "INV-1234", "too high")
    assert case.case_id == "CASE-99999999"
