-------------------------------------------------------------------------------
-- Dialects: the socket APIs of existing backends, as data
--
-- A dialect lets a client written for another calling backend talk to
-- pgcall over Socket.IO with nothing changed but the URL.  It is rows, not
-- code: pgcall.dialect_event maps the client's events onto pgcall functions
-- (run by pgcall.dialect_call, as the socket's user, through pgcall.rpc),
-- pgcall.dialect_emit maps pgcall's events onto the client's (applied by the
-- bridge's generic mapper, rules from pgcall.dialect_rules), and
-- pgcall.dialect_error words errors the way the client expects.
--
-- Templates are JSON in which a string starting with "$." (or "$[") is an
-- SQL/JSON path into a context and is replaced by what it names; a member
-- whose path names nothing is left out (an argument then takes its
-- default).  Inbound the context is {in: <the event's payload>, me: <user
-- id>}, then out: <the function's result>, or error: {code, message}.
-- Outbound it is {event: <pgcall event>, me: <user id>}, and the paths are
-- the subset the bridge evaluates: member and [index] steps only.  An
-- outbound payload (not a condition) may also read $.media: the recipient's
-- own call_media_session(call_id) for the event's call, which the bridge
-- runs as that recipient before it sends the emit (null when it fails).
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
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

GRANT EXECUTE ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_when_ok("when" jsonb)
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

GRANT EXECUTE ON FUNCTION pgcall.dialect_when_ok(jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    namespace     text NOT NULL DEFAULT '/' CHECK (namespace ~ '^/[A-Za-z0-9_/-]{0,63}$'),
    error_event   text CHECK (error_event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    error_payload jsonb NOT NULL DEFAULT '{"message": "$.error.message"}'
                  CHECK (pgcall.dialect_template_ok(error_payload)),
    description   text,
    http_error    jsonb NOT NULL DEFAULT '{"success": false, "message": "$.error.message"}'
                  CHECK (pgcall.dialect_template_ok(http_error))
);

COMMENT ON TABLE pgcall.dialect IS
'A dialect: the Socket.IO namespace its clients connect to, the event (error_event, payload from error_payload over {in, me, error: {code, message}}) with which a failed socket request is answered, and the body of a failed REST request (http_error).  The bridge serves a dialect on each --dialect NAME=PORT port (its Socket.IO at /socket.io/, its REST routes for every other path), and one at /socket.io/ of its own port (--socketio-dialect).';

COMMENT ON COLUMN pgcall.dialect.http_error IS
'The body of a failed REST request of the dialect, filled in from {params, query, body, me, error: {code, message, status}}.';

ALTER TABLE pgcall.dialect ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_read ON pgcall.dialect FOR SELECT USING (true);

-- Seed 003 (MongoDB + WebRTC peer-to-peer, Socket.IO default namespace):
-- docs/migrating/seed003.md.  The callee must be online
-- (require_online), as that backend answered userNotAvailable.
INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, description) VALUES
    ('seed003', '/', 'callError', '{"error": "$.error.message"}',
     'Seed 003: WebRTC peer-to-peer calls, Socket.IO default namespace (initiateCall, acceptCall, sendOffer...)');

GRANT SELECT ON pgcall.dialect TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_event (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    event         text NOT NULL CHECK (event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    fn            text NOT NULL REFERENCES pgcall.api_function (name),
    args          jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(args) = 'object'
                                                     AND pgcall.dialect_template_ok(args)),
    required      text[] NOT NULL DEFAULT '{}',
    self_fields   text[] NOT NULL DEFAULT '{}',
    reply_event   text CHECK (reply_event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    reply_payload jsonb CHECK (pgcall.dialect_template_ok(reply_payload)),
    reply_when    jsonpath,
    PRIMARY KEY (dialect, event)
);

COMMENT ON TABLE pgcall.dialect_event IS
'A client event of a dialect: the pgcall function it calls (fn, reachable through pgcall.rpc) with args filled in from {in, me}; members of the payload it cannot go without (required: "<member> required", P400R); members that name the sender and must equal the authenticated user (self_fields: P403A otherwise, so a seed that trusted a user id in the body keeps its shape but not the hole); and what the sender gets back: reply_event with reply_payload over {in, me, out}, when reply_when holds (always without it).  The ack of an event gets the reply payload, or the function''s result when there is none.';

ALTER TABLE pgcall.dialect_event ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_event_read ON pgcall.dialect_event FOR SELECT USING (true);

INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, reply_event, reply_payload, reply_when) VALUES
    ('seed003', 'initiateCall', 'call_start',
     '{"invitees": ["$.in.receiverId"], "type": "$.in.callType", "require_online": true}', '{receiverId}',
     'callInitiated', '{"callId": "$.out.call.id", "receiverId": "$.in.receiverId", "callType": "$.out.call.media"}',
     '$.out.call.status != "ended"'),
    ('seed003', 'acceptCall', 'call_accept', '{"call_id": "$.in.callId"}', '{callId}',
     'callAcceptedConfirm', '{"callId": "$.out.call.id"}', NULL),
    ('seed003', 'rejectCall', 'call_reject', '{"call_id": "$.in.callId"}', '{callId}',
     'callRejectedConfirm', '{"callId": "$.in.callId"}', NULL),
    ('seed003', 'endCall', 'call_end', '{"call_id": "$.in.callId"}', '{callId}',
     'callEndedConfirm', '{"callId": "$.in.callId"}', NULL),
    ('seed003', 'sendOffer', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "offer", "payload": "$.in.offer"}',
     '{to,offer,callId}', NULL, NULL, NULL),
    ('seed003', 'sendAnswer', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "answer", "payload": "$.in.answer"}',
     '{to,answer,callId}', NULL, NULL, NULL),
    ('seed003', 'sendIceCandidate', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "candidate", "payload": "$.in.candidate"}',
     '{to,candidate,callId}', NULL, NULL, NULL);

GRANT SELECT ON pgcall.dialect_event TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_emit (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    pgcall_event  text NOT NULL,
    seq           integer NOT NULL DEFAULT 1,
    "when"        jsonb NOT NULL DEFAULT '{}' CHECK (pgcall.dialect_when_ok("when")),
    event         text NOT NULL CHECK (event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    payload       jsonb CHECK (pgcall.dialect_template_ok(payload, true)),
    PRIMARY KEY (dialect, pgcall_event, seq)
);

COMMENT ON TABLE pgcall.dialect_emit IS
'A pgcall event as a dialect''s clients see it: the first row (by seq) whose "when" holds (each key a path, each value a path or a literal, compared as JSON) is emitted as event with payload filled in from {event, me, media}.  An event with no matching row is not sent to the socket.  Paths: $.event, $.me or (in payload only) $.media, then .member and [index] steps.  $.media is the recipient''s own call_media_session(call_id) for the event''s call (its Agora token: "$.media.agora.token"), asked for as that recipient when the row applies; its paths fill null when the recipient may not have one.';

ALTER TABLE pgcall.dialect_emit ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_emit_read ON pgcall.dialect_emit FOR SELECT USING (true);

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload) VALUES
    ('seed003', 'call.incoming', 1, '{}', 'incomingCall',
     '{"callId": "$.event.call_id", "callerId": "$.event.call.created_by", "callType": "$.event.call.media",
       "caller": "$.event.data.caller"}'),
    ('seed003', 'call.accepted', 1, '{"$.event.call.created_by": "$.me"}', 'callAccepted',
     '{"callId": "$.event.call_id", "receiverId": "$.event.data.by"}'),
    ('seed003', 'call.rejected', 1, '{"$.event.call.created_by": "$.me"}', 'callRejected',
     '{"callId": "$.event.call_id", "receiverId": "$.event.data.by"}'),
    ('seed003', 'call.ended', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by"}'),
    ('seed003', 'call.cancelled', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by"}'),
    ('seed003', 'call.missed', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": null}'),
    ('seed003', 'call.unavailable', 1, '{"$.event.call.created_by": "$.me"}', 'userNotAvailable',
     '{"message": "User is not available", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 1, '{"$.event.data.kind": "offer"}', 'receiveOffer',
     '{"offer": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 2, '{"$.event.data.kind": "answer"}', 'receiveAnswer',
     '{"answer": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 3, '{"$.event.data.kind": "candidate"}', 'receiveIceCandidate',
     '{"candidate": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}');

GRANT SELECT ON pgcall.dialect_emit TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_error (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    sqlstate      text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    message       text NOT NULL,
    http_status   integer CHECK (http_status BETWEEN 400 AND 599),
    PRIMARY KEY (dialect, sqlstate)
);

COMMENT ON TABLE pgcall.dialect_error IS
'The words a dialect''s clients expect for an error: message replaces the error''s own for this SQLSTATE.';

COMMENT ON COLUMN pgcall.dialect_error.http_status IS
'The HTTP status a REST request of the dialect fails with for this SQLSTATE (NULL: the status pgcall.dialect_http_status() gives).';

ALTER TABLE pgcall.dialect_error ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_error_read ON pgcall.dialect_error FOR SELECT USING (true);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed003', 'P404A', 'Call not found'),
    ('seed003', 'P403A', 'Not authorized'),
    ('seed003', 'P403B', 'Not authorized'),
    ('seed003', 'P409A', 'Call already processed'),
    ('seed003', 'P409B', 'Call already processed'),
    ('seed003', 'P409C', 'Call already processed');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed003', '22P02', 'Call not found', 404);

GRANT SELECT ON pgcall.dialect_error TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

-- In C (extension/dialect_fill.c): the PL/pgSQL version took longer to
-- fill a list's template than the function behind a route took to run.
CREATE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_dialect_fill'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array); an object {"$if": <path>, "$then": <template>, "$else": <template>} becomes $then filled in when the path names a value other than null and false, else $else (null without one).';

GRANT EXECUTE ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_rules(dialect text, namespace text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_rules.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023',
            HINT = 'The bridge''s --socketio-dialect names a row of pgcall.dialect.';
    END IF;
    IF d.namespace IS DISTINCT FROM dialect_rules.namespace THEN
        RAISE EXCEPTION 'Invalid namespace' USING ERRCODE = '22023',
            DETAIL = format('Dialect %s is served in namespace %s.', d.name, d.namespace);
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('on', e.pgcall_event, 'when', e."when",
                                                        'emit', e.event, 'payload', e.payload)
                                      ORDER BY e.pgcall_event, e.seq), '[]')
              FROM pgcall.dialect_emit e
             WHERE e.dialect = d.name);
END
$$;

COMMENT ON FUNCTION pgcall.dialect_rules(text, text) IS
'The outbound rules of a dialect, as the bridge''s mapper reads them: [{on, when, emit, payload}], in seq order per pgcall event.  Raises 22023 for an unknown dialect, and "Invalid namespace" (22023) when namespace is not the dialect''s.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_rules(text, text) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_call(dialect text, event text, payload jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
    e pgcall.dialect_event;
    me text := pgcall.current_user_id();
    ctx jsonb;
    args jsonb;
    body text;
    reply jsonb;
    st text;
    msg text;
    f text;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_call.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023';
    END IF;
    ctx := jsonb_build_object('in', coalesce(payload, 'null'), 'me', me);
    BEGIN
        SELECT * INTO e FROM pgcall.dialect_event de
         WHERE de.dialect = d.name AND de.event = dialect_call.event;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Unknown event "%"', left(dialect_call.event, 64) USING ERRCODE = '42883';
        END IF;
        FOREACH f IN ARRAY e.required LOOP
            IF jsonb_typeof(payload) IS DISTINCT FROM 'object' OR coalesce(payload -> f, 'null') = 'null' THEN
                RAISE EXCEPTION '% required', f USING ERRCODE = 'P400R';
            END IF;
        END LOOP;
        FOREACH f IN ARRAY e.self_fields LOOP
            IF jsonb_typeof(payload) = 'object' AND payload ? f
               AND (me IS NULL OR payload -> f IS DISTINCT FROM to_jsonb(me)) THEN
                RAISE EXCEPTION '% must be the authenticated user', f USING ERRCODE = 'P403A';
            END IF;
        END LOOP;
        args := pgcall.dialect_fill(e.args, ctx);
        SELECT r.body INTO body FROM pgcall.rpc('pgcall', e.fn, args, false) r;
        ctx := ctx || jsonb_build_object('out', coalesce(body::jsonb, 'null'));
        IF e.reply_payload IS NOT NULL THEN
            reply := pgcall.dialect_fill(e.reply_payload, ctx);
        END IF;
        RETURN jsonb_build_object(
            'emit', CASE WHEN e.reply_event IS NOT NULL
                          AND (e.reply_when IS NULL OR jsonb_path_match(ctx, e.reply_when))
                         THEN jsonb_build_array(jsonb_build_array(e.reply_event, reply))
                         ELSE '[]' END,
            'ack', coalesce(reply, ctx -> 'out'));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        -- not the request's fault: the bridge answers these as it does any failure
        IF left(st, 2) IN ('08', '40', '53', '54', '55', '57', '58', 'XX') THEN
            RAISE;
        END IF;
        SELECT de.message INTO msg FROM pgcall.dialect_error de
         WHERE de.dialect = d.name AND de.sqlstate = st
        UNION ALL SELECT msg LIMIT 1;
        reply := pgcall.dialect_fill(d.error_payload,
                                     ctx || jsonb_build_object('error', jsonb_build_object('code', st, 'message', msg)));
        RETURN jsonb_build_object(
            'emit', CASE WHEN d.error_event IS NOT NULL
                         THEN jsonb_build_array(jsonb_build_array(d.error_event, reply))
                         ELSE '[]' END,
            'ack', reply,
            'error', jsonb_build_object('code', st, 'message', msg));
    END;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_call(text, text, jsonb) IS
'Run a dialect''s client event as the current user: {emit: [[event, payload]...], ack: payload} for the bridge to send back, or, when it fails, the dialect''s error event (with error: {code, message}).  Everything the function does is rolled back on failure.  The bridge calls it for each Socket.IO EVENT of a dialect socket.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_call(text, text, jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

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
-- way the seed's clients expect: status and body.  Route templates are
-- filled in from {params, query, body, me}, then out or error: {code,
-- message, status}.
-------------------------------------------------------------------------------

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
    writes           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dialect, method, path)
);

COMMENT ON TABLE pgcall.dialect_route IS
'A REST route of a dialect: method and path (literal segments and :params) call the pgcall function fn (reachable through pgcall.rpc) with args filled in from {params, query, body, me}.  required: body members it cannot go without (required_message, or "<member> required", P400R); self_fields: body members that name the caller and must equal the authenticated user (P403A), except that a backend credential (pgcall_backend) acts for the user they name; backend_only: only backend credentials may call it (42501 otherwise); and the answer: status with response filled in from {params, query, body, me, out} (the function''s result when NULL).  A literal segment wins over a :param.  A GET route runs in a read-only transaction, as PostgREST and GET /rpc run a GET, unless writes says its function writes (a function that writes on a read-only route fails with 405).';

ALTER TABLE pgcall.dialect_route ENABLE ROW LEVEL SECURITY;
CREATE POLICY dialect_route_read ON pgcall.dialect_route FOR SELECT USING (true);
GRANT SELECT ON pgcall.dialect_route TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

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

GRANT EXECUTE ON FUNCTION pgcall.dialect_http_status(text, boolean), pgcall.dialect_query(text),
    pgcall.dialect_unescape(text), pgcall.dialect_http(text, text, text, text, text)
    TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
