"""Customer accounts and their subscriptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Body, Depends, Request, Response
from pydantic import BaseModel, Field

from domain.bounds import MAX_DAYS
from domain.roles import Permission
from service.auth import Acting, acting, context, endpoint
from service.routes import new_router
from service.values import Changed, Command, DecimalString, Money, money
from service.versions import tag

router = new_router("accounts")


class OpenAccount(Command):
    customer_id: str = Field(description="the reseller's customer id; retrying with it changes nothing")
    name: str
    currency: str = Field(examples=["EUR"])
    payment_terms_days: int = Field(30, ge=0, le=MAX_DAYS)
    tax_rate: DecimalString = Field("0", description="percent")


class AccountChange(Changed):
    customer_id: str


class MeteredSubscription(Command):
    kind: Literal["metered"]
    subscription_id: str
    product: str
    meter: str
    unit: str
    unit_price: DecimalString
    markup_percent: DecimalString = "0"


class SeatSubscription(Command):
    kind: Literal["seats"]
    subscription_id: str
    product: str
    seats: int = Field(ge=0)
    price_per_seat: DecimalString = Field(description="monthly price of one seat")
    starts_on: date


NewSubscription = Annotated[MeteredSubscription | SeatSubscription, Field(discriminator="kind")]


class SubscriptionChange(Changed):
    customer_id: str
    subscription_id: str


class Subscription(BaseModel):
    subscription_id: str
    kind: Literal["metered", "seats"]
    product: str
    meter: str | None = None
    seats: int | None = None
    suspended: bool


class InvoiceSummary(BaseModel):
    invoice_number: str
    issue_date: date
    due_date: date
    total: Money
    open: Money
    credited: Money
    written_off: Money
    status: str


class Hold(BaseModel):
    kind: str
    until: date
    reason: str


class Account(BaseModel):
    customer_id: str
    name: str
    currency: str
    status: Literal["open", "closed"]
    payment_terms_days: int
    tax_rate: DecimalString
    collections_policy: str
    balance: Money
    credit_balance: Money
    hold: Hold | None
    subscriptions: list[Subscription]
    invoices: list[InvoiceSummary]


def invoice_summary(invoice, currency: str) -> InvoiceSummary:
    return InvoiceSummary(
        invoice_number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date,
        total=money(invoice.total, currency), open=money(invoice.open_amount, currency),
        credited=money(invoice.credited, currency), written_off=money(invoice.written_off, currency),
        status=invoice.status,
    )


def account_out(account) -> Account:
    currency = account.currency
    subscriptions = [
        Subscription(subscription_id=s.subscription_id, kind="seats", product=s.product, seats=s.seat_changes[-1][1],
                     suspended=s.subscription_id in account.suspensions)
        for s in account.seat_subscriptions.values()
    ] + [
        Subscription(subscription_id=s.subscription_id, kind="metered", product=s.product, meter=s.meter,
                     suspended=s.subscription_id in account.suspensions)
        for s in account.subscriptions.values()
    ]
    hold = account.hold
    return Account(
        customer_id=account.customer_id, name=account.name, currency=currency,
        status="closed" if account.closed else "open", payment_terms_days=account.payment_terms_days,
        tax_rate=str(account.tax_rate), collections_policy=account.policy_name,
        balance=money(account.balance, currency), credit_balance=money(account.credit_balance, currency),
        hold=None if hold is None else Hold(kind=hold.kind, until=hold.until, reason=hold.reason),
        subscriptions=subscriptions,
        invoices=[invoice_summary(i, currency) for i in account.invoices.values()],
    )


@endpoint(router, "POST", "/customers", needs=Permission.OPEN_ACCOUNTS, response_model=AccountChange,
          summary="open a customer account (safe to retry by customer_id)")
def open_account(body: OpenAccount, by: Acting = Depends(acting)) -> AccountChange:
    opened = by.ledger.open_account(
        body.customer_id, body.name, body.currency, body.payment_terms_days, Decimal(body.tax_rate), **by.at(body.at)
    )
    return AccountChange(customer_id=body.customer_id, changed=opened)


@endpoint(router, "GET", "/customers/{customer_id}", needs=Permission.READ_BILLING_VIEWS, response_model=Account,
          summary="an account as the event store holds it now")
def show_account(customer_id: str, request: Request, response: Response) -> Account:
    account = context(request).ledger.get_account(customer_id)
    tag(response, account)  # send it back as If-Match to refuse a decision on a stale read
    return account_out(account)


@endpoint(router, "POST", "/customers/{customer_id}/subscriptions", needs=Permission.CHANGE_SUBSCRIPTIONS,
          response_model=SubscriptionChange, summary="add a metered or seat subscription (safe to retry by subscription_id)")
def add_subscription(customer_id: str, body: NewSubscription = Body(), by: Acting = Depends(acting)) -> SubscriptionChange:
    if isinstance(body, MeteredSubscription):
        added = by.ledger.add_metered_subscription(
            customer_id, body.subscription_id, body.product, body.meter, body.unit, Decimal(body.unit_price),
            Decimal(body.markup_percent), **by.at(body.at),
        )
    else:
        added = by.ledger.add_seat_subscription(
            customer_id, body.subscription_id, body.product, body.seats, Decimal(body.price_per_seat), body.starts_on,
            **by.at(body.at),
        )
    return SubscriptionChange(customer_id=customer_id, subscription_id=body.subscription_id, changed=added)


class ProfileChange(Command):
    """The terms to change; those not given stay as they are."""

    name: str | None = None
    payment_terms_days: int | None = Field(None, ge=0, le=MAX_DAYS)
    tax_rate: DecimalString | None = Field(None, description="percent")


class Closure(Command):
    pass


class PolicyAssignment(Command):
    policy: str = Field(description="a published collections policy (GET /v1/policies/{name})")


class SeatChange(Command):
    seats: int = Field(ge=0)
    effective_on: date


@endpoint(router, "PATCH", "/customers/{customer_id}", needs=Permission.CHANGE_ACCOUNTS, response_model=AccountChange,
          summary="change the billing profile: name, payment terms, tax rate (those given)")
def change_profile(customer_id: str, body: ProfileChange, by: Acting = Depends(acting)) -> AccountChange:
    account = by.ledger.get_account(customer_id)
    changed = by.ledger.change_profile(
        customer_id, account.name if body.name is None else body.name,
        account.payment_terms_days if body.payment_terms_days is None else body.payment_terms_days,
        account.tax_rate if body.tax_rate is None else Decimal(body.tax_rate), **by.at(body.at),
    )
    return AccountChange(customer_id=customer_id, changed=changed)


@endpoint(router, "PUT", "/customers/{customer_id}/policy", needs=Permission.CHANGE_ACCOUNTS,
          response_model=AccountChange, summary="put the account under a collections policy")
def assign_policy(customer_id: str, body: PolicyAssignment, by: Acting = Depends(acting)) -> AccountChange:
    changed = by.ledger.assign_policy(customer_id, body.policy, **by.at(body.at))
    return AccountChange(customer_id=customer_id, changed=changed)


@endpoint(router, "POST", "/customers/{customer_id}/closure", needs=Permission.CHANGE_ACCOUNTS,
          response_model=AccountChange, summary="close the account (closed before: nothing changes)")
def close_account(customer_id: str, body: Closure, by: Acting = Depends(acting)) -> AccountChange:
    return AccountChange(customer_id=customer_id, changed=by.ledger.close_account(customer_id, **by.at(body.at)))


@endpoint(router, "PUT", "/customers/{customer_id}/subscriptions/{subscription_id}/seats",
          needs=Permission.CHANGE_SUBSCRIPTIONS, response_model=SubscriptionChange,
          summary="change a seat subscription's seat count from a day on")
def change_seats(customer_id: str, subscription_id: str, body: SeatChange, by: Acting = Depends(acting)) -> SubscriptionChange:
    changed = by.ledger.change_seats(customer_id, subscription_id, body.seats, body.effective_on, **by.at(body.at))
    return SubscriptionChange(customer_id=customer_id, subscription_id=subscription_id, changed=changed)
