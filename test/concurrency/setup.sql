-- Concurrency test: helpers (test-only, not part of pgcall).
--
-- conc_action(actor, kind) performs one random user action on a call that
-- involves the actor, as one transaction.  Races between clients make some
-- actions invalid by the time they run; those pgcall refusals (SQLSTATE
-- class P4: 403/404/409) are expected and counted, anything else is raised
-- and aborts the pgbench client, failing the run.

CREATE TABLE conc_outcome (kind text, outcome text, n bigint NOT NULL DEFAULT 0, PRIMARY KEY (kind, outcome));
CREATE TABLE seen (id bigint PRIMARY KEY);
CREATE TABLE conc_done (done boolean NOT NULL);
-- Everyone follows everyone's presence; the default policy decides who
-- hears what, as calls start and end.
INSERT INTO pgcall.presence_subscription (subscriber, subject)
    SELECT 'u' || a, 'u' || b FROM generate_series(1, 20) a, generate_series(1, 20) b;
SELECT pgcall.bridge_heartbeat('00000000-0000-4000-8000-0000000000b1');
SELECT pgcall.bridge_heartbeat('00000000-0000-4000-8000-0000000000b2');
INSERT INTO conc_done VALUES (false);

CREATE FUNCTION conc_action(actor integer, action integer, other integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me text := 'u' || actor;
    them text := 'u' || other;
    target uuid;
    what text;
BEGIN
    PERFORM set_config('pgcall.user_id', me, true);
    CASE action
    WHEN 0, 1 THEN
        what := 'start';
        IF me <> them THEN
            PERFORM pgcall.call_start(ARRAY[them], CASE WHEN other % 2 = 0 THEN 'audio' ELSE 'video' END,
                                      ring_timeout => 5);
        END IF;
    WHEN 2 THEN
        what := 'group';
        IF me <> them AND me <> 'u' || ((other + 7) % 20 + 1) THEN
            PERFORM pgcall.call_start(ARRAY[them, 'u' || ((other + 7) % 20 + 1)], ring_timeout => 5,
                                      is_group => true, max_participants => 3);
        END IF;
    WHEN 3, 4 THEN
        what := 'accept';
        SELECT p.call_id INTO target FROM pgcall.participant p JOIN pgcall.call c ON c.id = p.call_id
         WHERE p.user_id = me AND p.status IN ('invited', 'ringing') AND c.status <> 'ended'
         ORDER BY random() LIMIT 1;
        IF target IS NOT NULL THEN
            PERFORM pgcall.call_accept(target, 'dev' || (other % 2));
        END IF;
    WHEN 5 THEN
        what := 'reject';
        SELECT p.call_id INTO target FROM pgcall.participant p JOIN pgcall.call c ON c.id = p.call_id
         WHERE p.user_id = me AND p.status IN ('invited', 'ringing') AND c.status <> 'ended'
         ORDER BY random() LIMIT 1;
        IF target IS NOT NULL THEN
            PERFORM pgcall.call_reject(target, 'busy');
        END IF;
    WHEN 6 THEN
        what := 'leave';
        SELECT p.call_id INTO target FROM pgcall.participant p JOIN pgcall.call c ON c.id = p.call_id
         WHERE p.user_id = me AND p.status = 'joined' AND c.status <> 'ended'
         ORDER BY random() LIMIT 1;
        IF target IS NOT NULL THEN
            PERFORM pgcall.call_leave(target);
        END IF;
    WHEN 7 THEN
        what := 'end';
        SELECT c.id INTO target FROM pgcall.call c JOIN pgcall.participant p ON p.call_id = c.id
         WHERE p.user_id = me AND c.status <> 'ended' AND (c.kind = 'direct' OR c.created_by = me)
         ORDER BY random() LIMIT 1;
        IF target IS NOT NULL THEN
            PERFORM pgcall.call_end(target);
        END IF;
    WHEN 8 THEN
        what := 'media';
        SELECT p.call_id INTO target FROM pgcall.participant p JOIN pgcall.call c ON c.id = p.call_id
         WHERE p.user_id = me AND p.status = 'joined' AND c.status <> 'ended' LIMIT 1;
        IF target IS NOT NULL THEN
            PERFORM pgcall.call_set_media(target, mic_muted => other % 2 = 0);
            PERFORM pgcall.call_signal(target, p.user_id, 'candidate', '{"candidate": "c"}')
               FROM pgcall.participant p
              WHERE p.call_id = target AND p.user_id <> me AND p.status IN ('invited', 'ringing', 'joined')
              LIMIT 1;
        END IF;
    WHEN 9 THEN
        -- a socket opens or closes on one of two bridges
        what := 'presence';
        PERFORM pgcall.bridge_presence(CASE WHEN other % 2 = 0 THEN '00000000-0000-4000-8000-0000000000b1'::uuid
                                            ELSE '00000000-0000-4000-8000-0000000000b2'::uuid END,
                                       me, (other / 2) % 2);
    ELSE
        what := 'expire';
        PERFORM pgcall.call_expire();
    END CASE;
    -- Keep the transaction open a little after its events were queued, so
    -- transactions often commit in another order than they queued events.
    PERFORM pg_sleep(random() * 0.003);
    INSERT INTO conc_outcome VALUES (what, 'ok', 1)
        ON CONFLICT (kind, outcome) DO UPDATE SET n = conc_outcome.n + 1;
EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE !~ '^P4(03|04|09)' THEN
        RAISE;
    END IF;
    INSERT INTO conc_outcome VALUES (what, SQLSTATE, 1)
        ON CONFLICT (kind, outcome) DO UPDATE SET n = conc_outcome.n + 1;
END
$$;

-- A reader that resumes from the last id it saw, like the bridge: it
-- must see every event exactly once (seen.id is the primary key).
-- The bridge's way: the horizon first (bridge_wait; null in 'lock' order,
-- where ids are in commit order), then the events below it, read by the
-- next statement's snapshot.
CREATE PROCEDURE read_events() LANGUAGE plpgsql AS $$
DECLARE
    h bigint;
BEGIN
    WHILE NOT (SELECT done FROM conc_done) LOOP
        SELECT below INTO h FROM pgcall.bridge_wait(NULL, 0);
        INSERT INTO seen SELECT id FROM pgcall.event
         WHERE id > (SELECT COALESCE(max(id), 0) FROM seen) AND (h IS NULL OR id < h);
        COMMIT;
        PERFORM pg_sleep(0.002);
    END LOOP;
    SELECT below INTO h FROM pgcall.bridge_wait(NULL, 0);
    INSERT INTO seen SELECT id FROM pgcall.event
     WHERE id > (SELECT COALESCE(max(id), 0) FROM seen) AND (h IS NULL OR id < h);
END
$$;
