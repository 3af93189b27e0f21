"""UsageRecorded and UsageInvoiced v2 carry the amount the domain rated; a v1 message met on an
old ledger topic carries none, and the projector then prices the line with the domain's own
function: both give the same balances row, to the last decimal."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from consumers import kafka_clients
from domain.usage import UsageReport
from ledger.processes import projector_process, run
from readside.history import customer_events
from schemas import registry
from tests.factories import ADMIN, OPENED_AT
from tests.read_side_helpers import live_balances

# A price and a markup whose product has many decimals: 24 of them are kept, none rounded.
UNIT_PRICE, MARKUP = Decimal("0.041666667"), Decimal("12.5")
QUANTITIES = ("3.333333333", "0.000000001", "17", "250.5")
RATED_USAGE = ("UsageRecorded", "UsageInvoiced")


def customer_with_usage_partly_invoiced(app, customer_id: str) -> None:
    """Usage in September (invoiced on 1 October) and in October (not invoiced yet)."""
    app.open_account(customer_id, f"Customer {customer_id}", "EUR", 30, Decimal("20"), at=OPENED_AT, actor=ADMIN)
    app.add_metered_subscription(customer_id, f"{customer_id}-vm", "Virtual Machines", "vcpu-hours", "h",
                                 UNIT_PRICE, MARKUP, at=OPENED_AT, actor=ADMIN)
    reports = []
    for month in (9, 10):
        start = datetime(2026, month, 2, tzinfo=timezone.utc)
        for n, quantity in enumerate(QUANTITIES):
            reports.append(UsageReport(
                usage_id=f"{customer_id}-{month}-{n}", source="test", customer_id=customer_id,
                subscription_id=f"{customer_id}-vm", product="Virtual Machines", meter="vcpu-hours",
                quantity=Decimal(quantity), unit="h", period_start=start, period_end=start + timedelta(hours=1),
                observed_at=start + timedelta(hours=2),
            ))
    assert not app.record_usage(reports, actor="system:ingest").rejected
    app.issue_invoice(customer_id, date(2026, 9, 1), date(2026, 9, 30),
                      at=datetime(2026, 10, 1, 6, tzinfo=timezone.utc), actor=ADMIN)


def publish(settings, customer_id: str, usage_version: int) -> list[bytes]:
    """The customer's stored events onto the ledger topic as a relay would, the rated usage
    written with `usage_version` of its schemas (1: the relay before the amount was carried)."""
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    sent = []
    for event_type, record in customer_events(settings, customer_id):
        name = f"billing.ledger.{event_type}"
        version = usage_version if event_type in RATED_USAGE else None
        value = registry().encode(name, record, version)
        sent.append(value)
        producer.send(settings.ledger_topic, key=customer_id.encode(), value=value,
                      headers=[("event_type", event_type.encode()), ("event_id", record["event_id"].encode())])
    producer.flush()
    producer.close()
    return sent


def project(settings) -> None:
    process = projector_process(settings)
    try:
        run([process], threading.Event(), until_drained=True)
    finally:
        process.close()


def test_a_v1_and_a_v2_usage_message_of_the_same_lines_give_the_same_balances_row(settings, app):
    for customer in ("OLD-TOPIC", "NEW-TOPIC"):
        customer_with_usage_partly_invoiced(app, customer)
    old_messages = publish(settings, "OLD-TOPIC", usage_version=1)
    publish(settings, "NEW-TOPIC", usage_version=2)
    # the old topic's rated usage really carries no amount: its reader must price it
    decoded = [registry().decode(m) for m in old_messages]
    assert {(w.version, r["amount"]) for w, r in decoded if w.short_name in RATED_USAGE} == {(2, None)}
    assert {registry().writer_of(m).version for m in old_messages if registry().writer_of(m).short_name in RATED_USAGE} == {1}

    project(settings)

    rows = {row["customer_id"]: row for row in live_balances(settings)}
    ignored = ("customer_id", "customer_name", "last_notification_id")
    old, new = ({k: v for k, v in rows[c].items() if k not in ignored} for c in ("OLD-TOPIC", "NEW-TOPIC"))
    assert old == new
    october = sum(Decimal(q) * UNIT_PRICE * (1 + MARKUP / 100) for q in QUANTITIES)  # not invoiced yet
    assert new["unbilled_usage"] == october
    assert new["usage_lines"] == 2 * len(QUANTITIES) and new["invoiced"] > 0


def test_the_relay_writes_the_amount_the_domain_rated_on_the_newest_usage_schemas(settings, app):
    customer_with_usage_partly_invoiced(app, "CUST-1")
    records = list(customer_events(settings, "CUST-1"))
    recorded = {r["usage_id"]: r["amount"] for t, r in records if t == "UsageRecorded"}
    (invoice,) = [r for t, r in records if t == "InvoiceIssued"]
    billed = [usage_id for line in invoice["lines"] for usage_id in line["usage_ids"]]
    assert len(recorded) == 2 * len(QUANTITIES) and len(billed) == len(QUANTITIES)
    assert "UsageInvoiced" not in {t for t, _ in records}  # the invoice names its lines: no event per line
    # what the invoice takes off unbilled usage is exactly what its lines brought in
    assert invoice["billed_usage"] == sum(recorded[usage_id] for usage_id in billed)
    assert recorded["CUST-1-9-0"] == Decimal("3.333333333") * UNIT_PRICE * Decimal("1.125")
    for name in ("billing.ledger.UsageRecorded", "billing.ledger.UsageInvoiced", "billing.ledger.InvoiceIssued"):
        assert registry().latest(name).version == 2


def test_the_balances_projection_takes_the_rated_amount_from_the_event_and_prices_only_a_v1_line():
    from domain.money import price_usage
    from projections.balances import change_for

    at = datetime(2026, 9, 2, tzinfo=timezone.utc)
    terms = {"customer_id": "CUST-1", "notification_id": 5, "occurred_at": at, "quantity": Decimal("2.000000000"),
             "unit_price": Decimal("0.500000000"), "markup_percent": Decimal("10.0000")}
    # an amount the terms would not give: the event's word is taken, the line is not priced again
    carried = change_for("UsageRecorded", terms | {"amount": Decimal("7.25").quantize(Decimal("1e-24"))})
    assert str(carried.unbilled_usage) == "7.25"
    assert change_for("UsageInvoiced", terms | {"amount": Decimal("7.25")}).unbilled_usage == Decimal("-7.25")
    v1 = change_for("UsageRecorded", terms | {"amount": None})
    assert v1.unbilled_usage == price_usage(Decimal(2), Decimal("0.5"), Decimal(10)) == Decimal("1.1")


def test_a_batchs_usage_amounts_are_summed_exactly_whatever_their_digits():
    from projections.balances import change_for, fold

    at = datetime(2026, 9, 2, tzinfo=timezone.utc)
    large, tiny = Decimal("1234567.891"), Decimal("0.000000000000000000000001")  # 24 decimals, as rated
    events = [{"customer_id": "CUST-1", "notification_id": n, "occurred_at": at, "amount": amount}
              for n, amount in enumerate((large, tiny, tiny), 1)]
    (batch,) = fold([change_for("UsageRecorded", e) for e in events])
    assert batch.unbilled_usage == Decimal("1234567.891000000000000000000002")  # 31 digits: the default context keeps 28
    chained = change_for("UsageRecorded", events[0]).then(change_for("UsageRecorded", events[1]))
    assert chained.unbilled_usage == Decimal("1234567.891000000000000000000001")
