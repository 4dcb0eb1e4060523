"""`flask ledger import paypal FILE`: PayPal's activity CSV, counted once beside the IPN."""

from __future__ import annotations

import threading

import pytest

from fundraiser.extensions import db
from fundraiser.paypal.imports import import_activity
from tests.channels.activity_csv import activity_csv, row
from tests.channels.conftest import post_ipn, rows


def _donations_file(campaign: str, comma_style: bool = False) -> bytes:
    return activity_csv(
        [
            row("1AA", "Donation Payment", "1,234.50", "-36.10", **{"Custom Number": campaign}),
            row("2BB", "General Currency Conversion", "-1,234.50", Currency="EUR"),
            row("3CC", "General Currency Conversion", "1,050.00", Currency="GBP"),
            row("4DD", "Payment Refund", "-200.00", **{"Reference Txn ID": "1AA"}),
            row("5EE", "Subscription Payment", "5.00", "-0.45", **{"Reference Txn ID": "I-SUB1"}),
            row("6FF", "Hold on Balance for Dispute Investigation", "-10.00"),
            row("7GG", "General Withdrawal", "-500.00"),
            row("8HH", "Donation Payment", "10.00", Status="Pending"),
            row("9II", "Memo", "0.00"),
            row("AJJ", "Payment Reversal", "-5.00", **{"Reference Txn ID": "5EE"}),
            row("BKK", "Cancellation of Reversal", "5.00", **{"Reference Txn ID": "5EE"}),
        ],
        comma_style=comma_style,
    )


@pytest.mark.parametrize("comma_style", [False, True], ids=["1,234.56", "1.234,56"])
def test_activity_csv_counts_gifts_and_skips_the_rest(app, runner, campaign, tmp_path, comma_style):
    path = tmp_path / "Download.CSV"
    path.write_bytes(_donations_file(campaign, comma_style))
    result = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert result.exit_code == 0, result.output
    assert "New: 5" in result.output and "Already known: 0" in result.output
    assert "Skipped: 6" in result.output and "General Currency Conversion 2" in result.output
    with app.app_context():
        booked = {(e.external_id, e.kind, e.amount_minor, e.fee_minor) for e in rows("paypal")}
        assert booked == {
            ("1AA", "payment", 123450, 3610),
            ("4DD", "refund", -20000, None),
            ("5EE", "payment", 500, 45),
            ("AJJ", "dispute_opened", -500, None),
            ("BKK", "dispute_won", 500, None),
        }
        [subscription] = [e for e in rows("paypal") if e.external_id == "5EE"]
        assert subscription.frequency == "monthly"
    again = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert "New: 0" in again.output and "Already known: 5" in again.output


def test_ipn_then_csv_and_csv_then_ipn_count_once(app, client, runner, campaign, tmp_path, paypal):
    first = paypal.sim.donation("20.00", campaign=campaign)
    second = paypal.sim.donation("30.00", campaign=campaign)
    paypal.sim.send(first)  # the IPN comes first for one …
    path = tmp_path / "activity.csv"
    path.write_bytes(
        activity_csv(
            [
                row(first["txn_id"], "Donation Payment", "20.00", "-0.88"),
                row(second["txn_id"], "Donation Payment", "30.00", "-1.17"),
            ]
        )
    )
    result = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert "New: 1" in result.output and "Already known: 1" in result.output
    assert f"Never announced by IPN (booked from this file): {second['txn_id']}" in result.output
    paypal.sim.send(second)  # … the CSV for the other
    with app.app_context():
        assert sorted(e.amount_minor for e in rows("paypal")) == [2000, 3000]
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_channel"]["paypal"] == {"EUR": 5000}


def test_a_malformed_row_imports_nothing_unless_told_to_skip(app, runner, campaign, tmp_path):
    path = tmp_path / "activity.csv"
    path.write_bytes(
        activity_csv(
            [
                row("GOOD1", "Donation Payment", "10.00"),
                row("BAD1", "Donation Payment", "ten euros"),
                row("BAD2", "Donation Payment", "10.00", Currency="euro"),
                row("BAD3", "Donation Payment", "10.00", Date="31/31/2026"),
            ]
        )
    )
    dry = runner.invoke(args=["ledger", "import", "paypal", str(path), "--dry-run"])
    assert "New: 1" in dry.output and "Dry run" in dry.output
    refused = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert refused.exit_code == 1
    assert "Refused: 3" in refused.output
    assert "line 3:" in refused.output and "line 4:" in refused.output
    assert "line 5:" in refused.output and "Nothing was imported" in refused.output
    with app.app_context():
        assert rows() == []
    skipping = runner.invoke(args=["ledger", "import", "paypal", str(path), "--skip-bad-rows"])
    assert skipping.exit_code == 0 and "New: 1" in skipping.output
    with app.app_context():
        assert [e.external_id for e in rows()] == ["GOOD1"]


def test_not_an_activity_file_is_refused_with_a_reason(runner, campaign, tmp_path):
    path = tmp_path / "other.csv"
    path.write_bytes(b"name,amount\nann,10\n")
    result = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert result.exit_code == 1 and "no column" in result.output


def test_large_files_show_a_progress_bar(app, runner, campaign, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(
        activity_csv([row(f"TX{i:05d}", "Donation Payment", "1.00") for i in range(250)])
    )
    result = runner.invoke(args=["ledger", "import", "paypal", str(path)])
    assert result.exit_code == 0, result.output
    assert "Booking" in result.output and "New: 250" in result.output


def test_ipn_and_csv_at_the_same_time_count_once(app, client, campaign, paypal):
    messages = [paypal.sim.donation(f"{n}.00", campaign=campaign) for n in range(1, 9)]
    bodies = [paypal.sim.encode(m) for m in messages]
    paypal.sim.sent.update(bodies)
    data = activity_csv([row(m["txn_id"], "Donation Payment", m["mc_gross"]) for m in messages])
    errors = []

    def import_file():
        try:
            with app.app_context():
                import_activity(data, actor="test:import")
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    importer = threading.Thread(target=import_file)
    importer.start()
    for body in bodies:
        assert post_ipn(client, body).status_code == 200
    importer.join()
    assert errors == []
    with app.app_context():
        assert sorted(e.amount_minor for e in rows("paypal")) == [n * 100 for n in range(1, 9)]
