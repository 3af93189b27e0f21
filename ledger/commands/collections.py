"""Collections: the policy run, holds, suspension and reinstatement by hand, write-offs,
and the published policy itself."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, time, timezone

from domain.bounds import check_business_time
from ledger.commands import add_command, add_group, business_time, decimal_arg, staff_options, with_services
from ledger.commands.billing import _app, _report, date_arg
from ledger.config import Settings


@with_services
def cmd_collect(settings: Settings, args) -> int:
    # The run's business time is the start of the day it is run "as of".
    at = datetime.combine(args.as_of, time(), timezone.utc)
    # A run as of a day to come would remind, suspend and write off before their time.
    check_business_time(at, "--as-of (the day collections run for)", now=datetime.now(timezone.utc))
    done = _app(settings).collect(at=at, actor=args.actor)
    for customer_id, events in done.items():
        print(f"{customer_id}: {', '.join(events)}")
    print(f"collections as of {args.as_of}: {len(done)} accounts had something due")
    return 0


@with_services
def cmd_hold(settings: Settings, args) -> int:
    placed = _app(settings).place_hold(args.customer, args.kind, args.until, args.reason,
                                       at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", placed, f"on hold until {args.until}")


@with_services
def cmd_release(settings: Settings, args) -> int:
    released = _app(settings).release_hold(args.customer, args.reason, at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", released, "hold released")


@with_services
def cmd_suspend(settings: Settings, args) -> int:
    suspended = _app(settings).suspend(args.customer, args.subscription or None, args.reason,
                                       at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", suspended, "suspended")


@with_services
def cmd_reinstate(settings: Settings, args) -> int:
    reinstated = _app(settings).reinstate(args.customer, args.subscription or None, args.reason,
                                          at=business_time(args), actor=args.actor)
    return _report(f"account {args.customer}", reinstated, "reinstated")


@with_services
def cmd_write_off(settings: Settings, args) -> int:
    written_off = _app(settings).write_off(args.customer, args.invoice, args.reason,
                                           at=business_time(args), actor=args.actor)
    return _report(f"invoice {args.invoice}", written_off, "written off")


@with_services
def cmd_policy_show(settings: Settings, args) -> int:
    policy = _app(settings).policy_book().policy(args.name)
    print(json.dumps(policy.as_terms(), indent=2, default=str))
    return 0


@with_services
def cmd_policy_set(settings: Settings, args) -> int:
    app = _app(settings)
    from domain.errors import InvalidCommand
    from domain.policy import CollectionsPolicy

    try:
        current = app.policy_book().policy(args.name)
    except InvalidCommand:  # a new policy starts from the default terms
        current = CollectionsPolicy(name=args.name)
    changes = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(current)
        if getattr(args, field.name, None) is not None and field.name != "name"
    }
    if "reminder_days" in changes:
        changes["reminder_days"] = tuple(changes["reminder_days"])
    published = app.publish_policy(dataclasses.replace(current, **changes), at=business_time(args), actor=args.actor)
    return _report(f"collections policy {args.name}", published, "published")


def _day_list(text: str) -> list[int]:
    import argparse

    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of days, e.g. 1,7,14") from None


def _yes_no(text: str) -> bool:
    import argparse

    if text not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r}: say yes or no")
    return text == "yes"


def register(sub) -> None:
    p = add_command(sub, "collect", cmd_collect, "run the collections policy over every account")
    p.add_argument("--as-of", type=date_arg, required=True, help="the day the policy is applied for")
    p.add_argument("--as", dest="actor", required=True, help="the user who runs it")

    collections = add_group(sub, "collections", "collections by hand: holds, suspension, reinstatement, write-off")
    p = add_command(collections, "hold", cmd_hold, "pause reminders and suspension until a day")
    p.add_argument("customer")
    p.add_argument("--kind", choices=["promise-to-pay", "dispute"], required=True)
    p.add_argument("--until", type=date_arg, required=True)
    p.add_argument("--reason", required=True)
    staff_options(p)
    p = add_command(collections, "release", cmd_release, "end a hold")
    p.add_argument("customer")
    p.add_argument("--reason", required=True)
    staff_options(p)
    for name, func, text in [
        ("suspend", cmd_suspend, "suspend subscriptions by hand (all, or those named)"),
        ("reinstate", cmd_reinstate, "reinstate subscriptions by hand (all suspended, or those named)"),
    ]:
        p = add_command(collections, name, func, text)
        p.add_argument("customer")
        p.add_argument("--subscription", action="append", help="repeat for several; none means all")
        p.add_argument("--reason", required=True)
        staff_options(p)
    p = add_command(collections, "write-off", cmd_write_off, "write off what an invoice holds open")
    p.add_argument("customer")
    p.add_argument("invoice")
    p.add_argument("--reason", required=True)
    staff_options(p)

    policy = add_group(sub, "policy", "the published collections policies")
    p = add_command(policy, "show", cmd_policy_show, "print a policy's terms")
    p.add_argument("name", nargs="?", default="standard")
    p = add_command(policy, "set", cmd_policy_set, "publish a policy, changing the terms given")
    p.add_argument("name")
    p.add_argument("--grace-days", type=int)
    p.add_argument("--reminder-days", type=_day_list, help="days past due of each reminder, e.g. 1,7,14")
    p.add_argument("--suspend-after-days", type=int)
    p.add_argument("--suspend-min-overdue", type=decimal_arg, help="in the account's currency, major units")
    p.add_argument("--scope", choices=["subscription", "account"])
    p.add_argument("--vendor-deprovision-days", type=int)
    p.add_argument("--warn-days-before-deprovision", type=int)
    p.add_argument("--write-off-after-days", type=int)
    p.add_argument("--resuspend-on-reversal", type=_yes_no, help="yes or no")
    staff_options(p)
