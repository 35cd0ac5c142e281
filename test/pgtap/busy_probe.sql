-- Looking who is busy counts even when the transaction that looked rolls back.
BEGIN;
SELECT plan(7);

\ir include/roles.psql
-- Start a call to u, read whether u is busy, and roll the start back.
CREATE FUNCTION pg_temp.probe(u text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    status text;
BEGIN
    BEGIN
        SELECT p->>'status' INTO status
          FROM jsonb_array_elements(pgcall.call_start(ARRAY[u])->'call'->'participants') p
         WHERE p->>'user_id' = u;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = status;
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        RETURN SQLERRM;
    END;
END
$$;

-- Bob is in a call.
SELECT pg_temp.act('carol');
SELECT pgcall.call_start(ARRAY['bob']) IS NOT NULL AS calling;
SELECT pg_temp.act('bob');
SELECT pgcall.call_accept((SELECT call_id FROM pgcall.participant WHERE user_id = 'bob')) IS NOT NULL AS answered;

SET LOCAL pgcall.rate_limit_calls = 3;
SELECT pg_temp.act('mallory');
SELECT is(pg_temp.probe('bob'), 'busy', 'a start rolled back shows bob busy');
SELECT is(pg_temp.probe('dan'), 'invited', 'and dan free');
SELECT is((SELECT count(*)::int FROM pgcall.call WHERE created_by = 'mallory'), 0, 'leaving no call behind');
SELECT is((SELECT count(*)::int FROM pgcall.rate_limit WHERE user_id = 'mallory'), 0, 'and no transactional count');
SELECT is(pg_temp.probe('bob'), 'busy', 'a third look');
SELECT throws_ok($$SELECT pg_temp.probe('bob')$$, 'P429A',
                 'rate limit exceeded: at most 3 calls created per hour, retry in 3600 seconds',
                 'but the fourth is refused: the looks counted although rolled back');
SELECT pg_temp.act('erin');
SELECT is(pg_temp.probe('bob'), 'busy', 'another user has her own count');

SELECT * FROM finish();
ROLLBACK;
