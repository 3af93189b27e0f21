"""Invoices, payments, reversals, refunds and credit notes of one customer."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import Depends, Request, Response
from pydantic import Field, ValidationError

from domain.errors import InvalidCommand, UnknownInvoice
from domain.roles import Permission
from service.auth import Acting, acting, context, endpoint
from ledger.runs import BILL_RUN, RunSpec
from service.lanes import Lane
from service.routes import new_router, runs
from service.routes.accounts import InvoiceSummary, invoice_summary
from service.values import Changed, Command, Money

router = new_router("billing")
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class IssueInvoice(Command):
    period: str = Field(description="the month billed, YYYY-MM; retrying a closed period changes nothing",
                        pattern=MONTH, examples=["2026-09"])


class InvoiceIssue(Changed):
    customer_id: str
    invoice_number: str | None = Field(description="null when the period was closed before")


class ReceivePayment(Command):
    payment_id: str = Field(description="the payment's own id; retrying with it changes nothing")
    amount: Money
    method: str = "transfer"
    reference: str = ""
    invoice_number: str | None = Field(None, description="the invoice the payer names, settled first")


class ReversePayment(Command):
    reason: str


class Refund(Command):
    refund_id: str = Field(description="the refund's own id; retrying with it changes nothing")
    amount: Money
    method: str = "transfer"
    reference: str = ""


class IssueCreditNote(Command):
    credit_note_id: str = Field(description="the credit note's own id; retrying with it changes nothing")
    invoice_number: str
    amount: Money
    reason: str


class PaymentChange(Changed):
    customer_id: str
    payment_id: str


class RefundChange(Changed):
    customer_id: str
    refund_id: str


class CreditNoteChange(Changed):
    customer_id: str
    credit_note_id: str


def month(text: str) -> tuple[date, date]:
    first = date.fromisoformat(text + "-01")
    return first, (first + timedelta(days=32)).replace(day=1)


def in_account_currency(ledger, customer_id: str, amount: Money) -> int:
    currency = ledger.get_account(customer_id).currency
    if amount.currency != currency:
        raise InvalidCommand(f"customer {customer_id!r} is billed in {currency}; an amount in {amount.currency} is refused")
    return amount.amount


@endpoint(router, "POST", "/customers/{customer_id}/invoices", needs=Permission.ISSUE_INVOICES,
          response_model=InvoiceIssue, summary="close a billing period: issue the customer's invoice")
def issue_invoice(customer_id: str, body: IssueInvoice, by: Acting = Depends(acting)) -> InvoiceIssue:
    start, end = month(body.period)
    number = by.ledger.issue_invoice(customer_id, start, end, **by.at(body.at))
    return InvoiceIssue(customer_id=customer_id, invoice_number=number, changed=number is not None)


class InvoiceRun(Command):
    period: str = Field(description="the month billed, YYYY-MM; a customer whose period is closed is left as it is",
                        pattern=MONTH, examples=["2026-09"])
    workers: int | None = runs.WORKERS


@endpoint(router, "POST", "/invoices/runs", needs=Permission.ISSUE_INVOICES, response_model=runs.RunStarted,
          status_code=202, summary="start the bill run: close a billing period for every account (a job: follow its "
          "url; started again, it issues only what is left)")
def issue_invoices(body: InvoiceRun, response: Response, request: Request,
                   by: Acting = Depends(acting)) -> runs.RunStarted:
    start, end = month(body.period)
    spec = RunSpec(BILL_RUN, by.actor, by.at(body.at)["at"], start, end)
    return runs.start(request, response, spec, {"period": body.period}, body.workers, "/invoices/runs")


runs.run_endpoints(router, BILL_RUN, "/invoices/runs", Permission.ISSUE_INVOICES)


@endpoint(router, "GET", "/customers/{customer_id}/invoices/{invoice_number}", needs=Permission.READ_BILLING_VIEWS,
          response_model=InvoiceSummary, summary="one invoice as the event store holds it now")
def show_invoice(customer_id: str, invoice_number: str, request: Request) -> InvoiceSummary:
    account = context(request).ledger.get_account(customer_id)
    invoice = account.invoices.get(invoice_number)
    if invoice is None:
        raise UnknownInvoice(customer_id, invoice_number)
    return invoice_summary(invoice, account.currency)


@endpoint(router, "POST", "/customers/{customer_id}/payments", needs=Permission.RECORD_PAYMENTS,
          response_model=PaymentChange, summary="record a payment; it settles open invoices oldest first")
def receive_payment(customer_id: str, body: ReceivePayment, by: Acting = Depends(acting)) -> PaymentChange:
    received = by.ledger.receive_payment(
        customer_id, body.payment_id, body.amount.amount, body.amount.currency, body.method, body.reference,
        body.invoice_number, **by.at(body.at),
    )
    return PaymentChange(customer_id=customer_id, payment_id=body.payment_id, changed=received)


class PaymentLane(Lane):
    """A payment without Idempotency-Key or If-Match (its payment id makes a retry harmless):
    receive_payment itself, with the signed-in actor, its body checked by the same model."""

    method = "POST"
    prefix = "/v1/customers/"
    suffix = "/payments"
    needs = Permission.RECORD_PAYMENTS
    declined_headers = frozenset({b"idempotency-key", b"if-match"})
    roles_checked_by_the_command = True  # BillingLedger.receive_payment authorizes first

    def answer(self, ctx, who, headers: dict[bytes, bytes], key: str, body: bytes) -> Response | None:
        if headers.get(b"content-type") != b"application/json":
            return None
        try:
            command = ReceivePayment.model_validate_json(body)
        except ValidationError:
            return None  # the declared endpoint names what is wrong, as it always has
        change = receive_payment(key, command, Acting.of(ctx, who.id))
        return Response(change.model_dump_json(), media_type="application/json")


@endpoint(router, "POST", "/customers/{customer_id}/payments/{payment_id}/reversal", needs=Permission.RECORD_PAYMENTS,
          response_model=PaymentChange, summary="reverse a payment (bounced, charged back): what it settled is open again")
def reverse_payment(customer_id: str, payment_id: str, body: ReversePayment, by: Acting = Depends(acting)) -> PaymentChange:
    reversed_ = by.ledger.reverse_payment(customer_id, payment_id, body.reason, **by.at(body.at))
    return PaymentChange(customer_id=customer_id, payment_id=payment_id, changed=reversed_)


@endpoint(router, "POST", "/customers/{customer_id}/refunds", needs=Permission.RECORD_PAYMENTS,
          response_model=RefundChange, summary="pay credit balance back to the customer")
def refund(customer_id: str, body: Refund, by: Acting = Depends(acting)) -> RefundChange:
    amount = in_account_currency(by.ledger, customer_id, body.amount)
    refunded = by.ledger.refund(customer_id, body.refund_id, amount, body.method, body.reference, **by.at(body.at))
    return RefundChange(customer_id=customer_id, refund_id=body.refund_id, changed=refunded)


@endpoint(router, "POST", "/customers/{customer_id}/credit-notes", needs=Permission.ISSUE_CREDIT_NOTES,
          response_model=CreditNoteChange, summary="issue a credit note against an invoice")
def issue_credit_note(customer_id: str, body: IssueCreditNote, by: Acting = Depends(acting)) -> CreditNoteChange:
    amount = in_account_currency(by.ledger, customer_id, body.amount)
    issued = by.ledger.issue_credit_note(customer_id, body.credit_note_id, body.invoice_number, amount, body.reason,
                                         **by.at(body.at))
    return CreditNoteChange(customer_id=customer_id, credit_note_id=body.credit_note_id, changed=issued)
