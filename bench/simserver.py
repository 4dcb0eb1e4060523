"""The Stripe simulator in its own process, seeded with N paid monthly pledges.

`python -m bench.simserver --port P --subscriptions N --out seed.json` starts the simulator
(no webhook URL yet, so seeding sends nothing), creates N customers with a card and a paid
monthly subscription to the bench campaign, writes what the bench needs to `--out` (the
subscriptions, for our pledges table, and each first invoice's `invoice.paid` event), then
serves until it is sent SIGTERM/SIGINT. Its own process keeps its CPU apart from the load
generator's, and its CPU time can be read from /proc.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import uuid

from simulators.stripe import flows, shapes, start_simulator
from simulators.stripe.cards import check_card

CARD = "4242424242424242"


def seed(sim, count: int, campaign: str, amount_minor: int, with_events: bool = True) -> list[dict]:
    with sim.transaction():
        product = flows.create_product(sim, "Monthly support")
        price = flows.create_price(
            sim, "eur", amount_minor, product["id"], shapes.recurring("month")
        )
    card = check_card(CARD, "12/34", "123", sim.now())
    seeded = []
    for number in range(count):
        email = f"patron{number}@bench.example"
        with sim.transaction():
            customer = flows.create_customer(sim, email, f"Patron {number}", emit=False)
            method = flows.create_payment_method(sim, card, email, None, customer["id"])
            # As our checkout makes it: the donation intent's public id (bench.infra
            # seed_pledges writes the intent) and the campaign.
            intent = uuid.uuid4().hex
            options = {"metadata": {"donation_intent": intent, "campaign": campaign}}
            subscription = flows.start_subscription(sim, customer, price, method, options)
        item = subscription["items"]["data"][0]
        seeded.append(
            {
                "subscription": subscription["id"],
                "customer": customer["id"],
                "item": item["id"],
                "email": email,
                "intent": intent,
                "amount_minor": amount_minor,
                "period_end": item["current_period_end"],
                "invoice": subscription["latest_invoice"],
            }
        )
    if with_events:
        paid = {e["data"]["object"]["id"]: e for e in sim.events("invoice.paid")}
        for row in seeded:
            row["invoice_paid_event"] = paid[row["invoice"]]
    return seeded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--subscriptions", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--campaign", default="kazakhstan")
    parser.add_argument("--secret", default="whsec_bench")
    parser.add_argument("--delivery-workers", type=int, default=16)
    parser.add_argument("--amount-minor", type=int, default=1000)
    parser.add_argument("--no-events", action="store_true", help="skip the invoice.paid events")
    args = parser.parse_args()
    handle = start_simulator(
        port=args.port,
        webhook_secret=args.secret,
        delivery_workers=args.delivery_workers,
        retry_delays=(1, 2, 4, 8, 16),
    )
    started = time.monotonic()
    seeded = seed(
        handle.sim, args.subscriptions, args.campaign, args.amount_minor, not args.no_events
    )
    with open(args.out, "w") as out:
        json.dump({"seconds": time.monotonic() - started, "subscriptions": seeded}, out)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ready {handle.url}", flush=True)
    stop.wait()
    handle.stop()


if __name__ == "__main__":
    main()
