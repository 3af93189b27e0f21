"""The helpdesk's commands: `ledger case open|note|escalate|resolve|reopen|show`."""

from __future__ import annotations

import json
import os
from uuid import uuid4

from domain.roles import Permission
from domain.support import Category
from ledger.commands import add_command, add_group, business_time, staff_options, with_services
from ledger.config import Settings

# Technical cases go to the vendor support of the partner's plan; which plan that is,
# is configuration of the installation, not a choice made case by case.
DEFAULT_SUPPORT_PLAN = "Partner Success Advanced"


def partner_support_plan() -> str:
    return os.environ.get("LEDGER_PARTNER_SUPPORT_PLAN") or DEFAULT_SUPPORT_PLAN


def new_case_id() -> str:
    # The CLI is the edge: an id made here is what makes a retry of the same case harmless.
    return f"CASE-{uuid4().hex[:8].upper()}"


def _ledger(settings: Settings):
    from eventstore.postgres import open_application

    return open_application(settings)


def _report(case_id: str, changed: bool, done: str) -> int:
    print(f"case {case_id}: {done if changed else 'nothing changed (already so)'}")
    return 0


@with_services
def cmd_case_open(settings: Settings, args) -> int:
    case_id = args.id or new_case_id()
    opened = _ledger(settings).open_case(
        case_id, args.customer, args.category, args.subject, args.about, at=business_time(args), actor=args.actor
    )
    return _report(case_id, opened, "opened")


def _text_command(method: str, text_arg: str, done: str):
    """A command that hands the application a case id and one text: a note, resolution, reason."""

    @with_services
    def run(settings: Settings, args) -> int:
        work = getattr(_ledger(settings), method)
        changed = work(args.case, getattr(args, text_arg), at=business_time(args), actor=args.actor)
        return _report(args.case, changed, done)

    return run


cmd_case_note = _text_command("add_case_note", "text", "note added")
cmd_case_resolve = _text_command("resolve_case", "resolution", "resolved")
cmd_case_reopen = _text_command("reopen_case", "reason", "reopened")


@with_services
def cmd_case_escalate(settings: Settings, args) -> int:
    plan = partner_support_plan()
    escalated = _ledger(settings).escalate_case(
        args.case, partner_support_plan=plan, vendor_ticket=args.vendor_ticket, at=business_time(args), actor=args.actor
    )
    return _report(args.case, escalated, f"escalated (support plan {plan})")


def case_view(case) -> dict:
    destination, plan, ticket = case.escalation or (None, None, None)
    return {
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "category": case.category.value,
        "subject": case.subject,
        "about": list(case.about),
        "status": "resolved" if case.resolved else "open",
        "escalated_to": destination,
        "support_plan": plan,
        "vendor_ticket": ticket,
        "resolution": case.resolution,
        "notes": [{"at": at.isoformat(), "by": actor, "note": note} for at, actor, note in case.notes],
        "opened_at": case.created_on.isoformat(),
        "last_changed_at": case.modified_on.isoformat(),
    }


def case_table(view: dict) -> str:
    from readside.queries import cell

    width = max(map(len, view))
    lines = [
        f"{key:<{width}}  {cell(', '.join(value) if isinstance(value, list) else value)}"
        for key, value in view.items() if key != "notes" and value not in (None, [])
    ]
    lines += [f"{'note':<{width}}  {n['at']} {cell(n['by'])}: {cell(n['note'])}" for n in view["notes"]]
    return "\n".join(lines)


@with_services
def cmd_case_show(settings: Settings, args) -> int:
    ledger = _ledger(settings)
    ledger.authorize(args.actor, Permission.READ_SUPPORT_VIEW)
    view = case_view(ledger.get_case(args.case))
    print(json.dumps(view, indent=2) if args.format == "json" else case_table(view))
    return 0


def register(sub) -> None:
    case = add_group(sub, "case", "support cases: open, note, escalate to the vendor, resolve, reopen")
    p = add_command(case, "open", cmd_case_open, "open a support case for a customer; prints its id")
    p.add_argument("customer")
    p.add_argument("--category", required=True, choices=[c.value for c in Category])
    p.add_argument("--subject", required=True)
    p.add_argument("--about", nargs="+", action="extend", default=[], metavar="REF",
                   help="invoice numbers (INV-...) and payment ids the case is about")
    p.add_argument("--id", help="the case id (default: a new CASE-xxxxxxxx); give it to retry safely")
    staff_options(p)
    p = add_command(case, "note", cmd_case_note, "add a note to a case")
    p.add_argument("case")
    p.add_argument("text")
    staff_options(p)
    p = add_command(case, "escalate", cmd_case_escalate,
                    "hand a case to the vendor's support (the plan comes from LEDGER_PARTNER_SUPPORT_PLAN)")
    p.add_argument("case")
    p.add_argument("--vendor-ticket", help="the vendor's ticket reference, if known")
    staff_options(p)
    p = add_command(case, "resolve", cmd_case_resolve, "resolve a case")
    p.add_argument("case")
    p.add_argument("--resolution", required=True)
    staff_options(p)
    p = add_command(case, "reopen", cmd_case_reopen, "reopen a resolved case")
    p.add_argument("case")
    p.add_argument("--reason", required=True)
    staff_options(p)
    p = add_command(case, "show", cmd_case_show, "show a case and its notes")
    p.add_argument("case")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--as", dest="actor", required=True, help="the staff user who reads; must be allowed to read the support view")
