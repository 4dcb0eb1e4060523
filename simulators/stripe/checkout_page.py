"""Hosted pages: test checkout, customer portal, receipts and invoices, as small accessible HTML."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import flows
from .cards import CardInputError, check_card
from .params import StripeError, format_amount

if TYPE_CHECKING:
    from .core import Simulator

JSON = dict[str, Any]
STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}
main{max-width:28rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 3px #0002}
.banner{background:#fff4d6;border:1px solid #e5c07b;padding:.4rem .6rem;font-size:.85rem;
border-radius:4px}
label{display:block;margin-top:.8rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;border:1px solid #8792a2;
border-radius:4px}
input:focus,button:focus,a:focus{outline:3px solid #635bff;outline-offset:2px}
fieldset{border:0;padding:0;margin:0}legend{font-weight:700;margin-top:1rem}
.row{display:flex;gap:1rem}.row>div{flex:1}
button{margin-top:1.2rem;width:100%;padding:.75rem;font-size:1.05rem;font-weight:600;color:#fff;
background:#4b44d4;border:0;border-radius:6px;cursor:pointer}
.error{color:#a4111e;background:#fdecee;padding:.5rem .7rem;border-radius:4px}
.notice{color:#0b5c2e;background:#e6f6ec;padding:.5rem .7rem;border-radius:4px}
.amount{font-size:1.8rem;font-weight:700;margin:.2rem 0}.muted{color:#525f7f;font-size:.9rem}
"""
TEST_CARDS = (
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "declined"),
    ("4000 0000 0000 9995", "declined: insufficient funds"),
    ("4000 0000 0000 3220", "3-D Secure (passes)"),
    ("4000 0000 0000 0341", "saved, but later renewals fail"),
)


#: The checkout page's words in the languages it speaks (the session's `locale`); any other
#: locale (and "auto") gets English, as a stand-in for Stripe's own translations.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Stripe test checkout (simulator)",
        "banner": "Test mode: simulated Stripe. No real money moves.",
        "email": "Email",
        "card": "Card information",
        "number": "Card number",
        "expiry": "Expiry (MM / YY)",
        "cvc": "CVC",
        "name": "Name on card",
        "donate": "Donate",
        "pay": "Pay",
        "book": "Book",
        "subscribe": "Subscribe",
        "back": "← Back",
    },
    "de": {
        "title": "Stripe-Testkasse (Simulator)",
        "banner": "Testmodus: simuliertes Stripe. Es fließt kein echtes Geld.",
        "email": "E-Mail",
        "card": "Karteninformationen",
        "number": "Kartennummer",
        "expiry": "Ablaufdatum (MM / JJ)",
        "cvc": "Prüfziffer",
        "name": "Name auf der Karte",
        "donate": "Spenden",
        "pay": "Zahlen",
        "book": "Buchen",
        "subscribe": "Abonnieren",
        "back": "← Zurück",
    },
    "fr": {
        "title": "Paiement de test Stripe (simulateur)",
        "banner": "Mode test : Stripe simulé. Aucun argent réel n’est débité.",
        "email": "E-mail",
        "card": "Informations de la carte",
        "number": "Numéro de carte",
        "expiry": "Expiration (MM / AA)",
        "cvc": "CVC",
        "name": "Nom sur la carte",
        "donate": "Faire un don de",
        "pay": "Payer",
        "book": "Réserver",
        "subscribe": "S’abonner",
        "back": "← Retour",
    },
    "es": {
        "title": "Pago de prueba de Stripe (simulador)",
        "banner": "Modo de prueba: Stripe simulado. No se mueve dinero real.",
        "email": "Correo electrónico",
        "card": "Datos de la tarjeta",
        "number": "Número de tarjeta",
        "expiry": "Caducidad (MM / AA)",
        "cvc": "CVC",
        "name": "Nombre en la tarjeta",
        "donate": "Donar",
        "pay": "Pagar",
        "book": "Reservar",
        "subscribe": "Suscribirse",
        "back": "← Volver",
    },
    "ru": {
        "title": "Тестовая оплата Stripe (симулятор)",
        "banner": "Тестовый режим: симуляция Stripe. Настоящие деньги не списываются.",
        "email": "Эл. почта",
        "card": "Данные карты",
        "number": "Номер карты",
        "expiry": "Срок действия (ММ / ГГ)",
        "cvc": "CVC",
        "name": "Имя на карте",
        "donate": "Пожертвовать",
        "pay": "Оплатить",
        "book": "Забронировать",
        "subscribe": "Подписаться",
        "back": "← Назад",
    },
}


def language_of(session: JSON) -> str:
    """The page's language for a session's `locale` ("de", "fr-CA" → "fr"; else "en")."""
    code = (session.get("locale") or "").split("-", 1)[0]
    return code if code in WORDS else "en"


def page(title: str, body: str, status: int = 200, lang: str = "en") -> Response:
    words = WORDS.get(lang, WORDS["en"])
    html = (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f'<p class="banner" role="note">{escape(words["banner"])}</p>'
        f"{body}</main></body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _field(name: str, label: str, value: str = "", error: str | None = None, **attrs: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{escape(val)}"' for key, val in attrs.items())
    described = ""
    if error:
        extra += ' aria-invalid="true"'
        described = ' aria-describedby="error"'
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" value="{escape(value)}"{described}{extra}>'
    )


def _card_fields(form: Any, error_field: str | None, lang: str = "en") -> str:
    def err(field: str) -> str | None:
        return "x" if error_field == field else None

    words = WORDS[lang]
    return (
        f"<fieldset><legend>{escape(words['card'])}</legend>"
        + _field("card_number", words["number"], form.get("card_number", ""), err("number"),
                 inputmode="numeric", autocomplete="cc-number", placeholder="1234 1234 1234 1234")
        + '<div class="row"><div>'
        + _field("card_expiry", words["expiry"], form.get("card_expiry", ""), err("exp"),
                 autocomplete="cc-exp", placeholder="MM / YY")
        + "</div><div>"
        + _field("card_cvc", words["cvc"], form.get("card_cvc", ""), err("cvc"),
                 inputmode="numeric", autocomplete="cc-csc", placeholder="123")
        + "</div></div></fieldset>"
    )  # fmt: skip


def _test_cards() -> str:
    rows = "".join(f"<li><code>{n}</code>: {escape(what)}</li>" for n, what in TEST_CARDS)
    return (
        "<details><summary>Test cards</summary><ul>"
        f'{rows}</ul><p class="muted">Any future expiry and any CVC.</p></details>'
    )


def _error(message: str | None) -> str:
    return f'<div id="error" class="error" role="alert">{escape(message)}</div>' if message else ""


# -- checkout -------------------------------------------------------------------------------


def checkout(sim: Simulator, request: Request, session_id: str) -> Response:
    with sim.lock:
        session = sim.store.get(session_id, "checkout.session")
        if session is None:
            return page("Checkout session not found", "<h1>Checkout session not found</h1>", 404)
        session = flows.snapshot(session)
        items = flows.snapshot(sim.store.line_items.get(session_id, []))
        for item in items:
            # The product's description is shown under the name, as on Stripe's page.
            product = sim.store.get(item["price"]["product"]) or {}
            item["product_description"] = product.get("description")
    if session["status"] != "open":
        return _not_open(session)
    if request.method == "GET":
        return _checkout_form(session, items, {}, None, None)
    form = request.form
    try:
        card = check_card(
            form.get("card_number", ""),
            form.get("card_expiry", ""),
            form.get("card_cvc", ""),
            sim.now(),
        )
        session = flows.complete_checkout(
            sim, session_id, card, form.get("email") or None, form.get("name") or None
        )
    except CardInputError as exc:
        return _checkout_form(session, items, form, str(exc), exc.field, 400)
    except flows.CardDeclined as exc:
        return _checkout_form(session, items, form, exc.message, "number", 402)
    except flows.SessionNotOpen:
        return _not_open(sim.get(session_id) or session)
    except StripeError as exc:
        return _checkout_form(session, items, form, str(exc), None, 400)
    target = flows.success_redirect(session)
    if target:
        return redirect(target, 303)
    return page("Payment complete", "<h1>Thanks!</h1><p>Your payment is complete.</p>")


def _not_open(session: JSON) -> Response:
    if session["status"] == "complete":
        body = "<h1>Already paid</h1><p>This checkout session has already been completed.</p>"
        if session["success_url"]:
            body += f'<p><a href="{escape(flows.success_redirect(session) or "")}">Continue</a></p>'
        return page("Checkout complete", body, 409)
    body = "<h1>This checkout session has expired</h1><p>Start again from the site.</p>"
    if session["cancel_url"]:
        body += f'<p><a href="{escape(session["cancel_url"])}">← Back</a></p>'
    return page("Checkout expired", body, 410)


def _summary(session: JSON, items: list[JSON]) -> str:
    if session["mode"] == "setup":
        return "<h1>Save a card</h1><p>Your card will be saved for future payments.</p>"
    first = items[0]
    recurring = first["price"]["recurring"]
    per = ""
    if recurring:
        count = recurring["interval_count"]
        unit = recurring["interval"]
        per = f' <span class="muted">per {unit if count == 1 else f"{count} {unit}s"}</span>'
    total = format_amount(session["amount_total"], session["currency"])
    names = ", ".join(escape(item["description"]) for item in items)
    details = "".join(
        f"<p>{escape(item['product_description'])}</p>"
        for item in items
        if item.get("product_description")
    )
    return f'<h1>{names}</h1><p class="amount">{escape(total)}{per}</p>{details}'


def _button_label(session: JSON) -> str:
    if session["mode"] == "setup":
        return "Save card"
    words = WORDS[language_of(session)]
    if session["mode"] == "subscription":
        return words["subscribe"]
    submit_type = session["submit_type"]
    verb = words[submit_type] if submit_type in ("donate", "book") else words["pay"]
    return f"{verb} {format_amount(session['amount_total'], session['currency'])}"


def _checkout_form(
    session: JSON,
    items: list[JSON],
    form: Any,
    error: str | None,
    error_field: str | None,
    status: int = 200,
) -> Response:
    lang = language_of(session)
    words = WORDS[lang]
    email = form.get("email") or session["customer_email"] or ""
    back = (
        f'<p><a id="cancel" href="{escape(session["cancel_url"])}">{escape(words["back"])}</a></p>'
        if session["cancel_url"]
        else ""
    )
    body = (
        _summary(session, items)
        + _error(error)
        + '<form method="post" novalidate>'
        + _field("email", words["email"], email, None, type="email", autocomplete="email")
        + _card_fields(form, error_field, lang)
        + _field("name", words["name"], form.get("name", ""), None, autocomplete="cc-name")
        + f'<button id="submit" type="submit">{escape(_button_label(session))}</button></form>'
        + back
        + _test_cards()
    )
    return page(words["title"], body, status, lang)


# -- customer portal ------------------------------------------------------------------------


def portal(sim: Simulator, request: Request, session_id: str) -> Response:
    portal_session = sim.get(session_id)
    if portal_session is None or portal_session.get("object") != "billing_portal.session":
        return page("Portal session not found", "<h1>Portal session not found</h1>", 404)
    customer_id = portal_session["customer"]
    notice = error = error_field = None
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "cancel":
                flows.cancel_at_period_end(sim, form.get("subscription", ""))
                notice = "Your subscription will be canceled at the end of the billing period."
            else:
                card = check_card(
                    form.get("card_number", ""),
                    form.get("card_expiry", ""),
                    form.get("card_cvc", ""),
                    sim.now(),
                )
                flows.replace_card(sim, customer_id, card, form.get("name") or None)
                notice = "Your payment method was updated."
        except CardInputError as exc:
            error, error_field, status = str(exc), exc.field, 400
        except flows.CardDeclined as exc:
            error, error_field, status = exc.message, "number", 402
        except StripeError as exc:
            error, status = str(exc), 400
    return page(
        "Customer portal (Stripe simulator)",
        _portal_body(sim, portal_session, notice, error, error_field),
        status,
    )


def _portal_body(
    sim: Simulator,
    portal_session: JSON,
    notice: str | None,
    error: str | None,
    error_field: str | None,
) -> str:
    customer_id = portal_session["customer"]
    with sim.lock:
        customer = flows.snapshot(sim.store.objects[customer_id])
        subs = flows.snapshot(
            list(
                sim.store.newest_first(
                    "subscription",
                    lambda s: s["customer"] == customer_id and s["status"] != "canceled",
                )
            )
        )
        pm = sim.store.get(customer["invoice_settings"]["default_payment_method"] or "")
        if pm is None and subs:
            pm = sim.store.get(subs[0]["default_payment_method"] or "")
        card = f"{pm['card']['brand'].title()} ending {pm['card']['last4']}" if pm else "none"
    notice_html = f'<div class="notice" role="status">{escape(notice)}</div>' if notice else ""
    back = portal_session["return_url"]
    return (
        "<h1>Manage your payments</h1>"
        f'<p class="muted">{escape(customer["email"] or customer_id)}</p>'
        + notice_html + _error(error)
        + "<h2>Subscriptions</h2>" + (_subscription_list(subs) or "<p>No subscriptions.</p>")
        + f"<h2>Payment method</h2><p>Current card: {escape(card)}</p>"
        + '<form method="post"><input type="hidden" name="action" value="update_card">'
        + _card_fields({}, error_field)
        + _field("name", "Name on card", "", None, autocomplete="cc-name")
        + '<button id="submit" type="submit">Update card</button></form>'
        + (f'<p><a id="return" href="{escape(back)}">← Return to the site</a></p>' if back else "")
        + _test_cards()
    )  # fmt: skip


def _subscription_list(subs: list[JSON]) -> str:
    rows = []
    for sub in subs:
        item = sub["items"]["data"][0]
        price = item["price"]
        amount = format_amount(price["unit_amount"], price["currency"])
        state = sub["status"].replace("_", " ")
        if sub["cancel_at_period_end"]:
            state += ", cancels at period end"
            action = ""
        else:
            action = (
                '<form method="post"><input type="hidden" name="action" value="cancel">'
                f'<input type="hidden" name="subscription" value="{escape(sub["id"])}">'
                f'<button type="submit" aria-label="Cancel subscription {escape(sub["id"])}">'
                "Cancel subscription</button></form>"
            )
        rows.append(
            f"<li>{escape(amount)} per {escape(price['recurring']['interval'])} "
            f"({escape(state)}){action}</li>"
        )
    return f"<ul>{''.join(rows)}</ul>" if rows else ""


# -- receipts and invoices ------------------------------------------------------------------


def receipt(sim: Simulator, charge_id: str) -> Response:
    ch = sim.get(charge_id)
    if ch is None or ch.get("object") != "charge":
        return page("Receipt not found", "<h1>Receipt not found</h1>", 404)
    amount = format_amount(ch["amount"], ch["currency"])
    refunded = format_amount(ch["amount_refunded"], ch["currency"]) if ch["amount_refunded"] else ""
    body = (
        f'<h1>Receipt</h1><p class="amount">{escape(amount)}</p>'
        f"<p>Paid with {escape(ch['payment_method_details']['card']['brand'])} ending "
        f"{escape(ch['payment_method_details']['card']['last4'])}</p>"
        + (f"<p>Refunded: {escape(refunded)}</p>" if refunded else "")
    )
    return page("Receipt (Stripe simulator)", body)


def invoice(sim: Simulator, invoice_id: str) -> Response:
    inv = sim.get(invoice_id)
    if inv is None or inv.get("object") != "invoice":
        return page("Invoice not found", "<h1>Invoice not found</h1>", 404)
    line = inv["lines"]["data"][0]
    body = (
        f"<h1>Invoice {escape(inv['number'] or inv['id'])}</h1>"
        f"<p>{escape(line['description'])}</p>"
        f'<p class="amount">{escape(format_amount(inv["total"], inv["currency"]))}</p>'
        f"<p>Status: {escape(inv['status'])}</p>"
    )
    return page("Invoice (Stripe simulator)", body)
