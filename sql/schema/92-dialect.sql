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
-- the subset the bridge evaluates: member and [index] steps only.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
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
$$;

COMMENT ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) IS
'Whether every path in a dialect template is usable: a valid SQL/JSON path inbound; outbound only $.event or $.me followed by .member and [index] steps (what the bridge evaluates).';

GRANT EXECUTE ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_when_ok("when" jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_typeof("when") = 'object'
       AND pgcall.dialect_template_ok("when", true)
       AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_object_keys("when") k
                        WHERE k !~ '^\$\.(event|me)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$')
$$;

COMMENT ON FUNCTION pgcall.dialect_when_ok(jsonb) IS
'Whether a dialect_emit condition is usable: an object whose keys are outbound paths and whose values are outbound paths or literals.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_when_ok(jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    namespace     text NOT NULL DEFAULT '/' CHECK (namespace ~ '^/[A-Za-z0-9_/-]{0,63}$'),
    error_event   text CHECK (error_event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    error_payload jsonb NOT NULL DEFAULT '{"message": "$.error.message"}'
                  CHECK (pgcall.dialect_template_ok(error_payload)),
    description   text
);

COMMENT ON TABLE pgcall.dialect IS
'A Socket.IO dialect: the namespace its clients connect to, and the event (error_event, payload from error_payload over {in, me, error: {code, message}}) with which a failed request is answered.  The bridge serves one dialect at /socket.io/ (--socketio-dialect).';

ALTER TABLE pgcall.dialect ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_read ON pgcall.dialect FOR SELECT USING (true);

-- Seed 003 (MongoDB + WebRTC peer-to-peer, Socket.IO default namespace):
-- docs/migrating/seed003.md.  The callee must be online
-- (require_online), as that backend answered userNotAvailable.
INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, description) VALUES
    ('seed003', '/', 'callError', '{"error": "$.error.message"}',
     'Seed 003: WebRTC peer-to-peer calls, Socket.IO default namespace (initiateCall, acceptCall, sendOffer...)');

GRANT SELECT ON pgcall.dialect TO pgcall_user, pgcall_backend, pgcall_admin;

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
'A pgcall event as a dialect''s clients see it: the first row (by seq) whose "when" holds (each key a path, each value a path or a literal, compared as JSON) is emitted as event with payload filled in from {event, me}.  An event with no matching row is not sent to the socket.  Paths: $.event or $.me, then .member and [index] steps.';

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
    PRIMARY KEY (dialect, sqlstate)
);

COMMENT ON TABLE pgcall.dialect_error IS
'The words a dialect''s clients expect for an error: message replaces the error''s own for this SQLSTATE.';

ALTER TABLE pgcall.dialect_error ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_error_read ON pgcall.dialect_error FOR SELECT USING (true);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed003', 'P404A', 'Call not found'),
    ('seed003', '22P02', 'Call not found'),
    ('seed003', 'P403A', 'Not authorized'),
    ('seed003', 'P403B', 'Not authorized'),
    ('seed003', 'P409A', 'Call already processed'),
    ('seed003', 'P409B', 'Call already processed'),
    ('seed003', 'P409C', 'Call already processed');

GRANT SELECT ON pgcall.dialect_error TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    r jsonb;
    result jsonb;
BEGIN
    CASE jsonb_typeof(template)
    WHEN 'object' THEN
        result := '{}';
        FOR k, v IN SELECT * FROM jsonb_each(template) LOOP
            IF jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$[.[]' THEN
                r := jsonb_path_query_first(ctx, (v #>> '{}')::jsonpath);
                CONTINUE WHEN r IS NULL;
            ELSE
                r := pgcall.dialect_fill(v, ctx);
            END IF;
            result := result || jsonb_build_object(k, r);
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(pgcall.dialect_fill(e, ctx) ORDER BY n), '[]')
          INTO result
          FROM jsonb_array_elements(template) WITH ORDINALITY AS a(e, n);
        RETURN result;
    WHEN 'string' THEN
        IF (template #>> '{}') ~ '^\$[.[]' THEN
            RETURN coalesce(jsonb_path_query_first(ctx, (template #>> '{}')::jsonpath), 'null');
        END IF;
        RETURN template;
    ELSE
        RETURN template;
    END CASE;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

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
