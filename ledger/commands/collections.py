"""Collections: the policy run, holds, suspension and reinstatement by hand, write-offs,
and the published policy itself."""

from __future__ import annotations

import json

from ledger.api_client import Api
from ledger.commands import add_command, add_group, at_of, decimal_arg, decimal_text, staff_options, with_api
from ledger.commands.billing import _report, date_arg, reason_command


@with_api
def cmd_collect(api: Api, args) -> int:
    from ledger.commands.runs import collections_summary, follow_run

    # The run's business time is the start of the day it is run "as of" (the API checks it).
    return follow_run(api, "/collections/runs", {"as_of": args.as_of.isoformat(), "workers": args.workers},
                      collections_summary)


@with_api
def cmd_hold(api: Api, args) -> int:
    answer = api.put(f"/customers/{args.customer}/hold", {
        "kind": args.kind, "until": args.until.isoformat(), "reason": args.reason, "at": at_of(args),
    })
    return _report(f"account {args.customer}", answer, f"on hold until {args.until}")


cmd_release = reason_command("/customers/{customer}/hold/release", "account {customer}", "hold released")


def by_hand(path: str, done: str):
    """`collections suspend` and `reinstate`: the same command but for the endpoint."""

    @with_api
    def command(api: Api, args) -> int:
        answer = api.post(f"/customers/{args.customer}/{path}", {
            "subscription_ids": args.subscription, "reason": args.reason, "at": at_of(args),
        })
        return _report(f"account {args.customer}", answer, done)

    return command


cmd_suspend = by_hand("suspension", "suspended")
cmd_reinstate = by_hand("reinstatement", "reinstated")


cmd_write_off = reason_command("/customers/{customer}/invoices/{invoice}/write-off", "invoice {invoice}", "written off")


@with_api
def cmd_policy_show(api: Api, args) -> int:
    print(json.dumps(api.get(f"/policies/{args.name}"), indent=2))
    return 0


POLICY_TERMS = ("grace_days", "reminder_days", "suspend_after_days", "suspend_min_overdue", "scope",
                "vendor_deprovision_days", "warn_days_before_deprovision", "write_off_after_days",
                "resuspend_on_reversal")


@with_api
def cmd_policy_set(api: Api, args) -> int:
    terms = {name: getattr(args, name) for name in POLICY_TERMS}
    terms["suspend_min_overdue"] = decimal_text(terms["suspend_min_overdue"])
    answer = api.put(f"/policies/{args.name}", {**terms, "at": at_of(args)})
    return _report(f"collections policy {args.name}", answer, "published")


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
    p.add_argument("--workers", type=int, help="the server's worker processes (default: one per core)")

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
