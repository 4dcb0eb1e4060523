"""Stripe Checkout opens in the reader's language: the session is made with `locale`."""

from __future__ import annotations

import urllib.request

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from tests.helpers import ORIGIN, pay, session_id_from, stripe_client


def _donate(client, path: str, campaign: str, amount: str = "25", **fields):
    form = {"campaign": campaign, "amount": amount, "currency": "EUR", "frequency": "one-time"}
    return client.post(path, data={**form, **fields}, headers=ORIGIN)


def _checkout_page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the simulator, loopback
        return response.read().decode()


@pytest.mark.parametrize(
    ("path", "locale", "words"),
    [
        ("/de/donate", "de", ("Kartennummer", "Spenden")),
        ("/fr/donate", "fr", ("Numéro de carte", "Faire un don de")),
        ("/ru/donate", "ru", ("Номер карты", "Пожертвовать")),
        ("/donate", "en", ("Card number", "Donate")),
    ],
)
def test_checkout_session_is_created_with_the_readers_locale(
    app, client, campaign, stripe_sim, path, locale, words
):
    response = _donate(client, path, campaign)
    assert response.status_code == 303
    session_id = session_id_from(response)
    # Read back through the real stripe library, as Stripe would keep it.
    session = stripe_client(stripe_sim).v1.checkout.sessions.retrieve(session_id)
    assert session.locale == locale
    prefix = "" if locale == "en" else f"/{locale}"
    assert session.success_url.endswith(
        f"{prefix}/donate/thanks?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert f"{prefix}/donate/cancelled?intent=" in session.cancel_url
    with app.app_context():
        intent = db.session.scalar(select(DonationIntent))
        assert intent.language == locale
        db.session.rollback()
    page = _checkout_page(response.headers["Location"])
    assert f'<html lang="{locale}">' in page
    for word in words:
        assert word in page


def test_german_reader_comes_back_to_german_pages(app, client, campaign, stripe_sim):
    session_id = session_id_from(_donate(client, "/de/donate", campaign, amount="other",
                                         amount_other="12,50"))  # fmt: skip
    result = pay(stripe_sim, session_id)
    assert "/de/donate/thanks?session_id=" in result["redirect_url"]
    thanks = client.get(f"/de/donate/thanks?session_id={session_id}")
    assert thanks.status_code == 200
    markup = thanks.get_data(as_text=True)
    assert '<html lang="de">' in markup and "12,50\u00a0€" in markup


def test_simulator_refuses_an_unknown_locale(stripe_sim):
    import stripe

    with pytest.raises(stripe.InvalidRequestError, match="locale"):
        stripe_client(stripe_sim).v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": "http://127.0.0.1/ok",
                "locale": "xx",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 500,
                            "product_data": {"name": "Gift"},
                        },
                        "quantity": 1,
                    }
                ],
            }
        )
