import json
import sys
import types
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel, Field

from nodes import llm
from nodes.llm.guard import is_guarded
from nodes.offline import OFFLINE_LABEL, OfflineChatModel
from state.context import Context


class Ticket(BaseModel):
    order_id: str = Field(pattern=r"[A-Z]-\d{5}", description="The order number.")
    urgent: bool = Field(description="Whether the customer says it is urgent.")


async def test_offline_structured_output_fills_ids_from_the_input() -> None:
    model = OfflineChatModel().with_structured_output(Ticket)
    first = await model.ainvoke("Where is order A-12345? This is urgent.")
    second = await model.ainvoke("Where is order B-54321?")
    assert first == Ticket(order_id="A-12345", urgent=True)
    assert second.order_id == "B-54321"


async def test_offline_structured_output_reports_parse_errors_with_include_raw() -> None:
    answer = await OfflineChatModel().with_structured_output(Ticket, include_raw=True).ainvoke("no id here")
    assert answer["parsed"] is None
    assert answer["parsing_error"] is not None
    assert answer["raw"].text.startswith("{")


async def test_offline_replies_depend_on_the_input_and_report_usage() -> None:
    model = OfflineChatModel()
    prompt = "You are a helpful agent.\nThe user says: '{}'.\nAsk for their order number."
    one = await model.ainvoke([HumanMessage(prompt.format("My parcel is late."))])
    two = await model.ainvoke([HumanMessage(prompt.format("The lid is cracked."))])
    assert "My parcel is late." in one.text and "The lid is cracked." in two.text
    assert "ask you for my order number" not in one.text
    assert one.usage_metadata is not None
    assert one.usage_metadata["input_tokens"] == len(prompt.format("My parcel is late.")) // 4 + 1
    assert (
        one.usage_metadata["total_tokens"] == one.usage_metadata["input_tokens"] + one.usage_metadata["output_tokens"]
    )


async def test_offline_answers_questions_from_the_supplied_material() -> None:
    prompt = (
        'Answer the question.\nQuestion: "What does a wind turbine capture?"\n'
        "Provided Content:\n---\nSolar panels convert sunlight. Wind turbines capture kinetic energy from the wind. "
        "Batteries store power.\n---"
    )
    answer = await OfflineChatModel().ainvoke([SystemMessage("Answer from context only."), HumanMessage(prompt)])
    assert answer.text == "Wind turbines capture kinetic energy from the wind."


def test_gemini_key_comes_from_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm.find_api_key() is None
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-variable")
    assert llm.find_api_key() == "gemini-variable"
    monkeypatch.setenv("GOOGLE_API_KEY", "google-variable")
    assert llm.find_api_key() == "google-variable"


def test_gemini_key_comes_from_colab_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    userdata = types.SimpleNamespace(get=lambda name: {"GOOGLE_API_KEY": "colab-secret"}[name])
    colab = types.ModuleType("google.colab")
    colab.userdata = userdata  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert llm.find_api_key() == "colab-secret"


def test_auto_means_offline_without_a_key_and_gemini_with_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm.build_model("auto").label == OFFLINE_LABEL
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    built = llm.build_model("auto")
    assert built.label == "google_genai:gemini-2.5-flash"
    assert isinstance(built.model, ChatGoogleGenerativeAI) and is_guarded(built.model)
    assert llm.build_model("google_genai:gemini-2.5-pro").label == "google_genai:gemini-2.5-pro"


def test_explicit_gemini_without_a_key_says_how_to_get_one() -> None:
    with pytest.raises(llm.ModelSetupError, match="GOOGLE_API_KEY"):
        llm.build_model("gemini-2.5-flash")


def test_a_python_model_object_serves_every_node_without_its_own_override() -> None:
    mine = OfflineChatModel(latency=0.0)
    context = Context(chat_model=mine, node_models={"classify": "offline"})
    answer = llm.model_for(context, "answer")
    assert answer.label == "custom:OfflineChatModel"
    assert isinstance(answer.model, OfflineChatModel) and is_guarded(answer.model) and not is_guarded(mine)
    assert llm.model_for(context, "classify").label == OFFLINE_LABEL


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (httpx.ConnectError("refused"), True),
        (TimeoutError(), True),
        (ValueError("bad json"), False),
        (llm.ModelSetupError("no key"), False),
        (type("ClientError", (Exception,), {"code": 400})(), False),
        (type("ServerError", (Exception,), {"code": 503})(), True),
        (type("RateLimited", (Exception,), {"code": 429})(), True),
        (KeyError("bug"), False),
        (httpx.ReadError("reset"), True),
        (httpx.WriteError("broken pipe"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.ReadTimeout("slow"), True),
        (json.JSONDecodeError("Expecting value", "<html>", 0), True),
        (type("NotFound", (Exception,), {"code": 404})(), False),
        (type("Forbidden", (Exception,), {"code": 403})(), False),
        (TypeError("unexpected keyword argument 'temprature'"), False),
    ],
)
def test_only_transient_failures_are_retried(error: BaseException, transient: bool) -> None:
    assert llm.is_transient(error) is transient


def test_errors_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "my-secret-key-value")
    leaked = RuntimeError("request with my-secret-key-value and AIzaSyA1234567890abcdefghijklmnopqrstuv failed")
    message = llm.describe_error(leaked)
    assert "my-secret-key-value" not in message
    assert "AIzaSyA1234567890" not in message
    assert "***" in message


def test_a_provider_string_needs_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # as if langchain-openai were not installed
    with pytest.raises(llm.ModelSetupError, match="langchain-openai"):
        llm.build_model("openai:gpt-4.1-mini-test-only")


def test_errors_say_whether_the_model_call_or_the_run_failed() -> None:
    assert llm.describe_error(KeyError("x")).startswith("The run failed (KeyError")
    bad_request = type("ClientError", (Exception,), {"__module__": "google.genai.errors", "code": 400})("bad field")
    assert llm.describe_error(bad_request).startswith("The model provider refused the request (ClientError: bad field)")


def test_a_key_found_only_in_dotenv_is_redacted_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GOOGLE_API_KEY=plain-dotenv-secret\n")
    assert "plain-dotenv-secret" not in llm.describe_error(RuntimeError("sent plain-dotenv-secret"))


async def test_offline_lists_padded_to_a_minimum_repeat_distinct_items_without_failing() -> None:
    schema = {
        "type": "object",
        "properties": {"questions": {"type": "array", "items": {"type": "string"}, "minItems": 6, "maxItems": 6}},
    }
    material = "Source Title: Notes\nContent: Wind is free. Wind is free. Sun is free."
    answer = await OfflineChatModel().with_structured_output(schema).ainvoke(f"Ask questions.\n---\n{material}\n---")
    assert len(answer["questions"]) == 6
    assert len(set(answer["questions"])) == 2


def test_read_structured_gives_the_value_or_one_line_with_a_raw_excerpt() -> None:
    ticket = {"order_id": "A-12345", "urgent": True}
    as_json = AIMessage(content=json.dumps(ticket))
    assert llm.read_structured({"raw": as_json, "parsed": ticket, "parsing_error": None}) == (ticket, "")
    value, problem = llm.read_structured({"raw": as_json, "parsed": ticket, "parsing_error": None}, Ticket)
    assert value == Ticket(order_id="A-12345", urgent=True) and problem == ""
    raw = AIMessage(content="x" * 200)
    for answer, start in [
        ({"raw": raw, "parsed": None, "parsing_error": ValueError("bad\nsecond line")}, "bad; raw: 'xxx"),
        ({"raw": raw, "parsed": None, "parsing_error": None}, "no JSON object; raw: 'xxx"),
        ({"raw": raw, "parsed": {"order_id": "A-12345"}, "parsing_error": None}, "the JSON was incomplete"),
    ]:
        value, problem = llm.read_structured(answer, Ticket)
        assert value is None and problem.startswith(start) and "\n" not in problem
        assert problem.endswith(repr("x" * 119 + "…"))
    off_schema = {"order_id": "nope", "urgent": True}
    answer = {"raw": AIMessage(json.dumps(off_schema)), "parsed": off_schema, "parsing_error": None}
    value, problem = llm.read_structured(answer, Ticket)
    assert value is None and problem.startswith("1 validation error")
    cut_off = AIMessage('{"order_id": "A-1', response_metadata={"finish_reason": "MAX_TOKENS"})
    value, problem = llm.read_structured({"raw": cut_off, "parsed": {"order_id": "A-1"}, "parsing_error": None})
    assert value is None and problem.startswith("the reply was cut off at the output token limit (MAX_TOKENS)")


@pytest.mark.parametrize(
    ("greeting", "closing", "first", "last"),
    [
        ("such as Dear Customer", "such as Best regards", "Dear Customer,", "Best regards,"),
        ('e.g., "Hello Sam,"', 'e.g., "Cheers!"', "Hello Sam,", "Cheers!"),
    ],
)
async def test_offline_email_greets_and_closes_as_the_prompt_exemplifies(
    greeting: str, closing: str, first: str, last: str
) -> None:
    prompt = (
        "Combine these points into one email to a customer:\n---\nOrder A-12345: shipped.\n---\n"
        f"Start with a friendly greeting ({greeting}) and end with a polite closing ({closing})."
    )
    text = (await OfflineChatModel().ainvoke([HumanMessage(prompt)])).text
    lines = text.splitlines()
    assert lines[0] == first and lines[-2:] == [last, "Customer Support"]
    assert "Order A-12345: shipped." in text


async def test_a_context_given_as_a_dict_is_read_setting_by_setting() -> None:
    """Studio's form and the SDK send the context as a dict: a number as text is read, a wrong kind is one line."""
    from graphs.faq_chain import graph

    documents = [{"title": "Tea", "content": "Green tea is picked in spring. Black tea is fully oxidised."}]
    result = await graph.ainvoke(
        {"documents": documents, "num_questions": 2}, context={"model": "offline", "max_concurrency": "1"}
    )
    assert len(result["faqs"]) == 2
    with pytest.raises(ValueError, match=r"^context temperature: input should be a valid number.*\(got 'hot'\)"):
        await graph.ainvoke({"documents": documents}, context={"model": "offline", "temperature": "hot"})


@pytest.mark.parametrize(
    ("asked", "limit"),
    [("Write a headline of at most eight words for this text:", 8), ("Give this a title in 5 words:", 5)],
)
def test_offline_reads_a_line_ending_on_a_colon_as_what_to_do_with_the_text_after_it(asked: str, limit: int) -> None:
    """The README's added chain step asks this way; the instruction is neither echoed nor taken for the text."""
    text = "A translated summary, which says that heat pumps move heat from outside air into a house even in winter."
    reply = OfflineChatModel().invoke([HumanMessage(f"{asked}\n{text}")]).text
    assert 0 < len(reply.split()) <= limit and reply.split()[0] == "A"
    assert asked not in reply and "translation unavailable" not in reply


@pytest.mark.parametrize("setting", [{"temperature": 0}, {"max_tokens": "300"}])
async def test_a_budget_given_in_a_dict_covers_the_whole_run_when_a_setting_is_read_by_its_type(
    setting: dict[str, object],
) -> None:
    """JSON has no float ("temperature": 0 is an int) and forms send text: reading them keeps the run's one meter."""
    from graphs.orchestrator import graph
    from state.orchestrator import LESSON_MESSAGE

    with pytest.raises(llm.BudgetSpent):
        await graph.ainvoke({"message": LESSON_MESSAGE}, context={"model": "offline", "max_tokens": 300, **setting})
