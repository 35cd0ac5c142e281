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

CREATE OR REPLACE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
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
        IF template ? '$each' AND template ? '$to' THEN
            r := CASE WHEN jsonb_typeof(template -> '$each') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$each')::jsonpath) END;
            IF jsonb_typeof(r) IS DISTINCT FROM 'array' THEN
                RETURN '[]';
            END IF;
            SELECT coalesce(jsonb_agg(pgcall.dialect_fill(template -> '$to',
                                                          ctx || jsonb_build_object('item', e)) ORDER BY n), '[]')
              INTO result
              FROM jsonb_array_elements(r) WITH ORDINALITY AS a(e, n);
            RETURN result;
        END IF;
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
