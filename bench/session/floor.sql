-- The floor of issue 10: bare tables for the same work as call_session
-- (one call row, one event row, one NOTIFY, one token) with no checks,
-- triggers or row-level security.
CREATE TABLE bare (id bigserial PRIMARY KEY, caller text NOT NULL, callee text NOT NULL,
                   type text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bare_ev (id bigserial PRIMARY KEY, payload jsonb NOT NULL,
                      created_at timestamptz NOT NULL DEFAULT now());
