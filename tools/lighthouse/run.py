"""`make lighthouse`: Lighthouse on a phone for the landing page, the embed and the thank-you
page of a fresh demo (SQLite, the bundled Stripe simulator, 127.0.0.1 only); prints the table.

Lighthouse is npm's, pinned in tools/lighthouse/package-lock.json (12.2.3, the newest that
runs on Debian's Node 20), driving Debian's Chromium. Exit status 1 if a score is under 95.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from werkzeug.serving import make_server  # noqa: E402

from fundraiser import create_app  # noqa: E402
from fundraiser.campaigns.services import import_campaign  # noqa: E402
from fundraiser.extensions import db  # noqa: E402

LIGHTHOUSE = REPO / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95
SEED = next(
    (p for p in [REPO.parent / "shared/seed/000_aef70841e1f31376.txt"] if p.exists()),
    REPO / "content" / "seed-article.txt",
)


def demo_site(folder: str):
    """The app and the simulator on free loopback ports, with the seed article as campaign."""
    from simulators.stripe import start_simulator

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/lighthouse.sqlite3",
            "MAIL_OUTBOX": f"{folder}/outbox",
            "MEDIA_DIR": f"{folder}/media",
            "RATELIMIT_ENABLED": False,
            "LOG_FORMAT": "text",
        }
    )
    with app.app_context():
        db.create_all()
        import_campaign(SEED, "kazakhstan", "5000", "EUR", make_default=True)
        db.session.commit()
    logging.getLogger().setLevel(logging.WARNING)  # the table, not every request
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["BASE_URL"] = url
    simulator = start_simulator(
        webhook_url=f"{url}/stripe/webhook", webhook_secret=app.config["STRIPE_WEBHOOK_SECRET"]
    )
    app.config["STRIPE_API_BASE"] = simulator.url
    return app, url, server, simulator


def paid_thank_you_page(app, url: str, simulator) -> str:
    """Give €25 through the form and the simulator's checkout: the thank-you page's address."""
    response = app.test_client().post(
        "/donate",
        data={"campaign": "kazakhstan", "amount": "25", "currency": "EUR",
              "frequency": "one-time", "email": "reader@example.org"},
        headers={"Origin": url},
    )  # fmt: skip
    session_id = re.search(r"/c/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"]).group(1)
    request = urllib.request.Request(  # noqa: S310 - the loopback simulator
        f"{simulator.url}/_sim/checkout/{session_id}/complete",
        data=json.dumps({"card": "4242424242424242"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=30).read()  # noqa: S310 - loopback simulator
    simulator.flush(timeout=30)
    return f"{url}/donate/thanks?session_id={session_id}"


def audit(url: str, folder: str) -> dict[str, int]:
    report = Path(folder) / "report.json"
    subprocess.run(  # noqa: S603
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
         f"--only-categories={','.join(CATEGORIES)}", "--form-factor=mobile",
         "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"],
        check=True, timeout=300, env=os.environ | {"CHROME_PATH": CHROMIUM},
    )  # fmt: skip
    found = json.loads(report.read_text())["categories"]
    return {name: round(found[name]["score"] * 100) for name in CATEGORIES}


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("Lighthouse is missing: cd tools/lighthouse && npm ci", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as folder:
        app, url, server, simulator = demo_site(folder)
        try:
            pages = {
                "landing": f"{url}/",
                "embed": f"{url}/embed/kazakhstan",
                "thank-you": paid_thank_you_page(app, url, simulator),
            }
            scores = {name: audit(page, folder) for name, page in pages.items()}
        finally:
            simulator.stop()
            server.shutdown()
    header = f"{'page (phone)':<14}" + "".join(f"{c:>16}" for c in CATEGORIES)
    print(header)
    print("-" * len(header))
    for name, row in scores.items():
        print(f"{name:<14}" + "".join(f"{row[c]:>16}" for c in CATEGORIES))
    low = [(n, c) for n, row in scores.items() for c in CATEGORIES if row[c] < TARGET]
    print(f"\nTarget: {TARGET} or more everywhere: {'met' if not low else f'missed at {low}'}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
