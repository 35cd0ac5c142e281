-- pgcall 0.1.0 -> 0.2.0 (ALTER EXTENSION pgcall UPDATE).
--
-- Made by `make sql` from sql/update/0.1.0--0.2.0/*.sql, in name order: one
-- file per change, so changes made side by side do not collide.  Every
-- change here is also in the fresh install script, and test/suites/93-upgrade
-- compares the two catalogs.

\echo Use "ALTER EXTENSION pgcall UPDATE TO '0.2.0'" to load this file. \quit

-- Issue 10, a lean call: the rules of a call row and of a participant row
-- are one CHECK each, calling one C function on the columns
-- (extension/call_triggers.c), in place of 0.1.0's eight checks on a call
-- and four on a participant; same rules, same nulls.  PostgreSQL reads
-- every check of a table back from its stored text and plans it again in
-- each statement that writes the table, which was about a tenth of a
-- call_session (docs/benchmarks.md, "the row checks").  pgcall.event's
-- check is a C function for the same reason.
CREATE FUNCTION pgcall.call_row_check(kind text, media text, status text, end_reason text,
                                      ended_at timestamptz, ring_deadline timestamptz,
                                      max_participants integer) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.participant_row_check(role text, status text, current_join timestamptz,
                                             ring_deadline timestamptz) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.event_call_check(type text, call_id "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_event_call_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- nothing is executable by PUBLIC unless granted: only pgcall's own
-- functions, as the tables' owner, write these tables
REVOKE EXECUTE ON FUNCTION
    pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer),
    pgcall.participant_row_check(text, text, timestamptz, timestamptz),
    pgcall.event_call_check(text, "any") FROM PUBLIC;

COMMENT ON FUNCTION pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer) IS
'Check of pgcall.call (call_row_check): kind is direct, group or conference; media audio or video; status ringing, active or ended; end_reason completed, cancelled, rejected, missed, busy, unavailable, failed or terminated; max_participants between 2 and 10000; end_reason and ended_at are set when, and only when, the call has ended; a ringing call has a ring_deadline.';
COMMENT ON FUNCTION pgcall.participant_row_check(text, text, timestamptz, timestamptz) IS
'Check of pgcall.participant (participant_row_check): role is caller, callee, host or member; status invited, ringing, joined, left, declined, missed, busy or removed; current_join is set when, and only when, the participant is joined; an invited or ringing participant has a ring_deadline.';
COMMENT ON FUNCTION pgcall.event_call_check(text, "any") IS
'Check of pgcall.event (event_check): (call_id IS NULL) = (type = ''presence.changed'').';

ALTER TABLE pgcall.call
    DROP CONSTRAINT call_kind_check,
    DROP CONSTRAINT call_media_check,
    DROP CONSTRAINT call_max_participants_check,
    DROP CONSTRAINT call_status_check,
    DROP CONSTRAINT call_end_reason_check,
    DROP CONSTRAINT call_check,
    DROP CONSTRAINT call_check1,
    DROP CONSTRAINT call_check2,
    ADD CONSTRAINT call_row_check CHECK (pgcall.call_row_check(kind, media, status, end_reason, ended_at,
                                                               ring_deadline, max_participants));
ALTER TABLE pgcall.participant
    DROP CONSTRAINT participant_role_check,
    DROP CONSTRAINT participant_status_check,
    DROP CONSTRAINT participant_check,
    DROP CONSTRAINT participant_check1,
    ADD CONSTRAINT participant_row_check CHECK (pgcall.participant_row_check(role, status, current_join,
                                                                             ring_deadline));
ALTER TABLE pgcall.event
    DROP CONSTRAINT event_check,
    ADD CONSTRAINT event_check CHECK (pgcall.event_call_check(type, call_id));

DROP FUNCTION pgcall.is_call_kind(text), pgcall.is_call_media(text), pgcall.is_call_status(text),
    pgcall.is_call_end_reason(text), pgcall.is_participant_role(text), pgcall.is_participant_status(text);

-- Issue 10, a lean call: index entries a call does not need.  Calls
-- without a room (every direct call) get no entry in call_room_live_idx
-- (its readers ask for a room, which implies room_id IS NOT NULL), and
-- participants no longer rung get none in participant_ringing_idx (its
-- reader, call_expire, asks for rings_until(...) <= now(), which implies
-- IS NOT NULL).  call_active asks for status <> 'ended' as well, which its
-- other condition implies, so that it can find the room by that index.
DROP INDEX pgcall.call_room_live_idx;
CREATE INDEX call_room_live_idx ON pgcall.call (room_id) WHERE status <> 'ended' AND room_id IS NOT NULL;
DROP INDEX pgcall.participant_ringing_idx;
CREATE INDEX participant_ringing_idx ON pgcall.participant (pgcall.rings_until(status, ring_deadline))
    WHERE pgcall.rings_until(status, ring_deadline) IS NOT NULL;

CREATE OR REPLACE FUNCTION pgcall.call_active(room_id text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.call_json(c.id)::jsonb
      FROM pgcall.call c
      JOIN pgcall.participant p ON p.call_id = c.id
      JOIN (SELECT pgcall.require_user_id() AS id OFFSET 0) who ON p.user_id = who.id
     WHERE c.room_id = call_active.room_id
       AND c.status <> 'ended'  -- implied by the next line; lets call_room_live_idx find the room
       AND pgcall.effective_call_status(c.status, c.ring_deadline) <> 'ended'
     ORDER BY c.created_at DESC
     LIMIT 1
$$;

-- Issue 10: pgcall.event's GIN index without a pending list.  The insert
-- that finds a full pending list (4 MB by default) cleans all of it up,
-- inside the commit's serialized part: a stall of up to 300 ms for every
-- commit waiting behind it (bench/event-gin).  Entries now go in directly;
-- the pending list left by 0.1.0 is cleaned up here.
ALTER INDEX pgcall.event_recipients_idx SET (fastupdate = off);
SELECT pg_catalog.gin_clean_pending_list('pgcall.event_recipients_idx'::pg_catalog.regclass);

-- Issue 10: a large call's event recipients stored out of line without
-- compression (pglz cost 2 million instructions a row inside the commit's
-- serialized part).  Rows already written keep their compressed lists.
ALTER TABLE pgcall.event ALTER COLUMN recipients SET STORAGE EXTERNAL;

-- Issue 10: the C trigger functions pin search_path themselves, only when it
-- is not pinned already (extension/call_triggers.c, PINNED_TRIGGER): SET
-- search_path on them made fmgr set and restore it around every row.
ALTER FUNCTION pgcall.call_before() RESET search_path;
ALTER FUNCTION pgcall.call_after() RESET search_path;
ALTER FUNCTION pgcall.participant_before() RESET search_path;
ALTER FUNCTION pgcall.participant_after() RESET search_path;

-- Issue 10: whether a user is busy reads participant_live_idx (the calls the
-- user is live in: a few rows, the joined ones among them), so every
-- participant row written no longer updates an index of its own for it.
DROP INDEX pgcall.participant_joined_idx;

-- Issue 10: call_created_at_idx dropped.  Every query that orders or
-- filters calls by created_at also says which calls (live or ended), and
-- call_live_idx, call_analytics_idx or call_span_idx serve it: no plan
-- chose it, over 323,000 calls either, and every new call paid its entry.
DROP INDEX pgcall.call_created_at_idx;

-- Issue 10: event_created_at_idx dropped.  Only purge() read it, and purge
-- now walks the oldest events by id (event_pkey), max_rows at a time,
-- deleting those past the retention: ids follow commit order, so the
-- oldest events come first.  Every event paid its entry, inside the
-- commit's serialized part.
DROP INDEX pgcall.event_created_at_idx;

-- Issue 10: pgcall.event_order = horizon (event_order.c).  bridge_events
-- takes the horizon to stop below; bridge_event_horizon reads the horizon
-- before its snapshot; bridge_wait wakes the bridge instead of NOTIFY.
DROP FUNCTION pgcall.bridge_events(bigint, integer);

CREATE FUNCTION pgcall.bridge_events(after bigint, max integer DEFAULT 1000, below bigint DEFAULT NULL,
                                     OUT id bigint, OUT recipients text, OUT payload text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
    SELECT e.id, pg_catalog.array_to_json(e.recipients)::text, e.payload
      FROM pgcall.event e
     WHERE e.id > bridge_events.after
       AND (bridge_events.below IS NULL OR e.id < bridge_events.below)
     ORDER BY e.id
     LIMIT LEAST(GREATEST(bridge_events.max, 1), 10000)
$$;

COMMENT ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) IS
'Every event above an id (and below the horizon "below", when given), oldest first, with its recipients as a JSON array of user ids, for the bridge to fan out to each of their sockets.  With pgcall.event_order = lock ids are commit-ordered; with horizon, every event below the horizon bridge_wait() gave is committed or never will be: after the last id fetched, nothing is ever skipped.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) TO pgcall_bridge;

CREATE OR REPLACE FUNCTION pgcall.bridge_event_horizon()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgcall_bridge_event_horizon'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_event_horizon() IS
'The largest event id committed so far below which nothing is still in flight: a starting bridge fetches only events after it.';

CREATE FUNCTION pgcall.bridge_wait(seen bigint, timeout_ms integer, OUT finished bigint, OUT below bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgcall_bridge_wait'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_wait(bigint, integer) IS
'With pgcall.event_order = horizon: waits (at most timeout_ms, up to a minute) until the count of finished event-writing transactions is no longer seen, then gives the count and the horizon (every event id below it is committed or never will be).  Both null with pgcall.event_order = lock, where the bridge LISTENs (bridge_listen) instead.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_wait(bigint, integer) TO pgcall_bridge;

REVOKE EXECUTE ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgcall.bridge_wait(bigint, integer) FROM PUBLIC;
-------------------------------------------------------------------------------
-- REST dialects: the HTTP routes of existing backends, as data
--
-- A bridge started with --dialect NAME=PORT serves dialect NAME on its own
-- port: /socket.io/ there speaks the dialect's Socket.IO (dialect_event,
-- dialect_emit), and every other request goes through the dialect's route
-- table, pgcall.dialect_route, by way of pgcall.dialect_http(): one SQL
-- function, run as the request's role and user (the same identity step as
-- /rpc), that finds the route, checks it, calls the pgcall function through
-- pgcall.rpc (so grants and row security decide) and words the answer the
-- way the seed's clients expect: status and body.
--
-- Route templates are filled in (pgcall.dialect_fill) from the context
-- {params: <the path's :params>, query: <the query string's arguments>,
-- body: <the JSON body>, me: <user id>}, then out: <the function's result>,
-- or error: {code, message, status}.  dialect_fill also knows
-- {"$each": <path to an array>, "$to": <template>}: the template filled in
-- once per element, with the element at $.item.
-------------------------------------------------------------------------------

-- In C now (extension/dialect_fill.c): the PL/pgSQL version took longer to
-- fill a list's template than the function behind the route took to run.
CREATE OR REPLACE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_dialect_fill'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array).';

ALTER TABLE pgcall.dialect
    ADD COLUMN http_error jsonb NOT NULL DEFAULT '{"success": false, "message": "$.error.message"}'
        CHECK (pgcall.dialect_template_ok(http_error));

COMMENT ON COLUMN pgcall.dialect.http_error IS
'The body of a failed REST request of the dialect, filled in from {params, query, body, me, error: {code, message, status}}.';

ALTER TABLE pgcall.dialect_error
    ADD COLUMN http_status integer CHECK (http_status BETWEEN 400 AND 599);

COMMENT ON COLUMN pgcall.dialect_error.http_status IS
'The HTTP status a REST request of the dialect fails with for this SQLSTATE (NULL: the status pgcall.dialect_http_status() gives).';

CREATE TABLE pgcall.dialect_route (
    dialect          text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    method           text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    path             text NOT NULL
                     CHECK (path ~ '^(/([A-Za-z0-9._~-]{1,64}|:[A-Za-z][A-Za-z0-9_]{0,62})){1,16}$'
                            AND path !~ '/\.\.?(/|$)'),
    fn               text NOT NULL REFERENCES pgcall.api_function (name),
    args             jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(args) = 'object'
                                                        AND pgcall.dialect_template_ok(args)),
    required         text[] NOT NULL DEFAULT '{}',
    required_message text,
    self_fields      text[] NOT NULL DEFAULT '{}',
    backend_only     boolean NOT NULL DEFAULT false,
    status           integer NOT NULL DEFAULT 200 CHECK (status BETWEEN 200 AND 299),
    response         jsonb CHECK (pgcall.dialect_template_ok(response)),
    PRIMARY KEY (dialect, method, path)
);

COMMENT ON TABLE pgcall.dialect_route IS
'A REST route of a dialect: method and path (literal segments and :params) call the pgcall function fn (reachable through pgcall.rpc) with args filled in from {params, query, body, me}.  required: body members it cannot go without (required_message, or "<member> required", P400R); self_fields: body members that name the caller and must equal the authenticated user (P403A), except that a backend credential (pgcall_backend) acts for the user they name; backend_only: only backend credentials may call it (42501 otherwise); and the answer: status with response filled in from {params, query, body, me, out} (the function''s result when NULL).  A literal segment wins over a :param.';

ALTER TABLE pgcall.dialect_route ENABLE ROW LEVEL SECURITY;
CREATE POLICY dialect_route_read ON pgcall.dialect_route FOR SELECT USING (true);
GRANT SELECT ON pgcall.dialect_route TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
GRANT SELECT ON pgcall.dialect, pgcall.dialect_error TO pgcall_anon;

CREATE FUNCTION pgcall.dialect_http_status(sqlstate text, authenticated boolean)
RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN sqlstate ~ '^P[1-5][0-9][0-9][0-9A-Z]$' THEN substr(sqlstate, 2, 3)::integer
        WHEN sqlstate = '42501' THEN CASE WHEN authenticated THEN 403 ELSE 401 END
        WHEN sqlstate IN ('42883', '42P01') THEN 404
        WHEN sqlstate IN ('23503', '23505') THEN 409
        WHEN left(sqlstate, 2) IN ('22', '23') OR sqlstate IN ('P0001', '42702', '42804', '42P02') THEN 400
        WHEN left(sqlstate, 2) = '28' THEN 403
        WHEN sqlstate = '25006' THEN 405
        ELSE 500
    END
$$;

COMMENT ON FUNCTION pgcall.dialect_http_status(text, boolean) IS
'The HTTP status of an SQLSTATE as /rpc answers it (docs/protocol.md, "Errors and status codes"): P<status><letter> that status, 42501 403 (401 without a user), and PostgREST''s table for the rest.';

CREATE FUNCTION pgcall.dialect_unescape(s text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(convert_from(string_agg(CASE WHEN m[1] IS NOT NULL THEN decode(substr(m[1], 2), 'hex')
                                                 ELSE convert_to(m[2], 'UTF8') END, ''::bytea ORDER BY n),
                                 'UTF8'), '')
      FROM regexp_matches(s, '(%[0-9A-Fa-f]{2})|([^%]+|%)', 'g') WITH ORDINALITY AS t(m, n)
$$;

CREATE FUNCTION pgcall.dialect_query(query text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- a=1&b=x%20y as {"a": "1", "b": "x y"}; the last of a repeated name wins
    SELECT coalesce(jsonb_object_agg(k, v ORDER BY n), '{}')
      FROM (SELECT n,
                   pgcall.dialect_unescape(split_part(part, '=', 1)) AS k,
                   pgcall.dialect_unescape(substr(part, length(split_part(part, '=', 1)) + 2)) AS v
              FROM unnest(string_to_array(coalesce(query, ''), '&')) WITH ORDINALITY AS q(part, n)
             WHERE part <> '') s
$$;

COMMENT ON FUNCTION pgcall.dialect_query(text) IS
'A query string (as the bridge passes it, percent-encoded) as a JSON object of strings.  Invalid UTF-8 raises 22021.';
COMMENT ON FUNCTION pgcall.dialect_unescape(text) IS
'Percent-decoding of one query-string name or value.';

CREATE FUNCTION pgcall.dialect_http(dialect text, method text, path text, query text, body text,
                                    OUT status integer, OUT response text, OUT retry_after integer)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
    rt pgcall.dialect_route;
    m text := upper(method);
    p text := path;
    segs text[];
    params jsonb;
    me text := pgcall.current_user_id();
    backend boolean := pg_has_role(current_user, 'pgcall_backend', 'MEMBER');
    ctx jsonb;
    b jsonb;
    args jsonb;
    out_text text;
    f text;
    st text;
    msg text;
    hint text;
    code integer;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_http.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023',
            HINT = 'The bridge''s --dialect names a row of pgcall.dialect.';
    END IF;
    IF m = 'HEAD' THEN
        m := 'GET';
    END IF;
    ctx := jsonb_build_object('params', '{}'::jsonb, 'query', '{}'::jsonb, 'body', 'null'::jsonb, 'me', me);
    BEGIN
        -- the route: same number of segments, literals equal, :params not empty
        IF length(p) > 1 AND right(p, 1) = '/' THEN
            p := left(p, -1);
        END IF;
        segs := string_to_array(substr(p, 2), '/');
        SELECT r.dialect, r.method, r.path, x.params INTO rt.dialect, rt.method, rt.path, params
          FROM pgcall.dialect_route r
         CROSS JOIN LATERAL (
               SELECT bool_and(coalesce(CASE WHEN ps LIKE ':%' THEN s <> '' ELSE ps = s END, false)) AS ok,
                      coalesce(jsonb_object_agg(substr(ps, 2), s) FILTER (WHERE ps LIKE ':%'), '{}') AS params,
                      count(*) FILTER (WHERE ps LIKE ':%') AS nparams,
                      array_agg(ps LIKE ':%' ORDER BY i) AS shape
                 FROM unnest(string_to_array(substr(r.path, 2), '/'), segs) WITH ORDINALITY AS u(ps, s, i)) x
         WHERE r.dialect = d.name AND r.method = m AND left(p, 1) = '/' AND x.ok
         ORDER BY x.shape, r.path
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Route not found' USING ERRCODE = '42883',
                DETAIL = format('%s %s is not a route of dialect %s.', m, left(path, 200), d.name);
        END IF;
        SELECT * INTO rt FROM pgcall.dialect_route r
         WHERE r.dialect = rt.dialect AND r.method = rt.method AND r.path = rt.path;
        ctx := ctx || jsonb_build_object('params', params, 'query', pgcall.dialect_query(query));
        IF rt.backend_only AND NOT backend THEN
            RAISE EXCEPTION 'Backend credentials required' USING ERRCODE = '42501',
                HINT = 'This route is for an application server''s token (role pgcall_backend).';
        END IF;
        IF coalesce(body, '') !~ '^\s*$' THEN
            BEGIN
                b := body::jsonb;
            EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire THEN
                RAISE EXCEPTION 'Malformed JSON body' USING ERRCODE = '22032';
            END;
            ctx := ctx || jsonb_build_object('body', b);
        END IF;
        FOREACH f IN ARRAY rt.required LOOP
            IF jsonb_typeof(b) IS DISTINCT FROM 'object' OR coalesce(b -> f, 'null') = 'null' THEN
                RAISE EXCEPTION '%', coalesce(rt.required_message, f || ' required') USING ERRCODE = 'P400R';
            END IF;
        END LOOP;
        FOREACH f IN ARRAY rt.self_fields LOOP
            CONTINUE WHEN jsonb_typeof(b) IS DISTINCT FROM 'object' OR NOT b ? f;
            IF jsonb_typeof(b -> f) IS DISTINCT FROM 'string' THEN
                RAISE EXCEPTION '% must be a user id', f USING ERRCODE = 'P400I';
            END IF;
            IF b ->> f IS DISTINCT FROM me THEN
                IF me IS NULL AND NOT backend THEN
                    RAISE EXCEPTION 'Authentication required' USING ERRCODE = 'P401A',
                        HINT = 'Send a JWT in the Authorization header: its user is the one the body names.';
                END IF;
                -- a backend credential acts for the user the body names (once per request)
                IF NOT backend OR ctx ? 'acting' THEN
                    RAISE EXCEPTION '% must be the authenticated user', f USING ERRCODE = 'P403A';
                END IF;
                PERFORM set_config('pgcall.user_id', b ->> f, true);
                me := b ->> f;
                ctx := ctx || jsonb_build_object('me', me, 'acting', true);
            END IF;
        END LOOP;
        args := pgcall.dialect_fill(rt.args, ctx);
        SELECT r.body INTO out_text FROM pgcall.rpc('pgcall', rt.fn, args, false) r;
        ctx := ctx || jsonb_build_object('out', coalesce(out_text::jsonb, 'null'));
        status := rt.status;
        response := CASE WHEN rt.response IS NULL THEN coalesce(out_text, 'null')
                         ELSE pgcall.dialect_fill(rt.response, ctx)::text END;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
        -- not the request's fault: the bridge answers these as it does any failure
        IF left(st, 2) IN ('08', '40', '53', '54', '55', '57', '58', 'XX') THEN
            RAISE;
        END IF;
        SELECT de.message, de.http_status INTO msg, code FROM pgcall.dialect_error de
         WHERE de.dialect = d.name AND de.sqlstate = st
        UNION ALL SELECT msg, NULL LIMIT 1;
        status := coalesce(code, pgcall.dialect_http_status(st, me IS NOT NULL OR backend));
        response := pgcall.dialect_fill(d.http_error,
                                        ctx || jsonb_build_object('error', jsonb_build_object(
                                            'code', st, 'message', msg, 'status', status)))::text;
        IF status = 429 THEN
            retry_after := coalesce((substring(hint FROM '^Wait ([0-9]{1,8}) second'))::integer, 1);
        END IF;
    END;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_http(text, text, text, text, text) IS
'Answer a REST request of a dialect as the current role and user: the route of pgcall.dialect_route that method and path name, its checks, its function through pgcall.rpc and its response template; status and response (the body, JSON), and retry_after (seconds) on a 429.  A failure is answered with the dialect''s http_error body (status from pgcall.dialect_error.http_status or pgcall.dialect_http_status) and rolls back what the function did; an unknown route is 404 (42883), a body that is not JSON 400 (22032).  The bridge calls it for every request to a --dialect port other than /socket.io/.';

REVOKE EXECUTE ON FUNCTION pgcall.dialect_http_status(text, boolean), pgcall.dialect_query(text),
    pgcall.dialect_unescape(text), pgcall.dialect_http(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcall.dialect_http_status(text, boolean), pgcall.dialect_query(text),
    pgcall.dialect_unescape(text), pgcall.dialect_http(text, text, text, text, text),
    pgcall.dialect_fill(jsonb, jsonb), pgcall.dialect_template_ok(jsonb, boolean)
    TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

COMMENT ON TABLE pgcall.dialect IS
'A dialect: the Socket.IO namespace its clients connect to, the event (error_event, payload from error_payload over {in, me, error: {code, message}}) with which a failed socket request is answered, and the body of a failed REST request (http_error).  The bridge serves a dialect on each --dialect NAME=PORT port (its Socket.IO at /socket.io/, its REST routes for every other path), and one at /socket.io/ of its own port (--socketio-dialect).';
-- The token-by-channel operation of seed 002 (POST /api/calling/token), in
-- pgcall's own API first: for application servers only, and with the checks
-- call_media_session makes for a user (the user is being rung or is in the
-- live call on that channel), since the server acts for that user.

CREATE FUNCTION pgcall.channel_call_id(channel_id text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id FROM pgcall.call c
     WHERE c.channel_id = channel_call_id.channel_id AND pgcall.is_participant(c.id)
$$;

COMMENT ON FUNCTION pgcall.channel_call_id(text) IS
'The call on a channel, if the current user takes part in it (else NULL).  Internal: behind channel_token.';

REVOKE EXECUTE ON FUNCTION pgcall.channel_call_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcall.channel_call_id(text) TO pgcall_backend;

CREATE FUNCTION pgcall.channel_token(channel_id text, user_id text, uid bigint DEFAULT NULL,
                                     ttl integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cid uuid;
    s jsonb;
    tok text;
BEGIN
    IF channel_id IS NULL THEN
        RAISE EXCEPTION 'channel_id required' USING ERRCODE = 'P400R';
    END IF;
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id required' USING ERRCODE = 'P400R';
    END IF;
    -- act for the user: only pgcall_backend may set pgcall.user_id
    PERFORM set_config('pgcall.user_id', user_id, true);
    cid := pgcall.channel_call_id(channel_id);
    IF cid IS NULL THEN
        -- no call on the channel, or one the user takes no part in (row security)
        RAISE EXCEPTION 'call not found' USING ERRCODE = 'P404A',
            DETAIL = 'No call of this user has this channel.';
    END IF;
    s := pgcall.call_media_session(cid, ttl);
    IF uid IS NOT NULL THEN
        tok := pgcall.agora_rtc_token(channel_token.channel_id, uid, 'publisher',
                                      greatest(60, ((s #>> '{agora,expires_at}')::bigint
                                                    - extract(epoch FROM now())::bigint)::integer));
        s := jsonb_set(s, '{agora,token}', to_jsonb(tok));
    END IF;
    RETURN jsonb_build_object('call_id', cid, 'user_id', user_id, 'uid', uid) || (s -> 'agora');
END
$$;

COMMENT ON FUNCTION pgcall.channel_token(text, text, bigint, integer) IS
'For application servers (pgcall_backend): a fresh Agora token for user_id in the live call on channel_id, with the checks call_media_session makes for that user (being rung or in the call; P404A when the user has no call on the channel).  With uid, the token is for that numeric Agora uid instead of the user account.  Returns {call_id, user_id, uid, provider, app_id, channel_id, account, token, expires_at}.';

REVOKE EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) TO pgcall_backend;
INSERT INTO pgcall.api_function (name) VALUES ('channel_token');
-------------------------------------------------------------------------------
-- Seed 001 (NestJS + Agora, Socket.IO namespace /calls): its socket events
-- as a dialect, docs/migrating/seed001.md.
--
-- The seed documents the names of its events, not their payloads beyond the
-- client's ({callId, ...}); the payloads here follow its REST shapes
-- (camelCase, isMicMuted/isCameraOff/isSharingScreen).  join_call answers
-- (or rejoins) as call_set_status(joined), which changes nothing when one is
-- joined already, so the seed's "join over REST, then join_call, again after
-- every reconnect" works, and so does a client that only has the socket.
-- participant.reconnected reaches the others as participant_joined (with
-- reconnected: true): what the seed's server sent when a client came back
-- and emitted join_call again.
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, description) VALUES
    ('seed001', '/calls', 'error', '{"message": "$.error.message", "code": "$.error.code"}',
     'Seed 001: NestJS group calls in chat rooms, Socket.IO namespace /calls (join_call, media_state_changed, participant_disconnected...)');

INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, reply_event, reply_payload) VALUES
    ('seed001', 'join_call', 'call_set_status', '{"call_id": "$.in.callId", "status": "joined"}', '{callId}',
     'call_participants',
     '{"callId": "$.out.call.id", "status": "$.out.call.status",
       "participants": {"$each": "$.out.call.participants",
                        "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'),
    ('seed001', 'leave_call', 'call_leave', '{"call_id": "$.in.callId"}', '{callId}',
     NULL, '{"callId": "$.out.call.id", "status": "left", "callStatus": "$.out.call.status"}'),
    ('seed001', 'media_state_changed', 'call_set_media',
     '{"call_id": "$.in.callId", "mic_muted": "$.in.isMicMuted", "camera_off": "$.in.isCameraOff",
       "sharing_screen": "$.in.isSharingScreen"}', '{callId}',
     NULL,
     '{"callId": "$.out.call.id",
       "isMicMuted": "$.out.call.participants[*] ? (@.user_id == $.me).mic_muted",
       "isCameraOff": "$.out.call.participants[*] ? (@.user_id == $.me).camera_off",
       "isSharingScreen": "$.out.call.participants[*] ? (@.user_id == $.me).sharing_screen"}'),
    ('seed001', 'call_status_changed', 'call_set_status',
     '{"call_id": "$.in.callId", "status": "$.in.status", "reason": "$.in.reason"}', '{callId,status}',
     NULL,
     '{"callId": "$.out.call.id",
       "status": "$.out.call.participants[*] ? (@.user_id == $.me).status",
       "callStatus": "$.out.call.status"}');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed001', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "group"}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": true, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('call.incoming', 2, '{}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": false, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('participant.joined', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"}}'),
    ('participant.reconnected', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"},
       "reconnected": true}'),
    ('participant.left', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "reason": "removed"}'),
    ('participant.disconnected', 1, '{}', 'participant_disconnected',
     '{"callId": "$.event.call_id", "userId": "$.event.data.user_id", "since": "$.event.data.since"}'),
    ('participant.media', 1, '{}', 'participant_media_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "isMicMuted": "$.event.participant.mic_muted", "isCameraOff": "$.event.participant.camera_off",
       "isSharingScreen": "$.event.participant.sharing_screen"}'),
    ('participant.invited', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.ringing', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.declined', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.missed', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.busy', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('call.ended', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.rejected', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}')
  ) AS v(e, seq, w, ev, p);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed001', 'P404A', 'Call not found'),
    ('seed001', '22P02', 'Invalid payload: callId must be a call id, media flags true or false');
-- The REST routes of seeds 000, 002 and 003 (docs/migrating/seed000.md,
-- seed002.md, seed003.md): their paths, bodies, response shapes, status
-- codes and error texts, over pgcall's functions.

-- Seed 003 (MongoDB + WebRTC peer-to-peer): {success, message, data}.
UPDATE pgcall.dialect SET http_error = '{"success": false, "message": "$.error.message"}'
 WHERE name = 'seed003';
UPDATE pgcall.dialect_error SET http_status = 404 WHERE dialect = 'seed003' AND sqlstate = '22P02';

-- (dialect_error words both the socket's and the REST errors: no row for
-- 42883, whose words differ, "Unknown event" and "Route not found")
INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed003', '22032', 'Invalid JSON body', 400),
    ('seed003', 'P404B', 'Call not found', 404),
    ('seed003', 'P400O', 'Receiver not found', 400);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed003', 'POST', '/api/calls/initiate', 'call_start',
     '{"invitees": ["$.body.receiverId"], "type": "$.body.callType", "require_online": true}', '{receiverId}', 201,
     '{"success": true, "message": "Call initiated",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.body.receiverId"}, "callType": "$.out.call.media",
                "status": "$.out.call.status", "endReason": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at"}}'),
    ('seed003', 'POST', '/api/calls/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call accepted",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.status",
                "createdAt": "$.out.call.created_at", "startedAt": "$.out.call.answered_at"}}'),
    ('seed003', 'POST', '/api/calls/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call rejected",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at", "endedAt": "$.out.call.ended_at"}}'),
    ('seed003', 'POST', '/api/calls/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call ended",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "duration": "$.out.call.duration_seconds", "createdAt": "$.out.call.created_at",
                "startedAt": "$.out.call.answered_at", "endedAt": "$.out.call.ended_at"}}');

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response)
SELECT 'seed003', 'GET', p, 'call_history',
       jsonb_build_object('type', '$.query.type', 'limit', '$.query.limit', 'skip', '$.query.skip')
           || CASE WHEN p = '/api/calls/missed' THEN '{"missed_only": true}'::jsonb ELSE '{}'::jsonb END,
       '{"success": true,
         "data": {"$each": "$.out.data",
                  "$to": {"_id": "$.item.id",
                          "callerId": {"_id": "$.item.caller.id", "username": "$.item.caller.display_name",
                                       "images": "$.item.caller.avatar_url"},
                          "receiverId": {"_id": "$.item.participants[0].id",
                                         "username": "$.item.participants[0].display_name",
                                         "images": "$.item.participants[0].avatar_url"},
                          "callType": "$.item.type", "status": "$.item.status", "duration": "$.item.duration",
                          "direction": "$.item.direction", "isMissed": "$.item.is_missed",
                          "createdAt": "$.item.created_at", "startedAt": "$.item.started_at",
                          "endedAt": "$.item.ended_at"}},
         "hasMore": "$.out.has_more"}'::jsonb
  FROM unnest(ARRAY['/api/calls/history', '/api/calls/missed']) p;

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response) VALUES
    ('seed003', 'DELETE', '/api/calls/history/:callId', 'call_history_delete', '{"call_id": "$.params.callId"}',
     '{"success": true, "message": "Call deleted from history"}');

-- Seed 000 (Express + Sequelize, Agora): no authentication there; here the
-- body's userId must be the token's user, or a backend token acts for it.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed000', '/', NULL, '{"success": false, "message": "$.error.message"}',
     'Seed 000: Agora one-to-one calls over REST (POST /api/calls/session, /end, /logs)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed000', 'P503A', 'Calls not configured', 503),
    ('seed000', '42883', 'Not found', 404),
    ('seed000', '22032', 'Invalid JSON body', 400),
    ('seed000', 'P404A', 'Call not found', 404),
    ('seed000', 'P403A', 'userId must be the authenticated user', 403),
    ('seed000', 'P401A', 'Authentication required', 401);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, required_message, self_fields, response) VALUES
    ('seed000', 'POST', '/api/calls/session', 'call_session',
     '{"other_user": "$.body.otherUserId", "type": "$.body.type", "channel_id": "$.body.channelId"}',
     '{userId,otherUserId}', 'userId and otherUserId are required', '{userId}',
     '{"success": true, "appId": "$.out.app_id", "channelId": "$.out.channel_id", "token": "$.out.token",
       "expireAt": "$.out.expire_at", "type": "$.body.type"}'),
    ('seed000', 'POST', '/api/calls/end', 'call_end', '{"channel_id": "$.body.channelId"}',
     '{userId,channelId}', 'userId and channelId are required', '{userId}',
     '{"success": true, "message": "Call ended",
       "callLog": {"id": "$.out.call_id", "channelId": "$.out.channel_id",
                   "durationSeconds": "$.out.call.duration_seconds", "endedAt": "$.out.call.ended_at"}}'),
    ('seed000', 'POST', '/api/calls/logs', 'call_logs', '{"page": "$.body.page", "limit": "$.body.limit"}',
     '{userId}', 'userId is required', '{userId}',
     '{"success": true,
       "logs": {"$each": "$.out.logs",
                "$to": {"id": "$.item.id", "channelId": "$.item.channel_id", "type": "$.item.type",
                        "startedAt": "$.item.started_at", "endedAt": "$.item.ended_at",
                        "durationSeconds": "$.item.duration_seconds", "role": "$.item.role",
                        "otherUser": {"id": "$.item.other_user.id", "fullName": "$.item.other_user.display_name",
                                      "profilePicture": "$.item.other_user.avatar_url"}}},
       "pagination": "$.out.pagination"}');

-- Seed 002 (Ikoota, Agora conferences): bearer tokens, admin routes for
-- pgcall_admin, the token-by-channel route for backend tokens only.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed002', '/', NULL, '{"success": false, "error": "$.error.message"}',
     'Seed 002: Agora conferences over REST (/api/calling/...)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed002', '42883', 'Not found', 404),
    ('seed002', '22032', 'Invalid request parameters', 400),
    ('seed002', '22P02', 'Call not found or ended', 404),
    ('seed002', 'P404A', 'Call not found or ended', 404),
    ('seed002', 'P409B', 'Call not found or ended', 404),
    ('seed002', 'P409D', 'Call is full', 400),
    ('seed002', 'P403C', 'Access denied to private call', 403),
    ('seed002', 'P403B', 'Access denied to this call', 403),
    ('seed002', 'P404B', 'Participant not found', 404),
    ('seed002', '42501', 'Access denied', NULL),
    ('seed002', 'P403F', 'Admin access required', 403),
    ('seed002', 'P400S', 'Invalid request parameters', 400),
    ('seed002', 'P503A', 'Token generation failed', 500);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, backend_only, status, response) VALUES
    ('seed002', 'POST', '/api/calling/token', 'channel_token',
     '{"channel_id": "$.body.channelName", "user_id": "$.body.userId", "uid": "$.body.uid"}',
     '{channelName,userId}', true, 200,
     '{"token": "$.out.token", "appId": "$.out.app_id", "channelName": "$.out.channel_id", "uid": "$.out.uid",
       "userAccount": "$.out.account", "expiresAt": "$.out.expires_at"}'),
    ('seed002', 'POST', '/api/calling/create', 'conference_create',
     '{"title": "$.body.title", "description": "$.body.description", "is_public": "$.body.isPublic",
       "max_participants": "$.body.maxParticipants"}', '{title}', false, 200,
     '{"callId": "$.out.call.id", "channelName": "$.out.call.channel_id", "title": "$.out.call.title",
       "description": "$.out.call.description", "isPublic": "$.out.call.is_public",
       "maxParticipants": "$.out.call.max_participants"}'),
    ('seed002', 'POST', '/api/calling/:callId/join', 'call_join', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true, "channelName": "$.out.call.channel_id", "callTitle": "$.out.call.title",
       "token": "$.out.agora.token", "appId": "$.out.agora.app_id", "userAccount": "$.out.agora.account",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('seed002', 'POST', '/api/calling/:callId/leave', 'call_leave', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true}'),
    ('seed002', 'GET', '/api/calling/my-calls', 'calls_mine', '{"status": "$.query.status", "limit": "$.query.limit"}',
     '{}', false, 200, NULL),
    ('seed002', 'GET', '/api/calling/preferences', 'preferences_get', '{}', '{}', false, 200, NULL),
    ('seed002', 'PUT', '/api/calling/preferences', 'preferences_set',
     '{"voice_masking_enabled": "$.body.voice_masking_enabled", "video_masking_enabled": "$.body.video_masking_enabled",
       "auto_mute_on_join": "$.body.auto_mute_on_join", "video_quality": "$.body.video_quality",
       "preferred_avatar": "$.body.preferred_avatar"}', '{}', false, 200,
     '{"success": true, "message": "Preferences updated successfully",
       "preferences": {"voice_masking_enabled": "$.out.voice_masking_enabled",
                       "video_masking_enabled": "$.out.video_masking_enabled",
                       "auto_mute_on_join": "$.out.auto_mute_on_join", "video_quality": "$.out.video_quality",
                       "preferred_avatar": "$.out.preferred_avatar"}}'),
    ('seed002', 'GET', '/api/calling/admin/analytics', 'admin_analytics',
     '{"days": "$.query.days", "group_by": "$.query.groupBy"}', '{}', false, 200,
     '{"dailyStats": {"$each": "$.out.stats",
                      "$to": {"date": "$.item.period", "total_calls": "$.item.calls",
                              "total_participants": "$.item.participants", "avg_duration": "$.item.avg_duration",
                              "audio_minutes": "$.item.audio_minutes", "video_minutes": "$.item.video_minutes"}},
       "summary": {"totalCalls": "$.out.summary.calls", "totalParticipants": "$.out.summary.participants",
                   "totalAudioMinutes": "$.out.summary.audio_minutes",
                   "totalVideoMinutes": "$.out.summary.video_minutes",
                   "averageCallDuration": "$.out.summary.avg_duration",
                   "peakParticipants": "$.out.summary.peak_participants"}}'),
    ('seed002', 'GET', '/api/calling/admin/:callId/details', 'admin_call_details', '{"call_id": "$.params.callId"}',
     '{}', false, 200, NULL),
    ('seed002', 'POST', '/api/calling/admin/:callId/end', 'admin_call_end', '{"call_id": "$.params.callId"}',
     '{}', false, 200, '{"success": true, "message": "Call ended successfully", "endedAt": "$.out.ended_at"}'),
    ('seed002', 'DELETE', '/api/calling/admin/:callId/participants/:userId', 'admin_remove_participant',
     '{"call_id": "$.params.callId", "user_id": "$.params.userId"}', '{}', false, 200,
     '{"success": true, "message": "Participant removed from call"}');
-------------------------------------------------------------------------------
-- Seed 004 (NestJS microservices, RabbitMQ, Agora; Socket.IO namespace
-- /realtime): the events its realtime gateway emits, as a dialect,
-- docs/migrating/seed004.md.
--
-- The seed's clients act over REST (POST /call/start, /call/accept, ...) and
-- only listen on the socket: the dialect has no client events.  roomId is
-- what the seed's clients join Agora with (channelName: roomId), so it is
-- pgcall's Agora channel (call.channel_id); the seed's conversationId is
-- pgcall's room_id.  callType and mediaType are upper case in the seed
-- ('DIRECT'|'GROUP', 'AUDIO'|'VIDEO'): one row per combination.  A group
-- member's decline reaches the others as call.participant_left (the seed's
-- call.call_rejected would end the call in every client); a direct call that
-- is declined ends as call.call_rejected.
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, description) VALUES
    ('seed004', '/realtime', NULL,
     'Seed 004: NestJS realtime gateway, Socket.IO namespace /realtime (call.incoming_call, call.call_accepted...)');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed004', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "direct", "$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 2, '{"$.event.call.kind": "direct", "$.event.call.media": "video"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 3, '{"$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 4, '{}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.accepted', 1, '{}', 'call.call_accepted',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.data.by"}'),
    ('call.rejected', 1, '{}', 'call.call_rejected',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.call.ended_by"}'),
    ('call.ended', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('participant.joined', 1, '{}', 'call.participant_joined',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id"}'),
    ('participant.left', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "removed"}'),
    ('participant.declined', 1, '{"$.event.call.kind": "group"}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "declined"}')
  ) AS v(e, seq, w, ev, p);
-------------------------------------------------------------------------------
-- Dialect templates: a value chosen by a condition
--
-- {"$if": <path>, "$then": <template>, "$else": <template>} is $then filled
-- in when the path names a value other than null and false, else $else (null
-- without one).  Seed 001's active-call route answers data: null when the
-- room has no live call (not an object whose members are all left out), and
-- seed 004's routes word pgcall's kind and media in the seed's upper case
-- ({"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"}).
--
-- dialect_fill is C (extension/dialect_fill.c, declared in
-- 40-dialect-rest.sql); here its comment says what $if does.  Both constructs are
-- inbound only (the bridge's outbound mapper evaluates plain paths), so
-- dialect_template_ok now refuses their keys in outbound templates, where
-- they would have been sent as literal members.
-------------------------------------------------------------------------------

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array); an object {"$if": <path>, "$then": <template>, "$else": <template>} becomes $then filled in when the path names a value other than null and false, else $else (null without one).';

CREATE OR REPLACE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string'
           AND (v #>> '{}') ~ '^\$[.[]'
           AND NOT CASE WHEN outbound
                        THEN (v #>> '{}') ~ '^\$\.(event|me)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$'
                        ELSE pg_catalog.jsonb_path_exists('{}', (v #>> '{}')::jsonpath) IS NOT NULL END)
       AND NOT (outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'object'
           AND v ?| ARRAY['$each', '$to', '$if', '$then', '$else']))
$$;

COMMENT ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) IS
'Whether every path in a dialect template is usable: a valid SQL/JSON path inbound; outbound only $.event or $.me followed by .member and [index] steps (what the bridge evaluates), and none of the inbound constructs ($each/$to, $if/$then/$else).';
-------------------------------------------------------------------------------
-- The REST routes of seeds 001 and 004 (docs/migrating/seed001.md,
-- seed004.md, "REST"), served with their Socket.IO dialects on a --dialect
-- port.
--
-- Seed 001 (NestJS): {statusCode, message, data}, data the call in the
-- seed's camelCase (its participants as in call_participants); 201 for
-- initiate (NestJS's default for a POST), 200 for the rest (the one answer
-- the seed shows, the media session, says 200).  Errors {statusCode,
-- message, code}.
--
-- Seed 004 (NestJS API gateway): the seed shows no response bodies; each
-- answers what its call service published ({callId, roomId, token} for the
-- caller and the acceptor), 201 as NestJS answers a POST.  roomId and reason
-- in the bodies are not read: the call's own Agora channel is the room (the
-- seed minted a token for whatever roomId a client sent), and pgcall's end
-- reasons are its own.
-------------------------------------------------------------------------------

UPDATE pgcall.dialect SET http_error = '{"statusCode": "$.error.status", "message": "$.error.message", "code": "$.error.code"}'
 WHERE name = 'seed001';
UPDATE pgcall.dialect SET http_error = '{"statusCode": "$.error.status", "message": "$.error.message"}'
 WHERE name = 'seed004';

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed001', '22032', 'Invalid JSON body', 400),
    ('seed004', '22032', 'Invalid JSON body', 400),
    ('seed004', '22P02', 'Invalid payload: callId must be a call id', 400),
    ('seed004', 'P404A', 'Call not found', 404);


-- Seed 001's call, with the call at $.call (replaced by the call's path in
-- each route): its participants as call_participants lists them.
WITH seed001_call(t) AS (
SELECT '{"id": "$.call.id", "chatRoomId": "$.call.room_id", "type": "$.call.media",
         "isGroupCall": "$.call.kind == \"group\"", "status": "$.call.status",
         "initiatorId": "$.call.created_by", "maxParticipants": "$.call.max_participants",
         "channelName": "$.call.channel_id", "createdAt": "$.call.created_at",
         "answeredAt": "$.call.answered_at", "endedAt": "$.call.ended_at", "endedBy": "$.call.ended_by",
         "endReason": "$.call.end_reason", "duration": "$.call.duration_seconds",
         "participants": {"$each": "$.call.participants",
                          "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                  "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                  "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                  "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'::text)
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response)
SELECT 'seed001', m, p, fn, a::jsonb, req::text[], st,
       jsonb_build_object('statusCode', st, 'message', msg,
                          'data', CASE WHEN data = 'call' THEN replace(t, '$.call', '$.out.call')::jsonb
                                       WHEN data = 'active' THEN jsonb_build_object('$if', '$.out.id',
                                                                   '$then', replace(t, '$.call', '$.out')::jsonb)
                                       ELSE data::jsonb END)
  FROM seed001_call, (VALUES
    ('POST', '/api/v1/calls/rooms/:chatRoomId/initiate', 'call_start',
     '{"invitees": "$.body.inviteUserIds", "type": "$.body.type", "room_id": "$.params.chatRoomId",
       "is_group": "$.body.isGroupCall", "max_participants": "$.body.maxParticipants"}',
     '{inviteUserIds}', 201, 'Call initiated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/join', 'call_join',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff"}',
     '{}', 200, 'Joined call successfully', 'call'),
    ('POST', '/api/v1/calls/:id/media/session', 'call_media_session', '{"call_id": "$.params.id"}',
     '{}', 200, 'Media session created successfully',
     '{"provider": "$.out.agora.provider", "mode": "sfu", "channelName": "$.out.agora.channel_id",
       "userAccount": "$.out.agora.account", "appId": "$.out.agora.app_id", "rtcToken": "$.out.agora.token",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('PATCH', '/api/v1/calls/:id/status', 'call_set_status',
     '{"call_id": "$.params.id", "status": "$.body.status", "reason": "$.body.declineReason"}',
     '{status}', 200, 'Participant status updated successfully', 'call'),
    ('PATCH', '/api/v1/calls/:id/media', 'call_set_media',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff",
       "sharing_screen": "$.body.isSharingScreen"}',
     '{}', 200, 'Media state updated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/end', 'call_end', '{"call_id": "$.params.id"}',
     '{}', 200, 'Call ended successfully', 'call'),
    ('GET', '/api/v1/calls/rooms/:chatRoomId/active', 'call_active', '{"room_id": "$.params.chatRoomId"}',
     '{}', 200, 'Active call retrieved successfully', 'active')
  ) AS v(m, p, fn, a, req, st, msg, data);

-- Seed 004: kind and media in the seed's upper case.
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed004', 'POST', '/call/start', 'call_start',
     '{"invitees": "$.body.targetUserIds", "room_id": "$.body.conversationId",
       "is_group": "$.body.callType == \"GROUP\"", "type": "$.body.mediaType"}', '{targetUserIds}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "status": "$.out.call.status", "userId": "$.me"}'),
    ('seed004', 'POST', '/call/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "endedBy": "$.out.call.ended_by",
       "reason": "$.out.call.end_reason", "duration": "$.out.call.duration_seconds"}');
-------------------------------------------------------------------------------
-- Seed 003's REST status words (docs/migrating/seed003.md): the seed says
-- no-answer while a call rings ("still ringing"), so its initiate reply and
-- its history say so too; an initiate that ended at once (the receiver
-- offline) says its end reason, as reject and end do.
-------------------------------------------------------------------------------

UPDATE pgcall.dialect_route
   SET response = jsonb_set(response, '{data,status}',
           '{"$if": "$.out.call.status == \"ringing\"", "$then": "no-answer",
             "$else": {"$if": "$.out.call.status == \"ended\"", "$then": "$.out.call.end_reason",
                       "$else": "$.out.call.status"}}')
 WHERE dialect = 'seed003' AND method = 'POST' AND path = '/api/calls/initiate';

UPDATE pgcall.dialect_route
   SET response = jsonb_set(response, '{data,$to,status}',
           '{"$if": "$.item.status == \"ringing\"", "$then": "no-answer", "$else": "$.item.status"}')
 WHERE dialect = 'seed003' AND method = 'GET' AND path IN ('/api/calls/history', '/api/calls/missed');
-------------------------------------------------------------------------------
-- A dialect's GET (and HEAD) route runs in a read-only transaction, as
-- PostgREST and GET /rpc run a GET, unless its row says its function
-- writes (pgcall.dialect_route.writes: seed 002's analytics, which counts
-- against pgcall.rate_limit_analytics).  pgcall.rpc's own refusals
-- (PGRST101, 405, for a function that writes) keep their code, message and
-- status in the dialect's error shape instead of a 500.
-------------------------------------------------------------------------------

ALTER TABLE pgcall.dialect_route ADD COLUMN writes boolean NOT NULL DEFAULT false;

COMMENT ON TABLE pgcall.dialect_route IS
'A REST route of a dialect: method and path (literal segments and :params) call the pgcall function fn (reachable through pgcall.rpc) with args filled in from {params, query, body, me}.  required: body members it cannot go without (required_message, or "<member> required", P400R); self_fields: body members that name the caller and must equal the authenticated user (P403A), except that a backend credential (pgcall_backend) acts for the user they name; backend_only: only backend credentials may call it (42501 otherwise); and the answer: status with response filled in from {params, query, body, me, out} (the function''s result when NULL).  A literal segment wins over a :param.  A GET route runs in a read-only transaction, as PostgREST and GET /rpc run a GET, unless writes says its function writes (a function that writes on a read-only route fails with 405).';

UPDATE pgcall.dialect_route SET writes = true
 WHERE dialect = 'seed002' AND method = 'GET' AND path = '/api/calling/admin/analytics';

CREATE OR REPLACE FUNCTION pgcall.dialect_http(dialect text, method text, path text, query text, body text,
                                    OUT status integer, OUT response text, OUT retry_after integer)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
    rt pgcall.dialect_route;
    m text := upper(method);
    p text := path;
    segs text[];
    params jsonb;
    me text := pgcall.current_user_id();
    backend boolean := pg_has_role(current_user, 'pgcall_backend', 'MEMBER');
    ctx jsonb;
    b jsonb;
    args jsonb;
    out_text text;
    f text;
    st text;
    msg text;
    hint text;
    detail text;
    code integer;
    pgrst_status integer;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_http.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023',
            HINT = 'The bridge''s --dialect names a row of pgcall.dialect.';
    END IF;
    IF m = 'HEAD' THEN
        m := 'GET';
    END IF;
    ctx := jsonb_build_object('params', '{}'::jsonb, 'query', '{}'::jsonb, 'body', 'null'::jsonb, 'me', me);
    BEGIN
        -- the route: same number of segments, literals equal, :params not empty
        IF length(p) > 1 AND right(p, 1) = '/' THEN
            p := left(p, -1);
        END IF;
        segs := string_to_array(substr(p, 2), '/');
        SELECT r.dialect, r.method, r.path, x.params INTO rt.dialect, rt.method, rt.path, params
          FROM pgcall.dialect_route r
         CROSS JOIN LATERAL (
               SELECT bool_and(coalesce(CASE WHEN ps LIKE ':%' THEN s <> '' ELSE ps = s END, false)) AS ok,
                      coalesce(jsonb_object_agg(substr(ps, 2), s) FILTER (WHERE ps LIKE ':%'), '{}') AS params,
                      count(*) FILTER (WHERE ps LIKE ':%') AS nparams,
                      array_agg(ps LIKE ':%' ORDER BY i) AS shape
                 FROM unnest(string_to_array(substr(r.path, 2), '/'), segs) WITH ORDINALITY AS u(ps, s, i)) x
         WHERE r.dialect = d.name AND r.method = m AND left(p, 1) = '/' AND x.ok
         ORDER BY x.shape, r.path
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Route not found' USING ERRCODE = '42883',
                DETAIL = format('%s %s is not a route of dialect %s.', m, left(path, 200), d.name);
        END IF;
        SELECT * INTO rt FROM pgcall.dialect_route r
         WHERE r.dialect = rt.dialect AND r.method = rt.method AND r.path = rt.path;
        -- a GET (or HEAD) reads, as PostgREST and GET /rpc have it, unless the route says otherwise
        IF m = 'GET' AND NOT rt.writes THEN
            PERFORM set_config('transaction_read_only', 'on', true);
        END IF;
        ctx := ctx || jsonb_build_object('params', params, 'query', pgcall.dialect_query(query));
        IF rt.backend_only AND NOT backend THEN
            RAISE EXCEPTION 'Backend credentials required' USING ERRCODE = '42501',
                HINT = 'This route is for an application server''s token (role pgcall_backend).';
        END IF;
        IF coalesce(body, '') !~ '^\s*$' THEN
            BEGIN
                b := body::jsonb;
            EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire THEN
                RAISE EXCEPTION 'Malformed JSON body' USING ERRCODE = '22032';
            END;
            ctx := ctx || jsonb_build_object('body', b);
        END IF;
        FOREACH f IN ARRAY rt.required LOOP
            IF jsonb_typeof(b) IS DISTINCT FROM 'object' OR coalesce(b -> f, 'null') = 'null' THEN
                RAISE EXCEPTION '%', coalesce(rt.required_message, f || ' required') USING ERRCODE = 'P400R';
            END IF;
        END LOOP;
        FOREACH f IN ARRAY rt.self_fields LOOP
            CONTINUE WHEN jsonb_typeof(b) IS DISTINCT FROM 'object' OR NOT b ? f;
            IF jsonb_typeof(b -> f) IS DISTINCT FROM 'string' THEN
                RAISE EXCEPTION '% must be a user id', f USING ERRCODE = 'P400I';
            END IF;
            IF b ->> f IS DISTINCT FROM me THEN
                IF me IS NULL AND NOT backend THEN
                    RAISE EXCEPTION 'Authentication required' USING ERRCODE = 'P401A',
                        HINT = 'Send a JWT in the Authorization header: its user is the one the body names.';
                END IF;
                -- a backend credential acts for the user the body names (once per request)
                IF NOT backend OR ctx ? 'acting' THEN
                    RAISE EXCEPTION '% must be the authenticated user', f USING ERRCODE = 'P403A';
                END IF;
                PERFORM set_config('pgcall.user_id', b ->> f, true);
                me := b ->> f;
                ctx := ctx || jsonb_build_object('me', me, 'acting', true);
            END IF;
        END LOOP;
        args := pgcall.dialect_fill(rt.args, ctx);
        SELECT r.body INTO out_text FROM pgcall.rpc('pgcall', rt.fn, args, false) r;
        ctx := ctx || jsonb_build_object('out', coalesce(out_text::jsonb, 'null'));
        status := rt.status;
        response := CASE WHEN rt.response IS NULL THEN coalesce(out_text, 'null')
                         ELSE pgcall.dialect_fill(rt.response, ctx)::text END;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT,
                                detail = PG_EXCEPTION_DETAIL;
        -- not the request's fault: the bridge answers these as it does any failure
        IF left(st, 2) IN ('08', '40', '53', '54', '55', '57', '58', 'XX') THEN
            RAISE;
        END IF;
        -- pgcall.rpc's own refusals (PGRST101: a function that writes on a
        -- read-only route): their code, message and status
        IF st = 'PGRST' AND msg ~ '^\{"code":' AND detail ~ '^\{"status":[0-9]{3},' THEN
            pgrst_status := (detail::jsonb ->> 'status')::integer;
            st := coalesce(msg::jsonb ->> 'code', st);
            msg := coalesce(msg::jsonb ->> 'message', msg);
        END IF;
        SELECT de.message, de.http_status INTO msg, code FROM pgcall.dialect_error de
         WHERE de.dialect = d.name AND de.sqlstate = st
        UNION ALL SELECT msg, NULL LIMIT 1;
        status := coalesce(code, pgrst_status, pgcall.dialect_http_status(st, me IS NOT NULL OR backend));
        response := pgcall.dialect_fill(d.http_error,
                                        ctx || jsonb_build_object('error', jsonb_build_object(
                                            'code', st, 'message', msg, 'status', status)))::text;
        IF status = 429 THEN
            retry_after := coalesce((substring(hint FROM '^Wait ([0-9]{1,8}) second'))::integer, 1);
        END IF;
    END;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_http(text, text, text, text, text) IS
'Answer a REST request of a dialect as the current role and user: the route of pgcall.dialect_route that method and path name, its checks, its function through pgcall.rpc and its response template; status and response (the body, JSON), and retry_after (seconds) on a 429.  A failure is answered with the dialect''s http_error body (status from pgcall.dialect_error.http_status or pgcall.dialect_http_status) and rolls back what the function did; an unknown route is 404 (42883), a body that is not JSON 400 (22032), and pgcall.rpc''s own refusals keep their code, message and status (PGRST101, 405: a function that writes on a GET route, which runs read-only unless pgcall.dialect_route.writes).  The bridge calls it for every request to a --dialect port other than /socket.io/.';
-------------------------------------------------------------------------------
-- Per-recipient media credentials in emits (issue 13, seed 004's
-- call.call_accepted "Includes token!")
--
-- An outbound payload may read $.media: the recipient's own
-- call_media_session(call_id) for the event's call, which the bridge runs as
-- that recipient before sending the emit (the certificate stays in the
-- database; $.media fills null when the recipient may not have one).  It
-- means something in dialect_emit payloads only: dialect_template_ok raises
-- against it inbound, dialect_when_ok in a condition (a rule is chosen
-- before the media session is asked for).  Seed 004's call.call_accepted
-- gains the seed's token field.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$\.media([.[]|$)') THEN
        RAISE EXCEPTION '$.media is filled in dialect_emit payloads only' USING ERRCODE = '22023',
            DETAIL = 'It is the recipient''s own call_media_session(call_id), which the bridge asks for when it sends a pgcall event to a socket; an inbound template has none.',
            HINT = 'Call call_media_session (or call_accept, whose answer carries the token) from the dialect''s event or route instead.';
    END IF;
    RETURN NOT EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string'
           AND (v #>> '{}') ~ '^\$[.[]'
           AND NOT CASE WHEN outbound
                        THEN (v #>> '{}') ~ '^\$\.(event|me|media)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$'
                        ELSE pg_catalog.jsonb_path_exists('{}', (v #>> '{}')::jsonpath) IS NOT NULL END)
       AND NOT (outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'object'
           AND v ?| ARRAY['$each', '$to', '$if', '$then', '$else']));
END
$$;

COMMENT ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) IS
'Whether every path in a dialect template is usable: a valid SQL/JSON path inbound; outbound only $.event, $.me or $.media followed by .member and [index] steps (what the bridge evaluates), and none of the inbound constructs ($each/$to, $if/$then/$else).  $.media (the recipient''s call_media_session) is raised against (22023) in an inbound template; dialect_when_ok raises against it in a condition.';

CREATE OR REPLACE FUNCTION pgcall.dialect_when_ok("when" jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.jsonb_typeof("when") = 'object' AND EXISTS (
        SELECT FROM pg_catalog.jsonb_each("when") w
         WHERE w.key ~ '^\$\.media([.[]|$)'
            OR (pg_catalog.jsonb_typeof(w.value) = 'string' AND (w.value #>> '{}') ~ '^\$\.media([.[]|$)')) THEN
        RAISE EXCEPTION '$.media cannot be read in a dialect_emit condition' USING ERRCODE = '22023',
            DETAIL = 'The rule is chosen before the bridge asks the database for the recipient''s media session, and only when its payload reads $.media.',
            HINT = 'Conditions read $.event and $.me; read $.media in the payload.';
    END IF;
    RETURN pg_catalog.jsonb_typeof("when") = 'object'
       AND pgcall.dialect_template_ok("when", true)
       AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_object_keys("when") k
                        WHERE k !~ '^\$\.(event|me)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$');
END
$$;

COMMENT ON FUNCTION pgcall.dialect_when_ok(jsonb) IS
'Whether a dialect_emit condition is usable: an object whose keys are outbound paths and whose values are outbound paths or literals, none of them $.media (22023).';

COMMENT ON TABLE pgcall.dialect_emit IS
'A pgcall event as a dialect''s clients see it: the first row (by seq) whose "when" holds (each key a path, each value a path or a literal, compared as JSON) is emitted as event with payload filled in from {event, me, media}.  An event with no matching row is not sent to the socket.  Paths: $.event, $.me or (in payload only) $.media, then .member and [index] steps.  $.media is the recipient''s own call_media_session(call_id) for the event''s call (its Agora token: "$.media.agora.token"), asked for as that recipient when the row applies; its paths fill null when the recipient may not have one.';

UPDATE pgcall.dialect_emit
   SET payload = '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.data.by",
                   "token": "$.media.agora.token"}'
 WHERE dialect = 'seed004' AND pgcall_event = 'call.accepted' AND seq = 1;
