-- Invariants after the concurrent run: one row per invariant with the number
-- of rows that break it.
SELECT 'no one is joined or rung in an ended call' AS invariant, count(*) AS violations
  FROM pgcall.call c JOIN pgcall.participant p ON p.call_id = c.id
 WHERE c.status = 'ended' AND p.status IN ('joined', 'invited', 'ringing')
UNION ALL
SELECT 'ended calls have an end; duration is the answered time', count(*)
  FROM pgcall.call
 WHERE status = 'ended' AND (ended_at IS NULL OR end_reason IS NULL
       OR duration_seconds <> COALESCE(floor(extract(epoch FROM ended_at - answered_at)), 0))
UNION ALL
SELECT 'answered_at only for answered calls, never after the end', count(*)
  FROM pgcall.call
 WHERE (status = 'ringing' AND answered_at IS NOT NULL)
    OR (status = 'active' AND answered_at IS NULL)
    OR answered_at > ended_at
UNION ALL
SELECT 'a direct call has two participants, both in it while active', count(*)
  FROM pgcall.call c
 WHERE c.kind = 'direct'
   AND ((SELECT count(*) FROM pgcall.participant p WHERE p.call_id = c.id) <> 2
        OR (c.status = 'active' AND (SELECT count(*) FROM pgcall.participant p
                                      WHERE p.call_id = c.id AND p.status = 'joined') <> 2))
UNION ALL
SELECT 'a live call has someone in it; a ringing one someone rung', count(*)
  FROM pgcall.call c
 WHERE (c.status <> 'ended' AND NOT EXISTS (SELECT 1 FROM pgcall.participant p
                                            WHERE p.call_id = c.id AND p.status = 'joined'))
    OR (c.status = 'ringing' AND NOT EXISTS (SELECT 1 FROM pgcall.participant p
                                             WHERE p.call_id = c.id AND p.status IN ('invited', 'ringing')))
UNION ALL
SELECT 'never more joined than max_participants', count(*)
  FROM pgcall.call c
 WHERE (SELECT count(*) FROM pgcall.participant p WHERE p.call_id = c.id AND p.status = 'joined') > c.max_participants
UNION ALL
SELECT 'each joined participant has one open session, others none', count(*)
  FROM pgcall.participant p
 WHERE (SELECT count(*) FROM pgcall.participant_session s
         WHERE s.call_id = p.call_id AND s.user_id = p.user_id AND s.left_at IS NULL)
       <> CASE WHEN p.status = 'joined' THEN 1 ELSE 0 END
UNION ALL
SELECT 'answered time is the sum of the closed sessions', count(*)
  FROM (SELECT p.call_id
          FROM pgcall.participant p
          LEFT JOIN pgcall.participant_session s
                 ON s.call_id = p.call_id AND s.user_id = p.user_id AND s.left_at IS NOT NULL
         GROUP BY p.call_id, p.user_id, p.joined_time
        HAVING p.joined_time <> COALESCE(sum(s.left_at - s.joined_at), '0')) x
UNION ALL
SELECT 'each participant of an ended call got one end event', count(*)
  FROM (SELECT c.id
          FROM pgcall.call c JOIN pgcall.participant p ON p.call_id = c.id
          LEFT JOIN pgcall.event e ON e.call_id = c.id AND e.recipients @> ARRAY[p.user_id]
               AND e.type IN ('call.ended', 'call.cancelled', 'call.rejected', 'call.missed',
                              'call.busy', 'call.unavailable')
         WHERE c.status = 'ended'
         GROUP BY c.id, p.user_id HAVING count(e.id) <> 1) x
UNION ALL
SELECT 'the resuming reader saw every event exactly once', count(*)
  FROM (SELECT id FROM pgcall.event EXCEPT SELECT id FROM seen
        UNION ALL
        SELECT id FROM seen EXCEPT SELECT id FROM pgcall.event) x
UNION ALL
SELECT 'event ids match their payloads and versions', count(*)
  FROM pgcall.event WHERE (payload::jsonb ->> 'id')::bigint <> id OR (payload::jsonb ->> 'version')::bigint <> id
UNION ALL
SELECT 'an event names each recipient once', count(*)
  FROM pgcall.event WHERE cardinality(recipients) <> (SELECT count(DISTINCT r) FROM unnest(recipients) r)
UNION ALL
SELECT 'a call''s version is its last event', count(*)
  FROM pgcall.call c
 WHERE (pgcall.call_json(c.id)::jsonb ->> 'version')::bigint
       IS DISTINCT FROM (SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = c.id)
UNION ALL
SELECT 'each follower''s last presence.changed about a user is what presence() shows them now', count(*)
  FROM pgcall.presence_subscription f
  LEFT JOIN LATERAL (
      SELECT e.payload::jsonb -> 'data' AS d
        FROM pgcall.event e
       WHERE e.type = 'presence.changed' AND e.recipients @> ARRAY[f.subscriber]
         AND e.payload::jsonb -> 'data' ->> 'user_id' = f.subject
       ORDER BY e.id DESC LIMIT 1) last ON true
  CROSS JOIN LATERAL pgcall.presence_state(f.subject) st
 WHERE (COALESCE((last.d ->> 'online')::boolean, false), COALESCE((last.d ->> 'in_call')::boolean, false))
       IS DISTINCT FROM
       (CASE WHEN pgcall.presence_visible(f.subscriber, f.subject) THEN st.online ELSE false END,
        CASE WHEN pgcall.presence_visible(f.subscriber, f.subject) THEN st.in_call ELSE false END)
UNION ALL
SELECT 'the run exercised presence events', (count(*) = 0)::int
  FROM pgcall.event WHERE type = 'presence.changed'
UNION ALL
SELECT 'the run exercised answered, rejected, cancelled, missed and busy calls', 5 - count(DISTINCT end_reason)
  FROM pgcall.call WHERE end_reason IN ('completed', 'rejected', 'cancelled', 'missed', 'busy');
