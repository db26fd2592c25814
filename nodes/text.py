"""Plain-text helpers for the nodes, the offline model and the quality checks: words, overlap, meaning, requests."""

import functools
import re
import unicodedata
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
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(¿¡]?[A-Z0-9])")


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
    # A possessive is its owner's word: "the blanket's controller" speaks of the blanket.
    return {stem(w.removesuffix("'s")) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


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
    """Return the first line of an error's message (at most 160 characters), or its type name when it has none.

    A pydantic ValidationError's first line only counts its errors ("1 validation error for Classification"):
    the first error's field and message follow it, so a note says what was wrong.
    """
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    details = getattr(error, "errors", None)
    if callable(details) and type(error).__name__ == "ValidationError":
        found = details()
        if found:
            where = ".".join(str(part) for part in found[0].get("loc", ())) or "the value"
            line = f"{line}: {where}: {found[0].get('msg', '')}"
    return line[:160]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    r"""Return `text` safe to print on a terminal: control characters (ESC, NUL, CR...) written out ("\x1b").

    Customer text reaches the terminal in replies and progress lines; an escape sequence in it must not recolour
    the screen, retitle the window or overwrite a line, and a bidirectional override or isolate ("\u202e") must
    not show the rest of the line in another order than it is. Newlines and tabs stay; right-to-left text itself
    needs none of these marks and is left as it is.
    """
    return _CONTROL.sub(lambda found: _escaped(found.group()), text)


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clip(text: str, width: int) -> str:
    """Shorten `text` to `width` characters, marking a cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


# --- Meaning, roughly: the offline model's small vocabulary ----------------------------------------------------

BACKGROUND = 0.5
"""The weight of what a message is about but not what the customer needs: a thing they use, a fault that befalls
no such thing."""

CONCEPTS: dict[str, tuple[float, str]] = {
    # What a customer does with a thing bought: send it back (what the returns of a shop are about).
    "give_back": (
        1.0,
        "return, returns, returned, returning, send back, sent back, sending back, send it back, take back, take it "
        "back, bring back, give back, going back",
    ),
    # Things a customer owns or uses: what a message is about, not what the customer needs, so they weigh less.
    "device": (
        BACKGROUND,
        "device, devices, equipment, hardware, gadget, laptop, laptops, notebook, computer, computers, pc, desktop, "
        "mac, macbook, phone, phones, smartphone, mobile, mobile phone, cellphone, iphone, android, tablet, ipad, "
        "kindle, tv, television, smart tv, tv box, set-top box, decoder, remote, remote control, router, modem, "
        "printer, scanner, headphones, headset, earbuds, earphones, speaker, speakers, soundbar, microphone, mic, "
        "camera, webcam, screen, touchscreen, display, monitor, keyboard, mouse, trackpad, touchpad, console, "
        "controller, smartwatch, charger, charging port, cable, adapter, plug, battery, sim, sim card, hard drive, "
        "usb, port, button, sound, audio, volume, picture, image, video, power, landline, handset, voicemail, ringtone",
    ),
    "connection": (
        BACKGROUND,
        "internet, wifi, wi-fi, wireless, wlan, network, broadband, fibre, fiber, connection, connections, connect, "
        "connected, connecting, connectivity, signal, reception, coverage, bluetooth, online, 4g, 5g, lte, mobile "
        "data, roaming, ethernet, hotspot, dial tone, line, phone line, calls, call, texts, sms, bandwidth, speed, "
        "speeds, download speed, upload, latency, ping",
    ),
    "software": (
        BACKGROUND,
        "app, apps, application, applications, software, program, programs, website, websites, site, web, page, "
        "browser, email, e-mail, emails, inbox, update, updates, download, downloads, driver, drivers, firmware, "
        "operating system, streaming, stream, sync, syncing, synced, license, licence, license key, portal, dashboard, "
        "settings, notifications, backup, cloud",
    ),
    # What goes wrong with them, or what needs doing.
    "fault": (
        1.0,
        "broken, break, breaks, broke, cracked, cracks, smashed, shattered, damaged, not working, stopped working, "
        "stops working, won't, wont, can't, cant, cannot, couldn't, doesn't, doesnt, isn't, isnt, aren't, dead, crash, "
        "crashes, crashed, crashing, freeze, freezes, freezing, frozen, froze, hang, hangs, hanging, error, errors, "
        "error code, error message, bug, bugs, glitch, glitches, glitchy, fail, fails, failed, failing, failure, "
        "faulty, defective, malfunction, malfunctioning, slow, sluggish, drop, drops, dropped, dropping, outage, "
        "outages, down, disconnect, disconnects, disconnected, disconnecting, cuts out, cutting out, keeps cutting, "
        "unresponsive, not responding, stopped responding, won't respond, flicker, flickers, flickering, stuck, "
        "restarting, restarts, rebooting, reboots, shuts down, shutting down, buffering, lag, lags, lagging, laggy, "
        "black screen, blank screen, blue screen, blinking, invalid, rejected, not accepted, overheating, overheats, "
        "crackle, crackles, crackling, static, distorted, echo, noise, noisy, buzzing, hum, humming, beeping, weak, "
        "intermittent, unstable, spotty, patchy, offline, timed out, timeout, loading, won't load, not loading, turn "
        "on, switch on, power on, start up, boot, boots, booting, logs me out, logged me out, keeps logging me out, "
        "kicks me out, not receiving, never arrives, didn't arrive, never received, not syncing",
    ),
    "setup": (
        1.0,
        "set up, setup, setting up, install, installing, installation, reinstall, uninstall, configure, configuring, "
        "configuration, reset, resetting, factory settings, factory reset, pair, pairing, paired, activate, "
        "activating, activation, troubleshoot, troubleshooting, how do i use, how to use, connect to, transfer my "
        "data, migrate",
    ),
    "sign_in": (
        1.0,
        "login, logins, log in, logging in, log-in, log on, access, accessing, sign in, signing in, sign-in, sign on, "
        "password, passwords, passcode, pin, pin code, username, user name, locked out, locked, lockout, "
        "authentication, two-factor, 2fa, verification code, verification email, security code, one-time code, otp, "
        "credentials, log out, logs out, logged out, sign out, signed out",
    ),
    # Money between the customer and the company.
    "invoice": (
        1.0,
        "bill, bills, billing, billed, invoice, invoices, invoiced, statement, statements, receipt, receipts, vat, "
        "tax, taxes",
    ),
    "charge": (
        1.0,
        "charge, charges, charged, overcharge, overcharged, overcharging, fee, fees, cost, costs, price, prices, "
        "pricing, rate, rates, tariff, levy, levies, expensive, cheaper, how much, amount, total, surcharge, extra "
        "charge, double charged, charged twice, deducted, taken from my account",
    ),
    "payment": (
        1.0,
        "pay, pays, paid, paying, payment, payments, debit, direct debit, standing order, credit card, debit card, "
        "card details, bank, bank account, bank transfer, transfer, paypal, instalment, instalments, installment, "
        "installments, balance, due, overdue, owe, owed, outstanding, arrears, declined, billing address, billing "
        "date, payment method",
    ),
    "refund": (
        1.0,
        "refund, refunds, refunded, refunding, money back, reimburse, reimbursed, reimbursement, credit, credited, "
        "compensation, compensate, chargeback, rebate",
    ),
    "subscription": (
        1.0,
        "subscription, subscriptions, subscribe, subscribed, plan, plans, premium, upgrade, downgrade, renewal, renew, "
        "renews, renewed, auto-renewal, cancel, cancelled, canceled, cancellation, contract, monthly, yearly, annual, "
        "annually, discount, discounts, promotion, promotional, promo, promo code, coupon, voucher, trial, free trial, "
        "membership, package deal, bundle",
    ),
    # The company itself.
    "store": (
        1.0,
        "store, stores, shop, shops, branch, branches, outlet, outlets, showroom, location, locations, nearest, "
        "nearby, closest, near me, downtown, city centre, city center, mall, address, head office, headquarters, "
        "parking, car park, wheelchair, accessible, directions, get to, find you",
    ),
    "hours": (
        1.0,
        "hours, opening, open, opens, close, closes, closing, closed, opening times, opening hours, today, tomorrow, "
        "tonight, open late, weekend, weekends, weekday, weekdays, monday, mondays, tuesday, tuesdays, wednesday, "
        "wednesdays, thursday, thursdays, friday, fridays, saturday, saturdays, sunday, sundays, holiday, holidays, "
        "public holidays, bank holiday, bank holidays, christmas, christmas eve, new year, easter, what time",
    ),
    "contact": (
        1.0,
        "contact, contact details, phone number, telephone number, number to call, call us, call you, speak, talk, "
        "reach you, reach someone, customer service, customer services, helpline, hotline, chat, live chat, press "
        "office, complaints department, complaints team, fax, postal address",
    ),
    "delivery": (
        1.0,
        "ship, ships, shipping, shipped, deliver, delivers, delivery, deliveries, delivered, courier, postage, post, "
        "parcel, parcels, package, packages, dispatch, dispatched, pick up, pickup, collect, collection, click and "
        "collect, next day delivery, express delivery, returned to sender, return to sender",
    ),
    "offer": (
        1.0,
        "sell, sells, selling, sold, carry, stock, stocks, in stock, brand, brands, product, products, range, "
        "catalogue, catalog, refurbished, second-hand, gift card, gift cards, gift voucher, loyalty, loyalty card, "
        "rewards, points, programme, offer, offers, student, trade-in, trade in, accessories, availability",
    ),
    "jobs": (
        1.0,
        "job, jobs, career, careers, vacancy, vacancies, hiring, recruitment, employment, job openings, "
        "apprenticeship, internship, work for you",
    ),
    "policy": (
        1.0,
        "policy, policies, warranty, warranties, guarantee, guaranteed, recycling, recycle, privacy, terms, terms and "
        "conditions, returns policy, return policy, data protection, gdpr, ethics, sustainability",
    ),
}
"""Concept -> (weight, the words and phrases that name it): a small vocabulary of customer-service English, so
that "laptop" meets "devices" and "charged" meets "fees". A weight below 1 marks nouns that say what a message is
about but not what the customer needs."""

ABROAD: dict[str, str] = {
    "give_back": "retourner, renvoyer, rendre, rapporter, devolver, devolverlo, devolverla, restituire, "
    "restituirlo, restituirla, rendere, zuruckgeben, zuruckschicken, zurucksenden, retournieren, umtauschen, "
    "schicke ich zuruck, sende ich zuruck, gebe ich zuruck, schicke sie zuruck, schicke es zuruck, schicke ihn zuruck, "
    "terugsturen, terugzenden, terugbrengen, retourneren, zwrocic, zwrot, odeslac, oddac, skicka tillbaka, "
    "returnera, sende tilbage, sende tilbake, returnere",
    # The same concepts in French, Spanish, Italian, German, Portuguese, Dutch, Polish (and, for sending back,
    # Swedish, Danish and Norwegian), written without accents
    # (text is folded to match): the common words a customer uses, so that a query in another language is read at
    # all. German splits its verbs ("die Jacke schicke ich zurück"), so their split forms are phrases here.
    "device": "ordinateur, ordinateur portable, portable, telephone, tablette, imprimante, ecran, clavier, "
    "appareil, ordenador, portatil, computadora, computador, movil, celular, telefono, impresora, pantalla, teclado, "
    "raton, aparato, dispositivo, cellulare, stampante, schermo, tastiera, dispositivo, computer, fernseher, handy, "
    "drucker, bildschirm, tastatur, gerat, telefone, telemovel, impressora, tela, teclado, routeur, enrutador, "
    "batterie, bateria, batteria, akku, chargeur, cargador, caricatore, ladegerat, carregador, television, televisor, "
    "televisore, televisao",
    "connection": "reseau, connexion, conexion, rete, connessione, netz, netzwerk, verbindung, rede, conexao, "
    "wlan, connecter, conectar, collegare, verbinden, senal, segnale, sinal, empfang, datos moviles, dati mobili, "
    "mobile daten, dados moveis, fibra, glasfaser, ligne, linea, leitung",
    "software": "logiciel, application, aplicacion, aplicativo, applicazione, programa, programma, programm, "
    "site web, sitio web, pagina web, sito, webseite, mise a jour, actualizacion, aggiornamento, aktualisierung, "
    "atualizacao, courriel, correo, correo electronico",
    "fault": "ne marche pas, ne marche plus, marche pas, marche plus, ne fonctionne pas, ne fonctionne plus, "
    "fonctionne pas, fonctionne plus, en panne, panne, bloque, lent, erreur, s'allume pas, s'allume plus, allume pas, "
    "allume plus, arrive pas a, no funciona, no anda, no enciende, no se enciende, no prende, no carga, no va, no "
    "puedo, roto, rota, lento, lenta, caido, se cuelga, error, non funziona, non va, non si accende, non riesco, "
    "rotto, rotta, bloccato, bloccata, errore, guasto, funktioniert nicht, funktioniert nicht mehr, geht nicht, geht "
    "nicht mehr, kaputt, defekt, langsam, fehler, sturzt ab, absturz, nao funciona, nao liga, nao consigo, avariado, "
    "quebrado, quebrada, travado, erro, lentissimo, lente, lentes, lents",
    "setup": "installer, configurer, reinitialiser, instalar, configurar, restablecer, installare, configurare, "
    "ripristinare, installieren, einrichten, zurucksetzen, konfigurieren",
    "sign_in": "mot de passe, se connecter, identifiant, contrasena, iniciar sesion, acceder, usuario, accedere, "
    "accesso, passwort, kennwort, anmelden, einloggen, benutzername, senha, entrar, login",
    "invoice": "facture, factures, facturation, factura, facturas, facturacion, fattura, fatture, bolletta, "
    "fatturazione, rechnung, rechnungen, fatura, faturas, recibo, ricevuta, quittung, releve",
    "charge": "frais, prix, tarif, cher, eleve, elevee, montant, combien, preleve, cargo, cargos, cobro, "
    "cobrado, cobrados, cobraron, cobrar, precio, tarifa, caro, importe, cuanto, addebito, addebitato, addebitati, "
    "costo, prezzo, tariffa, importo, quanto, gebuhr, gebuhren, preis, kosten, teuer, hoch, betrag, abgebucht, wie "
    "viel, cobranca, cobrado, preco, taxa, valor, cobraram",
    "payment": "paiement, payer, paye, virement, prelevement, carte bancaire, pago, pagar, pague, pagado, "
    "transferencia, tarjeta, domiciliacion, pagamento, pagare, pagato, bonifico, carta di credito, zahlung, zahlen, "
    "bezahlen, bezahlt, uberweisung, lastschrift, kreditkarte, cartao, boleto",
    "refund": "remboursement, rembourser, rembourse, reembolso, reembolsar, rimborso, rimborsare, rimborsato, "
    "ruckerstattung, erstattung, erstatten, zuruckerstatten, geld zuruck, estorno, reembolsado",
    "subscription": "abonnement, forfait, contrat, resilier, annuler, suscripcion, contrato, cancelar, "
    "abbonamento, contratto, disdire, annullare, abo, vertrag, kundigen, kundigung, assinatura, plano, mensuel, "
    "mensual, mensile, monatlich, mensal",
    "store": "magasin, magasins, boutique, boutiques, agence, succursale, adresse, tienda, tiendas, sucursal, "
    "direccion, negozio, negozi, punto vendita, indirizzo, geschaft, geschafte, laden, filiale, adresse, loja, lojas, "
    "endereco, plus proche, mas cercana, mas cercano, piu vicino, nachste, nachstes, mais proxima",
    "hours": "horaire, horaires, ouvert, ouverte, ouvrez, ouvre, ouverture, ferme, fermez, fermeture, "
    "aujourd'hui, demain, dimanche, samedi, feries, horario, horarios, abierto, abre, abren, cierra, cierran, domingo, "
    "sabado, festivos, orari, orario, aperto, aperti, apre, aprite, apertura, chiude, chiudete, domenica, sabato, "
    "festivi, offnungszeiten, geoffnet, offnen, offen, schliessen, sonntag, samstag, feiertag, feiertagen, heute, "
    "morgen, aberto, abrem, fecham, domingos, sabados, feriados, a que hora, a quelle heure, a che ora, um wie viel "
    "uhr",
    "contact": "contacter, joindre, parler, service client, contactar, hablar, llamar, servicio al cliente, "
    "atencion al cliente, contattare, parlare, chiamare, servizio clienti, kontakt, kontaktieren, sprechen, anrufen, "
    "kundenservice, kundendienst, telefonnummer, contatar, falar, ligar, atendimento",
    "delivery": "livraison, livrer, livrez, livrez-vous, expedition, expedier, colis, envio, envios, "
    "enviar, envian, enviais, entrega, entregas, entregan, entregar, paquete, spedizione, spedizioni, spedite, "
    "consegna, consegnate, pacco, lieferung, liefern, liefert, versand, versenden, paket, entregam, encomenda, frete",
    "offer": "vendez, produit, produits, marque, marques, carte cadeau, venden, vendeis, producto, productos, "
    "marca, marcas, tarjeta regalo, vendete, prodotto, prodotti, buono regalo, verkaufen, produkt, produkte, "
    "gutschein, vendem, produto, produtos, cartao presente",
    "jobs": "emploi, emplois, recrutement, empleo, trabajo, lavoro, stellenangebote, stelle, emprego, vagas",
    "policy": "garantie, politique, garantia, politica, garanzia, datenschutz, privacidad",
}
"""Concept -> the same concept's common words in French, Spanish, Italian, German and Portuguese
(and, for sending a thing back, Dutch and Polish)."""

FUNCTION_WORDS_ABROAD = frozenset(
    """le la les un une des du de au aux et ou mon ma mes ton ta tes son sa ses notre nos votre vos je tu il
    elle nous vous ils elles ce cet cette est sont ai as avez pas plus ne que qui quoi pour avec dans sur par
    en y si tres bien merci bonjour salut el los las una unos unas del al y o mi mis tu tus su sus nuestro es
    esta estan son he ha han que quien para con por sin muy gracias hola desde hace yo usted ustedes lo le les
    il lo gli uno una dei degli delle della dello nel nella e non mio mia miei mie tuo tua suo sua sono ho hai
    ha che chi per con su da molto grazie ciao buongiorno der die das den dem des ein eine einen einem einer
    und oder mein meine meinen meinem ich du er sie es wir ihr ist sind habe hat nicht mit fur von zu auf bei
    seit sehr danke hallo guten tag o os as um uma uns umas do dos das da no na nos nas e ou meu minha meus
    minhas seu sua eu voce nao sim com por para muito obrigado obrigada ola desde""".split()
)
"""Articles, pronouns, prepositions and greetings of those languages: words that carry no topic."""

GENERIC = frozenset(
    """ask asking help question questions inquiry enquiry issue issues problem problems query request need want
    like support service services general thing things something anything everything hello hi thanks thank one
    regarding aide
    probleme ayuda problema pregunta aiuto domanda hilfe frage ajuda pergunta""".split()
)
"""Words every customer message may hold, whatever it is about: they tell no topic apart."""

NEGATIONS = frozenset("no lost without zero sin sans senza sem kein keine niente".split())
"""Words that say a thing a customer uses is missing ("no signal", "lost connection"): a fault when they come
just before something a customer owns or uses."""

_THINGS = frozenset(concept for concept, (weight, _) in CONCEPTS.items() if weight < 1)
_TECHNICAL = _THINGS | {"sign_in", "setup"}
"""What a fault befalls when it is a technical matter: something the customer uses, signing in, setting up."""
_ACTED_ON = frozenset("it them this that the my a an your our its".split())
"""Words after "open" or "close" that make it something done to a thing ("open the app"), not opening hours."""
_HOW_TO = re.compile(r"\bhow (?:do|can|should|would) (?:i|we|you)\b|\bhow to\b")
_GENERIC_STEMS = frozenset(stem(word) for word in GENERIC)
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ELIDED = re.compile(r"\b(?:[cdjlmnst]|qu)['’](?=[^\W_])")
"""A French elided article or pronoun ("l'application", "n'arrive"), folded away so the word itself is read."""


def _members(words_of: str) -> list[str]:
    return [" ".join(fold(member).split()) for member in words_of.split(",") if member.strip()]


def fold(text: str) -> str:
    """Return `text` case-folded with accents taken off ("Geöffnet" -> "geoffnet", "não" -> "nao")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_PHRASES: dict[tuple[str, ...], str] = {}
for _concept, (_, _english) in CONCEPTS.items():
    for _member in [*_members(_english), *_members(ABROAD.get(_concept, ""))]:
        _PHRASES.setdefault(tuple(_ELIDED.sub("", _member).split()), _concept)
# Inflections are folded for the English words only: another language's words are matched as listed, so that
# Spanish "rede" is never English "red".
_STEMS: dict[str, str] = {
    stem(member): concept
    for concept, (_, english) in CONCEPTS.items()
    for member in _members(english)
    if " " not in member
}
_LONGEST = max(len(phrase) for phrase in _PHRASES)


def _root(word: str) -> str:
    """Take a plural "s" and a final vowel off a word: "lentes", "lenta" and "lento" are all "lent"."""
    root = re.sub("[aeio]$", "", word.removesuffix("s"))
    return root if len(root) >= 4 else ""


# The other languages' single words are also matched by their root, so agreement in gender and number ("lenta",
# "lentos") needs no list of its own; a root that an English word of the vocabulary has is left out.
_ROOTS: dict[str, str] = {}
for _concept, _abroad in ABROAD.items():
    for _member in _members(_abroad):
        if " " not in _member and _root(_member) and stem(_root(_member)) not in _STEMS:
            _ROOTS.setdefault(_root(_member), _concept)


def _single(word: str) -> str | None:
    """Return the concept one word names by its English stem or its root in another language, if any."""
    return _STEMS.get(stem(word)) or _ROOTS.get(_root(word))


KNOWN_WORDS = frozenset(word for phrase in _PHRASES for word in phrase)
"""Every word of the vocabulary: what a misspelt word may be corrected to."""
_UNCORRECTED = STOPWORDS | FUNCTION_WORDS_ABROAD


def words(text: str) -> list[str]:
    """Return the words of `text`, case-folded and without accents, hyphenated words and contractions kept whole.

    A French elided article ("l'appli") is left out, so the word after it is read as itself.
    """
    return [token.replace("’", "'") for token in _TOKEN.findall(_ELIDED.sub("", fold(text)))]


def typo_distance(a: str, b: str) -> int:
    """Count the typing slips that turn `a` (as typed) into `b`: a letter dropped, doubled, or two swapped.

    A substituted letter, or a letter added that is not a doubling, costs two: "bread" is not a slip of "break",
    nor "free" of "fee", while "chraged" is one of "charged" and "passsword" one of "password".
    """
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        added = 1 if (i > 1 and a[i - 1] == a[i - 2]) or (i < len(a) and a[i - 1] == a[i]) else 2
        row = [rows[-1][0] + added] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + added, row[j - 1] + 1, rows[-1][j - 1] + (0 if a[i - 1] == b[j - 1] else 2))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


class _Lexicon:
    """Words a slip may be corrected to, filed by first letter and length so a look-up reads only a few."""

    def __init__(self, known: Iterable[str]) -> None:
        self.filed: dict[tuple[str, int], list[str]] = {}
        for word in sorted(set(known)):
            if word:
                self.filed.setdefault((word[0], len(word)), []).append(word)

    def near(self, word: str, spread: int) -> list[str]:
        """Return the words that start as `word` does and are at most `spread` letters longer or shorter."""
        sizes = range(len(word) - spread, len(word) + spread + 1)
        return [known for size in sizes for known in self.filed.get((word[0], size), [])]


_VOCABULARY = _Lexicon(KNOWN_WORDS)


def correct(word: str, known: Iterable[str]) -> str:
    """Return the known word `word` is one slip away from (two for long words), else `word` itself.

    Known words, function words and words of two letters stay as they are, and a slip never changes the first
    letter. A word of three letters is only ever a doubled letter short ("bil" for "bill"): most are words.
    """
    return _correct(word, (_Lexicon(known),))


def _correct(word: str, lexicons: Iterable[_Lexicon]) -> str:
    if len(word) < 3 or word in _UNCORRECTED or word in KNOWN_WORDS or stem(word) in _STEMS or _root(word) in _ROOTS:
        return word
    allowed = 0 if len(word) == 3 else 1 if len(word) < 8 else 2
    best, best_distance = word, allowed + 1
    for candidate in sorted({near for lexicon in lexicons for near in lexicon.near(word, max(allowed, 1))}):
        if not allowed:
            if any(candidate == word[: i + 1] + word[i:] for i in range(len(word))):
                return candidate
            continue
        distance = typo_distance(word, candidate)
        if distance < best_distance:
            best, best_distance = candidate, distance
    return best


_NEWS_END = frozenset("yet please pls asap today soon".split()) | {""}
"""What may follow an "update" that asks for news ("any update yet?") rather than naming software."""


def _sense(tokens: list[str], position: int, size: int, concept: str) -> str | None:
    """Return the concept a matched phrase has where it stands: some words mean another thing in context.

    "open" or "close" before a thing ("open the app") is something done to it, not opening hours; an "update" on
    a status or to a person, or "any update" on its own, is news, not software; "charge" after a fault ("won't
    charge") and "charging" not before a person ("stopped charging") speak of a battery, not money.
    """
    word = tokens[position]
    after = tokens[position + size] if position + size < len(tokens) else ""
    before = tokens[position - 1] if position else ""
    if size == 1 and concept == "hours" and word in {"open", "opens", "close", "closes"} and after in _ACTED_ON:
        return None
    if size == 1 and word in {"update", "updates"} and (before == "status" or after in {"me", "us", "on", "about"}):
        return None
    if size == 1 and word in {"update", "updates"} and before in {"an", "any"} and after in _NEWS_END:
        return None  # "Can you send me an update?", "Any updates?": news of what the message is about
    if size == 1 and word in {"charge", "charging"}:
        fault_before = _PHRASES.get((before,)) == "fault" or before in {"not", "never"}
        if fault_before or (word == "charging" and after not in {"me", "us", "my", "for", "twice", "extra"}):
            return "device"
    return concept


_SEPARABLE = frozenset("back out up in on off down".split())
"""Particles of phrasal verbs, which may stand a few words after their verb ("send the lamp back", "logs me out")."""


def _match(tokens: list[str], position: int) -> tuple[str | None, int]:
    """Return the concept of the longest phrase at `position` and how many tokens it takes (at least one).

    A phrasal verb also matches with up to four words between verb and particle: "send one back" is "send back".
    """
    for size in range(min(_LONGEST, len(tokens) - position), 1, -1):
        concept = _PHRASES.get(tuple(tokens[position : position + size]))
        if concept:
            return concept, size
    for gap in (1, 2, 3, 4):
        at = position + gap + 1
        if at < len(tokens) and tokens[at] in _SEPARABLE:
            concept = _PHRASES.get((tokens[position], tokens[at]))
            if concept:
                return concept, 1
    return _PHRASES.get((tokens[position],)) or _single(tokens[position]), 1


def meaning(text: str, known: Iterable[str] = ()) -> dict[str, float]:
    """Return what `text` is about: its concepts ("~fault") and other content words (stemmed), with weights.

    Misspelt words are first corrected to the vocabulary or to `known` words (a prompt's own wording). A thing
    said to be missing ("no signal") is a fault with it.
    """
    return dict(_meaning(text, frozenset(fold(word) for word in known)))


def term_at(text: str, start: int) -> str | None:
    """Return what the phrase at character `start` of `text` means there: its concept or its word's stem.

    "send the lamp back" is "~give_back" where "send me a lamp" is "send": a verb of a phrasal verb means the
    phrase only with its particle.
    """
    tokens = [_correct(token, (_VOCABULARY,)) for token in words(text[start:])[: _LONGEST + 4]]
    if not tokens:
        return None
    concept, size = _match(tokens, 0)
    concept = _sense(tokens, 0, size, concept) if concept else None
    return f"~{concept}" if concept else stem(tokens[0])


@functools.lru_cache(maxsize=2048)
def _meaning(text: str, known: frozenset[str]) -> dict[str, float]:
    # Cached: a classifier reads the same option descriptions for every query and every sentence it labels.
    lexicons = (_VOCABULARY, _Lexicon(known - KNOWN_WORDS))
    corrected: dict[str, str] = {}
    tokens: list[str] = []
    for token in words(text):
        # A hyphenated word the vocabulary does not hold ("livrez-vous", "re-install") is read word by word.
        for part in [token] if "-" not in token or (token,) in _PHRASES else token.split("-"):
            if part and part not in corrected:
                corrected[part] = _correct(part, lexicons)
            if part:
                tokens.append(corrected[part])
    terms: dict[str, float] = {}
    position = 0
    while position < len(tokens):
        concept, size = _match(tokens, position)
        if concept:
            concept = _sense(tokens, position, size, concept)
        if concept:
            terms[f"~{concept}"] = CONCEPTS[concept][0]
            if concept in _THINGS and position and tokens[position - 1] in NEGATIONS:
                terms["~fault"] = CONCEPTS["fault"][0]
        else:
            # A word of no concept, or in a sense the vocabulary does not mean ("open the app"), is itself.
            word = tokens[position]
            if word not in _UNCORRECTED and stem(word) not in _GENERIC_STEMS and len(word) > 1:
                terms.setdefault(stem(word), 1.0)
        position += size
    concepts = {term[1:] for term in terms if term.startswith("~")}
    if concepts and concepts <= _THINGS and _HOW_TO.search(" ".join(tokens)):
        # "How do I change my wifi name?" asks how to work something the customer uses: setting it up.
        terms["~setup"] = CONCEPTS["setup"][0]
    if "fault" in concepts and not concepts & _TECHNICAL and concepts - {"fault"}:
        # A fault befalls what the text names: with nothing a customer uses named, a payment that failed or a
        # refund for days of outage is about the money, and the fault says what is wrong, not what the topic is.
        terms["~fault"] = BACKGROUND
    return terms


# --- Requests in a customer's message ------------------------------------------------------------------------

_BARE_AND = re.compile(r"\s+and\s+", re.I)
ID_SHAPE = r"[A-Za-z]{1,5}-?[0-9]{3,}"
"""What an id looks like (letters, then digits: "INV-1234", "A-12345"), for the patterns that find one."""
_ONLY_IDS = re.compile(rf"(?:(?:orders?|invoices?|and)\s*|#?{ID_SHAPE}[\s,]*)+", re.I)
_NAMED = re.compile(r"\d|[\"“‘]|(?<!\w)'|^(?:(?:for|with)\s+)?(?:the|my|a|an|this|that|these|those|our)\b", re.I)
_ASKING = re.compile(
    r"\b(?:please|pls|plz|kindly|(?:can|could|would|will) (?:you|u)|can i|could i|may i|"
    r"(?:i|we)(?:'d| would| should)(?: also| still| just| really)? (?:like|love)|"
    r"(?:i|we)(?: also| still| just| really| now)? (?:want|wanna|need|wish)|"
    r"help me|tell me|let me know|give me|send me|"
    r"(?:want|need|wish|would like|'d like) to|"
    # The same in French, Spanish, Italian, German and Portuguese, without accents (the clause is folded).
    r"je veux|je voudrais|j'aimerais|voudrais|je souhaite|souhaiterais|pouvez-vous|pourriez-vous|merci de|"
    r"s'il vous plait|quiero|quisiera|necesito|me gustaria|por favor|"
    r"vorrei|voglio|ho bisogno|per favore|ich mochte|ich will|ich brauche|bitte|quero|gostaria|preciso|"
    # German puts the verb second after an opening word ("Außerdem möchte ich ...", "Gerne hätte ich ...").
    r"mochte ich|will ich|brauche ich|(?:ich )?(?:wurde|hatte) (?:ich )?gerne?|"
    # Swedish, Danish and Norwegian.
    r"jag vill|jag skulle vilja|kan ni|kan du|jeg vil gerne|jeg vil gjerne|kan I)\b|\?\s*$",
    re.I,
)
GOING_TO = r"\s+to\s+(?!(?:you|u|sender|(?:the|your|a|an)\s+(?:[\w-]+\s+){0,2}(?:shop|store|branch|warehouse|depot))\b)"
"""A verb's "to" that says where one goes ("returning to the UK"), not where a thing is sent ("return it to you",
"return to the Leeds store")."""
_INTENT = re.compile(
    r"\b(?:(?:(?:i|we)(?:'m| am|'re| are|'ll| will| shall)|im)(?: going to| about to| be)?|"
    r"(?:(?:i|we) )?(?:gonna|wanna|may as well|might as well)) (\w+)\b"
    # "I'm returning to the UK" says where they go.
    rf"(?!{GOING_TO})|"
    # "that's going back", "they're going back": what is said of a thing named before.
    r"\b(?:it|that|this|they|those|these)(?:'s| is| are|'re) (going) back\b|"
    # "The lamp wobbles, sending it back": the subject is left out, as in a note, after what the thing does.
    r"(?:[,;]|\s[-–—])\s+(?:so\s+)?(returning (?:it|them|the(?! favou?r\b)|my|both|this|that|these|those)\b|"
    r"sending (?:it|them|this|that|these|those|both) back\b)"
    # "sending it back isn't an option", "returning it would cost me": said of the return, not doing it.
    r"(?!\s+(?:is|isn't|isnt|was|would|will|seems|sounds|costs?|feels|takes|means)\b)",
    re.I,
)
"""A customer saying what they are doing ("I'm returning it", "we'll cancel"): a request, when the verb is one."""
ALTERING_VERBS = frozenset(
    """add alter amend apply arrange book cancel change close combine deactivate delete disable downgrade edit enable
    exchange fix hold link merge modify move pause postpone redirect refund remove renew repair replace reschedule
    reset schedule split stop swap switch transfer turn unlink unsubscribe upgrade waive""".split()
)
"""Request verbs that change or end something ("cancel order A-1", "refund order A-1": money paid back is a
change too): an id after one is what it acts on, so the request is that action, not a question about the id."""
ALTERING_VERBS_ABROAD = {
    **dict.fromkeys(
        """annuler annulez anular anulen cancelar cancele cancelen cancelad annullare annullate annulla
        stornieren storniere kundigen""".split(),
        "cancel",
    ),
    **dict.fromkeys(
        """changer changez modifier modifiez cambiar cambien cambie modificar modifiquen cambiare cambiate
        modificare modificate andern abandern alterar altere mudar""".split(),
        "change",
    ),
    **dict.fromkeys(
        "rembourser remboursez reembolsar reembolsen rimborsare rimborsate erstatten zuruckerstatten estornar".split(),
        "refund",
    ),
}
"""The altering verbs in French, Spanish, Italian, German and Portuguese (folded: no accents), as the English
verb they mean ("annuler ma commande A-1" cancels it). No past participle: "annulé" asks why, it orders nothing."""
REQUEST_VERBS = (
    frozenset(
        """add amend arrange book cancel change check close confirm correct delete downgrade email exchange explain find
    fix issue move order process refund remove renew repair replace reset return schedule send stop switch track
    transfer unsubscribe update upgrade""".split()
    )
    | ALTERING_VERBS
)
"""Verbs a request may start with ("cancel my plan"): an order to the company, not a remark."""
_PREFERRED = re.compile(
    r"\b(?:(?:i|we)(?:'d| would)(?: also| still| just| really)? (?:rather|prefer)(?: to)?|id (?:like|love) to)"
    rf"(?: just)? (?:{'|'.join(sorted(REQUEST_VERBS))})\b",
    re.I,
)
"""A preference that asks ("I'd rather send it back", "id like to cancel"), not one that keeps things as they are
("I'd rather keep it", "I'd rather not say") or thanks ("id like to say thanks")."""
REQUEST_STEMS = frozenset(stem(verb) for verb in REQUEST_VERBS)
"""The request verbs' stems, so "returning" and "returned" are "return"."""
_ACTING = frozenset(stem(verb) for verb in ALTERING_VERBS | {"return", "send"})
"""Stems of the verbs whose "-ing" form opens a request ("Returning the lamp", not "Tracking says ...")."""
TOLD_AFTER_ADVERB = (
    r"(?:(?!(?:need|bed|red|shed)\b)\w+ed|came|got|went|broke|fell|showed|never|still|"
    r"(?:is|are|was|were|has|have|had|does|did)(?:n['’]?t)?)\b"
)
"""A verb straight after "also" or "finally" that makes it an adverb of its clause, not a word joining two."""
_REQUEST_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\s*,\s*(?:and|but|plus|then)\s+|(?<!\d)\s*,\s*also\s+|"
    # "The invoice, INV-1, also has a fee": after an id between commas, "also" before a verb goes on with it.
    rf"(?<=\d),\s*also\s+(?!{TOLD_AFTER_ADVERB})|"
    # "and also" in the other languages the offline model reads ("y también", "et aussi", "und auch").
    r",? (?:y|et|und|e) (?:también|tambien|aussi|auch|anche|também|tambem) |"
    # "also" after its subject ("I also need", "I'd also like") goes on with that subject's request.
    r"(?<!\bi)(?<!\bwe)(?<!'d)(?<!'m)(?<!'ll)(?<!\bwould)\s+(?:and also|and then|also|plus|finally|lastly)\s+"
    # Before a verb of its clause ("A-1 finally arrived", "the lid also broke") the word tells, it joins nothing.
    rf"(?!{TOLD_AFTER_ADVERB})|"
    # A comma before an order of its own ("it's broken, cancel my newsletter"): the verb opens what it acts on.
    rf"\s*,\s*(?=(?:(?:please|pls|kindly)\s+)?(?:{'|'.join(sorted(REQUEST_VERBS))})\s+(?:my|me|us|the|a|an|our|your|one|some|all|both|it|them|this|that)\b)|"
    # "and" before a change of its own ("update my phone number and take my date of birth off"): two requests.
    rf"\s+and\s+(?=(?:{'|'.join(sorted(ALTERING_VERBS))})\s+(?:my|our|the|your|me|us)\b|take\s+(?:my|our|me|us)\b)",
    re.I,
)
_LEAD_IN = re.compile(
    # A greeting is a few words ("Hi there team,"): not a whole sentence that happens to open on "hi".
    r"^(?:(?:hi|hello|hey|dear \w+|good (?:morning|afternoon|evening))\b"
    r"(?:(?:[ \t]+[\w'’-]+){0,7}?[ \t]*[,!:]|(?:[ \t]+\w+){0,3}?[ \t]*\.)\s*)?"
    r"(?:(?:and|also|finally|lastly|then|so|plus|but|oh|ok|okay)\b[,\s]*|"
    # The same connecting words in the other languages the offline model reads ("Außerdem möchte ich ...").
    r"(?:außerdem|ausserdem|zudem|und|además|ademas|también|tambien|y|aussi|et|inoltre|anche|e|ook|verder|"
    r"daarnaast|também|tambem)(?=[,\s])[,\s]*|"
    # An interjection ("Hold on, ...", "Wait a sec - ..."): "hold" there orders nothing.
    r"(?:hold on|wait)(?: a (?:sec|second|minute|moment))?(?:\s*[,!\-–—]+\s*|\s*$))*",
    re.I,
)
_POLITE = re.compile(
    r"^(?:(?:please|pls|plz|kindly|just|(?:can|could|would|will) (?:you|u)|can i|could i|may i|i'd like to|"
    r"i would like to|i should like to|i want to|i need to|i wish to|i'd like|i would like|i should like|i want|i need|"
    r"help me|id like to|(?:i |we )?(?:may|might) as well|we'd like to|we would like to|we want to|we need to|"
    r"we wish to|"
    # A customer saying what they are about to do asks for it: "I'll be cancelling order A-1", "we're changing".
    r"(?:i|we)(?:'ll| will)(?: be)?|(?:i|we)(?:'m| am|'re| are) going to(?: be)?|"
    r"(?:i'm|im|i am|we're|we are)(?=\s+(?:cancel|chang|clos|swapp|exchang|switch|renew|upgrad|downgrad|pausing|"
    r"stopp|remov|delet|unsubscrib)\w*\b)|"
    r"i'd rather|i would rather|i'd prefer to|i would prefer to)\b[,\s]*)+",
    re.I,
)
DETERMINERS = frozenset(
    """the my a an this that these those our your his her its their some both one two three le la les un une mon ma mes
    el los las una mi mis il lo gli uno mio mia miei der die das den dem ein eine einen mein meine meinen o os as
    um uma meu minha""".split()
)
"""Words that open a noun phrase naming a thing ("my headphones", "two blenders"), in English and in French,
Spanish, Italian, German and Portuguese."""
PRONOUNS = frozenset("it them one some this that these those they both".split())
"""Words that stand for a thing named earlier ("I'd like to return it")."""
_PIECE = re.compile(r"[\"'“‘](?:[^\"'“”‘’]|(?<=\w)['’](?=\w)){2,80}?[\"'”’](?!\w)|[\w'’-]+|[^\w\s]")


_LIST_MARK = re.compile(
    r",?\s*(?:\band\s+)?\((?:[a-h]|[1-9])\)\s+|(?:^|(?<=[,;:]))\s*(?:and\s+)?(?:[a-h]|[1-9])\)\s+", re.I | re.M
)
"""A list's mark: "(a) ..., (b) ...", or "1) ..." at a line's start or after a comma or colon."""
_NUMBERED_LINE = re.compile(r"(?:^|\s*\n)[ \t]*[1-9][0-9]?[.)][ \t]+")
"""A line's number in a numbered list ("1. ...", "2) ..."): not a price ("2.50") or a sentence's "2 of them"."""
_INLINE_NUMBER = re.compile(r"(?<=\s)([1-9])[.)][ \t]+")
"""A number that may mark an item of a list written on one line ("three things: 1. ... 2. ...")."""


def _inline_numbers_split(text: str) -> str:
    """Make the items of a list numbered on one line ("I need three things: 1. where is A-1 2. ...") sentences.

    Only a run 1, 2, ... whose "1." follows a colon counts: "I ordered 2. The first ..." is no list.
    """
    marks = list(_INLINE_NUMBER.finditer(text))
    for start, mark in enumerate(marks):
        if mark.group(1) != "1" or not text[: mark.start()].rstrip().endswith(":"):
            continue
        run = [mark]
        for later in marks[start + 1 :]:
            # An item holds one sentence at most before the next mark: after a sentence and more words, the
            # list is over ("2. check INV-1. I also bought 3. They ..." keeps its "3").
            if re.search(r"[.!?]\s", text[run[-1].end() : later.start()].rstrip()):
                break
            if int(later.group(1)) == len(run) + 1:
                run.append(later)
        if len(run) >= 2:
            for item in reversed(run):
                text = f"{text[: item.start()].rstrip()}. {text[item.end() :]}"
            return text
    return text


_LIST = re.compile(r"(\b(?:things|items|products)\b[^.!?:,]{0,60}:|\b(?:things|items|products)\s*,)([^.!?]*)", re.I)
"""A list of things after "three things (from my order):" or "three things," up to the sentence's end."""
_NEXT_ITEM = re.compile(r",\s+(?=(?:the|my|a|an|our|this|that|these|those|[\"“‘])\b)", re.I)


def _items_joined(listed: re.Match[str]) -> str:
    """Join a list's items with "and", so each is read as a thing of its own ("and the gloves (thin)")."""
    start, items = listed.groups()
    # "things," opens the list with a dash: a comma there would end the clause, a colon read as a greeting's end.
    return f"{start if start.endswith(':') else start.rstrip(',') + ' -'}{_NEXT_ITEM.sub(' and ', items)}"


def quoted_lines(text: str) -> tuple[str, str]:
    """Split a message into its own lines and the lines it quotes from an earlier one ("> ..."), marks dropped."""
    own: list[str] = []
    quoted: list[str] = []
    for line in text.splitlines():
        body = line.lstrip()
        if body.startswith(">"):
            quoted.append(body[1:])
        else:
            own.append(line)
    return "\n".join(own), " ".join(quoted)


_VALEDICTION = (
    r"(?:(?:kind|best|warm|warmest|many|with)\s+(?:regards|wishes|thanks)|regards|best|cheers|thanks|thank you|"
    r"thanks (?:again|in advance|so much|a lot)|thank you (?:again|in advance|so much)|many thanks|thx|ta|"
    r"(?:yours\s+)?(?:sincerely|faithfully|truly)|all the best|take care|speak soon|love|br|"
    # The other languages the offline model reads.
    r"cordialement|bien à vous|merci(?: beaucoup| d'avance)?|bonne journée|"
    r"(?:mit )?(?:freundlichen|viele|liebe|beste)n? grüßen?|(?:viele |liebe )?grüße|gruß|danke(?: schön)?|"
    r"(?:un )?saludos?(?: cordiales)?|atentamente|gracias|(?:cordiali )?saluti|un saluto|grazie(?: mille)?|"
    r"(?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)|bedankt|dank u(?: wel)?|"
    r"obrigad[oa]|cumprimentos|atenciosamente|pozdrawiam|dziękuję)"
)
_NAME_WORD = r"[A-ZÀ-Ý](?:[^\W\d_]|['’.-])*"
_FAREWELL = re.compile(
    # A valediction ending a line (its spaces made single), on its own or after a sentence, with the writer's
    # name after it on the same line when capitalised ("Thanks, Maria"), and a kiss ("x") at most.
    rf"(?:^|(?<=[.!?]) )(?i:{_VALEDICTION})[,.!]*(?: {_NAME_WORD}(?: {_NAME_WORD}){{0,2}}[.!]?)?(?: x+)?[.!]*$"
)


def _signed(line: str) -> bool:
    """Tell whether a line below a valediction is the writer's name or title ("Tom Baker", "anna x").

    One to three words without a digit, each capitalised unless there is one, and asking for nothing: "where is
    A-12345", "please unsubscribe me" and "annulez ma commande" are requests, not names.
    """
    words = re.sub(r" x+$", "", line).split()
    if not 1 <= len(words) <= 3 or any(character.isdigit() for character in line):
        return False
    return (len(words) == 1 or all(word[0].isupper() for word in words)) and not is_request(line)


def _spaces_made_single(text: str) -> str:
    """Return `text` with each line's runs of spaces made one space, and runs of blank lines one blank line."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    kept = [line for number, line in enumerate(lines) if line or (number and lines[number - 1])]
    return "\n".join(kept).strip("\n")


def closing_removed(text: str) -> str:
    """Return `text` with its spaces made single (`_spaces_made_single`) and without the sign-off that ends it.

    A sign-off ("Kind regards" and a name below it, "Thanks, Maria") asks for nothing, and read as the last
    request's words it would be its reason or concern. Lines are read one by one with their spaces made single, so
    a long run of spaces costs no more than a short one.
    """
    lines = _spaces_made_single(text).split("\n")
    written = [number for number, line in enumerate(lines) if line]
    for below in range(3):  # the valediction's line, with up to two lines of name and title under it
        if below >= len(written):
            break
        at = written[-1 - below]
        farewell = _FAREWELL.search(lines[at])
        if farewell and all(_signed(line) for line in lines[at + 1 :] if line):
            return "\n".join([*lines[:at], lines[at][: farewell.start()]]).rstrip()
    return "\n".join(lines)


def requests(text: str) -> list[str]:
    """Split a message into the clauses that may each hold one request (sentences, "and", "also", "finally").

    A bare "and" splits only before a request of its own, a thing it names ("and the remote"), or something
    named by a number or quotes ("order A-11111 and A-22222"): "delete my account and all my data" stays one
    request. The question mark that ends such a sentence belongs to its first part. Politeness cut off from its
    request ("Can you also change ...") stays with it. Lines quoted from an earlier message (">") are left out;
    bulleted or numbered lines, marked items ("(a)", "(b)") and the things of a list ("three things: the mugs
    (chipped), the gloves (thin)") are clauses of their own; a comma before an order ("..., cancel my newsletter")
    splits.
    """
    clauses: list[str] = []
    # Lines quoted from an earlier message ("> Order A-1 has been dispatched") are what was said to the customer.
    # Each line's spaces are made single and blank lines one (with the sign-off taken off): the patterns below
    # would take quadratic time over a long run of whitespace, and a message may hold 50,000 characters of it.
    text = closing_removed(quoted_lines(text)[0])
    # A line opening on a bullet ("- where is ...") is an item of its own, as a sentence is; so is a marked item
    # of a list of two or more ("(a) ..., (b) ...").
    text = re.sub(r"\s*\n\s*[-*•]\s+", ". ", text)
    # So is a numbered line ("1. where is ...", "2) the lamp ..."), when two or more lines are numbered: a line
    # of a list need not end on a stop, and its number is no part of what it asks.
    if len(_NUMBERED_LINE.findall(text)) >= 2:
        text = _NUMBERED_LINE.sub(". ", text)
    text = _inline_numbers_split(text)
    if len(_LIST_MARK.findall(text)) >= 2:
        text = _LIST_MARK.sub("; ", text)
    # After a colon, a list of things named one by one ("three things: the mugs (chipped), the gloves (thin)"):
    # each item after the first is a clause of its own, as "and the gloves" would be.
    text = _LIST.sub(_items_joined, text)
    parts = _REQUEST_SPLIT.split(" ".join(text.split()))
    sentences_of: list[str] = []
    for part in parts:
        body = lead_in_removed(sentences_of[-1]) if sentences_of else ""
        polite = _POLITE.match(body)
        if polite and not body[polite.end() :].strip(" ,.!?;:-"):
            sentences_of[-1] = f"{sentences_of[-1]} {part}"
        else:
            sentences_of.append(part)
    for sentence in sentences_of:
        for number, part in enumerate(_BARE_AND.split(sentence)):
            part = part.strip(" ,;")
            if number:
                part = part.rstrip("?")
                # "A-11111 and A-22222 both came": ids listed before what is said of them all stay one clause.
                listed_ids = _ONLY_IDS.fullmatch(clauses[-1]) and not _asks(part) if clauses else False
                if clauses and (not (_asks(part) or _NAMED.search(part)) or listed_ids):
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
    body = fold(lead_in_removed(clause))
    first = words(body)[:2]
    intent = next((found for found in _INTENT.finditer(body) if _intends_a_request(found)), None)
    # A verb that is a noun before an id ("Order A-12345 is late") gives no order.
    # "Returning the lamp", "need a copy of the warranty": a list's item may open on its verb.
    opening = bool(first) and (first[0] in REQUEST_VERBS or (first[0].endswith("ing") and stem(first[0]) in _ACTING))
    ordered = (opening and not re.search(r"\d", "".join(first[1:]))) or (bool(first) and first[0] in ("need", "want"))
    doing = intent is not None
    return bool(_ASKING.search(body) or _PREFERRED.search(body)) or ordered or doing


def trailing_words_removed(text: str, removable: frozenset[str], marks: str = " \t\n,;:-–") -> str:
    """Drop the connecting words and marks that end `text` ("the lamp flickers, so", "..., please and").

    It walks back from the end word by word, so a long run of such words costs linear time, unlike a regex
    anchored at the end, which tries each start again.
    """
    end = len(text)
    while True:
        while end and text[end - 1] in marks:
            end -= 1
        start = max(text.rfind(mark, 0, end) for mark in marks) + 1
        if start >= end or fold(text[start:end]) not in removable:
            return text[:end]
        end = start


_REMARK_END = frozenset("so and but i we therefore".split())


def remark_before_request(text: str) -> str:
    """Return what `text` says before it starts to ask ("doesnt fit our stairs, want to send it back"), or "".

    That remark is the request's reason; a text that opens on its request has none.
    """
    starts = [found.start() for found in [_ASKING.search(text), _PREFERRED.search(text)] if found]
    # A stated intent starts the request only with a request verb: "I'm gonna send it back", not "it's gonna break".
    starts += [found.start() for found in _INTENT.finditer(text) if _intends_a_request(found)][:1]
    before = trailing_words_removed(text[: min(starts)], _REMARK_END) if starts else ""
    said = words(before)
    # "one of the rungs is loose": how many of a part is no part of its subject's words.
    counted = _COUNTED_PART.match(before.strip())
    said = words(before.strip()[counted.end() :]) if counted else said
    # Only a remark that says what the thing or a part of it does or is ("flickers", "doesnt fit our stairs", "lid
    # is too thin") is a reason; "to the Leeds store if possible" or "my sister gave me" is not, and a long aside
    # is no reason either.
    verb = next((at for at, word in enumerate(said[:_PART_WORDS]) if does(word) or word in _BEING), None)
    subject = said[:verb] if verb is not None else []
    if (
        not said
        or len(said) > _LONGEST_REASON
        or verb is None
        or not all(
            word in DETERMINERS or word in _ADVERBS or (_is_name_word(word) and word not in _PERSONS | _PEOPLE)
            for word in subject
        )
    ):
        return ""
    return before


_COUNTED_PART = re.compile(r"(?:one|two|three|some|both|all|most|half|several|a few|a couple)\s+of\s+", re.I)
"""How many of a part a remark speaks of ("one of the rungs"): no part of the part's words."""
_PART_WORDS = 3
"""The most words a part of the thing may take before what it does ("the front wheel wobbles")."""
_ADVERBS = frozenset("also just really finally completely totally already then suddenly".split())
"""Words that may stand between a thing and what it does ("the lamp also broke")."""
_PERSONS = frozenset("i we you he she they my our your his her their me us them".split())
"""Words of a person, not a part (with `_PEOPLE`): "my son got it" says how the thing came, not what is wrong
with it; words that name no part ("than return it") are no subject either."""
_LONGEST_REASON = 25
"""The most words a reason read off a remark may have: beyond it, the remark is an aside, not a reason."""
_BEING = frozenset(
    """is are was were has have had doesnt dont wont isnt cant didnt wasnt arent hasnt havent keeps stopped
    won't doesn't don't isn't can't didn't wasn't aren't hasn't haven't""".split()
)


def note_at(text: str) -> int | None:
    """Return where a request written as a note starts ("the shelf my husband built wobbles, returning it"), if any."""
    found = next((found for found in _INTENT.finditer(text) if found.group(3)), None)
    return found.start() if found else None


def intent_at(text: str) -> int | None:
    """Return where the customer says what they are doing ("..., I'll send those back"), if a request, else None."""
    found = next((found for found in _INTENT.finditer(text) if _intends_a_request(found)), None)
    return found.start() if found else None


def _intends_a_request(found: re.Match[str]) -> bool:
    """Tell whether a stated intent ("I'm returning", "that's going back") is a request: its verb is one."""
    return bool(found.group(2) or found.group(3)) or stem(found.group(1) or "") in REQUEST_STEMS


def what_is_asked(clause: str) -> str:
    """Return a request in a few words: the clause without greetings, politeness or final punctuation."""
    body = lead_in_removed(clause)
    # "The building has a concierge now, so please add ...": what comes before "so" is why, the request follows it.
    body = _SO_ASKED.split(body)[-1]
    body = _POLITE.sub("", body).strip(" ,.!?;:-")
    if re.search(r"\bthank you$", body, re.I):
        body = body[: -len("thank you")]
    body = trailing_words_removed(body, _THANKS_AT_END, " \t\n,.!?;:-").strip(" ,.!?;:-")
    return body or clause.strip(" ,.!?;:-")


_SO_ASKED = re.compile(r"[,;–-]\s*(?:and\s+)?so\s+(?=(?:please|pls|kindly|could|can|would|will)\s)", re.I)
_THANKS_AT_END = frozenset("please pls thanks thx".split())


def noun_phrase(text: str, after: int = 0) -> str | None:
    """Return the first thing `text` names from character `after` on: a quoted name, or words after "the/my/a".

    The phrase ends at punctuation, a word that names nothing (because, it, I, with, back, ...) or, once it has
    a word, one that says what the thing does ("my toaster arrived broken": "toaster"); the opening word ("the",
    "two") is left out, and so is a measure ("two pairs of boots": "boots"). Returns the pronoun ("it", "one")
    when that is all the text has.
    """
    return next(iter(noun_phrases(text, after)), None)


def noun_phrases(text: str, after: int = 0) -> list[str]:
    """Return every thing `text` names from character `after` on, in order, as `noun_phrase` reads each."""
    pieces = [piece.group() for piece in _PIECE.finditer(text, after)]
    found: list[str] = []
    number = 0
    # Read from a verb ("want to return kettle, it leaks"), a name may come without "the": terse writing drops it.
    bare = after > 0
    while number < len(pieces):
        token = pieces[number]
        number += 1
        if token[0] in "\"'“‘" and len(token) > 2:
            found.append(token[1:-1].strip())
            continue
        lowered = fold(token)
        if bare and lowered in ("back", "off", "out", "away"):
            continue  # "send back kettle" (but "returned in full" names nothing)
        unmarked = bare and lowered not in _NO_BARE_NAME and _is_name_word(token) and not does(token)
        if unmarked:
            lowered, number = "the", number - 1
        bare = False
        if lowered not in DETERMINERS and lowered not in PRONOUNS:
            continue
        name: list[str] = []
        while lowered in DETERMINERS and number < len(pieces):
            word = pieces[number]
            if fold(word) in DETERMINERS and not name:
                number += 1
                continue
            if fold(word) == "of" and len(name) == 1 and fold(name[0]) in MEASURES:
                name, number = [], number + 1
                continue
            doing = name and does(word) and not _fault_named(pieces, number, reading_from_a_verb=after > 0)
            if not _is_name_word(word) or len(name) == 6 or doing or fold(word) in _DOING:
                break
            number += 1
            owner = re.fullmatch(r"([a-z].*)['’]s", word)  # a capitalised one is part of a name ("Chef's Knife")
            if owner and fold(owner.group(1)) in _PEOPLE:
                continue  # "my son's bike" names the bike
            if owner:
                name.append(owner.group(1))  # "the blanket's controller died": the blanket is the thing, not its part
                break
            if name or _single(fold(word)) != "fault" or _capitalised(word):  # "the broken lamp" names the lamp
                name.append(word)
        following = fold(pieces[number]) if number < len(pieces) else ""
        if unmarked and re.match(r"\w", following) and following not in _AFTER_A_BARE_NAME:
            # Without "the", only words that run to the clause's end name a thing: "return toaster, it burns", not
            # "return half of the order" or "return later this month".
            name, unmarked = [], False
        if name:
            found.append(" ".join(name))
        elif lowered in PRONOUNS:
            found.append(lowered)
    return found


PARTICLES = frozenset("back up off out away over in".split())
"""Words that finish a verb ("send it back"), never part of a name."""
MEASURES = frozenset("pair pairs set sets box boxes pack packs bag bags bottle bottles piece pieces couple".split())
"""Words that measure out a thing ("two pairs of boots"): the thing is named after their "of"."""
_PEOPLE = frozenset(
    """son daughter wife husband partner kid kids child baby mum mom dad mother father sister brother friend
    boyfriend girlfriend nan gran grandma grandad grandson granddaughter niece nephew aunt uncle neighbour neighbor
    colleague boss flatmate roommate""".split()
)
"""Whose a thing is ("my son's bike"): a person's name for it is no part of the thing's."""
_DOING = frozenset(
    """arrived arrives came comes keeps kept stopped stops started starts broke breaks seems seem looks feels smells
    sounds makes needs leaks leaked leaking hurts fits works worked runs ran turned turns shows showed says said
    gets got went goes won't doesn't didn't isn't wasn't aren't can't cannot might must may shall inside outside
    today yesterday tonight again already still yet anymore recently last burns burnt burned overheats overheated
    squeaks squeaked hummed flickers flickered wobbles wobbled tore ripped peeled shrank shrunk sparked dripped
    jammed crashed froze smelled stinks pilled faded died dies split splits""".split()
)
"""Words that follow a thing's name to say what it does or when ("the kettle leaks", "the lamp arrived today")."""
_CONJUNCTIONS = frozenset(
    """since although though unless whereas cos est sont ist sind es esta estan et y und ou oder e o porque parce
    perche weil denn quand cuando quando wenn aber mais pero ma mas que qui che dass pour para per fur avec con mit
    com del della di du von dans nel ne non nicht nao""".split()
)
_COURTESIES = frozenset("please pls plz kindly thanks thx ty asap urgently".split())
_NOT_A_THING = frozenset("something anything everything nothing soon later now tomorrow online early".split())
"""Words that may follow a verb without "the" and name no product ("return something", "send back soon")."""
_NO_BARE_NAME = DETERMINERS | PRONOUNS | _NOT_A_THING
"""Words after a verb that open no name written without "the" (an article opens one of its own)."""
_REASON_OPENERS = frozenset("because cos coz cuz since as".split())
_AFTER_A_BARE_NAME = _COURTESIES | _REASON_OPENERS
"""What may follow a name written without "the" ("send back kettle pls", "return toaster because it burns")."""
_NOT_A_NAME = STOPWORDS | PARTICLES | _CONJUNCTIONS | _COURTESIES
"""Words that end a name: English function words, conjunctions and courtesies ("send back kettle pls"), and the
other languages' verbs "to be", conjunctions and prepositions (not their articles, some of which are English nouns:
"hat", "den")."""


ABSTRACT = frozenset(
    """money time day days week weeks month months year years order orders refund refunds reason colour color size
    mistake way problem issue rest lot bit moment account address email number invoice bill price amount fee thing
    things item items stuff best worst most least""".split()
)
"""Nouns that name no product ("my money back", "this time"): never what a return sends back."""


def is_thing(name: str) -> bool:
    """Tell whether a noun phrase can name a product: not an abstract noun, and no id or number in it but a model's.

    A model number is a few digits after a word of the name ("SuperWidget 5000", "Acme Blender 300"); an id, a
    price, a count or a number after "order" or "size" is none ("order 12345", "2 lamps", "size 10").
    """
    tokens = fold(name).split()
    if not tokens or tokens[-1] in ABSTRACT or name in PRONOUNS or (len(tokens) == 1 and tokens[0] in _PEOPLE):
        return False  # "the baby" is no product, "the Baby Monitor" may be
    return all(
        not re.search(r"\d", token)
        or (at > 0 and re.fullmatch(r"\d{2,5}", token) is not None and tokens[at - 1] not in _BEFORE_NO_MODEL_NUMBER)
        for at, token in enumerate(tokens)
    )


_NUMBER_WORDS = frozenset("no nr number num ref reference code pin".split())
_BEFORE_NO_MODEL_NUMBER = ABSTRACT | _NUMBER_WORDS
"""Words after which a number is an order's, a size's or a code's, not a model's ("order 12345", "size 10")."""


_RECEIVING = re.compile(
    r"\b(?:send|email|e-mail|mail|post|ship|give|get|provide|issue)\s+(?:me|us)\b|^\s*(?:need|want)\b(?!\s+to\b)|"
    r"\b(?:i|we)(?:\s+(?:also|still|just|really|now))?\s+(?:need|want|would like)\b(?!\s+to\b)|"
    r"\b(?:i|we)'d like\b(?!\s+to\b)",
    re.I,
)


def asks_to_be_given(clause: str) -> bool:
    """Tell whether a clause asks to be given something ("send me ...", "I need ...")."""
    return bool(_RECEIVING.search(clause))


def thing_asked_for(clause: str) -> str | None:
    """Return the thing a clause asks to be given ("send me a new charger": "new charger"), if it asks for one."""
    asking = _RECEIVING.search(clause)
    thing = noun_phrase(clause, asking.end()) if asking else None
    return thing if thing and is_thing(thing) else None


def does(word: str) -> bool:
    """Tell whether a word after a thing's name says what it does: a verb, a fault, a word of time or place."""
    lowered = fold(word)
    if lowered in _DOING or _single(lowered) in ("fault", "give_back"):
        return True
    return len(lowered) > 4 and lowered.endswith("ed") and not word[0].isupper()


def _fault_named(pieces: list[str], number: int, reading_from_a_verb: bool) -> bool:
    """Tell whether the fault word at `pieces[number]`, after a name's first word, is a noun of that name.

    "my hiking boots split": a plural with a verb after it is a noun, as two verbs do not follow each other, and
    so is a plural at the clause's end when the name is read from a verb ("return my hiking boots"); a capital
    says so too ("the Echo Dot").
    """
    word = pieces[number]
    if fold(word) in _DOING or _single(fold(word)) != "fault":
        return False
    if _capitalised(word):
        return True
    if not fold(word).endswith("s"):
        return False  # "the monitor flicker got worse": a fault said as a noun, after the thing
    following = pieces[number + 1] if number + 1 < len(pieces) else ""
    if following and re.match(r"\w", following):
        return does(following)
    return reading_from_a_verb


def _capitalised(word: str) -> bool:
    """Tell whether a word is written with a capital, as names are, and not in capitals, as shouting is."""
    return word[0].isupper() and not word.isupper()


def _is_name_word(word: str) -> bool:
    lowered = fold(word)
    if not re.fullmatch(r"[\w'’-]*\w[\w'’-]*", word):  # a dash alone is punctuation ("the pins - there are none")
        return False
    # A capitalised word is part of a name even when it is a function word elsewhere ("Le Creuset", "Del Monte").
    return lowered not in STOPWORDS and lowered not in PARTICLES and (word[0].isupper() or lowered not in _NOT_A_NAME)


def one_line(text: str) -> str:
    """Collapse text onto one line with no double quotes, so it can stand in a prompt as a `Label: "..."` field."""
    return " ".join(text.split()).replace('"', "'")
