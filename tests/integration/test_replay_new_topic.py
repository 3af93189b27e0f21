"""A new cluster: the ledger topic is gone and comes back empty. The relay fills it again
from the store, the projector converges on the same rows, and a rebuild started on the old
topic's incarnation starts over on the new one."""

from __future__ import annotations

import threading

from kafka import KafkaAdminClient

from readside import replay as replay_module
from readside.replay import replay
from readside.verify import verify
from tests.conftest import wait_for
from tests.read_side_helpers import customers_projected, live_balances, relay_and_project


def test_a_new_empty_ledger_topic_is_refilled_and_rebuilt_from(settings, app, monkeypatch):
    before = customers_projected(settings, app, lines=30)
    monkeypatch.setattr(replay_module, "KAFKA_BATCH", 10)
    stopped = threading.Event()
    stopped.set()
    assert not replay(settings, "balances", "kafka", stop=stopped).complete  # a rebuild left half done

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    admin.delete_topics([settings.ledger_topic])
    wait_for(lambda: settings.ledger_topic not in admin.list_topics(), what="the ledger topic to go")
    admin.close()
    (projector,) = relay_and_project(settings, app)

    assert projector.projector.applied == 0, "everything republished was applied before"
    assert live_balances(settings) == before
    rebuilt = replay(settings, "balances", "kafka")
    assert rebuilt.complete and rebuilt.events == app.recorder.max_notification_id(), "read the new topic whole"
    assert live_balances(settings) == before
    assert verify(settings)[0] == []
