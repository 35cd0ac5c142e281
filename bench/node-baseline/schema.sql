-- The Node baseline's own tables, as the seeds keep them: one row per call
-- (seed 000's call_logs) and one row per event (for a client that was
-- offline to fetch later), no triggers, no row-level security.
CREATE SCHEMA IF NOT EXISTS node_calls;
CREATE TABLE IF NOT EXISTS node_calls.call_log (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel_id       text NOT NULL UNIQUE,
    caller_id        text NOT NULL,
    callee_id        text NOT NULL,
    type             text NOT NULL CHECK (type IN ('voice', 'video')),
    status           text NOT NULL DEFAULT 'ringing',
    started_at       timestamptz NOT NULL DEFAULT now(),
    answered_at      timestamptz,
    ended_at         timestamptz,
    duration_seconds integer
);
CREATE INDEX IF NOT EXISTS call_log_caller_idx ON node_calls.call_log (caller_id, started_at DESC);
CREATE INDEX IF NOT EXISTS call_log_callee_idx ON node_calls.call_log (callee_id, started_at DESC);
CREATE TABLE IF NOT EXISTS node_calls.call_event (
    id         bigserial PRIMARY KEY,
    user_id    text NOT NULL,
    type       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS call_event_user_idx ON node_calls.call_event (user_id, id);
