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


class PermissionDenied(LedgerError):
    code = "permission_denied"

    def __init__(self, actor: str, action: str, roles: list[str]):
        held = ", ".join(roles) if roles else "no role"
        super().__init__(f"{actor!r} may not {action} (holds {held})")
        self.actor = actor
        self.action = action


class UnknownInvoice(LedgerError):
    code = "unknown_invoice"

    def __init__(self, customer_id: str, invoice_number: str):
        super().__init__(f"customer {customer_id!r} has no invoice {invoice_number!r}")
        self.customer_id = customer_id
        self.invoice_number = invoice_number


class UnknownPayment(LedgerError):
    code = "unknown_payment"

    def __init__(self, customer_id: str, payment_id: str):
        super().__init__(f"customer {customer_id!r} has no payment {payment_id!r}")
        self.customer_id = customer_id
        self.payment_id = payment_id


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"

    def __init__(self, customer_id: str, given: str, expected: str):
        super().__init__(
            f"customer {customer_id!r} is billed in {expected}; a payment in {given} is refused"
        )
        self.customer_id = customer_id


class UnknownCase(LedgerError):
    code = "unknown_case"

    def __init__(self, case_id: str):
        super().__init__(f"there is no support case {case_id!r}")
        self.case_id = case_id


class CaseResolved(LedgerError):
    code = "case_resolved"

    def __init__(self, case_id: str, doing: str):
        super().__init__(f"support case {case_id!r} is resolved; reopen it to {doing}")
        self.case_id = case_id


class CaseNotResolved(LedgerError):
    code = "case_not_resolved"

    def __init__(self, case_id: str):
        super().__init__(f"support case {case_id!r} is open; only a resolved case can be reopened")
        self.case_id = case_id


def choice_of(choices, text: str, singular: str, plural: str):
    """The member of an Enum of choices that `text` names, or a clear error listing them."""
    try:
        return choices(text)
    except ValueError:
        names = ", ".join(c.value for c in choices)
        raise InvalidCommand(f"{text!r} is not {singular}; {plural} are: {names}") from None
