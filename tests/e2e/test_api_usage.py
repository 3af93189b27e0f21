"""Usage over HTTP end to end: posted by an upstream system's service token, checked as the
Avro intake checks it, published to the usage topic, ingested by a real `ledger ingest
--until-idle`, and visible in the balances view."""

from __future__ import annotations

import subprocess
import sys

from domain.credentials import TokenKind
from consumers import kafka_clients
from tests.api_helpers import admin, api  # noqa: F401 - fixtures
from tests.factories import open_customer
from tests.read_side_helpers import relay_and_project


def usage(event_id: str, customer_id: str = "CUST-1", **changes) -> dict:
    return {
        "event_id": event_id, "source_system": "metering-eu", "customer_id": customer_id,
        "subscription_id": f"{customer_id}-vm", "product": "Virtual Machines", "meter": "vcpu-hours",
        "quantity": "2", "unit": "h", "usage_start": "2026-09-01T00:00:00Z", "usage_end": "2026-09-02T00:00:00Z",
        "observed_at": "2026-09-02T00:01:00Z", **changes,
    }


def published(settings) -> list:
    consumer = kafka_clients.consumer(settings, group_id=None, consumer_timeout_ms=3000)
    consumer.subscribe([settings.usage_topic])
    try:
        return list(consumer)
    finally:
        consumer.close()


def test_usage_posted_over_http_is_ingested_and_shows_in_the_balances(api, admin, cli_env):
    open_customer(api.ctx.ledger, "CUST-1")
    batch = [
        usage("U-1"),
        usage("U-1"),  # a retry: published again, recorded once
        usage("U-2", quantity="-1"),
        usage("U-3", quantity=2.5),  # a JSON number: never a float where money is computed
        {k: v for k, v in usage("U-4").items() if k != "meter"},
        usage("U-5", usage_end="2026-08-31T00:00:00Z"),
        usage("U-6", colour="blue"),
    ]
    with api.client(api.token(TokenKind.SERVICE, "service:metering-eu")) as upstream:
        answer = upstream.post("/v1/usage", json={"events": batch})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [(i["status"], i["reason"]) for i in result["data"]] == [
        ("accepted", None), ("accepted", None), ("refused", "negative_quantity"), ("refused", "wrong_type"),
        ("refused", "missing_field"), ("refused", "period_ends_before_start"), ("refused", "wrong_schema"),
    ]
    assert (result["accepted"], result["refused"]) == (2, 5)
    messages = published(api.ctx.settings)
    assert [(m.key, dict(m.headers)["published_by"]) for m in messages] == [(b"CUST-1", b"service:metering-eu")] * 2

    ingest = subprocess.run([sys.executable, "-m", "ledger.cli", "ingest", "--until-idle"], env=cli_env,
                            capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    relay_and_project(api.ctx.settings, api.ctx.ledger)
    row = admin.get("/v1/views/balances", params={"customer_id": "CUST-1"}).json()["data"][0]
    assert row["usage_lines"] == 1 and row["unbilled_usage"] == "1"  # 2 h at 0.50, recorded once


def test_usage_for_an_account_not_yet_open_is_dead_lettered_then_redriven_over_http(api, admin):
    from tests.kafka_helpers import ingest_all

    with api.client(api.token(TokenKind.SERVICE, "service:metering-eu")) as upstream:
        assert upstream.post("/v1/usage", json={"events": [usage("U-1", "LATE")]}).json()["accepted"] == 1
    ingest_all(api.ctx.settings, api.ctx.ledger)
    letters = admin.get("/v1/dead-letters", params={"customer_id": "LATE"}).json()["data"]
    assert [(d["reason"], d["key"]) for d in letters] == [("unknown_customer", "LATE")]
    assert admin.get("/v1/dead-letters", params={"reason": "gone"}).status_code == 400

    open_customer(api.ctx.ledger, "LATE")
    redriven = admin.post("/v1/dead-letters/redrive", json={"ids": [letters[0]["id"]]})
    assert redriven.json() == {"redriven": 1}
    assert admin.post("/v1/dead-letters/redrive", json={"ids": ["0:999999"]}).status_code == 404
    ingest_all(api.ctx.settings, api.ctx.ledger)
    recorded = [e for e in api.events() if type(e).__name__ == "Recorded"]
    assert [(e.usage_id, e.customer_id, e.actor) for e in recorded] == [("U-1", "LATE", "system:ingest")]
