"""The base of every event of a customer account: whose account, and who acted."""

from eventsourcing.domain import Aggregate


class AccountEvent(Aggregate.Event):
    customer_id: str
    actor: str
