-------------------------------------------------------------------------------
-- Bridges and presence
--
-- Each bridge registers and beats (pgcall.bridge), reports who has a socket
-- open (pgcall.presence), and sweeps participants whose last socket went
-- away.  Users follow the presence of others (presence_subscribe) as far as
-- pgcall.presence_visible allows.  The bridge_* functions are granted to
-- pgcall_bridge only.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.bridge (
    id        uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- silent past pgcall.presence_timeout, and its users announced offline
    lapsed    boolean NOT NULL DEFAULT false
);

ALTER TABLE pgcall.bridge ENABLE ROW LEVEL SECURITY;

CREATE POLICY bridge_admin_read ON pgcall.bridge FOR SELECT
    TO pgcall_admin USING (true);

GRANT SELECT ON pgcall.bridge TO pgcall_admin;

CREATE TABLE pgcall.presence (
    bridge_id   uuid NOT NULL REFERENCES pgcall.bridge (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    connections integer NOT NULL CHECK (connections > 0),
    since       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (user_id, bridge_id)
);

COMMENT ON TABLE pgcall.presence IS
'Who has a WebSocket open, per bridge.  Rows of a bridge whose heartbeat is older than pgcall.presence_timeout do not count.';

ALTER TABLE pgcall.presence ENABLE ROW LEVEL SECURITY;

CREATE POLICY presence_admin_read ON pgcall.presence FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

GRANT SELECT ON pgcall.presence TO pgcall_admin;

CREATE TABLE pgcall.presence_subscription (
    subscriber text NOT NULL,
    subject    text NOT NULL,
    PRIMARY KEY (subscriber, subject)
);

-- Who hears of a subject's presence: presence.changed fans out from here.
CREATE INDEX presence_subscription_subject_idx ON pgcall.presence_subscription (subject, subscriber);

COMMENT ON TABLE pgcall.presence_subscription IS
'Whose presence each user asked to follow (pgcall.presence_subscribe, at most 1000 each).  A subscriber hears of a subject only while pgcall.presence_visible(subscriber, subject) allows it.  Readable by no application role.';

ALTER TABLE pgcall.presence_subscription ENABLE ROW LEVEL SECURITY;

CREATE TABLE pgcall.participant_disconnect (
    call_id   uuid NOT NULL,
    user_id   text NOT NULL,
    since     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the participant's current_join then: joining again starts afresh
    joined_at timestamptz NOT NULL,
    announced boolean NOT NULL DEFAULT false,
    PRIMARY KEY (call_id, user_id),
    FOREIGN KEY (call_id, user_id) REFERENCES pgcall.participant (call_id, user_id) ON DELETE CASCADE
);

-- The user's rows when they come back (pgcall.participant_connection).
CREATE INDEX participant_disconnect_user_idx ON pgcall.participant_disconnect (user_id);

ALTER TABLE pgcall.participant_disconnect ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE pgcall.participant_disconnect IS
'Joined participants whose last socket went away (since): pgcall.participant_disconnect_sweep() announces them (participant.disconnected, announced) past pgcall.disconnect_grace and makes them leave past pgcall.disconnect_leave_after; their coming back deletes the row (participant.reconnected once announced).  Readable by no application role.';

CREATE FUNCTION pgcall.presence_cutoff()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'pgcall_presence_cutoff'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.presence_cutoff() IS
'now() minus pgcall.presence_timeout: bridges last heard from before this do not count.';

GRANT EXECUTE ON FUNCTION pgcall.presence_cutoff() TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.bridge_heartbeat(bridge_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    back boolean;
    u text;
BEGIN
    SELECT b.lapsed INTO back FROM pgcall.bridge b WHERE b.id = bridge_heartbeat.bridge_id FOR UPDATE;
    INSERT INTO pgcall.bridge AS b (id) VALUES (bridge_heartbeat.bridge_id)
        ON CONFLICT (id) DO UPDATE SET last_seen = now(), lapsed = false;
    -- A bridge heard from again after it lapsed: its users are back.
    IF back THEN
        PERFORM pgcall.presence_touch(p.user_id), pgcall.participant_connection(p.user_id)
           FROM pgcall.presence p WHERE p.bridge_id = bridge_heartbeat.bridge_id;
    END IF;
    -- Bridges that fell silent: their users are offline unless on another
    -- bridge.  Whichever live bridge gets here first announces it, once.
    FOR u IN
        WITH lapsed AS (
            UPDATE pgcall.bridge b SET lapsed = true
             WHERE NOT b.lapsed AND b.last_seen <= pgcall.presence_cutoff()
            RETURNING b.id
        )
        SELECT DISTINCT p.user_id FROM pgcall.presence p JOIN lapsed l ON l.id = p.bridge_id
    LOOP
        PERFORM pgcall.presence_touch(u);
        PERFORM pgcall.participant_connection(u);
    END LOOP;
    DELETE FROM pgcall.bridge
     WHERE last_seen < now() - 10 * (now() - pgcall.presence_cutoff());
END
$$;

COMMENT ON FUNCTION pgcall.bridge_heartbeat(uuid) IS
'A bridge says it is alive; the users of bridges silent for a presence timeout are announced offline (presence.changed), and bridges silent for ten are forgotten with their users.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_heartbeat(uuid) TO pgcall_bridge;

CREATE FUNCTION pgcall.presence_state(user_id text, OUT online boolean, OUT in_call boolean,
                                      OUT since timestamptz)
RETURNS record
LANGUAGE sql STABLE
AS $$
    SELECT pr.since IS NOT NULL,
           EXISTS (SELECT 1 FROM pgcall.participant p
                     JOIN pgcall.call c ON c.id = p.call_id
                    WHERE p.user_id = presence_state.user_id AND p.status = 'joined'
                      AND c.status <> 'ended'),
           pr.since
      FROM (SELECT min(p.since) AS since
              FROM pgcall.presence p
              JOIN pgcall.bridge b ON b.id = p.bridge_id
             WHERE p.user_id = presence_state.user_id
               AND b.last_seen > pgcall.presence_cutoff()) pr
$$;

COMMENT ON FUNCTION pgcall.presence_state(text) IS
'A user''s presence as it is: online (a socket open on a live bridge), in_call (joined to a live call) and since (when the user came online; null when offline).  Internal: no policy check.';

-- The presence policy.  Replace it (as the extension owner, a superuser) to
-- change who may see whom, e.g. everyone:
--   CREATE OR REPLACE FUNCTION pgcall.presence_visible(viewer text, subject text)
--   RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
-- It runs as the extension owner inside pgcall's own functions, with their
-- pinned search_path: schema-qualify every table it reads.
CREATE FUNCTION pgcall.presence_visible(viewer text, subject text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT presence_visible.viewer = presence_visible.subject
        -- a live call both are in, being rung or joined
        OR EXISTS (SELECT 1
                     FROM pgcall.participant a
                     JOIN pgcall.call c ON c.id = a.call_id
                     JOIN pgcall.participant b ON b.call_id = a.call_id
                    WHERE a.user_id = presence_visible.viewer
                      AND a.status IN ('invited', 'ringing', 'joined')
                      AND c.status <> 'ended'
                      AND b.user_id = presence_visible.subject
                      AND b.status IN ('invited', 'ringing', 'joined'))
        -- live calls of one room (chat room, conversation)
        OR EXISTS (SELECT 1
                     FROM pgcall.participant a
                     JOIN pgcall.call ca ON ca.id = a.call_id
                     JOIN pgcall.call cb ON cb.room_id = ca.room_id
                     JOIN pgcall.participant b ON b.call_id = cb.id
                    WHERE a.user_id = presence_visible.viewer
                      AND a.status IN ('invited', 'ringing', 'joined')
                      AND ca.status <> 'ended' AND ca.room_id IS NOT NULL
                      AND cb.status <> 'ended'
                      AND b.user_id = presence_visible.subject
                      AND b.status IN ('invited', 'ringing', 'joined'))
$$;

COMMENT ON FUNCTION pgcall.presence_visible(text, text) IS
'The presence policy: whether viewer may see subject''s presence.  By default only themselves and people they share a live call with (both invited, ringing or joined), or a room of live calls.  Replace it with CREATE OR REPLACE FUNCTION as the extension owner (docs/presence.md); run that again after restoring a dump.  Executable by no application role.';

CREATE FUNCTION pgcall.presence_unfiltered()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_presence_unfiltered'
LANGUAGE C STABLE;

COMMENT ON FUNCTION pgcall.presence_unfiltered() IS
'Whether the caller sees every user''s presence regardless of the policy: superusers and members of pgcall_backend or pgcall_admin.';

CREATE FUNCTION pgcall.presence_touch(subject text, call_id uuid DEFAULT NULL, state boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_presence_touch'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.presence_touch(text, uuid, boolean) IS
'Queue presence.changed about subject for this transaction''s commit: to every subscriber the policy allows when state (online, in_call) may have changed; with call_id, the people of that call whose view of subject (and subject''s of them) changed get it too, or {visible: false}.  Internal.';

CREATE FUNCTION pgcall.presence_subscribe_check(user_ids text[])
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_presence_subscribe_check'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.presence_subscribe_check(text[]) IS
'Raise P400Y unless user_ids is an array of at most 1000 elements, P400I for an element that is no valid user id; count a subscription against pgcall.rate_limit_presence (P429A).  Internal.';

CREATE FUNCTION pgcall.presence_fanout(subjects text[], call_ids uuid[], states boolean[])
RETURNS TABLE (recipients text[], data text)
LANGUAGE sql STABLE
AS $$
    WITH t AS (
        SELECT DISTINCT x.subject, x.call_id, x.state
          FROM unnest(presence_fanout.subjects, presence_fanout.call_ids, presence_fanout.states)
               AS x(subject, call_id, state)
    ), pairs AS (
        -- whose state may have changed: all their subscribers
        SELECT t.subject, s.subscriber AS viewer, false AS pair_changed
          FROM t JOIN pgcall.presence_subscription s ON s.subject = t.subject
         WHERE t.state
        UNION ALL
        -- who entered or left a call: its people who follow them ...
        -- (through the follows, bounded by them, never through the call's
        -- people, which a conference has thousands of)
        SELECT t.subject, s.subscriber, true
          FROM t JOIN pgcall.presence_subscription s ON s.subject = t.subject
         WHERE t.call_id IS NOT NULL AND s.subscriber <> t.subject
           AND EXISTS (SELECT 1 FROM pgcall.participant p
                        WHERE p.call_id = t.call_id AND p.user_id = s.subscriber)
        UNION ALL
        -- ... and they of its people they follow
        SELECT s.subject, t.subject, true
          FROM t JOIN pgcall.presence_subscription s ON s.subscriber = t.subject
         WHERE t.call_id IS NOT NULL AND s.subject <> t.subject
           AND EXISTS (SELECT 1 FROM pgcall.participant p
                        WHERE p.call_id = t.call_id AND p.user_id = s.subject)
    ), judged AS MATERIALIZED (  -- the policy once per pair, not again in the grouping
        SELECT subject, viewer, bool_or(pair_changed) AS pair_changed,
               pgcall.presence_visible(viewer, subject) AS visible
          FROM pairs
         GROUP BY subject, viewer
    )
    -- One event row per 64 recipients: a presence event is about no call,
    -- so resuming must find it by its recipients (event_recipients_idx),
    -- like every event addressed to few people.
    SELECT array_agg(c.viewer ORDER BY c.viewer),
           CASE WHEN c.visible
                THEN json_build_object('user_id', c.subject, 'visible', true, 'online', st.online,
                                       'in_call', st.in_call, 'since', st.since)
                ELSE json_build_object('user_id', c.subject, 'visible', false, 'online', false,
                                       'in_call', false, 'since', NULL)
           END::text
      FROM (SELECT j.subject, j.viewer, j.visible,
                   (row_number() OVER (PARTITION BY j.subject, j.visible ORDER BY j.viewer) - 1) / 64 AS chunk
              FROM judged j
             WHERE j.visible OR j.pair_changed) c
      CROSS JOIN LATERAL pgcall.presence_state(c.subject) st
     GROUP BY c.subject, c.visible, c.chunk, st.online, st.in_call, st.since
$$;

COMMENT ON FUNCTION pgcall.presence_fanout(text[], uuid[], boolean[]) IS
'The presence.changed events the presence_touch calls of a transaction make: their recipients (at most 64 per row) and data.  Internal: the commit runs it.';

CREATE FUNCTION pgcall.participant_connection(user_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_participant_connection'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION pgcall.participant_connection(text) IS
'A user''s sockets came or went: offline now (no socket on a live bridge), their joined participations in live calls are recorded as disconnected (pgcall.participant_disconnect); online, those records go, with participant.reconnected where participant.disconnected went out.  Internal: the bridge functions call it.';

CREATE FUNCTION pgcall.participant_disconnect_sweep()
RETURNS integer
AS 'MODULE_PATHNAME', 'pgcall_participant_disconnect_sweep'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.participant_disconnect_sweep() IS
'Act on participants whose last socket went away: participant.disconnected to the others once they stayed away pgcall.disconnect_grace, and past pgcall.disconnect_leave_after (unless 0) they leave with reason disconnected (a direct call then ends; a caller away while it rings cancels it).  Drops the records of those back online (participant.reconnected if announced) or no longer in the call.  Safe to run from several sessions at once; the bridge runs it every second.  Returns the number of participants acted on.';

GRANT EXECUTE ON FUNCTION pgcall.participant_disconnect_sweep() TO pgcall_bridge;

CREATE FUNCTION pgcall.bridge_presence(bridge_id uuid, user_id text, connections integer)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed boolean;
BEGIN
    INSERT INTO pgcall.bridge (id) VALUES (bridge_presence.bridge_id) ON CONFLICT DO NOTHING;
    -- Announce the user whenever their row on this bridge comes or goes:
    -- what they are then (online anywhere or not) is read at commit, under
    -- the event lock, so concurrent changes on several bridges end with the
    -- last word right.  (Comparing before and after here would read a
    -- snapshot other bridges' commits may overtake.)
    IF bridge_presence.connections <= 0 THEN
        DELETE FROM pgcall.presence p
         WHERE p.bridge_id = bridge_presence.bridge_id AND p.user_id = bridge_presence.user_id;
        changed := FOUND;
    ELSE
        INSERT INTO pgcall.presence AS p (bridge_id, user_id, connections)
            VALUES (bridge_presence.bridge_id, bridge_presence.user_id, bridge_presence.connections)
            ON CONFLICT ON CONSTRAINT presence_pkey DO UPDATE SET connections = EXCLUDED.connections
            RETURNING p.xmax = 0 INTO changed;
    END IF;
    IF changed THEN
        PERFORM pgcall.presence_touch(bridge_presence.user_id);
        PERFORM pgcall.participant_connection(bridge_presence.user_id);
    END IF;
END
$$;

COMMENT ON FUNCTION pgcall.bridge_presence(uuid, text, integer) IS
'A bridge reports how many sockets a user has open on it now (0: none).  Their first socket on it and their last one closing are announced (presence.changed, with what they are then across all bridges).';

GRANT EXECUTE ON FUNCTION pgcall.bridge_presence(uuid, text, integer) TO pgcall_bridge;

CREATE FUNCTION pgcall.bridge_unregister(bridge_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gone text[];
BEGIN
    WITH d AS (
        DELETE FROM pgcall.presence p WHERE p.bridge_id = bridge_unregister.bridge_id RETURNING p.user_id
    ) SELECT array_agg(d.user_id) INTO gone FROM d;
    DELETE FROM pgcall.bridge WHERE id = bridge_unregister.bridge_id;
    PERFORM pgcall.presence_touch(u.user_id), pgcall.participant_connection(u.user_id)
       FROM unnest(gone) AS u(user_id);
END
$$;

COMMENT ON FUNCTION pgcall.bridge_unregister(uuid) IS
'A bridge shutting down: its users are no longer online through it (and announced: presence.changed says whether they still are elsewhere).';

GRANT EXECUTE ON FUNCTION pgcall.bridge_unregister(uuid) TO pgcall_bridge;

CREATE FUNCTION pgcall.presence(user_ids text[])
RETURNS TABLE (user_id text, online boolean, since timestamptz, in_call boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.refuse_plain_ids('presence');
    -- Someone the policy hides reads as an unknown user who is offline.
    SELECT u.user_id, COALESCE(st.online, false), st.since, COALESCE(st.in_call, false)
      FROM (SELECT pgcall.presence_unfiltered() AS unfiltered OFFSET 0) who
      CROSS JOIN LATERAL (SELECT CASE WHEN NOT who.unfiltered THEN pgcall.require_user_id() END AS viewer
                          OFFSET 0) me
      CROSS JOIN unnest(presence.user_ids) AS u(user_id)
      LEFT JOIN LATERAL pgcall.presence_state(u.user_id) st
             ON who.unfiltered OR pgcall.presence_visible(me.viewer, u.user_id)
     WHERE cardinality(presence.user_ids) <= 1000
$$;

COMMENT ON FUNCTION pgcall.presence(text[]) IS
'Which of these users (at most 1000) have a socket open on a live bridge and since when, and which are in a live call, as far as pgcall.presence_visible lets you see them: anyone else reads as offline.  Backends and administrators see everyone.  Refused to administrators (P403G) while pgcall.pseudonymize is on.';

GRANT EXECUTE ON FUNCTION pgcall.presence(text[]) TO pgcall_user, pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.presence(text[]) TO pgcall_admin;

CREATE FUNCTION pgcall.presence_subscribe(user_ids text[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text;
BEGIN
    PERFORM pgcall.refuse_plain_ids('presence');
    me := pgcall.require_user_id();
    PERFORM pgcall.presence_subscribe_check(user_ids);
    -- Wait for the commits that computed presence events without this
    -- subscription, and keep later ones from computing theirs until it is
    -- committed (they take ROW EXCLUSIVE; events.c): what is read below
    -- has every event committed before it, and every later event sees the
    -- subscription.
    LOCK TABLE pgcall.presence_subscription IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM pgcall.presence_subscription s
     WHERE s.subscriber = me AND s.subject <> ALL (presence_subscribe.user_ids);
    INSERT INTO pgcall.presence_subscription (subscriber, subject)
        SELECT DISTINCT me, u FROM unnest(presence_subscribe.user_ids) AS u
        ON CONFLICT DO NOTHING;
    RETURN jsonb_build_object(
        'version', pgcall.bridge_event_horizon(),
        'presence', COALESCE((SELECT jsonb_agg(jsonb_build_object('user_id', p.user_id, 'online', p.online,
                                                                  'in_call', p.in_call, 'since', p.since)
                                               ORDER BY p.user_id)
                                FROM (SELECT DISTINCT * FROM pgcall.presence(presence_subscribe.user_ids)) p),
                             '[]'::jsonb));
END
$$;

COMMENT ON FUNCTION pgcall.presence_subscribe(text[]) IS
'Follow the presence of these users (at most 1000; they replace whom you followed before, an empty array follows nobody): returns {version, presence: [{user_id, online, in_call, since}]}, the snapshot as presence() shows it, then presence.changed events tell what changes, as the policy lets you see it.  Apply the events with an id above version; resume like every other event.  P400Y for more than 1000, P400I for a bad user id; counts against pgcall.rate_limit_presence (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.presence_subscribe(text[]) TO pgcall_user, pgcall_backend;
