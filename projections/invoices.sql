-- Invoices, their lines, and payments. Tables are named without a schema: the caller's
-- search_path puts the read-model schema (or a shadow of it, or pg_temp) first.

-- name: create
CREATE TABLE IF NOT EXISTS invoices (
    invoice_number     text PRIMARY KEY,
    customer_id        text NOT NULL,
    currency           text NOT NULL,
    period_start       date NOT NULL,
    period_end         date NOT NULL,
    issue_date         date NOT NULL,
    due_date           date NOT NULL,
    subtotal           bigint NOT NULL,
    tax                bigint NOT NULL,
    total              bigint NOT NULL,
    paid               bigint NOT NULL,
    credited           bigint NOT NULL,
    written_off        bigint NOT NULL,
    amount_open        bigint NOT NULL,
    last_reminder_step integer NOT NULL,
    last_reminder_on   date,
    written_off_on     date,
    write_off_reason   text,
    subscription_ids   text[] NOT NULL
);
-- a customer's invoices, and (smaller, what collections read) its open ones
CREATE INDEX IF NOT EXISTS invoices_by_customer ON invoices (customer_id, invoice_number);
CREATE INDEX IF NOT EXISTS open_invoices_by_customer ON invoices (customer_id, due_date) WHERE amount_open > 0;
-- the invoices view's open ones (status 'open'), for the charts over all customers: the ageing
-- chart reads only this index; the customers behind one of its bars walk it in customer order
CREATE INDEX IF NOT EXISTS open_invoices_by_currency ON invoices (currency, customer_id, due_date)
    INCLUDE (amount_open) WHERE amount_open > 0 AND written_off = 0;

-- Per customer, what its collection status takes from its invoices, and none of it depends on
-- the day: the collection statuses of all customers read this row instead of grouping their
-- invoices (collections.sql, `statuses`). Kept by `dues` after each batch, for the customers in it.
CREATE TABLE IF NOT EXISTS customer_dues (
    customer_id     text PRIMARY KEY,
    oldest_open_due date,     -- the due date of the open invoice due first (null: none open)
    reminded        boolean NOT NULL,  -- an open invoice was reminded
    written_off     boolean NOT NULL   -- an invoice was written off
);
-- the customers of the rarer statuses, in customer order (service/console/reads.py, NARROWED)
CREATE INDEX IF NOT EXISTS customer_dues_written_off ON customer_dues (customer_id) WHERE written_off;
CREATE INDEX IF NOT EXISTS customer_dues_reminded ON customer_dues (customer_id) WHERE reminded;
-- a database from before this table: its rows from the invoices, once
INSERT INTO customer_dues
SELECT customer_id, min(due_date) FILTER (WHERE amount_open > 0), bool_or(amount_open > 0 AND last_reminder_step > 0),
       bool_or(written_off > 0)
FROM invoices WHERE NOT EXISTS (SELECT 1 FROM customer_dues) GROUP BY customer_id;

CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_number  text NOT NULL,
    line            integer NOT NULL,
    kind            text NOT NULL,
    subscription_id text NOT NULL,
    product         text NOT NULL,
    quantity        numeric NOT NULL,
    unit            text NOT NULL,
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    amount          bigint NOT NULL,
    usage_ids       text[] NOT NULL,
    PRIMARY KEY (invoice_number, line)
);

CREATE TABLE IF NOT EXISTS payments (
    customer_id       text NOT NULL,
    payment_id        text NOT NULL,
    currency          text NOT NULL,
    amount            bigint NOT NULL,
    method            text NOT NULL,
    reference         text NOT NULL,
    received_on       date NOT NULL,
    allocations       jsonb NOT NULL,
    to_credit_balance bigint NOT NULL,
    reversed          boolean NOT NULL,
    reversed_on       date,
    reversal_reason   text,
    PRIMARY KEY (customer_id, payment_id)
);
CREATE INDEX IF NOT EXISTS payments_newest_first ON payments (customer_id, received_on DESC, payment_id DESC);

-- name: dues
INSERT INTO customer_dues AS d
SELECT customer_id, min(due_date) FILTER (WHERE amount_open > 0), bool_or(amount_open > 0 AND last_reminder_step > 0),
       bool_or(written_off > 0)
FROM invoices WHERE customer_id = ANY(%(customer_ids)s) GROUP BY customer_id
ON CONFLICT (customer_id) DO UPDATE SET
    oldest_open_due = excluded.oldest_open_due, reminded = excluded.reminded, written_off = excluded.written_off

-- name: view invoices
-- Status, days past due and ageing are computed when the view is read, as of {views}.today().
SELECT i.invoice_number, i.customer_id, i.currency, i.period_start, i.period_end, i.issue_date, i.due_date,
       i.subtotal, i.tax, i.total, i.paid, i.credited, i.written_off, i.amount_open,
       CASE WHEN i.written_off > 0 THEN 'written-off'
            WHEN i.amount_open > 0 THEN 'open'
            WHEN i.credited >= i.total AND i.total > 0 THEN 'credited'
            ELSE 'paid' END AS status,
       CASE WHEN i.amount_open > 0 THEN {views}.days_past_due(i.due_date) END AS days_past_due,
       CASE WHEN i.amount_open > 0 THEN {views}.ageing_bucket(i.due_date) END AS ageing_bucket,
       i.last_reminder_step, i.last_reminder_on, i.written_off_on, i.write_off_reason, i.subscription_ids,
       (SELECT json_agg(json_build_object(
                   'line', l.line, 'kind', l.kind, 'subscription_id', l.subscription_id, 'product', l.product,
                   -- decimals travel as strings: JSON readers would make them floats
                   'quantity', trim_scale(l.quantity)::text, 'unit', l.unit,
                   'period_start', l.period_start, 'period_end', l.period_end, 'amount', l.amount,
                   'usage_ids', to_json(l.usage_ids))
               ORDER BY l.line)
        FROM {read}.invoice_lines l WHERE l.invoice_number = i.invoice_number) AS lines
FROM {read}.invoices i
