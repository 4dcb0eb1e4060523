"""Redis going away: pages, donations and webhooks keep working, rate limits fall back to
memory, and mail is sent inline instead of being lost."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry
from tests.helpers import sim_control, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis():
    """A Redis of this test's own, so stopping it harms nobody else."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


def test_service_keeps_working_when_redis_dies(app, campaign, make_stack, private_redis, tmp_path):
    process, url = private_redis
    outbox = tmp_path / "outbox"
    stack = make_stack(
        REDIS_URL=url,
        RATELIMIT_STORAGE_URI=url,
        RATELIMIT_ENABLED=True,
        MAIL_OUTBOX=str(outbox),
        DONATE_RATE_LIMIT="4 per minute",
    )
    assert stack.get("/")[0] == 200
    process.kill()
    process.wait()

    assert stack.get("/")[0] == 200
    assert stack.get(f"/api/campaigns/{campaign}/totals")[0] == 200
    status, headers, _ = stack.post_form(
        "/donate",
        {"campaign": campaign, "amount": "25", "currency": "EUR", "email": "kept@example.org"},
    )
    assert status == 303
    session_id = re.search(r"(cs_[A-Za-z0-9_]+)", headers["Location"]).group(1)
    sim_control(stack.stripe, f"checkout/{session_id}/complete")
    stack.stripe.flush(timeout=20)
    with app.app_context():
        rows = wait_for(lambda: list(db.session.scalars(select(LedgerEntry))))
        assert [r.amount_minor for r in rows] == [2500]
    receipts = wait_for(lambda: list(Path(outbox).glob("*.eml")), timeout=10)
    assert any("kept@example.org" in p.read_text(errors="replace") for p in receipts)

    # Rate limits still hold, counted in memory while Redis is away.
    codes = [
        stack.post_form("/donate", {"campaign": campaign, "amount": "nope"})[0] for _ in range(6)
    ]
    assert codes[-1] == 429 and 500 not in codes
