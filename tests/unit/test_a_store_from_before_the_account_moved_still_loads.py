"""A store written before the customer account moved to domain/accounts/ (at ec8fba7, when it
was `domain/account.py` with mixins) holds its events under the old topics
`domain.account:CustomerAccount.<Event>`: it must load, replay to the same account, and
re-encode to the same bytes apart from the topic.

stored_before_the_account_moved.json is that store: a customer's life that stores every
event of the account, and a snapshot, recorded by the code at ec8fba7 on the in-memory
backend (the script that made it is in its "made_by" entry).
"""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.accounts import CustomerAccount
from tests.unit.in_memory import open_in_memory

STORE = json.loads((Path(__file__).parent / "stored_before_the_account_moved.json").read_text())
OLD = "domain.account:CustomerAccount"
EVENT_CLASSES = {
    name: cls for name, cls in vars(CustomerAccount).items()
    if isinstance(cls, type) and issubclass(cls, CustomerAccount.Event)
    # the base, and the library's default creation event (Opened is the account's)
    and name not in ("Event", "Created")
}


def stored(entry: dict) -> StoredEvent:
    return StoredEvent(UUID(entry["originator_id"]), entry["originator_version"], entry["topic"], entry["state"].encode())


@pytest.fixture
def old_store():
    app = open_in_memory()
    app.recorder.insert_events([stored(e) for e in STORE["events"]])
    yield app
    app.close()


def test_the_old_store_holds_every_event_of_the_account_under_its_old_topic():
    old_topics = {e["topic"] for e in STORE["events"] if e["topic"].startswith(f"{OLD}.")}
    assert old_topics == {f"{OLD}.{name}" for name in EVENT_CLASSES}


@pytest.mark.parametrize("name", sorted(EVENT_CLASSES))
def test_an_account_event_stored_under_its_old_topic_loads_as_the_moved_class_with_the_same_bytes(old_store, name):
    entries = [e for e in STORE["events"] if e["topic"] == f"{OLD}.{name}"]
    for entry in entries:
        event = old_store.mapper.to_domain_event(stored(entry))
        assert type(event) is EVENT_CLASSES[name]
        again = old_store.mapper.to_stored_event(event)
        assert again.topic == get_topic(EVENT_CLASSES[name]) != entry["topic"]
        if getattr(EVENT_CLASSES[name], "class_version", 1) == 1:
            assert again.state.decode() == entry["state"]
        else:  # upcast as it loads (InvoiceIssued v2): the old state with what the upcast adds
            old = json.loads(entry["state"])
            EVENT_CLASSES[name].upcast_v1_v2(old)
            assert json.loads(again.state) == old | {"class_version": 2}


def test_the_account_replays_from_the_old_store_to_the_same_state(old_store):
    account = old_store.get_account(STORE["customer_id"])
    assert (account.balance, account.totals, account.version) == (STORE["balance"], STORE["totals"], STORE["version"])
    assert account.closed
    assert old_store.index.customer_ids() == [STORE["customer_id"]]  # found by its Opened event's old topic


def test_an_old_snapshot_of_the_account_loads(old_store):
    (snapshot,) = STORE["snapshots"]
    assert f'"{OLD}"' in snapshot["state"]  # the snapshot names the aggregate class by its old topic
    old_store.snapshots.recorder.insert_events([stored(snapshot)])
    account = old_store.repository.get(UUID(snapshot["originator_id"]))
    assert type(account) is CustomerAccount
    assert (account.balance, account.totals, account.version) == (STORE["balance"], STORE["totals"], STORE["version"])
