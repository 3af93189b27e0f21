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

-- name: watermarks
SELECT customer_id, last_notification_id FROM customer_balances
WHERE customer_id = ANY(%(customer_ids)s)
ORDER BY customer_id

-- name: upsert
-- A row is only moved forward: the WHERE keeps an older change from overwriting a newer one.
INSERT INTO customer_balances AS b (
    customer_id, customer_name, currency, metered_subscriptions,
    usage_lines, unbilled_usage, last_notification_id, last_event_at)
SELECT * FROM unnest(
    %(customer_id)s::text[], %(customer_name)s::text[], %(currency)s::text[],
    %(metered_subscriptions)s::integer[], %(usage_lines)s::bigint[], %(unbilled_usage)s::numeric[],
    %(last_notification_id)s::bigint[], %(last_event_at)s::timestamptz[])
ON CONFLICT (customer_id) DO UPDATE SET
    customer_name = coalesce(excluded.customer_name, b.customer_name),
    currency = coalesce(excluded.currency, b.currency),
    metered_subscriptions = b.metered_subscriptions + excluded.metered_subscriptions,
    usage_lines = b.usage_lines + excluded.usage_lines,
    unbilled_usage = b.unbilled_usage + excluded.unbilled_usage,
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
-- What analysts read. days_since_last_event is computed when the view is read, never stored.
SELECT customer_id, customer_name, currency, account_status, metered_subscriptions,
       usage_lines, unbilled_usage, last_event_at,
       {views}.days_since(last_event_at) AS days_since_last_event
FROM {read}.customer_balances
