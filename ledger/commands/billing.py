"""Billing staff's commands: accounts and subscriptions."""

from __future__ import annotations

from decimal import Decimal

from ledger.commands import add_command, add_group, business_time, decimal_arg, staff_options, with_services
from ledger.config import Settings


@with_services
def cmd_account_open(settings: Settings, args) -> int:
    from ledger.store import open_application

    opened = open_application(settings).open_account(
        args.customer, args.name, args.currency, args.terms, args.tax_rate, at=business_time(args), actor=args.actor
    )
    print(f"account {args.customer}: {'opened' if opened else 'already open (nothing changed)'}")
    return 0


@with_services
def cmd_account_close(settings: Settings, args) -> int:
    from ledger.store import open_application

    closed = open_application(settings).close_account(args.customer, at=business_time(args), actor=args.actor)
    print(f"account {args.customer}: {'closed' if closed else 'already closed (nothing changed)'}")
    return 0


@with_services
def cmd_subscription_add(settings: Settings, args) -> int:
    from ledger.store import open_application

    added = open_application(settings).add_metered_subscription(
        args.customer, args.subscription, args.product, args.meter, args.unit, args.unit_price, args.markup,
        at=business_time(args), actor=args.actor,
    )
    print(f"subscription {args.subscription}: {'added' if added else 'already there (nothing changed)'}")
    return 0


def register(sub) -> None:
    account = add_group(sub, "account", "open or close customer accounts")
    p = add_command(account, "open", cmd_account_open, "open a customer account")
    p.add_argument("customer")
    p.add_argument("--name", required=True)
    p.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    p.add_argument("--terms", type=int, default=30, help="payment terms in days (default 30)")
    p.add_argument("--tax-rate", type=decimal_arg, default=Decimal(0), help="tax rate in percent")
    staff_options(p)
    p = add_command(account, "close", cmd_account_close, "close a customer account")
    p.add_argument("customer")
    staff_options(p)

    subscription = add_group(sub, "subscription", "manage subscriptions")
    p = add_command(subscription, "add-metered", cmd_subscription_add, "add a metered subscription to an account")
    p.add_argument("customer")
    p.add_argument("subscription")
    p.add_argument("--product", required=True)
    p.add_argument("--meter", required=True)
    p.add_argument("--unit", required=True)
    p.add_argument("--unit-price", type=decimal_arg, required=True)
    p.add_argument("--markup", type=decimal_arg, default=Decimal(0), help="percent; negative for a discount")
    staff_options(p)
