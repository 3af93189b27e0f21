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
