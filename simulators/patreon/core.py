"""The Patreon stand-in: members as JSON:API resources, served and announced like Patreon's."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


@dataclass
class PatreonSimulator:
    webhook_url: str | None = None
    secret: str = "patreon-simulator-secret"
    token: str = "patreon-simulator-token"
    campaign_id: str = "1000"
    page_size: int = 100
    members: dict[str, dict] = field(default_factory=dict)
    #: Answer this many of the next API requests with 429 (Retry-After: 0).
    rate_limit_next: int = 0
    #: (event, HTTP status) of each webhook delivery.
    deliveries: list[tuple[str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- Members ------------------------------------------------------------------------

    def add_member(
        self, email: str, full_name: str, cents: int, cadence: int = 1, send: bool = True
    ) -> dict:
        member = {
            "type": "member",
            "id": str(uuid.uuid4()),
            "attributes": {
                "email": email,
                "full_name": full_name,
                "currently_entitled_amount_cents": cents,
                "patron_status": "active_patron",
                "pledge_cadence": cadence,
                "pledge_relationship_start": _iso(datetime.now(UTC)),
                "next_charge_date": None,
                "last_charge_date": None,
                "last_charge_status": None,
                "lifetime_support_cents": 0,
            },
            "relationships": {
                "campaign": {"data": {"type": "campaign", "id": self.campaign_id}},
                "user": {"data": {"type": "user", "id": str(uuid.uuid4().int)[:8]}},
            },
        }
        with self._lock:
            self.members[member["id"]] = member
        if send:
            self.send("members:pledge:create", member)
        return member

    def charge_all(self, when: datetime | None = None, send: bool = True) -> list[dict]:
        """Charge every active patron now: last_charge_date and Paid, lifetime grows."""
        moment = when or datetime.now(UTC)
        charged = []
        with self._lock:
            for member in self.members.values():
                attributes = member["attributes"]
                if attributes["patron_status"] != "active_patron":
                    continue
                attributes["last_charge_date"] = _iso(moment)
                attributes["last_charge_status"] = "Paid"
                attributes["lifetime_support_cents"] += attributes[
                    "currently_entitled_amount_cents"
                ]
                charged.append(member)
        if send:
            for member in charged:
                self.send("members:update", member)
        return charged

    def leave(self, member_id: str) -> dict:
        member = self.members[member_id]
        member["attributes"]["patron_status"] = "former_patron"
        self.send("members:pledge:delete", member)
        return member

    # --- Webhooks -----------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.md5).hexdigest()

    def document(self, member: dict) -> bytes:
        return json.dumps({"data": member, "included": [], "links": {}}).encode()

    def send(self, event: str, member: dict) -> int:
        if not self.webhook_url:
            return 0
        body = self.document(member)
        request = urllib.request.Request(  # noqa: S310 - our own loopback address, by design
            self.webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Patreon-Event": event,
                "X-Patreon-Signature": self.sign(body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        self.deliveries.append((event, status))
        return status

    # --- HTTP ---------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path == f"/api/oauth2/v2/campaigns/{self.campaign_id}/members":
            response = self._members_page(request)
        elif path == "/join" and request.method == "GET":
            response = Response(_JOIN_PAGE, content_type="text/html")
        elif path == "/join" and request.method == "POST":
            response = self._join(request)
        elif path == "/control/charge" and request.method == "POST":
            charged = self.charge_all()
            response = Response(
                json.dumps({"charged": len(charged)}), content_type="application/json"
            )
        else:
            response = Response(json.dumps({"errors": [{"status": "404"}]}), status=404)
        return response(environ, start_response)

    def _members_page(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(json.dumps({"errors": [{"status": "401"}]}), status=401)
        with self._lock:
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                return Response("{}", status=429, headers={"Retry-After": "0"})
            ordered = list(self.members.values())
        size = min(int(request.args.get("page[count]", self.page_size)), self.page_size)
        start = int(request.args.get("page[cursor]") or 0)
        page = ordered[start : start + size]
        following = start + size if start + size < len(ordered) else None
        body = {
            "data": page,
            "meta": {
                "pagination": {
                    "cursors": {"next": str(following) if following is not None else None},
                    "total": len(ordered),
                }
            },
        }
        return Response(json.dumps(body), content_type="application/vnd.api+json")

    def _join(self, request: Request) -> Response:
        try:
            cents = round(float(request.form.get("amount", "5")) * 100)
        except ValueError:
            cents = 0
        if not 100 <= cents <= 100_000:
            return Response("Choose an amount from 1 to 1000.", status=400)
        email = request.form.get("email") or "patron@example.org"
        name = request.form.get("name") or "Test Patron"
        member = self.add_member(email, name, cents)
        return Response(
            f"<p>Thank you, {html.escape(name)}: you are patron {member['id']}.</p>",
            content_type="text/html",
        )


_JOIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Patreon (simulator): become a patron</title></head><body>
<h1>Become a patron <small>(simulator)</small></h1>
<form method="post" action="/join">
<p><label>Monthly amount <input name="amount" value="5" inputmode="decimal"></label></p>
<p><label>Email <input name="email" type="email" value="patron@example.org"></label></p>
<p><label>Name <input name="name" value="Test Patron"></label></p>
<p><button type="submit">Join</button></p></form>
<form method="post" action="/control/charge">
<button type="submit">Charge every patron now</button></form>
</body></html>"""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class SimulatorHandle:
    sim: PatreonSimulator
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/oauth2/v2"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_simulator(
    port: int = 0,
    webhook_url: str | None = None,
    secret: str = "patreon-simulator-secret",
    token: str = "patreon-simulator-token",
    campaign_id: str = "1000",
    quiet: bool = True,
) -> SimulatorHandle:
    sim = PatreonSimulator(
        webhook_url=webhook_url, secret=secret, token=token, campaign_id=campaign_id
    )
    handler = _QuietHandler if quiet else WSGIRequestHandler
    server = make_server("127.0.0.1", port, sim, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return SimulatorHandle(sim, server, thread)
