"""Every reason a usage message is refused, through the real broker: the dead letter keeps the
original bytes, says why and whence, and the ingest goes on; counts reconcile; redrive."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from consumers.dead_letters import REASONS, read_dead_letters
from consumers.ingest import check_usage
from ledger.processes import ingest_process
from tests.cli_helpers import ledger, staff  # noqa: F401 - fixture
from tests.factories import ADMIN, OPENED_AT, open_customer, usage_report
from tests.kafka_helpers import ingest_all, ingest_until_idle, publish_raw
from tests.usage_messages import one_of_each_reason, usage


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
    letters = {reason_of[letter.value]: letter for letter in read_dead_letters(settings, settings.dlq_topic)}
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
    report = usage_report("u-1", quantity=quantity)
    from schemas import DecodeError

    with pytest.raises(DecodeError) as refused:
        check_usage(report)
    assert refused.value.reason == reason


def test_redriven_dead_letters_are_recorded_once_after_their_cause_is_fixed(settings, app, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    open_customer(app, "CUST-1")
    publish_raw(settings, [
        (b"CUST-NEW", usage("u-early-1", customer_id="CUST-NEW", subscription_id="CUST-NEW-vm")),
        (b"CUST-NEW", usage("u-early-2", customer_id="CUST-NEW", subscription_id="CUST-NEW-vm")),
        (b"CUST-1", usage("u-neg", quantity="-1")),
    ])
    process = ingest_process(settings, app)
    try:
        ingest_until_idle(process)
        listed = json.loads(ledger(cli_env, "dlq", "list", "--format", "json").stdout)
        assert sorted(row["reason"] for row in listed) == ["negative_quantity", "unknown_customer", "unknown_customer"]
        only_unknown = ledger(cli_env, "dlq", "list", "--reason", "unknown_customer", "--format", "csv")
        assert only_unknown.stdout.count("unknown_customer") == 2

        # The account is opened late; the dead letters are redriven, twice by mistake.
        open_customer(app, "CUST-NEW")
        first = ledger(cli_env, "dlq", "redrive", "--reason", "unknown_customer")
        assert first.returncode == 0 and "redrove 2" in first.stdout, first.stderr
        ingest_until_idle(process)
        one = next(row["id"] for row in listed if row["reason"] == "unknown_customer")
        again = ledger(cli_env, "dlq", "redrive", "--offset", one)
        assert "redrove 1" in again.stdout, again.stderr
        ingest_until_idle(process)
    finally:
        process.close()

    counts = process.ingest.counts
    assert (counts.consumed, counts.recorded, counts.duplicates, counts.dead_letters) == (6, 2, 1, 3)
    stats = ledger(cli_env, "stats", "--format", "json")
    total = json.loads(stats.stdout)[-1]
    assert total == {
        "source": "total", "consumed": 6, "recorded": 2, "duplicates": 1, "conflicting": 0, "dead_letters": 3, "reconciles": "yes",
    }


def test_redrive_refuses_without_a_choice_and_names_an_unknown_position(app, settings, staff):
    cli_env = staff.env(ADMIN)  # signed in as the global admin; operator commands need no token
    from consumers import kafka_clients

    kafka_clients.ensure_topics(settings)
    nothing = ledger(cli_env, "dlq", "redrive")
    assert nothing.returncode == 2 and nothing.stderr.strip().splitlines()[-1].startswith("error: say which")
    unknown = ledger(cli_env, "dlq", "redrive", "--offset", "0:99")
    assert unknown.returncode == 2 and "no dead letter at 0:99" in unknown.stderr
