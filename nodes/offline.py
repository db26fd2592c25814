"""A deterministic chat model that answers every prompt from the prompt itself: no key, no network.

It never asks which node is calling. Structured calls fill whatever JSON schema they are handed: an enum takes the
option whose description means most what the user's text says (shared words and concepts of a small vocabulary in
English and five other European languages, typos corrected, an option's own name in the text ignored), a string with
a `pattern` takes that pattern's first match in the user's text (as a whole token when the pattern is anchored;
never an example from the instructions), a field named like a name takes a quoted phrase and one named like a reason
what follows "because", a confidence reflects the winning margin (with no choice to make, a score rates how much of
the prompt's quoted text the rest of the prompt supplies). A list of object variants takes one item per request in
the message: per id a variant's pattern finds or per quoted name (an id mentioned only as context is none), a thing
named after the verb, and what no variant takes as the catch-all variant's free text. Titled documents between ---
lines are read as sections, one per document: a list drawn from them takes a spread of their sentences (phrased as
questions for a question field), and a list of titles or enum options labels each sentence of the text with the
document it matches best. Free-text calls answer extractively: the sentences of the supplied material that best
match the question, a summary cut to its word limit, the facts of a list turned into an email, or the user's own
words acknowledged in the role the prompt assigns. So what a node needs from it lives in that node's schema and
registry text, which guide Gemini too.
"""

import asyncio
import functools
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel

from nodes.text import (
    ALTERING_VERBS,
    ALTERING_VERBS_ABROAD,
    GOING_TO,
    ID_SHAPE,
    MARKDOWN_HEADING,
    PRONOUNS,
    REQUEST_STEMS,
    REQUEST_VERBS,
    TOLD_AFTER_ADVERB,
    approx_tokens,
    asks_to_be_given,
    content_words,
    correct,
    does,
    fold,
    intent_at,
    is_request,
    is_thing,
    lead_in_removed,
    meaning,
    note_at,
    noun_phrase,
    noun_phrases,
    overlap,
    quoted_lines,
    remark_before_request,
    requests,
    sentences,
    stem,
    term_at,
    thing_asked_for,
    trailing_words_removed,
    what_is_asked,
    words,
)

OFFLINE_LABEL = "offline (deterministic stand-in, not Gemini)"

_EXAMPLE = r"\b{}\b[^.\n]{{0,40}}?(?:such as|e\.g\.,?|for example,?)\s+(?:\"([^\"\n]+)\"|([^)\n.]+))"


def _example_of(what: str, instructions: str, fallback: str) -> str:
    """Return the prompt's own example of a greeting or closing ("such as Dear Customer"), as a line of a letter."""
    found = re.search(_EXAMPLE.format(what), instructions, re.I)
    if found is None:
        return fallback
    text = (found.group(1) or found.group(2)).strip()
    return text if text.endswith((",", "!", ".")) else f"{text},"


_BLOCK = re.compile(r"^-{3,}[ \t]*\n(.*?)\n-{3,}[ \t]*$", re.S | re.M)
_FIELD = re.compile(r"^[ \t]*([A-Za-z][\w ]{0,40}):[ \t]*\n?[ \t]*([\"'“‘].*?[\"'”’])\.?[ \t]*$", re.M | re.S)
"""A labelled quoted value ("The user says: '...'.", or the quote on the label's next line), which may run over
several lines."""
_TAGGED = re.compile(r"^<([a-z][a-z_]{0,30})>[ \t]*\n(.*?)\n</\1>[ \t]*$", re.S | re.M)
"""Text the prompt marks as data between tags, each on a line of its own (<message>, the text, </message>)."""
_QUOTES = "\"'“”‘’"
_LED_IN = re.compile(r"([^\n]{3,300}:)[ \t]*\n+(\S.*)", re.S)
"""A prompt that is one line ending on a colon, then the text it is about ("Fix the spelling of this text:\n...")."""
_NUMBERS = {
    **{word: n for n, word in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)},
    "fifteen": 15,
    "twenty": 20,
}
_WORD_LIMIT = re.compile(
    rf"\b(?:at most|no more than|up to|within|under|in)\s+(\d+|{'|'.join(_NUMBERS)})\s+words\b", re.I
)
"""A stated length in words, in figures or in words ("at most eight words")."""
_CLAUSE_SPLIT = re.compile(
    rf"(?<=[.!?;])\s+|,\s+(?:and|but|also)\s+|\s+(?:and also|also|finally)\s+(?!{TOLD_AFTER_ADVERB})", re.I
)
_CONFIDENCE_NAMES = ("confidence", "certainty", "probability", "score")
_QUOTED = re.compile(r"(?<!\w)[\"'“‘]((?:[^\"'“”‘’]|(?<=\w)['’](?=\w)){2,80}?)[\"'”’](?!\w)")
"""A quoted name; an apostrophe inside a word is part of it ('Baker's Dozen Tin')."""
_BECAUSE_WORDS = (
    r"because|since|due to|cos|coz|cuz|porque|parce que|parce qu'|perché|perche|poiché|weil|denn|omdat|ponieważ"
)
"""Words that give a reason, in English and the other languages the offline model reads."""
_BECAUSE = re.compile(rf"\b(?:{_BECAUSE_WORDS})\b\s*(?:(?:it|this|that|they)(?:'s|’s| is| are)\s+)?(.+)", re.I)
_TITLE_LINE = re.compile(r"^\s*(?:[A-Za-z]+ )?title:\s*#*\s*(.+?)\s*$", re.I)
_CONTENT_LABEL = re.compile(r"^\s*(?:[A-Za-z]+ )?(?:content|text|body):\s*", re.I)
"""The label before a document's text ("Content:" in the lesson's prompts): not part of the text."""
RIVAL_WEIGHT = 2.0
"""How much a runner-up option's match counts against the best one's confidence."""
EVIDENCE_NEEDED = 1.0
"""The match a choice needs before it is even odds: one clear concept gives 0.5, two give 0.67."""
_ARRIVED = re.compile(
    r"\b(?:arrived|came|delivered|received|got it|got here|turned up|showed up|has come|have come|is here|was here|"
    r"reached me|"
    # The same in French, Spanish, Italian, German, Dutch and Portuguese.
    r"arrivée?s?|reçue?s?|livrée?s?|llegó|llegado|llegaron|recibido|entregado|arrivat[oaie]|consegnat[oaie]|"
    r"ricevut[oaie]|angekommen|eingetroffen|geliefert|aangekomen|bezorgd|ontvangen|chegou|chegaram|"
    r"recebido|recebi|recebemos|recibí|recibi|recibimos|"
    # German says who received it with the auxiliary: "ich habe ... erhalten", not "Haben Sie ... bekommen?".
    r"(?<=\bhabe\b)[^.!?]{0,60}?\b(?:erhalten|bekommen))\b",
    re.I,
)
"""A clause saying an order is here: its whereabouts are not what the customer asks."""
_FINE = re.compile(
    r"(?:\b(?:is|are|was|were|looks?)|'s|’s|\s[-–:])\s+(?:all\s+)?(?:fine|ok|okay|correct|right|all good|sorted)\b",
    re.I,
)
"""A clause saying what it names is in order ("INV-1 is fine"): it asks for nothing about it."""
_THANKS = re.compile(r"\b(?:thanks|thank you|many thanks|grateful)\b", re.I)
"""A clause of thanks ("thanks for the quick delivery of order A-1"): what it names is done, not asked for."""
_NOT_YET = re.compile(
    # "nothing came", but "the button does nothing" is a fault, and "when I press it" asks nothing.
    r"\b(?:not|never|(?<!\bdoes )(?<!\bdo )(?<!\bdid )nothing|none|yet|still|where|status|"
    r"when(?!\s+(?:i|we)\b(?![^.!?]*\b(?:deliver\w*|arriv\w*|ship\w*|dispatch\w*|track\w*|says?)\b))|"
    r"track\w*|late|"
    r"(?:has|have|had|did|does|is|was|were|are)n'?t)\b|n't\b|"
    # Only some of it came: "I only received half of order A-1", "a partial delivery", "part of it arrived".
    r"\b(?:only|just)\s+(?:(?:received|got|had)\s+)?(?:half|part|some)\b|"
    r"\bpartial(?:ly)?\s+(?:deliver\w*|ship\w*|dispatch\w*|arriv\w*)|"
    r"\b(?:half|part|some)\s+of\s+(?:it|(?:the|my|this|that)\s+)?(?:order\s+)?[^.!?]{0,20}?"
    r"\b(?:came|arrived|turned up)\b|"
    # The same in French, Spanish, Italian, German, Dutch and Portuguese: "pas reçu", "niet aangekomen".
    r"\b(?:pas|jamais|toujours|no (?:ha|han|he|me)|todavía|todavia|aún|aun|non|ancora|nicht|noch|niet|nog|não|nao|"
    r"ainda|où|dónde|donde|dove|wo|waar|onde)\b",
    re.I,
)
_AN_ID = re.compile(rf"(?<![\w-]){ID_SHAPE}(?![\w-])")
"""Something shaped like an id (letters, then digits: "INV-1234", "A-12345")."""
_QUALIFYING = re.compile(r"\b(from|in|of|with|for|on)(\s+(?:(?:the|my|your|our|this|that)\s+)?(?:[a-z]+\s+)?#?)$", re.I)
"""What stands before an id that says where another thing belongs ("the lid from order A-1"), at the text's end."""
_BRACKETED = re.compile(r"(?<=[\w'’\"”])\s*(\()(\s*(?:(?:order|ref|invoice|inv|no\.?)\s*)?#?)$", re.I)
"""An opening bracket before an id, after a thing's name ("the masonry bits (D-1) are the wrong size"), at the
text's end: the id says which order the thing came in."""
_OF_ITS_STATE = re.compile(
    r"\b(?:lovely|great|gorgeous|beautiful|perfect|fine|nice|good|ok|okay|broken|cracked|chipped|damaged|scratched|"
    r"dented|torn|stained|faulty|defective|wrong|too|smaller|bigger|larger|shorter|longer|thinner|thicker|"
    r"loose|wobbl\w*|leak\w*|flicker\w*|fits?|works?|working)\b",
    re.I,
)
"""What says how a thing is, after its name ("is lovely", "are the wrong size", "wobbles"), not where it is."""
_ON_ITS_WAY = re.compile(
    r"\b(?:due|meant|supposed|expected|stuck|missing|lost|sent|transit|customs|depot|courier|driver|address|"
    r"here|yet|still|wait\w*|delay\w*)\b",
    re.I,
)
"""Words that say an order is still on its way or went astray ("was due Monday", "is stuck in customs")."""
_TO_A_PLACE = re.compile(GOING_TO, re.I)
_VERB_GOING_TO = re.compile(rf"[^\W_]+(?={GOING_TO})", re.I)
"""A verb of going somewhere ("returning to the UK"), which says nothing of a variant's action."""
_ALREADY_DONE_BY_ME = re.compile(r"\b(?:i|we)(?:'ve|'d)?\s+(?:(?:have|had|already|just)\s+)*$", re.I)
"""The customer as the one who did the verb after it ("I returned", "we've already sent back")."""
_RETURNED_BEFORE_NAME = re.compile(
    r"\b(?:i|we)(?:'ve|'d)?\s+(?:(?:have|had|already|just)\s+)*(?:returned|sent\s+back|posted\s+back)\s+"
    r"(?:(?:the|my|our|that|both)\s+)?$",
    re.I,
)
"""A name after a return the customer already made ("I returned the 'Opal Vase', where's my refund?")."""
_FOR_A_WHILE = re.compile(r"\s*(?:for\b|at first\b|until\b|initially\b|to begin with\b|till\b)", re.I)
"""What says a thing was fine only for a time ("was fine for a week, then ...")."""
_PARTS = frozenset(
    """leg legs strap straps handle handles lid lids buckle buckles button buttons hinge hinges zip zips zipper zippers
    screen cable cord plug switch knob knobs wheel wheels door doors drawer drawers base seam seams sole soles heel
    heels lace laces clasp clasps catch spout blade blades battery batteries charger fan motor spring springs
    stitching lining cushion cushions latch pedal pedals arm arms back shelf shelves panel panels foot feet toe
    fuse""".split()
)
"""What a product has as a part: "it" sent back is the product, not its part ("the leg snapped, returning it")."""
_DOUBT = re.compile(r"^(?:has|have|did|is|was)\s+(?:it|they)(?:\s+(?:though|really|now))?\W*$|^really\W*$", re.I)
"""A reply doubting what a quoted message says ("Has it though?"): about the quote's ids."""
_NO_THING = re.compile(r"^\W*(?:but\s+|and\s+)?no\s+((?:[\w-]+\s+){0,2}?[\w-]+)\W*$", re.I)
_A_LIST = re.compile(r",[^,]+,|\.\.\.|…")
"""A list of things ("brush, two heads, travel case..."): what a delivery held, before "no charging base"."""
_UNPACKED = re.compile(r"\b(?:opened|unpacked|unboxed|arrived|came|delivered|turned up|in the box|inside)\b", re.I)
"""What a delivery's contents are listed after, so that "... no charging base." after it is a thing it lacked."""
_GUILLEMETS = re.compile(r"«\s*([^«»]{2,80}?)\s*»")
_HOW_TO_PROCEED = re.compile(
    r"\b(?:how (?:to|do i|do we|should i|should we|can i) (?:proceed|go about)|what (?:to do|i need to do|happens) "
    r"next|(?:the|what are the) next steps|marche a suivre|comment proceder|wie ich vorgehen|como proceder)\b"
)
"""A request for the way to go on ("Please let me know how to proceed", folded): about the request before it."""
_TOO = re.compile(r"\b(?:too|as well|also)\b", re.I)
"""What adds a thing to the one before ("the chairs too")."""
_THE_REST = re.compile(r"\b(?:the rest|the remainder|the remaining|what'?s left)\b", re.I)
"""What is left of an order after some of it came ("Where is the rest?")."""
_CONDITION = re.compile(r"\b(?:unless|if|otherwise)\b", re.I)
"""What makes a stated intent conditional ("I'll send it back unless you refund the difference")."""
_IS_OR_DOES = frozenset("is are was were has have had".split())
"""Words after a thing's name that say what it is or has ("is lovely", "are the wrong size"), with `does`."""
_DONE_BEFORE = re.compile(
    # The subject may be left out at a sentence's start, as in a note ("Paid INV-1 in ten seconds").
    r"(?:\b(?P<subject>i|we)\s+|^\W*)(?:(?:have|had|already|just)\s+)*(?P<verb>[a-z]+ed|paid)\s+"
    r"(?:(?:the|my|our|that)\s+)?"
    r"(?:[a-z]+\s+)?#?$",
    re.I,
)
_MORE_THAN_ONCE = "twice|again|double"
_AGAIN = re.compile(rf"\s*(?:{_MORE_THAN_ONCE}|two times)\b", re.I)
"""What makes a payment or an action a problem to ask about: it was done more than once."""
_DONE_AFTER = re.compile(
    r"^\W*(?:which|that)\s+(?:i|we)\s+(?:(?:have|had|already|just)\s+)*(?P<verb>[a-z]+ed|paid)\b"
    rf"(?!\s+(?:{_MORE_THAN_ONCE}))",
    re.I,
)
"""An id the customer says they acted on ("I cancelled order A-1", "order A-1, which I returned")."""
_DONE_IN_A_LIST = re.compile(r"^\s*[:\-–—]\s*(?:already\s+)?(?P<verb>paid|cancell?ed|settled)\s*(?:[.,;!]|$)", re.I)
"""What became of an id in a list of ids ("- INV-1: paid."): nothing is asked of it."""
_DONE_BY_ME = re.compile(
    rf"^\W*(?:i|we)\s+(?:(?:have|had|already|just)\s+)*(?P<verb>[a-z]+ed|paid)\b(?!\s+(?:{_MORE_THAN_ONCE}))", re.I
)
"""A thing the customer says they acted on, named just before ("the 'Oak Chair' I returned")."""
_ACTED_STEMS = frozenset(stem(verb) for verb in ALTERING_VERBS | {"return"})


def _past_action(verb: str) -> bool:
    """Tell whether a past-tense verb is one of changing, ending, returning or paying ("cancelled", "paid")."""
    if fold(verb) == "paid":
        return True
    root = fold(verb)[:-2]
    roots = {root, root + "e"} | ({root[:-1]} if len(root) > 2 and root[-1] == root[-2] else set())
    return bool({stem(candidate) for candidate in roots} & _ACTED_STEMS)


_FOLLOW_UP = re.compile(
    r"\b(?:check|find out|look into|look at|chase|sort out|investigate|what'?s going on|what is going on|"
    r"what'?s happening|what'?s the latest|verifi\w*|revis\w*|comprob\w*|controll\w*|(?:uber)?prufen|"
    r"nachsehen|nachschauen|nachfragen|nachforschen|kigge|kijken|nagaan|kolla|sprawdz\w*)\b",
    re.I,
)
"""A request to look into something: naming nothing else, it is about the request before it."""
_ANY_NEWS = re.compile(
    r"^\W*(?:(?:is there|are there|have you (?:got|had)|do you have|got)\s+)?any\s+(?:news|ideas?|updates?|word|info)\b"
    r"(?:\s+(?:on|about|of|for)\s+(\S.*?))?\W*$",
    re.I,
)
"""A question for news ("Any idea?", "any news on the firepit?"): alone, it asks again about the request before it;
about a thing, it asks where that thing is."""
_WITHDRAWN = re.compile(
    r"\b(?:ignore|disregard)\s+(?:my|the|that|this|our)\b|\bnever ?mind\b|"
    r"\bno (?:need|reason) (?:for you )?to\s+(\w+)|(?:\b(?:you|u)\s+|^\W*)(?:don'?t|do not) need to\s+(\w+)",
    re.I,
)
"""A request taken back ("please ignore my last email about invoice INV-1", "no need to chase A-1", "you don't
need to send a label"): up to the next comma, "just" or "but" it asks for nothing; what stands before it and
after that may. "No need to rush" takes nothing back: only a request's verb can be taken back."""
_WITHDRAWN_END = re.compile(
    r"[,;](?:\s*(?:just|but|instead|rather)\b)?|\b(?:just|but|instead|rather)\b|"
    r"\band (?=(?:please|pls|can|could|would|i|we)\b)",
    re.I,
)
_TAKEN_BACK_VERBS = REQUEST_STEMS | {
    stem(verb) for verb in "chase call ring contact reply respond answer follow".split()
}
_BEFORE_WITHDRAWN = frozenset("please pls kindly so and but now".split())
_FOR_INFORMATION = re.compile(
    r"\bno need to (?:reply|respond|answer)\b|\bjust (?:letting you know|confirming)\b|\bno action (?:is )?needed\b|"
    r"\bfor your information\b",
    re.I,
)
"""A message that says it asks for nothing ("no action needed"): its remarks are news, not requests."""
_THANKS_PASSED_ON = re.compile(
    r"\bpass (?:on|along) (?:my|our) (?:thanks|gratitude|compliments)\b|"
    r"\bpass (?:my|our) (?:thanks|gratitude|compliments) (?:on|along|to)\b",
    re.I,
)
"""Thanks to be passed on ("please pass on our thanks to the driver"): a kindness, nothing for a worker to do."""
_AS_SAID = re.compile(r"\b(?:says?|said|saying|shows?|showing|reads?|states?|status(?: is)?|marked(?: as)?)\W*$", re.I)
"""What stands before a quotation of a status or a message ("the website says 'dispatched'"), which is no name."""
_INSTEAD = re.compile(r"\b(?:instead of|rather than)\b", re.I)
"""A request to do something otherwise than planned ("send it to my office instead of home"): a change."""
_INSTEAD_ALONE = re.compile(r"\binstead\b(?!\s+of\b)", re.I)
"""A request about an order that ends "... instead" ("leave it with the concierge instead"): a change of plan.
"Where is A-1 instead of more emails?" is a question with an aside."""
_WITHOUT = re.compile(
    r"\b(?:came|arrived|delivered|turned up|got here)\b[^.!?]*?\b(?:without|with no)\b|"
    r"\b(?:was|were|is|are)\s+missing\s+(?=(?:the|its|a|an|any|my|his|her|their)\b)",
    re.I,
)
_WRONG_THING = re.compile(
    r"\b(?:sent|delivered|shipped|received|got|gave)\s+(?:(?:me|us)\s+)?(?=(?:a|an|the|my|our|two|three|\d+)\s|[\"'“‘])"
    r"[^.!?]{0,80}?\b(?:instead of|rather than)\s+",
    re.I,
)
"""A delivery said to have brought one thing in place of another ("you sent me a blue one instead of the yellow
one"): asks for the thing ordered."""
_MISSING = re.compile(
    r"\b(?:(?:was|were|is|are)\s+(?:missing|not\s+there)|(?:was|were|is|are)n'?t\s+there|there\s+(?:are|were)\s+none|"
    r"(?:was|were)(?:n'?t|\s+not)\s+in\s+(?:the\s+)?(?:box|parcel|package|packet|bag|delivery)|"
    # German, where the thing comes first ("der Korb fehlt").
    r"fehlt|fehlen|fehlte|fehlten)\b",
    re.I,
)
_NONE_IN = re.compile(
    r"\bthere(?:'s| is| was| were)\s+no\s+((?:[\w-]+\s+){0,2}?[\w-]+)"
    r"(?=\s+(?:in|inside)\s+(?:the|my|our|its)\s+(?:box|package|packet|parcel|bag|delivery)\b)|"
    # "The box had the vacuum and the wand but no charger": what it held, then what it lacked (the list's last
    # item, "the wand but no charger", is a clause of its own).
    r"(?:\b(?:had|held|contained|included|(?:came|arrived|turned up|showed up|(?:was|were) delivered) with)\b"
    r"[^.!?]{0,80}?|"
    # "The parasol was in there but no base".
    r"\b(?:was|were)\s+(?:in\s+(?:there|the\s+(?:box|parcel|package))|there)\s+|"
    r"^(?:and\s+)?(?:the|an?|its|their)\s+(?:[\w'-]+\s+){1,3}?)"
    r"\bbut no\s+((?:[\w-]+\s+){0,2}?[\w-]+)"
    r"(?=\s*(?:[.,;:!?)]|$)|\s+(?:in|inside|and|so|at all)\b)|"
    # "Only 5 of the 6 wine glasses were in the box": some of a thing did not come.
    r"\bonly\s+(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:of|out of)\s+(?:the\s+|my\s+)?"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+((?:[\w-]+\s+){0,2}?[\w-]+)"
    r"(?=\s+(?:(?:were|was)\s+(?:in|inside|there|delivered|included|packed|sent)|came|arrived|turned up|showed up)\b)",
    re.I,
)
"""A delivery said to lack a thing ("the box came without the charger", "the remote was missing"): asks for it."""
_NO_TROUBLE = frozenset(
    """problem problems issue issues damage damages scratch scratches fuss hassle trouble troubles delay delays mark
    marks dent dents complaint complaints assembly fault faults defect defects stress bother updates rush worries
    worry need idea thanks sign smell hurry""".split()
)
"""What a delivery coming "with no ..." or "without ..." is glad to lack: no part to send."""
_CONTAINERS = frozenset("box boxes parcel parcels package packages packet bag bags delivery envelope".split())
"""What a delivery comes in: where a part was missing from, never the part."""
_MANAGED = re.compile(r"\bbut\s+(?:we|i)\s+(?:\w+\s+)?(?:figured|managed|worked|sorted|found)\b", re.I)
"""A lack the customer says they got round ("... but we figured it out"): nothing to send."""
_CONTACT_VERBS = frozenset("call ring phone email text contact message".split())
"""Verbs that ask to be contacted ("Please call."): a request of their own even with nothing named after them."""
_WHICH_THING = re.compile(
    r"\b(?:which|what)\s+(?:item|items|product|products|thing|things)\b|\bname of the (?:item|product)s?\b", re.I
)
"""A question asking which thing is meant ("which item would you like to return?", "the name of the item")."""
_NAMING_REPLY = re.compile(
    r"(?:(?:yes|yeah|sure|ok|okay|sorry)[,!.\s]+)?(?:it'?s|it’s|it is|that'?s|that is|they'?re|they are)\s+"
    r"(?=(?:the|my|our|an?)\s|['\"‘“])",
    re.I,
)
"""A reply that names a thing ("It's the 'Alba Vase' ..."), as one to a question of which thing is meant does."""
_WHEREABOUTS = re.compile(
    r"\b(?:where|when|status|track\w*|late|yet|arriv\w*|deliver\w*|dispatch\w*|ship\w*|updates?|came|come)\b", re.I
)
"""Words that ask or tell where an order is: beside a thing sent back, they make its order a question too."""
_OF_THE_ORDER = re.compile(
    r"\b(?:it|them|the other|the rest|remaining|missing|replacements?|the right|the correct|the ones?|another one|"
    r"a new one)\b",
    re.I,
)
"""What a request says of an order's contents ("send the other two", "cancel it")."""
_PHRASAL_HEADS = frozenset({"take", "bring"})
"""Verbs that mean a variant's business only with their particle ("take back", "bring it back"): they count as its
verb where the phrase at them is one of its concepts, asked of the company ("please take back the towels"; not "I
take back my complaint" or "will the driver take back the old fridge"; "give back" is as often money)."""
_ASKED_OF_US = re.compile(r"\b(?:please|pls|plz|kindly|you|u)\s+(?:\w+\s+)?$", re.I)
_THE_ORDER_ITSELF = frozenset("it they parcel parcels package packages order orders delivery box boxes one".split())
"""What, among the few words before "isn't there", says the delivery itself is not there ("it isn't there", "the
parcel it came in isn't there"), not a thing it lacked."""
_CHARGE_AFTER = re.compile(r"\s*(?:charges?|fees?|surcharges?|costs?|levy|levies|add-?ons?|line)\b", re.I)
_PRICE_BEFORE = re.compile(r"[£$€]\s?\d[\d.,]*\s*(?:for\s+)?$")
_CHARGE_CHANGES = frozenset("amend correct credit fix refund remove reverse waive".split())
"""What a customer asks done to a charge they query: the inquiry about the invoice covers it."""
_ON_A_BILL = re.compile(r"\b(?:inv\w*|bill\w*|charg\w*|receipt|statement|fees?)\b", re.I)
"""What says a quoted name is a charge on a bill: "charge" after it, or a price before it in a clause about a bill."""
_LIST_LEAD_IN = re.compile(
    r"\b(?:the following(?:\s+(?:points?|items?|issues?|questions?|things?|matters?))?|as follows|"
    r"(?:points?|items?|issues?|questions?|things?|matters?)\s+(?:listed\s+)?below|"
    # A count of what follows, before a colon ("I need three things:", "a couple of questions:").
    r"\b(?:a few|few|some|several|a couple of|couple of|a number of|multiple|two|three|four|five|[2-9])"
    r"\s+(?:\w+\s+)?(?:points?|items?|issues?|questions?|things?|matters?|problems?|requests?)\s*:)\s*:?[\s.?]*$",
    re.I,
)
"""A request that only opens a list ("Could you help with the following:", "I need three things:"): the list's
items are what it asks."""
_PLEASE_FIND = re.compile(r"\bfind\s+(?:below|enclosed|attached|here)\b", re.I)
"""A letter's formula ("Please find below our queries:", "find attached the photos"): it hands over, asks nothing."""
_WHERE_QUESTION = re.compile(
    r"^\W*(?:where|when)\b|\b(?:check|tell (?:me|us)|know|idea|find out|see|confirm|say|wondering)\s+(?:where|when)\b|"
    r"\b(?:status|track\w*)\b",
    re.I,
)
"""A request that asks where or when ("when will it come?", "can you check where it is"), not one that only says
when something happened ("one snapped when we moved it")."""
_OF_AN_ORDER = re.compile(
    r"\b(?:it|they|them|my (?:stuff|things|order|parcel|package|delivery|items?|purchases?)|get here|arrive\w*|"
    r"turn up|deliver\w*|ship\w*|dispatch\w*)\b",
    re.I,
)
"""What says the where or when is an order's ("where it is", "when I'll get my stuff"), not a shop's or a sale's."""
_WHERE_ASKED = re.compile(r"\b(?:where|when|status|track\w*)\b", re.I)
"""A question of where or when ("where is it then?")."""
_SENDING_BACK = re.compile(
    r"\b(?:(?:returns?|prepaid|pre-paid|postage|shipping)\s+)?(?:labels?|etiquetas?|étiquettes?|etichett[ae]|etiketts?|"
    r"etiketten)\b(?!\s+(?:for|para|pour|per|für|fur)\b)|\breturns? (?:form|address)\b|"
    # German and Dutch write the label with what it is for, in one word ("Rücksendeetikett", "retourlabel").
    r"\b\w+(?:etikett|etiket|label)(?:en|s)?\b",
    re.I,
)
"""What a thing is sent back with: asked for after a return ("How do I get a label?"), it is part of that return;
labels for something else ("labels for my storage boxes") are a request of their own."""
_DENIAL = re.compile(
    r"^(?:no\W+)?(?:it|they|this|that)\s*(?:has|have|had|did|does|is|are|was|were)\s*(?:not|n't)\s*(?:yet)?\W*$|"
    r"\b(?:never|not|n't)\s+(?:arrived|came|come|turned up|got here|reached me|received|been delivered|shipped)\b|"
    r"\bnothing (?:has )?(?:came|come|arrived|turned up)\b",
    re.I,
)
"""A reply that denies what a quoted message says ("It has not.", "It never arrived", "Nothing came")."""
_FOR_REFERENCE = re.compile(r"\bif (?:that|it|this) helps\b|\bfor (?:your )?reference\b|\bin case you need\b", re.I)
"""An id offered as information for the request before ("The order was A-11111 if that helps")."""
_ID_WORDS = frozenset(
    """order invoice ref reference number no it's its it is my the was for mi pedido factura es el numero ma
    commande facture est le la meine bestellung rechnung ist die nummer il mio ordine fattura e o meu minha
    encomenda fatura bestellnummer auftragsnummer rechnungsnummer bestelnummer ordernummer factuurnummer nr
    btw fyi""".split()
)
"""Words that may stand beside an id given on its own ("Order A-11111.", "It's A-11111", "Mi pedido es el A-1"),
in English and the other languages the offline model reads."""
_BACK_REFERENCE = re.compile(r"^(?:it|they|this|that|these|those|mine|the one|the ones|both)\b", re.I)
"""A clause opening on what the request before it named ("The one in order A-1 was missing")."""
_STATED_COUNT = re.compile(r"\b(?:exactly|a list of|list of exactly)\s+(\d{1,3})\b", re.I)


@dataclass
class Section:
    """A stretch of material under one heading (a "Source Title: ..." line or a Markdown heading)."""

    heading: str
    text: str = ""


def _sections(material: str) -> list[Section]:
    """Split material into sections, one per document, under its "Source Title: ..." lines.

    Material without such lines is split under its top-level Markdown headings. Lower headings (a "## Pruning"
    inside a document) are never a document of their own; heading lines are structure, not prose, so no
    section's text holds them.
    """
    lines = [_CONTENT_LABEL.sub("", line) for line in material.splitlines()]
    titled = any(_TITLE_LINE.match(line) for line in lines)
    levels = [len(line) - len(line.lstrip().lstrip("#")) for line in lines if MARKDOWN_HEADING.match(line)]
    top = min(levels, default=0)
    found = [Section("")]
    for line in lines:
        title = _TITLE_LINE.match(line)
        heading = MARKDOWN_HEADING.match(line)
        if title:
            found.append(Section(title.group(1)))
        elif heading and not titled and len(line) - len(line.lstrip().lstrip("#")) == top:
            found.append(Section(heading.group(1)))
        elif not heading:
            found[-1].text += " " + line.strip()
    return [section for section in found if section.heading or section.text.strip()]


@dataclass
class Prompt:
    """A prompt taken apart: instructions, quoted fields, delimited material and the user's own text."""

    instructions: str
    user_text: str
    fields: dict[str, str] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    """Text between tags, by tag: the words the prompt says are data to work on, never instructions."""

    @classmethod
    def from_messages(cls, messages: Sequence[BaseMessage]) -> "Prompt":
        """Split chat messages into what the model is told and what it is given to work on.

        A model's own earlier reply and what follows it (a request to answer again, say why) do not change what
        was asked: the prompt is read up to the first reply, and that request is answered again.
        """
        replied = next((i for i, m in enumerate(messages) if m.type == "ai"), len(messages))
        tagged = [(m.type, str(m.text)) for m in messages[:replied]]
        data = {tag: value.strip() for _, text in tagged for tag, value in _TAGGED.findall(text)}
        # What the user's text is read from has the tags unwrapped; what instructions and fields are read from has
        # the data left out, so nothing the customer wrote is ever taken for an instruction.
        texts = [(kind, _TAGGED.sub(lambda m: m.group(2), text)) for kind, text in tagged]
        everything = "\n\n".join(t for _, t in texts)
        told = "\n\n".join(_TAGGED.sub("", t) for _, t in tagged)
        blocks = [b.strip() for b in _BLOCK.findall(everything)]
        fields = {label.strip().lower(): value[1:-1].strip() for label, value in _FIELD.findall(_BLOCK.sub("", told))}
        humans = [t for kind, t in texts if kind == "human"]
        has_system = any(kind == "system" for kind, _ in texts)
        if has_system and humans:
            user_text = humans[-1]
        elif data:
            user_text = next(iter(data.values()))
        elif fields:
            user_text = next(iter(fields.values()))
        elif blocks:
            user_text = blocks[-1]
        elif len(humans) == 1 and (led := _LED_IN.match(humans[0].strip())):
            # "Write a headline for this text:\n<text>": the line that ends on a colon says what to do with the
            # text after it, which is the material (as between --- lines), never part of the instructions.
            told, user_text, blocks = led.group(1), led.group(2), [led.group(2).strip()]
        else:
            user_text = humans[-1] if humans else everything
        instructions = _BLOCK.sub("", told if not has_system else "\n".join(t for k, t in texts if k != "human"))
        return cls(instructions=instructions, user_text=user_text.strip(), fields=fields, blocks=blocks, data=data)

    @property
    def material(self) -> str:
        """The delimited documents or facts the prompt supplies, if any."""
        return "\n\n".join(self.blocks)

    @property
    def sections(self) -> list[Section]:
        """The material split under its headings (document titles)."""
        return _sections(self.material)

    @property
    def material_sentences(self) -> list[str]:
        """The material's prose sentences, headings and labels left out."""
        return [s for section in self.sections for s in sentences(section.text)]

    @property
    def has_documents(self) -> bool:
        """Whether the material is titled documents (a "Source Title: ..." line or a heading per document)."""
        return any(section.heading for section in self.sections)

    @property
    def grounding(self) -> float | None:
        """The share of the quoted fields' content words that the rest of the prompt (material, instructions) holds.

        How much of the quoted text is drawn from what the model was given; None without quoted text and material.
        """
        quoted = content_words(" ".join(self.fields.values()))
        if not quoted or not self.material:
            return None
        instructions = self.instructions
        for value in self.fields.values():
            instructions = instructions.replace(value, " ")
        return len(quoted & content_words(f"{self.material} {instructions}")) / len(quoted)

    @property
    def focus(self) -> str:
        """What the prompt asks about: its quoted fields (a question, an answer) if any, else the user's text."""
        return " ".join(self.fields.values()) or _BLOCK.sub("", self.user_text).strip()


@functools.lru_cache(maxsize=256)
def _still_to_come(text: str) -> bool:
    """Tell whether `text` says something is not yet done or asks where, before it says a part is missing.

    What follows a part said to be missing is about that lack ("the cot is missing its mattress - nothing else
    was in the box"), not about where the order is.
    """
    # Cached: every id of a clause asks this of the same text, and each answer reads all of it.
    lacks = [*_WITHOUT.finditer(text), *(m for m in _MISSING.finditer(text) if _unless_the_order(m) == " ")]
    return bool(_NOT_YET.search(text[: min((lack.start() for lack in lacks), default=len(text))]))


def _unless_the_order(missing: re.Match[str]) -> str:
    """Drop a part said to be missing ("the lid isn't there"), but keep the order itself not being there ("it")."""
    before = fold(missing.string[max(0, missing.start() - 60) : missing.start()]).split()[-4:]
    return missing.group() if _THE_ORDER_ITSELF.intersection(before) else " "


def _a_charge(text: str, start: int, end: int) -> bool:
    """Tell whether the quoted name at `text[start:end]` names a charge ("a £6.50 'packaging' charge"), not a thing."""
    priced = _PRICE_BEFORE.search(text[:start]) and _ON_A_BILL.search(text)
    return bool(_CHARGE_AFTER.match(text, end) or priced)


def _on_whereabouts(text: str) -> bool:
    """Tell whether text asks or tells where an order is, or that it has not come ("where", "late", "never")."""
    return bool(_WHEREABOUTS.search(text) or _NOT_YET.search(text))


def _described(variant: dict[str, Any]) -> str:
    """Return what a variant says of itself: its title and description, which its words are matched against."""
    return f"{variant.get('title', '')} {variant.get('description', '')}"


def _findable(pattern: str) -> str:
    """Turn a field's pattern into one that finds the value in running text.

    An anchored pattern describes a whole value, so in text it must match a whole token: "A-12345" is an
    order id in "order #A-12345?", but "V-78901" inside "INV-78901" is not. Customers write ids in either case
    ("order a-12345", "inv-7890"): the plan gives them in the format's case (see nodes.orchestrator.read_plan).
    """
    core = pattern.removeprefix("^").removesuffix("$")
    before = r"(?<![\w-])" if pattern.startswith("^") else ""
    after = r"(?![\w-])" if pattern.endswith("$") else ""
    return f"{before}(?i:{core}){after}"


def _cued(name: str, text: str) -> str | None:
    """Read a field named like a name from a quoted phrase, and one named like a reason from a "because"."""
    name = name.lower()
    if name.endswith(("name", "title")):
        quoted = _QUOTED.search(text)
        return quoted.group(1).strip() if quoted else None
    if "reason" in name:
        cause = _BECAUSE.search(text) or re.search(r"\breason\b[\w ]{0,20}:\s*(.+?)\s*(?:[.!?](?:\s|$)|$)", text, re.I)
        return cause.group(1).strip(" .!?;,") if cause else None
    return None


def _name_field(schema: dict[str, Any]) -> str:
    """Return the variant's required field named like a name ("product_name"), or ""."""
    return next((str(key) for key in schema.get("required", []) if key.lower().endswith(("name", "title"))), "")


def _patterned(schema: dict[str, Any]) -> bool:
    """Tell whether a required field of the variant has a pattern (an id)."""
    properties = schema.get("properties", {})
    return any("pattern" in properties.get(key, {}) for key in schema.get("required", []))


def _free_field(schema: dict[str, Any]) -> str:
    """Return the variant's first required free-text field (a string without pattern or fixed options), or ""."""
    for key in schema.get("required", []):
        spec = schema.get("properties", {}).get(key, {})
        if spec.get("type") == "string" and not {"pattern", "enum", "const"} & set(spec):
            return str(key)
    return ""


_LISTED = re.compile(r"^(?:(?:for|with|plus)\s+)?(?:the|my|a|an|this|that|these|those|our)\b|^[\"'“‘]", re.I)
_REASON_NEXT = re.compile(rf"^(?:(?:too|as well|also)\b[,\s]*)?(?:(?:{_BECAUSE_WORDS}|as)\b|[(,\-–]|$)", re.I)


_GOT_IT = re.compile(r"^(?:(?:that|which)\s+)?(?:i|we)\s+(?:got|bought|ordered|received|recieved|have)\b", re.I)


_NOT_HOW = frozenset("as because since is are was were has had does did".split())
"""Words that end how the customer got a thing: the reason or what the thing does starts there."""
_WHEN_I_GOT_IT = frozenset("today yesterday last week month year ago recently this morning".split())


_WHERE_IT_CAME = re.compile(
    r"^(?:(?:that|which)\s+(?:arrived|came)(?!\s+with\b)(?:\s+(?:today|yesterday))?|"
    # "the lampshade that goes with it": which thing, not what is wrong with it.
    r"(?:that|which)\s+(?:goes|go|went|came|comes|matches|match)\s+with\s+(?:it|them|the\s+[\w-]+)|"
    r"(?:in|from)\s+(?:it|there|(?:the|that|this)\s+(?:same\s+)?(?:box|parcel|package|order|delivery))|x\s?\d+\b)"
    r"[\s,;:\-–]*",
    re.I,
)
"""Where a thing came, between its name and the reason ("the vase that arrived was chipped", "the stool in it has
a short leg", "the organiser x2 - both are chipped"): no part of the reason."""


def _how_i_got_it_removed(text: str) -> str:
    """Drop how the customer came by a thing, or where it came, between its name and the reason.

    "the fleece I got with it as ...", "the vase that arrived was chipped".

    What follows the verb is part of it for up to three words, and when it was ("yesterday", "last week"), until
    a word that says what the thing does ("the reel I received leaks") or gives the reason.
    """
    text = _WHERE_IT_CAME.sub("", text, count=1)
    got = _GOT_IT.match(text)
    if got is None:
        return text
    rest, taken, owner = text[got.end() :], 0, False
    while word := re.match(r"\s+([\w'’]+)", rest):
        said = fold(word.group(1))
        when = said in _WHEN_I_GOT_IT
        # A possessive takes its noun with it ("for my parents' anniversary"), whatever the count.
        if not when and not owner and (taken == 3 or does(word.group(1)) or said in _NOT_HOW):
            break
        rest, taken, owner = rest[word.end() :], taken + (not when), said.endswith(("'", "’", "'s", "’s"))
    return rest.lstrip()


def _names_a_thing(text: str) -> bool:
    """Tell whether text opens on a thing's name ("the 'Lark Kettle', ...", "the kettle").

    "The one from my last order" and "the same problem as before" name none.
    """
    body = text.lstrip()
    opening = re.sub(r"^(?:the|my|our|an?)\s+", "", body, flags=re.I)
    if _QUOTED.match(body) or (opening != body and opening[:1] in "'\"‘“"):
        return True
    thing = noun_phrase(text) or ""
    named_first = bool(thing) and fold(opening).startswith(fold(thing))
    return named_first and is_thing(thing) and not {"one", "ones", "same", "name"} & set(words(thing))


def _opens_on_a_thing(clause: str) -> bool:
    """Tell whether a clause opens on a thing's name ("a copy of the manual ..."), as a list's next item does."""
    body = lead_in_removed(clause)
    return bool(_LISTED.match(body)) and not _BACK_REFERENCE.match(body) and is_thing(noun_phrase(body) or "")


def _listed_thing(clause: str) -> str | None:
    """Return the thing a clause adds to the request before it ("and the remote because ..."), else None.

    Only a clause that is a name and at most its reason counts: "the box was damaged too" is a remark.
    """
    body = lead_in_removed(clause)
    thing = noun_phrase(body) if _LISTED.match(body) else None
    if not thing or thing in PRONOUNS:
        return None
    after = body[body.find(thing) + len(thing) :].strip(" '\"”’.!?")
    after = _how_i_got_it_removed(after)  # "the fleece I got with it as it pills"
    return thing if _REASON_NEXT.match(after) else None


def _rest_after(text: str, value: str) -> str:
    """Return what follows `value` in `text` (a reason after the thing named), without joining words or brackets."""
    at = text.find(value) if value else -1
    if at < 0:
        return ""
    # "the blanket's controller died": the possessive is no part of the reason ("controller died").
    after = re.sub(r"^['’]s\b", "", text[at + len(value) :])
    after = _BRACKETED_ID.sub("", after, count=1)  # "the bits (D-1) are the wrong size"
    after = _FROM_AN_ORDER.sub("", after, count=1)  # "the towel ladder from F-1 - one of the rungs is loose"
    rest = _how_i_got_it_removed(after.strip(" '\"”’"))
    # "send the toaster back, it sparks": the verb's particle ends the request, the reason comes after it.
    rest = re.sub(rf"^(?:[,;:()\-–]|\b(?:{_BECAUSE_WORDS}|as|back|away)\b|\s)+", "", rest, flags=re.I)
    # German and Dutch put the verb last ("die 'Jacke' schicke ich zurück, die Ärmel sind zu kurz"): a part that ends
    # on sending back, not on what is sent ("overheats so I want to return it"), is the request; the reason follows.
    head, comma, tail = rest.partition(",")
    ending = re.sub(r"\s+(?:too|also|as well|again)$", "", head.rstrip(), flags=re.I).split()[-3:]  # "send it back too"
    verb_last = bool(ending) and fold(ending[-1]) not in PRONOUNS and "~give_back" in meaning(" ".join(ending))
    if comma and tail.strip() and verb_last:
        rest = tail.strip()
    return sentences(rest)[0].strip(" .!?;,()") if rest.strip() else ""


_BRACKETED_ID = re.compile(rf"^\s*\(\s*(?:(?:order|ref|invoice|inv|no\.?)\s*)?#?{ID_SHAPE}\s*\)", re.I)
"""An id in brackets right after a thing's name ("the bits (D-1) are ..."): which order, no part of a reason."""
_FROM_AN_ORDER = re.compile(rf"^\s*(?:from|in|on|of)\s+(?:(?:the|my|our)\s+)?(?:order\s+)?#?{ID_SHAPE}\b", re.I)
"""The order a thing came in, right after its name ("the drill set from order D-1 is fine")."""
_LONGEST_NOTE_REASON = 25
"""The most words a reason before a note may have ("..., returning it"): beyond it, it is an aside."""


def _reason_after(text: str, value: str) -> str:
    """Return the reason that follows a thing named ("the kettle, it leaks"): not another request after it.

    What asks for something, goes on with "and ...", or names an id ("invoice INV-1 is wrong") is a request of
    its own, not the reason.
    """
    rest = _rest_after(text, value)
    listed = re.match(r"(?:and|&)\s+(?=(?:the|my|our|an?)\s)", rest, re.I)
    shared = noun_phrase(rest[listed.end() :]) if listed else None
    if shared and is_thing(shared) and not is_request(rest):
        # "the iron and the toaster are broken": what is said of both is each one's reason.
        reason = _reason_after(rest, shared)
        if re.match(r"(?:are|were|both|have|do|don't|dont)\b", reason, re.I):
            return reason
    if re.match(r"(?:and|then|so|also|plus|or)\b", rest, re.I) and not re.match(
        rf"(?:also|then)\s+{TOLD_AFTER_ADVERB}", rest, re.I
    ):
        return ""
    if is_request(rest):
        # "the gate doesnt fit our stairs, want to send it back": the remark before the request is its reason, up
        # to an order named beside it ("keeps burning toast, order A-1, I want to return it").
        remark = remark_before_request(rest)
        note = note_at(rest)
        if not remark and note is not None and len(words(rest[:note])) <= _LONGEST_NOTE_REASON:
            # "the 'Pine Shelf' my husband put up wobbles, returning it": what comes before a note is its reason,
            # whoever it names ("my husband"): the note has no subject of its own to tell the two apart.
            remark = rest[:note].strip(" ,;-–—")
        named_order = _AN_ID.search(remark)
        if named_order:
            remark = re.sub(
                r"[\s,;:(–-]*\b(?:order|invoice|from|in|on|ref)?\W*#?$", "", remark[: named_order.start()], flags=re.I
            )
        return remark
    return "" if _AN_ID.search(rest) else rest


_ACTED_ON_ABROAD = re.compile(
    r"\b([^\W\d_]+)\s+(?:sie\s+)?(?:ma|mon|mes|la|le|les|mi|mis|el|los|las|il|lo|gli|mio|mia|miei|meine|meinen|"
    r"mein|die|den|das|der|o|os|a|as|minha|meu|meus|minhas|uma|um|une|un|una|votre|vos|su|sua|tu)\b|\b([^\W\d_]+)\s+l['’]",
    re.I,
)
"""A verb followed by what it acts on, in French, Spanish, Italian, German or Portuguese ("annuler ma commande",
"stornieren Sie meine Bestellung", "annullare l'ordine")."""


_ACTION_VERBS = {"refund": "refund", "exchange": "exchange", "cancellation": "cancel", "replacement": "replace"}
_ACTION_NAMED = re.compile(
    r"^(?:(?:i'?d like|i would like|i want|i need|can i (?:get|have)|could i (?:get|have)|may i have)\s+)?(?:a|an)\s+"
    rf"({'|'.join(_ACTION_VERBS)})\s+(?:for|on|of)\b",
    re.I,
)
"""A request that names its action as a noun ("I'd like a refund for ...", which reads "a refund for ..." once its
politeness is dropped): the action's verb."""


def _past_tense(verb: str) -> bool:
    """Tell whether a verb is in the past tense ("returned", "sent"), as a thing already done is told."""
    return fold(verb).endswith("ed") or fold(verb) in ("sent", "took", "brought")


def _base_forms(verb: str) -> tuple[str, ...]:
    """Return what an -ing form's verb may be: "cancelling" and "swapping" drop a doubled letter, "changing" an e."""
    root = verb[:-3]
    return (root, root[:-1], f"{root}e")


def _acting_verb(asked: str) -> str:
    """Return the verb a request opens on, or the one after its "please" ("order A-11111, pls refund").

    In another language it is the English altering verb the request uses ("annuler": "cancel").
    """
    verb = fold(asked).split()[0] if asked.split() else ""
    # "cancelling", "changing", "swapping": the verb itself.
    verb = next((base for base in _base_forms(verb) if base in ALTERING_VERBS), verb) if verb.endswith("ing") else verb
    named = _ACTION_NAMED.match(asked)
    if named:  # "I'd like a refund for the express delivery on order A-1" asks to refund it
        return _ACTION_VERBS[fold(named.group(1))]
    polite = re.search(
        r"\b(?:please|pls|kindly|(?:can|could|would|will)\s+(?:you|u))\s+(\w+)(?:\s+(?:it|them|this|that))?\W*$",
        asked,
        re.I,
    )
    if verb not in ALTERING_VERBS and polite and fold(polite.group(1)) in ALTERING_VERBS:
        return fold(polite.group(1))
    # "Is there any way you could hold one for us until payday?": the verb the company is asked to do.
    asked_of_us = re.search(
        r"\b(?:(?:can|could|would|will)\s+(?:you|u)|(?:you|u)\s+(?:can|could|would|might))\s+(\w+)", asked, re.I
    )
    if verb not in ALTERING_VERBS and asked_of_us and fold(asked_of_us.group(1)) in ALTERING_VERBS:
        return fold(asked_of_us.group(1))
    # "je voudrais annuler ma commande", "Bitte stornieren Sie meine ...": the verb after a few words of politeness,
    # acting on what follows it ("changer d'adresse" or "cambiare casa" is moving, not changing an order).
    abroad = next(
        (
            ALTERING_VERBS_ABROAD[said]
            for found in _ACTED_ON_ABROAD.finditer(asked[:60])
            if (said := fold(found.group(1) or found.group(2))) in ALTERING_VERBS_ABROAD
        ),
        None,
    )
    return abroad if verb not in ALTERING_VERBS and abroad else verb


def _part_around(clause: str, at: int) -> str:
    """Return what a clause says of the id at character `at`.

    That is its part between "but"s and semicolons, and the parts after it up to one that names an id of its
    own: "A-1 says delivered but it never came" is all A-1's; in "A-1 arrived but A-2 is missing" the second
    part is A-2's.
    """
    cuts = [edge for cut in re.finditer(r"\s*(?:\bbut\b|;)\s*", clause) for edge in (cut.start(), cut.end())]
    bounds = [0, *cuts, len(clause)]
    parts = list(zip(bounds[::2], bounds[1::2], strict=True))  # (begin, end) of each part
    first = next((number for number, (_, end) in enumerate(parts) if at < end), len(parts) - 1)
    last = first
    while last + 1 < len(parts) and not _AN_ID.search(clause[slice(*parts[last + 1])]):
        last += 1
    return clause[parts[first][0] : parts[last][1]]


def _ends_a_sentence(clause: str) -> bool:
    """Tell whether a clause ends its sentence, so that the next begins a new one."""
    return clause.rstrip().endswith((".", "!", "?"))


def _in_full(thing: str, full_names: list[str], text: str, named_unquoted: list[list[str]]) -> str:
    """Return the quoted name a short name stands for ("the keyboard": the 'Nebula RGB Keyboard'), else the name.

    The quoted name ends on the same word and holds all of the short one's words; `named_unquoted` holds the words
    of each thing `text` names outside quotes.
    """
    said = words(thing)
    # "The 'Ivy Mirror' is lovely. The hand mirror is scratched, can I return the mirror?": the hand mirror.
    other_same = any(len(phrase) > len(said) and phrase[-1:] == said[-1:] for phrase in named_unquoted)
    return next(
        (
            full
            for full in full_names
            if said
            and not other_same
            and not _said_fine(full, text)
            and len(words(full)) > len(said)
            and words(full)[-1] == said[-1]
            and set(said) <= set(words(full))
        ),
        thing,
    )


def _names_a_thing_aside(clause: str) -> bool:
    """Tell whether a remark names a thing of its own, with no id or quoted name that a request was planned from.

    "My partner wants the desk in walnut. Could you hold one?": "one" is that desk, not the request before it.
    """
    if is_request(clause) or _AN_ID.search(clause) or _QUOTED.search(clause):
        return False
    return any(is_thing(thing) for thing in noun_phrases(clause))


def _said_fine(thing: str, text: str) -> bool:
    """Tell whether `text` says `thing` is in order right after naming it ("the divan is fine")."""
    named = text.find(thing)
    after = text[named + len(thing) :] if named >= 0 else ""
    after = _BRACKETED_ID.sub("", re.sub(r"^['’\"”]", "", after), count=1)
    after = _FROM_AN_ORDER.sub("", after, count=1)  # "the drill set from order A-1 is fine"
    fine = _FINE.match(after) or _FINE.match(after.lstrip())
    # "The chair was fine for a week, then the leg snapped": fine only until it was not.
    return bool(named >= 0 and fine and not _FOR_A_WHILE.match(fine.string, fine.end()))


def _a_part(thing: str, text: str) -> bool:
    """Tell whether a thing is a part of a product ("the buckle", "the leg"), by its last word.

    A name quoted in `text` ("the 'Echo Strap'") is a product of its own.
    """
    said = words(thing)
    return bool(said) and said[-1] in _PARTS and not re.search(rf"[\"'“‘]{re.escape(thing)}[\"'”’]", text)


def _where_or_part(thing: str, things: list[str], text: str) -> bool:
    """Tell whether `text` names `thing` as a place ("at the strap") or a part of another of `things`.

    A part is said with "of" or "on": "the handle of my mug", "the strap on my watch".
    """
    # "the battery I bought for my drill": what a thing is for is no more what is sent back than where it broke.
    place = rf"\b(?:at|in|into|onto|from|near|by|under|behind|around|inside|to|for)\s+(?:\w+\s+)?{re.escape(thing)}\b"
    wholes = "|".join(re.escape(other) for other in things if other != thing)
    part = rf"\b{re.escape(thing)}\s+(?:of|on)\s+(?:\w+\s+)?(?:{wholes})\b" if wholes else None
    return bool(re.search(place, text, re.IGNORECASE) or (part and re.search(part, text, re.IGNORECASE)))


def _clauses(text: str) -> list[str]:
    parts = [p.strip(" ,;") for p in _CLAUSE_SPLIT.split(" ".join(text.split()))]
    return [p for p in parts if p]


class SchemaFiller:
    """Fill a JSON schema from a prompt, deterministically and only from the prompt's own text."""

    def __init__(self, schema: dict[str, Any], prompt: Prompt) -> None:
        """Keep the root schema, whose `$defs` nested `$ref`s point into."""
        self.root = schema
        self.prompt = prompt

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a local `$ref` ("#/$defs/Name") to its definition."""
        while "$ref" in schema:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def fill(self, schema: dict[str, Any], name: str = "", text: str | None = None) -> Any:
        """Return a value for `schema`, drawn from `text` (by default the user's text)."""
        schema = self.resolve(schema)
        text = self.prompt.user_text if text is None else text
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            usable = [self.resolve(v) for v in variants if self.resolve(v).get("type") != "null"]
            if all("const" in v or "enum" in v for v in usable):
                return self.choose([o for v in usable for o in v.get("enum", [v.get("const")])], text)[0]
            return self.fill(self.best_variant(usable, text), name, text)
        if "enum" in schema or "const" in schema:
            return self.choose(list(schema.get("enum", [schema.get("const")])), text)[0]
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            return self.fill_object(schema, text)
        if kind == "array":
            return self.fill_array(schema, name, text)
        if kind in ("number", "integer"):
            found = re.search(r"-?\d+(?:\.\d+)?", text)
            value = float(found.group()) if found else float(schema.get("minimum", 0))
            return int(value) if kind == "integer" else value
        if kind == "boolean":
            return overlap(f"{name} {schema.get('description', '')}", text) > 0
        return self.fill_string(schema, name, text)

    def fill_object(self, schema: dict[str, Any], text: str) -> dict[str, Any]:
        """Fill each property; a confidence-like number reflects the margin of the object's enum choice."""
        result: dict[str, Any] = {}
        margin: float | None = None
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            resolved = self.resolve(sub)
            options = resolved.get("enum") or [
                v.get("const") for v in resolved.get("anyOf", []) if "const" in self.resolve(v)
            ]
            if options:
                result[key], margin = self.choose(list(options), text)
        for key, sub in properties.items():
            if key in result:
                continue
            rated = any(word in key.lower() for word in _CONFIDENCE_NAMES)
            if rated and margin is not None:
                result[key] = round(margin, 2)
            elif rated and self.prompt.grounding is not None:
                # Nothing chosen to be sure of: rate the quoted text (an answer, a draft) against the material.
                result[key] = round(self.prompt.grounding, 2)
            else:
                result[key] = self.fill(sub, key, text)
        return result

    def fill_array(self, schema: dict[str, Any], name: str, text: str) -> list[Any]:
        """One item per clause of the text that matches the item schema; within minItems/maxItems."""
        item_schema = self.resolve(schema.get("items", {}))
        low, high = schema.get("minItems", 0), schema.get("maxItems", 50)
        stated = _STATED_COUNT.search(f"{self.prompt.instructions}\n{_BLOCK.sub('', self.prompt.user_text)}")
        if not name and "maxItems" not in schema and stated:
            # The whole answer is this list, so the count the instructions ask for ("exactly 10") is its size.
            low = high = int(stated.group(1))
        variants = [self.resolve(v) for v in item_schema.get("anyOf", item_schema.get("oneOf", []))]
        # Titled documents between --- lines are all content, so each of their sentences can be an item; a
        # capped list takes sentences spread over all of them rather than the first document's. Other material
        # (a customer's message, a list of facts) keeps the clause-by-clause reading.
        documents = self.prompt.has_documents
        from_material = documents and text == self.prompt.user_text
        items: list[Any] = []
        described = f"{name} {schema.get('description', '')} {item_schema.get('description', '')}"
        if documents and self.labels(item_schema, described):
            items = self.label_sentences(item_schema, text)
        elif from_material and (variants or item_schema.get("type") == "object"):
            candidates = variants or [item_schema]
            for piece in _spread(self.prompt.material_sentences, high):
                items.append(self.fill(self.best_variant(candidates, piece), name, piece))
        elif variants or item_schema.get("type") == "object":
            items = self.fill_requests(variants or [item_schema], name, text)
        else:
            pieces = (
                _spread(self.prompt.material_sentences, high)
                if from_material
                else _clauses(self.prompt.material or text)
            )
            items = [self.fill(item_schema, name, piece) for piece in pieces]
        seen: list[Any] = []
        for item in items:
            if item not in seen:
                seen.append(item)
        # Too few distinct items for a stated minimum: repeat them, as an overwhelmed model would; callers that
        # need distinct items check for repeats.
        distinct = len(seen)
        while len(seen) < low and distinct:
            seen.append(seen[len(seen) % distinct])
        return seen[:high]

    def labels(self, schema: dict[str, Any], described: str) -> bool:
        """Tell whether values label the text: enum options, or (described as titles) the material's headings."""
        if "enum" in schema:
            return True
        return "title" in described.lower() and any(section.heading for section in self.prompt.sections)

    def label_sentences(self, item_schema: dict[str, Any], text: str) -> list[Any]:
        """Label each sentence of the focus text with the option (or section title) it matches best."""
        options = list(item_schema.get("enum") or [s.heading for s in self.prompt.sections if s.heading])
        focus = self.prompt.focus if text == self.prompt.user_text else text
        labels = []
        for piece in sentences(focus) or [focus]:
            option, confidence = self.choose(options, piece)
            if confidence > 0:
                labels.append(option)
        return labels or [self.choose(options, focus)[0]]

    def fill_requests(self, variants: list[dict[str, Any]], name: str, text: str) -> list[Any]:
        """One item per request in a message, of the variant that request fits, in the order they were written.

        Requests:
        - An id its variant's pattern finds, or a quoted name, is a request of that variant, however many the
          clause holds ("orders A-11111 and A-22222").
        - A request with no such anchor goes to the variant its words describe when that variant can be filled
          from words ("return my headphones": the thing after the verb, or the one an "it" stands for), also
          beside an anchor in one clause; otherwise to the catch-all variant, whose free text says what was
          asked, so nothing asked for is dropped.
        - A request that only repeats the one before ("where is A-1? Can you update me?") adds nothing.
        - Remarks that ask for nothing are context for the request before them (a reason, a concern), unless
          they say a delivery lacked a thing ("it came without the cable") or brought the wrong one ("you sent
          the blue one instead of the yellow one"), which asks for it.
        - A request taken back ("please ignore my last email", "no need to chase A-1") and a message that asks
          for nothing ("no need to reply") plan nothing.
        - Under a quoted message, a follow-up that names nothing ("Can you check?", "Where is it then?") or a
          denial ("It has not.") is about the quote's ids.

        Ids that are context, not requests:
        - one a request that changes or ends something acts on ("cancel order A-1" is that request, for the
          catch-all variant; so is a request about it that ends "... instead");
        - an order the message says has arrived, one the customer cancelled, returned or paid, and a thing they
          already returned ("the 'Oak Chair' I returned");
        - one said again later (it is that later clause's);
        - one given on its own after a request that acts on a thing ("Send me new feet. It was order A-1.") or
          before one about the order's contents ("Order A-1. Please cancel it."), or offered "if that helps";
        - an order given beside a thing sent back ("..., order A-1, I want to return it").
        """

        def join_last(clause: str) -> None:
            """Read `clause` as part of the request planned last (its reason, its id, a question again)."""
            planned[-1] = (planned[-1][0], f"{planned[-1][1]} {clause}", planned[-1][2])

        def plan_from_quote(anchors: list[tuple[int, dict[str, Any], dict[str, str]]], reply: str) -> None:
            """Plan the requests a quoted message's ids make, each read with the quote and the reply about it."""
            planned.extend((variant, f"{quoted} {reply}", values) for _, variant, values in anchors)

        # French quotes a name between guillemets ("l'« Aspirateur Vanoise »"): read them as quotes.
        text = _GUILLEMETS.sub(r"“\1”", text)
        catch_all = self.catch_all(variants)
        specific = [v for v in variants if v is not catch_all]
        named = [v for v in specific if _name_field(v) and not _patterned(v)]
        # Per request: its variant, the text it is filled from, and the field values already found for it.
        planned: list[tuple[dict[str, Any], str, dict[str, str]]] = []
        waiting: dict[str, Any] | None = None
        """The variant a request asked for without the id it needs, while the next clause may give the id."""
        clauses = requests(text)
        # Lines quoted from an earlier message: what a follow-up that names nothing else ("Can you check?") is about.
        quoted = quoted_lines(text)[1]
        done = self.ids_done(clauses, specific)
        # "> Which item would you like to return? / It's the kettle, it leaks.": the reply names what it acts on.
        asked_verb = self.asked_which(quoted, named)
        arrived = False
        """Whether the message last said an order arrived (and not since that one is still to come)."""
        news = [bool(_FOR_INFORMATION.search(clause)) and not _NOT_YET.search(clause) for clause in clauses]
        for number, clause in enumerate(clauses):
            last = planned[-1][0] if planned else None
            reply = lead_in_removed(clause) if asked_verb and not planned else ""
            naming = _NAMING_REPLY.match(reply)
            named_there = reply[naming.end() :] if naming else ""
            if naming and not is_request(clause) and not _AN_ID.search(clause) and _names_a_thing(named_there):
                clause = f"I'd like to {asked_verb} {named_there}"
                asked_verb = None
            withdrawn = _WITHDRAWN.search(clause)
            verb_taken_back = next((verb for verb in withdrawn.groups() if verb), None) if withdrawn else None
            if withdrawn and (verb_taken_back is None or stem(fold(verb_taken_back)) in _TAKEN_BACK_VERBS):
                # "Never mind the delay, where is order A-1?": what follows the comma may still ask, and so may
                # what comes before ("Cancel my plan, no need to call me").
                before = trailing_words_removed(clause[: withdrawn.start()], _BEFORE_WITHDRAWN)
                end = _WITHDRAWN_END.search(clause, withdrawn.end())
                clause = f"{before} {clause[end.end() :] if end else ''}".strip()
                if not clause or not is_request(clause):
                    continue
            asked = what_is_asked(clause)
            if (_PLEASE_FIND.search(clause) or _THANKS_PASSED_ON.search(clause)) and not _AN_ID.search(clause):
                continue
            if _LIST_LEAD_IN.search(clause) and not _AN_ID.search(clause) and _acting_verb(asked) not in REQUEST_VERBS:
                # "Please could you help with the following:": the items after it are the requests. One with a
                # request verb ("return the following items:") is kept, as its items may name things only.
                continue
            if news[number] or (any(news) and not is_request(clause) and not _NOT_YET.search(clause)):
                continue
            bare = _FOR_REFERENCE.sub(" ", _AN_ID.sub(" ", clause))
            only_an_id = bool(_AN_ID.search(clause)) and not [w for w in words(bare) if w not in _ID_WORDS]
            following = clauses[number + 1] if number + 1 < len(clauses) else ""
            asked_as_such = clause.rstrip().endswith("?")  # "Order A-1?" asks where it is
            if (
                only_an_id
                and last is None
                and not asked_as_such
                and self.names_an_order(clause, specific)
                and self.acts_next(following, specific)
            ):
                continue  # "Order A-1. Could you send the other two?": the order that request is about
            if only_an_id and (arrived or (last is not None and waiting is None and self.acts(last, planned[-1][1]))):
                # "It arrived without the cable. Order A-1." or "Send me new feet. It was order A-1.": the order
                # the remark or the request before was about ("Where is my parcel? Order A-1." waits for it).
                if last is not None:
                    join_last(clause)
                continue
            if last is not None and only_an_id and _FOR_REFERENCE.search(clause):
                join_last(clause)  # "The order was A-11111 if that helps."
                continue
            if _NOT_YET.search(clause):
                arrived = False
            elif _ARRIVED.search(clause):
                arrived = True
            # An id said again later is that later clause's: "I placed orders A-1 and A-2. Where is A-2?"
            later = {match.group() for after in clauses[number + 1 :] for match in _AN_ID.finditer(after)}
            skipped = done | (later if not is_request(clause) else set())
            # What the request reads as: without the ids that only say where another thing belongs.
            clause = self.without_context_ids(clause, specific, last, following)
            wrong = _WRONG_THING.search(clause)
            # "I received an email instead of a text about A-1, where is it?" asks where the order is.
            asked_why = wrong is not None and _on_whereabouts(clause)
            wanted = noun_phrase(clause, wrong.end()) if wrong and not asked_why else None
            if wanted and wanted not in PRONOUNS and catch_all is not None:
                # "You sent me the blue one instead of the yellow one (order A-1)": asks for the one ordered, and
                # the order it came in is context.
                planned.append((catch_all, clause, {_free_field(catch_all): f"send the {wanted}"}))
                continue
            found = self.anchors(clause, specific, named, last, catch_all, skipped)
            if found:
                if waiting is not None and all(variant is waiting for _, variant, _ in found):
                    clause = f"{planned.pop()[1]} {clause}"
                planned += [(variant, clause, values) for _, variant, values in found]
                waiting = None
                continue
            waiting = None
            fitting = max(specific, key=lambda v: self.affinity(v, clause), default=None)
            if fitting is not None and self.affinity(fitting, clause) == 0:
                fitting = None
            # "Can I send it back for a refund?": the variant whose own verb the request opens on is what it asks,
            # whatever else its words share with another ("refund" is also a billing word).
            verb = _acting_verb(asked)
            fitting = next(
                (v for v in named if stem(fold(verb)) in self.verbs(v) and self.verb_at(v, clause) is not None),
                fitting,
            )
            # "The lanterns don't charge at all - I'll send those back": so is the verb of what the customer says
            # they are doing, after whatever the remark before it shares with another variant.
            stated = intent_at(clause)
            # "..., I'll send it back unless you refund the difference" asks for the difference first.
            stated = None if stated is not None and _CONDITION.search(clause, stated) else stated
            fitting = next(
                (v for v in named if stated is not None and self.verb_at(v, clause[stated:]) is not None),
                fitting,
            )
            if is_request(clause):
                # An order that changes something ("change my billing address", "close my account under my
                # name") is new, whatever it is about, and so is a thing asked to be given ("send me a catalogue"):
                # neither is a thing sent back unless the variant's own verb says so.
                altering = _acting_verb(asked) in ALTERING_VERBS or bool(_INSTEAD.search(clause))
                given = thing_asked_for(clause) is not None
                if fitting in named and (given or altering) and self.verb_at(fitting, clause) is None:
                    fitting = None
                if fitting in named and not self.acted_as_described(fitting, clause):
                    # "Do you stock the winter range?": a word the description shares ("product") without the
                    # action it describes (sending back) is no such request.
                    fitting = None
                things = self.things_named(clauses, number, fitting) if fitting is not None and fitting in named else []
                opening = noun_phrase(clause)
                # "Can you find out what's going on?" names nothing of its own: it asks about the request before.
                news_asked = _ANY_NEWS.match(lead_in_removed(clause))
                follow_up = (opening in (None, *PRONOUNS) and bool(_FOLLOW_UP.search(fold(clause)))) or bool(
                    news_asked and not news_asked.group(1)
                )
                # "send a corrected one": a thing named by "one" is the one the request before was about.
                # Not when a remark between names another thing ("My partner wants the desk in walnut. Could you
                # hold one for us?").
                one_again = (opening or "").split()[-1:] in (["one"], ["ones"]) and not (
                    number and _names_a_thing_aside(clauses[number - 1])
                )
                where_it_is = opening in PRONOUNS and bool(_WHERE_ASKED.search(clause))
                # "Please fix.", "Please advise.": a verb alone acts on what the request before was about.
                verb_alone = opening is None and len(words(asked)) == 1 and fold(asked) not in _CONTACT_VERBS
                # "Can you check?", "Where is it then?", and a doubt ("> ... has been dispatched. / Has it though?").
                about_the_quote = follow_up or where_it_is or bool(_DOUBT.match(lead_in_removed(clause)))
                # "Only some of order A-1 came. Is the rest on its way?" asks again where that order is.
                rest_of_it = (
                    last is not None
                    and self.about_delivery(last)
                    and bool(_THE_REST.search(clause))
                    and bool(_WHERE_ASKED.search(clause) or _ON_ITS_WAY.search(clause) or "way" in words(clause))
                )
                replied_to = self.replied_to(quoted, clause, specific) if last is None and about_the_quote else []
                if fitting is not None and things:
                    planned += [
                        (fitting, self.with_remark_on(thing, clauses[:number], clause), {_name_field(fitting): thing})
                        for thing in things
                    ]
                elif replied_to:
                    # "> Your refund for invoice INV-1 was processed. / Nothing came. Can you check?"
                    plan_from_quote(replied_to, clause)
                elif catch_all is not None and fitting is not last and (lacked := self.missing_thing(clause)):
                    # "... but the recipe card wasn't in the box, could you send me one?": the part it lacked.
                    planned.append((catch_all, clause, {_free_field(catch_all): f"send the missing {lacked}"}))
                elif (
                    last is not None
                    and (not altering or self.charge_changed(last, planned[-1][1], asked, opening))
                    and (
                        fitting is last
                        or follow_up
                        or one_again
                        or verb_alone
                        or opening in PRONOUNS
                        or rest_of_it
                        or bool(_HOW_TO_PROCEED.search(fold(clause)))
                    )
                ) or (last in named and _SENDING_BACK.search(clause)):
                    join_last(clause)  # "Where is it now?" asks again about the request before it
                elif catch_all is not None:
                    if verb_alone and last is not None and planned[-1][2]:
                        # "Where is A-1? Please cancel.": the verb acts on what the request before named.
                        asked = f"{asked.rstrip('.!?')} {next(iter(planned[-1][2].values()))}"
                    planned.append((catch_all, clause, {_free_field(catch_all): asked}))
                    clear = fitting is not None and _patterned(fitting) and self.affinity(fitting, clause) >= 1
                    # "Can someone check where it is? Ref A-1": a question of where or when that names no order
                    # waits for one, however it is worded.
                    if (
                        not clear
                        and (
                            (_WHERE_QUESTION.search(lead_in_removed(clause)) and _OF_AN_ORDER.search(clause))
                            or news_asked is not None
                        )
                        and not _AN_ID.search(clause)
                        and not is_request(following)
                    ):
                        fitting = next((v for v in specific if self.about_delivery(v)), None)
                        clear = fitting is not None
                    waiting = fitting if clear else None
                continue
            missing = self.missing_thing(clause)
            listed = _listed_thing(clause)
            # "> Your order A-1 has been delivered. / It has not.": the reply denies what the quote says of its ids.
            denied = self.replied_to(quoted, clause, specific) if last is None and _DENIAL.search(clause) else []
            if denied and _BACK_REFERENCE.match(lead_in_removed(clause)):
                plan_from_quote(denied, clause)
            elif (
                catch_all is not None
                and number
                and (lacking := _NO_THING.match(clause))
                and _UNPACKED.search(clauses[number - 1])
                and _A_LIST.search(clauses[number - 1])
                and is_thing(lacking.group(1))
                and not set(words(lacking.group(1))) & _NO_TROUBLE
            ):
                # "Opened the 'Oak Toothbrush' - brush, two heads, travel case... no charging base.": what it lacked.
                # Its text is what it says, so that an order given after it is the one it came in.
                said = f"it came without the {lacking.group(1)}"
                planned.append((catch_all, said, {_free_field(catch_all): f"send the missing {lacking.group(1)}"}))
            elif missing and catch_all is not None:
                if is_request(following) and fold(missing.split()[-1]) in words(following):
                    continue  # "... but no brackets. Please send the brackets.": the request that follows asks it
                planned.append((catch_all, clause, {_free_field(catch_all): f"send the missing {missing}"}))
            elif (
                last is not None
                and last in named
                and listed
                and (not _ends_a_sentence(clauses[number - 1]) or _TOO.search(clause))
            ):
                # "return the kettle and the toaster": the list goes on in its sentence, or in the next one that
                # says so ("The chairs too, they're tiny."), not in any next one.
                planned.append((last, clause, {_name_field(last): listed}))
            elif (
                catch_all is not None
                and number
                and asks_to_be_given(clauses[number - 1])
                and not _ends_a_sentence(clauses[number - 1])
                and _opens_on_a_thing(clause)
            ):
                # "send me the tracking number and a copy of the manual": a second thing asked to be given.
                planned.append((catch_all, clause, {_free_field(catch_all): f"send me {what_is_asked(clause)}"}))
            elif last is not None:
                join_last(clause)
        items = [self.fill_request(variant, name, span, values) for variant, span, values in planned]
        # "... order a 'Nebula RGB Keyboard' ... the keyboard is still sealed": the thing by its full name.
        full_names = [found.group(1).strip() for found in _QUOTED.finditer(text)]
        named_unquoted = [words(phrase) for phrase in noun_phrases(_QUOTED.sub(" ", text))] if full_names else []
        for (variant, _, _), item in zip(planned, items, strict=True):
            if variant in named and isinstance(item, dict) and isinstance(item.get(key := _name_field(variant)), str):
                item[key] = _in_full(item[key], full_names, text, named_unquoted)
        return items

    def with_remark_on(self, thing: str, before: list[str], request: str) -> str:
        """Return a request about a thing named earlier, read after the remark that named it, which holds its reason.

        "The 'Oak Bowl' has a crack down the side. Can I send it back for a refund?": the return's reason is the
        crack, said before the request, not the refund it asks for.
        """
        if thing in request:
            return request
        remark = next((earlier for earlier in reversed(before) if thing in earlier), None)
        if remark is None or is_request(remark):
            return request
        return f"{remark} {request}"

    def acted_as_described(self, variant: dict[str, Any], clause: str) -> bool:
        """Tell whether a clause names the action of a variant's verbs, in any language the vocabulary reads."""
        verbs = " ".join(sorted(self.verbs(variant)))
        actions = {concept for concept in meaning(verbs) if concept.startswith("~")}
        # "I'm returning to the UK": a verb of going somewhere says nothing of the action.
        going = _VERB_GOING_TO.sub(" ", clause)
        return self.verb_at(variant, clause) is not None or bool(actions & set(meaning(going)))

    def acts(self, variant: dict[str, Any], request: str) -> bool:
        """Tell whether a planned request acts on a thing (a return, "send me X", "cancel Y"), not asks a question.

        An id given on its own after it ("It was order A-11111.") says which order that thing came in.
        """
        if _name_field(variant) and not _patterned(variant):
            return True
        asked = what_is_asked(request)
        return not _patterned(variant) and (
            thing_asked_for(request) is not None
            or _acting_verb(asked) in ALTERING_VERBS
            or self.missing_thing(request) is not None
        )

    def charge_changed(self, last: dict[str, Any], request: str, asked: str, opening: str | None) -> bool:
        """Tell whether a change asked of "it", "them" or nothing named is to the charges the request before was about.

        "INV-1 shows a late fee of £15. Please remove it.": the inquiry about the invoice is what removes it, so the
        change adds no request; "Please cancel it" after a charge for a plan still asks to end the plan.
        """
        return (
            opening in ("it", "them", None)  # "fix that" after the charge may mean a fact said since
            and _patterned(last)
            and bool(_ON_A_BILL.search(request))
            and _acting_verb(asked) in _CHARGE_CHANGES
        )

    def replied_to(
        self, quoted: str, reply: str, specific: list[dict[str, Any]]
    ) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        """Return the requests the ids of a quoted message make, read with the reply that asks or denies about them.

        The reply comes after "but", so what it says ("it has not", "where is it?") counts for each quoted id as
        well as what the quote said of it ("has been delivered").
        """
        return self.anchors(f"{quoted} but {reply}", specific, [], None) if quoted else []

    def done_to(self, after: str) -> bool:
        """Tell whether the words after a name say the customer already returned, changed or paid for it.

        "The 'Oak Chair' I returned was damaged" names a return that is done: context, not a request.
        """
        done = _DONE_AFTER.match(after) or _DONE_BY_ME.match(after)
        return done is not None and _past_action(done.group("verb"))

    def acts_next(self, following: str, specific: list[dict[str, Any]]) -> bool:
        """Tell whether the clause after an id given on its own acts on a thing and names no id of its own.

        Then the id says which order that request is about ("Order A-1. Please cancel it.", "... Could you send
        the other two?"); a request in an id's own business ("Can you send me an update?") is about the id.
        """
        if not following or _AN_ID.search(following) or not is_request(following):
            return False
        for variant in specific:
            if _patterned(variant) and (
                self.affinity(variant, following) > 0 or overlap(_described(variant), following)
            ):
                return False
        asked = what_is_asked(following)
        # Only a request about what the order holds ("cancel it", "send the other two") is that order's: "Order A-1.
        # Please send me a catalogue too." asks two things.
        acting = thing_asked_for(following) is not None or _acting_verb(asked) in ALTERING_VERBS | {"send", "resend"}
        return (acting and bool(_OF_THE_ORDER.search(following))) or any(
            self.verb_at(variant, following) is not None for variant in specific if _name_field(variant)
        )

    def ids_done(self, clauses: list[str], specific: list[dict[str, Any]]) -> set[str]:
        """Return the ids a message says need nothing more, wherever else it names them.

        An order said to have arrived ("A-1 arrived, all good") and one a change or an end acts on ("please
        cancel A-1") are no status requests in the clause that first lists them ("I placed A-1 and A-2").
        """
        done: set[str] = set()
        for clause in clauses:
            verb = _acting_verb(what_is_asked(clause))
            for at, variant, _, value in self.id_holders(clause, specific):
                if self.alters(verb, variant) or self.settled(variant, _part_around(clause, at)):
                    done.add(value)
        return done

    def id_holders(self, clause: str, specific: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], str, str]]:
        """Return each id in the clause, in order, with the variant that holds it: (position, variant, field, id).

        Variants whose ids look alike (a new worker keyed on order ids beside the status one) share each id: it
        goes to the one the clause's words fit best, the first registered on a tie.
        """
        holders: dict[int, tuple[float, dict[str, Any], str, str]] = {}
        for variant, key, findable in self.id_fields(specific):
            fit = self.affinity(variant, clause)
            for match in re.finditer(findable, clause):
                if match.start() not in holders or fit > holders[match.start()][0]:
                    holders[match.start()] = (fit, variant, key, match.group())
        return [(at, variant, key, value) for at, (_, variant, key, value) in sorted(holders.items())]

    def id_fields(self, variants: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str]]:
        """Return each variant's required fields that have a pattern (ids), with the pattern as found in text."""
        return [
            (variant, key, _findable(pattern))
            for variant in variants
            for key in variant.get("required", [])
            if (pattern := self.resolve(variant.get("properties", {}).get(key, {})).get("pattern"))
        ]

    def alters(self, verb: str, variant: dict[str, Any]) -> bool:
        """Tell whether a request's verb changes or ends what it names, and is not the variant's own verb.

        Only an order's variant, which says where an order is, is left by a change ("cancel order A-1"); one about
        a document takes changes to it ("split invoice INV-1 in two" is a billing question).
        """
        return verb in ALTERING_VERBS and stem(verb) not in self.verbs(variant) and self.about_delivery(variant)

    def asked_which(self, quoted: str, named: list[dict[str, Any]]) -> str | None:
        """Return the verb of a quoted question that asks which thing a request acts on, else None.

        "Which item would you like to return?" gives "return" when that is a named variant's own verb.
        """
        if not _WHICH_THING.search(quoted):
            return None
        for variant in named:
            at = self.verb_at(variant, quoted)
            if at is not None:
                verb: str = re.findall(r"[^\W_]+", quoted[:at])[-1]
                return verb
        return None

    def missing_thing(self, clause: str) -> str | None:
        """Return the thing a remark says a delivery lacked ("came without the charger": "charger"), if any.

        A parcel or an order said to be missing is a question of where it is, not a thing to send.
        """
        at = _WITHOUT.search(clause)
        none_in = _NONE_IN.search(clause)
        if at:
            # "turned up with no inner bowl": "no" opens the thing as "the" would.
            after_no = fold(at.group()).endswith(" no")
            thing = noun_phrase(f"the {clause[at.end() :]}") if after_no else noun_phrase(clause, at.end())
        elif none_in:
            thing = next(group for group in none_in.groups() if group)
        elif gone := _MISSING.search(clause):
            # "the 'Oak Tin' is great but the recipe card mentioned on the label wasn't in the box": the subject of
            # the part that lacks it, not the last thing named before.
            said_of = re.split(r"\b(?:but|and|although|though)\b|[,;]", clause[: gone.start()])[-1]
            said_of = re.sub(r"^\s*(?:in|inside)\s+(?:the|my|its)\s+\w+", "", said_of)  # "in the box the remote ..."
            subject = next(iter(noun_phrases(said_of)[:1]), None)
            before = next(iter(noun_phrases(clause[: gone.start()])[-1:]), None)
            thing = subject if subject and is_thing(subject) else before
        else:
            return None
        if not thing or not is_thing(thing) or "~delivery" in meaning(thing):
            return None
        if set(words(thing)) & (_NO_TROUBLE | _CONTAINERS) or _MANAGED.search(clause):
            return None  # "it came with no problems", "arrived without instructions but we figured it out"
        return thing

    def anchors(
        self,
        clause: str,
        specific: list[dict[str, Any]],
        named: list[dict[str, Any]],
        last: dict[str, Any] | None,
        catch_all: dict[str, Any] | None = None,
        skipped: frozenset[str] | set[str] = frozenset(),
    ) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        """Find the requests a clause names outright: each id a variant's pattern finds, each quoted name.

        An id that an altering verb acts on makes the clause one request for the catch-all variant; an order
        said to have arrived is no request. A thing named after a named variant's verb beside the ids ("return
        my kettle, invoice INV-1 is wrong too") is a request of its own.
        """
        found: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        asked = what_is_asked(clause)
        verb = _acting_verb(asked)
        # "For A-1, can you get the courier to leave it next door instead?": a change of plan for that order.
        replanned = is_request(clause) and bool(_INSTEAD_ALONE.search(clause))
        for position, variant, key, value in self.id_holders(clause, specific):
            if (self.alters(verb, variant) or replanned) and catch_all is not None:
                return [(position, catch_all, {_free_field(catch_all): asked})]
            part = _part_around(clause, position)
            if value in skipped and not _NOT_YET.search(part):
                continue
            if not self.settled(variant, part):
                found.append((position, variant, {key: value}))
        if named:
            owner = max(named, key=lambda v: self.affinity(v, clause))
            # "What's the 'eco levy' on INV-1?": a name beside another request's id, with no word of the named
            # variant's action, is what that request is about.
            acted = self.acted_as_described(owner, clause)
            beside_an_id = bool(found) and not acted
            # "The 'Oak Tin' is great but the recipe card wasn't in the box": a part it came without is asked for.
            lacking = not acted and self.missing_thing(clause) is not None
            if (self.affinity(owner, clause) > 0 or owner is last) and not beside_an_id and not lacking:
                key = _name_field(owner)
                found += [
                    (m.start(), owner, {key: m.group(1).strip()})
                    for m in _QUOTED.finditer(clause)
                    if not _AS_SAID.search(clause[: m.start()])
                    and not self.done_to(clause[m.end() :])
                    and not _RETURNED_BEFORE_NAME.search(clause[: m.start()])
                    and not _a_charge(clause, m.start(), m.end())
                ]
        if found:
            for variant in named:
                if any(anchored is variant for _, anchored, _ in found):
                    continue
                at = self.verb_at(variant, clause)
                if at is None:
                    continue
                thing, where = next(iter(noun_phrases(clause, at)), ""), at
                if thing in PRONOUNS:
                    # "the toaster burns, order A-1, I want to return it": "it" is the thing the clause named before.
                    thing = next(
                        (named_before for named_before in noun_phrases(clause[:at]) if is_thing(named_before)), ""
                    )
                    where = clause.find(thing) if thing else at
                if thing and is_thing(thing):
                    found.append((where, variant, {_name_field(variant): thing}))
                    # An order beside a thing sent back is where the thing came from, unless what the clause says
                    # of the order, up to the commas around it, asks or tells where it is.
                    found = [
                        anchor
                        for anchor in found
                        if not self.about_delivery(anchor[1]) or self.asks_where(clause, anchor[0], where, at)
                    ]
        return sorted(found, key=lambda anchor: anchor[0])

    def asks_where(self, clause: str, at: int, thing_at: int, verb_at: int) -> bool:
        """Tell whether what a clause says of the order id at character `at` asks or tells where the order is.

        That is the part of the clause between commas around the id. A part that is only the id ("..., order
        A-1, I want to return it") says which order the thing came in; one beside the thing or the verb asks
        only with words of whereabouts ("my kettle from A-1 never came, I want to return it"); one of its own
        ("where is A-1") is a question of its own.
        """
        start = clause.rfind(",", 0, at) + 1
        end = clause.find(",", at)
        end = end if end >= 0 else len(clause)
        part = clause[start:end]
        if not [word for word in words(_AN_ID.sub(" ", part)) if word not in _ID_WORDS]:
            return False
        if start <= thing_at < end or start <= verb_at <= end:
            return _on_whereabouts(part)
        return True

    def names_an_order(self, clause: str, specific: list[dict[str, Any]]) -> bool:
        """Tell whether the clause holds an id of a variant about where an order is (an order id, no invoice)."""
        return any(self.about_delivery(v) and re.search(f, clause) for v, _, f in self.id_fields(specific))

    def about_delivery(self, variant: dict[str, Any]) -> bool:
        """Tell whether a variant with an id is about where an order is (its title and description say delivery)."""
        return _patterned(variant) and "~delivery" in meaning(_described(variant))

    def verbs(self, variant: dict[str, Any]) -> set[str]:
        """Return the stems of the request verbs a variant's title and description use ("return", "send")."""
        described = _described(variant)
        return {stem(word) for word in words(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", described))} & REQUEST_STEMS

    def verb_at(self, variant: dict[str, Any], clause: str) -> int | None:
        """Return where the first of the variant's verbs ends in the clause ("I'd like to return|"), if any.

        A verb counts in the sense the variant's description gives it: "send it back" there is not "send me".
        """
        verbs = self.verbs(variant)
        described = meaning(_described(variant))
        return next(
            (
                m.end()
                for m in re.finditer(r"[^\W_]+", clause)
                if (
                    stem(correct(fold(m.group()), REQUEST_VERBS)) in verbs
                    or (fold(m.group()) in _PHRASAL_HEADS and _ASKED_OF_US.search(clause[: m.start()]))
                )
                and term_at(clause, m.start()) in described
                # "I'm returning to the UK" goes somewhere; "I returned the vase" tells of a return already made.
                and not _TO_A_PLACE.match(clause, m.end())
                and not (_ALREADY_DONE_BY_ME.search(clause[: m.start()]) and _past_tense(m.group()))
            ),
            None,
        )

    def without_context_ids(
        self, clause: str, specific: list[dict[str, Any]], last: dict[str, Any] | None, following: str = ""
    ) -> str:
        """Return the clause without the ids that only say where something else belongs, which ask for nothing.

        An id is such context when it qualifies another thing ("a new lid for the cooker from order A-11111"), the
        clause says nothing of its variant's business once it is gone, nothing about it is still to come ("not",
        "late", "where"), and the clause has something else to be about: a thing it asks to be given, another
        variant's business ("the 'Zip Lamp' from order A-11111 is cracked, I'd like to send it back"), or,
        opening on "it" or "the one", the request before it ("The one in order A-11111 was missing"), or the thing
        it follows ("the rug from order A-11111 smells"). An id the customer says they cancelled, changed or
        returned is context too ("order A-11111, which I cancelled"); one paid, or acted on in a note without
        its subject ("Paid INV-1 in a minute"), only while neither the clause nor the `following` one asks more.
        """
        if _NOT_YET.search(clause):
            return clause
        # Each id with the variant that holds it, last first: what is cut out after an id leaves the positions of
        # the ids before it as they were (a qualifier is the few words just before its id, which hold no id).
        for start, variant, _, value in reversed(self.id_holders(clause, specific)):
            end = start + len(value)
            before, after = clause[:start], clause[end:]
            # "I paid INV-1 twice" is a question about it, whoever paid.
            done_before = _DONE_BEFORE.search(before) if not _AGAIN.match(after) else None
            if done_before and (fold(done_before.group("verb")) == "paid" or not done_before.group("subject")):
                # "Paid INV-1 in ten seconds" is context; "I paid INV-1 but got a reminder" or "Paid INV-1, why the
                # reminder?" asks about it.
                asks_more = (
                    is_request(clause)
                    or re.search(r"\b(?:but|yet|though|however)\b", clause, re.I)
                    or (is_request(following) and not _AN_ID.search(following))
                )
                done_before = None if asks_more else done_before
            done = done_before or _DONE_AFTER.search(after) or _DONE_IN_A_LIST.match(after)
            if done and _past_action(done.group("verb")):
                clause = f"{before.rstrip()} {after.lstrip()}".strip()
                continue
            bracketed = _BRACKETED.search(before) if after.startswith(")") else None
            qualifier = _QUALIFYING.search(before) or bracketed
            if qualifier is None:
                continue
            after = after[1:] if bracketed else after
            rest = f"{clause[: qualifier.start()].rstrip()} {after.lstrip()}".strip()
            # The preposition stays for reading the sense ("an update on" is news, not software).
            if self.affinity(variant, f"{clause[: qualifier.start(2)]} {after}") > 0:
                continue
            owner = clause[: qualifier.start()].rstrip()
            wanted = thing_asked_for(rest)
            wanted_before = thing_asked_for(owner)
            if wanted_before and owner.endswith(wanted_before) and fold(qualifier.group(1)) == "of":
                continue  # "a copy of invoice INV-1 (made out to my company)" asks for the invoice itself
            elsewhere = any(self.affinity(other, rest) > 0 for other in specific if other is not variant)
            refers_back = last is not None and _BACK_REFERENCE.match(lead_in_removed(rest))
            # A remark about a thing ("the rug from order A-1 smells"), not a question ("the latest on A-1?").
            of_a_thing = not is_request(clause) and any(
                owner.rstrip("'\"”’").endswith(thing) and is_thing(thing) for thing in noun_phrases(owner)[-1:]
            )
            if bracketed:
                # "The 'Oak Recliner' we bought her (order A-1) is lovely but ...": a bracketed id after a thing,
                # which the clause then says how it is, only says where it came from; "(order A-1) was due Monday"
                # is about the order, and "(order A-1) three weeks ago" may be.
                said_next = words(after)[:1]
                if _WHEREABOUTS.search(after) or _ON_ITS_WAY.search(after):
                    continue
                of_a_thing = bool(
                    said_next
                    and (does(said_next[0]) or said_next[0] in _IS_OR_DOES)
                    and _OF_ITS_STATE.search(after)
                    and not is_request(clause)
                    and any(is_thing(thing) for thing in noun_phrases(owner))
                )
            if wanted or elsewhere or refers_back or of_a_thing:
                clause = rest
        return clause

    def settled(self, variant: dict[str, Any], clause: str) -> bool:
        """Tell whether a clause says that what it names needs nothing: it has arrived, or thanks for it.

        Arrival settles only a variant about deliveries (an invoice that came is still a question). A clause that
        says what is not yet right, or asks where, is a request; a part said to be missing ("the lid isn't there")
        is not: it is a thing to send, and says nothing of where the order is.
        """
        if _still_to_come(clause):
            return False
        if _FINE.search(clause) and not is_request(clause):
            return True
        if _ARRIVED.search(clause) and "~delivery" in meaning(_described(variant)):
            return True
        return bool(_THANKS.search(clause)) and not re.search(r"\b(?:but|wrong|however|though)\b", clause, re.I)

    def things_named(self, clauses: list[str], number: int, variant: dict[str, Any] | None = None) -> list[str]:
        """Return what a request names ("send back the yoga mat": the thing after the variant's verb).

        Without the verb, the first thing the clause names; for "it" or "one", the thing named before it in the
        clause or in the clauses before, and for "them", every thing named there ("the kettle and the iron").
        """
        clause = lead_in_removed(clauses[number])
        at = self.verb_at(variant, clause) if variant is not None else None
        after = noun_phrases(clause, at or 0)
        if after and after[0] not in PRONOUNS and not is_thing(after[0]):
            # "return two things from my last order: the board ...": the words that name no product are passed over.
            after = [thing for thing in after if is_thing(thing)][:1] or after
        if after and is_thing(after[0]):
            return after[:1]
        if at is None and after and after[0] not in PRONOUNS:
            return []
        several = bool(after) and after[0] in ("them", "they", "these", "those")
        found: list[str] = []
        in_own_sentence, own_sentence_named = True, False
        message = " ".join(clauses)  # where a quoted name says a thing is no part ("the 'Echo Strap'")
        for back, earlier in enumerate([clause[: at or 0], *reversed(clauses[:number])]):
            in_own_sentence = in_own_sentence and not (back and _ends_a_sentence(earlier))
            if several and own_sentence_named and not in_own_sentence:
                # "The lanterns don't charge - I'll send those back": the things of the sentence that asks are the
                # ones meant ("The jeans are too long and the belt is too short, I'd like to return them").
                break
            things = [thing for thing in noun_phrases(earlier) if is_thing(thing)]
            # "My sandals broke at the strap, returning them": a thing after "at" is where, not what; and "the
            # handle of my mug snapped, returning it" sends back the mug, not its part.
            things = [thing for thing in things if not _where_or_part(thing, things, earlier)] or things
            # "the divan is fine but the protector is the wrong size, can I send that back": not the fine one,
            # nor anything before it ("the drill set is fine. The bits are the wrong size. Can I send those back?").
            things = [thing for thing in things if not _said_fine(thing, earlier)]
            if found and (not things or is_request(earlier)):
                break
            found = things + found
            # "the buckle jammed, so we're returning it": "it" is a product, not a part of one, when one is named.
            whole = [thing for thing in found if not _a_part(thing, message)]
            if whole and not several:
                return whole[:1]
            own_sentence_named = own_sentence_named or (in_own_sentence and bool(found))
        return found if several else found[:1]

    def affinity(self, variant: dict[str, Any], text: str) -> float:
        """Measure how much of what `text` says the variant's title and description speak of."""
        title = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(variant.get("title", "")))
        said = meaning(text)
        described = meaning(f"{title} {variant.get('description', '')}")
        return sum(weight for term, weight in described.items() if term in said)

    def catch_all(self, variants: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Return the variant that takes any request: only free text to fill, no id, no name (fewest fields)."""
        loose = [v for v in variants if _free_field(v) and not _patterned(v) and not _name_field(v)]
        if len(variants) < 2 or not loose:
            return None
        return min(reversed(loose), key=lambda v: len(v.get("required", [])))  # type: ignore[no-any-return]

    def fill_request(self, variant: dict[str, Any], name: str, span: str, values: dict[str, str]) -> Any:
        """Fill one request's variant from its text and the values found for it; an unstated reason says so."""
        item = self.fill(variant, name, span)
        if not isinstance(item, dict):
            return item
        item.update(values)
        for key in variant.get("required", []):
            if key not in values and "reason" in key.lower() and isinstance(item.get(key), str):
                named = next(iter(values.values()), "")
                item[key] = _cued(key, span) or _reason_after(span, named) or "not stated"
        for key, value in item.items():
            # A model answers within the schema: a long reason is cut at a word, not made an invalid request.
            longest = self.resolve(variant.get("properties", {}).get(key, {})).get("maxLength")
            if isinstance(value, str) and longest and len(value) > longest:
                item[key] = value[:longest].rsplit(" ", 1)[0].rstrip(" ,;:-") or value[:longest]
        return item

    def best_variant(self, variants: list[dict[str, Any]], text: str) -> dict[str, Any]:
        """Pick the variant whose title and description overlap the text most (first on ties)."""
        return max(variants, key=lambda v: overlap(_described(v), text))

    def fill_string(self, schema: dict[str, Any], name: str, text: str) -> str:
        """Take the pattern's first match, a cued phrase, else the clause that best matches the field's description."""
        pattern = schema.get("pattern")
        described = f"{name.replace('_', ' ')} {schema.get('description', '')}"
        if self.prompt.has_documents and text in self.prompt.material_sentences:
            # A sentence of a document is a unit: phrased as a question for a question field, else kept whole.
            return _as_question(text) if "question" in described.lower() else text
        if not pattern and self.prompt.has_documents and self.labels(schema, described):
            return str(self.label_sentences(schema, text)[0])
        if pattern:
            # Never the instructions: their examples ("like INV-7890") are not the customer's ids.
            for source in (text, self.prompt.user_text):
                found = re.search(_findable(pattern), source)
                if found:
                    return found.group()
            return ""
        cued = _cued(name, text) or self.pointed_at(text)
        if cued:
            return cued
        clauses = _clauses(text) or [text]
        return max(clauses, key=lambda c: overlap(described, c)) if len(clauses) > 1 else clauses[0]

    def pointed_at(self, text: str) -> str | None:
        """Return the part of `text` the instructions point at by naming an id in it ("concerns invoice INV-1").

        That is the clause with the id, when it says more than the id, and the remarks after it that ask for
        nothing else: in "... about invoice INV-1. It seems too high. Also, ...", "It seems too high.".
        """
        told = _BLOCK.sub("", self.prompt.instructions)
        ids = [token for token in re.findall(r"[A-Za-z0-9][\w-]*\d[\w-]*", told) if re.search(r"[A-Za-z-]", token)]
        clauses = requests(text)
        for token in ids:
            at = next((number for number, clause in enumerate(clauses) if token in clause), None)
            if at is None:
                continue
            said = [lead_in_removed(clauses[at])] if len(words(_rest_after(clauses[at], token))) >= 3 else []
            for clause in clauses[at + 1 :]:
                if is_request(clause) or re.search(r"\d", clause):
                    break
                said.append(clause)
            return " ".join(said) or None
        return None

    def choose(self, options: list[Any], text: str) -> tuple[Any, float]:
        """Pick the option whose name and description mean most what `text` says; return it with a confidence.

        Shared words and concepts count, each divided by how many options it describes (a word every option
        uses tells none apart). Naming an option is no evidence for it: "answer Billing Inquiry" is an order to
        the model, not a billing question. The confidence falls below 0.5 when nothing matches, or when a rival
        matches half as well: a message that fits several options is not clearly any of them.
        """
        lines = self.prompt.instructions.splitlines()
        # An option that titles a section of the material is described by that section's text.
        sections = {section.heading: section.text for section in self.prompt.sections if section.heading}

        def description(option: Any) -> str:
            label = str(option)
            described = " ".join(line.replace(label, " ") for line in lines if label in line)
            return f"{label} {described} {sections.get(label, '')}"

        descriptions = [description(option) for option in options]
        known = {word for described in descriptions for word in words(described)}
        for option in options:
            text = re.sub(re.escape(str(option)), " ", text, flags=re.I) if str(option).strip() else text
        said = meaning(text, known)
        meanings = [meaning(described) for described in descriptions]
        spread = Counter(term for terms in meanings for term in terms)
        shared = [{term: weight for term, weight in said.items() if term in terms} for terms in meanings]
        scores = [_evidence(common, spread) for common in shared]
        chosen = scores.index(max(scores))
        # A rival counts only with what the chosen option does not explain: a word both describe (a new
        # "Shipping" intent and a general one that mentions delivery) is no sign the text is about two things.
        rival = max(
            (_evidence({t: w for t, w in common.items() if t not in shared[chosen]}, spread) for common in shared),
            default=0.0,
        )
        best = scores[chosen]
        return options[chosen], best / (best + RIVAL_WEIGHT * rival + EVIDENCE_NEEDED)


def _evidence(terms: dict[str, float], spread: Counter[str]) -> float:
    """Sum the weights of matched terms, each shared by the options it describes.

    Weak terms (a device named) add to a match but make none on their own: "which laptops do you sell?" is no
    technical fault.
    """
    if max(terms.values(), default=0.0) < 1:
        return 0.0
    return sum(weight / spread[term] for term, weight in terms.items())


def _spread(pieces: list[str], limit: int) -> list[str]:
    """Return at most `limit` pieces, evenly spaced over all of them, in their order."""
    if len(pieces) <= limit:
        return pieces
    return [pieces[index * len(pieces) // limit] for index in range(limit)]


def _as_question(text: str) -> str:
    """Phrase a statement as the yes/no question it answers; a question stays as it is."""
    text = " ".join(text.split()).rstrip(" .!;:,")
    if not text or text.endswith("?"):
        return text
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return f"Is it true that {text}?"


def _as_reply(instruction: str) -> str:
    """Turn an instruction to the model into the model's own words: "you" is the model, "they" the user."""
    swaps = {
        "you are": "I am",
        "you will": "I will",
        "your": "my",
        "yourself": "myself",
        "you": "I",
        "they are": "you are",
        "they have": "you have",
        "their": "your",
        "them": "you",
        "they": "you",
        "themselves": "yourself",
        "the user": "you",
    }
    pattern = r"\b(" + "|".join(sorted(swaps, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, lambda m: swaps[m.group().lower()], instruction, flags=re.I)


def reply(prompt: Prompt) -> str:
    """Answer a free-text prompt extractively from its own material and the user's words."""
    asks = prompt.instructions.lower()
    question = next((v for k, v in prompt.fields.items() if "question" in k or v.endswith("?")), "")
    material = prompt.material
    if material and question:
        known = prompt.material_sentences if prompt.has_documents else sentences(material)
        ranked = sorted(known, key=lambda s: -overlap(question, s))
        # A second sentence only when it is about as relevant as the first: answers stay on one topic.
        top = overlap(question, ranked[0]) if ranked else 0
        best = ranked[:1] + [s for s in ranked[1:2] if overlap(question, s) * 2 >= top > 0]
        return " ".join(s for s in known if s in best)
    if material and "summar" in asks:
        limit = _word_limit(prompt.instructions)
        summary: list[str] = []
        for sentence in (prompt.material_sentences if prompt.has_documents else sentences(material))[:3]:
            if summary and limit and len(" ".join([*summary, sentence]).split()) > limit:
                break
            summary.append(sentence)
        kept = " ".join(summary).split()
        # One sentence can be over the limit on its own (text without full stops is one long "sentence").
        return " ".join(kept) if limit is None or len(kept) <= limit else " ".join(kept[:limit]).rstrip(",;:") + "…"
    if "translat" in asks:
        language = re.search(r"\binto ([A-Z][a-z]+)", prompt.instructions)
        target = language.group(1) if language else "the target language"
        return f"[{target} translation unavailable offline; original text] {prompt.user_text}"
    if material:
        lines = [line.strip() for line in material.splitlines() if line.strip()]
        if any(word in asks for word in ("email", "letter", "message to")):
            greeting = _example_of("greeting", prompt.instructions, "Dear Customer,")
            closing = _example_of("closing", prompt.instructions, "Best regards,")
            return f"{greeting}\n\n" + "\n".join(lines) + f"\n\n{closing}\nCustomer Support"
        limit = _word_limit(prompt.instructions)
        if limit:
            # "A headline of at most eight words for this text": the text's opening words, up to the limit.
            return " ".join(sentences(material)[0].split()[:limit]).rstrip(",;:.")
        return "\n".join(lines)
    role = re.search(r"\bYou are (?:an? |the )?([^.\n]+)", prompt.instructions)
    said = next(iter(prompt.data.values()), "") or prompt.fields.get("the user says") or prompt.user_text
    # The user's words are what is answered, not instructions: "Please refund me" must not become "I will ...".
    instructions = _FIELD.sub("", _BLOCK.sub("", prompt.instructions)).replace(said, " ")
    # A sentence about the tags the data comes in ("The message is between the <message> tags") says how to
    # read the prompt, not what to do for the user: it is no part of the answer.
    told = [s for s in sentences(instructions) if not s.startswith("You are") and not re.search(r"<[a-z_]+>", s)]
    opening = f"You wrote: “{said}”" + ("" if said.endswith((".", "!", "?")) else ".")
    as_role = f" As your {role.group(1).strip()}, I will" if role else " I will"
    steps = " ".join(_as_reply(s[0].lower() + s[1:]) for s in told)
    return f"{opening}{as_role} {steps}" if steps else opening


def _word_limit(instructions: str) -> int | None:
    """Return the length in words the instructions ask for ("at most 80 words", "in eight words"), if any."""
    stated = _WORD_LIMIT.search(instructions)
    if stated is None:
        return None
    said = stated.group(1).lower()
    return int(said) if said.isdigit() else _NUMBERS[said]


def _schema_of(schema: dict[str, Any] | type[BaseModel]) -> dict[str, Any]:
    if isinstance(schema, dict):
        return schema
    return convert_to_json_schema(schema)


class OfflineChatModel(BaseChatModel):
    """Deterministic chat model for offline use and tests; answers derive from the prompt, never canned."""

    latency: float = 0.0
    """Seconds each call waits before answering, whatever it answers: a remote model's round trip, in benchmarks."""
    token_latency: float = 0.0
    """Seconds per token of the reply, on top of `latency`: a remote model's writing time, so that a long reply
    takes longer than a short one, as it does on a real model. Deterministic, like the answers."""

    @property
    def _llm_type(self) -> str:
        return "offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"latency": self.latency, "token_latency": self.token_latency}

    def call_seconds(self, result: ChatResult, schema: dict[str, Any] | None) -> float:
        """Return how long the call that answered `result` takes: `latency` plus `token_latency` per output token.

        Subclasses may time calls otherwise (say, by `schema`: JSON verdicts faster than prose); benchmarks read
        the same figure to work out the least time a run of these calls can take.
        """
        usage = getattr(result.generations[0].message, "usage_metadata", None) or {}
        return self.latency + self.token_latency * int(usage.get("output_tokens", 0))

    def _answer(self, messages: list[BaseMessage], schema: dict[str, Any] | None) -> ChatResult:
        prompt = Prompt.from_messages(messages)
        text = json.dumps(SchemaFiller(schema, prompt).fill(schema)) if schema else reply(prompt)
        prompt_tokens = sum(approx_tokens(m.text) for m in messages)
        output_tokens = approx_tokens(text)
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": prompt_tokens,
                "output_tokens": output_tokens,
                "total_tokens": prompt_tokens + output_tokens,
            },
            response_metadata={"model_name": "offline", "model_provider": "offline"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        schema = kwargs.get("response_json_schema")
        result = self._answer(messages, schema)
        delay = self.call_seconds(result, schema)
        if delay > 0:
            time.sleep(delay)
        return result

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        schema = kwargs.get("response_json_schema")
        # Answered first, then waited for: the reply's length sets how long a remote model would take to write it.
        result = self._answer(messages, schema)
        delay = self.call_seconds(result, schema)
        if delay > 0:
            await asyncio.sleep(delay)
        return result

    def with_structured_output(
        self,
        schema: dict[str, Any] | type[BaseModel],
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answer in JSON for `schema`, parsed as the real providers' JSON-schema mode would be."""
        bound = self.bind(response_json_schema=_schema_of(schema))
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema)
            if isinstance(schema, type) and issubclass(schema, BaseModel)
            else JsonOutputParser()
        )
        if not include_raw:
            return bound | parser
        no_error: Callable[[Any], None] = lambda _: None  # noqa: E731
        parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=no_error)
        failed = RunnablePassthrough.assign(parsed=no_error)
        return RunnableMap(raw=bound) | parsed.with_fallbacks([failed], exception_key="parsing_error")


def fill_schema(schema: dict[str, Any], messages: Sequence[BaseMessage]) -> Any:
    """Fill `schema` from `messages` as the offline model would; also serves fake Gemini servers in tests."""
    return SchemaFiller(schema, Prompt.from_messages(messages)).fill(schema)


def answer_text(messages: Sequence[BaseMessage]) -> str:
    """Answer `messages` in free text as the offline model would."""
    return reply(Prompt.from_messages(messages))
