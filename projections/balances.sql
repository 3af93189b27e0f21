-- The customer balances read model. Tables live in the read-model schema, which the
-- projector puts first on its search_path.

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

-- name: watermarks
SELECT customer_id, last_notification_id FROM customer_balances
WHERE customer_id = ANY(%(customer_ids)s)
FOR UPDATE;

-- name: upsert
INSERT INTO customer_balances AS b (
    customer_id, customer_name, currency, account_status, metered_subscriptions,
    usage_lines, unbilled_usage, last_notification_id, last_event_at)
VALUES (
    %(customer_id)s, %(customer_name)s, %(currency)s, coalesce(%(account_status)s, 'open'),
    %(metered_subscriptions)s, %(usage_lines)s, %(unbilled_usage)s, %(last_notification_id)s,
    %(last_event_at)s)
ON CONFLICT (customer_id) DO UPDATE SET
    customer_name = coalesce(excluded.customer_name, b.customer_name),
    currency = coalesce(excluded.currency, b.currency),
    account_status = coalesce(%(account_status)s, b.account_status),
    metered_subscriptions = b.metered_subscriptions + excluded.metered_subscriptions,
    usage_lines = b.usage_lines + excluded.usage_lines,
    unbilled_usage = b.unbilled_usage + excluded.unbilled_usage,
    last_notification_id = excluded.last_notification_id,
    last_event_at = excluded.last_event_at
WHERE b.last_notification_id < excluded.last_notification_id;
