-- Call ids are UUIDs of version 7 (call_common.c, pgcall_new_call_id): the
-- creation time in milliseconds first, then random bits; the channel is
-- call-<id>.
BEGIN;
SELECT plan(8);

\ir include/roles.psql

CREATE FUNCTION pg_temp.id_ms(id uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint
$$;

-- each call by another caller (the rate limit of calls per caller)
CREATE FUNCTION pg_temp.start_as(caller text, callee text) RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.act(caller);
    RETURN (pgcall.call_start(ARRAY[callee])->'call'->>'id')::uuid;
END
$$;

CREATE TEMP TABLE t0 AS SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1 AS ms;
CREATE TEMP TABLE ids AS
    SELECT i, pg_temp.start_as('id-a' || i, 'id-b' || i) AS id FROM generate_series(1, 200) i;
CREATE TEMP TABLE t1 AS SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 1 AS ms;

SELECT is((SELECT count(*)::int FROM ids WHERE substr(id::text, 15, 1) = '7'), 200,
          'every call id is of version 7');
SELECT is((SELECT count(*)::int FROM ids WHERE substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')), 200,
          'and of the RFC''s variant');
SELECT is((SELECT count(*)::int FROM ids
            WHERE pg_temp.id_ms(id) BETWEEN (SELECT ms FROM t0) AND (SELECT ms FROM t1)), 200,
          'its first 48 bits are the Unix time in milliseconds when it was made');
SELECT ok((SELECT bool_and(ms >= prev) FROM (SELECT pg_temp.id_ms(id) AS ms,
                                                    lag(pg_temp.id_ms(id)) OVER (ORDER BY i) AS prev
                                               FROM ids) x WHERE prev IS NOT NULL),
          'ids made one after another do not go back in time');
SELECT is((SELECT count(DISTINCT substr(id::text, 15))::int FROM ids), 200,
          'the random part differs between ids made in the same millisecond or not');
SELECT is((SELECT count(*)::int FROM ids JOIN pgcall.call c USING (id)
            WHERE c.channel_id = 'call-' || id::text), 200, 'the channel is call-<id>');

SELECT pg_temp.act('id-c');
CREATE TEMP TABLE conf AS SELECT pgcall.conference_create('Ids') AS j;
SELECT is((SELECT substr(j->'call'->>'id', 15, 1) FROM conf), '7', 'a conference''s id is of version 7 too');
SELECT is((SELECT j->'call'->>'channel_id' FROM conf), (SELECT 'call-' || (j->'call'->>'id') FROM conf),
          'and its channel is call-<id>');

SELECT * FROM finish();
ROLLBACK;
