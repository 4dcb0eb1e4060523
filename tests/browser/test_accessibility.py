"""axe-core finds no serious or critical problem on any page a reader, supporter or staff uses;
and the donation panel works with the keyboard alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from tests.accounts.conftest import add_pledge, make_supporter
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401 - same browser as the other tests
from tests.conftest import REPO_ROOT
from tests.dashboard.conftest import sign_in_session
from tests.dashboard.factories import make_staff, payment
from tests.helpers import donate, pay, session_id_from, signed_in_session

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

AXE = REPO_ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

# One line per page: (name, who is signed in, path with {placeholders} from seeded data).
PAGES = [
    ("landing", "anyone", "/"),
    ("landing-de", "anyone", "/de/"),
    ("landing-fr", "anyone", "/fr/"),
    ("landing-es", "anyone", "/es/"),
    ("landing-ru", "anyone", "/ru/"),
    ("settings-de", "supporter", "/de/account/settings"),
    ("embed", "anyone", "/embed/{slug}"),
    ("campaign", "anyone", "/campaigns/{slug}"),
    ("not-found", "anyone", "/no-such-page"),
    ("register", "anyone", "/account/register"),
    ("login", "anyone", "/account/login"),
    ("reset", "anyone", "/account/reset"),
    ("sign-in-link", "anyone", "/account/sign-in-link"),
    ("check-email", "anyone", "/account/check-email/register"),
    ("bad-link", "anyone", "/account/verify/not-a-token"),
    ("account", "supporter", "/account"),
    ("settings", "supporter", "/account/settings"),
    ("pledge", "supporter", "/account/pledges/{pledge_id}"),
    ("receipt", "supporter", "/account/receipts/{entry_id}"),
    ("statement", "supporter", "/account/statements/{year}"),
    ("delete-account", "supporter", "/account/delete"),
    ("staff-login", "anyone", "/staff/login"),
    ("staff-home", "staff", "/staff/"),
    ("staff-donations", "staff", "/staff/donations"),
    ("staff-donation", "staff", "/staff/donations/{payment_ref}"),
    ("staff-supporters", "staff", "/staff/supporters"),
    ("staff-supporter", "staff", "/staff/supporters/{email}"),
    ("staff-campaigns", "staff", "/staff/campaigns"),
    ("staff-campaign", "staff", "/staff/campaigns/{slug}"),
    ("staff-campaign-new", "staff", "/staff/campaigns/new"),
    ("staff-campaign-edit", "staff", "/staff/campaigns/{slug}/edit"),
    ("staff-bookkeeping", "staff", "/staff/bookkeeping"),
    ("staff-team", "staff", "/staff/team"),
    ("staff-audit", "staff", "/staff/audit"),
    ("staff-account", "staff", "/staff/account"),
    ("staff-drift", "staff", "/staff/drift"),
    ("staff-channels", "staff", "/staff/channels"),
    ("staff-messages", "staff", "/staff/messages"),
]


@dataclass
class People:
    values: dict
    cookies: dict  # who -> session cookie value


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make install-test` runs npm ci in tests/a11y")
    return AXE.read_text()


@pytest.fixture
def people(app, campaign) -> People:
    return make_people(app, campaign)


def make_people(app, campaign) -> People:
    """A supporter with a pledge and a gift, an admin, and signed-in session cookies for each."""
    with app.app_context():
        supporter = make_supporter("reader@example.org", name="Reader")
        pledge = add_pledge(campaign, supporter.email, supporter_id=supporter.id)
        gift = payment(campaign_by_slug(campaign), 2500, email=supporter.email)
        staff = make_staff("admin")
        values = {
            "slug": campaign,
            "pledge_id": pledge.id,
            "entry_id": gift.id,
            "payment_ref": gift.payment_ref,
            "email": supporter.email,
            "year": datetime.now(UTC).year,
        }
        supporter_login = (supporter.id, supporter.session_version)
    cookies = {}
    reader = app.test_client()
    signed_in_session(reader, *supporter_login)
    cookies["supporter"] = reader.get_cookie("session").value
    admin = app.test_client()
    sign_in_session(admin, staff)
    cookies["staff"] = admin.get_cookie("session").value
    return People(values, cookies)


def open_page(browser, live_server, who: str, people: People | None = None):
    # bypass_csp lets axe's script in; the pages' own CSP is checked in tests/security.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    if who != "anyone":
        context.add_cookies(
            [{"name": "session", "value": people.cookies[who], "url": live_server.url}]
        )
    return context.new_page()


def blocking_violations(page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {node['target']}: {node['html'][:160]} — "
        + " ".join(node.get("failureSummary", "").split())[:300]
        for v in result["violations"]
        if v["impact"] in BLOCKING
        for node in v["nodes"][:3]
    ]


def existing_path(app, path: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except Exception as exc:  # noqa: BLE001 - NotFound, or a redirect for a missing slash
        return "RequestRedirect" in type(exc).__name__
    return True


@pytest.mark.parametrize(("name", "who", "template"), PAGES, ids=[p[0] for p in PAGES])
def test_page_has_no_serious_accessibility_problems(
    app, browser, live_server, people, axe_source, name, who, template
):
    path = template.format(**people.values)
    if name != "not-found" and not existing_path(app, path):
        pytest.skip(f"{path} is not built yet")
    page = open_page(browser, live_server, who, people)
    try:
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response.status < 500
        if who != "anyone":
            assert "/login" not in page.url, f"{who} was not signed in for {path}"
        assert blocking_violations(page, axe_source) == []
    finally:
        page.context.close()


def test_donation_form_with_errors_has_no_serious_accessibility_problems(
    browser, live_server, campaign, axe_source
):
    page = open_page(browser, live_server, "anyone")
    try:
        page.goto(f"{live_server.url}/", wait_until="networkidle")
        page.check("#amount-other", force=True)
        page.fill("#amount_other", "0.01")
        page.fill("#email", "not an email")
        page.click(".donate-button")
        page.wait_for_load_state("networkidle")
        assert page.locator("[aria-invalid=true]").count() >= 1, "the errors were not shown"
        assert blocking_violations(page, axe_source) == []
    finally:
        page.context.close()


def test_thank_you_and_cancelled_pages_have_no_serious_accessibility_problems(
    app, client, browser, live_server, campaign, stripe_sim, axe_source
):
    paid = session_id_from(donate(client, campaign, amount="10"))
    pay(stripe_sim, paid)
    donate(client, campaign, amount="15")
    with app.app_context():
        unpaid = db.session.scalars(
            select(DonationIntent).where(DonationIntent.amount_minor == 1500)
        ).one()
        public_id = unpaid.public_id
    for path in (f"/donate/thanks?session_id={paid}", f"/donate/cancelled?intent={public_id}"):
        page = open_page(browser, live_server, "anyone")
        try:
            response = page.goto(f"{live_server.url}{path}", wait_until="load")
            assert response.status == 200, path
            assert blocking_violations(page, axe_source) == [], path
        finally:
            page.context.close()


def focused(page) -> dict:
    return page.evaluate(
        """() => { const el = document.activeElement;
                   return {name: el.name || "", value: el.value || "", checked: !!el.checked}; }"""
    )


def tab_to(page, name: str, limit: int = 60) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = focused(page)
        if state["name"] == name:
            return state
    raise AssertionError(f"Tab never reached {name}")


def test_a_keyboard_user_gives_a_custom_amount(app, browser, live_server, campaign, stripe_sim):
    """Tab to the amounts, arrows and Space to pick "Other", type the amount, Enter to give."""
    page = open_page(browser, live_server, "anyone")
    try:
        page.goto(f"{live_server.url}/", wait_until="networkidle")
        tab_to(page, "amount")
        for _ in range(10):
            if focused(page)["value"] == "other":
                break
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")
        state = focused(page)
        assert state == {"name": "amount", "value": "other", "checked": True}
        tab_to(page, "amount_other", limit=3)
        page.keyboard.type("12.50")
        with page.expect_navigation(url="**/c/pay/**"):
            page.keyboard.press("Enter")
    finally:
        page.context.close()
    with app.app_context():
        intent = db.session.scalars(select(DonationIntent)).one()
        assert (intent.amount_minor, intent.currency) == (1250, "EUR")
