"""The chain trigger's hash (eventstore/chain.py) is computed inline, not through the SQL-function
executor once per stored event: PostgreSQL inlines `event_hash` into the trigger's expression
only if it is declared no less volatile than what it calls (convert_to, extract from a
timestamptz: STABLE). Declared IMMUTABLE, the hash took about half of an insert's time."""

from __future__ import annotations

import psycopg

from readside.event_log import EVENTS_TABLE


def test_event_hash_is_inlined_where_it_is_called(settings, app):
    schema = settings.store_schema
    with psycopg.connect(settings.database_url) as conn:
        plan = "\n".join(row[0] for row in conn.execute(
            f"EXPLAIN (VERBOSE) SELECT {schema}.event_hash(chain_hash, notification_id, originator_id, "
            f"originator_version, topic, state, customer_id, recorded_at) FROM {schema}.{EVENTS_TABLE}"
        ))
    assert "sha256(" in plan, plan
    assert "event_hash(" not in plan and "chain_field(" not in plan, plan
