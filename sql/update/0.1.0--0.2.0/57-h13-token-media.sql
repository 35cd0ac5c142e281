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
