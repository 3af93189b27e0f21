"""The poison corpus: every kind of bad usage message found so far, sent through the real
broker to ONE running ingest. For each kind, its fate (recorded, duplicate, conflicting
duplicate, or dead letter with the expected reason and the original bytes); then the counts
reconcile in `ledger stats`, and a valid message sent after all of them is recorded and
reaches the read models. A new kind found is one more row of CORPUS."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from kafka import KafkaProducer
from kafka.record.default_records import DefaultRecordBatchBuilder

from consumers import kafka_clients
from consumers.dead_letters import REASONS, read_dead_letters
from domain.usage import UsageReport, usage_line_id
from eventstore.postgres import open_application
from ledger.processes import ingest_process
from schemas import SchemaRegistry, registry
from tests.conftest import environment_of, own_settings
from tests.factories import ADMIN, OPENED_AT, open_customer, usage_record
from tests.kafka_helpers import ingest_until_idle
from tests.read_side_helpers import live_balances, relay_and_project
from tests.usage_messages import one_of_each_reason, usage

MB = 1024 * 1024
EXACT_QUANTITY, EXACT_PRICE, EXACT_MARKUP = "123456789012.123456789", "0.123456789", "12.5"
EXACT_AMOUNT = Decimal("17146776095.648149552593964336125")  # worked out by hand: no digit lost


@dataclass(frozen=True)
class Kind:
    name: str
    value: bytes
    fate: str  # recorded | duplicate | conflicting | dead_letter
    reason: str = ""  # the dead letter's reason
    key: bytes | None = b"CUST-1"
    compression: str | None = None  # the producer's codec (a batch of its own)
    usage_id: str = ""  # whose stored line a recorded/duplicate/conflicting kind is checked on

    @property
    def expected_reason(self) -> str:
        return "conflicting_duplicate" if self.fate == "conflicting" else self.reason


def dead(name: str, value: bytes, reason: str, key: bytes | None = b"CUST-1") -> Kind:
    return Kind(name, value, "dead_letter", reason, key)


def recorded(name: str, usage_id: str, key: bytes = b"CUST-1", compression: str | None = None, **changes) -> Kind:
    customer = key.decode()
    fields = {"customer_id": customer, **changes}
    return Kind(name, usage(usage_id, **fields), "recorded", key=key, compression=compression, usage_id=usage_id)


FAR_FUTURE = datetime(2999, 1, 1, tzinfo=timezone.utc)
BEFORE_2000 = datetime(1999, 12, 31, tzinfo=timezone.utc)
HUGE = "x" * (5 * MB)
CLASSIC = one_of_each_reason()  # tests/test_dead_letters.py: one message per original reason
EXPLODE = b"explode-in-the-decoder"
CODECS = ("gzip", "snappy", "lz4", "zstd")
# kafka-python sends a batch uncompressed when compressing does not make it smaller: the
# codecs' messages carry an attribute that does (test_each_codecs_batch_really_is_compressed).
COMPRESSIBLE = {"note": "a" * 200}

CORPUS: list[Kind] = [
    recorded("the first recording of a usage id", "u-first", quantity="3"),
    # framing
    dead("plain text", CLASSIC["not_single_object"], "not_single_object"),
    dead("a JSON payload", json.dumps(usage_record("u-json"), default=str).encode(), "not_single_object"),
    dead("an empty value", b"", "not_single_object"),
    dead("a header cut short", b"\xc3\x01\xbd\xc2\x35", "not_single_object"),
    dead("5 MB of garbage", b"\x00garbage" * (5 * MB // 8), "not_single_object"),
    dead("an unknown fingerprint", CLASSIC["unknown_fingerprint"], "unknown_fingerprint"),
    dead("another record's schema", CLASSIC["wrong_schema"], "wrong_schema"),
    dead("a missing field", CLASSIC["missing_field"], "missing_field"),
    dead("a field of the wrong type", CLASSIC["wrong_type"], "wrong_type"),
    dead("a body cut short", CLASSIC["malformed_body"], "malformed_body"),
    dead("bytes left over after the record", usage("u-left-over") + b"\x02\x04", "malformed_body"),
    # keys
    dead("a null key", usage("u-null-key"), "key_mismatch", key=None),
    dead("another customer's key", usage("u-other-key"), "key_mismatch", key=b"CUST-2"),
    # ids and texts
    dead("a blank usage id", CLASSIC["blank_usage_id"], "blank_usage_id"),
    dead("a terminal escape in a usage id", usage("u-\x1b[2J"), "invalid_id"),
    dead("a bell in a usage id", usage("u-\x07"), "invalid_id"),
    dead("a bidi override in a customer id", usage("u-bidi", customer_id="CUST-\u202e1"), "invalid_id", key="CUST-\u202e1".encode()),
    dead("a usage id of 129 characters", usage("u" * 129), "invalid_id"),
    dead("a 5 MB usage id", usage("u" * (5 * MB)), "invalid_id"),
    dead("a product of 300 characters", usage("u-long-product", product="P" * 300), "text_too_long"),
    dead("33 attributes", usage("u-many", attributes={f"k{n}": "v" for n in range(33)}), "too_many_attributes"),
    dead("a 5 MB attribute", usage("u-huge", attributes={"note": HUGE}), "attribute_too_long"),
    recorded("control characters in an attribute (stored as given)", "u-escape-attr", attributes={"note": "\x1b[2J\u202e=cmd"}),
    # quantities
    dead("a negative quantity", CLASSIC["negative_quantity"], "negative_quantity"),
    dead("1e30 written as a 40-digit decimal", usage("u-1e30", quantity="1e30"), "out_of_range"),
    dead("a quantity whose price no line can owe", usage("u-rich", quantity="1e20"), "amount_out_of_range"),
    # time
    dead("usage dated in 2999", usage("u-2999", usage_end=FAR_FUTURE), "dated_in_future"),
    dead("observed in 2999", usage("u-2999-obs", observed_at=FAR_FUTURE), "dated_in_future"),
    dead("usage dated before 2000", usage("u-1999", usage_start=BEFORE_2000), "dated_too_early"),
    dead("a period ending before it starts", CLASSIC["period_ends_before_start"], "period_ends_before_start"),
    # the ledger's refusals
    dead("an unknown customer", CLASSIC["unknown_customer"], "unknown_customer", key=b"NOBODY"),
    dead("an unknown subscription", CLASSIC["unknown_subscription"], "unknown_subscription"),
    dead("a closed account", CLASSIC["account_closed"], "account_closed", key=b"CUST-CLOSED"),
    dead("a unit not the subscription's", CLASSIC["invalid_usage"], "invalid_usage"),
    dead("a meter not the subscription's", usage("u-meter", meter="gpu-hours"), "invalid_usage"),
    dead("a message the decoder fails on unexpectedly", EXPLODE, "unexpected_error"),
    # duplicates
    Kind("the same usage again", usage("u-first", quantity="3"), "duplicate", usage_id="u-first"),
    Kind("the same usage id with another quantity", usage("u-first", quantity="4"), "conflicting", usage_id="u-first"),
    Kind("the same usage id with other attributes", usage("u-first", quantity="3", attributes={"a": "b"}), "conflicting", usage_id="u-first"),
    # codecs a standard producer may use: accepted
    *[
        recorded(f"a batch compressed with {codec}", f"u-{codec}", compression=codec, attributes=COMPRESSIBLE)
        for codec in CODECS
    ],
    # exact pricing past 28 digits
    recorded("a price past 28 significant digits", "u-exact", key=b"CUST-EXACT", quantity=EXACT_QUANTITY,
             subscription_id="CUST-EXACT-vm"),
]
# Reasons no message on the wire can produce: an Avro decimal has no NaN or infinity, and
# its scale (9) cannot carry more decimals (both are checked for usage keyed in by hand).
UNREACHABLE_ON_THE_WIRE = {"non_finite_quantity", "too_many_decimals"}


class DecoderWithABug(SchemaRegistry):
    """The real registry, except for one message: a stand-in for a bug in decoding."""

    def decode(self, data: bytes, expect: str | None = None):
        if data == EXPLODE:
            raise RuntimeError("a bug\nover two lines")
        return super().decode(data, expect)


def open_accounts(app) -> None:
    app.bootstrap_admin(ADMIN, at=OPENED_AT, actor="operator")
    for customer in ("CUST-1", "CUST-2", "CUST-CLOSED"):
        open_customer(app, customer)
    app.close_account("CUST-CLOSED", at=OPENED_AT, actor=ADMIN)
    app.open_account("CUST-EXACT", "Exact pricing", "EUR", 30, Decimal(0), at=OPENED_AT, actor=ADMIN)
    app.add_metered_subscription(
        "CUST-EXACT", "CUST-EXACT-vm", "Virtual Machines", "vcpu-hours", "h", Decimal(EXACT_PRICE), Decimal(EXACT_MARKUP),
        at=OPENED_AT, actor=ADMIN,
    )


def publish(settings, kinds: list[Kind]) -> dict[str, tuple[int, int]]:
    """Each kind in order, as its own producer would send it; where each landed."""
    producers = {None: kafka_clients.producer(settings)}
    where = {}
    try:
        for kind in kinds:
            if kind.compression not in producers:
                producers[kind.compression] = KafkaProducer(
                    bootstrap_servers=settings.bootstrap_servers, compression_type=kind.compression
                )
            sent = producers[kind.compression].send(settings.usage_topic, key=kind.key, value=kind.value)
            metadata = sent.get(timeout=30)
            where[kind.name] = (metadata.partition, metadata.offset)
    finally:
        for producer in producers.values():
            producer.close()
    return where


@dataclass
class CorpusRun:
    app: object
    where: dict[str, tuple[int, int]]
    letters: dict[tuple[int, int], object]  # by the source's (partition, offset)
    stats: dict  # `ledger stats`, total row
    balances: dict[str, dict]  # the read model's rows by customer, once relayed and projected


AFTER = recorded("valid after the corpus", "u-after", quantity="10")


@pytest.fixture(scope="module")
def corpus(services):
    """One ingest for the whole corpus; then a valid message behind it, through to the read models."""
    with own_settings(services) as settings:
        kafka_clients.ensure_topics(settings)
        app = open_application(settings)
        process = ingest_process(settings, app)
        try:
            open_accounts(app)
            process.ingest.codec = DecoderWithABug(list(registry().by_fingerprint.values()))
            where = publish(settings, CORPUS)
            ingest_until_idle(process, timeout=120)
            where |= publish(settings, [AFTER])
            ingest_until_idle(process)
            letters = {
                (int(letter.header("source_partition")), int(letter.header("source_offset"))): letter
                for letter in read_dead_letters(settings, settings.dlq_topic)
            }
            stats = ledger_stats(settings)
            relay_and_project(settings, app)
            balances = {row["customer_id"]: row for row in live_balances(settings)}
            yield CorpusRun(app, where, letters, stats, balances)
        finally:
            process.close()
            app.close()


def ledger_stats(settings) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "stats", "--format", "json"],
        env=environment_of(settings), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[-1]


def stored_line(app, usage_id: str) -> UsageReport | None:
    found = app.first_usage_reports([usage_line_id(usage_id)])
    return found.get(usage_line_id(usage_id))


@pytest.mark.parametrize("kind", CORPUS, ids=[k.name for k in CORPUS])
def test_each_kind_of_message_meets_its_fate(corpus, kind):
    letter = corpus.letters.get(corpus.where[kind.name])
    if kind.fate == "recorded" or kind.fate == "duplicate":
        assert letter is None, f"dead-lettered: {letter and letter.row()}"
        assert stored_line(corpus.app, kind.usage_id) is not None
    else:
        assert letter is not None, f"{kind.name}: no dead letter"
        assert (letter.reason, letter.value, letter.key) == (kind.expected_reason, kind.value, kind.key), letter.row()
        assert letter.header("detail") and len(letter.header("detail")) <= 1_000
    if kind.fate == "conflicting":
        first = stored_line(corpus.app, kind.usage_id)
        assert first.quantity == 3 and first.attributes == {}, "the first recording stands"
        assert "recorded before with another" in letter.header("detail")


@pytest.mark.parametrize("codec", CODECS)
def test_each_codecs_batch_really_is_compressed(codec):
    # The builder the producer uses: True when it sends the batch compressed.
    (kind,) = [k for k in CORPUS if k.compression == codec]
    codec_id = getattr(DefaultRecordBatchBuilder, f"CODEC_{codec.upper()}")
    builder = DefaultRecordBatchBuilder(2, codec_id, False, -1, -1, -1, batch_size=16384)
    builder.append(0, timestamp=0, key=kind.key, value=kind.value, headers=[])
    assert builder._maybe_compress(), f"kafka-python would send the {codec} batch uncompressed"


def test_control_characters_in_free_text_are_stored_as_given(corpus):
    assert stored_line(corpus.app, "u-escape-attr").attributes == {"note": "\x1b[2J\u202e=cmd"}


def test_a_price_past_28_significant_digits_is_recorded_exactly(corpus):
    (line,) = corpus.app.events.get(usage_line_id("u-exact"), lte=1)
    assert line.amount == EXACT_AMOUNT and str(line.amount) == str(EXACT_AMOUNT)


def test_an_unexpected_failure_names_the_error_in_one_line(corpus):
    letter = corpus.letters[corpus.where["a message the decoder fails on unexpectedly"]]
    assert letter.header("detail") == "RuntimeError: a bug over two lines"


def test_the_counts_reconcile_with_each_fate_counted_apart(corpus):
    fates = [kind.fate for kind in CORPUS + [AFTER]]
    assert corpus.stats == {
        "source": "total",
        "consumed": len(fates),
        "recorded": fates.count("recorded"),
        "duplicates": fates.count("duplicate"),
        "conflicting": fates.count("conflicting"),
        "dead_letters": fates.count("dead_letter"),
        "reconciles": "yes",
    }
    assert len(corpus.letters) == fates.count("dead_letter") + fates.count("conflicting")


def test_the_corpus_meets_every_documented_reason():
    met = {kind.expected_reason for kind in CORPUS if kind.fate in ("dead_letter", "conflicting")}
    assert met | UNREACHABLE_ON_THE_WIRE == set(REASONS)


def test_a_valid_message_after_the_corpus_is_recorded_and_reaches_the_read_models(corpus):
    assert corpus.where[AFTER.name] not in corpus.letters
    assert stored_line(corpus.app, "u-after").quantity == 10
    cust_1 = corpus.balances["CUST-1"]
    # u-first 3 h, the escaped attribute's 2 h, four codecs' 2 h each, u-after 10 h; at 0.5 EUR
    assert cust_1["usage_lines"] == 7 and cust_1["unbilled_usage"] == Decimal("11.5"), cust_1
    assert corpus.balances["CUST-EXACT"]["unbilled_usage"] == EXACT_AMOUNT
