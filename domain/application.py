"""The billing ledger application: each method gets aggregates, calls a command, saves.

The persistence backend comes from the environment (`PERSISTENCE_MODULE`), so this
module never imports a database driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Tracking

from domain.account import CustomerAccount, account_id
from domain.bounds import check_id
from domain.errors import LedgerError, UnknownCustomer
from domain.roles import DIRECTORY_ID, Permission, Role, StaffDirectory
from domain.support_service import SupportCases
from domain.billing_service import BillingService
from domain.state import register_state_transcodings
from domain.usage import ConflictingUsage, InvalidUsageReport, UsageLine, UsageReport, usage_line_id


@dataclass
class UsageOutcome:
    """What became of each report in a batch: recorded, a duplicate (the same usage again),
    a conflicting duplicate (the same usage id with other content: the first recording
    stands), or rejected with a reason."""

    recorded: list[UsageLine.Recorded] = field(default_factory=list)  # one event per recorded line
    duplicates: list[int] = field(default_factory=list)
    conflicting: list[tuple[int, ConflictingUsage]] = field(default_factory=list)
    rejected: list[tuple[int, LedgerError]] = field(default_factory=list)
    already_tracked: bool = False


class BillingLedger(SupportCases, BillingService, Application):
    name = "ledger"
    # Accounts are read on every usage batch; snapshots bound the cost of a long history.
    snapshotting_intervals = {CustomerAccount: 50}

    def register_transcodings(self, transcoder) -> None:
        super().register_transcodings(transcoder)
        # Snapshots store aggregate state: its dates and immutable state objects.
        register_state_transcodings(transcoder)

    def construct_recorder(self):
        # A process recorder writes tracking positions in the same transaction as events.
        return self.factory.process_recorder()

    def save_tracked(self, tracking: Tracking | None, *aggregates) -> None:
        """Save the aggregates' new events and the source position in one transaction."""
        processing_event = ProcessingEvent(tracking=tracking)
        processing_event.collect_events(*aggregates)
        self._record(processing_event)
        self._take_snapshots(processing_event)

    # --- staff and roles -------------------------------------------------------------

    def staff_directory(self) -> StaffDirectory:
        try:
            return self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return StaffDirectory.create(at=datetime.min.replace(tzinfo=timezone.utc), actor="system:ledger")

    def authorize(self, actor: str, permission: Permission) -> None:
        """Refuse, before anything changes, a command the actor's roles do not allow."""
        self.staff_directory().check_allowed(actor, permission)

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

    # --- accounts --------------------------------------------------------------------

    def get_account(self, customer_id: str) -> CustomerAccount:
        # An id that is no id names no account (and may not even encode, to be hashed).
        check_id(customer_id, "customer id")
        try:
            return self.repository.get(account_id(customer_id))
        except AggregateNotFoundError:
            raise UnknownCustomer(customer_id) from None

    def open_account(
        self,
        customer_id: str,
        name: str,
        currency: str,
        payment_terms_days: int,
        tax_rate: Decimal,
        *,
        at: datetime,
        actor: str,
    ) -> bool:
        """Open an account; returns False when the same account was opened before."""
        self.authorize(actor, Permission.OPEN_ACCOUNTS)
        try:
            existing = self.get_account(customer_id)
        except UnknownCustomer:
            account = CustomerAccount.open(
                customer_id, name, currency, payment_terms_days, tax_rate, at=at, actor=actor
            )
            self.save(account)
            return True
        existing.check_same_opening(name, currency, payment_terms_days, tax_rate)
        return False

    def add_metered_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        product: str,
        meter: str,
        unit: str,
        unit_price: Decimal,
        markup_percent: Decimal = Decimal(0),
        *,
        at: datetime,
        actor: str,
    ) -> bool:
        self.authorize(actor, Permission.CHANGE_SUBSCRIPTIONS)
        account = self.get_account(customer_id)
        added = account.add_metered_subscription(
            subscription_id, product, meter, unit, unit_price, markup_percent, at=at, actor=actor
        )
        self.save(account)
        return added

    def close_account(self, customer_id: str, *, at: datetime, actor: str) -> bool:
        self.authorize(actor, Permission.CHANGE_ACCOUNTS)
        account = self.get_account(customer_id)
        closed = account.close(at=at, actor=actor)
        self.save(account)
        return closed

    def record_usage_by_hand(self, report: UsageReport, *, actor: str) -> UsageOutcome:
        """Usage keyed in by billing staff (a correction, a meter that is not connected)."""
        self.authorize(actor, Permission.RECORD_USAGE)
        outcome = self.record_usage([report], actor=actor)
        refused = outcome.rejected + outcome.conflicting  # a correction needs a usage id of its own
        if refused:
            raise refused[0][1]
        return outcome

    # --- usage -----------------------------------------------------------------------

    def record_usage(
        self,
        reports: Sequence[UsageReport],
        *,
        actor: str,
        tracking: Tracking | None = None,
        before_commit: Callable[[UsageOutcome], None] | None = None,
    ) -> UsageOutcome:
        """Record a batch of usage in one transaction, with its source position if given.

        A usage id seen before (in this batch, earlier, or by another process) is a
        counted duplicate; a report the domain refuses is returned with its error.
        `before_commit` sees the outcome before anything is written: a consumer
        dead-letters the refused reports there, so that none is lost by a crash.
        """
        for _attempt in range(3):
            outcome = self._rate_usage(reports, actor)
            if before_commit is not None:
                before_commit(outcome)
            try:
                # A usage line is a new aggregate with one event, never snapshotted and not
                # read back here: its event goes straight to the store with the tracking
                # record, without save()'s generic collect and cache steps (at ingest rates
                # their protocol checks cost more than rating the usage).
                self.events.put(outcome.recorded, tracking=tracking)
            except IntegrityError:
                if tracking is not None and self._is_tracked(tracking):
                    # Another instance of the consumer recorded this very batch.
                    return UsageOutcome(duplicates=list(range(len(reports))), already_tracked=True)
                continue  # a concurrent writer took some of these usage ids: look again
            return outcome
        raise LedgerError("usage batch kept conflicting with concurrent writers; try again")

    def _is_tracked(self, tracking: Tracking) -> bool:
        tracked = self.recorder.max_tracking_id(tracking.application_name)
        return tracked is not None and tracked >= tracking.notification_id

    def _rate_usage(self, reports: Sequence[UsageReport], actor: str) -> UsageOutcome:
        outcome = UsageOutcome()
        line_ids = [usage_line_id(r.usage_id) for r in reports]
        seen = self.recorded_usage_line_ids(line_ids)
        accounts: dict[str, CustomerAccount | LedgerError] = {}
        # Rating reads accounts and changes none: a cached account still at its stored
        # version is used as it is. One query for the batch's customers then replaces a
        # fast-forward query and a deep copy per customer (get_account's safe default).
        current_versions = getattr(self.recorder, "current_versions", None)
        if current_versions is not None and self.repository.cache is not None:
            ids = {account_id(customer): customer for customer in {r.customer_id for r in reports}}
            for aggregate_id, version in current_versions(list(ids)).items():
                try:
                    cached = self.repository.cache.get(aggregate_id)
                except KeyError:
                    continue
                if cached.version == version:
                    accounts[ids[aggregate_id]] = cached
        # Only a duplicate is compared with its first recording: one query for the batch's
        # duplicates, none when there are none (the usual case).
        firsts = self.first_usage_reports([i for i in line_ids if i in seen])
        for index, (report, line_id) in enumerate(zip(reports, line_ids)):
            if line_id in seen:
                differing = report.differences(firsts[line_id])
                if differing:
                    outcome.conflicting.append((index, ConflictingUsage(report.usage_id, differing)))
                else:
                    outcome.duplicates.append(index)
                continue
            account = accounts.get(report.customer_id)
            if account is None:
                try:
                    account = accounts[report.customer_id] = self.get_account(report.customer_id)
                except LedgerError as error:
                    account = accounts[report.customer_id] = error
            try:
                if isinstance(account, LedgerError):
                    raise account
                recorded = UsageLine.rate(report, account, actor=actor, line_id=line_id)
            except LedgerError as error:
                outcome.rejected.append((index, error))
                continue
            except Exception as error:  # noqa: BLE001 - rating is pure: whatever fails, fails for this report alone
                detail = f"usage {report.usage_id!r}: {type(error).__name__}: {error}"
                outcome.rejected.append((index, InvalidUsageReport("unexpected_error", detail)))
                continue
            seen.add(line_id)
            firsts[line_id] = report
            outcome.recorded.append(recorded)
        return outcome

    def first_usage_reports(self, ids: Sequence[UUID]) -> dict[UUID, UsageReport]:
        """The report each of these usage lines was first recorded from."""
        if not ids:
            return {}
        # The PostgreSQL recorder answers for a whole batch in one query; others one by one.
        select_first = getattr(self.recorder, "select_first_events", None)
        stored = select_first(ids) if select_first is not None else [
            e for i in ids for e in self.recorder.select_events(i, limit=1)
        ]
        return {e.originator_id: UsageLine.report_of(self.mapper.to_domain_event(e)) for e in stored}

    def recorded_usage_line_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(ids)
        # The PostgreSQL recorder answers for a whole batch in one query; others one by one.
        existing = getattr(self.recorder, "existing_aggregate_ids", None)
        if existing is not None:
            return set(existing(wanted))
        return {i for i in wanted if self.recorder.select_events(i, limit=1)}
