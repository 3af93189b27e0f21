"""Dead letters: usage messages the ingest cannot accept, kept on `<usage topic>.dlq`.

Each dead letter is the original message (key, value and headers, byte for byte) with
headers that say why and where it came from. `ledger dlq list` reads them back;
`ledger dlq redrive` sends chosen ones to the usage topic again once the cause is fixed
(the account opened, the producer mended): the ingest then records each usage id once,
however often it is redriven.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from domain import bounds

# The reasons below are the choices of `ledger dlq list --reason`, read as every `ledger`
# command builds its parser: kafka-python is imported where a dead letter is read or sent.
if TYPE_CHECKING:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from consumers.kafka_clients import KafkaSettings

# Every reason a usage message is refused, with its meaning: the dead-letter header
# `reason` carries the code. Kept in one place so that docs and tests see the same list
# (`python -m consumers.dead_letters --markdown` prints the table of docs/usage-intake.md).
REASONS: dict[str, str] = {
    # the message is not a UsageEvent (schemas/__init__.py)
    "not_single_object": "not Avro single-object encoded (no C3 01 marker and fingerprint: plain text, JSON...)",
    "unknown_fingerprint": "the writer schema's fingerprint is in no file of schemas/ (a newer or foreign schema)",
    "wrong_schema": "a single-object message of another record than UsageEvent",
    "missing_field": "a field the reader requires is absent (writer schema without it, or the body stops before it)",
    "wrong_type": "a field has a type the reader cannot take, or bytes that are not a value of its type",
    "malformed_body": "the body is cut short inside a field or has bytes left over: it does not follow its schema",
    # the message is not keyed by its customer
    "key_mismatch": "the Kafka key is missing or is not the usage's customer id (the key keeps a customer's usage on one partition, in order)",
    # a UsageEvent past the ledger's bounds (domain/bounds.py, UsageReport.check_valid)
    "blank_usage_id": "the usage event id is empty",
    "invalid_id": f"a usage, customer or subscription id is not an id: 1 to {bounds.MAX_ID_LENGTH} letters, digits "
    "and `. _ : @ + -`, starting with a letter or digit (no spaces, control characters, bidi overrides or escapes)",
    "text_too_long": f"source_system, product, meter or unit is longer than {bounds.MAX_NAME_LENGTH} characters",
    "too_many_attributes": f"more than {bounds.MAX_ATTRIBUTES} attributes",
    "attribute_too_long": f"an attribute's name or value is longer than {bounds.MAX_ATTRIBUTE_LENGTH} characters",
    "non_finite_quantity": "the quantity is not a finite number",
    "negative_quantity": "the quantity is below zero",
    "too_many_decimals": f"the quantity has more than {bounds.QUANTITY_PLACES} decimals (usage keyed in by hand; "
    "the schema's scale cannot carry more)",
    "out_of_range": f"the quantity is larger than decimal({bounds.DECIMAL_PRECISION}, {bounds.QUANTITY_PLACES}) holds "
    f"({bounds.MAX_QUANTITY})",
    "dated_too_early": f"usage_start, usage_end or observed_at is before {bounds.EARLIEST_BUSINESS_TIME.date().isoformat()}",
    "dated_in_future": f"usage_start, usage_end or observed_at is more than {bounds.MAX_CLOCK_SKEW.total_seconds() / 3600:g} hours ahead of the ingest's clock",
    "period_ends_before_start": "usage_end is before usage_start",
    # the ledger refuses it
    "unknown_customer": "no account is open for the customer id",
    "unknown_subscription": "the customer has no such subscription",
    "account_closed": "the customer's account is closed",
    "invalid_usage": "the ledger refused it otherwise: product, meter or unit not the subscription's (detail says which)",
    "amount_out_of_range": f"quantity x unit price x (1 + markup) owes more than one usage line may "
    f"({bounds.MAX_AMOUNT_MINOR:,} minor units)",
    "conflicting_duplicate": "the usage id was recorded before with other content (detail names the fields): the first "
    "recording stands; counted as `conflicting` in `ledger stats`, apart from dead letters",
    "unexpected_error": "handling this one message failed unexpectedly (a bug to report); the detail is the error's line",
}

# The headers the ingest adds; a redriven message carries the others, the original ones.
REASON, DETAIL = "reason", "detail"
SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET = "source_topic", "source_partition", "source_offset"
DEAD_LETTERED_AT = "dead_lettered_at"
REDRIVEN_FROM = "redriven_from"
OWN_HEADERS = {REASON, DETAIL, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, DEAD_LETTERED_AT}
# A detail quotes what it refuses (a 5 MB id...): cut, so that the headers stay within the
# dead-letter topic's headroom over the usage topic's message size (consumers/kafka_clients.py).
MAX_DETAIL_CHARS = 1_000


def dead_letter_headers(record, reason: str, detail: str, at: datetime) -> list[tuple[str, bytes]]:
    """Why and whence, then the message's own headers unchanged."""
    own = [
        (REASON, reason.encode()),
        (DETAIL, cut(detail).encode()),
        (SOURCE_TOPIC, record.topic.encode()),
        (SOURCE_PARTITION, str(record.partition).encode()),
        (SOURCE_OFFSET, str(record.offset).encode()),
        (DEAD_LETTERED_AT, at.isoformat().encode()),
    ]
    return own + [(k, v) for k, v in (record.headers or []) if k not in OWN_HEADERS]


def cut(detail: str) -> str:
    return detail if len(detail) <= MAX_DETAIL_CHARS else detail[: MAX_DETAIL_CHARS - 1] + "…"


class DeadLetterSender:
    def __init__(self, producer: KafkaProducer, topic: str):
        self.producer = producer
        self.topic = topic
        self.pending: list = []  # the sends' futures, until flushed

    def send(self, record, reason: str, detail: str) -> None:
        headers = dead_letter_headers(record, reason, detail, datetime.now(timezone.utc))
        self.pending.append(self.producer.send(self.topic, key=record.key, value=record.value, headers=headers))

    def flush(self) -> None:
        """Before the batch commits: a crash may then repeat a dead letter, never lose one.

        kafka-python's flush only logs a batch the broker never took; each send's future says
        whether it was taken, and raises if not (a broker outage: the batch is not committed and
        is handled again), so a dead letter is never counted without being kept."""
        pending, self.pending = self.pending, []
        if pending:
            from consumers.kafka_clients import SEND_TIMEOUT

            self.producer.flush(timeout=SEND_TIMEOUT)
            for future in pending:
                future.get(timeout=0)


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def id(self) -> str:
        """Where it sits on the dead-letter topic: `partition:offset`."""
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")

    @property
    def reason(self) -> str:
        return self.header(REASON)

    def row(self) -> dict:
        return {
            "id": self.id,
            "reason": self.reason,
            "source": f"{self.header(SOURCE_TOPIC)}:{self.header(SOURCE_PARTITION)}@{self.header(SOURCE_OFFSET)}",
            "dead_lettered_at": self.header(DEAD_LETTERED_AT),
            "key": (self.key or b"").decode(errors="replace"),
            "detail": self.header(DETAIL),
        }


def read_dead_letters(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> Iterator[DeadLetter]:
    """Every dead letter on the topic, from its start to its end, outside any consumer group;
    none when the topic does not exist.

    The end is each partition's high watermark as the fetches report it (the embedded
    broker's ListOffsets answer falls short of the true end).
    """
    from kafka import TopicPartition

    from consumers import kafka_clients

    consumer = kafka_clients.consumer(settings, None)  # no group: read, never commit
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:  # no such topic yet (no ingest has run): no dead letters
            return
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        deadline = time.monotonic() + timeout
        while assigned:
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    yield DeadLetter(r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
            if all(_read_to_end(consumer, tp) for tp in assigned):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout:.0f}s")
    finally:
        consumer.close()


def _read_to_end(consumer: KafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and consumer.position(tp) >= highwater


def select(letters: Iterable[DeadLetter], ids: set[str] = frozenset(), reasons: set[str] = frozenset()) -> list[DeadLetter]:
    """Dead letters chosen by id (`partition:offset`) or reason; neither given: all of them."""
    return [
        letter for letter in letters
        if (not ids and not reasons) or letter.id in ids or letter.reason in reasons
    ]


def redrive(producer: KafkaProducer, dlq_topic: str, usage_topic: str, letters: Iterable[DeadLetter]) -> int:
    """Send dead letters to the usage topic again: the original key, value and headers,
    plus where the copy came from."""
    count = 0
    for letter in letters:
        headers = [(k, v) for k, v in letter.headers if k not in OWN_HEADERS | {REDRIVEN_FROM}]
        headers.append((REDRIVEN_FROM, f"{dlq_topic}:{letter.id}".encode()))
        producer.send(usage_topic, key=letter.key, value=letter.value, headers=headers)
        count += 1
    producer.flush()
    return count


def reasons_markdown() -> str:
    """The table of reasons in docs/usage-intake.md (a test keeps the page equal to it)."""
    rows = ["| reason | the message... |", "| --- | --- |"]
    rows += [f"| `{code}` | {_cell(meaning)} |" for code, meaning in REASONS.items()]
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m consumers.dead_letters --markdown  (prints the table of dead-letter reasons)")
    sys.stdout.write(reasons_markdown())
