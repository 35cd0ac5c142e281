
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
