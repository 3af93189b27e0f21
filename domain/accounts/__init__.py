"""The accounts context: a customer's account (aggregate.py) with its subscriptions,
receivables and collections, and the pure rules it calls (subscriptions.py, invoicing.py,
receivables.py, collections_rules.py).

Until this package, the account lived in `domain/account.py`: stores written then hold its
events under topics `domain.account:CustomerAccount.<Event>` (and its snapshots, and each
Opened event's `originator_topic`, under `domain.account:CustomerAccount`). Registering the
old topic of the class makes the library resolve every nested event's old topic too, so
those stores still load (tests/unit/test_old_event_topics_still_load.py).
"""

from eventsourcing.utils import get_topic, register_topic

from domain.accounts.aggregate import CustomerAccount, account_id

OLD_ACCOUNT_TOPIC = "domain.account:CustomerAccount"
register_topic(OLD_ACCOUNT_TOPIC, CustomerAccount)


def stored_topics(event_class: type[CustomerAccount.Event]) -> list[str]:
    """Every topic an account event of this class may be stored under: today's, and the one
    it had before the move (a query on the store's topic column must look for both)."""
    return [get_topic(event_class), f"{OLD_ACCOUNT_TOPIC}.{event_class.__name__}"]


__all__ = ["CustomerAccount", "account_id", "stored_topics"]
