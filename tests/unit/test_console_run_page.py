"""A collections run's page: while the run goes on, its progress and the few lines of script
that fetch the page again; once it is over, the summary in words and no script."""

from __future__ import annotations

from datetime import date, datetime, timezone

from domain.roles import Permission
from service.console.preview import actions_in_words
from service.console.web import templates

STARTED = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)


def run_page(state: str, done: int, total: int | None, actions: dict[str, int], **report) -> str:
    run = {"run_id": "run_1", "actor": "bea@partner.example", "state": state, "accounts_done": done,
           "accounts_total": total, "accounts_per_second": 1820.4, "seconds_left": 31.9 if state == "running" else None,
           "started_at": STARTED, "finished_at": None if state == "running" else STARTED, "error": None,
           "summary": {"accounts_with_actions": 3, "actions": actions}, **report}
    return templates.get_template("collections_run.html").render(
        staff=None, P=Permission, flash="", today=date(2026, 11, 30), run=run, as_of=date(2026, 11, 30),
        actions=actions_in_words(actions), day=str, moment=lambda t: f"{t:%H:%M}")


def test_a_running_run_shows_its_progress_and_follows_itself():
    page = run_page("running", 42_250, 100_000, {})
    assert "Running: 42,250 of 100,000 accounts (1,820 accounts/s; about 32 s left)" in page
    assert '<progress max="100000" value="42250">' in page
    assert 'data-state="running"' in page and "fetch(location.href" in page


def test_a_finished_run_shows_its_summary_in_words_and_polls_no_more():
    page = run_page("done", 100_000, 100_000, {"ReminderSent": 2, "SubscriptionsSuspended": 1})
    assert ("Collections run for 2026-11-30 done: 100,000 accounts, 3 had something due "
            "(2 reminders, 1 suspension).") in page
    assert "<script>" not in page


def test_a_failed_run_says_how_far_it_got_and_to_run_it_again():
    page = run_page("failed", 500, 100_000, {}, error="OperationalError: the server closed the connection")
    assert ("The collections run failed after 500 accounts: OperationalError: the server closed the connection. "
            "Run it again") in page


def test_a_runs_actions_read_as_the_preview_names_them():
    assert actions_in_words({"ReminderSent": 2, "CollectionsHoldReleased": 2, "InvoiceWrittenOff": 1}) == \
        "2 ends of holds, 1 write-off, 2 reminders"
