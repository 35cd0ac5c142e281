-- Replies are written as JSON text and read into jsonb by
-- pgcall_jsonb_from_text (extension/json_out.c), which reads pgcall's own
-- JSON itself and gives anything else (a \u escape, a fraction, a repeated
-- key) to jsonb_in.  Whichever reads it, the jsonb must be the one jsonb_in
-- makes: every string as it was stored, keys in jsonb's order (their
-- lookup depends on it), numbers as numeric.
CREATE TEMP TABLE texts (n int, title text, description text);
INSERT INTO texts VALUES
  (1, 'plain', NULL), (2, 'a "quoted" word', ''), (3, 'back\slash\', E'tab\there, new\nline'),
  (4, 'solidus / and \/ and \u0041 as typed', '\u00e9 \ud83d\ude00 \u0000'),
  (5, 'é ☎ 😀 日本語', 'é ☎ 😀 日本語'), (6, '\"', E'\\\"\n'),
  (7, repeat('\"', 100), repeat('\"', 1900)), (8, repeat('x', 200), repeat('y', 4000)),
  (9, '{"not": "an object"}', ' [1, 2] '), (10, 'null', 'true'), (11, '-0', '12345678901234567890123');

SET pgcall.rate_limit_calls = 0;
SET pgcall.user_id = 'jr-host';
CREATE TEMP TABLE replies AS
SELECT n, title, description, pgcall.conference_create(title, description, n % 2 = 0) AS r FROM texts;

-- each string read back as it was stored, in the reply and in call_get
SELECT n, r->'call'->>'title' = title AS title, r->'call'->>'description' IS NOT DISTINCT FROM description AS description,
       pgcall.call_get((r->'call'->>'id')::uuid)->>'title' = title AS call_get,
       (r->'call'->>'is_public')::boolean = (n % 2 = 0) AS is_public
  FROM replies ORDER BY n;

-- the same jsonb as jsonb_in makes of the reply's own text, byte for byte
SELECT n, r = (r::text)::jsonb AS same, jsonb_send(r) = jsonb_send((r::text)::jsonb) AS same_bytes
  FROM replies ORDER BY n;

-- keys in jsonb's order (shorter first, then bytewise), nested objects too
SELECT string_agg(k, ' ') AS call_keys FROM (SELECT jsonb_object_keys(r->'call') AS k FROM replies WHERE n = 1) x;
SELECT string_agg(k, ' ') AS participant_keys FROM (SELECT jsonb_object_keys(r->'call'->'participants'->0) AS k FROM replies WHERE n = 1) x;
SELECT jsonb_typeof(r->'call'->'max_participants') AS number, jsonb_typeof(r->'call'->'participants') AS array,
       jsonb_typeof(r->'call'->'room_id') AS null, jsonb_typeof(r->'call'->'is_public') AS boolean
  FROM replies WHERE n = 1;

-- text pgcall does not write goes to jsonb_in: control characters (\u
-- escapes) in GET /rpc/fn's query string (a name given twice is one array)
CREATE SCHEMA jr_rpc;
CREATE FUNCTION jr_rpc.whole(jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT $1';
SET pgcall.rpc_schemas = 'pgcall, jr_rpc';
SELECT body FROM pgcall.rpc('jr_rpc', 'whole', NULL, query => 'a=1&b=%01%1F&a=2&c=%E2%98%8E%22');
SELECT body FROM pgcall.rpc('jr_rpc', 'whole', NULL, query => 'z=last&yy=%5C&x=%2F');
RESET pgcall.rpc_schemas;

-- pgcall.rpc (HTTP's POST /rpc/fn) answers with the text a reply was read
-- from while the function ran, not written out again by jsonb_out: the same
-- value, keys in the order pgcall wrote them.  The arguments are read
-- before, and not kept: a function that gives them back (as above) is
-- answered by jsonb_out, keys in jsonb's order.
SELECT x.body::jsonb = pgcall.call_get(c.id) AS same_value, x.body NOT LIKE '%": %' AS as_written,
       x.body::jsonb->>'title' = c.title AS title
  FROM (SELECT (r->'call'->>'id')::uuid AS id, title FROM replies WHERE n IN (3, 6, 7)) c,
       pgcall.rpc('pgcall', 'call_get', jsonb_build_object('call_id', c.id)) x;

DELETE FROM pgcall.call WHERE id IN (SELECT (r->'call'->>'id')::uuid FROM replies);
