"""Typed domain errors. Every error the ledger reports to a caller is a LedgerError."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger reports; the message names the ids involved."""

    code = "ledger_error"


class InvalidCommand(LedgerError):
    code = "invalid_command"


class UnknownCustomer(LedgerError):
    code = "unknown_customer"

    def __init__(self, customer_id: str):
        super().__init__(f"unknown customer {customer_id!r}: no account is open for it")
        self.customer_id = customer_id


class UnknownSubscription(LedgerError):
    code = "unknown_subscription"

    def __init__(self, customer_id: str, subscription_id: str):
        super().__init__(f"customer {customer_id!r} has no subscription {subscription_id!r}")
        self.customer_id = customer_id
        self.subscription_id = subscription_id


class AccountClosed(LedgerError):
    code = "account_closed"

    def __init__(self, customer_id: str):
        super().__init__(f"the account of customer {customer_id!r} is closed")
        self.customer_id = customer_id


class AlreadyExists(LedgerError):
    """The same id was used before with different content; a true retry is not an error."""

    code = "already_exists"


class UnknownCurrency(LedgerError):
    code = "unknown_currency"

    def __init__(self, currency: str):
        super().__init__(f"{currency!r} is not an ISO 4217 currency the ledger knows")
        self.currency = currency
