"""No message stops the projector: a record on the ledger topic that is no ledger event
(garbage, a foreign fingerprint, another schema, a cut-short body, no value at all) becomes
a dead letter on `<ledger topic>.dlq` with its reason and original bytes, counted with the
projector's offsets, and the real events around it are projected. Any other failure of a
consumer names where it happened."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter

import psycopg
import pytest

from consumers import kafka_clients
from consumers.dead_letters import read_dead_letters
from consumers.projector import dead_letter_counts
from ledger.processes import projector_process, relay_process, run
from projections.balances import BalancesProjection
from readside.verify import verify
from schemas import registry
from tests.cli_helpers import ledger
from tests.factories import open_customer, usage_record, usage_recorded
from tests.read_side_helpers import live_balances, record_usage, relay_all, relay_and_project

UNKNOWN_FINGERPRINT = b"\xc3\x01" + bytes.fromhex("0123456789abcdef")


def poison() -> list[tuple[bytes | None, bytes, str]]:
    """(value, event_type header, the reason it is dead-lettered with), as producers other
    than the relay might write them; typed as a projection reads them, so they are decoded."""
    ledger_record = registry().encode("billing.ledger.UsageRecorded", usage_recorded())
    usage = b"UsageRecorded"
    return [
        (b"not avro at all", usage, "not_single_object"),
        (UNKNOWN_FINGERPRINT + b"\x02\x04body", usage, "unknown_fingerprint"),
        (registry().encode("billing.usage.UsageEvent", usage_record("u-foreign")), usage, "wrong_schema"),
        (ledger_record[:-9], usage, "malformed_body"),
        (None, usage, "not_single_object"),  # a tombstone
        (ledger_record, b"\xff\xfe", "wrong_schema"),  # a header that is no type name, nor text
    ]


def publish_on_the_ledger_topic(settings, messages: list[tuple[bytes | None, bytes, str]]) -> None:
    producer = kafka_clients.producer(settings)
    for value, event_type, _ in messages:
        producer.send(settings.ledger_topic, key=b"CUST-1", value=value, headers=[("event_type", event_type)])
    producer.flush()
    producer.close()


def projector_dead_letters(settings) -> dict[str, int]:
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(f"SET search_path TO {settings.read_schema}")
        return dead_letter_counts(conn, settings.group("projector"))


def test_records_that_are_no_ledger_event_are_dead_lettered_and_the_real_events_around_them_projected(
    settings, app, cli_env, caplog
):
    open_customer(app, "CUST-1", unit_price="0.5")
    record_usage(app, "CUST-1", 3)
    relay_all(settings, app)
    bad = poison()
    publish_on_the_ledger_topic(settings, bad)
    record_usage(app, "CUST-1", 3, first=3)

    with caplog.at_level(logging.WARNING, logger="consumers.projector"):
        relay_and_project(settings, app)

    (balance,) = live_balances(settings)
    assert balance["usage_lines"] == 6
    letters = list(read_dead_letters(settings, settings.ledger_dlq_topic))
    assert Counter(letter.reason for letter in letters) == Counter(reason for _, _, reason in bad)
    assert sorted((letter.value or b"") for letter in letters) == sorted((value or b"") for value, _, _ in bad)
    assert sorted(dict(letter.headers)["event_type"] for letter in letters) == sorted(header for _, header, _ in bad)
    for letter in letters:
        assert letter.key == b"CUST-1"
        assert letter.header("source_topic") == settings.ledger_topic and letter.header("detail")
        assert f"projector: dead letter {settings.ledger_topic}:{letter.header('source_partition')}@" \
               f"{letter.header('source_offset')}: {letter.reason}" in caplog.text
    assert projector_dead_letters(settings) == {settings.ledger_topic: len(bad)}
    assert verify(settings)[0] == []

    relay_and_project(settings, app)  # a restarted projector: nothing read again, nothing sent again
    assert projector_dead_letters(settings) == {settings.ledger_topic: len(bad)}
    listed = ledger(cli_env, "dlq", "list", "--ledger", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert Counter(row["reason"] for row in json.loads(listed.stdout)) == Counter(reason for _, _, reason in bad)
    stats = ledger(cli_env, "stats")
    assert f"projector: {len(bad)} ledger record(s) dead-lettered to {settings.ledger_dlq_topic}" in stats.stderr


def test_a_replay_from_kafka_skips_what_the_projector_dead_lettered(settings, app):
    from readside.replay import replay

    open_customer(app, "CUST-1")
    record_usage(app, "CUST-1", 2)
    relay_all(settings, app)
    publish_on_the_ledger_topic(settings, poison())
    record_usage(app, "CUST-1", 2, first=2)
    relay_and_project(settings, app)
    live = live_balances(settings)

    result = replay(settings, "balances", "kafka")

    assert result.complete and live_balances(settings) == live


def test_an_unexpected_failure_of_the_projector_names_the_topic_partition_and_offsets(settings, app, caplog, monkeypatch):
    open_customer(app, "CUST-1")
    relay_all(settings, app)

    def broken(self, events):
        raise RuntimeError("a bug in a projection")

    monkeypatch.setattr(BalancesProjection, "changes", broken)
    process = projector_process(settings)
    try:
        with pytest.raises(RuntimeError), caplog.at_level(logging.ERROR, logger="consumers.projector"):
            run([process], threading.Event(), until_drained=True)
    finally:
        process.close()
    assert re.search(
        rf"projector: batch {re.escape(settings.ledger_topic)}:\d+ offsets \d+ to \d+ not applied "
        r"\(at notification \d+, AccountOpened of customer 'CUST-1'\): RuntimeError: a bug in a projection", caplog.text,
    ), caplog.text


def test_an_event_the_relay_cannot_convert_is_named_by_its_notification_id(settings, app, caplog, monkeypatch):
    import consumers.relay

    open_customer(app, "CUST-1")
    convert = consumers.relay.to_ledger_record

    def fails_on_the_second(event, notification_id):
        if notification_id == 2:
            raise OverflowError("Python int too large to convert to C long")
        return convert(event, notification_id)

    monkeypatch.setattr(consumers.relay, "to_ledger_record", fails_on_the_second)
    process = relay_process(settings, app)
    try:
        with pytest.raises(OverflowError), caplog.at_level(logging.ERROR, logger="consumers.relay"):
            process.step()
    finally:
        process.close()
    assert "relay: stored event 2 (" in caplog.text
    assert "cannot be made a ledger event: OverflowError: Python int too large" in caplog.text
