"""The PayPal stand-in: IPN messages shaped like PayPal's, their delivery, their verification,
and a hosted donate page, as one small WSGI program."""

from __future__ import annotations

import html
import itertools
import logging
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

#: PayPal retries an IPN that did not get a 200, with growing gaps (over days; ours in seconds).
DEFAULT_RETRY_DELAYS = (1.0, 4.0, 16.0, 64.0)
RECEIVER_EMAIL = "donations@paypal-simulator.test"
RECEIVER_ID = "SIMRECEIVER01"
_PACIFIC = ZoneInfo("America/Los_Angeles")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: verify_sign is 56 characters of these (PayPal's look like "An5ns1Kso7MWUdW4ErQKJJJ4qi4-…").
_SIGN_ALPHABET = string.ascii_letters + string.digits + ".-"


def paypal_date(moment: datetime | None = None) -> str:
    """PayPal's payment_date, in Pacific time with its zone as PayPal writes it:
    "20:12:59 Jan 13, 2009 PST" in winter, "03:06:57 Jun 27, 2014 PDT" in summer."""
    local = (moment or datetime.now(UTC)).astimezone(_PACIFIC)
    month = _MONTHS[local.month - 1]  # not %b, which follows the locale
    return f"{local:%H:%M:%S} {month} {local:%d}, {local.year} {local.tzname()}"


def track_id() -> str:
    """ipn_track_id: 13 hex digits ("a48170aadb705")."""
    return secrets.token_hex(7)[:13]


def verify_sign() -> str:
    return "A" + "".join(secrets.choice(_SIGN_ALPHABET) for _ in range(55))


def charset_for(*texts: str) -> str:
    """windows-1252, PayPal's default for a merchant account, unless the text needs more (a
    merchant then sets UTF-8 in PayPal's language encoding settings)."""
    try:
        for text in texts:
            text.encode("cp1252")
    except UnicodeEncodeError:
        return "UTF-8"
    return "windows-1252"


#: Currencies PayPal writes without decimals.
WHOLE_CURRENCIES = {"JPY", "HUF", "TWD"}


def _money(value: str | Decimal, currency: str = "EUR") -> str:
    if currency in WHOLE_CURRENCIES:
        return str(Decimal(value).quantize(Decimal(1)))
    return f"{Decimal(value):.2f}"


@dataclass
class PayPalSimulator:
    """The state: every message sent (verification answers VERIFIED only for those) and
    the deliveries still being tried."""

    ipn_url: str | None = None
    receiver_email: str = RECEIVER_EMAIL
    receiver_id: str = RECEIVER_ID
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    return_url: str | None = None
    sent: set[bytes] = field(default_factory=set)
    #: (body, HTTP status or error text) of every delivery attempt, oldest first.
    attempts: list[tuple[bytes, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- Messages ----------------------------------------------------------------------

    def new_txn_id(self) -> str:
        return f"{secrets.token_hex(4).upper()}{next(self._ids):09d}"[:17]

    def base_fields(self, email: str, name: str, campaign: str) -> dict[str, str]:
        first, _, last = (name or "Test Donor").partition(" ")
        return {
            "charset": charset_for(name or "", email or ""),
            "notify_version": "3.9",
            "payer_email": email,
            "payer_id": "SIMPAYER" + secrets.token_hex(3).upper(),
            "payer_status": "verified",
            "first_name": first,
            "last_name": last,
            "residence_country": "GB",
            "receiver_email": self.receiver_email,
            "receiver_id": self.receiver_id,
            "business": self.receiver_email,
            "custom": campaign,
            "item_number": campaign,
            "item_name": "Donation",
            "test_ipn": "1",
            "ipn_track_id": track_id(),
            "verify_sign": verify_sign(),
        }

    def donation(
        self,
        amount: str,
        currency: str = "EUR",
        email: str = "donor@example.org",
        name: str = "Test Donor",
        campaign: str = "",
        status: str = "Completed",
        txn_id: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, str]:
        """A Donate button's web_accept message."""
        gross = Decimal(amount)
        fields = self.base_fields(email, name, campaign)
        fields.update(
            txn_type="web_accept",
            txn_id=txn_id or self.new_txn_id(),
            payment_type="instant",
            payment_status=status,
            payment_date=paypal_date(at),
            mc_gross=_money(gross, currency),
            mc_fee=_money(self.fee(gross), currency),
            mc_currency=currency,
            quantity="0",
            protection_eligibility="Eligible",
        )
        if status == "Pending":
            fields["pending_reason"] = "echeck"
        if currency == "USD":
            fields.update(payment_gross=fields["mc_gross"], payment_fee=fields["mc_fee"])
        return fields

    @staticmethod
    def fee(gross: Decimal) -> Decimal:
        """2.9% + 0.30, as PayPal's standard rate roughly is."""
        return (gross * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01"))

    def refund(self, payment: dict[str, str], amount: str | None = None) -> dict[str, str]:
        return self._follow_up(payment, "Refunded", "refund", amount, negative=True)

    def reversal(self, payment: dict[str, str]) -> dict[str, str]:
        return self._follow_up(payment, "Reversed", "chargeback", None, negative=True)

    def canceled_reversal(self, payment: dict[str, str]) -> dict[str, str]:
        return self._follow_up(payment, "Canceled_Reversal", "other", None, negative=False)

    def _follow_up(
        self, payment: dict, status: str, reason: str, amount: str | None, negative: bool
    ) -> dict[str, str]:
        gross = Decimal(amount or payment["mc_gross"])
        sign = -1 if negative else 1
        # A refund or reversal names its payment (parent_txn_id) and carries no txn_type.
        fields = {k: v for k, v in payment.items() if k not in {"pending_reason", "txn_type"}}
        fields.update(
            txn_id=self.new_txn_id(),
            parent_txn_id=payment["txn_id"],
            payment_status=status,
            reason_code=reason,
            payment_date=paypal_date(),
            mc_gross=_money(sign * gross, payment["mc_currency"]),
            mc_fee=_money(sign * self.fee(gross), payment["mc_currency"]),
            ipn_track_id=track_id(),
        )
        return fields

    def subscription(
        self,
        amount: str,
        currency: str = "EUR",
        email: str = "patron@example.org",
        name: str = "Test Patron",
        campaign: str = "",
        period: str = "1 M",
    ) -> dict[str, str]:
        """A subscr_signup message (a Donate button with "make this monthly")."""
        fields = self.base_fields(email, name, campaign)
        fields.update(
            txn_type="subscr_signup",
            subscr_id="I-" + secrets.token_hex(6).upper(),
            subscr_date=paypal_date(),
            period3=period,
            amount3=_money(amount),
            mc_amount3=_money(amount),
            mc_currency=currency,
            recurring="1",
            reattempt="1",
        )
        return fields

    def subscription_payment(self, signup: dict[str, str]) -> dict[str, str]:
        gross = Decimal(signup["mc_amount3"])
        fields = {
            k: signup[k] for k in signup if not k.startswith(("period", "amount", "mc_amount"))
        }
        fields.update(
            txn_type="subscr_payment",
            txn_id=self.new_txn_id(),
            payment_status="Completed",
            payment_type="instant",
            payment_date=paypal_date(),
            mc_gross=_money(gross),
            mc_fee=_money(self.fee(gross)),
            ipn_track_id=track_id(),
        )
        fields.pop("recurring", None)
        fields.pop("reattempt", None)
        return fields

    def subscription_end(self, signup: dict[str, str], kind: str = "subscr_cancel") -> dict:
        fields = {k: signup[k] for k in signup if k not in {"recurring", "reattempt"}}
        fields.update(txn_type=kind, subscr_date=paypal_date(), ipn_track_id=track_id())
        return fields

    # --- Sending and verifying -----------------------------------------------------------

    @staticmethod
    def encode(fields: dict[str, str]) -> bytes:
        """Form-encoded in the message's own charset, as PayPal posts it."""
        return urlencode(fields, encoding=fields.get("charset", "UTF-8")).encode("ascii")

    def send(self, fields: dict[str, str], wait: bool = True) -> bytes:
        """Record the message as sent by us and deliver it (retrying), by default to the end."""
        body = self.encode(fields)
        with self._lock:
            self.sent.add(body)
        if not self.ipn_url:
            return body
        with self._idle:
            self._pending += 1
        worker = threading.Thread(target=self._deliver, args=(body,), daemon=True)
        worker.start()
        if wait:
            worker.join()
        return body

    def _deliver(self, body: bytes) -> None:
        try:
            for delay in (0.0, *self.retry_delays):
                time.sleep(delay)
                if self._post(body):
                    return
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _post(self, body: bytes) -> bool:
        request = urllib.request.Request(  # noqa: S310 - our own loopback address, by design
            self.ipn_url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                outcome = str(response.status)
        except urllib.error.HTTPError as error:
            outcome = str(error.code)
        except OSError as error:
            outcome = f"error: {error}"
        with self._lock:
            self.attempts.append((body, outcome))
        return outcome == "200"

    def flush(self, timeout: float = 30) -> bool:
        """Wait until every delivery succeeded or finally failed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def verify(self, body: bytes) -> str:
        """The verification endpoint's answer to `cmd=_notify-validate&<message>`."""
        prefix = b"cmd=_notify-validate&"
        if not body.startswith(prefix):
            return "INVALID"
        with self._lock:
            return "VERIFIED" if body[len(prefix) :] in self.sent else "INVALID"

    # --- HTTP ---------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/cgi-bin/webscr" and request.method == "POST":
            answer = self.verify(request.get_data())
            response = Response(answer, content_type="text/plain")
        elif request.path == "/donate" and request.method == "GET":
            response = Response(self._donate_page(request), content_type="text/html")
        elif request.path == "/donate" and request.method == "POST":
            response = self._donate(request)
        else:
            response = Response("Not found", status=404)
        return response(environ, start_response)

    def _donate_page(self, request: Request, error: str = "") -> str:
        campaign = html.escape(request.values.get("campaign", ""))
        problem = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>PayPal (simulator): donate</title></head><body>
<h1>Donate with PayPal <small>(simulator)</small></h1>{problem}
<form method="post" action="/donate">
<input type="hidden" name="campaign" value="{campaign}">
<p><label>Amount <input name="amount" value="10.00" inputmode="decimal"></label>
<label>Currency <select name="currency"><option>EUR</option><option>GBP</option>
<option>USD</option></select></label></p>
<p><label>Email <input name="email" type="email" value="donor@example.org"></label></p>
<p><label>Name <input name="name" value="Test Donor"></label></p>
<p><label><input type="checkbox" name="monthly" value="1"> Make this a monthly donation</label></p>
<p><button type="submit">Donate</button></p></form></body></html>"""

    def _donate(self, request: Request) -> Response:
        form = request.form
        try:
            amount = Decimal(form.get("amount", ""))
        except InvalidOperation:
            amount = Decimal(0)
        if not Decimal("1") <= amount <= Decimal("10000"):
            return Response(self._donate_page(request, "Enter an amount from 1 to 10000."), 400)
        currency = (
            form.get("currency", "EUR") if form.get("currency") in {"EUR", "GBP", "USD"} else "EUR"
        )
        who = {
            "email": form.get("email") or "donor@example.org",
            "name": form.get("name") or "Test Donor",
            "campaign": form.get("campaign", ""),
        }
        if form.get("monthly"):
            signup = self.subscription(str(amount), currency, **who)
            self.send(signup, wait=False)
            self.send(self.subscription_payment(signup), wait=False)
        else:
            self.send(self.donation(str(amount), currency, **who), wait=False)
        target = self.return_url or "/donate"
        return Response(status=303, headers={"Location": target})


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class SimulatorHandle:
    sim: PayPalSimulator
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def verify_url(self) -> str:
        return f"{self.url}/cgi-bin/webscr"

    def stop(self) -> None:
        self.sim.flush(5)
        self.server.shutdown()
        self.server.server_close()


def start_simulator(
    port: int = 0,
    ipn_url: str | None = None,
    retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
    return_url: str | None = None,
    quiet: bool = True,
) -> SimulatorHandle:
    """Serve the stand-in on loopback in a background thread."""
    sim = PayPalSimulator(ipn_url=ipn_url, retry_delays=tuple(retry_delays), return_url=return_url)
    handler = _QuietHandler if quiet else WSGIRequestHandler
    server = make_server("127.0.0.1", port, sim, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return SimulatorHandle(sim, server, thread)
