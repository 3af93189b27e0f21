"""The dead letters page: the usage the ingest refused and the ledger records the projector
could not read, each with its reason in words; a billing admin redrives usage once its cause
is fixed, and the ingest records it. A helpdesk agent neither sees the page nor may open it."""

from __future__ import annotations

from consumers import kafka_clients
from tests.billing_life import BILLING, HELPDESK
from tests.e2e.console_helpers import sign_in
from tests.factories import open_customer, usage_record
from tests.kafka_helpers import ingest_all, publish
from tests.read_side_helpers import relay_and_project


def a_record_that_is_no_ledger_event(settings) -> None:
    producer = kafka_clients.producer(settings)
    producer.send(settings.ledger_topic, key=b"LATE", value=b"not avro at all", headers=[("event_type", b"UsageRecorded")])
    producer.flush()
    producer.close()


def test_dead_letters_show_their_reasons_and_usage_is_redriven_once_its_account_is_open(new_console, settings, app,
                                                                                          pages):
    publish(settings, [usage_record("U-LATE-1", customer_id="LATE")])
    ingest_all(settings, app)
    a_record_that_is_no_ledger_event(settings)
    relay_and_project(settings, app)

    clerk = pages()
    sign_in(clerk, new_console.url, BILLING)
    clerk.get_by_role("link", name="Dead letters").click()
    usage = clerk.locator("#usage-dead-letters tbody tr")
    assert usage.count() == 1
    assert "unknown_customer: no account is open for the customer id" in usage.inner_text()
    assert "LATE" in usage.inner_text()
    ledger = clerk.locator("#ledger-dead-letters tbody tr")
    assert ledger.count() == 1 and "not_single_object: not Avro single-object encoded" in ledger.inner_text()
    assert clerk.locator("#ledger-dead-letters input[type=checkbox]").count() == 0, "ledger records are not redriven"

    clerk.get_by_role("button", name="Redrive").click()
    assert clerk.locator("p.error").inner_text() == "say which dead letters to redrive: ids, reasons or all"

    open_customer(app, "LATE")
    letter = usage.get_attribute("data-id")
    clerk.get_by_label(f"Redrive {letter}").check()
    clerk.get_by_role("button", name="Redrive").click()
    assert clerk.locator(".flash").inner_text() == (
        f"Redrove 1 dead letter to {settings.usage_topic}; the ingest records each usage id once.")
    ingest_all(settings, app)
    recorded = [e for e in new_console.events() if type(e).__name__ == "Recorded"]
    assert [(e.usage_id, e.customer_id) for e in recorded] == [("U-LATE-1", "LATE")]


def test_a_helpdesk_agent_neither_sees_nor_may_open_the_dead_letters(new_console, pages):
    agent = pages()
    sign_in(agent, new_console.url, HELPDESK)
    assert agent.get_by_role("link", name="Dead letters").count() == 0
    assert agent.request.get(f"{new_console.url}/dead-letters").status == 403
