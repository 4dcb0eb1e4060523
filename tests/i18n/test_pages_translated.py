"""Each shipped language renders every supporter page with no untranslated source string:
the page is opened at its /<lang>/ address and every text a reader meets is compared with the
catalogue — an English source string shown where the catalogue has other words fails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.messages.catalog import Catalog

from fundraiser.accounts import giving
from fundraiser.donations.abuse import Thresholds
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, utcnow
from tests.accounts.conftest import add_pledge, csrf_token, make_supporter, pdf_text
from tests.factories import add_payment
from tests.helpers import ORIGIN, donate, pay, session_id_from, signed_in_session
from tests.i18n.catalogues import SHIPPED, extract_source, read_catalogue, untranslated_on_page

#: Friction for the second small post from one address: the challenge page, quickly.
STRICT = Thresholds(per_address=1, small_per_address=1, declines_per_address=1, per_network=50,
                    small_per_network=50, declines_per_network=50, small_minor=300, declines=50,
                    decline_networks=50, difficulty=8, max_extra_difficulty=0)  # fmt: skip
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def form_of(markup: str) -> tuple[str, dict]:
    """The donation form on a page: where it posts and its hidden fields (as a browser sends)."""
    form = re.search(r'<form class="donate-form[^"]*" method="post" action="([^"]+)"(.*?)</form>',
                     markup, re.S)  # fmt: skip
    assert form, "no donation form on the page"
    return form.group(1), dict(HIDDEN_RE.findall(form.group(2)))


def require_language_addresses(client, language: str) -> None:
    assert client.get(f"/{language}/").status_code == 200, f"/{language}/ is not served"


def public_pages(app, client, campaign, stripe_sim, language: str) -> dict[str, str]:
    """Every page a reader meets without an account, as served at the language's addresses."""
    lang = f"/{language}"
    pages = {}
    landing = client.get(f"{lang}/")
    pages["landing"] = landing.get_data(as_text=True)
    pages["campaign"] = client.get(f"{lang}/campaigns/{campaign}").get_data(as_text=True)
    pages["embed"] = client.get(f"{lang}/embed/{campaign}").get_data(as_text=True)
    action, hidden = form_of(pages["landing"])
    wrong = {**hidden, "amount": "other", "amount_other": "0.10", "currency": "EUR",
             "frequency": "one-time", "email": "not an address"}  # fmt: skip
    refused = client.post(action, data=wrong, headers=ORIGIN)
    assert refused.status_code == 400
    pages["donate form with errors"] = refused.get_data(as_text=True)
    unknown = client.post(action, data={**wrong, "campaign": "no-such-campaign"}, headers=ORIGIN)
    assert unknown.status_code == 400
    pages["error 400"] = unknown.get_data(as_text=True)
    missing = client.get(f"{lang}/no-such-page")
    assert missing.status_code == 404
    pages["error 404"] = missing.get_data(as_text=True)

    paid = session_id_from(donate(client, campaign, amount="10", email="reader@example.org"))
    pay(stripe_sim, paid)
    thanks = client.get(f"{lang}/donate/thanks?session_id={paid}")
    assert thanks.status_code == 200
    pages["thanks"] = thanks.get_data(as_text=True)
    donate(client, campaign, amount="30", frequency="monthly", email="later@example.org")
    with app.app_context():
        left = db.session.scalars(
            db.select(DonationIntent).filter_by(email="later@example.org")
        ).one()
        public_id = left.public_id
    cancelled = client.get(f"{lang}/donate/cancelled?intent={public_id}")
    assert cancelled.status_code == 200
    pages["cancelled"] = cancelled.get_data(as_text=True)

    pages["register"] = client.get(f"{lang}/account/register").get_data(as_text=True)
    login_page = client.get(f"{lang}/account/login").get_data(as_text=True)
    pages["login"] = login_page
    failed = client.post(
        f"{lang}/account/login",
        data={
            "csrf_token": csrf_token(login_page),
            "email": "nobody@example.org",
            "password": "not the password",
        },  # fmt: skip
    )
    pages["login with an error"] = failed.get_data(as_text=True)
    pages["reset request"] = client.get(f"{lang}/account/reset").get_data(as_text=True)
    pages["sign-in link request"] = client.get(f"{lang}/account/sign-in-link").get_data(
        as_text=True
    )
    pages["check your email"] = client.get(f"{lang}/account/check-email/register").get_data(
        as_text=True
    )
    return pages


def challenge_page(app, client, action: str, hidden: dict) -> str:
    original = app.config.get("ABUSE_THRESHOLDS")
    app.config["ABUSE_THRESHOLDS"] = STRICT
    try:
        return _challenged(client, action, hidden)
    finally:
        app.config["ABUSE_THRESHOLDS"] = original


def _challenged(client, action: str, hidden: dict) -> str:
    small = {**hidden, "amount": "other", "amount_other": "1", "currency": "EUR",
             "frequency": "one-time"}  # fmt: skip
    for _ in range(6):
        response = client.post(
            action, data=small, headers=ORIGIN, environ_base={"REMOTE_ADDR": "203.0.113.66"}
        )
        markup = response.get_data(as_text=True)
        if response.status_code == 200 and 'name="pow_challenge"' in markup:
            return markup
    raise AssertionError("the challenge never came")


def account_pages(app, client, campaign, language: str) -> dict[str, str]:
    """A signed-in supporter's pages: overview, settings, a pledge, a receipt, a statement."""
    lang = f"/{language}"
    with app.app_context():
        supporter = make_supporter("ana@example.org", name="Ana")
        entry = add_payment(campaign, 2500, email="ana@example.org")
        add_payment(campaign, 1000, email="ana@example.org", frequency="monthly")
        pledge = add_pledge(campaign, "ana@example.org", amount_minor=1000)
        paused = add_pledge(campaign, "ana@example.org", amount_minor=2000, status="paused")
        paused.paused_until = utcnow() + timedelta(days=40)
        giving.link_donations(supporter)
        db.session.commit()
        ids = (supporter.id, supporter.session_version, entry.id, pledge.id, paused.id)
        year = giving.local_date(entry.occurred_at).year
    supporter_id, version, entry_id, pledge_id, paused_id = ids
    signed_in_session(client, supporter_id, version)
    wanted = {
        "overview": f"{lang}/account",
        "settings": f"{lang}/account/settings",
        "pledge": f"{lang}/account/pledges/{pledge_id}",
        "paused pledge": f"{lang}/account/pledges/{paused_id}",
        "card": f"{lang}/account/pledges/{pledge_id}/card",
        "receipt": f"{lang}/account/receipts/{entry_id}",
        "statement": f"{lang}/account/statements/{year}",
        "delete": f"{lang}/account/delete",
    }
    pages = {}
    for name, path in wanted.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        pages[name] = response.get_data(as_text=True)
    out_of_range = client.get(f"{lang}/account/statements/1900")
    assert out_of_range.status_code == 400
    pages["error 400 (statement year)"] = out_of_range.get_data(as_text=True)
    pdf = client.get(f"{lang}/account/statements/{year}.pdf")
    assert pdf.status_code == 200
    lines = pdf_text(pdf.data).splitlines()
    pages["statement PDF"] = "".join(f"<p>{line}</p>" for line in lines)
    return pages


@pytest.mark.parametrize("language", SHIPPED)
def test_every_supporter_page_is_in_the_language(app, client, campaign, stripe_sim, language):
    require_language_addresses(client, language)
    catalog, source = read_catalogue(language), extract_source()
    pages = public_pages(app, client, campaign, stripe_sim, language)
    action, hidden = form_of(pages["landing"])
    pages["challenge"] = challenge_page(app, client, action, hidden)
    pages.update(account_pages(app, app.test_client(), campaign, language))
    untranslated = {
        name: found
        for name, markup in pages.items()
        if (found := untranslated_on_page(markup, language, catalog, source))
    }
    assert untranslated == {}


def test_the_comparison_finds_english_left_on_a_translated_page():
    """The check above can fail: whole strings, sentences with values or markup inside, and
    attributes a reader meets are caught; content marked as English, and words the catalogue
    translates the same way, are not."""
    catalog = Catalog(locale="de")
    catalog.add("Donate securely", "Sicher spenden")
    catalog.add("Sign in", "")  # not translated yet: English shown is a finding
    catalog.add("Back to the article", "Zurück zum Artikel", flags=["fuzzy"])  # not used either
    catalog.add("Name", "Name")  # the same in both: never a finding
    catalog.add("Progress towards the goal", "Fortschritt zum Ziel")
    catalog.add("Including %(fee)s to cover card fees, so all of your %(amount)s reaches the "
                "campaign.", "Inklusive %(fee)s für die Kartengebühren.")  # fmt: skip
    catalog.add("Your payment has been received and a receipt is on its way to "
                "<strong>%(email)s</strong>.", "Ihre Zahlung ist eingegangen.")  # fmt: skip
    catalog.add(("supporter", "supporters"), ("Unterstützer", "Unterstützer"))
    translated = (
        '<html lang="de"><body><button>Sicher spenden</button><label>Name</label>'
        '<progress aria-label="Fortschritt zum Ziel"></progress><span>3 Unterstützer</span>'
        '<p lang="en">Donate securely</p><article class="article-body"><p>Donate securely</p>'
        "</article><script>var s = 'Donate securely';</script></body></html>"
    )
    assert untranslated_on_page(translated, "de", catalog) == []
    english = (
        '<html lang="de"><body><button> Donate securely </button><a>Sign in</a>'
        "<a>Back to the article</a>"
        '<progress aria-label="Progress towards the goal"></progress>'
        "<p>Including €0.63 to cover card fees, so all of your €25 reaches the campaign.</p>"
        "<p>Your payment has been received and a receipt is on its way to <strong>a@b.org"
        "</strong>.</p><span>supporters</span></body></html>"
    )
    assert sorted(untranslated_on_page(english, "de", catalog)) == sorted(
        [
            "Donate securely",
            "Sign in",
            "Back to the article",
            "Progress towards the goal",
            "Including %(fee)s to cover card fees, so all of your %(amount)s reaches the campaign.",
            "Your payment has been received and a receipt is on its way to %(email)s .",
            "supporters",
        ]
    )
