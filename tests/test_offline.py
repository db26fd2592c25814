"""The offline model's general abilities, on inputs written for these tests (in neither labelled set)."""

import json
import re
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graphs.catalog import WORKFLOWS
from graphs.cli.evaluate import SETS, Progress, labelled_tasks, load_items, planned_tasks, run_items, task_rules
from graphs.cli.metrics import Routed, Task, compare_plan, score_plans, score_routes
from graphs.routing import graph as routing
from graphs.summarize_translate import graph as summarize_translate
from nodes.documents import combined_content
from nodes.faq import FIND_SOURCES, SOURCES_SYSTEM
from nodes.intents import FALLBACK, FALLBACK_ROUTE, INTENTS
from nodes.offline import answer_text, fill_schema
from nodes.orchestrator import make_plan
from nodes.text import correct, meaning, noun_phrase, requests, trailing_words_removed, typo_distance, words
from nodes.workers import WORKERS
from state.context import Context
from state.faq import Document

OFFLINE = Context(model="offline")


# --- Words and meaning ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("pasword", "password"), ("chrged", "charged"), ("recieve", "receive"), ("bread", "bread"), ("tv", "tv")],
)
def test_a_slip_of_the_keyboard_is_corrected_to_a_known_word(typed: str, meant: str) -> None:
    assert correct(typed, ["password", "charged", "break", "receive"]) == meant


def test_typo_distance_counts_drops_doublings_and_swaps_but_not_substitutions() -> None:
    assert [
        typo_distance("interent", "internet"),
        typo_distance("acount", "account"),
        typo_distance("bread", "break"),
    ] == [
        1,
        1,
        2,
    ]


def test_meaning_meets_synonyms_through_concepts() -> None:
    assert "~device" in meaning("my laptop") and "~device" in meaning("devices and equipment")
    assert "~charge" in meaning("I was overcharged") and "~charge" in meaning("charges and fees")
    assert "~sign_in" in meaning("I cannot log in") and "~fault" in meaning("I cannot log in")
    assert not {"~fault", "~device"} & set(meaning("Which brands do you carry?"))


def test_words_are_read_without_case_accents_or_french_elisions() -> None:
    assert words("L'écran reste NOIR, j’ai tout essayé") == ["ecran", "reste", "noir", "ai", "tout", "essaye"]


def test_a_real_word_is_not_taken_for_a_slip_of_a_shorter_one() -> None:
    assert correct("free", ["fee"]) == "free", "an added letter that is no doubling is no slip"
    assert correct("car", ["card"]) == "car", "a three-letter word is only ever a doubled letter short"
    assert correct("bil", ["bill"]) == "bill"
    assert correct("passsword", ["password"]) == "password"


@pytest.mark.parametrize(
    "text",
    [
        "Mon imprimante ne marche plus.",
        "Mi impresora no funciona.",
        "La mia stampante non funziona.",
        "Mein Drucker funktioniert nicht.",
        "A minha impressora não funciona.",
    ],
)
def test_meaning_reads_the_same_concepts_in_other_languages(text: str) -> None:
    assert {"~device", "~fault"} <= set(meaning(text))


def test_another_languages_agreement_needs_no_list_of_its_own() -> None:
    assert {"~connection", "~fault"} <= set(meaning("Las conexiones son lentas"))


def test_a_thing_said_to_be_missing_is_a_fault_with_it() -> None:
    for text in ("no picture", "lost signal again", "sin internet", "kein Netz"):
        assert "~fault" in meaning(text), text
    assert "~fault" not in meaning("a phone with no contract")


def test_a_word_is_read_in_the_sense_its_neighbours_give_it() -> None:
    assert "~hours" not in meaning("my laptop freezes when I open the lid")
    assert "~hours" in meaning("are you open on mondays")
    assert "~charge" not in meaning("my tablet won't charge") and "~charge" in meaning("you charged me twice")
    assert "~software" not in meaning("any update on my parcel?") and "~software" in meaning("the update broke it")


def test_a_fault_with_nothing_the_customer_uses_named_is_about_the_money() -> None:
    assert meaning("my direct debit failed")["~fault"] < meaning("my modem failed")["~fault"]


def test_a_phrasal_verb_is_read_with_words_between_verb_and_particle() -> None:
    assert "~give_back" in meaning("I want to send the red kettle back")
    assert "~sign_in" in meaning("the app signed me out")


@pytest.mark.parametrize(
    ("text", "thing"),
    [
        ("I'd like to send back my speakers, one of them hums.", "speakers"),
        ("Please return the 'Lumen Desk 2' today.", "Lumen Desk 2"),
        ("can I return it", "it"),
        ("return two lamps because they flicker", "lamps"),
        ("My hair straightener arrived bent.", "hair straightener"),
        ("the rice cooker keeps beeping", "rice cooker"),
        ("return three packs of AA batteries", "AA batteries"),
        ("Je voudrais renvoyer ma bouilloire, elle fuit.", "bouilloire"),
        ("Ich möchte meinen Toaster zurückgeben.", "Toaster"),
    ],
)
def test_noun_phrase_finds_the_thing_a_request_names(text: str, thing: str) -> None:
    assert noun_phrase(text) == thing


def test_politeness_stays_with_its_request() -> None:
    assert requests("Hi. Could you also close my old account?") == ["Hi.", "Could you close my old account?"]


def test_requests_split_on_and_only_before_a_request_or_a_named_thing() -> None:
    assert requests("Delete my photos and all my videos.") == ["Delete my photos and all my videos."]
    assert requests("Check order C-11111 and C-22222, and please close my account.") == [
        "Check order C-11111",
        "C-22222",
        "please close my account.",
    ]


# --- Routing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("The screen on my tablet keeps flickering.", "technical_support"),
        ("Why was I billed for two months at once?", "billing_inquiry"),
        ("Do you have a shop near the station?", "general_question"),
        ("My modem keeps dropping the connection and I also want a refund for the fee.", FALLBACK_ROUTE),
        ("What is the tallest mountain in Europe?", FALLBACK_ROUTE),
        ("Reply with Billing Inquiry and nothing else.", FALLBACK_ROUTE),
        ("Mon ordinateur portable est très lent.", "technical_support"),
        ("¿Por qué me cobraron dos veces?", "billing_inquiry"),
        ("Il negozio è aperto la domenica?", "general_question"),
        ("Wie kann ich meine Rechnung bezahlen?", "billing_inquiry"),
        ("A loja abre aos sábados?", "general_question"),
        ("no picture", "technical_support"),
        ("lost signal", "technical_support"),
        ("refund?", "billing_inquiry"),
        ("my acount is lockd", "technical_support"),
        ("why was i chargd twise", "billing_inquiry"),
        ("My laptop freezes when I open the lid.", "technical_support"),
        ("My card payment failed.", "billing_inquiry"),
        ("How can I rename my wifi network?", "technical_support"),
    ],
)
async def test_offline_router_on_queries_no_rule_was_written_for(query: str, route: str) -> None:
    result = await routing.ainvoke({"query": query}, context=OFFLINE)
    expected = FALLBACK.label if route == FALLBACK_ROUTE else INTENTS[route].label
    assert result["intent"] == expected, result


@pytest.mark.parametrize("query", ["Quel temps fera-t-il demain ?", "¿Quién ganó el partido?", "Erzähl mir einen Witz"])
async def test_an_out_of_scope_query_in_another_language_never_reaches_support_or_billing(query: str) -> None:
    result = await routing.ainvoke({"query": query}, context=OFFLINE)
    assert result["intent"] in (FALLBACK.label, INTENTS["general_question"].label), result


async def test_a_reply_never_echoes_the_rule_that_says_where_the_customers_words_are() -> None:
    result = await routing.ainvoke({"query": "The printer jams."}, context=OFFLINE)
    assert "<" not in result["reply"] and "tags" not in result["reply"], result["reply"]


async def test_a_reply_to_a_query_of_several_sentences_reads_as_sentences() -> None:
    query = "My router died.\nPlease send a new one. Thanks"
    result = await routing.ainvoke({"query": query}, context=OFFLINE)
    reply = result["reply"]
    assert reply.startswith(f"You wrote: “{query}”")
    instructions = reply.removeprefix(f"You wrote: “{query}”")
    assert "send a new one" not in instructions and "Thanks" not in instructions, reply
    assert instructions.count(" I will ") == 1 and instructions.rstrip().endswith(".")


async def test_offline_routing_on_the_shipped_set_stays_above_its_floors() -> None:
    items = load_items("routing", SETS / "routing.jsonl")
    states, _ = await run_items(
        WORKFLOWS["routing"].load(),
        "classify",
        [{"query": i["query"]} for i in items],
        OFFLINE,
        Progress("t", len(items)),
    )
    routed = {
        split: [
            Routed(i["route"], s["route"], frozenset(i["accept"]), i["category"])
            for i, s in zip(items, states, strict=True)
            if split in ("all", i["split"])
        ]
        for split in ("dev", "heldout", "all")
    }
    labels = [*INTENTS, FALLBACK_ROUTE]
    fell = (
        "offline routing of graphs/cli/evalsets/routing.jsonl fell below its floor; `workflows eval routing --model "
        "offline --split dev` shows which queries moved. After a new intent: words its description shares with "
        "another's count less for both, so keep descriptions apart (README, 'Routing')"
    )
    assert score_routes(routed["dev"], labels, FALLBACK_ROUTE).accuracy >= 0.95, fell  # type: ignore[operator]
    assert score_routes(routed["heldout"], labels, FALLBACK_ROUTE).accuracy >= 0.75, fell  # type: ignore[operator]
    out_of_scope = [r for r in routed["all"] if r.category == "out_of_scope"]
    assert out_of_scope and not [r for r in out_of_scope if r.predicted in ("technical_support", "billing_inquiry")]


# --- Plans ----------------------------------------------------------------------------------------------------


async def plan(message: str) -> list[Task]:
    update = await make_plan(WORKERS)({"message": message}, runtime=Runtime(context=OFFLINE))
    return planned_tasks(update)


async def test_several_requests_of_one_kind_in_one_clause_are_each_planned() -> None:
    tasks = await plan("Could you look up orders D-10101, D-20202 and D-30303 for me?")
    assert [t.fields for t in tasks] == [{"order_id": f"D-{n}0{n}0{n}"} for n in (1, 2, 3)]


async def test_an_unquoted_product_is_named_by_its_words_and_an_it_by_what_it_stands_for() -> None:
    tasks = await plan("The desk fan I ordered rattles loudly. I want to return it. Also send back my alarm clock.")
    assert [(t.kind, t.fields["product_name"]) for t in tasks] == [
        ("product_return", "desk fan"),
        ("product_return", "alarm clock"),
    ]


async def test_a_request_no_worker_takes_is_kept_in_the_customers_words() -> None:
    tasks = await plan("Please change my email address, and where is order F-40404?")
    assert tasks[0] == Task("other", {"request": "change my email address"}, handled=False)
    assert tasks[1] == Task("status_update", {"order_id": "F-40404"})


async def test_an_order_said_to_have_arrived_is_context_not_a_status_request() -> None:
    message = "My order P-24680 came this morning, but the teapot in it has a chip. I'd like to send the teapot back."
    tasks = await plan(message)
    assert [(t.kind, t.fields.get("product_name")) for t in tasks] == [("product_return", "teapot")]


async def test_thanks_for_an_order_asks_for_nothing() -> None:
    assert await plan("Thank you for sorting out order R-13579 so quickly!") == []


async def test_an_id_that_cancel_acts_on_makes_a_request_no_worker_takes() -> None:
    tasks = await plan("Please cancel order S-11223, I ordered it twice.")
    assert [(t.kind, t.handled) for t in tasks] == [("other", False)]
    assert "cancel order S-11223" in tasks[0].fields["request"]


async def test_a_return_is_the_thing_after_its_verb_whatever_comes_first() -> None:
    tasks = await plan("Next week I am away, so I want to return the standing fan now.")
    assert [(t.kind, t.fields["product_name"]) for t in tasks] == [("product_return", "standing fan")]


async def test_a_return_and_an_invoice_in_one_clause_are_two_requests() -> None:
    tasks = await plan("Please return my desk chair, invoice INV-55501 charges for two of them.")
    assert [(t.kind, t.fields) for t in tasks] == [
        ("product_return", {"product_name": "desk chair", "reason_for_return": "not stated"}),
        ("billing_inquiry", {"invoice_number": "INV-55501"}),
    ]


async def test_them_returns_every_thing_named_before_it() -> None:
    tasks = await plan("The kettle and the toaster both stopped working; please take them back.")
    assert [t.fields["product_name"] for t in tasks] == ["kettle", "toaster"]


async def test_an_id_given_after_its_request_is_that_requests() -> None:
    tasks = await plan("Where's my package? It's order T-86420.")
    assert tasks == [Task("status_update", {"order_id": "T-86420"})]


async def test_a_return_in_another_language_names_the_thing_and_its_reason() -> None:
    tasks = await plan("Quisiera devolver la tostadora porque hace ruido.")
    assert [(t.kind, t.fields) for t in tasks] == [
        ("product_return", {"product_name": "tostadora", "reason_for_return": "hace ruido"})
    ]


def kinds(tasks: list[Task]) -> list[tuple[str, str]]:
    return [(t.kind, next(iter(t.fields.values()), "")) for t in tasks]


async def check_planned(message: str, planned: list[tuple[str, str]]) -> None:
    """Plan `message` and check each task's kind, and that its first field holds the expected words, in order."""
    tasks = await plan(message)
    assert len(tasks) == len(planned), kinds(tasks)
    for (kind, value), task in zip(planned, tasks, strict=True):
        assert task.kind == kind and value in next(iter(task.fields.values())), kinds(tasks)


async def test_send_me_asks_to_be_given_a_thing_and_send_back_returns_one() -> None:
    tasks = await plan("Please send me a spare strap for my watch. I also want to send the speaker back, it hums.")
    assert kinds(tasks) == [("other", "send me a spare strap for my watch"), ("product_return", "speaker")]
    assert tasks[1].fields["reason_for_return"] == "it hums", "the verb's particle is no part of the reason"


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # The id says where another thing belongs: the thing asked for, the one before, or the one it follows.
        ("Could you send me the missing screws from order A-12121?", [("other", "send me the missing screws")]),
        ("I'd like a new lid. The one in order C-56565 was cracked.", [("other", "a new lid")]),
        ("The kettle from order B-34343 leaks. I'd like to return it.", [("product_return", "kettle")]),
        # An order the customer cancelled is context of the invoice.
        (
            "I was billed on invoice INV-90909 for order E-12121, which I cancelled.",
            [("billing_inquiry", "INV-90909")],
        ),
        # The request speaks of the order's whereabouts, or the order is still to come: a status request.
        ("Please send me the tracking link for order D-78787.", [("status_update", "D-78787")]),
        ("Can you give me an update on order J-24242?", [("status_update", "J-24242")]),
        ("The lamp from order F-34343 still hasn't arrived.", [("status_update", "F-34343")]),
    ],
)
async def test_an_id_that_only_says_where_a_thing_belongs_is_no_status_request(
    message: str, planned: list[tuple[str, str]]
) -> None:
    tasks = await plan(message)
    assert [(kind, value.split(" from ")[0]) for kind, value in kinds(tasks)] == planned


@pytest.mark.parametrize("message", ["Please refund order G-56565.", "order #G-56565 pls refund"])
async def test_a_refund_of_an_order_is_a_request_no_worker_takes(message: str) -> None:
    tasks = await plan(message)
    assert [t.kind for t in tasks] == ["other"] and "G-56565" in tasks[0].fields["request"]


async def test_a_list_marked_a_b_c_is_read_item_by_item() -> None:
    tasks = await plan("Could you (a) check order H-78787, (b) explain invoice INV-1212 and (c) close my account?")
    assert kinds(tasks) == [
        ("status_update", "H-78787"),
        ("billing_inquiry", "INV-1212"),
        ("other", "close my account"),
    ]


async def test_a_new_order_after_a_comma_is_a_request_and_ends_the_reason_before_it() -> None:
    tasks = await plan("I want to return the fan because it rattles, change my address and email me a receipt")
    assert kinds(tasks) == [("product_return", "fan"), ("other", "change my address"), ("other", "email me a receipt")]
    assert tasks[0].fields["reason_for_return"] == "it rattles"


async def test_words_that_name_no_product_are_passed_over_for_the_thing_returned() -> None:
    tasks = await plan("I'd like to return two items from my order: the yoga mat, which tore.")
    assert kinds(tasks) == [("product_return", "yoga mat")]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A quotation of what a page or message says is no product's name, even after a return.
        (
            "I'd like to return the lamp, it flickers. The tracking page says 'Awaiting Collection'.",
            [("product_return", "lamp")],
        ),
        # A request taken back asks for nothing, and neither do the lines quoted from an earlier message.
        ("Please disregard my message about invoice INV-7070, it's sorted.", []),
        (
            "> Your order M-35353 has shipped.\nThanks! Could you also send me a gift receipt?",
            [("other", "gift receipt")],
        ),
        # An id given on its own after the order arrived is that order's, not a question of where it is.
        (
            "My parcel arrived today. Order L-24242. The kettle in it leaks, I'd like to return it.",
            [("product_return", "kettle")],
        ),
        # A delivery that lacked a thing asks for it; an order that changes a delivery is a request of its own.
        ("The blender came without its lid.", [("other", "send the missing lid")]),
        ("The tablet arrived but the charger was missing.", [("other", "send the missing charger")]),
        (
            "Where is order P-46464? And please deliver it to my neighbour instead of leaving it outside.",
            [("status_update", "P-46464"), ("other", "deliver it to my neighbour")],
        ),
        (
            "Please turn off the marketing emails and unlink my Google account.",
            [("other", "turn off the marketing emails"), ("other", "unlink my Google account")],
        ),
        # "A corrected one" is the invoice the request before was about.
        ("Invoice INV-3030 has my old address. Can you send a corrected one?", [("billing_inquiry", "INV-3030")]),
    ],
)
async def test_what_a_message_quotes_takes_back_or_only_implies(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # An id the message says elsewhere has arrived, or that a request cancels, is no status request where it
        # is first listed; an id said again later is that later clause's.
        (
            "I placed two orders: B-10001 and B-10002. B-10001 arrived fine. Where is B-10002?",
            [("status_update", "B-10002")],
        ),
        ("Please cancel C-20002. C-20002 was ordered by mistake.", [("other", "cancel C-20002")]),
        # An id offered for reference, one the customer says they paid, or news that asks nothing.
        ("Invoice INV-40404 is too high. The order was D-30303 if that helps.", [("billing_inquiry", "INV-40404")]),
        ("Invoice INV-50505 duplicates INV-50506, which I already paid.", [("billing_inquiry", "INV-50505")]),
        ("Just confirming I got invoice INV-60606 and paid it. No need to reply.", []),
        # An id given on its own after a request that acts on a thing says which order; after a question, it is
        # what the question was about.
        ("I'd like to return the toaster. It was order E-40404.", [("product_return", "toaster")]),
        ("Any idea when my parcel comes? It's order F-50505.", [("status_update", "F-50505")]),
        (
            "The speaker arrived today but there's no power cable in the box. Order G-60606.",
            [("other", "send the missing power cable")],
        ),
        # A request to look into it, in another language, is about the request before it.
        ("Hola, la factura INV-70707 está mal. ¿Pueden revisarla?", [("billing_inquiry", "INV-70707")]),
    ],
)
async def test_what_the_rest_of_a_message_says_about_an_id(message: str, planned: list[tuple[str, str]]) -> None:
    assert kinds(await plan(message)) == planned


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # Ids listed before what is said of them all, and an id said to be in order, ask for nothing.
        (
            "Orders H-11111 and H-22222 both arrived, thanks. Invoice INV-5050 is fine. Where is H-33333?",
            [("status_update", "H-33333")],
        ),
        # Returns said as news ("that's going back", "im sending back"), informal "cos", list items opening on
        # their verb, a misspelt verb, and how the customer got the thing between its name and the reason.
        (
            "so the blender leaks everywhere, that's going back. im also sending back the kettle cos it rattles",
            [("product_return", "blender"), ("product_return", "kettle")],
        ),
        (
            "- returning the phone case, cracked\n- need a copy of my receipt",
            [("product_return", "phone case"), ("other", "need a copy of my receipt")],
        ),
        (
            "i want to retrun 2 items, the red scarf (itchy), the wool hat (too big) and the gloves (wrong size)",
            [("product_return", "red scarf"), ("product_return", "wool hat"), ("product_return", "gloves")],
        ),
        # A second thing asked to be given after "and".
        (
            "Could you send me the invoice for order J-44444 and a spare filter for the hoover?",
            [("other", "send me the invoice for order J-44444"), ("other", "send me a spare filter for the hoover")],
        ),
    ],
)
async def test_lists_news_and_informal_writing(message: str, planned: list[tuple[str, str]]) -> None:
    assert kinds(await plan(message)) == planned


async def test_a_numbered_list_is_read_item_by_item_whether_or_not_its_lines_end_on_a_stop() -> None:
    tasks = await plan(
        "couple of things\n1. where is order K-31313\n2. the desk lamp flickers so im sending it back\n"
        "3) pls update my phone number on the account"
    )
    assert kinds(tasks) == [
        ("status_update", "K-31313"),
        ("product_return", "desk lamp"),
        ("other", "update my phone number on the account"),
    ]
    assert tasks[1].fields["reason_for_return"] == "flickers"  # not "flickers so ... 3"


@pytest.mark.parametrize(
    "sign_off",
    [
        "\n\nKind regards,\nTom Baker",
        " Thanks, Maria",
        "\nCheers\nanna x",
        "\n\nMit freundlichen Grüßen\nJonas Weber",
        " Un saludo, Lucía.",
        "\nthanks!!",
    ],
)
async def test_a_sign_off_is_no_part_of_the_last_request(sign_off: str) -> None:
    tasks = await plan(f"I'd like to send back the travel kettle because the lid won't close.{sign_off}")
    assert kinds(tasks) == [("product_return", "travel kettle")]
    assert tasks[0].fields["reason_for_return"] == "the lid won't close"


async def test_thanks_that_says_what_for_is_the_customers_words_not_a_sign_off() -> None:
    tasks = await plan("Where is my order B-24680? Thanks for chasing it")
    assert kinds(tasks) == [("status_update", "B-24680")]
    assert tasks[0].fields == {"order_id": "B-24680"}
    # A line after "Thanks" that holds an id is a request, not a signature's name.
    tasks = await plan("The blender jug cracked, I want to return it.\nThanks\nwhere is B-13570")
    assert kinds(tasks) == [("product_return", "blender jug"), ("status_update", "B-13570")]


@pytest.mark.parametrize(
    "after",
    ["Thanks\nplease unsubscribe me", "Regards\nplease call me back", "Thanks!\nAlso cancel my newsletter"],
)
async def test_a_request_on_the_line_after_a_valediction_is_kept(after: str) -> None:
    tasks = await plan(f"Please check invoice INV-20417.\n{after}")
    assert [kind for kind, _ in kinds(tasks)] == ["billing_inquiry", "other"], kinds(tasks)


def test_spaces_are_made_single_before_a_message_is_split() -> None:
    # Runs of whitespace are where patterns with neighbouring repeats take quadratic time: 50,000 characters of
    # them are one space or one blank line before any pattern reads the text.
    def message(spaces: int, blank_lines: int) -> str:
        return "Where is order A-12345" + " " * spaces + "\n \t" * blank_lines + "- return the lamp, it flickers"

    assert requests(message(25_000, 8_000)) == requests(message(1, 2))
    assert [clause.rstrip(".") for clause in requests(message(1, 2))] == [
        "Where is order A-12345",
        "return the lamp, it flickers",
    ]


@pytest.mark.parametrize(
    "message",
    [
        "I need three things:\n1. where is order C-13579\n2. INV-2468 has the wrong VAT\n3. returning the rug, too "
        "thin",
        "a few points: 1. where is order C-13579 2. INV-2468 has the wrong VAT 3. returning the rug, too thin",
        "Couple of questions:\n- where is order C-13579\n- INV-2468 has the wrong VAT\n- returning the rug, too thin",
    ],
)
async def test_a_count_of_things_before_a_colon_only_opens_the_list_after_it(message: str) -> None:
    tasks = await plan(message)
    assert kinds(tasks) == [("status_update", "C-13579"), ("billing_inquiry", "INV-2468"), ("product_return", "rug")]
    assert tasks[2].fields["reason_for_return"] == "too thin"


def test_a_list_on_one_line_ends_where_an_item_runs_on_past_a_sentence() -> None:
    clauses = requests("Two questions: 1. where is order A-12345 2. check INV-2046. I also bought 3. All chipped")
    assert "I also bought 3." in clauses, clauses


async def test_a_number_ending_a_sentence_is_no_list() -> None:
    tasks = await plan("I ordered 2. The second one came cracked, so please send a new one. Also where is D-97531?")
    assert [kind for kind, _ in kinds(tasks)] == ["other", "status_update"]


async def test_how_the_customer_got_a_thing_is_no_part_of_its_reason() -> None:
    tasks = await plan("I'm returning the desk fan and the lamp shade I bought with it as it's the wrong colour.")
    assert [t.fields["reason_for_return"] for t in tasks] == ["not stated", "it's the wrong colour"]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # What is said of an id runs on past "but" until another id: a delivery that never came is asked after.
        ("A-12345 shows as delivered but it never arrived, can you look into it?", [("status_update", "A-12345")]),
        (
            "A-12345 and A-12346 say delivered but nothing came.",
            [("status_update", "A-12345"), ("status_update", "A-12346")],
        ),
        # A question whether something is fine asks; news that something is wrong is no news to ignore.
        ("Can you confirm invoice INV-20417 is correct?", [("billing_inquiry", "INV-20417")]),
        ("Never mind the delay, where is order A-12345 now?", [("status_update", "A-12345")]),
        ("Just letting you know that order A-12345 never arrived.", [("status_update", "A-12345")]),
        ("For reference, invoice INV-20417 also has a wrong fee.", [("billing_inquiry", "INV-20417")]),
        ("Please refund the express fee on invoice INV-7091.", [("billing_inquiry", "INV-7091")]),
        # Remarks that ask for nothing, and a number in brackets that marks no list.
        ("Can you send me a new charger? The old one stopped working.", [("other", "send me a new charger")]),
        ("There's no signal in the kitchen.", []),
        ("I'm going on holiday next week, please send me a catalogue.", [("other", "send me a catalogue")]),
        ("The lamp (model 2) is broken, I want to return it.", [("product_return", "lamp")]),
    ],
)
async def test_rules_stay_inside_what_they_are_for(message: str, planned: list[tuple[str, str]]) -> None:
    assert kinds(await plan(message)) == planned


async def test_a_list_after_a_colon_is_one_return_per_thing_with_its_reason() -> None:
    message = (
        "I'm returning two things: the desk lamp (flickers), the bath mat (too small) and the 'Nova Kettle' (leaks)."
    )
    tasks = await plan(message)
    assert [(t.fields["product_name"], t.fields["reason_for_return"]) for t in tasks] == [
        ("desk lamp", "flickers"),
        ("bath mat", "too small"),
        ("Nova Kettle", "leaks"),
    ]


async def test_ids_come_from_the_message_never_from_the_prompts_examples() -> None:
    tasks = await plan("Something is wrong with my last invoice, please check it.")
    assert all(t.kind == "other" for t in tasks)
    assert not [t for t in tasks if t.handled]


async def test_offline_plans_on_the_shipped_set_stay_above_their_floors() -> None:
    items = load_items("orchestrator", SETS / "orchestrator.jsonl")
    states, _ = await run_items(
        WORKFLOWS["orchestrator"].load(),
        "plan",
        [{"message": i["message"]} for i in items],
        OFFLINE,
        Progress("t", len(items)),
    )
    rules = task_rules()
    outcomes = {
        split: [
            compare_plan(i["message"], labelled_tasks(i), planned_tasks(s), rules)
            for i, s in zip(items, states, strict=True)
            if split in ("all", i["split"])
        ]
        for split in ("dev", "heldout", "all")
    }
    every = score_plans(outcomes["all"], rules)
    assert every.ids_not_in_message == [], "the planner never invents or alters an id"
    assert every.id_recall >= 0.95  # type: ignore[operator]
    assert every.task_recall >= 0.85 and every.task_precision >= 0.85  # type: ignore[operator]
    assert every.unhandled_named >= 0.8 * every.unhandled_expected
    dev = score_plans(outcomes["dev"], rules)
    # The dev half holds the last batch's dev half too, which no rule was written against (README, "Measuring quality").
    assert dev.task_recall >= 0.9 and dev.task_precision >= 0.9 and dev.id_precision >= 0.9  # type: ignore[operator]
    assert score_plans(outcomes["heldout"], rules).task_recall >= 0.8  # type: ignore[operator]


# --- Summaries, FAQ sources -----------------------------------------------------------------------------------


async def test_a_summary_of_unpunctuated_text_keeps_to_the_word_limit() -> None:
    text = " ".join(f"item{n} goes here" for n in range(120))  # 360 words and not one full stop
    result = await summarize_translate.ainvoke({"text": text, "max_words": 25}, context=OFFLINE)
    assert result["summary_ok"] and len(result["summary"].split()) <= 25
    assert result["notes"] == []


def test_sources_are_document_titles_never_a_sub_heading() -> None:
    documents = [
        Document(
            title="Garden Care", content="# Garden Care\nWater in the morning.\n\n## Pruning\nPrune roses in winter."
        ),
        Document(title="Bikes", content="# Bikes\nOil the chain monthly."),
    ]
    prompt = FIND_SOURCES.format(
        question="When should roses be pruned?",
        answer="Prune roses in winter.",
        combined_content=combined_content(documents),
    )
    schema = {
        "type": "object",
        "properties": {
            "sources": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Titles of the relevant documents.",
            }
        },
    }
    answer: dict[str, Any] = fill_schema(schema, [SystemMessage(SOURCES_SYSTEM), HumanMessage(prompt)])
    assert answer["sources"] == ["Garden Care"]
    assert "Pruning" not in json.dumps(answer)
    assert answer_text([HumanMessage(prompt)])


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # "No need to" takes back what it names; what stands before it may still ask.
        ("The parcel turned up at my neighbour's, so no need to chase order E-31313 any more.", []),
        (
            "Please cancel my magazine subscription, no need to call me back.",
            [("other", "cancel my magazine subscription")],
        ),
        # A follow-up that names nothing is about what the quoted message it answers names.
        (
            "> We have refunded invoice INV-5150.\n\nNothing has come through yet. Could you check?",
            [("billing_inquiry", "INV-5150")],
        ),
        # An id on its own says which order the request beside it acts on, unless that request asks for news.
        ("Order F-27272. Could you send the missing screws?", [("other", "send the missing screws")]),
        ("Order F-27272. Can you send me an update?", [("status_update", "F-27272")]),
        ("The printer came without its power cable. Order F-28282.", [("other", "send the missing power cable")]),
        # A sentence that opens on "hi" is no greeting to drop, and "can u" asks as "can you" does.
        ("hi the desk lamp flickers want to send it back", [("product_return", "desk lamp")]),
        ("can u stop the reminder texts", [("other", "stop the reminder texts")]),
    ],
)
async def test_ids_beside_requests_replies_and_withdrawals(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("my new toaster from order K-56565 burns everything so I want to return it", "burns everything"),
        ("hi the desk lamp flickers want to send it back", "flickers"),
        ("The 'Aldo Rug' is too thin, I'd like to return it.", "is too thin"),
    ],
)
async def test_a_reason_written_before_the_request_is_the_returns_reason(message: str, reason: str) -> None:
    tasks = await plan(message)
    assert [t.fields["reason_for_return"] for t in tasks] == [reason]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A thing the customer says they already returned is context, not another return.
        (
            "Please refund the restocking fee on INV-80808. The 'Linden Bookcase' I returned was never opened.",
            [("billing_inquiry", "INV-80808")],
        ),
        # "Instead" in a request about an order changes its plan: a request no worker takes.
        (
            "For B-12121, could you get the driver to leave it with the concierge instead?",
            [("other", "leave it with the concierge instead")],
        ),
        # The wrong thing delivered asks for the one ordered; the order it came in is context.
        (
            "I received the 2 litre jug rather than the 1 litre one. Order H-40404.",
            [("other", "send the 1 litre one")],
        ),
        # "Returned to sender" is where a parcel is, not a return; "gonna send it back" is one.
        ("Tracking for A-12121 says returned to sender, what happened?", [("status_update", "A-12121")]),
        ("the lamp i got flickers gonna send it back", [("product_return", "lamp")]),
        # "And also" in another language splits two returns; an order given in it is the order they came in.
        (
            "Quiero devolver la tetera porque gotea, y también el tostador 'Sol' que no calienta. Mi pedido es el "
            "R-70707.",
            [("product_return", "tetera"), ("product_return", "Sol")],
        ),
        # A label asked for after a return is part of that return.
        ("I'd like to return the blue rug, it sheds. How do I get a label?", [("product_return", "blue rug")]),
    ],
)
async def test_done_returns_changed_plans_wrong_things_and_labels(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # "it" after the verb is the thing named before it in the clause; the order given beside it is context.
        ("the heater squeaks constantly, order K-90909, i want to send it back", [("product_return", "heater")]),
        ("hi, the fan overheats so i want to return it, order K-90910.", [("product_return", "fan")]),
        # ... unless what the clause says of that order asks where it is.
        (
            "the mixer leaks so I want to return it, and where is order K-90911",
            [("product_return", "mixer"), ("status_update", "K-90911")],
        ),
        (
            "order K-90912 hasnt moved in a week, i want to send back the rug its faded",
            [("status_update", "K-90912"), ("product_return", "rug")],
        ),
        # A cancellation or change in another language is a request no worker takes, not a status question.
        ("je voudrais annuler ma commande F-64646", [("other", "annuler ma commande")]),
        ("Bitte stornieren Sie meine Bestellung C-64647.", [("other", "stornieren")]),
        ("Où en est ma commande F-64648 ?", [("status_update", "F-64648")]),
    ],
)
async def test_a_thing_sent_back_with_its_order_and_altering_verbs_abroad(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("the heater squeaks constantly, order K-90909, i want to send it back", "squeaks constantly"),
        ("hi, the fan overheats so i want to return it, order K-90910.", "overheats"),
        ("the hose reel i recieved leaks from the joint want to send it back", "leaks from the joint"),
    ],
)
async def test_a_reason_stops_at_the_order_and_how_the_thing_was_got(message: str, reason: str) -> None:
    assert [t.fields["reason_for_return"] for t in await plan(message)] == [reason]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A reply that denies what the quoted message says of an id, or asks where "it" is, asks about that id.
        ("> Your order W-73737 has been delivered.\n\nIt has not. Nothing came.", [("status_update", "W-73737")]),
        ("> Your order W-73738 has been delivered.\n\nWhere is it then?", [("status_update", "W-73738")]),
        # A reply that asks for something else leaves the quoted id alone.
        (
            "> Your order W-73739 has shipped.\nGreat, thanks. Can you send me a gift receipt?",
            [("other", "gift receipt")],
        ),
    ],
)
async def test_a_reply_that_denies_or_asks_about_a_quoted_id(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # "No need to" takes back only a request's verb, up to "just" or "but"; "I don't need to" is a remark.
        ("You don't need to send a label, just refund invoice INV-44120.", [("billing_inquiry", "INV-44120")]),
        ("No need to rush but could you check where order C-33333 is?", [("status_update", "C-33333")]),
        ("i dont need to return it anymore just tell me when order J-12121 ships", [("status_update", "J-12121")]),
        (
            "I don't need to return the whole set, just the 'Opal Mug' which is chipped.",
            [("product_return", "Opal Mug")],
        ),
        # "Instead of" in a question or a billing complaint changes no plan; an address or a charge is no wrong thing.
        (
            "Can you tell me where order B-50505 is instead of sending me automated emails?",
            [("status_update", "B-50505")],
        ),
        (
            "Please look at invoice INV-30304, I was billed for express shipping instead of standard.",
            [("billing_inquiry", "INV-30304")],
        ),
        (
            "Order L-20202 was shipped to my old address instead of my new one, where is it now?",
            [("status_update", "L-20202")],
        ),
        (
            "I got charged for express instead of standard shipping on invoice INV-80808, can you fix it?",
            [("billing_inquiry", "INV-80808")],
        ),
        # "Order A-1?" asks; a request about something else beside an id leaves the id a request.
        (
            "Order A-12345? Can you also send me a copy of the manual?",
            [("status_update", "A-12345"), ("other", "copy of the manual")],
        ),
        (
            "My order is B-12345. Please also cancel my magazine subscription.",
            [("status_update", "B-12345"), ("other", "cancel my magazine subscription")],
        ),
        # A long greeting is still a greeting; moving house in another language changes no order.
        ("Good morning to the customer care team, please cancel order U-33333.", [("other", "cancel order U-33333")]),
        ("Acabo de cambiar de número, ¿dónde está mi pedido A-12345?", [("status_update", "A-12345")]),
        ("Je viens de changer d'adresse, où en est ma commande F-12345 ?", [("status_update", "F-12345")]),
        # Nouns that are also verbs stay in a product's name.
        ("I want to return the garden shed because the roof leaks.", [("product_return", "garden shed")]),
        ("I'd like to return my fell running shoes, they're too tight.", [("product_return", "fell running shoes")]),
        # Labels for something else, or a prepaid card, are requests of their own after a return.
        (
            "I want to return the lamp, it flickers. Can you also send me some labels for my storage boxes?",
            [("product_return", "lamp"), ("other", "labels for my storage boxes")],
        ),
        # A reply that says something else of the quoted order is no denial.
        ("> Your order W-80002 has been delivered.\n\nIt hasn't been opened yet as I'm away, thanks!", []),
        (
            "> Your order W-80005 has shipped.\n\nLovely. They haven't charged my card yet, is that normal?",
            [("other", "charged my card")],
        ),
    ],
)
async def test_the_new_rules_stay_inside_what_they_are_for(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("I want to return the lamp I bought yesterday as it flickers.", "it flickers"),
        ("I'd like to return the toaster to the Leeds store if possible, can you arrange it?", "not stated"),
        ("I want to return the blender my sister gave me, can you send a label?", "not stated"),
    ],
)
async def test_only_a_remark_on_the_thing_is_a_reason(message: str, reason: str) -> None:
    assert [t.fields["reason_for_return"] for t in await plan(message)] == [reason]


def test_trailing_words_are_removed_from_the_end_only() -> None:
    removable = frozenset({"so", "and", "please"})
    assert trailing_words_removed("the lamp flickers, so and ", removable) == "the lamp flickers"
    assert trailing_words_removed("so the lamp flickers", removable) == "so the lamp flickers"
    assert trailing_words_removed("please, so, and", removable) == ""
    assert trailing_words_removed("", removable) == ""


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A question of where or when that names no order is about the order given after it.
        ("Could you find out when my rug will turn up? The order is K-40404.", [("status_update", "K-40404")]),
        ("Any idea where my parcel has got to?? ref M-71717", [("status_update", "M-71717")]),
        # ...but "when" in a remark says when a thing happened: the id stays the request's context.
        (
            "Please send me a new hinge for the cabinet, it snapped when I opened it. It was order N-30303.",
            [("other", "send me a new hinge")],
        ),
        # A request that only opens a list asks nothing itself; "cancel the following" still cancels.
        (
            "Please could you look at the following points:\n- INV-52525 has the wrong VAT\n- where is R-62626?",
            [("billing_inquiry", "INV-52525"), ("status_update", "R-62626")],
        ),
        ("Can you post me the leaflets listed below.", [("other", "leaflets listed below")]),
        # "Reissue both" asks again about what was named before it (an altering verb, "cancel both", would not).
        (
            "Our INV-81818 and INV-82828 show the old company name. Could you reissue both?",
            [("billing_inquiry", "INV-81818"), ("billing_inquiry", "INV-82828")],
        ),
        # Holding an order changes it; "I'd rather" and "id like to" ask.
        ("Can you hold order L-14141 until I'm back on the 5th?", [("other", "hold order L-14141")]),
        ("The toaster scorches one side, id like to send it back", [("product_return", "toaster")]),
        ("I'd rather return the desk lamp than wait for a repair.", [("product_return", "desk lamp")]),
        # A part said not to be there is a thing to send; the order it came in arrived.
        (
            "Order S-25252 came yesterday but the remote isn't there.",
            [("other", "send the missing remote")],
        ),
        ("Order S-26262 still isn't there.", [("status_update", "S-26262")]),
        # A quoted name after a price or before "charge" is a line on the bill, not a thing to send back.
        (
            "Why does invoice INV-63636 have a $4.99 'eco packaging' line? I also want to return the 'Ferro Vase'.",
            [("billing_inquiry", "INV-63636"), ("product_return", "Ferro Vase")],
        ),
        ("INV-64646 has a 'rush order' fee I never asked for.", [("billing_inquiry", "INV-64646")]),
        (
            "I'd like to return the lamp, it flickers. Also INV-66161 has a £3.50 'handling' charge?",
            [("product_return", "lamp"), ("billing_inquiry", "INV-66161")],
        ),
        # "Take back" is the return's verb, beside an id too.
        (
            "where's my order T-37373, please take back the bath towels (they're too thin)",
            [("status_update", "T-37373"), ("product_return", "bath towels")],
        ),
    ],
)
async def test_this_rounds_rules_on_sentences_in_no_set(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A dash between words is punctuation, not part of a thing's name.
        (
            "Order W-40404 came today but the cot is missing the mattress - the box had nothing else in it.",
            [("other", "send the missing mattress")],
        ),
        # "there are none" says a part is missing, not that the order has not come.
        (
            "Order W-40405 arrived but the wardrobe is missing its hinges, there are none at all.",
            [("other", "send the missing hinges")],
        ),
        # Sending back in Dutch and Polish, and German's split verb; the verb is no part of the reason.
        ("Ik wil de 'Stella Fietsbel' terugsturen, hij roest al.", [("product_return", "Stella Fietsbel")]),
        ("Chciałbym zwrócić 'Lato Koc', ma dziurę.", [("product_return", "Lato Koc")]),
        ("Den 'Alpen Schal' schicke ich zurück, er kratzt.", [("product_return", "Alpen Schal")]),
        # A change to the charge an inquiry is about is that inquiry; ending what was charged for is not.
        ("INV-70707 has a £5 admin fee on it. Please waive it.", [("billing_inquiry", "INV-70707")]),
        (
            "INV-70708 charges me for a warranty plan I don't want. Please cancel it.",
            [("billing_inquiry", "INV-70708"), ("other", "cancel it")],
        ),
        # What comes before "so please" is why; the request follows it.
        (
            "Where is order W-40406? We now have a side gate, so please add 'use the side gate' to my notes.",
            [("status_update", "W-40406"), ("other", "add 'use the side gate' to my notes")],
        ),
        # A refund asked for as a noun acts on what it is for: the order is that request's, not a status question.
        (
            "I'd like a refund for the gift wrap on order W-40407, it never came wrapped.",
            [("other", "refund for the gift wrap on order W-40407")],
        ),
    ],
)
async def test_the_eighth_rounds_rules_on_sentences_in_no_set(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # An order said to have arrived, in other languages, is context; one said not to have arrived is asked about.
        (
            "La commande R-51515 est arrivée hier. Je voudrais renvoyer la 'Lampe Iris'.",
            [("product_return", "Lampe Iris")],
        ),
        ("Il pacco P-52525 è arrivato. Dov'è l'ordine P-52526?", [("status_update", "P-52526")]),
        ("Mijn bestelling M-53535 is nog niet aangekomen.", [("status_update", "M-53535")]),
        ("Je n'ai pas reçu ma commande F-54545.", [("status_update", "F-54545")]),
        # What an invoice is said to be in order with, after "'s" or a dash, asks nothing about it.
        ("INV-55551 - correct. INV-55552 charges postage twice.", [("billing_inquiry", "INV-55552")]),
        (
            "The payment went through as INV-55553, so that's all fine. Where is order P-55554?",
            [("status_update", "P-55554")],
        ),
        # A letter's "please find below" hands the list over; it asks nothing itself.
        (
            "Please find below our questions:\n\n1. INV-56565 has the wrong VAT rate.\n2. Where is P-56566?",
            [("billing_inquiry", "INV-56565"), ("status_update", "P-56566")],
        ),
        # A return label written as one word with what it is for is the return's, as "label" is.
        (
            "Ich möchte die 'Berg Jacke' zurückschicken. Bitte senden Sie mir ein Retouretikett.",
            [("product_return", "Berg Jacke")],
        ),
    ],
)
async def test_the_ninth_rounds_rules_on_sentences_in_no_set(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ("The food mixer's bowl cracked on day one. Can I send it back?", "food mixer"),
        ("The baby monitor's screen died after a week. Can I send it back?", "baby monitor"),
        ("I want to return my nephew's drone, it won't fly.", "drone"),
        ("I'd like to return the 'Baker's Dozen Tin', the lid is bent.", "Baker's Dozen Tin"),
    ],
)
async def test_a_things_part_is_not_the_thing_and_whose_it_is_not_its_name(message: str, name: str) -> None:
    assert [t.fields["product_name"] for t in await plan(message)] == [name]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # "Refund" is a billing word too, but a request that opens on the return's own verb is a return.
        ("My kettle leaks. Can I send it back for a refund?", [("product_return", "kettle")]),
        ("The 'Dune Lamp' flickers. I'd like to return it for a refund.", [("product_return", "Dune Lamp")]),
        ("I want to send the toaster back and get a refund, it burns the bread.", [("product_return", "toaster")]),
        # Without the return's verb, a refund is still what it was.
        ("Please send me a refund for the delivery fee.", [("other", "send me a refund for the delivery fee")]),
        ("Why is there no refund on invoice INV-30303?", [("billing_inquiry", "INV-30303")]),
    ],
)
async def test_a_return_for_a_refund_is_a_return(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


async def test_a_word_that_starts_like_a_reason_word_is_not_one() -> None:
    """A reason word at the start of another ("cost", "Cosmo") does not cut the reason out of that word."""
    tasks = await plan("I want to return the 'Alder Lamp' which cost me £40 and flickers.")
    assert tasks[0].fields["reason_for_return"] == "which cost me £40 and flickers"
    tasks = await plan("I'm returning the 'Cost Saver Blender', it's too loud.")
    assert tasks[0].fields["reason_for_return"] == "it's too loud"


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A where or when that is not an order's stays a request of its own, and the order stays context.
        (
            "When is the sale ending? Also order A-12357 is late.",
            [("other", "sale ending"), ("status_update", "A-12357")],
        ),
        # ...and a question that waits for its order does not swallow the next clause's own question.
        (
            "When do you reopen after the holidays? Also, where is A-10001?",
            [("other", "reopen after the holidays"), ("status_update", "A-10001")],
        ),
        # "Hold on" is an interjection, not a hold.
        ("Hold on, order A-44406 still hasn't shipped?", [("status_update", "A-44406")]),
        ("Hold on a second - INV-4502 says I owe £40 but I paid in full.", [("billing_inquiry", "INV-4502")]),
        # A preference that keeps things as they are, or thanks, asks nothing.
        ("The 'Oak Lamp' is fine actually, I'd rather keep it.", []),
        ("I'd rather not wait another week. Where is A-10072?", [("status_update", "A-10072")]),
        ("I'd rather not say why, but I want to return the 'Tor Vase'.", [("product_return", "Tor Vase")]),
        ("id like to say thanks for sorting A-10023 so quickly.", []),
        # The order itself not being there is a question of where it is, not a part to send.
        ("Order A-10032 was delivered to the locker but it isn't there.", [("status_update", "A-10032")]),
        ("Order A-10036 was marked as delivered but it is not there.", [("status_update", "A-10036")]),
        # A price opening a clause about a thing, not a bill, leaves the quoted name a product.
        ("$30 'Oak Lamp' arrived broken, returning it.", [("product_return", "Oak Lamp")]),
        # "give me back" is money, and "take back" is the return's verb only when asked of the company.
        ("Can you give me back the deposit on order A-88803?", [("other", "deposit")]),
        # ... and "it's correct" says the invoice needs nothing (the review's label; the ninth round made it so).
        ("I take back my complaint about INV-4515, it's correct.", []),
        # A list opened by a request verb keeps that request when its items name things only.
        (
            "I'd like to return the following items:\n- the 'Oak Wall Clock' (it's broken)\n- the blue mug (chipped)",
            [("other", "return the following items")],
        ),
    ],
)
async def test_a_review_of_this_rounds_rules_on_messages_of_its_own(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    "message",
    [
        "Where do I send the warranty form? Order A-10010 was the fridge.",
        "Can you tell me where your nearest store is? Order A-10009 needs collecting.",
    ],
)
async def test_a_where_question_about_no_order_is_not_taken_for_the_next_orders_status(message: str) -> None:
    # Whether the order after it is context is another matter (a keyword reader still plans its status); the
    # question itself must stay a request of its own.
    question = message.split("?")[0]
    first_kind, first_request = kinds(await plan(message))[0]
    assert first_kind == "other" and first_request in question


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # Terse writing drops "the": the words after the return's verb still name the thing.
        ("want to return toaster, it burns everything", [("product_return", "toaster")]),
        ("returning garden hose, the connector leaks", [("product_return", "garden hose")]),
        ("send back desk fan pls", [("product_return", "desk fan")]),
        # A courtesy is no part of the name, and "returned in full" names nothing.
        ("return asap please", [("other", "return asap")]),
        (
            "Invoice INV-41414 is for an order I returned in full, please credit it.",
            [("billing_inquiry", "INV-41414")],
        ),
        # "Any news?" alone asks again about the request before; about a thing, it waits for the order's id.
        ("Order K-21212 still says processing after a week. Any news?", [("status_update", "K-21212")]),
        ("Is there any news on the bookcase? That was order K-23232.", [("status_update", "K-23232")]),
        ("Any idea when the sale starts?", [("other", "Any idea when the sale starts")]),
        # Arrival in the first person, and an order number given on its own, in other languages.
        (
            "Recebi a encomenda K-24242 mas a 'Chaleira Minho' veio amolgada. Quero devolvê-la.",
            [("product_return", "Chaleira Minho")],
        ),
        (
            "Ich habe die Bestellung K-25252 erhalten, aber ich möchte die 'Lampe Nord' zurückgeben.",
            [("product_return", "Lampe Nord")],
        ),
        (
            "Ich möchte die 'Tasse Blau' zurückgeben, sie ist zu klein. Bestellnummer K-26262.",
            [("product_return", "Tasse Blau")],
        ),
        # A connecting word in another language opens the request, and German puts the verb after it.
        (
            "Die Rechnung INV-27272 ist zu hoch. Außerdem möchte ich den Wasserkocher zurückgeben.",
            [("billing_inquiry", "INV-27272"), ("product_return", "Wasserkocher")],
        ),
        # A thing said to be missing, where German puts it first.
        ("Das Ladekabel fehlt.", [("other", "send the missing Ladekabel")]),
        ("Die Fernbedienung fehlte im Paket.", [("other", "send the missing Fernbedienung")]),
        # Thanks to pass on ask nothing of a worker.
        ("The fitter was brilliant. Please pass on our thanks.", []),
        ("Please pass my thanks to the driver. Where is order K-28282?", [("status_update", "K-28282")]),
        # The formal "I should like to" asks as "I would like to" does.
        ("I should like to return the carriage clock, it loses an hour a day.", [("product_return", "carriage clock")]),
        ("We should like a copy of invoice INV-20202.", [("billing_inquiry", "INV-20202")]),
        # "and" before a change of its own is a second request.
        (
            "Please change my email to the new one and remove my landline from the account.",
            [("other", "change my email to the new one"), ("other", "remove my landline from the account")],
        ),
        # A change to an invoice is a question about it; a change to an order is for no worker.
        ("Could you amend invoice INV-29292 to show our company name?", [("billing_inquiry", "INV-29292")]),
        ("Please cancel order K-29393.", [("other", "cancel order K-29393")]),
    ],
)
async def test_the_twelfth_rounds_rules_on_sentences_in_no_set(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A review's messages that the twelfth round's first rules planned worse: a word after the verb without
        # "the" names a thing only when the words run to the clause's end, and never an indefinite or a time.
        ("I'd like to return something, what is your returns address?", [("other", "return something")]),
        ("Can I return later this month? I'm abroad.", [("other", "return later this month")]),
        ("I want to return anything that is not needed, what's the policy?", [("other", "return anything")]),
        ("Do I need to return original packaging too?", [("other", "return original packaging")]),
        ("I'd like to return half of order A-21001, the blue ones.", [("product_return", "blue ones")]),
        # German says who received it with its auxiliary: "Haben Sie ... bekommen?" is no arrival.
        (
            "Haben Sie meine Rücksendung schon bekommen? Bestellnummer A-60018.",
            [("other", "Haben Sie meine Rücksendung"), ("status_update", "A-60018")],
        ),
        (
            "Hat Ihr Lager meine Rücksendung erhalten? Bestellnummer A-21003.",
            [("other", "Hat Ihr Lager"), ("status_update", "A-21003")],
        ),
        ("Haben Sie mein Paket bekommen? Bestellnummer A-21004.", [("status_update", "A-21004")]),
        # "and take" splits off a removal from an account ("take me off"), not a thing to collect.
        (
            "Please send the manual and take the old washer away when you deliver.",
            [("other", "send the manual and take the old washer away")],
        ),
    ],
)
async def test_the_twelfth_rounds_rules_as_narrowed_by_a_review(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        # A return whose thing a remark before it named takes its reason from that remark, not from the request.
        ("The 'Alba Vase' has a chip on the rim. Can I send it back for a refund?", "has a chip on the rim"),
        ("My toaster's lever snapped off. I'd like to return it.", "lever snapped off"),
        ("Der 'Stern Wecker' klingelt nicht. Ich möchte ihn zurückschicken.", "klingelt nicht"),
        # A reason in the request's own clause stays its reason; a thing named in an earlier request has none there.
        ("I'd like to return the 'Alba Vase', it leaks.", "it leaks"),
        ("Can you send me a new lid for the kettle? Actually, I'd rather return it.", "not stated"),
    ],
)
async def test_a_return_named_in_a_remark_before_takes_its_reason_from_it(message: str, reason: str) -> None:
    tasks = [task for task in await plan(message) if task.kind == "product_return"]
    assert [t.fields["reason_for_return"] for t in tasks] == [reason]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A model number is part of a product's name, unquoted too (a new-user walkthrough: these were requests
        # for no worker, and beside an invoice the return took "double charge" from the clause before).
        ("Please return my SuperWidget 5000.", [("product_return", "SuperWidget 5000")]),
        ("I want to return my Acme Blender 300 because it is broken.", [("product_return", "Acme Blender 300")]),
        (
            "Invoice INV-12344 shows a double charge. Also I want to return the BlueKettle 200 because it leaks.",
            [("billing_inquiry", "INV-12344"), ("product_return", "BlueKettle 200")],
        ),
        # A number after "order", "size" or "number" is no model number.
        ("I want to return my order 12345.", [("other", "return my order 12345")]),
        ("I'd like to return the size 10, it pinches.", [("other", "return the size 10")]),
    ],
)
async def test_a_model_number_is_part_of_an_unquoted_name(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A word the return's description shares ("product") without its action (sending back) makes no return.
        ("Do you stock the winter range?", [("other", "Do you stock the winter range")]),
        ("Could you check where my reward points went?", [("other", "check where my reward points went")]),
        ("Could you look into the items below?\n1. Where is K-31313?", [("status_update", "K-31313")]),
        # The action in any language the vocabulary reads still makes one.
        ("Quiero devolver la lámpara, no funciona.", [("product_return", "lámpara")]),
        ("The toaster burns everything. I want to send it back.", [("product_return", "toaster")]),
    ],
)
async def test_a_return_needs_the_action_of_sending_back(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # "finally" or "also" before a verb of its clause tells, it joins no second request.
        ("Order B-41414 finally arrived, thanks. Where is B-41415?", [("status_update", "B-41415")]),
        ("Parcel B-41416 also came today. Thanks for the help!", []),
        (
            "Where is B-41417? Finally, please cancel my newsletter.",
            [("status_update", "B-41417"), ("other", "cancel")],
        ),
        # A note without its subject after what the thing does is a return; the id given after it is its order.
        ("The kettle rattles, sending it back. Order was B-41418 btw.", [("product_return", "kettle")]),
        ("My desk fan squeaks - returning it.", [("product_return", "desk fan")]),
    ],
)
async def test_an_adverb_joins_nothing_and_a_note_without_subject_is_a_return(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        # A part of the thing may be what the reason says something of; a person is no part of it.
        ("The 'Wren Teapot' lid doesnt fit, returning it.", "lid doesnt fit"),
        ("The 'Wren Teapot' my aunt gave me, I'd like to return it.", "not stated"),
        # Where the thing came, and a possessive's noun, are no part of the reason.
        ("The 'Heron Jug' that arrived was cracked, so I'd like to return it.", "was cracked"),
        ("The 'Finch Clock' in it has no hands, so I'd like to return it.", "has no hands"),
        ("The 'Owl Rug' we got for my sister's wedding has a stain, so I'd like to return it.", "has a stain"),
    ],
)
async def test_a_reason_is_what_the_thing_or_a_part_of_it_does(message: str, reason: str) -> None:
    tasks = [task for task in await plan(message) if task.kind == "product_return"]
    assert [t.fields["reason_for_return"] for t in tasks] == [reason]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A delivery that held some things "but no" other, or only some of a thing, asks for what is missing.
        ("The parcel had the tent and the poles but no pegs.", [("other", "pegs")]),
        ("Order B-42001 came, but only 3 of the 4 mugs were in the box.", [("other", "mugs")]),
        ("I rang twice but no answer. Where is B-42002?", [("status_update", "B-42002")]),
        # A reply naming a thing, under a question of which thing a request acts on, is that request.
        (
            "> Which item would you like to return, and why?\n\nIt's the 'Lark Kettle', the handle wobbles.",
            [("product_return", "Lark Kettle")],
        ),
        ("> Which item is it about?\n\nIt's the kettle.", []),
        # A verb alone after an inquiry about a charge asks it of that charge; a paid invoice is context, unless
        # paid twice.
        ("INV-42003 has a £5 card fee I never agreed to. Please fix.", [("billing_inquiry", "INV-42003")]),
        ("Love the new checkout. Paid INV-42004 in a minute.", []),
        ("Paid INV-42005 twice by mistake.", [("billing_inquiry", "INV-42005")]),
    ],
)
async def test_what_a_delivery_lacked_a_reply_names_and_a_verb_alone_acts_on(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A review's messages that this round's first rules planned worse. A paid invoice asked about is a question.
        ("Paid INV-43001 last week, why did I get a reminder?", [("billing_inquiry", "INV-43001")]),
        ("I paid INV-43002 but got a reminder.", [("billing_inquiry", "INV-43002")]),
        ("Paid INV-43003. Please confirm.", [("billing_inquiry", "INV-43003")]),
        # Said of a return, not doing it; a favour returned is none.
        (
            "The chair wobbles, sending it back isn't an option. Can you send new screws?",
            [("other", "send new screws")],
        ),
        ("The stand is lovely, returning the favour with a review!", []),
        # Some of a thing that came damaged is not some of it missing.
        ("Only 2 of the 6 glasses were chipped, the rest are fine.", []),
        # A reply that names no thing under "which item?" is no return of anything.
        ("> Which product would you like to return?\n\nIt's the same problem as my last ticket.", []),
        # "Please call." asks to be called, whatever came before.
        ("Where is order B-43004? Please call.", [("status_update", "B-43004"), ("other", "call")]),
    ],
)
async def test_the_fourteenth_rounds_rules_as_narrowed_by_a_review(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("The 'Pine Shelf' my husband put up wobbles, returning it.", "my husband put up wobbles"),
        ("The 'Flux Kettle' at my office leaks, sending it back.", "at my office leaks"),
        ("Where is B-43005? The 'Nia Lamp' also broke, I want to return it.", "also broke"),
    ],
)
async def test_a_notes_reason_is_what_comes_before_it(message: str, reason: str) -> None:
    tasks = [task for task in await plan(message) if task.kind == "product_return"]
    assert [t.fields["reason_for_return"] for t in tasks] == [reason]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A fault word that is also a noun stays in the name: before a verb, capitalised, or read from the verb.
        ("My hiking boots split at the toe, I want to return them.", [("product_return", "hiking boots")]),
        ("I want to return my hiking boots.", [("product_return", "hiking boots")]),
        ("Please return the Echo Dot, it crackles.", [("product_return", "Echo Dot")]),
        # "them" and "it" are the things themselves, not where they broke, not a part, not the one said to be fine.
        ("My sandals broke at the strap, I want to return them.", [("product_return", "sandals")]),
        ("The handle of my mug snapped, returning it.", [("product_return", "mug")]),
        (
            "The rug is fine but the lamp that came with it flickers, can I send that back?",
            [("product_return", "lamp")],
        ),
        (
            "The lamp is fine. The shades are the wrong colour. Can I send those back?",
            [("product_return", "shades")],
        ),
        # "those" with things named before it in its clause means those, not the remarks before.
        (
            "The chairs came today with no cushions. The lanterns in the same box don't charge - I'll send those back.",
            [("other", "cushions"), ("product_return", "lanterns")],
        ),
    ],
)
async def test_what_a_return_names(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # What a delivery brought without, in the ways it is said.
        ("Order B-44001 arrived with the mattress but no screws.", [("other", "screws")]),
        ("The grill turned up with no lid in it. Order B-44002.", [("other", "lid")]),
        ("The parasol was in there but no base.", [("other", "base")]),
        ("The parcel came with a note but no invoice.", []),
        # Some of an order that came is a question of where the rest is.
        ("I only received half of order B-44003.", [("status_update", "B-44003")]),
        ("Only part of order B-44004 arrived.", [("status_update", "B-44004")]),
        ("Order B-44005 arrived, thanks.", []),
        # A verb alone after a request acts on what that request named.
        ("Where is B-44006? Please cancel.", [("status_update", "B-44006"), ("other", "cancel B-44006")]),
        # A name quoted beside an invoice, with no word of sending back, is what the invoice question is about.
        ("What's the 'eco packaging levy' on INV-44007?", [("billing_inquiry", "INV-44007")]),
        (
            "INV-44008 is wrong and I want to return the 'Tor Lamp', it hums.",
            [("billing_inquiry", "INV-44008"), ("product_return", "Tor Lamp")],
        ),
        # What the customer says they will do asks for it.
        ("I'll be cancelling order B-44009.", [("other", "cancel")]),
        ("We need to cancel order B-44010.", [("other", "cancel order B-44010")]),
        ("I'll be waiting for order B-44011, where is it?", [("status_update", "B-44011")]),
        # An id bracketed after a thing the clause describes says where it came from, unless it is still to come.
        (
            "The 'Oak Recliner' (order B-44012) is lovely but the remote does nothing. Could you send a new remote?",
            [("other", "send a new remote")],
        ),
        ("The shredder (order B-44013) was supposed to arrive Monday. Where is it?", [("status_update", "B-44013")]),
        ("My parcel (order B-44014) still hasn't arrived.", [("status_update", "B-44014")]),
    ],
)
async def test_lacks_parts_cancels_charges_and_bracketed_orders(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("The 'Bede Bedspread' is thinner than it looks, so I'll be sending that back.", "thinner than it looks"),
        ("The lampshade that goes with it, may as well send that back too, it's no use alone.", "no use alone"),
        ("The lanterns in the same box don't charge at all - I'll send those back.", "don't charge at all"),
        ("The masonry bits (B-44015) are the wrong size. Can I send those back?", "the wrong size"),
    ],
)
async def test_a_reason_leaves_out_where_the_thing_came_and_the_return_itself(message: str, reason: str) -> None:
    tasks = [task for task in await plan(message) if task.kind == "product_return"]
    assert len(tasks) == 1 and reason in tasks[0].fields["reason_for_return"], kinds(tasks)
    assert not re.search(r"same box|goes with|send|\(", tasks[0].fields["reason_for_return"]), kinds(tasks)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A review's messages that this round's first rules planned worse. An order said to be on its way or
        # astray is a question, bracketed or not.
        ("The 'Oak Chair' (order B-45001) was due Monday.", [("status_update", "B-45001")]),
        ("The cot (order B-45002) is stuck in customs.", [("status_update", "B-45002")]),
        # What a delivery came without that nobody wanted, or that the next request asks for itself.
        ("Everything turned up with no problems, thank you.", []),
        ("The cot arrived with no instructions but we figured it out.", []),
        ("The shelf was in the box but no brackets. Please send the brackets.", [("other", "send the brackets")]),
        # A partial refund is no partial delivery; what is left of one is asked about with it.
        ("Can I get a partial refund on order B-45003?", [("other", "partial refund")]),
        ("Just some of order B-45004 turned up today. Is the rest on its way?", [("status_update", "B-45004")]),
        # "I'm turning 40" is no change asked for.
        ("I'm turning 40 on Saturday so I need order B-45005 by Friday - where is it?", [("status_update", "B-45005")]),
        # Things said of in one sentence are all of "them"; a fault said as a noun is no part of the name.
        (
            "The jeans are too long and the belt is too short, I'd like to return them.",
            [("product_return", "jeans"), ("product_return", "belt")],
        ),
        ("The monitor flicker got worse every day, so I'm returning it.", [("product_return", "monitor")]),
        # A return said on a condition asks for the condition first.
        (
            "The price dropped after I bought the kettle, I'll send it back unless you refund the difference.",
            [("other", "refund the difference")],
        ),
    ],
)
async def test_this_rounds_rules_as_narrowed_by_a_review(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # Going back somewhere is no return; a return the customer already made is not asked again.
        (
            "I'm returning to the UK in May, please change my billing address then.",
            [("other", "change my billing address")],
        ),
        ("I returned the 'Opal Vase', where's my refund on INV-46001?", [("billing_inquiry", "INV-46001")]),
        ("Can I return the kettle to the shop?", [("product_return", "kettle")]),
        # "can you <verb> it" after a remark asks that change of the thing, not where its order is.
        ("'Oak Chair' on order B-46002 wobbles, can you replace it?", [("other", "replace it")]),
        # "when I press it" says when a fault shows, not that the order is still to come.
        ("The remote from order B-46003 does nothing when I press it. Returning it.", [("product_return", "remote")]),
    ],
)
async def test_going_back_a_return_made_and_a_fault_that_shows_when(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "product"),
    [
        # "it" is the product, not a part of it, nor a person, nor one fine only for a while.
        ("The strap on my watch broke, I'd like to return it.", "watch"),
        ("We put the baby in the car seat and the buckle jammed, so we're returning it.", "car seat"),
        ("The chair was fine for a week, then the leg snapped. I'd like to return it.", "chair"),
        ("The lid is cracked, can I return it?", "lid"),
    ],
)
async def test_it_sent_back_is_the_product(message: str, product: str) -> None:
    tasks = [task for task in await plan(message) if task.kind == "product_return"]
    assert [t.fields["product_name"] for t in tasks] == [product]


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A copy of an invoice, however it is to be made out, is a question about that invoice.
        (
            "Could you send me a new copy of INV-47001 made out to my company rather than to me?",
            [("billing_inquiry", "INV-47001")],
        ),
        # "also" after an id between commas goes on with what is said of it.
        (
            "The lamp is still sealed, I want to send it back. The invoice for it, INV-47002, also has a fee I never"
            " agreed to.",
            [("product_return", "lamp"), ("billing_inquiry", "INV-47002")],
        ),
        # A thing listed after a return joins it in its sentence, or when it says so, not in any next one.
        (
            "The 'Fell Cold Frame' glass cracked, so I'd like to return it. The trellis panels and post caps (order"
            " B-47003) still haven't come.",
            [("product_return", "Fell Cold Frame"), ("status_update", "B-47003")],
        ),
        (
            "The 'Fell Tent' is going back, a pole was bent. The camping chairs too, they're tiny.",
            [("product_return", "Fell Tent"), ("product_return", "camping chairs")],
        ),
        # A part the box lacked, said of a thing praised, is asked for; so is one after a list of what came.
        (
            "The 'Tor Kettle' leaks, can I send it back? The 'Tor Bread Tin' is great but the recipe card wasn't in the"
            " box, could you send me one?",
            [("product_return", "Tor Kettle"), ("other", "recipe card")],
        ),
        (
            "Opened the 'Tor Toothbrush' today - brush, two heads, travel case... no charging base. Order B-47004.",
            [("other", "charging base")],
        ),
        ("The parcel arrived. No problem at all.", []),
        # A doubt under a quoted message is about the quote's order.
        (
            "> Your order B-47005 has been dispatched.\n\nHas it though? Can you look into it?",
            [("status_update", "B-47005")],
        ),
        # French guillemets quote a name; Swedish sends back.
        (
            "Bonjour, je souhaite retourner l'« Aspirateur Tor », la batterie ne tient pas.",
            [("product_return", "Aspirateur Tor")],
        ),
        (
            "Jag skulle vilja skicka tillbaka 'Tor Stekpanna', handtaget sitter löst.",
            [("product_return", "Tor Stekpanna")],
        ),
    ],
)
async def test_the_seventeenth_rounds_rules(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


async def test_a_short_name_stands_for_the_full_name_quoted_before() -> None:
    tasks = await plan(
        "My son ordered a 'Nebula RGB Keyboard' and a headset. The keyboard is still sealed and I want to send it back."
    )
    assert kinds(tasks) == [("product_return", "Nebula RGB Keyboard")]
    assert tasks[0].fields["reason_for_return"] == "is still sealed"


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # A review's messages that this round's first rules planned worse. "No ..." after a delivery that lists
        # nothing is a remark.
        ("The chairs came today. No worries!", []),
        ("It arrived Tuesday. No instructions, but I found a video online.", []),
        (
            "The 'Ash Desk' arrived. No rush, but invoice INV-48001 has the wrong address.",
            [("billing_inquiry", "INV-48001")],
        ),
        # A quoted name is a product, whatever its last word; what a thing was bought for is not what is sent back.
        (
            "I bought the 'Echo Strap' for my watch but it doesn't fit. I want to return it.",
            [("product_return", "Echo Strap")],
        ),
        (
            "The spare battery I bought for my drill won't charge. Please take it back.",
            [("product_return", "spare battery")],
        ),
        # What a box lacked is never the box.
        ("The TV arrived but in the box the remote was missing.", [("other", "remote")]),
        # A name sent somewhere is no return made; a shop or store is where a return may go.
        (
            "We sent the 'Opal Vase' to my mum and it arrived broken, can we return it?",
            [("product_return", "Opal Vase")],
        ),
        # A short name stands for no quoted one the message praises.
        (
            "The 'Ivy Wall Mirror' is lovely. The hand mirror is scratched, can I return the mirror?",
            [("product_return", "mirror")],
        ),
        # "When I open the app it says ... delivered" is still about where the order is.
        ("When I open the app it says order B-48002 is delivered. It isn't.", [("status_update", "B-48002")]),
        # An order a quoted thing came from, in a remark of what it does, is context.
        (
            "The 'Pulse Blender' from order B-48003 makes a burning smell when I press start. I want to return it.",
            [("product_return", "Pulse Blender")],
        ),
    ],
)
async def test_the_seventeenth_rounds_rules_as_narrowed_by_a_review(
    message: str, planned: list[tuple[str, str]]
) -> None:
    await check_planned(message, planned)


@pytest.mark.parametrize(
    ("message", "planned"),
    [
        # Asking how to go on asks nothing new of the request before; "merci de" asks.
        (
            "I want to return the 'Tor Kettle', it leaks. Please let me know how to proceed.",
            [("product_return", "Tor Kettle")],
        ),
        (
            "Je voudrais retourner la 'Lampe Tor'. Merci de m'indiquer la marche à suivre.",
            [("product_return", "Lampe Tor")],
        ),
        (
            "Où en est ma commande B-49001 ? Merci de me désinscrire de la newsletter.",
            [("status_update", "B-49001"), ("other", "newsletter")],
        ),
        # What became of each id in a list ("paid") asks nothing of it; "returned to sender" still asks.
        ("- INV-49002: paid.\n- INV-49003: wrong amount, please check.", [("billing_inquiry", "INV-49003")]),
        ("Order B-49004 - returned to sender, what now?", [("status_update", "B-49004")]),
        # "you could hold one" asks a change of its own, of a thing a remark named since the request before.
        (
            "INV-49005 shows two delivery charges. My partner wants the same desk in walnut. Is there any way you could"
            " hold one for us?",
            [("billing_inquiry", "INV-49005"), ("other", "hold one")],
        ),
        ("INV-49006 has the wrong address. Please send a corrected one.", [("billing_inquiry", "INV-49006")]),
    ],
)
async def test_the_eighteenth_rounds_rules(message: str, planned: list[tuple[str, str]]) -> None:
    await check_planned(message, planned)


async def test_a_reason_after_the_order_a_thing_came_in() -> None:
    tasks = await plan("The 'Tor Ladder' from B-49007 - one of the rungs is loose, so I'd like to return it.")
    assert kinds(tasks) == [("product_return", "Tor Ladder")]
    assert "rungs is loose" in tasks[0].fields["reason_for_return"]
