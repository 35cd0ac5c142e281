-- pgcall's own writes (extension/rowread.c, the writer) keep what they
-- prepared for a table from one transaction to the next: its indexes'
-- IndexInfo, its checks, defaults and generated columns planned
-- (WriterPrep).  Whatever changes the table, its indexes or a function the
-- prepared expressions call applies to the very next write, in the same
-- backend, and an error in the middle of a write leaves nothing behind.
\set VERBOSITY terse
SET pgcall.rate_limit_calls = 0;
SET pgcall.user_id = 'wp-a';
CREATE FUNCTION pg_temp.start(invitee text) RETURNS jsonb
LANGUAGE sql AS $$ SELECT pgcall.call_start(ARRAY[invitee]) $$;
SELECT pg_temp.start('wp-b')->'call'->>'status' AS prepared;

-- a check added, then dropped
ALTER TABLE pgcall.participant ADD CONSTRAINT wp_no_zed CHECK (user_id <> 'wp-zed');
SELECT pg_temp.start('wp-zed');
SELECT pg_temp.start('wp-c')->'call'->>'status' AS other_invitee;
ALTER TABLE pgcall.participant DROP CONSTRAINT wp_no_zed;
SELECT pg_temp.start('wp-zed')->'call'->>'status' AS allowed_again;

-- a default changed (camera_off is not one of the columns the writer sets)
ALTER TABLE pgcall.participant ALTER COLUMN camera_off SET DEFAULT true;
SELECT pg_temp.start('wp-d')->'call'->'participants'->1->>'camera_off' AS camera_off_default;
ALTER TABLE pgcall.participant ALTER COLUMN camera_off SET DEFAULT false;
SELECT pg_temp.start('wp-e')->'call'->'participants'->1->>'camera_off' AS camera_off_default;

-- an index added gets the rows written after it; one dropped is left alone
CREATE INDEX wp_idx ON pgcall.participant (user_id) WHERE user_id LIKE 'wp-%';
SELECT pg_temp.start('wp-f')->'call'->>'status' AS indexed;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS by_index FROM pgcall.participant WHERE user_id LIKE 'wp-%' AND user_id = 'wp-f';
EXPLAIN (COSTS OFF) SELECT count(*) FROM pgcall.participant WHERE user_id LIKE 'wp-%' AND user_id = 'wp-f';
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX pgcall.wp_idx;
SELECT pg_temp.start('wp-g')->'call'->>'status' AS after_drop;

-- a function a check calls, replaced: its new body applies (an SQL
-- function is planned into the check, so only the function changed)
CREATE SCHEMA wp;
CREATE FUNCTION wp.allowed(u text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$;
ALTER TABLE pgcall.participant ADD CONSTRAINT wp_allowed CHECK (wp.allowed(user_id));
SELECT pg_temp.start('wp-h')->'call'->>'status' AS allowed;
CREATE OR REPLACE FUNCTION wp.allowed(u text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT u <> 'wp-i' $$;
SELECT pg_temp.start('wp-i');
SELECT pg_temp.start('wp-j')->'call'->>'status' AS allowed;
ALTER TABLE pgcall.participant DROP CONSTRAINT wp_allowed;
DROP SCHEMA wp CASCADE;

-- an error inside a write, in a subtransaction, then a change: the next
-- writes see the change and nothing of the failed one
BEGIN;
ALTER TABLE pgcall.participant ADD CONSTRAINT wp_no_k CHECK (user_id <> 'wp-k');
SAVEPOINT s;
SELECT pg_temp.start('wp-k');
ROLLBACK TO SAVEPOINT s;
ALTER TABLE pgcall.participant DROP CONSTRAINT wp_no_k;
SELECT pg_temp.start('wp-k')->'call'->>'status' AS after_error;
COMMIT;
SELECT pg_temp.start('wp-l')->'call'->>'status' AS next_transaction;

SELECT count(*) AS calls, count(*) FILTER (WHERE p.camera_off) AS camera_off
  FROM pgcall.participant p WHERE p.user_id LIKE 'wp-%' AND p.user_id <> 'wp-a';
DELETE FROM pgcall.call WHERE created_by = 'wp-a';
