"""docs/openapi.yaml is true: schemathesis drives the JSON endpoints and checks every answer."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.conftest import REPO_ROOT
from tests.fuzz.test_webhook_fuzz import signature_for

OPENAPI = REPO_ROOT / "docs" / "openapi.yaml"


# Loaded at import (schemathesis' lazy from_fixture loader does not run under pytest 9).
schema = schemathesis.openapi.from_path(OPENAPI)


def well_formed_event(case) -> bool:
    """A POST whose body the schema calls a valid event: we sign it, as Stripe would."""
    body = case.body
    if (case.method, case.path) != ("POST", "/stripe/webhook"):
        return False
    if "Stripe-Signature" not in (case.headers or {}):
        return False
    return (
        isinstance(body, dict)
        and isinstance(body.get("id"), str)
        and body.get("object") == "event"
        and isinstance(body.get("type"), str)
        and type(body.get("created")) is int
        and isinstance(body.get("data"), dict)
        and isinstance(body["data"].get("object"), dict)
    )


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_json_endpoints_answer_as_described(case, app, campaign):
    if not well_formed_event(case):
        case.call_and_validate(app=app)
        return
    payload = json.dumps(case.body)
    response = app.test_client().post(
        "/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature_for(payload)},
    )
    # Whether a signed event is taken depends on its data fitting its type, which the schema
    # cannot say: 200 or 400 are both right, and the answer must still match the description.
    case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])


def test_the_description_names_every_json_endpoint(app):
    described = set(schema.raw_schema["paths"])
    json_rules = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/stripe/", "/healthz", "/metrics"))
    }
    assert json_rules <= described, json_rules - described
