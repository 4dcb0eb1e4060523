"""An admin closing a campaign on the dashboard also expires its open checkout sessions."""

from __future__ import annotations

from tests.dashboard.conftest import post_form, sign_in_session
from tests.helpers import donate, session_id_from


def test_admin_closing_a_campaign_expires_its_open_checkouts(
    app, client, campaign, stripe_sim, staff_of
):
    session_id = session_id_from(donate(client, campaign, amount="25"))
    admin_client = app.test_client()
    sign_in_session(admin_client, staff_of("admin"))
    response = post_form(admin_client, f"/staff/campaigns/{campaign}/close", {}, "/staff/campaigns")
    assert response.status_code == 302
    assert stripe_sim.sim.get(session_id)["status"] == "expired"
