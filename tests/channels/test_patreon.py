"""Patreon: signed member webhooks mirror pledges and book each Paid charge once; sync."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import Pledge
from tests.channels.conftest import rows


def _post(client, sim, event: str, member: dict, signature: str | None = "good", body=None):
    body = body if body is not None else sim.document(member)
    headers = {"X-Patreon-Event": event}
    if signature == "good":
        headers["X-Patreon-Signature"] = sim.sign(body)
    elif signature is not None:
        headers["X-Patreon-Signature"] = signature
    return client.post(
        "/patreon/webhook", data=body, headers=headers, content_type="application/json"
    )


def test_signature_good_bad_missing_and_replayed(app, client, campaign, patreon):
    sim = patreon.sim
    member = sim.add_member("pat@example.org", "Pat Ron", 500, send=False)
    assert (
        _post(client, sim, "members:pledge:create", member, signature="0" * 32).status_code == 400
    )
    assert _post(client, sim, "members:pledge:create", member, signature=None).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Pledge)) is None
    assert _post(client, sim, "members:pledge:create", member).status_code == 200
    [charged] = sim.charge_all(send=False)
    for _ in range(3):  # the same charge announced again and again
        assert _post(client, sim, "members:update", charged).status_code == 200
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.channel, pledge.status, pledge.amount_minor) == ("patreon", "active", 500)
        [entry] = rows("patreon")
        assert (entry.amount_minor, entry.currency, entry.frequency) == (500, "EUR", "monthly")
        assert entry.pledge_id == pledge.id and entry.donor_email == "pat@example.org"
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_channel"] == {"patreon": {"EUR": 500}} and totals["supporters"] == 1


@pytest.mark.parametrize("order", list(itertools.permutations(["create", "update", "delete"])))
def test_pledge_create_update_delete_in_any_order(app, client, campaign, patreon, order):
    sim = patreon.sim
    member = sim.add_member("any@example.org", "Any Order", 700, send=False)
    created = json.loads(json.dumps(member))
    [updated] = sim.charge_all(send=False)
    deleted = json.loads(json.dumps(updated))
    deleted["attributes"]["patron_status"] = "former_patron"
    messages = {
        "create": ("members:pledge:create", created),
        "update": ("members:pledge:update", json.loads(json.dumps(updated))),
        "delete": ("members:pledge:delete", deleted),
    }
    for name in order:
        event, document = messages[name]
        assert _post(client, sim, event, document).status_code == 200
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert pledge.status == "cancelled"
        assert [e.amount_minor for e in rows("patreon")] == [700]  # the charge, once


def test_hostile_webhook_bodies_are_refused_not_crashed(app, client, campaign, patreon):
    sim = patreon.sim
    for body in (b"not json", b"[]", b'{"data": {"type": "member"}}', b"\xff" * 1000,
                 b'{"data": {"type": "member", "id": "x", "attributes": {'
                 b'"currently_entitled_amount_cents": "lots"}}}'):  # fmt: skip
        response = _post(client, sim, "members:update", {}, body=body)
        assert response.status_code == 400
    unknown = _post(client, sim, "posts:publish", {}, body=b"{}")
    assert unknown.status_code == 200
    with app.app_context():
        assert rows() == [] and db.session.scalar(select(Pledge)) is None


def test_sync_pages_through_members_and_waits_out_rate_limits(app, runner, campaign, patreon):
    sim = patreon.sim
    sim.page_size = 7
    for n in range(20):
        sim.add_member(f"p{n}@example.org", f"Patron {n}", 300 + n, send=False)
    sim.charge_all(send=False)
    sim.rate_limit_next = 2
    result = runner.invoke(args=["patreon", "sync"])
    assert result.exit_code == 0, result.output
    assert "Members: 20" in result.output and "Payments booked: 20" in result.output
    assert "drift" not in result.output
    assert sim.rate_limit_next == 0  # both 429s were answered, and waited out
    again = runner.invoke(args=["patreon", "sync"])
    assert "Payments booked: 0" in again.output
    with app.app_context():
        assert len(rows("patreon")) == 20
        assert db.session.scalar(select(Pledge).where(Pledge.email == "p3@example.org")).status == (
            "active"
        )
    # Patreon says a member gave more than we booked (a charge we never heard of): drift.
    first = next(iter(sim.members.values()))
    first["attributes"]["lifetime_support_cents"] += 300
    drifted = runner.invoke(args=["patreon", "sync"])
    assert "drift: Patron 0" in drifted.output


def test_sync_says_why_when_patreon_refuses(app, runner, campaign, patreon):
    app.config["PATREON_ACCESS_TOKEN"] = "wrong"
    result = runner.invoke(args=["patreon", "sync"])
    assert result.exit_code == 1 and "401" in result.output


EXPORT_HEADER = (
    "Name,Email,Twitter,Discord,Patron Status,Follows You,Lifetime Amount,Pledge Amount,"
    "Charge Frequency,Tier,Addressee,Street,City,State,Zip,Country,Phone,Patronage Since Date,"
    "Last Charge Date,Last Charge Status,Additional Details,User ID,Last Updated,Currency,"
    "Max Posts,Access Expiration,Next Charge Date"
)


def test_members_export_and_webhook_count_a_charge_once(app, client, runner, campaign, patreon,
                                                        tmp_path):  # fmt: skip
    sim = patreon.sim
    member = sim.add_member("exp@example.org", "Ex Port", 900, send=False)
    [charged] = sim.charge_all(send=False)
    user_id = member["relationships"]["user"]["data"]["id"]
    charge_date = charged["attributes"]["last_charge_date"][:19].replace("T", " ")
    lines = [
        EXPORT_HEADER,
        f"Ex Port,exp@example.org,,,Active patron,No,9.00,9.00,monthly,Tier,,,,,,,,2026-01-01,"
        f"{charge_date},Paid,,{user_id},,EUR,,,",
        "Old Friend,old@example.org,,,Former patron,No,50.00,5.00,monthly,Tier,,,,,,,,2025-01-01,"
        "2026-02-01 08:00:00,Paid,,U-OLD,,EUR,,,",
        "Declined,dec@example.org,,,Declined patron,No,0.00,5.00,monthly,Tier,,,,,,,,2026-01-01,"
        "2026-11-01 08:00:00,Declined,,U-DEC,,EUR,,,",
    ]
    path = tmp_path / "members.csv"
    path.write_text("\n".join(lines) + "\n")
    assert _post(client, sim, "members:update", charged).status_code == 200
    result = runner.invoke(args=["ledger", "import", "patreon", str(path)])
    assert result.exit_code == 0, result.output
    assert "Members: 3" in result.output and "Payments booked: 1" in result.output  # Old Friend
    with app.app_context():
        assert sorted(e.amount_minor for e in rows("patreon")) == [500, 900]
        statuses = {p.email: p.status for p in db.session.scalars(select(Pledge))}
        assert statuses == {
            "exp@example.org": "active",
            "old@example.org": "cancelled",
            "dec@example.org": "past_due",
        }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        EXPORT_HEADER
        + "\nX,x@example.org,,,Active patron,No,1,lots,monthly"
        + ",," * 9
        + "U-X,,EUR,,,\n"
    )
    refused = runner.invoke(args=["ledger", "import", "patreon", str(bad)])
    assert refused.exit_code == 1 and "line 2" in refused.output
