"""A reader double-clicks Donate in a real browser: the page's nonce makes it one checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent

pytestmark = pytest.mark.browser


def test_a_double_click_on_donate_opens_one_checkout(
    app, desktop, campaign, live_server, stripe_sim
):
    page = desktop.page
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.goto(f"{live_server.url}/campaigns/{campaign}")
    nonce = page.input_value("input[name=submission_nonce]")
    assert len(nonce) >= 22  # made by the script; the cached page carries none
    page.locator("label[for=amount-25]").click()
    page.locator("button.donate-button").dblclick()
    page.wait_for_url("**/c/pay/**")
    assert posts and all(f"submission_nonce={nonce}" in (r.post_data or "") for r in posts)
    with app.app_context():
        assert db.session.scalar(select(func.count(DonationIntent.id))) == 1
    assert len(stripe_sim.sim.objects("checkout.session")) == 1
