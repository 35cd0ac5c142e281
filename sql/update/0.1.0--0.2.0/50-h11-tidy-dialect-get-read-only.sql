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
