-- The customer balances read model. Tables are named without a schema: the caller's
-- search_path puts the read-model schema (or a shadow of it) first.

-- name: create
CREATE TABLE IF NOT EXISTS customer_balances (
    customer_id          text PRIMARY KEY,
    customer_name        text,
    currency             text,
    account_status       text NOT NULL DEFAULT 'open',
    metered_subscriptions integer NOT NULL DEFAULT 0,
    usage_lines          bigint NOT NULL DEFAULT 0,
    unbilled_usage       numeric NOT NULL DEFAULT 0,
    last_notification_id bigint NOT NULL,
    last_event_at        timestamptz
);
-- Money in integer minor units; added after the first release, hence ALTER (an existing
-- table gets the columns, at zero: `ledger replay balances --source store` fills them).
ALTER TABLE customer_balances
    ADD COLUMN IF NOT EXISTS invoiced       bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS credited       bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS paid           bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS reversed       bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS refunded       bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS written_off    bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS outstanding    bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS credit_balance bigint NOT NULL DEFAULT 0;

-- name: watermarks
SELECT customer_id, last_notification_id FROM customer_balances
WHERE customer_id = ANY(%(customer_ids)s)
ORDER BY customer_id

-- name: upsert
-- A row is only moved forward: the WHERE keeps an older change from overwriting a newer one.
INSERT INTO customer_balances AS b (
    customer_id, customer_name, currency, metered_subscriptions,
    usage_lines, unbilled_usage, invoiced, credited, paid, reversed, refunded, written_off, outstanding,
    credit_balance, last_notification_id, last_event_at)
SELECT * FROM unnest(
    %(customer_id)s::text[], %(customer_name)s::text[], %(currency)s::text[],
    %(metered_subscriptions)s::integer[], %(usage_lines)s::bigint[], %(unbilled_usage)s::numeric[],
    %(invoiced)s::bigint[], %(credited)s::bigint[], %(paid)s::bigint[], %(reversed)s::bigint[],
    %(refunded)s::bigint[], %(written_off)s::bigint[], %(outstanding)s::bigint[], %(credit_balance)s::bigint[],
    %(last_notification_id)s::bigint[], %(last_event_at)s::timestamptz[])
ON CONFLICT (customer_id) DO UPDATE SET
    customer_name = coalesce(excluded.customer_name, b.customer_name),
    currency = coalesce(excluded.currency, b.currency),
    metered_subscriptions = b.metered_subscriptions + excluded.metered_subscriptions,
    usage_lines = b.usage_lines + excluded.usage_lines,
    unbilled_usage = b.unbilled_usage + excluded.unbilled_usage,
    invoiced = b.invoiced + excluded.invoiced,
    credited = b.credited + excluded.credited,
    paid = b.paid + excluded.paid,
    reversed = b.reversed + excluded.reversed,
    refunded = b.refunded + excluded.refunded,
    written_off = b.written_off + excluded.written_off,
    outstanding = b.outstanding + excluded.outstanding,
    credit_balance = b.credit_balance + excluded.credit_balance,
    last_notification_id = excluded.last_notification_id,
    last_event_at = excluded.last_event_at
WHERE b.last_notification_id < excluded.last_notification_id;

-- name: set_status
-- Opened and closed are rare: set apart, so that the upsert leaves the status alone
-- (ON CONFLICT sees only the inserted row, where a missing status became the default).
UPDATE customer_balances AS b SET account_status = s.account_status
FROM unnest(%(customer_id)s::text[], %(account_status)s::text[], %(last_notification_id)s::bigint[])
    AS s(customer_id, account_status, last_notification_id)
WHERE b.customer_id = s.customer_id AND b.last_notification_id = s.last_notification_id;

-- name: view customer_balances
-- What analysts read. days_since_last_event, overdue and days_past_due are computed when
-- the view is read, never stored: from the invoices read model's open amounts and due
-- dates, and the grace days of the customer's collections policy. (New columns go at the
-- end: CREATE OR REPLACE VIEW keeps the existing ones in place.)
SELECT b.customer_id, b.customer_name, b.currency, b.account_status, b.metered_subscriptions,
       b.usage_lines, b.unbilled_usage, b.last_event_at,
       {views}.days_since(b.last_event_at) AS days_since_last_event,
       b.invoiced, b.credited, b.paid, b.reversed, b.refunded, b.written_off, b.outstanding, b.credit_balance,
       b.outstanding - b.credit_balance AS balance,
       (SELECT coalesce(sum(i.amount_open), 0)::bigint
        FROM {read}.invoices i
        JOIN {read}.customer_collections c ON c.customer_id = i.customer_id
        JOIN {read}.collections_policies p ON p.name = c.policy_name
        WHERE i.customer_id = b.customer_id AND i.amount_open > 0
          AND {views}.today() > i.due_date + p.grace_days) AS overdue,
       coalesce((SELECT {views}.days_past_due(min(i.due_date)) FROM {read}.invoices i
                 WHERE i.customer_id = b.customer_id AND i.amount_open > 0), 0) AS days_past_due,
       b.last_notification_id
FROM {read}.customer_balances b
