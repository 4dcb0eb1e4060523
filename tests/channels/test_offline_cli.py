"""`flask ledger record-offline` and `reverse-offline`: staff-recorded gifts, never edited."""

from __future__ import annotations

import json

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry
from tests.channels.conftest import rows
from tests.dashboard.factories import make_staff


def _staff(app, role: str) -> str:
    with app.app_context():
        return make_staff(role).email


def test_staff_record_an_offline_gift_that_counts_like_any_other(app, client, runner, campaign):
    by = _staff(app, "staff")
    result = runner.invoke(
        args=["ledger", "record-offline", "--by", by, "--campaign", campaign, "--amount",
              "40", "--date", "2026-11-20", "--method", "cheque", "--name", "Ann Reader",
              "--email", "Ann@Example.org", "--reference", "CHQ-000123", "--note", "AGM"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CHQ-000123" in result.output
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_channel"] == {"offline": {"EUR": 4000}}
    assert totals["supporters"] == 1
    with app.app_context():
        [entry] = rows("offline")
        assert (entry.external_id, entry.donor_email) == ("CHQ-000123", "ann@example.org")
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "offline.payment"))
        assert json.loads(audit.detail)["note"] == "AGM"
        assert json.loads(audit.detail)["method"] == "cheque"
    again = runner.invoke(
        args=["ledger", "record-offline", "--by", by, "--campaign", campaign, "--amount", "40",
              "--date", "2026-11-20", "--reference", "CHQ-000123"]
    )  # fmt: skip
    assert again.exit_code == 1 and "recorded already" in again.output


def test_a_mistake_is_corrected_by_a_reversing_entry(app, client, runner, campaign):
    by = _staff(app, "admin")
    runner.invoke(
        args=["ledger", "record-offline", "--by", by, "--campaign", campaign, "--amount",
              "15.50", "--date", "2026-11-21"]
    )  # fmt: skip
    with app.app_context():
        [entry] = rows("offline")
        entry_id = entry.id
    reversed_ = runner.invoke(
        args=["ledger", "reverse-offline", "--by", by, "--reason", "typo", str(entry_id)]
    )
    assert reversed_.exit_code == 0, reversed_.output
    twice = runner.invoke(
        args=["ledger", "reverse-offline", "--by", by, "--reason", "typo", str(entry_id)]
    )
    assert twice.exit_code == 1 and "reversed already" in twice.output
    with app.app_context():
        assert [(e.kind, e.amount_minor) for e in rows("offline")] == [
            ("payment", 1550),
            ("refund", -1550),
        ]
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"offline.payment", "offline.refund"} <= actions
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 0


def test_only_staff_may_record_and_bad_input_gets_a_reason(app, runner, campaign):
    viewer = _staff(app, "viewer")
    staff = _staff(app, "staff")
    base = ["ledger", "record-offline", "--campaign", campaign, "--date", "2026-11-20"]
    cases = {
        (viewer, "10", ""): "not an active staff",
        (staff, "-3", ""): "more than zero",
        (staff, "10", "XXX"): "is not a currency",
        (staff, "ten", ""): "as a number",
    }
    for (by, amount, currency), reason in cases.items():
        result = runner.invoke(args=[*base, "--by", by, "--amount", amount, "--currency", currency])
        assert result.exit_code == 1 and reason in result.output, result.output
    future = runner.invoke(
        args=["ledger", "record-offline", "--by", staff, "--campaign", campaign,
              "--amount", "5", "--date", "2999-01-01"]
    )  # fmt: skip
    assert "future" in future.output
    with app.app_context():
        assert rows() == []
