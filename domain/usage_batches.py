"""Rating a batch of usage reports: which are recorded, which are duplicates, which are
conflicting duplicates and which are refused. Pure: the application looks up what a batch
needs (its accounts, the usage ids recorded before, their first reports) and saves what
this decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from domain.accounts import CustomerAccount
from domain.errors import LedgerError
from domain.usage import ConflictingUsage, InvalidUsageReport, UsageLine, UsageReport


@dataclass
class UsageOutcome:
    """What became of each report in a batch (by its index): recorded, a duplicate (the same
    usage again), a conflicting duplicate (the same usage id with other content: the first
    recording stands), or rejected with a reason."""

    recorded: list[UsageLine.Recorded] = field(default_factory=list)  # one event per recorded line
    duplicates: list[int] = field(default_factory=list)
    conflicting: list[tuple[int, ConflictingUsage]] = field(default_factory=list)
    rejected: list[tuple[int, LedgerError]] = field(default_factory=list)


def rate_batch(
    reports: Sequence[UsageReport],
    line_ids: Sequence[UUID],
    firsts: dict[UUID, UsageReport],
    account_of: Callable[[str], CustomerAccount],
    *,
    actor: str,
) -> UsageOutcome:
    """Rate each report of a batch. `firsts` holds the first report of each usage line
    recorded before; `account_of` gives a customer's account or raises a LedgerError."""
    outcome = UsageOutcome()
    firsts = dict(firsts)  # a usage id twice in the batch: the second is a duplicate of the first
    accounts: dict[str, CustomerAccount | LedgerError] = {}
    for index, (report, line_id) in enumerate(zip(reports, line_ids)):
        first = firsts.get(line_id)
        if first is not None:
            differing = report.differences(first)
            if differing:
                outcome.conflicting.append((index, ConflictingUsage(report.usage_id, differing)))
            else:
                outcome.duplicates.append(index)
            continue
        account = accounts.get(report.customer_id)
        if account is None:
            try:
                account = accounts[report.customer_id] = account_of(report.customer_id)
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
        firsts[line_id] = report
        outcome.recorded.append(recorded)
    return outcome
