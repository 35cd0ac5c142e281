-------------------------------------------------------------------------------
-- Rate limits and retention
--
-- One row per user, action and scope: the start of the current window and
-- the requests (or amount) counted in it (ratelimit.c).  Limits are the
-- settings pgcall.rate_limit_calls and rate_limit_invites (people invited
-- with call_invite) per hour; rate_limit_joins, rate_limit_tokens,
-- rate_limit_analytics, rate_limit_media (call_set_media) per minute; and,
-- per user and call (scope is the call's id), rate_limit_signals and
-- rate_limit_signal_bytes per minute.  0 turns one off.  A request over a
-- limit fails with P429A (HTTP 429) saying when to retry.  purge() deletes
-- the rows whose window closed, with old calls and events.
-------------------------------------------------------------------------------

-- Unlogged: counting writes no WAL, and a crash, which empties the table,
-- only gives everyone a fresh window.
CREATE UNLOGGED TABLE pgcall.rate_limit (
    user_id        text NOT NULL,
    action         text NOT NULL CHECK (action IN ('call', 'join', 'token', 'analytics', 'invite',
                                                   'media', 'signal', 'signal_bytes', 'presence')),
    scope          text NOT NULL DEFAULT '',
    window_seconds integer NOT NULL CHECK (window_seconds > 0),
    window_start   timestamptz NOT NULL,
    hits           integer NOT NULL CHECK (hits > 0),
    PRIMARY KEY (user_id, action, scope)
);

COMMENT ON TABLE pgcall.rate_limit IS
'Requests each user made in the current window of each rate limit.  Written only by pgcall functions.  Unlogged: emptied by a crash, not replicated.';

ALTER TABLE pgcall.rate_limit ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION pgcall.purge(max_rows integer DEFAULT 10000)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_purge'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.purge(integer) IS
'Delete up to max_rows events older than pgcall.event_retention, up to max_rows calls ended more than pgcall.history_retention days ago and more than a day beyond pgcall.event_retention (their events are resumed through their participants; 0 keeps them; their participants and sessions go with them), up to max_rows rate-limit windows that closed and up to max_rows webhook deliveries finished more than pgcall.webhook_retention ago.  Returns {events_deleted, calls_deleted, rate_limits_deleted, webhooks_deleted, more}: call it again while more is true, one transaction each, or CALL pgcall.purge_batches().';

GRANT EXECUTE ON FUNCTION pgcall.purge(integer) TO pgcall_bridge, pgcall_admin;

CREATE PROCEDURE pgcall.purge_batches(max_rows integer DEFAULT 10000, max_batches integer DEFAULT 1000)
LANGUAGE plpgsql
AS $$
-- No SET clause and no SECURITY DEFINER: either would forbid the COMMITs.
DECLARE
    r jsonb;
BEGIN
    FOR i IN 1 .. max_batches LOOP
        r := pgcall.purge(max_rows);
        COMMIT;
        EXIT WHEN NOT (r OPERATOR(pg_catalog.->>) 'more')::boolean;
    END LOOP;
END
$$;

COMMENT ON PROCEDURE pgcall.purge_batches(integer, integer) IS
'Run pgcall.purge(max_rows) until nothing is left to purge (at most max_batches times), committing after each batch so no lock is held for long: what pg_cron schedules, e.g. SELECT cron.schedule(''pgcall-purge'', ''*/10 * * * *'', ''CALL pgcall.purge_batches()'').  Call it outside a transaction block.';

GRANT EXECUTE ON PROCEDURE pgcall.purge_batches(integer, integer) TO pgcall_bridge, pgcall_admin;
