"""With DATABASE_REPLICA_URL, staff pages read from the replica; every write goes to the primary."""

from __future__ import annotations

from sqlalchemy import event

from fundraiser import create_app
from fundraiser.database_routing import replica_engine
from fundraiser.extensions import db
from tests.dashboard.conftest import sign_in_session
from tests.dashboard.factories import make_staff


def count_statements(engine) -> dict:
    seen = {"select": 0, "write": 0}

    def on_execute(_conn, _cursor, statement, *_args):
        if "login_sessions" in statement:
            return  # the sign-in check reads the primary on purpose: sign-outs count at once
        if statement.lstrip().upper().startswith("SET "):
            return  # a setting for the transaction (a replica takes them), not a write
        kind = "select" if statement.lstrip().upper().startswith("SELECT") else "write"
        seen[kind] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    return seen


def test_staff_pages_read_from_the_replica_and_readers_use_the_primary(app, app_config, campaign):
    replica_app = create_app(
        {**app_config, "DATABASE_REPLICA_URL": app_config["SQLALCHEMY_DATABASE_URI"]}
    )
    with replica_app.app_context():
        replica, primary = replica_engine(), db.engines[None]
        assert replica is not primary
        staff = make_staff("admin")
        client = replica_app.test_client()
        sign_in_session(client, staff)
        on_replica, on_primary = count_statements(replica), count_statements(primary)

    assert client.get("/staff/").status_code == 200
    assert on_replica["select"] > 0 and on_primary["select"] == 0

    before = dict(on_replica)
    assert client.get("/").status_code == 200  # the public page reads the primary
    assert on_primary["select"] > 0 and on_replica == before

    export = client.get("/staff/donations.csv")  # a read that also writes an audit entry
    assert export.status_code == 200
    b"".join(export.response)
    assert on_primary["write"] > 0 and on_replica["write"] == 0
    with replica_app.app_context():
        replica_engine().dispose()
    from fundraiser.extensions import limiter

    limiter.init_app(app)  # Flask-Limiter's state is per process: give it back
