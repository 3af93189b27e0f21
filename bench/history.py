"""Does a command cost the same on a customer with a long history as on a new one?

    .venv/bin/python -m bench.history [--usage 100000] [--account-events 2000] [--rounds 20]

An "old" customer gets --usage past usage lines and --account-events past events on
its account (profile changes, invoices, payments); a "new" customer has none. Then the
same commands run on both, alternately, and the median times are compared:
- recording a batch of 1,000 usage lines (the ingest's application call);
- receiving a payment (a command that loads and saves the account).
The ratio old/new is the figure: 1.0 is a constant cost. Snapshots (every 50 account
events) bound an account's replay; usage lines are aggregates of their own.
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bench.common import ADMIN, Stopwatch, bench_settings, open_customers, report, say, usage_records
from domain.usage import UsageReport
from eventstore.postgres import open_application


def reports(records: list[dict]) -> list[UsageReport]:
    return [
        UsageReport(r["event_id"], r["source_system"], r["customer_id"], r["subscription_id"], r["product"],
                    r["meter"], r["quantity"], r["unit"], r["usage_start"], r["usage_end"], r["observed_at"])
        for r in records
    ]


def give_history(app, customer: str, usage: int, account_events: int) -> None:
    for start in range(0, usage, 5000):
        batch = usage_records([customer], min(5000, usage - start), prefix=f"past-{start}")
        app.record_usage(reports(batch), actor="system:ingest")
    at = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    month = date(2026, 1, 1)
    for n in range(account_events // 2):
        if n % 50 == 0:  # now and then a month is invoiced and paid
            end = (month + timedelta(days=32)).replace(day=1)
            app.issue_invoice(customer, month, end, at=at, actor=ADMIN)
            app.receive_payment(customer, f"past-pay-{n}", 100, "EUR", "card", "", at=at, actor=ADMIN)
            month = end
        else:
            app.change_profile(customer, f"Customer {customer} ({n % 2})", 30, Decimal(20), at=at, actor=ADMIN)
            app.change_profile(customer, f"Customer {customer}", 30, Decimal(20), at=at, actor=ADMIN)


def timed(command) -> float:
    with Stopwatch() as watch:
        command()
    return watch.seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--usage", type=int, default=100_000)
    parser.add_argument("--account-events", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    with bench_settings() as settings:
        app = open_application(settings)
        old, new = open_customers(app, 2)
        say(f"giving {old} {args.usage} usage lines and {args.account_events} account events...")
        give_history(app, old, args.usage, args.account_events)
        say(f"{old}: account version {app.get_account(old).version}")
        # A fresh application: nothing cached, as in a new ingest process.
        app.close()
        app = open_application(settings)
        times: dict[tuple[str, str], list[float]] = {}
        for n in range(args.rounds):
            for customer in (new, old):
                batch = reports(usage_records([customer], 1000, prefix=f"round-{n}-{customer}"))
                times.setdefault(("usage", customer), []).append(
                    timed(lambda: app.record_usage(batch, actor="system:ingest")))
                times.setdefault(("payment", customer), []).append(timed(lambda: app.receive_payment(
                    customer, f"round-{n}", 1, "EUR", "card", "", at=datetime(2027, 1, 1, tzinfo=timezone.utc),
                    actor=ADMIN)))
        medians = {key: statistics.median(values) for key, values in times.items()}
        for kind in ("usage", "payment"):
            say(f"{kind}: new customer {medians[(kind, new)]:.2f} ms, old customer {medians[(kind, old)]:.2f} ms, "
                f"ratio {medians[(kind, old)] / medians[(kind, new)]:.2f}")
        app.close()
    report(
        "command_cost_with_long_history", medians[("usage", old)], "ms per 1000-line usage batch",
        baseline_new_customer_ms=round(medians[("usage", new)], 2),
        ratio=round(medians[("usage", old)] / medians[("usage", new)], 2),
        payment_old_ms=round(medians[("payment", old)], 2), payment_new_ms=round(medians[("payment", new)], 2),
        payment_ratio=round(medians[("payment", old)] / medians[("payment", new)], 2),
        past_usage=args.usage, past_account_events=args.account_events,
    )


if __name__ == "__main__":
    main()
