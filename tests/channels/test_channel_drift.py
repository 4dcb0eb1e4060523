"""Reconcile covers every channel: IPN messages not counted are kept (never booked), PayPal
rows only the activity CSV announced, and patrons whose lifetime at Patreon differs."""

from __future__ import annotations

import io

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import ChannelNotice, Pledge
from fundraiser.payments.channel_notices import RAW_KEEP_CHARS
from fundraiser.payments.drift import drift_report
from tests.channels.activity_csv import activity_csv, row
from tests.channels.conftest import post_ipn, rows
from tests.channels.test_patreon import _post
from tests.dashboard.conftest import csrf_token, staff_client, staff_of  # noqa: F401


def _notices(outcome: str | None = None) -> list[ChannelNotice]:
    db.session.rollback()
    query = select(ChannelNotice).order_by(ChannelNotice.id)
    if outcome:
        query = query.where(ChannelNotice.outcome == outcome)
    return list(db.session.scalars(query))


def test_refused_ipns_are_kept_for_reconcile_and_never_booked(
    app,
    client,
    campaign,
    paypal,
    staff_client,  # noqa: F811
):
    forged = paypal.sim.donation("99.00", campaign=campaign, txn_id="FORGED0000000001")
    forged["memo"] = "x" * 20_000  # a long message is kept cut short
    assert post_ipn(client, paypal.sim.encode(forged)).status_code == 200
    other = paypal.sim.donation("20.00", campaign=campaign, txn_id="OTHERACCOUNT0001")
    paypal.sim.send({**other, "receiver_email": "else@else.test", "business": "else@else.test"})
    odd = paypal.sim.donation("5.00", campaign=campaign, txn_id="BADCURRENCY00001")
    paypal.sim.send({**odd, "mc_currency": "EURO"})
    with app.app_context():
        assert rows() == []
        kept = {n.outcome: n for n in _notices()}
        assert set(kept) == {"unverified", "not_ours", "unreadable"}
        assert kept["unverified"].external_id == "FORGED0000000001"
        assert len(kept["unverified"].raw) == RAW_KEEP_CHARS
        assert kept["unverified"].raw.startswith("charset=")
        assert "else@else.test" in kept["not_ours"].reason
        assert "EURO" in kept["unreadable"].reason
        report = drift_report()
        assert [n.external_id for n in report.refused_ipns] == [
            "BADCURRENCY00001",
            "OTHERACCOUNT0001",
            "FORGED0000000001",
        ]
        assert not report.channels_clean
    page = staff_client("viewer").get("/staff/drift").get_data(as_text=True)
    assert "IPN messages not counted (3)" in page
    assert "FORGED0000000001" in page and "Not verified" in page and "Another account" in page


def test_a_verified_ipn_is_noted_as_seen_once_counted(app, campaign, paypal):
    message = paypal.sim.donation("8.00", campaign=campaign)
    paypal.sim.send(message)
    paypal.sim.send({**message, "ipn_track_id": "again"})
    with app.app_context():
        assert [e.external_id for e in rows("paypal")] == [message["txn_id"]]
        assert {n.external_id for n in _notices("verified")} == {message["txn_id"]}
        assert _notices("unverified") == []
        report = drift_report()
        assert report.paypal_without_ipn == [] and report.channels_clean


def test_csv_rows_no_ipn_confirmed_show_until_the_ipn_comes(
    app,
    campaign,
    paypal,
    staff_client,  # noqa: F811
):
    client = staff_client("staff")
    data = activity_csv(
        [row("CSVONLY000000001", "Donation Payment", "12.00"),
         row("CSVTHENIPN000001", "Donation Payment", "30.00")]
    )  # fmt: skip
    token = csrf_token(client, "/staff/channels")
    imported = client.post(
        "/staff/channels/paypal-import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "Download.CSV")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200
    with app.app_context():
        found = sorted(e.external_id for e in drift_report().paypal_without_ipn)
        assert found == ["CSVONLY000000001", "CSVTHENIPN000001"]
    # PayPal's notification for one of them comes later: counted once, and now confirmed.
    paypal.sim.send(paypal.sim.donation("30.00", campaign=campaign, txn_id="CSVTHENIPN000001"))
    with app.app_context():
        assert len(rows("paypal")) == 2
        assert [e.external_id for e in drift_report().paypal_without_ipn] == ["CSVONLY000000001"]
    page = client.get("/staff/drift").get_data(as_text=True)
    assert "PayPal rows no IPN confirmed (1)" in page and "CSVONLY000000001" in page


def test_patrons_whose_lifetime_at_patreon_differs_from_our_books(
    app,
    client,
    runner,
    campaign,
    patreon,
    staff_client,  # noqa: F811
):
    sim = patreon.sim
    member = sim.add_member("life@example.org", "Life Time", 500, send=False)
    [charged] = sim.charge_all(send=False)
    assert charged["attributes"]["lifetime_support_cents"] == 500
    assert _post(client, sim, "members:update", charged).status_code == 200
    with app.app_context():
        assert drift_report().patreon_out_of_step == []
    # Patreon charged twice more while our webhooks were lost: it says 1500, we hold 500.
    sim.charge_all(send=False)
    [again] = sim.charge_all(send=False)
    missed = {**again, "attributes": {**again["attributes"], "last_charge_status": "Pending"}}
    assert _post(client, sim, "members:update", missed).status_code == 200
    late = {**member, "attributes": {**member["attributes"], "lifetime_support_cents": 0}}
    assert _post(client, sim, "members:update", late).status_code == 200  # a late, older event
    with app.app_context():
        [(pledge, theirs, ours)] = drift_report().patreon_out_of_step
        assert (pledge.email, theirs, ours) == ("life@example.org", 1500, 500)
    page = staff_client("viewer").get("/staff/drift").get_data(as_text=True)
    assert "Patrons out of step with Patreon (1)" in page and "€15.00" in page
    # The sync reads Patreon afresh: its figure stands (the missed charges stay missed).
    sim.members[member["id"]]["attributes"]["lifetime_support_cents"] = 500
    assert runner.invoke(args=["patreon", "sync"]).exit_code == 0
    with app.app_context():
        assert drift_report().patreon_out_of_step == []
        assert db.session.scalar(select(Pledge)).reported_lifetime_minor == 500
