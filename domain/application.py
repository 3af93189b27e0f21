"""The billing ledger application: each command method authorizes the actor, gets the
aggregates, calls one command on them and saves; each query gets and reads.

The persistence backend comes from the environment (`PERSISTENCE_MODULE`), so this module
never imports a database driver; what it asks of the store beyond get and save goes through
the LedgerIndex port (`self.index`, domain/ledger_index.py), which the backend provides.
A consumer that records its source position with what it writes (the usage ingest) rates
a batch here (`rate_usage`) and saves the events with its position itself.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.accounts import CustomerAccount, account_id
from domain.accounts.invoicing import InvoiceDraft, draft_invoice
from domain.bounds import check_id
from domain.errors import LedgerError, UnknownCase, UnknownCustomer
from domain.kept import ASK, Kept
from domain.ledger_index import LedgerIndex
from domain.numbering import INVOICE_SERIES, NumberSeries, is_in_series, series_id
from domain.policy import POLICY_BOOK_ID, CollectionsPolicy, PolicyBook
from domain.runs import CLOSED_BEFORE, CollectionsBatch, InvoiceBatch, IssuedInvoice
from domain.roles import DIRECTORY_ID, Permission, Role, StaffDirectory
from domain.snapshots import register_state_transcodings
from domain.support import SupportCase, support_case_id
from domain.usage import UsageLine, UsageReport, usage_line_id
from domain.usage_batches import UsageOutcome, rate_batch

# How often a command is decided again, on the aggregates as they are then, when a concurrent
# writer saved first (the store refuses the second version of the same aggregate). Each
# conflict means another writer succeeded, so this bounds a race of that many writers.
CONFLICT_RETRIES = 12
SYSTEM = "system:ledger"  # the actor of the aggregates the ledger creates itself
BEGINNING = datetime.min.replace(tzinfo=timezone.utc)
COLLECTIONS_BATCH = 500  # accounts saved per transaction by `collect`


def retried_on_conflict(failure: str):
    """Run a get-call-save method again when its save conflicts with a concurrent writer;
    after CONFLICT_RETRIES conflicts, refuse with `failure` (formatted with the call's
    arguments) rather than wait for ever."""

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def retrying(self, *args, **kwargs):
            for _attempt in range(CONFLICT_RETRIES):
                try:
                    return method(self, *args, **kwargs)
                except IntegrityError:
                    continue
            raise LedgerError(failure.format(**signature.bind(self, *args, **kwargs).arguments))

        return retrying

    return decorate


class BillingLedger(Application):
    name = "ledger"
    # Accounts are read on every usage batch; snapshots bound the cost of a long history. The
    # invoice series takes a number per invoice (100,000 a month for a large reseller): each
    # bill-run worker, and the first invoice after a restart, reads it from its latest snapshot.
    snapshotting_intervals = {CustomerAccount: 50, NumberSeries: 1000}
    index: LedgerIndex  # set by whoever opens the application on a store

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What every command reads and few change: kept while the store has no newer version.
        self._directory = Kept(DIRECTORY_ID, self.staff_directory, lambda: self.index)
        self._policies = Kept(POLICY_BOOK_ID, self.policy_book, lambda: self.index)

    def register_transcodings(self, transcoder) -> None:
        super().register_transcodings(transcoder)
        # Snapshots store aggregate state: its dates and immutable state objects.
        register_state_transcodings(transcoder)

    def construct_recorder(self):
        # A process recorder writes tracking positions in the same transaction as events.
        return self.factory.process_recorder()

    # --- staff and roles -------------------------------------------------------------------

    def staff_directory(self) -> StaffDirectory:
        """The directory to change: a copy of its own (`authorize` reads the kept one)."""
        try:
            return self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return StaffDirectory.create(at=BEGINNING, actor=SYSTEM)

    def authorize(self, actor: str, permission: Permission, *, directory_version=ASK) -> None:
        """Refuse, before anything changes, a command the actor's roles do not allow.
        `directory_version`: the staff directory's stored version (DIRECTORY_ID), when the
        caller asked the store for it just now (see Kept.read)."""
        self._directory.read(directory_version).check_allowed(actor, permission)

    def bootstrap_admin(self, user_id: str, *, at: datetime, actor: str) -> bool:
        directory = self.staff_directory()
        granted = directory.bootstrap(user_id, at=at, actor=actor)
        self.save(directory)
        return granted

    def grant_role(self, user_id: str, role: Role, *, at: datetime, actor: str) -> bool:
        directory = self.staff_directory()
        granted = directory.grant(user_id, role, at=at, actor=actor)
        self.save(directory)
        return granted

    def revoke_role(self, user_id: str, role: Role, *, at: datetime, actor: str) -> bool:
        directory = self.staff_directory()
        revoked = directory.revoke(user_id, role, at=at, actor=actor)
        self.save(directory)
        return revoked

    # --- the collections policy book ---------------------------------------------------------

    def policy_book(self) -> PolicyBook:
        """The book to change: a copy of its own (`policy_for` reads the kept one)."""
        try:
            return self.repository.get(POLICY_BOOK_ID)
        except AggregateNotFoundError:
            return PolicyBook.create(at=BEGINNING, actor=SYSTEM)

    def policy_for(self, account: CustomerAccount, book_version=ASK) -> CollectionsPolicy:
        """The account's policy in the book as stored (`book_version`: as for `authorize`)."""
        return self._policies.read(book_version).policy(account.policy_name)

    def _kept_versions(self) -> tuple[int | None, int | None]:
        """The staff directory's and the policy book's stored versions, in one query: for a
        command that checks the one and reads the other (a round trip fewer per payment)."""
        versions = self.index.current_versions([DIRECTORY_ID, POLICY_BOOK_ID])
        return versions.get(DIRECTORY_ID), versions.get(POLICY_BOOK_ID)

    def publish_policy(self, policy: CollectionsPolicy, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.CHANGE_COLLECTIONS_POLICY)
        book = self.policy_book()
        published = book.publish(policy, at=at, actor=actor)
        self.save(book)
        return published

    # --- accounts and subscriptions ------------------------------------------------------------

    def get_account(self, customer_id: str) -> CustomerAccount:
        # An id that is no id names no account (and may not even encode, to be hashed).
        check_id(customer_id, "customer id")
        try:
            return self.repository.get(account_id(customer_id))
        except AggregateNotFoundError:
            raise UnknownCustomer(customer_id) from None

    def open_account(
        self, customer_id: str, name: str, currency: str, payment_terms_days: int, tax_rate: Decimal,
        *, at: datetime, actor: str,
    ) -> bool:
        """Open an account; returns False when the same account was opened before."""
        self.authorize(actor, Permission.OPEN_ACCOUNTS)
        try:
            existing = self.get_account(customer_id)
        except UnknownCustomer:
            account = CustomerAccount.open(customer_id, name, currency, payment_terms_days, tax_rate, at=at, actor=actor)
            self.save(account)
            return True
        existing.check_same_opening(name, currency, payment_terms_days, tax_rate)
        return False

    def change_profile(
        self, customer_id: str, name: str, payment_terms_days: int, tax_rate: Decimal, *, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.CHANGE_ACCOUNTS)
        account = self.get_account(customer_id)
        changed = account.change_profile(name, payment_terms_days, tax_rate, at=at, actor=actor)
        self.save(account)
        return changed

    def assign_policy(self, customer_id: str, policy_name: str, *, at: datetime, actor: str) -> bool:
        self._policies.read().policy(policy_name)  # refuses a policy that does not exist
        self.authorize(actor, Permission.CHANGE_ACCOUNTS)
        account = self.get_account(customer_id)
        assigned = account.assign_policy(policy_name, at=at, actor=actor)
        self.save(account)
        return assigned

    def close_account(self, customer_id: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.CHANGE_ACCOUNTS)
        account = self.get_account(customer_id)
        closed = account.close(at=at, actor=actor)
        self.save(account)
        return closed

    def add_metered_subscription(
        self, customer_id: str, subscription_id: str, product: str, meter: str, unit: str, unit_price: Decimal,
        markup_percent: Decimal = Decimal(0), *, at: datetime, actor: str,
    ) -> bool:
        self.authorize(actor, Permission.CHANGE_SUBSCRIPTIONS)
        account = self.get_account(customer_id)
        added = account.add_metered_subscription(
            subscription_id, product, meter, unit, unit_price, markup_percent, at=at, actor=actor
        )
        self.save(account)
        return added

    def add_seat_subscription(
        self, customer_id: str, subscription_id: str, product: str, seats: int, price_per_seat: Decimal,
        starts_on: date, *, at: datetime, actor: str,
    ) -> bool:
        self.authorize(actor, Permission.CHANGE_SUBSCRIPTIONS)
        account = self.get_account(customer_id)
        added = account.add_seat_subscription(subscription_id, product, seats, price_per_seat, starts_on, at=at, actor=actor)
        self.save(account)
        return added

    def change_seats(
        self, customer_id: str, subscription_id: str, seats: int, effective_on: date, *, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.CHANGE_SUBSCRIPTIONS)
        account = self.get_account(customer_id)
        changed = account.change_seats(subscription_id, seats, effective_on, at=at, actor=actor)
        self.save(account)
        return changed

    # --- invoices, payments, credits -----------------------------------------------------------

    def issue_invoice(
        self, customer_id: str, period_start: date, period_end: date, *, at: datetime, actor: str
    ) -> str | None:
        """Close a billing period: returns the invoice number, or None if it was closed before."""
        batch = self.issue_invoices([customer_id], period_start, period_end, at=at, actor=actor, refuse=True)
        return batch.issued[0].invoice_number if batch.issued else None

    def issue_invoices(
        self, customer_ids: Sequence[str], period_start: date, period_end: date, *, at: datetime, actor: str,
        refuse: bool = False,
    ) -> InvoiceBatch:
        """Close a billing period for a batch of accounts, in one transaction.

        The invoice numbers, the series advanced by as many and the accounts are saved
        together: a number is never skipped nor used twice. Each invoice names the usage lines
        it bills (no event per line), and an account whose period is closed is skipped, so a
        batch run again issues nothing twice. A racing writer (another bill run, say) makes
        the batch number again, on the accounts as they are then; the drafts stand, since an
        account invoiced meanwhile is skipped. An account the domain refuses is skipped with
        the reason, or, with `refuse`, its error is raised (a single account's command)."""
        self.authorize(actor, Permission.ISSUE_INVOICES)
        batch = InvoiceBatch()
        accounts = self._accounts_to_invoice(customer_ids, period_end, batch, refuse)
        usage = self.index.uninvoiced_usage_of(list(accounts))
        drafts = {
            customer_id: draft_invoice(
                account.seat_subscriptions.values(),
                usage[customer_id],  # usage of a day from period_end on is left for a later invoice
                period_start, period_end, account.tax_rate, account.currency,
            )
            for customer_id, account in accounts.items()
        }
        for _attempt in range(CONFLICT_RETRIES):
            try:
                batch.issued, refused = self._number_and_save(accounts, drafts, period_start, period_end, refuse, at, actor)
                batch.skipped += refused
                return batch
            except IntegrityError:
                batch.renumbered += 1
                accounts = self._accounts_to_invoice(list(accounts), period_end, batch, refuse)
        raise LedgerError(f"invoicing {len(drafts)} accounts kept conflicting with other writers; try again")

    def _accounts_to_invoice(
        self, customer_ids: Sequence[str], period_end: date, batch: InvoiceBatch, refuse: bool
    ) -> dict[str, CustomerAccount]:
        """The accounts whose period ending on `period_end` is still open; the others go to
        the batch's skipped accounts."""
        # One account: get_account's checks and errors. A batch: its accounts in two queries.
        stored = {c: self.get_account(c) for c in customer_ids} if refuse else self.index.accounts(customer_ids)
        accounts = {}
        for customer_id in customer_ids:
            account = stored.get(customer_id)
            if account is None:
                batch.skipped.append((customer_id, str(UnknownCustomer(customer_id))))
                continue
            if account.invoiced_through is not None and period_end <= account.invoiced_through:
                batch.skipped.append((customer_id, CLOSED_BEFORE))  # a retry of a period already closed
            else:
                accounts[customer_id] = account
        return accounts

    def _number_and_save(
        self, accounts: dict[str, CustomerAccount], drafts: dict[str, InvoiceDraft], period_start: date,
        period_end: date, refuse: bool, at: datetime, actor: str,
    ) -> tuple[list[IssuedInvoice], list[tuple[str, str]]]:
        with self.index.numbering_turn(series_id(INVOICE_SERIES)):
            series = self.number_series(INVOICE_SERIES, at=at, actor=actor)
            issued, refused = [], []
            for customer_id, account in accounts.items():
                draft = drafts[customer_id]
                try:  # the number is taken only once the account accepts the invoice: no gap
                    account.issue_invoice(series.next_number(), draft, period_start, period_end, at=at, actor=actor)
                except LedgerError as error:
                    if refuse:
                        raise
                    refused.append((customer_id, str(error)))
                    continue
                number = series.take(customer_id, at=at, actor=actor)
                issued.append(IssuedInvoice(customer_id, number, account.currency, draft.total))
            if issued:
                self.save(series, *(accounts[i.customer_id] for i in issued))
        return issued, refused

    def number_series(self, prefix: str, *, at: datetime, actor: str) -> NumberSeries:
        try:
            return self.repository.get(series_id(prefix))
        except AggregateNotFoundError:
            return NumberSeries.start(prefix, at=at, actor=actor)

    def receive_payment(
        self, customer_id: str, payment_id: str, amount: int, currency: str, method: str, reference: str,
        invoice_number: str | None = None, *, at: datetime, actor: str,
    ) -> bool:
        directory, book = self._kept_versions()
        self.authorize(actor, Permission.RECORD_PAYMENTS, directory_version=directory)
        account = self.get_account(customer_id)
        received = account.receive_payment(
            payment_id, amount, currency, method, reference, invoice_number, self.policy_for(account, book), at=at, actor=actor
        )
        self.save(account)
        return received

    def reverse_payment(self, customer_id: str, payment_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.RECORD_PAYMENTS)
        account = self.get_account(customer_id)
        reversed_ = account.reverse_payment(payment_id, reason, self.policy_for(account), at=at, actor=actor)
        self.save(account)
        return reversed_

    def refund(
        self, customer_id: str, refund_id: str, amount: int, method: str, reference: str, *, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.RECORD_PAYMENTS)
        account = self.get_account(customer_id)
        refunded = account.refund(refund_id, amount, method, reference, at=at, actor=actor)
        self.save(account)
        return refunded

    def issue_credit_note(
        self, customer_id: str, credit_note_id: str, invoice_number: str, amount: int, reason: str,
        *, at: datetime, actor: str,
    ) -> bool:
        self.authorize(actor, Permission.ISSUE_CREDIT_NOTES)
        account = self.get_account(customer_id)
        issued = account.issue_credit_note(
            credit_note_id, invoice_number, amount, reason, self.policy_for(account), at=at, actor=actor
        )
        self.save(account)
        return issued

    def write_off(self, customer_id: str, invoice_number: str, reason: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.RUN_COLLECTIONS)
        account = self.get_account(customer_id)
        written_off = account.write_off(invoice_number, reason, at=at, actor=actor)
        self.save(account)
        return written_off

    # --- collections ------------------------------------------------------------------------------

    def collect(self, *, at: datetime, actor: str) -> dict[str, list[str]]:
        """Run the collections policy over every account; returns what each account got."""
        done: dict[str, list[str]] = {}
        customer_ids = self.index.customer_ids()
        for start in range(0, len(customer_ids), COLLECTIONS_BATCH):
            done.update(self.collect_accounts(customer_ids[start:start + COLLECTIONS_BATCH], at=at, actor=actor).done)
        return done

    @retried_on_conflict("collections over {customer_ids!r:.60} kept conflicting with other writers; try again")
    def collect_accounts(self, customer_ids: Sequence[str], *, at: datetime, actor: str) -> CollectionsBatch:
        """Run the collections policy over a batch of accounts, saved in one transaction. Run
        again on the same day, it emits nothing more (the account's own rule): a batch cut
        short is simply run again."""
        self.authorize(actor, Permission.RUN_COLLECTIONS)
        book = self.policy_book()
        batch = CollectionsBatch(accounts=len(customer_ids))
        changed = []
        stored = self.index.accounts(customer_ids)
        for customer_id in customer_ids:
            account = stored.get(customer_id) or self.get_account(customer_id)  # none: UnknownCustomer
            account.collect(book.policy(account.policy_name), at=at, actor=actor)
            if account.pending_events:
                batch.done[customer_id] = [type(e).__name__ for e in account.pending_events]
                changed.append(account)
        if changed:
            self.save(*changed)
        return batch

    def place_hold(self, customer_id: str, kind: str, until: date, reason: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.RUN_COLLECTIONS)
        account = self.get_account(customer_id)
        placed = account.place_hold(kind, until, reason, at=at, actor=actor)
        self.save(account)
        return placed

    def release_hold(self, customer_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.RUN_COLLECTIONS)
        account = self.get_account(customer_id)
        released = account.release_hold(reason, at=at, actor=actor)
        self.save(account)
        return released

    def suspend(
        self, customer_id: str, subscription_ids: list[str] | None, reason: str, *, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.SUSPEND_AND_REINSTATE)
        account = self.get_account(customer_id)
        suspended = account.suspend(subscription_ids, reason, self.policy_for(account), at=at, actor=actor)
        self.save(account)
        return suspended

    def reinstate(
        self, customer_id: str, subscription_ids: list[str] | None, reason: str, *, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.SUSPEND_AND_REINSTATE)
        account = self.get_account(customer_id)
        reinstated = account.reinstate(subscription_ids, reason, at=at, actor=actor)
        self.save(account)
        return reinstated

    # --- support cases -----------------------------------------------------------------------------

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
            for reference in about:  # a case may be about the account's invoices and payments
                if is_in_series(INVOICE_SERIES, reference):
                    account.check_has_invoice(reference)
                else:
                    account.check_has_payment(reference)
            case = SupportCase.open(case_id, customer_id, category, subject, about, at=at, actor=actor)
            try:
                self.save(case)
                return True
            except IntegrityError:
                existing = self.get_case(case_id)  # opened concurrently: a retry, or a conflict
        existing.check_same_opening(customer_id, category, subject, about)
        return False

    # Agents work a case at the same time: a conflicting save decides again on the case's new state.

    @retried_on_conflict("support case {case_id!r} kept changing under other writers; try again")
    def add_case_note(self, case_id: str, note: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        case = self.get_case(case_id)
        noted = case.add_note(note, at=at, actor=actor)
        self.save(case)
        return noted

    @retried_on_conflict("support case {case_id!r} kept changing under other writers; try again")
    def escalate_case(
        self, case_id: str, *, partner_support_plan: str, vendor_ticket: str | None = None, at: datetime, actor: str
    ) -> bool:
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        case = self.get_case(case_id)
        escalated = case.escalate(partner_support_plan=partner_support_plan, vendor_ticket=vendor_ticket, at=at, actor=actor)
        self.save(case)
        return escalated

    @retried_on_conflict("support case {case_id!r} kept changing under other writers; try again")
    def resolve_case(self, case_id: str, resolution: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        case = self.get_case(case_id)
        resolved = case.resolve(resolution, at=at, actor=actor)
        self.save(case)
        return resolved

    @retried_on_conflict("support case {case_id!r} kept changing under other writers; try again")
    def reopen_case(self, case_id: str, reason: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.WORK_SUPPORT_CASES)
        case = self.get_case(case_id)
        reopened = case.reopen(reason, at=at, actor=actor)
        self.save(case)
        return reopened

    # --- usage ---------------------------------------------------------------------------------------

    @retried_on_conflict("usage batch kept conflicting with concurrent writers; try again")
    def record_usage(self, reports: Sequence[UsageReport], *, actor: str) -> UsageOutcome:
        """Rate and record a batch of usage in one transaction. A usage id seen before (in this
        batch, earlier, or by another process) is a counted duplicate; a report the domain
        refuses is returned with its error. A concurrent writer that took some of these usage
        ids makes this look again."""
        outcome = self.rate_usage(reports, actor=actor)
        self.events.put(outcome.recorded)
        return outcome

    def rate_usage(self, reports: Sequence[UsageReport], *, actor: str) -> UsageOutcome:
        """Rate a batch, writing nothing: the outcome's `recorded` events are what to save.

        A usage line is a new aggregate with one event, never snapshotted and not read back:
        its event is saved with `events.put`, without save()'s generic collect and cache steps
        (at ingest rates their protocol checks cost more than rating the usage)."""
        line_ids = [usage_line_id(r.usage_id) for r in reports]
        # Only a duplicate is compared with its first recording: one query for the batch's
        # duplicates, none when there are none (the usual case).
        recorded_before = self.index.recorded_usage_lines(line_ids)
        firsts = self.first_usage_reports([i for i in line_ids if i in recorded_before])
        cached = self._accounts_as_stored({r.customer_id for r in reports})

        def account_of(customer_id: str) -> CustomerAccount:
            return cached.get(customer_id) or self.get_account(customer_id)

        return rate_batch(reports, line_ids, firsts, account_of, actor=actor)

    def _accounts_as_stored(self, customer_ids: set[str]) -> dict[str, CustomerAccount]:
        """The cached accounts still at their stored version. Rating reads accounts and changes
        none: one query for the batch's customers then replaces a fast-forward query and a deep
        copy per customer (get_account's safe default)."""
        cache = self.repository.cache
        if cache is None:
            return {}
        ids = {account_id(customer_id): customer_id for customer_id in customer_ids}
        accounts = {}
        for aggregate_id, version in self.index.current_versions(list(ids)).items():
            try:
                cached = cache.get(aggregate_id)
            except KeyError:
                continue
            if cached.version == version:
                accounts[ids[aggregate_id]] = cached
        return accounts

    def first_usage_reports(self, line_ids: Sequence[UUID]) -> dict[UUID, UsageReport]:
        """The report each of these usage lines was first recorded from."""
        if not line_ids:
            return {}
        return {e.originator_id: UsageLine.report_of(e) for e in self.index.first_recordings(line_ids)}
