"""The helpdesk's application methods, mixed into BillingLedger: each authorizes the actor,
gets the case, calls one command and saves it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.account import CustomerAccount
from domain.bounds import check_id
from domain.errors import LedgerError, UnknownCase
from domain.roles import Permission
from domain.support import SupportCase, support_case_id

INVOICE_PREFIX = "INV-"
CONFLICT_RETRIES = 5


def check_reference(account: CustomerAccount, reference: str) -> None:
    """A case may be about the account's invoices (INV-...) and payments (any other id)."""
    if reference.startswith(INVOICE_PREFIX):
        account.check_has_invoice(reference)
    else:
        account.check_has_payment(reference)


class SupportCases:
    """Support cases for BillingLedger (an eventsourcing Application with `authorize` and `get_account`)."""

    def get_case(self, case_id: str) -> SupportCase:
        check_id(case_id, "support case id")  # an id that is no id names no case
        try:
            return self.repository.get(support_case_id(case_id))
        except AggregateNotFoundError:
            raise UnknownCase(case_id) from None

    def open_case(
        self, case_id: str, customer_id: str, category: str, subject: str, about: list[str], *, at: datetime, actor: str
    ) -> bool:
        """Open a case; returns False when the same case was opened before with the same content."""
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        try:
            existing = self.get_case(case_id)
        except UnknownCase:
            account = self.get_account(customer_id)
            for reference in about:
                check_reference(account, reference)
            case = SupportCase.open(case_id, customer_id, category, subject, about, at=at, actor=actor)
            try:
                self.save(case)
                return True
            except IntegrityError:
                existing = self.get_case(case_id)  # opened concurrently: a retry, or a conflict
        existing.check_same_opening(customer_id, category, subject, about)
        return False

    def add_case_note(self, case_id: str, note: str, *, at: datetime, actor: str) -> bool:
        return self._work_on(case_id, actor, lambda case: case.add_note(note, at=at, actor=actor))

    def escalate_case(
        self, case_id: str, *, partner_support_plan: str, vendor_ticket: str | None = None, at: datetime, actor: str
    ) -> bool:
        return self._work_on(
            case_id, actor,
            lambda case: case.escalate(
                partner_support_plan=partner_support_plan, vendor_ticket=vendor_ticket, at=at, actor=actor
            ),
        )

    def resolve_case(self, case_id: str, resolution: str, *, at: datetime, actor: str) -> bool:
        return self._work_on(case_id, actor, lambda case: case.resolve(resolution, at=at, actor=actor))

    def reopen_case(self, case_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        return self._work_on(case_id, actor, lambda case: case.reopen(reason, at=at, actor=actor))

    def _work_on(self, case_id: str, actor: str, command: Callable[[SupportCase], bool]) -> bool:
        """Authorize, get the case, call the command, save: returns whether anything changed."""
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        for _attempt in range(CONFLICT_RETRIES):
            case = self.get_case(case_id)
            changed = command(case)
            try:
                self.save(case)
            except IntegrityError:
                continue  # another agent changed the case meanwhile: decide again on its new state
            return changed
        raise LedgerError(f"support case {case_id!r} kept changing under other writers; try again")
