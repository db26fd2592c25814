"""Plain-text helpers for the nodes, the offline model and the quality checks: words, overlap, meaning, requests."""

import re
from collections.abc import Iterable

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just let me more most my no nor not now of off on once
    only or other our ours out over own please same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself i'm it's don't can't""".split()
)
"""Words that carry no topic: ignored when texts are compared."""

MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
"""A Markdown ATX heading line ("# Title", "## Title ##"); group 1 is the title."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")


def stem(word: str) -> str:
    """Crudely fold inflections together ("invoices"/"invoice", "working"/"work") for overlap counts."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Return the stemmed words of `text` that carry meaning (stopwords and one-letter words dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def overlap(a: str, b: str) -> int:
    """Count the content words two texts share."""
    return len(content_words(a) & content_words(b))


def sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping each one's punctuation."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def approx_tokens(text: str) -> int:
    """Estimate a token count the way providers roughly do for English: one token per four characters."""
    return max(1, (len(text) + 3) // 4) if text else 0


def first_line(error: object) -> str:
    """Return the first line of an error's message (at most 160 characters), or its type name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__


def clip(text: str, width: int) -> str:
    """Shorten `text` to `width` characters, marking a cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


# --- Meaning, roughly: the offline model's small vocabulary ----------------------------------------------------

CONCEPTS: dict[str, tuple[float, str]] = {
    # Things a customer owns or uses: what a message is about, not what the customer needs, so they weigh less.
    "device": (
        0.5,
        "device, devices, equipment, hardware, laptop, laptops, computer, computers, pc, mac, phone, phones, "
        "smartphone, mobile, tablet, ipad, tv, television, tv box, router, modem, printer, headphones, headset, "
        "earbuds, speaker, speakers, microphone, mic, camera, webcam, screen, monitor, keyboard, mouse, console, "
        "smartwatch, charger, cable, battery",
    ),
    "connection": (
        0.5,
        "internet, wifi, wi-fi, wireless, network, broadband, connection, connections, connect, connected, "
        "connecting, connectivity, signal, reception, bluetooth, online, offline, 4g, 5g, ethernet, hotspot",
    ),
    "software": (
        0.5,
        "app, apps, application, applications, software, program, programs, website, websites, web, browser, "
        "email, e-mail, emails, update, updates, download, downloads, driver, drivers, firmware, streaming, "
        "sync, syncing, license, licence, license key",
    ),
    # What goes wrong with them, or what needs doing.
    "fault": (
        1.0,
        "broken, break, breaks, broke, not working, stopped working, won't, wont, can't, cant, cannot, couldn't, "
        "doesn't, doesnt, isn't, isnt, aren't, dead, crash, crashes, crashed, crashing, freeze, freezes, "
        "freezing, frozen, froze, error, errors, error code, error message, bug, bugs, glitch, glitches, fail, "
        "fails, failed, failing, failure, faulty, malfunction, slow, drop, drops, dropped, dropping, outage, "
        "outages, down, disconnect, disconnects, disconnected, disconnecting, unresponsive, flicker, flickers, "
        "flickering, stuck, restarting, rebooting, buffering, "
        "black screen, blinking, invalid, lag, lagging, overheating, overheats, turn on, switch on, power on",
    ),
    "setup": (
        1.0,
        "set up, setup, setting up, install, installing, installation, configure, configuring, configuration, "
        "reset, resetting, factory settings, pair, pairing, activate, activating, activation, troubleshoot, "
        "troubleshooting",
    ),
    "sign_in": (
        1.0,
        "login, logins, log in, logging in, log-in, sign in, signing in, sign-in, password, passwords, passcode, "
        "username, locked out, locked, lockout, authentication, two-factor, 2fa, verification code",
    ),
    # Money between the customer and the company.
    "invoice": (1.0, "bill, bills, billing, billed, invoice, invoices, statement, statements, receipt, receipts, vat"),
    "charge": (
        1.0,
        "charge, charges, charged, overcharged, fee, fees, cost, costs, price, prices, pricing, rate, rates, "
        "expensive, how much, amount, total",
    ),
    "payment": (
        1.0,
        "pay, paid, paying, payment, payments, debit, direct debit, credit card, card details, bank, transfer, "
        "instalment, instalments, installment, installments, balance, due, owe, owed, outstanding, "
        "billing address",
    ),
    "refund": (
        1.0,
        "refund, refunds, refunded, money back, reimburse, reimbursed, reimbursement, credit, compensation",
    ),
    "subscription": (
        1.0,
        "subscription, subscriptions, subscribe, plan, plans, premium, upgrade, downgrade, renewal, renew, "
        "renews, auto-renewal, cancel, cancelled, cancellation, contract, monthly, yearly, annual, discount, "
        "promotion, promotional, promo",
    ),
    # The company itself.
    "store": (
        1.0,
        "store, stores, shop, shops, branch, branches, location, locations, nearest, nearby, closest, downtown, "
        "address, head office, parking, wheelchair, accessible",
    ),
    "hours": (
        1.0,
        "hours, opening, open, opens, close, closes, closing, opening times, today, tomorrow, tonight, weekend, "
        "weekends, saturday, saturdays, sunday, sundays, holiday, holidays, public holidays",
    ),
    "contact": (
        1.0,
        "contact, phone number, telephone number, call us, speak, talk, reach you, reach someone, "
        "customer service, helpline, hotline, chat, press office",
    ),
    "delivery": (
        1.0,
        "ship, ships, shipping, shipped, deliver, delivers, delivery, deliveries, delivered, courier, postage, "
        "parcel, parcels, package, packages, pick up, pickup, collect, abroad, international",
    ),
    "offer": (
        1.0,
        "sell, sells, selling, carry, stock, stocks, brand, brands, product, products, range, catalogue, "
        "refurbished, gift card, gift cards, loyalty, programme, offer, offers, student",
    ),
    "jobs": (1.0, "job, jobs, career, careers, vacancy, vacancies, hiring, recruitment, employment, job openings"),
    "policy": (
        1.0,
        "policy, policies, warranty, guarantee, recycling, recycle, privacy, terms",
    ),
}
"""Concept -> (weight, the words and phrases that name it): a small vocabulary of customer-service English, so
that "laptop" meets "devices" and "charged" meets "fees". A weight below 1 marks nouns that say what a message is
about but not what the customer needs."""

GENERIC = frozenset(
    """ask asking help question questions inquiry enquiry issue issues problem problems query request need want
    like support general thing things something anything everything hello hi thanks thank regarding""".split()
)
"""Words every customer message may hold, whatever it is about: they tell no topic apart."""

_GENERIC_STEMS = frozenset(stem(word) for word in GENERIC)
_TOKEN = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_PHRASES: dict[tuple[str, ...], str] = {
    tuple(member.split()): concept
    for concept, (_, members) in CONCEPTS.items()
    for member in (m.strip() for m in members.split(","))
}
_STEMS: dict[str, str] = {stem(phrase[0]): concept for phrase, concept in _PHRASES.items() if len(phrase) == 1}
_LONGEST = max(len(phrase) for phrase in _PHRASES)
KNOWN_WORDS = frozenset(word for phrase in _PHRASES for word in phrase)
"""Every word of the vocabulary: what a misspelt word may be corrected to."""


def words(text: str) -> list[str]:
    """Return the words of `text`, lower-cased, hyphenated words and contractions kept whole."""
    return [token.replace("’", "'") for token in _TOKEN.findall(text.lower())]


def typo_distance(a: str, b: str) -> int:
    """Count the typing slips that turn `a` into `b`: a letter dropped, doubled or added, two letters swapped.

    A substituted letter costs two, so "bread" is not a slip of "break" while "chraged" is one of "charged".
    """
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (0 if a[i - 1] == b[j - 1] else 2))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def correct(word: str, known: Iterable[str]) -> str:
    """Return the known word `word` is one slip away from (two for long words), else `word` itself.

    Short words, known words and stopwords stay as they are, and a slip never changes the first letter.
    """
    if len(word) < 4 or word in STOPWORDS or word in KNOWN_WORDS or stem(word) in _STEMS:
        return word
    allowed = 1 if len(word) < 8 else 2
    best, best_distance = word, allowed + 1
    for candidate in sorted(known):
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > allowed:
            continue
        distance = typo_distance(word, candidate)
        if distance < best_distance:
            best, best_distance = candidate, distance
    return best


def meaning(text: str, known: Iterable[str] = ()) -> dict[str, float]:
    """Return what `text` is about: its concepts ("~fault") and other content words (stemmed), with weights.

    Misspelt words are first corrected to the vocabulary or to `known` words (a prompt's own wording).
    """
    vocabulary = KNOWN_WORDS | set(known)
    tokens = [correct(token, vocabulary) for token in words(text)]
    terms: dict[str, float] = {}
    position = 0
    while position < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - position), 0, -1):
            phrase = tuple(tokens[position : position + size])
            concept = _PHRASES.get(phrase) or (_STEMS.get(stem(phrase[0])) if size == 1 else None)
            if concept:
                terms[f"~{concept}"] = CONCEPTS[concept][0]
                position += size
                break
        else:
            word = tokens[position]
            if word not in STOPWORDS and stem(word) not in _GENERIC_STEMS and len(word) > 1:
                terms.setdefault(stem(word), 1.0)
            position += 1
    return terms


# --- Requests in a customer's message ------------------------------------------------------------------------

_REQUEST_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\s*,\s*(?:and|but|also|plus|then)\s+|\s+(?:and also|and then|also|plus|finally|lastly)\s+",
    re.I,
)
_BARE_AND = re.compile(r"\s+and\s+", re.I)
_NAMED = re.compile(r"\d|[\"“‘]|(?<!\w)'|^(?:(?:for|with)\s+)?(?:the|my|a|an|this|that|these|those|our)\b", re.I)
_ASKING = re.compile(
    r"\b(?:please|pls|kindly|can you|could you|would you|will you|can i|could i|may i|i'd like|i would like|"
    r"i want|i wanna|i need|i wish|i'd love|help me|tell me|let me know|give me|send me|"
    r"(?:want|need|wish|would like|'d like) to)\b|\?\s*$",
    re.I,
)
REQUEST_VERBS = frozenset(
    """add amend arrange book cancel change check close confirm correct delete downgrade email exchange explain find
    fix issue move order process refund remove renew repair replace reset return schedule send stop switch track
    transfer unsubscribe update upgrade""".split()
)
"""Verbs a request may start with ("cancel my plan"): an order to the company, not a remark."""
_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey|dear \w+|good (?:morning|afternoon|evening))\b[\w ]*?[,!.:]\s*)?"
    r"(?:(?:and|also|finally|lastly|then|so|plus|but|oh|ok|okay)\b[,\s]*)*",
    re.I,
)
_POLITE = re.compile(
    r"^(?:(?:please|pls|kindly|can you|could you|would you|will you|can i|could i|may i|i'd like to|"
    r"i would like to|i want to|i need to|i wish to|i'd like|i would like|i want|i need|help me)\b[,\s]*)+",
    re.I,
)
DETERMINERS = frozenset("the my a an this that these those our your his her their some both one two three".split())
"""Words that open a noun phrase naming a thing ("my headphones", "two blenders")."""
PRONOUNS = frozenset("it them one this that these those they".split())
"""Words that stand for a thing named earlier ("I'd like to return it")."""
_PIECE = re.compile(r"[\"'“‘][^\"'“”‘’]{2,80}?[\"'”’](?!\w)|[\w'’-]+|[^\w\s]")


def requests(text: str) -> list[str]:
    """Split a message into the clauses that may each hold one request (sentences, "and", "also", "finally").

    A bare "and" splits only before a request of its own, a thing it names ("and the remote"), or something
    named by a number or quotes ("order A-11111 and A-22222"): "delete my account and all my data" stays one
    request. The question mark that ends such a sentence belongs to its first part.
    """
    clauses: list[str] = []
    for sentence in _REQUEST_SPLIT.split(" ".join(text.split())):
        for number, part in enumerate(_BARE_AND.split(sentence)):
            part = part.strip(" ,;")
            if number:
                part = part.rstrip("?")
                if clauses and not (_asks(part) or _NAMED.search(part)):
                    clauses[-1] = f"{clauses[-1]} and {part}"
                    continue
            if part:
                clauses.append(part)
    return clauses


def lead_in_removed(clause: str) -> str:
    """Drop a greeting and connecting words ("Hi, ...", "Also, ...", "And finally ...") from a clause's start."""
    return _LEAD_IN.sub("", clause, count=1).strip()


def is_request(clause: str) -> bool:
    """Tell whether a clause asks for something: a question, a polite request, or an order ("cancel my plan")."""
    return _asks(clause)


def _asks(clause: str) -> bool:
    body = lead_in_removed(clause)
    first = words(body)[:1]
    return bool(_ASKING.search(body)) or (bool(first) and first[0] in REQUEST_VERBS)


def what_is_asked(clause: str) -> str:
    """Return a request in a few words: the clause without greetings, politeness or final punctuation."""
    body = _POLITE.sub("", lead_in_removed(clause)).strip(" ,.!?;:-")
    body = re.sub(r"[,\s]*\b(?:please|thanks|thank you)\W*$", "", body, flags=re.I).strip(" ,.!?;:-")
    return body or clause.strip(" ,.!?;:-")


def noun_phrase(text: str, after: int = 0) -> str | None:
    """Return the first thing `text` names from character `after` on: a quoted name, or words after "the/my/a".

    The phrase ends at punctuation or a word that names nothing (because, it, I, with, back, ...); the opening
    word ("the", "two") is left out. Returns the pronoun ("it", "one") when that is all the text has.
    """
    pieces = [piece.group() for piece in _PIECE.finditer(text, after)]
    for number, token in enumerate(pieces):
        if token[0] in "\"'“‘" and len(token) > 2:
            return token[1:-1].strip()
        lowered = token.lower()
        if lowered not in DETERMINERS and lowered not in PRONOUNS:
            continue
        name: list[str] = []
        for word in pieces[number + 1 :] if lowered in DETERMINERS else []:
            if word.lower() in DETERMINERS and not name:
                continue
            if not _is_name_word(word) or len(name) == 6:
                break
            name.append(word)
        if name:
            return " ".join(name)
        if lowered in PRONOUNS:
            return lowered
    return None


PARTICLES = frozenset("back up off out away over in".split())
"""Words that finish a verb ("send it back"), never part of a name."""


def _is_name_word(word: str) -> bool:
    lowered = word.lower()
    return bool(re.fullmatch(r"[\w'’-]+", word)) and lowered not in STOPWORDS and lowered not in PARTICLES


def one_line(text: str) -> str:
    """Collapse text onto one line with no double quotes, so it can stand in a prompt as a `Label: "..."` field."""
    return " ".join(text.split()).replace('"', "'")
