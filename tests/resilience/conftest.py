"""Fixtures for fault tests: a second app wired through faulty parts, with its own simulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from fundraiser import create_app
from tests.conftest import WEBHOOK_SECRET, LiveServer


@dataclass
class Stack:
    app: object
    server: LiveServer
    stripe: object

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.server.url + path, timeout=15) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_form(self, path: str, form: dict) -> tuple[int, dict, str]:
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            self.server.url + path, data=data, headers={"Origin": self.server.url}
        )
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def json(self, path: str) -> dict:
        return json.loads(self.get(path)[1])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def make_stack(app, app_config):
    """Build an app with config overrides, serve it on loopback, give it its own simulator."""
    from simulators.stripe import start_simulator

    stacks: list[Stack] = []

    def build(**overrides) -> Stack:
        simulator = start_simulator(
            webhook_secret=WEBHOOK_SECRET, retry_delays=(0.3, 0.6, 1.0, 1.5, 2.0, 3.0)
        )
        config = {**app_config, "STRIPE_API_BASE": simulator.url, **overrides}
        application = create_app(config)
        server = LiveServer(application).start()
        application.config["BASE_URL"] = server.url
        simulator.sim.webhook_url = f"{server.url}/stripe/webhook"
        stack = Stack(application, server, simulator)
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        stack.stripe.flush(timeout=10)
        stack.stripe.stop()
        stack.server.stop()
        with stack.app.app_context():
            from fundraiser.extensions import db

            db.engine.dispose()
    # Flask-Limiter keeps one state per process: hand it back to the shared test app.
    from fundraiser.extensions import limiter

    limiter.init_app(app)
