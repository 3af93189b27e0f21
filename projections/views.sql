-- Helpers shared by the views in the views schema. Time-relative columns (days since,
-- days past due, ageing buckets) are computed when a view is read, from dates the read
-- models store, so that they are right at the query's time, not frozen at the last event.

-- name: create
CREATE OR REPLACE FUNCTION {views}.today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    -- the query's date: the session's setting `ledger.as_of` when set (`ledger query
    -- --as-of DATE`, or SET ledger.as_of = '2026-12-31'), else today in UTC, whatever
    -- the session's time zone
    RETURN coalesce(nullif(current_setting('ledger.as_of', true), '')::date, (now() AT TIME ZONE 'UTC')::date);

CREATE OR REPLACE FUNCTION {views}.days_since(at timestamptz) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN {views}.today() - (at AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE FUNCTION {views}.days_past_due(due date, day date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- as of `day`: a query over many rows passes its day once, (SELECT {views}.today()),
    -- instead of reading the setting again for each row
    RETURN greatest(day - due, 0);

CREATE OR REPLACE FUNCTION {views}.days_past_due(due date) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN {views}.days_past_due(due, {views}.today());

CREATE OR REPLACE FUNCTION {views}.days_text(days integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- for sentences: '1 day', '33 days'
    RETURN days || CASE WHEN days = 1 THEN ' day' ELSE ' days' END;

CREATE OR REPLACE FUNCTION {views}.collection_status(suspended boolean, written_off boolean, on_hold boolean,
                                                     reminded boolean, overdue boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- the first that holds, in this order: the one rule of the collection_status view and of
    -- the statuses of all customers at once (collections.sql, `statuses`); a null is false
    RETURN CASE WHEN suspended THEN 'suspended'
                WHEN written_off THEN 'written-off'
                WHEN on_hold THEN 'on-hold'
                WHEN reminded THEN 'in-dunning'
                WHEN overdue THEN 'overdue'
                ELSE 'current' END;

CREATE OR REPLACE FUNCTION {views}.collection_status(suspended boolean, written_off boolean, hold_until date,
                                                     reminded boolean, oldest_open_due date, grace_days integer,
                                                     day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- the rule above on `day`, from inputs that do not depend on the day: on hold while the
    -- hold runs to that day or later; overdue once the oldest open invoice is past due plus grace
    RETURN {views}.collection_status(suspended, written_off, hold_until >= day, reminded,
                                     day > oldest_open_due + grace_days);

CREATE OR REPLACE FUNCTION {views}.ageing_bucket(due date, day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN day <= due THEN 'not_due'
        WHEN day - due <= 30 THEN '0-30'
        WHEN day - due <= 60 THEN '31-60'
        WHEN day - due <= 90 THEN '61-90'
        ELSE '>90'
    END;

CREATE OR REPLACE FUNCTION {views}.ageing_bucket(due date) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN {views}.ageing_bucket(due, {views}.today());
