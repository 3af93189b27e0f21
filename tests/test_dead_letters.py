"""Every reason a usage message is refused, through the real broker: the dead letter keeps the
original bytes, says why and whence, and the ingest goes on; counts reconcile; redrive."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from consumers.dead_letters import REASONS, read_dead_letters
from consumers.ingest import check_usage
from domain.usage import UsageReport
from ledger.processes import ingest_process
from schemas import encode_with, registry
from tests.factories import ADMIN, OPENED_AT, open_customer, usage_record
from tests.kafka_helpers import ingest_all, ingest_until_idle, publish_raw
from tests.test_schema_evolution import V1_HEADER, retyped, usage_v2

USAGE = "billing.usage.UsageEvent"


def usage(event_id: str, **changes) -> bytes:
    return registry().encode(USAGE, usage_record(event_id, **changes))


def one_of_each_reason() -> dict[str, bytes]:
    """A message for each reason the ingest can meet (non-finite quantities cannot be
    written as an Avro decimal: see the unit test below), keyed by the reason expected."""
    start = usage_record("x")["usage_start"]
    without_attributes = usage_v2(lambda s: s["fields"].pop())
    event_id_as_long = usage_v2(retyped("event_id", "long"))
    return {
        "not_single_object": b"quantity=12.5;customer=CUST-1",
        "unknown_fingerprint": b"\xc3\x01" + b"\x00" * 8 + usage("u-fp")[10:],
        "wrong_schema": registry().encode("billing.ledger.AccountClosed", {
            "event_id": "00000000-0000-0000-0000-000000000001", "notification_id": 1,
            "aggregate_id": "00000000-0000-0000-0000-000000000002", "aggregate_version": 2,
            "customer_id": "CUST-1", "occurred_at": start, "actor": ADMIN,
        }),
        "missing_field": V1_HEADER + encode_with(without_attributes, usage_record("u-missing"))[10:],
        "wrong_type": V1_HEADER + encode_with(event_id_as_long, usage_record("u-type") | {"event_id": 7})[10:],
        "malformed_body": usage("u-cut")[:-4],
        "blank_usage_id": usage(""),
        "negative_quantity": usage("u-negative", quantity="-2"),
        "period_ends_before_start": usage("u-backwards", usage_end=start - timedelta(hours=1)),
        "unknown_customer": usage("u-nobody", customer_id="NOBODY", subscription_id="NOBODY-vm"),
        "unknown_subscription": usage("u-nosub", subscription_id="CUST-1-storage"),
        "account_closed": usage("u-closed", customer_id="CUST-CLOSED", subscription_id="CUST-CLOSED-vm"),
        "invalid_usage": usage("u-unit", unit="GB"),
    }


def test_each_refused_message_is_dead_lettered_with_its_reason_and_the_rest_recorded(settings, app):
    open_customer(app, "CUST-1")
    open_customer(app, "CUST-CLOSED")
    app.close_account("CUST-CLOSED", at=OPENED_AT, actor=ADMIN)
    bad = one_of_each_reason()
    messages = [(b"CUST-1", usage("u-ok-1"))]
    messages += [(OTHER_KEYS.get(reason, b"CUST-1"), value) for reason, value in bad.items()]
    messages += [(b"CUST-1", usage("u-ok-2")), (b"CUST-1", usage("u-ok-1"))]
    publish_raw(settings, messages, headers=[("trace_id", b"t-42")])

    process = ingest_all(settings, app)

    counts = process.ingest.counts
    assert (counts.consumed, counts.recorded, counts.duplicates, counts.dead_letters) == (len(messages), 2, 1, len(bad))
    reason_of = {value: reason for reason, value in bad.items()}
    letters = {reason_of[letter.value]: letter for letter in read_dead_letters(settings.bootstrap_servers, settings.dlq_topic)}
    assert {key: letter.reason for key, letter in letters.items()} == {reason: reason for reason in bad}
    for reason, letter in letters.items():
        assert letter.value == bad[reason], "a dead letter keeps the original bytes"
        assert letter.header("source_topic") == settings.usage_topic
        assert int(letter.header("source_offset")) >= 0 and letter.header("source_partition").isdigit()
        assert letter.header("dead_lettered_at") and letter.header("detail")
        assert letter.header("trace_id") == "t-42", "the message's own headers stay"
    assert "unit 'GB'" in letters["invalid_usage"].header("detail")

    totals = {c: sum(row[c] for row in app.recorder.ingest_counts()) for c in ("consumed", "recorded", "duplicates", "conflicting", "dead_letters")}
    assert totals == {"consumed": len(messages), "recorded": 2, "duplicates": 1, "conflicting": 0, "dead_letters": len(bad)}


# The message key is the customer id (else key_mismatch).
OTHER_KEYS = {"unknown_customer": b"NOBODY", "account_closed": b"CUST-CLOSED"}


def test_every_reason_met_here_is_documented():
    # tests/test_usage_poison_corpus.py meets every documented reason.
    assert set(one_of_each_reason()) | {"non_finite_quantity"} <= set(REASONS)


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [(Decimal("NaN"), "non_finite_quantity"), (Decimal("Infinity"), "non_finite_quantity"), (Decimal("-0.5"), "negative_quantity")],
)
def test_a_quantity_that_is_not_a_finite_non_negative_number_is_refused(quantity, reason):
    r = usage_record("u-1")
    report = UsageReport(
        r["event_id"], r["source_system"], r["customer_id"], r["subscription_id"], r["product"], r["meter"],
        quantity, r["unit"], r["usage_start"], r["usage_end"], r["observed_at"],
    )
    from schemas import DecodeError

    with pytest.raises(DecodeError) as refused:
        check_usage(report)
    assert refused.value.reason == reason


def ledger_cli(cli_env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], env=cli_env, capture_output=True, text=True, timeout=120
    )


def test_redriven_dead_letters_are_recorded_once_after_their_cause_is_fixed(settings, app, cli_env):
    open_customer(app, "CUST-1")
    publish_raw(settings, [
        (b"CUST-NEW", usage("u-early-1", customer_id="CUST-NEW", subscription_id="CUST-NEW-vm")),
        (b"CUST-NEW", usage("u-early-2", customer_id="CUST-NEW", subscription_id="CUST-NEW-vm")),
        (b"CUST-1", usage("u-neg", quantity="-1")),
    ])
    process = ingest_process(settings, app)
    try:
        ingest_until_idle(process)
        listed = json.loads(ledger_cli(cli_env, "dlq", "list", "--format", "json").stdout)
        assert sorted(row["reason"] for row in listed) == ["negative_quantity", "unknown_customer", "unknown_customer"]
        only_unknown = ledger_cli(cli_env, "dlq", "list", "--reason", "unknown_customer", "--format", "csv")
        assert only_unknown.stdout.count("unknown_customer") == 2

        # The account is opened late; the dead letters are redriven, twice by mistake.
        open_customer(app, "CUST-NEW")
        first = ledger_cli(cli_env, "dlq", "redrive", "--reason", "unknown_customer")
        assert first.returncode == 0 and "redrove 2" in first.stdout, first.stderr
        ingest_until_idle(process)
        one = next(row["id"] for row in listed if row["reason"] == "unknown_customer")
        again = ledger_cli(cli_env, "dlq", "redrive", "--offset", one)
        assert "redrove 1" in again.stdout, again.stderr
        ingest_until_idle(process)
    finally:
        process.close()

    counts = process.ingest.counts
    assert (counts.consumed, counts.recorded, counts.duplicates, counts.dead_letters) == (6, 2, 1, 3)
    stats = ledger_cli(cli_env, "stats", "--format", "json")
    total = json.loads(stats.stdout)[-1]
    assert total == {
        "source": "total", "consumed": 6, "recorded": 2, "duplicates": 1, "conflicting": 0, "dead_letters": 3, "reconciles": "yes",
    }


def test_redrive_refuses_without_a_choice_and_names_an_unknown_position(settings, cli_env):
    from ledger import kafka

    kafka.ensure_topics(settings)
    nothing = ledger_cli(cli_env, "dlq", "redrive")
    assert nothing.returncode == 2 and nothing.stderr.strip().splitlines()[-1].startswith("error: say which")
    unknown = ledger_cli(cli_env, "dlq", "redrive", "--offset", "0:99")
    assert unknown.returncode == 2 and "no dead letter at 0:99" in unknown.stderr
