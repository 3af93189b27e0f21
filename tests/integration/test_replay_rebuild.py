"""Rebuilding a projection from the ledger topic or the event store, into a shadow swapped in
at once; interrupted and resumed; with the live projector going on afterwards."""

from __future__ import annotations

import threading

import psycopg

from readside import replay as replay_module
from readside.replay import replay
from readside.verify import verify
from tests.cli_helpers import ledger
from tests.conftest import wait_for
from tests.factories import open_customer
from tests.read_side_helpers import execute, live_balances, record_usage, relay_all, relay_and_project


def some_history(app, customers: int = 6, lines: int = 30) -> None:
    for n in range(customers):
        open_customer(app, f"CUST-{n}", currency="EUR" if n % 2 else "USD", unit_price=f"0.{n + 1}")
        record_usage(app, f"CUST-{n}", lines, quantity=str(n + 1))
    app.close_account("CUST-0", at=app_time(), actor="alice@reseller.example")


def app_time():
    from tests.factories import OPENED_AT

    return OPENED_AT.replace(month=10)


def set_already(event: threading.Event) -> threading.Event:
    event.set()
    return event


def test_a_replay_from_the_store_or_from_kafka_rebuilds_the_rows_of_the_live_projector(settings, app):
    some_history(app)
    relay_and_project(settings, app)
    live = live_balances(settings)

    for source in ("store", "kafka"):
        execute(settings, f"UPDATE {settings.read_schema}.customer_balances SET usage_lines = 0")  # drift to repair
        result = replay(settings, "balances", source)

        assert result.complete and result.events == app.recorder.max_notification_id()
        assert live_balances(settings) == live, source
    assert verify(settings)[0] == []


def test_an_interrupted_replay_leaves_the_live_rows_and_resumes_where_it_stopped(settings, app, monkeypatch):
    some_history(app)
    relay_and_project(settings, app)
    live = live_balances(settings)
    monkeypatch.setattr(replay_module, "CHUNK", 50)  # small batches: several to interrupt
    monkeypatch.setattr(replay_module, "KAFKA_BATCH", 20)

    for source in ("store", "kafka"):
        stopped = replay(settings, "balances", source, stop=set_already(threading.Event()))

        assert not stopped.complete and 0 < stopped.events < app.recorder.max_notification_id()
        assert live_balances(settings) == live, "readers keep the live rows until the swap"
        with psycopg.connect(settings.database_url) as conn:
            (saved,) = conn.execute(
                f"SELECT sum(position) FROM {settings.read_schema}_rebuild_balances.rebuild_positions"
            ).fetchone()
        assert saved > 0

        resumed = replay(settings, "balances", source)

        assert resumed.complete
        assert stopped.events + resumed.events == app.recorder.max_notification_id(), "the second run read only the rest"
        assert live_balances(settings) == live


def test_the_live_projector_goes_on_after_a_replay_from_kafka(settings, app):
    some_history(app, customers=3)
    relay_and_project(settings, app)
    record_usage(app, "CUST-1", 10, first=1000)
    relay_all(settings, app)  # in Kafka, not yet projected: the rebuild reads past the live projector

    assert replay(settings, "balances", "kafka").complete
    record_usage(app, "CUST-2", 7, first=1000)
    relay_and_project(settings, app)

    assert verify(settings)[0] == []
    rows = {r["customer_id"]: r for r in live_balances(settings)}
    assert (rows["CUST-1"]["usage_lines"], rows["CUST-2"]["usage_lines"]) == (40, 37)


def test_a_replay_while_the_live_projector_runs_misses_nothing_and_doubles_nothing(settings, app):
    from ledger.processes import projector_process, relay_process, run

    some_history(app, customers=4)
    relay_all(settings, app)
    stop = threading.Event()
    processes = [relay_process(settings, app), projector_process(settings)]
    live = threading.Thread(target=run, args=(processes, stop))
    live.start()
    try:
        projector = processes[1].projector
        wait_for(lambda: projector.applied > 0, timeout=60, what="the live projector to join and project")
        for round_ in range(1, 4):  # new events keep arriving while the rebuild reads and swaps
            applied = projector.applied
            record_usage(app, f"CUST-{round_}", 20, first=2000)
            wait_for(lambda a=applied: projector.applied > a, what="the live projector to apply them")
            record_usage(app, f"CUST-{round_}", 10, first=3000)
            assert replay(settings, "balances", "kafka").complete
    finally:
        stop.set()
        live.join()
        for process in processes:
            process.close()
    relay_and_project(settings, app)

    assert verify(settings)[0] == []
    rows = {r["customer_id"]: r["usage_lines"] for r in live_balances(settings)}
    assert rows == {"CUST-0": 30, "CUST-1": 60, "CUST-2": 60, "CUST-3": 60}


def test_views_and_their_grants_survive_a_swap(settings, app):
    from readside.analyst import connect_as, grant_analyst

    some_history(app, customers=2)
    relay_and_project(settings, app)
    name = "analyst_" + settings.database_url.rsplit("t_", 1)[-1][:12]
    grant_analyst(settings, name, "s3cret")  # the embedded server asks every login for its password
    try:
        replay(settings, "balances", "store")
        with connect_as(settings, name, "s3cret") as conn:
            rows = conn.execute(f"SELECT customer_id FROM {settings.views_schema}.customer_balances").fetchall()
        assert [r[0] for r in rows] == ["CUST-0", "CUST-1"]
    finally:
        execute(settings, f'DROP OWNED BY "{name}"; DROP ROLE "{name}"')


def test_replay_on_the_command_line_shows_progress_and_swaps_in(settings, app, cli_env):
    some_history(app, customers=2)
    relay_and_project(settings, app)

    done = ledger(cli_env, "replay", "balances", "--source", "store")

    assert done.returncode == 0, done.stderr
    assert "events/s" in done.stderr and "left" in done.stderr
    assert "swapped in" in done.stdout
    unknown = ledger(cli_env, "replay", "nothing", "--source", "store")
    assert unknown.returncode == 2 and "invalid choice: 'nothing'" in unknown.stderr
