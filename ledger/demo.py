"""`ledger demo`: a few dozen customers, three months of metered usage, through the real pipeline.

Everything is deterministic (fixed ids, a seeded generator), so a second run publishes the
same usage again: the ledger counts it as duplicates and prints the same table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from consumers import kafka_clients
from domain.roles import Role
from eventstore.postgres import open_application
from ledger.config import Settings
from ledger.processes import drain
from ledger.usage_publisher import publish_usage

# `ledger demo` is an operator command (system:demo): on a new ledger it makes the demo's
# billing admin, who then does the billing staff's work in-process.
OPERATOR = "system:demo"
ACTOR = "demo:billing-admin"
FIRST_DAY = date(2026, 8, 1)
DAYS = 92
CUSTOMERS = 36

# (subscription suffix, product, meter, unit, unit price)
METERS = [
    ("vm", "Azure Virtual Machines", "vcpu-hours", "h", Decimal("0.0416")),
    ("storage", "Azure Blob Storage", "gb-days", "GB", Decimal("0.000613")),
    ("copilot", "Copilot Studio", "messages", "msg", Decimal("0.01")),
]
COMPANIES = (
    "Contoso Fabrikam Northwind Tailspin Litware Adatum Proseware Woodgrove Wingtip Alpine "
    "Relecloud Trey Lamna Humongous Coho Margie Lucerne Fourth"
).split()
CURRENCIES = ["EUR", "USD", "GBP", "EUR", "CHF", "JPY"]


def demo_customers() -> list[dict]:
    rng = random.Random(2026)
    customers = []
    for n in range(1, CUSTOMERS + 1):
        customer_id = f"CUST-{n:03d}"
        meters = rng.sample(METERS, rng.randint(1, 3))
        customers.append(
            {
                "customer_id": customer_id,
                "name": f"{COMPANIES[(n - 1) % len(COMPANIES)]} {'Ltd' if n % 2 else 'GmbH'} {n}",
                "currency": CURRENCIES[n % len(CURRENCIES)],
                "markup": Decimal(rng.choice([-5, 0, 0, 10, 15])),
                "meters": meters,
                "scale": rng.randint(1, 40),
            }
        )
    return customers


def demo_usage(customers: list[dict]) -> list[dict]:
    rng = random.Random(11)
    records = []
    for day_number in range(DAYS):
        day = FIRST_DAY + timedelta(days=day_number)
        start = datetime.combine(day, time(), timezone.utc)
        for customer in customers:
            for suffix, product, meter, unit, _price in customer["meters"]:
                quantity = Decimal(rng.randint(0, 2400 * customer["scale"])) / 100
                records.append(
                    {
                        "event_id": f"demo-{customer['customer_id']}-{suffix}-{day.isoformat()}",
                        "source_system": "demo-metering",
                        "customer_id": customer["customer_id"],
                        "subscription_id": f"{customer['customer_id']}-{suffix}",
                        "product": product,
                        "meter": meter,
                        "quantity": quantity,
                        "unit": unit,
                        "usage_start": start,
                        "usage_end": start + timedelta(days=1),
                        "observed_at": start + timedelta(days=1, minutes=5),
                        "attributes": {"region": rng.choice(["westeurope", "eastus", "uksouth"])},
                    }
                )
    return records


def open_demo_accounts(app, customers: list[dict]) -> None:
    opened_at = datetime.combine(FIRST_DAY, time(), timezone.utc)
    for customer in customers:
        app.open_account(
            customer["customer_id"],
            customer["name"],
            customer["currency"],
            30,
            Decimal("20"),
            at=opened_at,
            actor=ACTOR,
        )
        for suffix, product, meter, unit, price in customer["meters"]:
            app.add_metered_subscription(
                customer["customer_id"],
                f"{customer['customer_id']}-{suffix}",
                product,
                meter,
                unit,
                price,
                customer["markup"],
                at=opened_at,
                actor=ACTOR,
            )


SEATS = ("m365", "Microsoft 365 E3", Decimal("33.00"))
DEMO_END = date(2026, 11, 30)


def add_demo_seats(app, customers: list[dict]) -> None:
    suffix, product, price = SEATS
    for n, customer in enumerate(customers, 1):
        subscription = f"{customer['customer_id']}-{suffix}"
        app.add_seat_subscription(customer["customer_id"], subscription, product, 5 + n % 20, price, FIRST_DAY,
                                  at=_at(FIRST_DAY), actor=ACTOR)
        if n % 4 == 0:  # some customers add seats in the middle of September
            app.change_seats(customer["customer_id"], subscription, 10 + n % 20, date(2026, 9, 16),
                             at=_at(date(2026, 9, 15)), actor=ACTOR)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9), timezone.utc)


def billing_timeline(customers: list[dict]) -> list[tuple[date, int, str, tuple]]:
    """Three months invoiced; customers who pay on time, in part, late, too much, or not at all;
    a bounced payment, a credit note, a promise to pay; collections twice a month."""
    timeline = []
    months = [(date(2026, 8, 1), date(2026, 9, 1)), (date(2026, 9, 1), date(2026, 10, 1)),
              (date(2026, 10, 1), date(2026, 11, 1))]
    for start, end in months:
        timeline.append((end, 0, "invoice", (start, end)))
    for day in (15, 30):
        for month in (9, 10, 11):
            timeline.append((date(2026, month, min(day, 30)), 2, "collect", ()))
    for n, customer in enumerate(customers, 1):
        cid = customer["customer_id"]
        behaviour = n % 6
        for m, (_start, end) in enumerate(months):
            if behaviour == 3 and m == 2:
                continue  # stops paying
            delay = {0: 10, 1: 25, 2: 12, 3: 20, 4: 5, 5: 45}[behaviour]
            paid_on = end + timedelta(days=delay)
            if paid_on <= DEMO_END:
                share = {2: Decimal("0.5"), 4: Decimal("1.2")}.get(behaviour, Decimal(1))
                timeline.append((paid_on, 1, "pay", (cid, f"DEMO-PAY-{cid}-{m}", share, m)))
        if n == 7:
            timeline.append((date(2026, 10, 20), 1, "bounce", (cid, f"DEMO-PAY-{cid}-0")))
        if n == 11:
            timeline.append((date(2026, 10, 5), 1, "credit", (cid, "INV-for-sep")))
        if n == 17:
            timeline.append((date(2026, 11, 2), 1, "hold", (cid,)))
    return sorted(timeline, key=lambda item: (item[0], item[1], item[2], item[3]))


def run_billing(app, timeline) -> None:
    invoices: dict[tuple[str, int], str] = {}
    for day, _order, kind, detail in timeline:
        at = _at(day)
        if kind == "invoice":
            start, end = detail
            for customer_id in app.index.customer_ids():
                number = app.issue_invoice(customer_id, start, end, at=at, actor=ACTOR)
                month = {9: 0, 10: 1, 11: 2}[end.month]
                invoices[(customer_id, month)] = number or _invoice_of(app, customer_id, end)
        elif kind == "pay":
            customer_id, payment_id, share, month = detail
            account = app.get_account(customer_id)
            total = account.invoices[invoices[(customer_id, month)]].total
            amount = int(total * share)
            if amount > 0:
                app.receive_payment(customer_id, payment_id, amount, account.currency, "transfer", payment_id,
                                    at=at, actor=ACTOR)
        elif kind == "bounce":
            app.reverse_payment(detail[0], detail[1], "returned by the bank", at=at, actor=ACTOR)
        elif kind == "credit":
            customer_id = detail[0]
            number = invoices[(customer_id, 1)]
            open_amount = app.get_account(customer_id).invoices[number].open_amount
            if open_amount:
                app.issue_credit_note(customer_id, f"DEMO-CN-{customer_id}", number, max(1, open_amount // 10),
                                      "service outage credit", at=at, actor=ACTOR)
        elif kind == "hold":
            app.place_hold(detail[0], "promise-to-pay", date(2026, 12, 15), "promised after their budget review",
                           at=at, actor=ACTOR)
        elif kind == "collect":
            app.collect(at=datetime.combine(day, time(), timezone.utc), actor=ACTOR)


def _invoice_of(app, customer_id: str, period_end: date) -> str:
    """On a second run, the invoice issued before for that period."""
    account = app.get_account(customer_id)
    issued = [i for i in account.invoices.values() if i.issue_date == period_end]
    return issued[0].number


def run_demo(settings: Settings, say) -> None:
    app = open_application(settings)
    if not app.staff_directory().roles:  # a new ledger: the demo's admin is its first user
        app.bootstrap_admin(ACTOR, at=datetime.combine(FIRST_DAY, time(), timezone.utc), actor=OPERATOR)
    customers = demo_customers()
    open_demo_accounts(app, customers)
    add_demo_seats(app, customers)
    kafka_clients.ensure_topics(settings)
    producer = kafka_clients.producer(settings)
    published = publish_usage(producer, settings.usage_topic, demo_usage(customers))
    producer.close()
    say(f"published {published} usage events for {len(customers)} customers to {settings.usage_topic}")

    processes = drain(settings, app)
    counts = processes[0].ingest.counts
    say(f"ingest: {counts.consumed} consumed = {counts.recorded} recorded + {counts.duplicates} duplicates"
        f" + {counts.conflicting} conflicting + {counts.dead_letters} dead letters")
    run_billing(app, billing_timeline(customers))
    say("billing: August to October invoiced; payments, a bounced payment, a credit note, a promise to pay;"
        " collections run twice a month to 30 November")
    processes = drain(settings, app)
    say(f"relay published {processes[1].relay.published} ledger events; projections are complete")


# `ledger demo --serve`: a staff user for each role, so that a new user can sign in to the
# console as each of them. Their passwords are new on each run (printed once, never stored in
# clear); setting one ends that user's earlier sessions.
DEMO_STAFF = [
    (Role.GLOBAL_ADMIN, "Global admin", "gina@demo.example"),
    (Role.USER_MANAGEMENT_ADMIN, "User management admin", "uma@demo.example"),
    (Role.HELPDESK_AGENT, "Helpdesk agent", "hal@demo.example"),
    (Role.BILLING_ADMIN, "Billing admin", "bea@demo.example"),
    (Role.SALES_AGENT, "Sales agent", "sam@demo.example"),
]


@dataclass(frozen=True)
class SignIn:
    role: str
    user: str
    password: str


def demo_sign_ins(ctx) -> list[SignIn]:
    """Each demo staff user granted their role (once) and given a new password of their own
    (not a one-time one: the demo shows the console straight away)."""
    from service.access import set_password
    from service.credentials import new_password

    at = ctx.clock()
    sign_ins = []
    for role, label, user in DEMO_STAFF:
        ctx.ledger.grant_role(user, role, at=at, actor=ACTOR)
        password = new_password()
        set_password(ctx.credentials, ctx.access, user, password, one_time=False, at=at, actor=ACTOR)
        sign_ins.append(SignIn(label, user, password))
    return sign_ins


def sign_ins_text(url: str, sign_ins: list[SignIn]) -> str:
    width = max(len(s.role) for s in sign_ins)
    user_width = max(len(s.user) for s in sign_ins)
    lines = [f"the staff console: {url}/ (Ctrl-C stops it); sign in as"]
    lines += [f"  {s.role:<{width}}  user {s.user:<{user_width}}  password {s.password}" for s in sign_ins]
    return "\n".join(lines)


def serve_demo(settings: Settings, host: str, port: int) -> None:
    """`ledger serve` on the demo's services, with a sign-in printed for each role, until Ctrl-C.
    The port listens before the sign-ins are printed: whoever opens the address at once waits
    for the server, never finds the port closed."""
    import socket

    import uvicorn

    from service.app import ServiceContext, create_app
    from service.server import config

    ctx = ServiceContext.open(settings)
    try:
        with socket.create_server((host, port), reuse_port=False, backlog=128) as listening:
            print(sign_ins_text(f"http://{host}:{port}", demo_sign_ins(ctx)), flush=True)
            try:
                uvicorn.Server(config(create_app(ctx))).run(sockets=[listening])
            except KeyboardInterrupt:  # uvicorn has shut down gracefully, then re-raises the Ctrl-C: a clean stop
                pass
    finally:
        ctx.close()
