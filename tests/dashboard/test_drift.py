"""The drift page: staff see what Stripe has and our books miss, and an admin repairs it."""

from __future__ import annotations

from tests.dashboard.conftest import post_form
from tests.helpers import donate, pay, session_id_from


def test_drift_page_shows_a_lost_payment_and_reconcile_repairs_it(
    app, client, campaign, stripe_sim, staff_client
):
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="25")))
    stripe_sim.sim.faults.reset()
    admin = staff_client("admin")
    page = admin.get("/staff/drift").get_data(as_text=True)
    assert "missing from the ledger (1)" in page and "€25.00" in page
    response = post_form(admin, "/staff/drift/reconcile", {}, token_from="/staff/drift")
    assert response.status_code == 302
    page = admin.get("/staff/drift").get_data(as_text=True)
    assert "No drift" in page and "Reconcile finished: 5 missed events" in page
    audit = admin.get("/staff/audit?action=staff.reconcile").get_data(as_text=True)
    assert "staff.reconcile" in audit


def test_viewers_see_drift_but_cannot_run_reconcile(app, campaign, stripe_sim, staff_client):
    viewer = staff_client("viewer")
    page = viewer.get("/staff/drift").get_data(as_text=True)
    assert "Last successful run: never" in page
    assert "Reconcile the last 30 days now" not in page
