-- Collections: per customer its policy and hold, its suspensions, and the published policies.
-- Tables are named without a schema: the caller's search_path decides where they are.

-- name: create
CREATE TABLE IF NOT EXISTS customer_collections (
    customer_id text PRIMARY KEY,
    currency    text NOT NULL,
    policy_name text NOT NULL,
    hold_kind   text,
    hold_until  date,
    hold_reason text
);
-- the customers with a hold, in customer order (service/console/reads.py, NARROWED)
CREATE INDEX IF NOT EXISTS customers_on_hold ON customer_collections (customer_id) WHERE hold_until IS NOT NULL;

CREATE TABLE IF NOT EXISTS suspensions (
    customer_id          text NOT NULL,
    subscription_id      text NOT NULL,
    since                date NOT NULL,
    reason               text NOT NULL,
    invoice_numbers      text[] NOT NULL,
    deprovision_deadline date NOT NULL,
    by_policy            boolean NOT NULL,
    scope                text NOT NULL,
    warned               boolean NOT NULL,
    PRIMARY KEY (customer_id, subscription_id)
);

CREATE TABLE IF NOT EXISTS collections_policies (
    name                         text PRIMARY KEY,
    grace_days                   integer NOT NULL,
    reminder_days                integer[] NOT NULL,
    suspend_after_days           integer NOT NULL,
    suspend_min_overdue          numeric NOT NULL,
    scope                        text NOT NULL,
    vendor_deprovision_days      integer NOT NULL,
    warn_days_before_deprovision integer NOT NULL,
    write_off_after_days         integer NOT NULL,
    resuspend_on_reversal        boolean NOT NULL,
    published_at                 timestamptz  -- null: the built-in default, never published
);

-- name: default policy
INSERT INTO collections_policies AS p SELECT * FROM jsonb_populate_recordset(NULL::collections_policies, %s::jsonb)
ON CONFLICT (name) DO UPDATE SET
    grace_days = excluded.grace_days, reminder_days = excluded.reminder_days,
    suspend_after_days = excluded.suspend_after_days, suspend_min_overdue = excluded.suspend_min_overdue,
    scope = excluded.scope, vendor_deprovision_days = excluded.vendor_deprovision_days,
    warn_days_before_deprovision = excluded.warn_days_before_deprovision,
    write_off_after_days = excluded.write_off_after_days, resuspend_on_reversal = excluded.resuspend_on_reversal
WHERE p.published_at IS NULL

-- name: view collection_status
-- Everything that depends on the day is computed here, as of {views}.today(), by the same
-- rules as domain/accounts/collections_rules.py: overdue once past the due date plus the policy's grace
-- days; reminders, suspension and write-off on their days past due; a hold pauses
-- reminders and suspension to its last day.
SELECT customer_id, collection_status,
       CASE collection_status
           WHEN 'suspended' THEN
               CASE WHEN NOT suspended_by_policy
                        THEN format('Suspended by hand since %s: %s', suspended_since, suspension_reason)
                    WHEN behind_open
                        THEN format('Suspended since %s: invoice %s is %s past due',
                                    suspended_since, behind_invoice, {views}.days_text(behind_days_past_due))
                    WHEN behind_invoice IS NOT NULL
                        THEN format('Suspended since %s: invoice %s was written off', suspended_since, behind_invoice)
                    ELSE format('Suspended since %s: %s', suspended_since, suspension_reason) END
               || format('; the vendor de-provisions on %s', deprovision_deadline)
               || CASE WHEN deprovision_warned THEN ' (the customer was warned)' ELSE '' END
           WHEN 'written-off' THEN
               format('Written off on %s: %s (%s)', written_off_on, array_to_string(written_off_invoices, ', '), write_off_reason)
           WHEN 'on-hold' THEN format('On hold (%s) until %s: %s', hold_kind, hold_until, hold_reason)
           WHEN 'in-dunning' THEN
               format('In dunning: reminder %s for invoice %s sent on %s; it is %s past due',
                      last_reminder_step, last_reminder_invoice, last_reminder_on,
                      {views}.days_text(reminded_days_past_due))
           WHEN 'overdue' THEN
               format('Invoice %s is %s past due; no reminder sent yet', oldest_unpaid_invoice,
                      {views}.days_text(days_past_due))
           ELSE CASE WHEN oldest_unpaid_invoice IS NULL THEN 'Nothing is owed'
                     ELSE format('Nothing is overdue; the oldest open invoice, %s, has due date %s',
                                 oldest_unpaid_invoice, oldest_unpaid_due_date) END
       END AS reason,
       policy, currency, days_past_due, oldest_unpaid_invoice, oldest_unpaid_due_date, open_invoices,
       overdue_amount, last_reminder_step, last_reminder_invoice, last_reminder_on, hold_kind, hold_until,
       hold_reason, suspended_subscriptions, suspended_since, suspended_by_policy, suspension_invoices,
       deprovision_deadline, deprovision_warned, written_off_amount, written_off_invoices, next_action,
       next_action_on
FROM (
    SELECT c.customer_id, c.currency, c.policy_name AS policy,
           {views}.collection_status(s.subscriptions IS NOT NULL, w.amount > 0, h.resumes_on IS NOT NULL,
                                     r.invoice_number IS NOT NULL, o.overdue_invoices > 0) AS collection_status,
           coalesce({views}.days_past_due(oldest.due_date), 0) AS days_past_due,
           oldest.invoice_number AS oldest_unpaid_invoice, oldest.due_date AS oldest_unpaid_due_date,
           o.open_invoices, o.overdue_amount,
           r.last_reminder_step, r.invoice_number AS last_reminder_invoice, r.last_reminder_on,
           {views}.days_past_due(r.due_date) AS reminded_days_past_due,
           c.hold_kind, c.hold_until, c.hold_reason,
           s.subscriptions AS suspended_subscriptions, s.since AS suspended_since, s.by_policy AS suspended_by_policy,
           s.invoices AS suspension_invoices, s.reason AS suspension_reason, s.deadline AS deprovision_deadline,
           s.warned AS deprovision_warned,
           behind.invoice_number AS behind_invoice, behind.amount_open > 0 AS behind_open,
           {views}.days_past_due(behind.due_date) AS behind_days_past_due,
           coalesce(w.amount, 0)::bigint AS written_off_amount, w.invoices AS written_off_invoices,
           w.last_on AS written_off_on, w.last_reason AS write_off_reason,
           n.action AS next_action, n.due_on AS next_action_on
    FROM {read}.customer_collections c
    LEFT JOIN {read}.collections_policies p ON p.name = c.policy_name
    -- the day after a hold that runs to today or later: reminders and suspension wait till then
    CROSS JOIN LATERAL (SELECT CASE WHEN c.hold_until >= {views}.today() THEN c.hold_until + 1 END AS resumes_on) h
    CROSS JOIN LATERAL (
        SELECT count(*) AS open_invoices,
               count(*) FILTER (WHERE {views}.today() > i.due_date + p.grace_days) AS overdue_invoices,
               coalesce(sum(i.amount_open) FILTER (WHERE {views}.today() > i.due_date + p.grace_days), 0)::bigint AS overdue_amount
        FROM {read}.invoices i WHERE i.customer_id = c.customer_id AND i.amount_open > 0) o
    LEFT JOIN LATERAL (
        SELECT i.invoice_number, i.due_date FROM {read}.invoices i
        WHERE i.customer_id = c.customer_id AND i.amount_open > 0
        ORDER BY i.due_date, i.invoice_number LIMIT 1) oldest ON true
    LEFT JOIN LATERAL (
        SELECT i.invoice_number, i.due_date, i.last_reminder_step, i.last_reminder_on FROM {read}.invoices i
        WHERE i.customer_id = c.customer_id AND i.amount_open > 0 AND i.last_reminder_step > 0
        ORDER BY i.last_reminder_on DESC, i.invoice_number DESC LIMIT 1) r ON true
    CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT x.subscription_id) AS subscriptions, min(x.since) AS since,
               bool_or(x.by_policy) AS by_policy, min(x.deprovision_deadline) AS deadline,
               bool_and(x.warned) AS warned, array_remove(array_agg(DISTINCT n.invoice_number), NULL) AS invoices,
               (array_agg(x.reason ORDER BY x.since, x.subscription_id))[1] AS reason
        FROM {read}.suspensions x LEFT JOIN LATERAL unnest(x.invoice_numbers) AS n(invoice_number) ON true
        WHERE x.customer_id = c.customer_id) s
    -- the invoice a suspension is about now: one of those behind it still open, else
    -- another overdue one (it keeps the suspension), else one behind it written off
    LEFT JOIN LATERAL (
        SELECT i.invoice_number, i.due_date, i.amount_open FROM {read}.invoices i
        WHERE s.subscriptions IS NOT NULL AND i.customer_id = c.customer_id
          AND ((i.amount_open > 0 AND i.due_date < {views}.today()) OR i.invoice_number = ANY(s.invoices))
        ORDER BY i.amount_open > 0 DESC, i.invoice_number = ANY(s.invoices) DESC, i.due_date, i.invoice_number
        LIMIT 1) behind ON true
    CROSS JOIN LATERAL (
        SELECT sum(i.written_off) AS amount, array_agg(i.invoice_number ORDER BY i.invoice_number) AS invoices,
               max(i.written_off_on) AS last_on,
               (array_agg(i.write_off_reason ORDER BY i.written_off_on DESC, i.invoice_number DESC))[1] AS last_reason
        FROM {read}.invoices i WHERE i.customer_id = c.customer_id AND i.written_off > 0) w
    -- the policy's next step: the earliest of the candidates below (a date before today
    -- means the step is due and the next collections run takes it)
    LEFT JOIN LATERAL (
        SELECT a.action, a.due_on FROM (
            SELECT 'end of the hold: reminders and suspension resume' AS action, h.resumes_on AS due_on, 0 AS step
            WHERE h.resumes_on IS NOT NULL
            UNION ALL
            SELECT format('reminder %s for invoice %s', r.step, i.invoice_number),
                   greatest(i.due_date + p.grace_days + greatest(p.reminder_days[r.step], 1), h.resumes_on), 1
            FROM {read}.invoices i
            -- the step the next run sends: the latest one due by then (a late run sends only
            -- that one), else the one after those sent (CollectionsPolicy.latest_reminder_due)
            CROSS JOIN LATERAL (
                SELECT coalesce(max(n) FILTER (WHERE i.due_date + p.grace_days + greatest(p.reminder_days[n], 1)
                                                     <= greatest({views}.today(), h.resumes_on)),
                                i.last_reminder_step + 1) AS step
                FROM generate_series(i.last_reminder_step + 1, coalesce(cardinality(p.reminder_days), 0)) AS n) r
            WHERE i.customer_id = c.customer_id AND i.amount_open > 0
              AND p.reminder_days[r.step] IS NOT NULL
            UNION ALL
            SELECT format('suspension for invoice %s', i.invoice_number),
                   greatest(i.due_date + greatest(p.suspend_after_days, p.grace_days + 1), h.resumes_on), 2
            FROM {read}.invoices i
            WHERE i.customer_id = c.customer_id AND i.amount_open > 0
              -- while a subscription the suspension takes is not suspended (suspension_targets):
              -- for the account, every subscription the read models know of it, those its invoices bill
              AND CASE WHEN p.scope = 'account' OR cardinality(i.subscription_ids) = 0
                       THEN s.subscriptions IS NULL OR EXISTS (
                           SELECT 1 FROM {read}.invoices j, unnest(j.subscription_ids) AS b(subscription_id)
                           WHERE j.customer_id = c.customer_id AND b.subscription_id <> ALL(s.subscriptions))
                       ELSE NOT i.subscription_ids <@ coalesce(s.subscriptions, ARRAY[]::text[]) END
            UNION ALL
            SELECT format('write-off of invoice %s', i.invoice_number), i.due_date + p.write_off_after_days, 3
            FROM {read}.invoices i WHERE i.customer_id = c.customer_id AND i.amount_open > 0
            UNION ALL
            SELECT format('de-provisioning warning for %s', x.subscription_id),
                   x.deprovision_deadline - p.warn_days_before_deprovision, 4
            FROM {read}.suspensions x WHERE x.customer_id = c.customer_id AND NOT x.warned
        ) a
        -- ties by name in code-point order, as the domain sorts (not the database's collation)
        ORDER BY a.due_on, a.step, a.action COLLATE "C" LIMIT 1) n ON true
) status

-- name: statuses
-- The collection status and days past due of every customer on the day {day}, for the
-- charts over all customers: the same inputs as the collection_status view and its rule
-- ({views}.collection_status), but what comes from the invoices read from one row per
-- customer that does not depend on the day (invoices.sql, customer_dues), so that a customer
-- costs two lookups, not a pass over its invoices; and the day a constant of the query, not
-- the setting read again for each row. An open invoice is past due plus grace exactly when
-- the oldest one is. The customers of one status are paged by customer id (`after`, a LIMIT).
-- tests/integration/test_collection_statuses_at_once.py holds both to the same statuses.
SELECT c.customer_id,
       {views}.collection_status(EXISTS (SELECT 1 FROM {read}.suspensions x WHERE x.customer_id = c.customer_id),
                                 d.written_off, c.hold_until, d.reminded, d.oldest_open_due, p.grace_days,
                                 {day}) AS collection_status,
       coalesce({views}.days_past_due(d.oldest_open_due, {day}), 0) AS days_past_due
FROM {read}.customer_collections c
LEFT JOIN {read}.collections_policies p ON p.name = c.policy_name
LEFT JOIN {read}.customer_dues d ON d.customer_id = c.customer_id

-- name: customers in status
-- The customers in one collection status on the day {day}, by customer id after %(after)s:
-- the same inputs and rule as `statuses` ({views}.collection_status on the day), but each customer's looked up by its keys
-- (LATERAL ... LIMIT 1) while the customers are walked in the order of their index, so that
-- a page stops after %(limit)s found instead of computing every customer's status first.
-- {narrowed} is a condition every customer of the status meets (service/console/reads.py),
-- on an index of its own where the status is rare, so that the walk does not cross every
-- customer to find a few.
SELECT customer_id FROM (
    SELECT c.customer_id,
           {views}.collection_status(EXISTS (SELECT 1 FROM {read}.suspensions x WHERE x.customer_id = c.customer_id),
                                     d.written_off, c.hold_until, d.reminded, d.oldest_open_due, p.grace_days,
                                     {day}) AS collection_status
    FROM {read}.customer_collections c
    LEFT JOIN LATERAL (SELECT p.grace_days FROM {read}.collections_policies p WHERE p.name = c.policy_name LIMIT 1) p ON true
    LEFT JOIN LATERAL (SELECT d.* FROM {read}.customer_dues d WHERE d.customer_id = c.customer_id LIMIT 1) d ON true
    WHERE c.customer_id > %(after)s AND {narrowed}
    ORDER BY c.customer_id
) s
WHERE collection_status = %(status)s
ORDER BY customer_id LIMIT %(limit)s
