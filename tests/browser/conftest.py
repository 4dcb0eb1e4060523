"""Browser fixtures: Debian's Chromium through Playwright, pages that record every error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1366, "height": 900}, "device_scale_factor": 1},
}


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the run; the tests skip (not fail) where Chromium is not installed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's Chromium")
    # Debian's Chromium, never `playwright install`'s download.
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Problems:
    """Everything that went wrong in the page, as a reader's browser saw it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.console_errors + self.page_errors + self.failed_requests


@dataclass
class Visit:
    page: object
    problems: Problems
    device: str


def open_visit(browser, device: str) -> Visit:
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    problems = Problems()
    page.on(
        "console",
        lambda message: message.type == "error" and problems.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: problems.failed_requests.append(f"{request.url}: {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and problems.failed_requests.append(f"{response.url}: HTTP {response.status}")
        ),
    )
    return Visit(page, problems, device)


@pytest.fixture(params=list(VIEWPORTS))
def visit(request, browser):
    """A fresh browser context at a phone and at a desktop size, closed afterwards."""
    opened = open_visit(browser, request.param)
    yield opened
    opened.page.context.close()


@pytest.fixture
def desktop(browser):
    opened = open_visit(browser, "desktop")
    yield opened
    opened.page.context.close()


@pytest.fixture
def phone(browser):
    opened = open_visit(browser, "phone")
    yield opened
    opened.page.context.close()


@pytest.fixture
def served_at_live_url(app, live_server):
    """Stripe's success and cancel links must lead back to the server the browser uses."""
    original = app.config["BASE_URL"]
    app.config["BASE_URL"] = live_server.url
    yield live_server.url
    app.config["BASE_URL"] = original


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots kept for people to look at (and by CI as artefacts); ignored by git."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
