"""Collections: per customer its policy and hold, its suspended subscriptions, and the
published policies. The collection status, days past due and the next action by the
policy depend on the day: the view computes them when it is read (collections.sql),
from these rows and the invoices read model.
"""

from __future__ import annotations

from typing import Any

from domain.policy import DEFAULT_POLICY, CollectionsPolicy
from projections.base import Filter, View
from projections.rows import RowChanges, RowsProjection, records_json

STATUSES = ("current", "overdue", "in-dunning", "on-hold", "suspended", "written-off")

COLLECTIONS_VIEW = View(
    name="collection_status",
    query_name="collections",
    key="customer_id",
    row_name="collection status",
    help="collection status per customer as of the query's date: dunning, holds, suspensions, next action",
    columns={
        "customer_id": "the customer",
        "collection_status": "as of the query's date, the first that holds of: suspended (a subscription is "
        "suspended), written-off (an invoice was written off), on-hold (a hold runs to this day or later), "
        "in-dunning (an open invoice was reminded), overdue (an open invoice is past due plus grace), current",
        "reason": "the status in plain words, with the invoice behind it and its days past due",
        "policy": "the collections policy the account follows",
        "currency": "the account's currency (ISO 4217)",
        "days_past_due": "days the oldest unpaid invoice is past its due date, as of the query's date (0: none is)",
        "oldest_unpaid_invoice": "the open invoice due first",
        "oldest_unpaid_due_date": "its due date",
        "open_invoices": "number of invoices with something open",
        "overdue_amount": "what the open invoices past due plus the policy's grace days hold, in minor units",
        "last_reminder_step": "the last reminder step sent for an invoice still open (null: none)",
        "last_reminder_invoice": "the invoice that reminder was for",
        "last_reminder_on": "day it was sent",
        "hold_kind": "promise-to-pay or dispute, while a hold is recorded",
        "hold_until": "last day of the hold",
        "hold_reason": "why the hold was placed",
        "suspended_subscriptions": "subscriptions suspended now",
        "suspended_since": "day the first of them was suspended",
        "suspended_by_policy": "true when the policy suspended (for non-payment), false when by hand",
        "suspension_invoices": "the overdue invoices behind the suspension",
        "deprovision_deadline": "the earliest day the vendor de-provisions a suspended subscription",
        "deprovision_warned": "whether the de-provisioning warning went out for every suspended subscription",
        "written_off_amount": "written off as uncollectible, in minor units",
        "written_off_invoices": "the invoices written off",
        "next_action": "what the policy does next: a reminder, a suspension, a write-off, a de-provisioning "
        "warning, or the end of a hold (null: nothing is due)",
        "next_action_on": "the day it is due by the policy (earlier than the query's date: at the next run)",
    },
    shown=(
        "customer_id", "collection_status", "days_past_due", "oldest_unpaid_invoice", "overdue_amount",
        "next_action", "next_action_on",
    ),
    amounts={"overdue_amount": "currency", "written_off_amount": "currency"},
    filters=(
        Filter("status", "collection_status", "=", help="only customers in this collection status", choices=STATUSES),
        Filter("min-days-past-due", "days_past_due", ">=", int, help="only customers at least this many days past due"),
        Filter("currency", "currency", "=", str.upper, help="only accounts billed in this currency"),
    ),
)


def policy_row(name: str, terms: dict[str, Any], published_at) -> dict[str, Any]:
    return {
        "name": name,
        **{term: terms[term] for term in POLICY_TERMS},
        "reminder_days": list(terms["reminder_days"]),
        "published_at": published_at,
    }


# The terms the view reads, by their names in the policy (and in CollectionsPolicyPublished).
POLICY_TERMS = (
    "grace_days", "reminder_days", "suspend_after_days", "suspend_min_overdue", "scope", "vendor_deprovision_days",
    "warn_days_before_deprovision", "write_off_after_days", "resuspend_on_reversal",
)


class CollectionsProjection(RowsProjection):
    name = "collections"
    tables = ("customer_collections", "suspensions", "collections_policies", "collections_watermarks")
    keys = {
        "customer_collections": ("customer_id",),
        "suspensions": ("customer_id", "subscription_id"),
        "collections_policies": ("name",),
    }
    event_types = frozenset({
        "AccountOpened", "CollectionsPolicyAssigned", "CollectionsHoldPlaced", "CollectionsHoldReleased",
        "SubscriptionsSuspended", "SubscriptionsReinstated", "DeprovisioningWarningSent", "CollectionsPolicyPublished",
    })
    views = (COLLECTIONS_VIEW,)

    def create(self, cursor) -> None:
        super().create(cursor)
        # The built-in policy stands until one of its name is published; its terms are the
        # domain's own, so an upgrade that changes them changes this row too.
        default = CollectionsPolicy()
        cursor.execute(self.sql["default policy"], (records_json([policy_row(default.name, default.as_terms(), None)]),))

    def fold(self, rows: RowChanges, event_type: str, e: dict[str, Any]) -> None:
        customer = {"customer_id": e["customer_id"]}
        if event_type == "AccountOpened":
            rows.put("customer_collections", customer_id=e["customer_id"], currency=e["currency"],
                     policy_name=DEFAULT_POLICY, hold_kind=None, hold_until=None, hold_reason=None)
        elif event_type == "CollectionsPolicyAssigned":
            rows.set("customer_collections", customer, policy_name=e["policy_name"])
        elif event_type == "CollectionsHoldPlaced":
            rows.set("customer_collections", customer, hold_kind=e["kind"], hold_until=e["until"], hold_reason=e["reason"])
        elif event_type == "CollectionsHoldReleased":
            rows.set("customer_collections", customer, hold_kind=None, hold_until=None, hold_reason=None)
        elif event_type == "SubscriptionsSuspended":
            for subscription_id in e["subscription_ids"]:
                rows.put(
                    "suspensions", customer_id=e["customer_id"], subscription_id=subscription_id,
                    since=e["suspended_on"], reason=e["reason"], invoice_numbers=list(e["invoice_numbers"]),
                    deprovision_deadline=e["deprovision_deadline"], by_policy=e["by_policy"], scope=e["scope"],
                    warned=False,
                )
        elif event_type == "SubscriptionsReinstated":
            for subscription_id in e["subscription_ids"]:
                rows.delete("suspensions", customer_id=e["customer_id"], subscription_id=subscription_id)
        elif event_type == "DeprovisioningWarningSent":
            for subscription_id in e["subscription_ids"]:
                rows.set("suspensions", {**customer, "subscription_id": subscription_id}, warned=True)
        elif event_type == "CollectionsPolicyPublished":
            rows.put("collections_policies", **policy_row(e["name"], e["terms"], e["occurred_at"]))
