"""The runs over every account: the month-end bill run and the collections run, on one
machinery (kinds.py: what a batch of accounts does and how a run sums up; engine.py: the
accounts in batches, across worker processes, with progress as it goes).

A batch is one transaction (domain/application.py: `issue_invoices`, `collect_accounts`),
and each kind skips what a batch already did (an account whose period is closed; a
collections action already taken that day): a run interrupted anywhere, SIGKILL included,
is resumed by starting it again.
"""

from ledger.runs.engine import execute
from ledger.runs.kinds import BILL_RUN, COLLECTIONS_RUN, RunSpec, RunSummary

__all__ = ["BILL_RUN", "COLLECTIONS_RUN", "RunSpec", "RunSummary", "execute"]
