-- The helpdesk's read model: support cases and each customer's timeline. Tables are named
-- without a schema: the caller's search_path decides where they are.

-- name: create
CREATE TABLE IF NOT EXISTS support_customers (
    customer_id text PRIMARY KEY,
    currency    text NOT NULL
);

CREATE TABLE IF NOT EXISTS support_cases (
    case_id       text PRIMARY KEY,
    customer_id   text NOT NULL,
    category      text NOT NULL,
    subject       text NOT NULL,
    about         text[] NOT NULL,
    status        text NOT NULL,  -- open or resolved
    opened_at     timestamptz NOT NULL,
    opened_by     text NOT NULL,
    notes         integer NOT NULL,
    last_note     text,
    last_note_at  timestamptz,
    escalated_to  text,
    support_plan  text,
    vendor_ticket text,
    escalated_at  timestamptz,
    resolution    text,
    resolved_at   timestamptz,
    reopen_reason text
);
CREATE INDEX IF NOT EXISTS open_cases_by_customer ON support_cases (customer_id, opened_at) WHERE status = 'open';

CREATE TABLE IF NOT EXISTS customer_timeline (
    customer_id     text NOT NULL,
    notification_id bigint NOT NULL,
    occurred_at     timestamptz NOT NULL,
    event_type      text NOT NULL,
    sentence        text NOT NULL,
    actor           text NOT NULL,
    PRIMARY KEY (customer_id, notification_id)
);

-- name: currencies
SELECT customer_id, currency FROM support_customers WHERE customer_id = ANY(%(customer_ids)s)

-- name: bound timeline
-- Each customer keeps its newest rows only; the primary key walks them newest first.
DELETE FROM customer_timeline AS t
USING unnest(%(customer_ids)s::text[]) AS c(customer_id),
LATERAL (SELECT k.notification_id FROM customer_timeline k WHERE k.customer_id = c.customer_id
         ORDER BY k.notification_id DESC OFFSET %(kept)s - 1 LIMIT 1) AS oldest_kept
WHERE t.customer_id = c.customer_id AND t.notification_id < oldest_kept.notification_id

-- name: view support
-- One row per customer; nested lists are json arrays (json keeps the keys in order). Balance and collection status come
-- from their own views, so the helpdesk reads the same numbers as the analysts.
SELECT b.customer_id, b.customer_name, b.currency, b.account_status, b.balance, b.credit_balance, b.overdue,
       b.unbilled_usage, c.collection_status, c.reason AS collection_reason, c.days_past_due, c.next_action,
       c.next_action_on,
       (SELECT coalesce(json_agg(json_build_object(
                   'invoice_number', i.invoice_number, 'issue_date', i.issue_date, 'due_date', i.due_date,
                   'total', i.total, 'amount_open', i.amount_open,
                   'days_past_due', {views}.days_past_due(i.due_date), 'ageing_bucket', {views}.ageing_bucket(i.due_date),
                   'last_reminder_step', i.last_reminder_step)
               ORDER BY i.due_date, i.invoice_number), '[]'::json)
        FROM {read}.invoices i WHERE i.customer_id = b.customer_id AND i.amount_open > 0) AS open_invoices,
       (SELECT coalesce(json_agg(json_build_object(
                   'payment_id', p.payment_id, 'received_on', p.received_on, 'amount', p.amount, 'method', p.method,
                   'reference', p.reference, 'settled', p.allocations, 'to_credit_balance', p.to_credit_balance,
                   'reversed', p.reversed, 'reversed_on', p.reversed_on, 'reversal_reason', p.reversal_reason)
               ORDER BY p.received_on DESC, p.payment_id DESC), '[]'::json)
        FROM (SELECT * FROM {read}.payments p WHERE p.customer_id = b.customer_id
              ORDER BY p.received_on DESC, p.payment_id DESC LIMIT 5) p) AS last_payments,
       (SELECT coalesce(json_agg(json_build_object(
                   'subscription_id', s.subscription_id, 'since', s.since, 'reason', s.reason,
                   'by_policy', s.by_policy, 'invoice_numbers', to_json(s.invoice_numbers),
                   'deprovision_deadline', s.deprovision_deadline, 'warned', s.warned)
               ORDER BY s.since, s.subscription_id), '[]'::json)
        FROM {read}.suspensions s WHERE s.customer_id = b.customer_id) AS suspended_subscriptions,
       (SELECT coalesce(json_agg(json_build_object(
                   'case_id', k.case_id, 'subject', k.subject, 'category', k.category, 'about', to_json(k.about),
                   'opened_at', k.opened_at, 'opened_by', k.opened_by, 'escalated_to', k.escalated_to,
                   'support_plan', k.support_plan, 'vendor_ticket', k.vendor_ticket, 'escalated_at', k.escalated_at,
                   'notes', k.notes, 'last_note', k.last_note, 'reopen_reason', k.reopen_reason)
               ORDER BY k.opened_at, k.case_id), '[]'::json)
        FROM {read}.support_cases k WHERE k.customer_id = b.customer_id AND k.status = 'open') AS open_cases,
       (SELECT coalesce(json_agg(json_build_object(
                   'occurred_at', t.occurred_at, 'sentence', t.sentence, 'actor', t.actor)
               ORDER BY t.notification_id DESC), '[]'::json)
        FROM {read}.customer_timeline t WHERE t.customer_id = b.customer_id) AS timeline
FROM {views}.customer_balances b
LEFT JOIN {views}.collection_status c ON c.customer_id = b.customer_id
