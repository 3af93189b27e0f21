"""`ledger invoice issue --all` and `ledger collect`: start a run on the API (a job of the
server), follow it with a progress bar (accounts done, per second, time left; on a terminal
one line redrawn, otherwise a plain line every few seconds) and print its summary.

Ctrl-C asks the server to stop the run after the batches under way; started again, the run
does what is left (ledger/runs).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from domain.errors import LedgerError
from ledger.api_client import Api

POLL_SECONDS = 0.5
PLAIN_LINE_EVERY = 5.0  # seconds between progress lines when the output is no terminal
BAR_WIDTH = 30


def follow_run(api: Api, path: str, body: dict, summary_lines: Callable[[dict], list[str]], out=None) -> int:
    out = out or sys.stdout
    started = api.post(path, body)
    url = started["url"].removeprefix("/v1")
    bar = ProgressBar(out)
    try:
        run = _until_over(api, url, bar)
    except KeyboardInterrupt:
        bar.end()
        print(f"stopping run {started['run_id']} after the batches under way...", file=out, flush=True)
        api.post(f"{url}/stop")
        run = _until_over(api, url, bar)
    bar.end()
    for line in summary_lines(run):
        print(line, file=out)
    if run["state"] == "done":
        return 0
    if run["state"] == "failed":
        raise LedgerError(f"run {run['run_id']} failed: {run['error']}; started again, it does what is left")
    print(f"run {run['run_id']} {run['state']} after {run['accounts_done']:,} of {run['accounts_total'] or 0:,} "
          "accounts: the same command again does what is left", file=out)
    return 1


def _until_over(api: Api, url: str, bar: ProgressBar) -> dict:
    while True:
        run = api.get(url)
        bar.show(run)
        if run["state"] != "running":
            return run
        time.sleep(POLL_SECONDS)


class ProgressBar:
    def __init__(self, out):
        self.out = out
        self.on_terminal = out.isatty()
        self.drawn = False
        self.last_line = 0.0

    def show(self, run: dict) -> None:
        total, done = run["accounts_total"], run["accounts_done"]
        if total is None:
            return
        text = progress_text(done, total, run["accounts_per_second"], run["seconds_left"])
        if self.on_terminal:
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            self.out.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}\x1b[K")
            self.out.flush()
            self.drawn = True
        elif time.monotonic() - self.last_line >= PLAIN_LINE_EVERY or (done == total and run["state"] != "running"):
            self.last_line = time.monotonic()
            print(text, file=self.out, flush=True)

    def end(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.drawn = False


def progress_text(done: int, total: int, per_second: float, seconds_left: float | None) -> str:
    left = "" if seconds_left is None else f", {_duration(seconds_left)} left"
    return f"{done:,}/{total:,} accounts, {per_second:,.0f}/s{left}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def bill_run_summary(run: dict) -> list[str]:
    s = run["summary"]
    rows = [("accounts", f"{s['accounts']:,}"), ("invoices issued", f"{s['invoices']:,}")]
    rows += [(f"total {currency}", text) for currency, text in sorted(s["totals_formatted"].items())]
    rows += [(f"skipped: {why}", f"{count:,}") for why, count in sorted(s["skipped"].items())]
    lines = [f"bill run for {run['parameters']['period']}", *_table(rows)]
    return lines + [f"    {customer}: {why}" for customer, why in s["refusals"]]


# The collections run's events as its summary names them.
ACTIONS = (("ReminderSent", "reminders"), ("SubscriptionsSuspended", "suspensions"),
           ("DeprovisioningWarningSent", "deprovisioning warnings"), ("InvoiceWrittenOff", "write-offs"),
           ("CollectionsHoldReleased", "holds ended"))


def collections_summary(run: dict) -> list[str]:
    s = run["summary"]
    actions = s["actions"]
    named = {event for event, _ in ACTIONS}
    rows = [("accounts", f"{s['accounts']:,}"), ("with something due", f"{s['accounts_with_actions']:,}")]
    rows += [(name, f"{actions.get(event, 0):,}") for event, name in ACTIONS]
    rows += [(event, f"{count:,}") for event, count in sorted(actions.items()) if event not in named]
    return [f"collections as of {run['parameters']['as_of']}", *_table(rows)]


def _table(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]
