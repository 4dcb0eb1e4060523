"""The words the page scripts show come from the page, in its language: donate.js reads them
from the panel's data, challenge.js from its form, and live totals count supporters with the
language's own plural categories."""

from __future__ import annotations

import html
import json
import re

from flask import g

from fundraiser.i18n import plural_labels
from tests.i18n.catalogues import ROOT


def test_every_message_donate_js_says_is_given_by_the_page(client, campaign):
    script = (ROOT / "static" / "js" / "donate.js").read_text("utf-8")
    keys = set(re.findall(r'\bsay\("(\w+)"', script))
    assert {"enter", "places", "fee", "summary", "busy", "submit"} <= keys
    markup = client.get("/").get_data(as_text=True)
    panel = json.loads(html.unescape(re.search(r'data-panel="([^"]+)"', markup).group(1)))
    messages = panel["messages"]
    for key in keys:
        assert messages.get(key) or messages.get(f"{key}_by_currency"), key
    assert messages["places_by_currency"]["EUR"] == "Please use at most 2 decimal places."
    assert messages["whole_by_currency"]["EUR"] == "EUR amounts are whole numbers."
    assert messages["fee"] == "Add %(fee)s so we receive all %(amount)s"


def test_the_challenge_and_the_totals_carry_their_words(app, client, campaign):
    markup = client.get("/").get_data(as_text=True)
    labels = json.loads(
        html.unescape(re.search(r"data-supporters-labels='([^']+)'", markup).group(1))
    )
    assert labels == {"one": "supporter", "other": "supporters"}
    script = (ROOT / "static" / "js" / "challenge.js").read_text("utf-8")
    assert 'getAttribute("data-done")' in script
    template = (ROOT / "templates" / "donations" / "challenge.html").read_text("utf-8")
    assert "data-done=\"{{ _('Done — taking you to the secure checkout…') }}\"" in template


def test_plural_words_follow_the_languages_categories(app):
    with app.test_request_context("/"):
        g.language = "ru"
        russian = plural_labels("supporter", "supporters")
    with app.test_request_context("/"):
        g.language = "de"
        german = plural_labels("supporter", "supporters")
    # Russian counts one / few / many (1, 2, 5 supporters); German one / other.
    assert set(russian) == {"one", "few", "many", "other"}
    assert set(german) == {"one", "other"}
    # Each category's word is the catalogue's form for it (Russian: 1, 2, 5 supporters).
    forms = [russian[category] for category in ("one", "few", "many")]
    assert forms == ["сторонник", "сторонника", "сторонников"]
    assert german == {"one": "Unterstützer*in", "other": "Unterstützer*innen"}
