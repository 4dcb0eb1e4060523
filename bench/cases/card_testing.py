"""Card testing: how many honest donors meet the proof of work while testers attack.

The app (production thresholds, its own SQLite file, in-memory counters) is served on
127.0.0.1 behind one trusted proxy hop, so each simulated reader's address travels in
X-Forwarded-For; the Stripe simulator on 127.0.0.1 delivers signed webhooks to it, so the
declines the testers cause come back as Stripe reports them. Three rounds, each with the same
honest donors (€25 each, one per network, plus a few behind the testers' NAT):

- baseline: no attack;
- attack: testers on a few addresses in two networks push €0.50 checkouts, solve every
  puzzle they are given (the worst case) and pay with declined cards;
- distributed: testers on many networks, each with a few declined cards.

The figure is the share of honest donors (outside the testers' networks) who were
challenged, against the baseline of the same run; donors behind a tester's NAT must all
complete after the challenge. Run: `python -m bench card_testing` (or `--quick`).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass, field

import requests
from werkzeug.serving import make_server

from bench.infra import SECRET_KEY, SEED_ARTICLE, workdir
from bench.report import Row

WEBHOOK_SECRET = "whsec_bench_card_testing"
DECLINED_CARD = "4000000000000002"
FORM = {"campaign": "kazakhstan", "amount": "other", "currency": "EUR", "frequency": "one-time"}


@dataclass
class Tally:
    posts: int = 0
    straight: int = 0
    challenged: int = 0
    completed_after_challenge: int = 0
    failed: int = 0
    difficulties: list[int] = field(default_factory=list)

    def share_challenged(self) -> float:
        return self.challenged / self.posts if self.posts else 0.0


class Site:
    """The app on 127.0.0.1 and the simulator beside it."""

    def __init__(self, folder) -> None:
        from fundraiser import create_app
        from fundraiser.campaigns.services import import_campaign
        from fundraiser.extensions import db
        from simulators.stripe import start_simulator

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
                "SECRET_KEY": SECRET_KEY,
                "REDIS_URL": None,
                "RATELIMIT_ENABLED": False,  # measure the card-testing defence alone
                "RATELIMIT_STORAGE_URI": "memory://",
                "PROXY_FIX_HOPS": 1,
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_MAX_RETRIES": 0,
                "MAIL_OUTBOX": str(folder / "outbox"),
                "LOG_FORMAT": "text",
            }
        )
        for name in ("werkzeug", "fundraiser.request", "fundraiser.donations.abuse"):
            logging.getLogger(name).setLevel(logging.WARNING)  # thousands of request lines
        with self.app.app_context():
            db.create_all()
            import_campaign(SEED_ARTICLE, "kazakhstan", "5000", "EUR", make_default=True)
            db.session.commit()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.sim = start_simulator(
            webhook_url=f"{self.url}/stripe/webhook", webhook_secret=WEBHOOK_SECRET
        )
        self.app.config["STRIPE_API_BASE"] = self.sim.url
        self.app.config["BASE_URL"] = self.url
        self.http = requests.Session()

    def forget_counters(self) -> None:
        """A new round starts with no history (the counters' windows are 10–20 minutes)."""
        self.sim.flush(timeout=60)
        storage = self.app.extensions.get("fundraiser_abuse_storage")
        if storage is not None:
            storage.reset()

    def give(self, address: str, amount: str, tally: Tally, solve: bool = True) -> str | None:
        """One reader's donation; returns the checkout session id if they reached checkout."""
        from fundraiser.donations import abuse

        form = {**FORM, "amount_other": amount, "submission_nonce": secrets.token_urlsafe(18)}
        headers = {"Origin": self.url, "X-Forwarded-For": address}
        tally.posts += 1
        answer = self._post(form, headers)
        if answer.status_code == 303:
            tally.straight += 1
            return _session_id(answer)
        html = answer.text
        found = re.search(r'name="pow_challenge" value="([^"]+)"', html)
        if answer.status_code != 200 or found is None:
            tally.failed += 1
            return None
        tally.challenged += 1
        difficulty = int(re.search(r'data-difficulty="(\d+)"', html).group(1))
        tally.difficulties.append(difficulty)
        if not solve:
            return None
        proof = {"pow_challenge": found.group(1)}
        proof["pow_solution"] = str(abuse.solve(found.group(1), difficulty))
        answer = self._post({**form, **proof}, headers)
        if answer.status_code != 303:
            tally.failed += 1
            return None
        tally.completed_after_challenge += 1
        return _session_id(answer)

    def _post(self, form: dict, headers: dict):
        return self.http.post(
            f"{self.url}/donate", data=form, headers=headers, allow_redirects=False, timeout=60
        )

    def pay_declined(self, session_id: str) -> None:
        self.http.post(
            f"{self.sim.url}/_sim/checkout/{session_id}/complete",
            json={"card": DECLINED_CARD},
            timeout=60,
        )

    def stop(self) -> None:
        self.sim.stop()
        self.server.shutdown()


def _session_id(answer) -> str | None:
    found = re.search(r"/c/pay/(cs_[A-Za-z0-9_]+)", answer.headers.get("Location", ""))
    return found.group(1) if found else None


def honest_round(site: Site, donors: int, nat_donors: int, nat_address: str) -> tuple[Tally, Tally]:
    elsewhere, behind_nat = Tally(), Tally()
    for n in range(donors):
        site.give(f"100.{64 + n // 250}.{n % 250}.9", "25", elsewhere)
    for _ in range(nat_donors):
        site.give(nat_address, "25", behind_nat)
    return elsewhere, behind_nat


def attack_round(site: Site, testers: list[str], tries: int, pay: bool, tally: Tally) -> None:
    for _ in range(tries):
        for address in testers:
            session_id = site.give(address, "0.50", tally)
            if pay and session_id:
                site.pay_declined(session_id)
    site.sim.flush(timeout=60)


def run(quick: bool = False) -> list[Row]:
    donors, nat_donors, tries = (40, 5, 6) if quick else (200, 20, 15)
    nat_address = "203.0.113.7"
    few = ["203.0.113.7", "203.0.113.8", "203.0.113.9", "198.51.100.4", "198.51.100.5"]
    many = [f"10.{n}.0.3" for n in range(24)]
    site = Site(workdir("card-testing"))
    try:
        site.forget_counters()
        baseline, baseline_nat = honest_round(site, donors, nat_donors, nat_address)

        site.forget_counters()
        testers = Tally()
        attack_round(site, few, tries, pay=True, tally=testers)
        during, during_nat = honest_round(site, donors, nat_donors, nat_address)
        attack_round(site, few, 2, pay=True, tally=testers)  # the attack goes on meanwhile

        site.forget_counters()
        distributed_testers = Tally()
        attack_round(site, many, 3, pay=True, tally=distributed_testers)
        distributed, _ = honest_round(site, donors, 0, nat_address)
    finally:
        site.stop()

    def share(t: Tally) -> float:
        return round(100 * t.share_challenged(), 1)

    def completed(t: Tally) -> int:
        return t.straight + t.completed_after_challenge

    nat_completed = completed(during_nat)
    nat_ok = nat_completed == during_nat.posts and during_nat.failed == 0
    unchanged = share(during) <= share(baseline)
    return [
        Row("card_testing", f"honest donors challenged, attack from {len(few)} addresses in "
            "2 networks", share(during), "%", baseline=share(baseline), baseline_name="no attack",
            target="same as baseline", met=unchanged,
            note=f"{during.posts} donors, each from its own network"),
        Row("card_testing", "donors behind a tester's NAT who completed", nat_completed,
            f"of {during_nat.posts}", baseline=completed(baseline_nat), baseline_name="no attack",
            target="all", met=nat_ok,
            note=f"{during_nat.challenged} solved the proof of work first (no attack: "
            f"{baseline_nat.challenged}, one address's attempts alone pass its threshold)"),
        Row("card_testing", "testers' checkouts that needed a proof of work", share(testers), "%",
            note=f"{testers.posts} attempts; puzzle difficulty up to "
            f"{max(testers.difficulties, default=0)} bits"),
        Row("card_testing", f"honest donors challenged, distributed attack ({len(many)} "
            "networks, declined cards)", share(distributed), "%", baseline=share(baseline),
            baseline_name="no attack",
            note="declines from many networks switch the proof of work on for everyone"),
    ]  # fmt: skip


if __name__ == "__main__":
    import sys

    from bench.report import table

    print(table(run(quick="--quick" in sys.argv)))
