"""The helpdesk's commands: `ledger case open|note|escalate|resolve|reopen|show`."""

from __future__ import annotations

import json
from uuid import uuid4

from domain.support import Category
from ledger.api_client import Api
from ledger.commands import add_command, add_group, at_of, staff_options, with_api


def new_case_id() -> str:
    # The CLI is the edge: an id made here is what makes a retry of the same case harmless.
    return f"CASE-{uuid4().hex[:8].upper()}"


def _report(case_id: str, answer: dict, done: str) -> int:
    print(f"case {case_id}: {done if answer['changed'] else 'nothing changed (already so)'}")
    return 0


@with_api
def cmd_case_open(api: Api, args) -> int:
    case_id = args.id or new_case_id()
    answer = api.post("/cases", {
        "case_id": case_id, "customer_id": args.customer, "category": args.category, "subject": args.subject,
        "about": args.about, "at": at_of(args),
    })
    return _report(case_id, answer, "opened")


def _text_command(path: str, field: str, text_arg: str, done: str):
    """A command that hands the API a case id and one text: a note, resolution, reason."""

    @with_api
    def run(api: Api, args) -> int:
        answer = api.post(f"/cases/{args.case}/{path}", {field: getattr(args, text_arg), "at": at_of(args)})
        return _report(args.case, answer, done)

    return run


cmd_case_note = _text_command("notes", "note", "text", "note added")
cmd_case_resolve = _text_command("resolution", "resolution", "resolution", "resolved")
cmd_case_reopen = _text_command("reopening", "reason", "reason", "reopened")


@with_api
def cmd_case_escalate(api: Api, args) -> int:
    answer = api.post(f"/cases/{args.case}/escalation", {"vendor_ticket": args.vendor_ticket, "at": at_of(args)})
    plan = api.get(f"/cases/{args.case}")["support_plan"] if answer["changed"] else None
    return _report(args.case, answer, f"escalated (support plan {plan})")


def case_table(view: dict) -> str:
    from readside.tables import cell

    width = max(map(len, view))
    lines = [
        f"{key:<{width}}  {cell(', '.join(value) if isinstance(value, list) else value)}"
        for key, value in view.items() if key != "notes" and value not in (None, [])
    ]
    lines += [f"{'note':<{width}}  {n['at']} {cell(n['by'])}: {cell(n['note'])}" for n in view["notes"]]
    return "\n".join(lines)


@with_api
def cmd_case_show(api: Api, args) -> int:
    view = api.get(f"/cases/{args.case}")
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
