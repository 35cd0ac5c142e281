-------------------------------------------------------------------------------
-- Webhooks
--
-- Tell an application's backend what happened, reliably, so it can act where
-- pgcall cannot (a VoIP push to a phone that is asleep).  An endpoint is a URL
-- with the event types it wants; its signing secret lives in pgcall.secret
-- as webhook:<id>.  At commit, the transaction that changed a call writes one
-- delivery per (event, endpoint) into the outbox webhook_delivery
-- (webhook.c), so a webhook goes out if and only if the change committed.
-- Bridges claim due deliveries (FOR UPDATE SKIP LOCKED, with a lease), POST
-- them signed, and report each attempt; failures retry with exponential
-- back-off and jitter until pgcall.webhook_max_attempts, then the delivery
-- is dead until replayed.  docs/webhooks.md has the receiver's side.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.webhook_event_types(OUT type text, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_webhook_event_types'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.webhook_event_types() IS
'The event types a webhook endpoint may ask for: call.ring_offline and call.ring_stopped (for VoIP pushes) and the call and participant events of pgcall.event_types() except call.signal and participant.media.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_event_types() TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_url_check(url text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_webhook_url_check'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.webhook_url_check(text) IS
'The URL, normalized, if a webhook may point at it; raises P400W otherwise (scheme, user name, fragment, loopback, private, link-local or metadata addresses unless pgcall.webhook_allow_private is on).  The bridge checks the resolved address again when it connects.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_url_check(text) TO pgcall_admin, pgcall_backend;

CREATE TABLE pgcall.webhook_endpoint (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url             text NOT NULL CHECK (pg_catalog.length(url) <= 2048),
    event_types     text[] CHECK (event_types IS NULL OR pg_catalog.cardinality(event_types) > 0),
    only_offline    boolean NOT NULL DEFAULT false,
    enabled         boolean NOT NULL DEFAULT true,
    max_concurrency integer NOT NULL DEFAULT 4 CHECK (max_concurrency BETWEEN 1 AND 100),
    description     text CHECK (pg_catalog.length(description) <= 500),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE pgcall.webhook_endpoint IS
'Where webhooks go: a URL, the event types wanted (NULL: all of pgcall.webhook_event_types()), only_offline (only recipients with no live socket), an on/off switch and how many deliveries may be in flight to it at once.  Manage it with the webhook_endpoint_* functions.';

ALTER TABLE pgcall.webhook_endpoint ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON pgcall.webhook_endpoint FROM PUBLIC;

CREATE TABLE pgcall.webhook_delivery (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     bigint NOT NULL REFERENCES pgcall.webhook_endpoint (id) ON DELETE CASCADE,
    delivery_id     uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    call_id         uuid,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    attempt_limit   integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    leased_by       uuid,
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    CHECK ((status = 'delivering') = (lease_until IS NOT NULL)),
    CHECK ((status IN ('delivered', 'dead')) = (finished_at IS NOT NULL))
)
-- Deliveries change state on every attempt: vacuum them early.
WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Due work: pending rows whose time came and delivering rows whose lease
-- ran out (a delivering row's next_attempt_at is its lease's end).
CREATE INDEX webhook_delivery_due_idx ON pgcall.webhook_delivery (endpoint_id, next_attempt_at)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_delivery_finished_idx ON pgcall.webhook_delivery (finished_at)
    WHERE finished_at IS NOT NULL;
CREATE INDEX webhook_delivery_call_idx ON pgcall.webhook_delivery (call_id);

COMMENT ON TABLE pgcall.webhook_delivery IS
'The webhook outbox: one row per event and endpoint, written in the transaction of the change.  delivery_id is the idempotency id (body.id and the Pgcall-Delivery header), the same on every attempt.  status: pending, delivering (leased by a bridge until lease_until), delivered or dead (attempt_limit reached; pgcall.webhook_replay() sends it again).';

ALTER TABLE pgcall.webhook_delivery ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON pgcall.webhook_delivery FROM PUBLIC;

CREATE TABLE pgcall.webhook_attempt (
    delivery_id bigint NOT NULL REFERENCES pgcall.webhook_delivery (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    bridge_id   uuid,
    at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    http_status integer,
    latency_ms  integer,
    error       text,
    PRIMARY KEY (delivery_id, attempt)
);

COMMENT ON TABLE pgcall.webhook_attempt IS
'The delivery log: one row per attempt with the HTTP status (NULL when none came back), the time from connecting to the answer and what went wrong.';

ALTER TABLE pgcall.webhook_attempt ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON pgcall.webhook_attempt FROM PUBLIC;

-- Users who were rung through call.ring_offline, until call.ring_stopped
-- says the ringing ended for them.
CREATE TABLE pgcall.webhook_offline_ring (
    call_id    uuid NOT NULL REFERENCES pgcall.call (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    rung_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    stopped_at timestamptz,
    PRIMARY KEY (call_id, user_id)
);

CREATE INDEX webhook_offline_ring_open_idx ON pgcall.webhook_offline_ring (call_id)
    WHERE stopped_at IS NULL;

COMMENT ON TABLE pgcall.webhook_offline_ring IS
'Who was rung through call.ring_offline, until call.ring_stopped said their ringing ended.';

ALTER TABLE pgcall.webhook_offline_ring ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON pgcall.webhook_offline_ring FROM PUBLIC;

-- The signature of body for endpoint_id at unix time t: "t=<t>,v1=<hex
-- HMAC-SHA256 of '<t>.<body>'>".  Executable by its owner only (it would
-- sign anything): the bridge gets signatures from bridge_webhook_claim.
CREATE FUNCTION pgcall.webhook_sign(endpoint_id bigint, t bigint, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_webhook_sign'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.webhook_sign(bigint, bigint, text) IS
'The Pgcall-Signature value of body at unix time t for the endpoint: t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">.  Executable by its owner only.';

CREATE FUNCTION pgcall.webhook_has_secret(endpoint_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_webhook_has_secret'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.webhook_has_secret(bigint) IS
'Whether the endpoint has a signing secret; reveals nothing about it.';

-- A new random signing secret for the endpoint, stored in pgcall.secret
-- and returned once.  Owner only, like webhook_sign.
CREATE FUNCTION pgcall.webhook_new_secret(endpoint_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_webhook_new_secret'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION pgcall.webhook_new_secret(bigint) IS
'Store a new random signing secret for the endpoint and return it.  Executable by its owner only.';

CREATE FUNCTION pgcall.webhook_check_types(event_types text[])
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
BEGIN
    IF event_types IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(coalesce(quote_literal(t), 'NULL'), ', ') INTO bad
      FROM unnest(event_types) AS t
     WHERE t IS NULL OR t NOT IN (SELECT w.type FROM pgcall.webhook_event_types() w);
    IF bad IS NOT NULL OR cardinality(event_types) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400X',
            MESSAGE = CASE WHEN bad IS NULL THEN 'event_types must not be empty'
                           ELSE format('unknown webhook event type %s', bad) END,
            HINT = 'Pass NULL for every type, or names from pgcall.webhook_event_types().';
    END IF;
    RETURN ARRAY(SELECT DISTINCT t FROM unnest(event_types) AS t ORDER BY t);
END
$$;

COMMENT ON FUNCTION pgcall.webhook_check_types(text[]) IS
'event_types sorted and without duplicates, or P400X naming the ones that are not webhook event types.';

CREATE FUNCTION pgcall.webhook_endpoint_json(e pgcall.webhook_endpoint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('id', e.id, 'url', e.url, 'event_types', to_jsonb(e.event_types),
                              'only_offline', e.only_offline, 'enabled', e.enabled,
                              'max_concurrency', e.max_concurrency, 'description', e.description,
                              'created_at', e.created_at, 'updated_at', e.updated_at)
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoint_json(pgcall.webhook_endpoint) IS
'An endpoint as the webhook_endpoint_* functions return it, without its secret.';

CREATE FUNCTION pgcall.webhook_endpoint_create(url text, event_types text[] DEFAULT NULL,
                                               only_offline boolean DEFAULT false,
                                               max_concurrency integer DEFAULT 4,
                                               description text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e pgcall.webhook_endpoint;
BEGIN
    IF max_concurrency IS NULL OR max_concurrency NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400X', MESSAGE = 'max_concurrency must be between 1 and 100',
            DETAIL = format('The value given is %s.', coalesce(max_concurrency::text, 'NULL'));
    END IF;
    IF length(description) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400X', MESSAGE = 'description must be at most 500 characters';
    END IF;
    INSERT INTO pgcall.webhook_endpoint AS w (url, event_types, only_offline, max_concurrency, description)
    VALUES (pgcall.webhook_url_check(webhook_endpoint_create.url),
            pgcall.webhook_check_types(webhook_endpoint_create.event_types),
            coalesce(webhook_endpoint_create.only_offline, false),
            webhook_endpoint_create.max_concurrency, webhook_endpoint_create.description)
    RETURNING * INTO e;
    RETURN pgcall.webhook_endpoint_json(e)
        || jsonb_build_object('secret', pgcall.webhook_new_secret(e.id));
END
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoint_create(text, text[], boolean, integer, text) IS
'Register a webhook endpoint.  Returns it with its signing secret (whsec_...), shown this once: keep it in the receiver, which checks the Pgcall-Signature header with it.  event_types NULL means all; only_offline sends an event only to recipients with no live socket (and omits it when none is left).  P400W: a URL that may not be used; P400X: bad types or limits.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_endpoint_create(text, text[], boolean, integer, text) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_endpoint_update(id bigint, url text DEFAULT NULL,
                                               event_types text[] DEFAULT NULL,
                                               only_offline boolean DEFAULT NULL,
                                               enabled boolean DEFAULT NULL,
                                               max_concurrency integer DEFAULT NULL,
                                               description text DEFAULT NULL,
                                               all_event_types boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e pgcall.webhook_endpoint;
BEGIN
    IF max_concurrency IS NOT NULL AND max_concurrency NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400X', MESSAGE = 'max_concurrency must be between 1 and 100',
            DETAIL = format('The value given is %s.', max_concurrency);
    END IF;
    IF length(description) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400X', MESSAGE = 'description must be at most 500 characters';
    END IF;
    UPDATE pgcall.webhook_endpoint w
       SET url = coalesce(pgcall.webhook_url_check(webhook_endpoint_update.url), w.url),
           event_types = CASE WHEN webhook_endpoint_update.all_event_types THEN NULL
                              ELSE coalesce(pgcall.webhook_check_types(webhook_endpoint_update.event_types),
                                            w.event_types) END,
           only_offline = coalesce(webhook_endpoint_update.only_offline, w.only_offline),
           enabled = coalesce(webhook_endpoint_update.enabled, w.enabled),
           max_concurrency = coalesce(webhook_endpoint_update.max_concurrency, w.max_concurrency),
           description = coalesce(webhook_endpoint_update.description, w.description),
           updated_at = now()
     WHERE w.id = webhook_endpoint_update.id
    RETURNING * INTO e;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P404C',
            MESSAGE = format('webhook endpoint %s not found', coalesce(id::text, 'NULL')),
            HINT = 'pgcall.webhook_endpoints() lists them.';
    END IF;
    RETURN pgcall.webhook_endpoint_json(e);
END
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoint_update(bigint, text, text[], boolean, boolean, integer, text, boolean) IS
'Change an endpoint: only the arguments given change (all_event_types => true goes back to every type).  enabled => false stops deliveries to it; they wait, and go out when it is enabled again.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_endpoint_update(bigint, text, text[], boolean, boolean, integer, text, boolean) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_endpoint_rotate_secret(id bigint)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM FROM pgcall.webhook_endpoint w WHERE w.id = webhook_endpoint_rotate_secret.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P404C',
            MESSAGE = format('webhook endpoint %s not found', coalesce(id::text, 'NULL')),
            HINT = 'pgcall.webhook_endpoints() lists them.';
    END IF;
    RETURN pgcall.webhook_new_secret(webhook_endpoint_rotate_secret.id);
END
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoint_rotate_secret(bigint) IS
'Give the endpoint a new signing secret and return it, once.  Deliveries signed from the next attempt on use it.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_endpoint_rotate_secret(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_endpoint_delete(id bigint)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM pgcall.secret s WHERE s.name = 'webhook:' || webhook_endpoint_delete.id;
    WITH d AS (DELETE FROM pgcall.webhook_endpoint w WHERE w.id = webhook_endpoint_delete.id RETURNING 1)
    SELECT count(*) > 0 FROM d;
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoint_delete(bigint) IS
'Delete an endpoint, its secret and its deliveries (a delivery in flight may still arrive once).  Returns whether it existed.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_endpoint_delete(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_endpoints()
RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.webhook_endpoint_json(e) || jsonb_build_object(
               'pending', (SELECT count(*) FROM pgcall.webhook_delivery d
                            WHERE d.endpoint_id = e.id AND d.status IN ('pending', 'delivering')),
               'dead', (SELECT count(*) FROM pgcall.webhook_delivery d
                         WHERE d.endpoint_id = e.id AND d.status = 'dead'),
               'secret_set', pgcall.webhook_has_secret(e.id))
      FROM pgcall.webhook_endpoint e ORDER BY e.id
$$;

COMMENT ON FUNCTION pgcall.webhook_endpoints() IS
'Every webhook endpoint with its deliveries waiting and dead; never a secret.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_endpoints() TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_deliveries(endpoint_id bigint DEFAULT NULL, status text DEFAULT NULL,
                                          "limit" integer DEFAULT 100)
RETURNS TABLE (id bigint, endpoint_id bigint, delivery_id uuid, event_type text, call_id uuid,
               status text, attempts integer, next_attempt_at timestamptz, last_status integer,
               last_error text, created_at timestamptz, finished_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF webhook_deliveries.status IS NOT NULL
       AND webhook_deliveries.status NOT IN ('pending', 'delivering', 'delivered', 'dead') THEN
        RAISE EXCEPTION USING ERRCODE = 'P400M',
            MESSAGE = format('unknown delivery status %L', webhook_deliveries.status),
            HINT = 'Statuses are pending, delivering, delivered and dead.';
    END IF;
    IF webhook_deliveries."limit" IS NULL OR webhook_deliveries."limit" NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'P400P', MESSAGE = 'limit must be between 1 and 10000';
    END IF;
    RETURN QUERY
    SELECT d.id, d.endpoint_id, d.delivery_id, d.event_type, d.call_id, d.status, d.attempts,
           d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.finished_at
      FROM pgcall.webhook_delivery d
     WHERE (webhook_deliveries.endpoint_id IS NULL OR d.endpoint_id = webhook_deliveries.endpoint_id)
       AND (webhook_deliveries.status IS NULL OR d.status = webhook_deliveries.status)
     ORDER BY d.id DESC
     LIMIT webhook_deliveries."limit";
END
$$;

COMMENT ON FUNCTION pgcall.webhook_deliveries(bigint, text, integer) IS
'Deliveries, newest first, optionally of one endpoint and status (pending, delivering, delivered, dead).';

GRANT EXECUTE ON FUNCTION pgcall.webhook_deliveries(bigint, text, integer) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_attempts(delivery bigint)
RETURNS TABLE (attempt integer, bridge_id uuid, at timestamptz, http_status integer,
               latency_ms integer, error text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.attempt, a.bridge_id, a.at, a.http_status, a.latency_ms, a.error
      FROM pgcall.webhook_attempt a WHERE a.delivery_id = webhook_attempts.delivery
     ORDER BY a.attempt
$$;

COMMENT ON FUNCTION pgcall.webhook_attempts(bigint) IS
'The delivery log of one delivery: each attempt''s bridge, time, HTTP status, latency and error.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_attempts(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_body(delivery bigint)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.body::jsonb FROM pgcall.webhook_delivery d WHERE d.id = webhook_body.delivery
$$;

COMMENT ON FUNCTION pgcall.webhook_body(bigint) IS
'The JSON body a delivery sends (the same on every attempt).';

GRANT EXECUTE ON FUNCTION pgcall.webhook_body(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_replay(delivery bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text;
BEGIN
    SELECT d.status INTO st FROM pgcall.webhook_delivery d WHERE d.id = webhook_replay.delivery FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P404D',
            MESSAGE = format('webhook delivery %s not found', coalesce(delivery::text, 'NULL'));
    END IF;
    IF st = 'delivering' THEN
        RAISE EXCEPTION USING ERRCODE = 'P409F',
            MESSAGE = format('webhook delivery %s is being delivered', delivery),
            HINT = 'Replay it once this attempt is over.';
    END IF;
    UPDATE pgcall.webhook_delivery d
       SET status = 'pending', next_attempt_at = now(), finished_at = NULL,
           attempt_limit = d.attempts + coalesce(current_setting('pgcall.webhook_max_attempts', true), '12')::integer
     WHERE d.id = webhook_replay.delivery;
    RETURN true;
END
$$;

COMMENT ON FUNCTION pgcall.webhook_replay(bigint) IS
'Send a delivered or dead delivery again (or a pending one now), with the same delivery id, and pgcall.webhook_max_attempts more attempts.  P409F while an attempt is in flight.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_replay(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_replay_dead(endpoint_id bigint)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (
        UPDATE pgcall.webhook_delivery d
           SET status = 'pending', next_attempt_at = now(), finished_at = NULL,
               attempt_limit = d.attempts + coalesce(current_setting('pgcall.webhook_max_attempts', true), '12')::integer
         WHERE d.endpoint_id = webhook_replay_dead.endpoint_id AND d.status = 'dead'
        RETURNING 1)
    SELECT count(*)::integer FROM u
$$;

COMMENT ON FUNCTION pgcall.webhook_replay_dead(bigint) IS
'Replay every dead delivery of an endpoint (after fixing the receiver); returns how many.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_replay_dead(bigint) TO pgcall_admin, pgcall_backend;

CREATE FUNCTION pgcall.webhook_purge(endpoint_id bigint DEFAULT NULL, status text DEFAULT 'delivered',
                                     older_than interval DEFAULT '0')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF webhook_purge.status IS NULL OR webhook_purge.status NOT IN ('pending', 'delivered', 'dead') THEN
        RAISE EXCEPTION USING ERRCODE = 'P400M',
            MESSAGE = format('cannot purge deliveries with status %s',
                             coalesce(quote_literal(webhook_purge.status), 'NULL')),
            HINT = 'Purge pending, delivered or dead deliveries; one being delivered finishes first.';
    END IF;
    WITH d AS (DELETE FROM pgcall.webhook_delivery d
                WHERE d.status = webhook_purge.status
                  AND (webhook_purge.endpoint_id IS NULL OR d.endpoint_id = webhook_purge.endpoint_id)
                  AND d.created_at <= clock_timestamp() - coalesce(webhook_purge.older_than, '0')
               RETURNING 1)
    SELECT count(*) INTO n FROM d;
    RETURN n;
END
$$;

COMMENT ON FUNCTION pgcall.webhook_purge(bigint, text, interval) IS
'Delete deliveries (and their logs) of one status, optionally of one endpoint and older than some age; returns how many.  Purging pending ones drops webhooks that were never sent.  pgcall.purge() deletes delivered and dead ones after pgcall.webhook_retention on its own.';

GRANT EXECUTE ON FUNCTION pgcall.webhook_purge(bigint, text, interval) TO pgcall_admin, pgcall_backend;

-- Called at commit by webhook.c, as the owner of webhook_delivery, with the
-- events the transaction queued: [{"t": type, "c": call id, "r": [recipients]}].
CREATE FUNCTION pgcall.webhook_enqueue(events jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_attempts integer := coalesce(current_setting('pgcall.webhook_max_attempts', true), '12')::integer;
    at timestamptz := clock_timestamp();
    cutoff timestamptz := pgcall.presence_cutoff();
BEGIN
    IF NOT EXISTS (SELECT FROM pgcall.webhook_endpoint WHERE enabled) THEN
        RETURN;
    END IF;

    WITH ev AS (
        SELECT e.ord, e.v->>'t' AS type, (e.v->>'c')::uuid AS call_id,
               ARRAY(SELECT jsonb_array_elements_text(e.v->'r')) AS recipients
          FROM jsonb_array_elements(events) WITH ORDINALITY AS e(v, ord)),
    -- an incoming call to someone with no live socket: ring them by push
    offline AS (
        SELECT DISTINCT ON (ev.call_id, r.user_id) ev.ord, ev.call_id, r.user_id
          FROM ev, unnest(ev.recipients) AS r(user_id)
         WHERE ev.type = 'call.incoming'
           AND NOT EXISTS (SELECT FROM pgcall.presence p JOIN pgcall.bridge b ON b.id = p.bridge_id
                            WHERE p.user_id = r.user_id AND b.last_seen > cutoff)
         ORDER BY ev.call_id, r.user_id, ev.ord),
    rung AS (
        INSERT INTO pgcall.webhook_offline_ring AS w (call_id, user_id)
        SELECT o.call_id, o.user_id FROM offline o
        ON CONFLICT (call_id, user_id) DO UPDATE SET rung_at = now(), stopped_at = NULL
        RETURNING w.call_id, w.user_id),
    -- those rung by push whose ringing ended in this transaction
    stopped AS (
        UPDATE pgcall.webhook_offline_ring w
           SET stopped_at = now()
          FROM pgcall.call c
         WHERE w.stopped_at IS NULL
           AND w.call_id IN (SELECT ev.call_id FROM ev WHERE ev.call_id IS NOT NULL)
           AND c.id = w.call_id
           AND (c.status = 'ended'
                OR NOT EXISTS (SELECT FROM pgcall.participant q
                                WHERE q.call_id = w.call_id AND q.user_id = w.user_id
                                  AND q.status IN ('invited', 'ringing')))
        RETURNING w.call_id, w.user_id, c.status AS call_status, c.end_reason,
                  (SELECT q.status FROM pgcall.participant q
                    WHERE q.call_id = w.call_id AND q.user_id = w.user_id) AS participant_status),
    allev AS (
        SELECT ev.ord, ev.type, ev.call_id, ev.recipients, NULL::text AS callee, NULL::text AS reason
          FROM ev
        UNION ALL
        SELECT o.ord, 'call.ring_offline', o.call_id, ARRAY[o.user_id], o.user_id, NULL
          FROM offline o JOIN rung USING (call_id, user_id)
        UNION ALL
        SELECT 1000000000, 'call.ring_stopped', s.call_id, ARRAY[s.user_id], s.user_id,
               CASE WHEN s.participant_status = 'joined' THEN 'answered'
                    WHEN s.participant_status = 'declined' THEN 'declined'
                    WHEN s.call_status = 'ended' AND s.end_reason = 'cancelled' THEN 'cancelled'
                    WHEN s.participant_status IN ('missed', 'busy', 'removed', 'left')
                        THEN s.participant_status
                    WHEN s.call_status = 'ended' THEN 'ended'
                    ELSE 'stopped' END
          FROM stopped s),
    x AS (
        SELECT gen_random_uuid() AS uid, e.id AS endpoint_id, a.ord, a.type, a.call_id,
               a.callee, a.reason,
               CASE WHEN e.only_offline AND a.type NOT IN ('call.ring_offline', 'call.ring_stopped')
                    THEN ARRAY(SELECT r FROM unnest(a.recipients) AS r
                                WHERE NOT EXISTS (SELECT FROM pgcall.presence p
                                                    JOIN pgcall.bridge b ON b.id = p.bridge_id
                                                   WHERE p.user_id = r AND b.last_seen > cutoff))
                    ELSE a.recipients END AS recipients
          FROM allev a
          JOIN pgcall.webhook_endpoint e
            ON e.enabled AND (e.event_types IS NULL OR a.type = ANY (e.event_types))
         WHERE a.type IN (SELECT w.type FROM pgcall.webhook_event_types() w))
    INSERT INTO pgcall.webhook_delivery (endpoint_id, delivery_id, event_type, call_id, body,
                                         attempt_limit, next_attempt_at, created_at)
    SELECT x.endpoint_id, x.uid, x.type, x.call_id,
           (jsonb_build_object(
               'id', x.uid, 'type', x.type, 'created_at', at,
               'recipients', to_jsonb(x.recipients),
               'call', CASE WHEN c.id IS NULL THEN NULL ELSE jsonb_build_object(
                   'id', c.id, 'kind', c.kind, 'media', c.media, 'status', c.status,
                   'end_reason', c.end_reason, 'created_by', c.created_by,
                   'created_at', c.created_at, 'ring_deadline', c.ring_deadline,
                   'answered_by', c.answered_by, 'title', c.title) END,
               'caller', CASE WHEN c.id IS NULL THEN NULL ELSE jsonb_build_object(
                   'user_id', c.created_by, 'display_name', up.display_name,
                   'avatar_url', up.avatar_url) END)
            || CASE WHEN x.callee IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
                   'callee', jsonb_build_object('user_id', x.callee, 'status', p.status,
                                                'ring_deadline', p.ring_deadline)) END
            || CASE WHEN x.reason IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', x.reason) END
           )::text,
           max_attempts, at, at
      FROM x
      LEFT JOIN pgcall.call c ON c.id = x.call_id
      LEFT JOIN pgcall.user_profile up ON up.user_id = c.created_by
      LEFT JOIN pgcall.participant p ON p.call_id = x.call_id AND p.user_id = x.callee
     WHERE cardinality(x.recipients) > 0
     ORDER BY x.ord, x.endpoint_id;
END
$$;

COMMENT ON FUNCTION pgcall.webhook_enqueue(jsonb) IS
'Called at commit (extension/webhook.c) with the transaction''s events: writes their deliveries, call.ring_offline for callees with no live socket and call.ring_stopped for those whose ringing ended.  Executable by its owner only.';

-- The bridge's side.  Both functions commit without waiting for the WAL
-- flush: a claim or report lost in a crash only makes a delivery go out
-- again, which at-least-once allows.  Claim: due deliveries of enabled endpoints, at most
-- max in all and each endpoint's max_concurrency in flight across bridges
-- (its row is locked while counting, so two bridges claiming at once do not
-- both fill it; FOR NO KEY UPDATE, which the key-share locks of the foreign
-- key checks of commits writing deliveries do not wait for, nor it for them); each leased to this bridge for twice the timeout plus a
-- second, after which another bridge may take it over.
CREATE FUNCTION pgcall.bridge_webhook_claim(bridge_id uuid, max integer)
RETURNS TABLE (id bigint, attempt integer, url text, delivery_id uuid, event_type text,
               body text, signature text, timeout_ms integer, response_max integer,
               allow_private boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- losing a claim or a report in a crash only sends a delivery again
SET synchronous_commit = off
AS $$
#variable_conflict use_column
DECLARE
    ep record;
    budget integer := least(greatest(max, 0), 1000);
    n integer;
    timeout integer := (extract(epoch FROM coalesce(current_setting('pgcall.webhook_timeout', true), '10s')::interval) * 1000)::integer;
    lease interval := make_interval(secs => (2 * timeout + 1000) / 1000.0);
    rmax integer := coalesce(current_setting('pgcall.webhook_response_max', true), '65536')::integer;
    private boolean := coalesce(current_setting('pgcall.webhook_allow_private', true), 'off')::boolean;
    t bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
BEGIN
    -- Leases that ran out on the last allowed attempt: dead.
    WITH x AS (
        UPDATE pgcall.webhook_delivery d
           SET status = 'dead', lease_until = NULL, leased_by = NULL, finished_at = now(),
               last_error = 'no report from the bridge before its lease ran out'
         WHERE d.status = 'delivering' AND d.next_attempt_at <= now() AND d.attempts >= d.attempt_limit
        RETURNING d.id, d.attempts, d.leased_by)
    INSERT INTO pgcall.webhook_attempt (delivery_id, attempt, bridge_id, error)
    SELECT x.id, x.attempts, x.leased_by, 'no report from the bridge before its lease ran out' FROM x
    ON CONFLICT DO NOTHING;

    FOR ep IN
        SELECT e.id, e.url, e.max_concurrency
          FROM pgcall.webhook_endpoint e
         WHERE e.enabled
           AND EXISTS (SELECT FROM pgcall.webhook_delivery d
                        WHERE d.endpoint_id = e.id AND d.status IN ('pending', 'delivering')
                          AND d.next_attempt_at <= now())
         ORDER BY e.id
           FOR NO KEY UPDATE OF e SKIP LOCKED
    LOOP
        EXIT WHEN budget <= 0;
        SELECT ep.max_concurrency - count(*) INTO n
          FROM pgcall.webhook_delivery d
         WHERE d.endpoint_id = ep.id AND d.status = 'delivering' AND d.next_attempt_at > now();
        n := least(n, budget);
        CONTINUE WHEN n <= 0;
        RETURN QUERY
        WITH c AS (
            SELECT d.id, d.status AS old_status, d.leased_by AS old_bridge, d.attempts AS old_attempts
              FROM pgcall.webhook_delivery d
             WHERE d.endpoint_id = ep.id AND d.status IN ('pending', 'delivering')
               AND d.next_attempt_at <= now()
             ORDER BY d.next_attempt_at, d.id
             LIMIT n
               FOR UPDATE SKIP LOCKED),
        lost AS (
            INSERT INTO pgcall.webhook_attempt (delivery_id, attempt, bridge_id, error)
            SELECT c.id, c.old_attempts, c.old_bridge, 'no report from the bridge before its lease ran out'
              FROM c WHERE c.old_status = 'delivering'
            ON CONFLICT DO NOTHING),
        u AS (
            UPDATE pgcall.webhook_delivery d
               SET status = 'delivering', attempts = d.attempts + 1,
                   leased_by = bridge_webhook_claim.bridge_id,
                   lease_until = now() + lease, next_attempt_at = now() + lease
              FROM c WHERE d.id = c.id
            RETURNING d.id, d.attempts, d.delivery_id, d.event_type, d.body, d.endpoint_id)
        SELECT u.id, u.attempts, ep.url, u.delivery_id, u.event_type, u.body,
               pgcall.webhook_sign(u.endpoint_id, t, u.body), timeout, rmax, private
          FROM u ORDER BY u.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        budget := budget - n;
    END LOOP;
END
$$;

COMMENT ON FUNCTION pgcall.bridge_webhook_claim(uuid, integer) IS
'A bridge takes up to max due webhook deliveries, each signed for now and leased to it.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_webhook_claim(uuid, integer) TO pgcall_bridge;

CREATE FUNCTION pgcall.bridge_webhooks_enabled()
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM pgcall.webhook_endpoint WHERE enabled)
$$;

COMMENT ON FUNCTION pgcall.bridge_webhooks_enabled() IS
'Whether any webhook endpoint is enabled: a bridge claims on every commit notification only then (otherwise on its poll).';

GRANT EXECUTE ON FUNCTION pgcall.bridge_webhooks_enabled() TO pgcall_bridge;

-- Report: results is [{id, attempt, status, latency_ms, error}]; a report
-- for an attempt this bridge no longer holds (its lease ran out and another
-- bridge took the delivery) is dropped.  Returns how many were applied.
CREATE FUNCTION pgcall.bridge_webhook_report(bridge_id uuid, results jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- losing a claim or a report in a crash only sends a delivery again
SET synchronous_commit = off
AS $$
DECLARE
    base double precision := extract(epoch FROM coalesce(current_setting('pgcall.webhook_backoff_base', true), '1s')::interval);
    cap double precision := extract(epoch FROM coalesce(current_setting('pgcall.webhook_backoff_max', true), '1h')::interval);
    n integer;
BEGIN
    WITH r AS (
        SELECT x.* FROM jsonb_to_recordset(results)
                        AS x(id bigint, attempt integer, status integer, latency_ms integer, error text)),
    d AS (
        SELECT d.id, r.attempt, r.status, r.latency_ms, left(r.error, 500) AS error,
               r.status BETWEEN 200 AND 299 AS ok, d.attempts >= d.attempt_limit AS last
          FROM pgcall.webhook_delivery d JOIN r ON r.id = d.id AND r.attempt = d.attempts
         WHERE d.status = 'delivering' AND d.leased_by = bridge_webhook_report.bridge_id
           FOR UPDATE OF d),
    log AS (
        INSERT INTO pgcall.webhook_attempt (delivery_id, attempt, bridge_id, http_status, latency_ms, error)
        SELECT d.id, d.attempt, bridge_webhook_report.bridge_id, d.status, d.latency_ms, d.error FROM d
        ON CONFLICT DO NOTHING),
    u AS (
        UPDATE pgcall.webhook_delivery w
           SET status = CASE WHEN d.ok THEN 'delivered' WHEN d.last THEN 'dead' ELSE 'pending' END,
               leased_by = NULL, lease_until = NULL,
               last_status = d.status, last_error = d.error,
               finished_at = CASE WHEN d.ok OR d.last THEN now() END,
               -- exponential back-off with "equal jitter": half fixed, half random
               next_attempt_at = now() + make_interval(secs =>
                   least(cap, base * 2 ^ least(d.attempt - 1, 30)) * (0.5 + 0.5 * random()))
          FROM d WHERE w.id = d.id
        RETURNING 1)
    SELECT count(*) INTO n FROM u;
    RETURN n;
END
$$;

COMMENT ON FUNCTION pgcall.bridge_webhook_report(uuid, jsonb) IS
'A bridge reports attempts: 2xx delivers, anything else retries after pgcall.webhook_backoff_base * 2^(attempt-1) (at most webhook_backoff_max), half of it random, until pgcall.webhook_max_attempts makes the delivery dead.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_webhook_report(uuid, jsonb) TO pgcall_bridge;
