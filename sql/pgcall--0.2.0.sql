-- pgcall: install script.
--
-- Made by `make sql` from sql/schema/*.sql, in name order: one file per
-- area, each object once in its final form, with its indexes, row-level
-- security, policies, grants and comment next to it.  Edit those files,
-- not the made script; 93-upgrade checks it is current and that an older
-- release brought up to date has the same catalog.
--
-- Everything is schema-qualified, so the caller's search_path changes
-- nothing; SECURITY DEFINER functions pin their own search_path.

\echo Use "CREATE EXTENSION pgcall" to load this file. \quit

-------------------------------------------------------------------------------
-- Schema and roles
--
-- The control file names no schema: this script creates pgcall itself, so the
-- schema is a member of the extension, owned by the installing superuser, and
-- dropped with it.  A schema named pgcall that already exists is refused:
-- whoever created it could rename it later and plant objects under the names
-- pgcall's C code and SECURITY DEFINER functions use (CVE-2023-39417 class).
--
-- Roles are global to the cluster, so an install in a second database finds
-- them already there.  Grant them to your own roles (or name them in the
-- "role" claim of your JWTs):
--   pgcall_anon     requests without a JWT: nothing beyond health checks
--   pgcall_user     an end user, identified by the JWT sub claim
--   pgcall_backend  a trusted backend: may act for any user
--                   (SET LOCAL pgcall.user_id) and mint raw tokens
--   pgcall_admin    operators: analytics and moderation across all calls
--   pgcall_authn    authenticators (the bridge's login, PostgREST's
--                   authenticator): only sessions of members of this role
--                   are trusted when they set request.jwt.claims
--   pgcall_bridge   the bridge's own statements: the event stream, presence,
--                   webhooks and the sweeps (granted to the bridge's login)
--
-- Nothing in schema pgcall is executable by PUBLIC but what 99-public.sql
-- grants: every function here is followed by its grants to these roles.
-------------------------------------------------------------------------------

DO $schema$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'pgcall') THEN
        RAISE EXCEPTION 'schema "pgcall" already exists'
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'CREATE EXTENSION pgcall creates its own schema and will not install into one it did not create.',
                  HINT = 'Drop or rename the existing schema pgcall (after checking who created it and why), then run CREATE EXTENSION pgcall again.';
    END IF;
END
$schema$;

CREATE SCHEMA pgcall;
REVOKE ALL ON SCHEMA pgcall FROM PUBLIC;

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin', 'pgcall_authn',
                             'pgcall_bridge'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA pgcall TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;
GRANT SET ON PARAMETER pgcall.user_id TO pgcall_backend;
-------------------------------------------------------------------------------
-- Errors, identity, pseudonyms
--
-- Every error pgcall raises has its own SQLSTATE (pgcall.error_codes()).  The
-- current user is the one the JWT or SET LOCAL pgcall.user_id names.
--
-- With pgcall.pseudonymize on, the admin_* functions show each user as a
-- keyed pseudonym (HMAC-SHA256 with the pseudonym_key secret): stable, the
-- same in every report, and not reversible without the key.  Administrators
-- then read calls only through those functions: the tables' admin policies
-- let them read nothing.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.error_codes(
    OUT code text, OUT http_status integer, OUT name text, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_error_codes'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.error_codes() IS
'Every SQLSTATE pgcall raises: code, the HTTP status the bridge answers with (the three digits after P), a name and what it means.';

CREATE FUNCTION pgcall.current_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_current_user_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.current_user_id() IS
'The user pgcall acts for: pgcall.user_id if a trusted backend set it, else the sub claim of request.jwt.claims, else NULL.';

GRANT EXECUTE ON FUNCTION pgcall.current_user_id() TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.require_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_require_user_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.require_user_id() IS
'pgcall.current_user_id(), raising P401A when there is none.';

GRANT EXECUTE ON FUNCTION pgcall.require_user_id() TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.pseudonym(user_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_pseudonym'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.pseudonym(text) IS
'The stable pseudonym of a user id ("u_" and 20 hexadecimal digits), keyed with the pseudonym_key secret (P503C when it is not set).  For trusted backends only: whoever can compute pseudonyms of chosen ids can reverse them.';

GRANT EXECUTE ON FUNCTION pgcall.pseudonym(text) TO pgcall_backend;

CREATE FUNCTION pgcall.pseudonymous()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_pseudonymous'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.pseudonymous() IS
'Whether pgcall.pseudonymize is on: administrators see pseudonyms instead of user ids.';

GRANT EXECUTE ON FUNCTION pgcall.pseudonymous() TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.refuse_plain_ids(what text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_refuse_plain_ids'
LANGUAGE C STABLE;

COMMENT ON FUNCTION pgcall.refuse_plain_ids(text) IS
'Raise P403G when an administrator (not a trusted backend) reads what by user id while pgcall.pseudonymize is on.  Internal.';

CREATE FUNCTION pgcall.admin_user(user_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_admin_user'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.admin_user(text) IS
'How admin-facing output shows a user: the pseudonym when pgcall.pseudonymize is on, else the user id.  Internal.';
-------------------------------------------------------------------------------
-- Secrets
--
-- The Agora certificates, the TURN secret, the JWT secret, the pseudonym key
-- and the webhooks' signing secrets: readable by no application role, written
-- and checked through these functions only.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.secret (
    name       text PRIMARY KEY
               CHECK (name IN ('agora_app_certificate', 'agora_app_certificate_secondary', 'turn_secret',
                               'pseudonym_key', 'jwt_secret')
                      OR name ~ '^webhook:[0-9]+$'),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE pgcall.secret IS
'Agora certificates, the TURN secret, the pseudonym key, the JWT secret of the embedded bridge and each webhook endpoint''s signing secret (webhook:<id>).  No role but a superuser can read it: write it with pgcall.set_secret().  Not included in pg_dump output: set secrets again after a restore.';

REVOKE ALL ON pgcall.secret FROM PUBLIC;

-- No statistics of the values: pg_statistic would hold them as most common
-- values, and members of pg_read_all_data can read pg_statistic.
ALTER TABLE pgcall.secret ALTER COLUMN value SET STATISTICS 0;

ALTER TABLE pgcall.secret ENABLE ROW LEVEL SECURITY;

ALTER TABLE pgcall.secret FORCE ROW LEVEL SECURITY;

CREATE FUNCTION pgcall.secret_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_secret_changed'
LANGUAGE C;

COMMENT ON FUNCTION pgcall.secret_changed() IS
'Trigger: makes every session reload pgcall secrets after a change.';

CREATE TRIGGER secret_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcall.secret
    FOR EACH STATEMENT EXECUTE FUNCTION pgcall.secret_changed();

CREATE FUNCTION pgcall.set_secret(name text, value text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_set_secret'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.set_secret(text, text) IS
'Store a secret (agora_app_certificate, agora_app_certificate_secondary, turn_secret, pseudonym_key or jwt_secret); NULL removes it.  Superusers only.  The value is never shown again, but it is part of this statement: a failed statement reaches the server log (log_min_error_statement), and pg_stat_statements keeps the text of a DO block.  Prefer pgcall.set_secret_from_file(), or pass the value as a bind parameter with log_statement off.';

CREATE FUNCTION pgcall.set_secret_from_file(name text, path text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_set_secret_from_file'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.set_secret_from_file(text, text) IS
'Store the secret held in a file on the database server (absolute path, one line, a final newline dropped), so the value is in no statement text, parameter, log line or pg_stat_statements entry.  Superusers only.  Delete the file afterwards.';

CREATE FUNCTION pgcall.secret_is_set(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_secret_is_set'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.secret_is_set(text) IS
'Whether the named secret has a value.  Reveals nothing about the value.';

GRANT EXECUTE ON FUNCTION pgcall.secret_is_set(text) TO pgcall_backend, pgcall_admin;
-------------------------------------------------------------------------------
-- Tokens: TURN credentials and Agora
--
-- Agora builders mint a token for any channel and any user, so they are for
-- trusted backends (pgcall_backend), never for end users.  Lifetimes are in
-- seconds, 60 to 86400 (Agora caps tokens at 24 hours): a NULL token
-- lifetime means pgcall.agora_token_ttl, a NULL privilege lifetime means the
-- token's.  Errors: P400A..P400G for bad arguments, P503A when the app id or
-- the app certificate is not set (see pgcall.error_codes()).
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.turn_credentials(user_id text DEFAULT NULL, ttl integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_turn_credentials'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.turn_credentials(text, integer) IS
'TURN REST credentials (coturn use-auth-secret) for user_id, by default the current user, valid for ttl seconds (default pgcall.turn_ttl).  Returns {username, credential, ttl, expires_at, uris, iceServers}; pass iceServers to RTCPeerConnection.';

GRANT EXECUTE ON FUNCTION pgcall.turn_credentials(text, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.agora_rtc_token(
    channel text, account text, role text DEFAULT 'publisher',
    token_ttl integer DEFAULT NULL, privilege_ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token(text, text, text, integer, integer) IS
'Agora RTC token (AccessToken2, "007") for a user account in channel, as RtcTokenBuilder2.buildTokenWithUserAccount makes it.  role ''publisher'' may join and publish audio, video and data; ''subscriber'' may only join.  token_ttl and privilege_ttl are seconds (60..86400; default pgcall.agora_token_ttl, and privilege_ttl the token''s).';

CREATE FUNCTION pgcall.agora_rtc_token(
    channel text, uid bigint, role text DEFAULT 'publisher',
    token_ttl integer DEFAULT NULL, privilege_ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token_uid'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token(text, bigint, text, integer, integer) IS
'Agora RTC token (AccessToken2, "007") for a numeric uid (0..4294967295; 0 lets any user join) in channel, as RtcTokenBuilder2.buildTokenWithUid makes it.  Roles and lifetimes as for the account form.';

GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token(text, text, text, integer, integer) TO pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token(text, bigint, text, integer, integer) TO pgcall_backend;

CREATE FUNCTION pgcall.agora_rtc_token_with_privileges(
    channel text, account text, token_ttl integer DEFAULT NULL,
    join_ttl integer DEFAULT NULL, audio_ttl integer DEFAULT NULL,
    video_ttl integer DEFAULT NULL, data_ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token_with_privileges'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token_with_privileges(text, text, integer, integer, integer, integer, integer) IS
'Agora RTC token ("007") for a user account with a lifetime of its own for each privilege: joining, publishing audio, video and data, as RtcTokenBuilder2.BuildTokenWithUserAccountAndPrivilege makes it.  Each privilege lifetime is 60 seconds up to token_ttl; NULL means token_ttl.';

CREATE FUNCTION pgcall.agora_rtc_token_with_privileges(
    channel text, uid bigint, token_ttl integer DEFAULT NULL,
    join_ttl integer DEFAULT NULL, audio_ttl integer DEFAULT NULL,
    video_ttl integer DEFAULT NULL, data_ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token_with_privileges_uid'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token_with_privileges(text, bigint, integer, integer, integer, integer, integer) IS
'Agora RTC token ("007") for a numeric uid with a lifetime of its own for each privilege, as RtcTokenBuilder2.buildTokenWithUidAndPrivilege makes it.';

GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token_with_privileges(text, text, integer, integer, integer, integer, integer) TO pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token_with_privileges(text, bigint, integer, integer, integer, integer, integer) TO pgcall_backend;

CREATE FUNCTION pgcall.agora_rtm_token(user_id text, ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtm_token'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtm_token(text, integer) IS
'Agora RTM (Signaling) login token ("007") for user_id (1 to 64 bytes), as RtmTokenBuilder2.buildToken makes it; ttl in seconds, 60..86400, default pgcall.agora_token_ttl.';

GRANT EXECUTE ON FUNCTION pgcall.agora_rtm_token(text, integer) TO pgcall_backend;

CREATE FUNCTION pgcall.agora_rtc_token_006(
    channel text, account text, role text DEFAULT 'publisher', ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token_006'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token_006(text, text, text, integer) IS
'Legacy Agora RTC token (AccessToken, "006") for apps on SDKs that predate "007", as agora-access-token''s RtcTokenBuilder.buildTokenWithAccount makes it.  The privileges expire after ttl seconds (60..86400, default pgcall.agora_token_ttl).';

CREATE FUNCTION pgcall.agora_rtc_token_006(
    channel text, uid bigint, role text DEFAULT 'publisher', ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtc_token_006_uid'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtc_token_006(text, bigint, text, integer) IS
'Legacy Agora RTC token ("006") for a numeric uid (0 lets any user join), as RtcTokenBuilder.buildTokenWithUid makes it.';

GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token_006(text, text, text, integer) TO pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.agora_rtc_token_006(text, bigint, text, integer) TO pgcall_backend;

CREATE FUNCTION pgcall.agora_rtm_token_006(user_id text, ttl integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_agora_rtm_token_006'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_rtm_token_006(text, integer) IS
'Legacy Agora RTM login token ("006") for user_id, as agora-access-token''s RtmTokenBuilder.buildToken makes it.';

GRANT EXECUTE ON FUNCTION pgcall.agora_rtm_token_006(text, integer) TO pgcall_backend;

CREATE FUNCTION pgcall.agora_token_inspect(
    token text, channel text DEFAULT NULL, account text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_agora_token_inspect'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.agora_token_inspect(text, text, text) IS
'Decode an Agora "006" or "007" token: app id, issue time, expiry (absolute and from now), salt, services, channel, uid or account, privileges and their expiries, and whether the signature verifies with the primary or the secondary app certificate.  006 tokens hold only checksums of the channel and uid: pass channel (and account, or the uid as text) to check them and their signature.  A malformed token raises P400H saying what is wrong.';

GRANT EXECUTE ON FUNCTION pgcall.agora_token_inspect(text, text, text) TO pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.agora_configured()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_agora_configured'
LANGUAGE C STABLE;

COMMENT ON FUNCTION pgcall.agora_configured() IS
'Whether pgcall can mint Agora tokens: pgcall.agora_app_id and the agora_app_certificate secret are both set.';

GRANT EXECUTE ON FUNCTION pgcall.agora_configured() TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
GRANT EXECUTE ON FUNCTION pgcall.agora_configured() TO pgcall_bridge;
-------------------------------------------------------------------------------
-- Calls, participants, sessions
--
-- A call is direct (two people), group (invitees, optional room) or
-- conference (open to join).  Its status is ringing until someone answers,
-- then active, then ended with an end_reason.  Each person in it has a
-- participant row whose status follows the state machine
-- (pgcall.state_transitions()); each stretch of time a participant is joined
-- is a participant_session row.  Only pgcall's SECURITY DEFINER functions
-- write these tables; row-level security decides what each user reads.
-------------------------------------------------------------------------------

-- The rules of a call row and of a participant row, each one CHECK calling
-- one C function on the columns (call_triggers.c): PostgreSQL reads every
-- check of a table back from its stored text and plans it again in each
-- statement that writes the table, and one function of the columns is a
-- fraction of that work (docs/benchmarks.md, "the row checks").  A failure
-- is check_violation (23514) naming the constraint, the rule in its detail.
CREATE FUNCTION pgcall.call_row_check(kind text, media text, status text, end_reason text,
                                      ended_at timestamptz, ring_deadline timestamptz,
                                      max_participants integer) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer) IS
'Check of pgcall.call (call_row_check): kind is direct, group or conference; media audio or video; status ringing, active or ended; end_reason completed, cancelled, rejected, missed, busy, unavailable, failed or terminated; max_participants between 2 and 10000; end_reason and ended_at are set when, and only when, the call has ended; a ringing call has a ring_deadline.';

CREATE FUNCTION pgcall.participant_row_check(role text, status text, current_join timestamptz,
                                             ring_deadline timestamptz) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.participant_row_check(text, text, timestamptz, timestamptz) IS
'Check of pgcall.participant (participant_row_check): role is caller, callee, host or member; status invited, ringing, joined, left, declined, missed, busy or removed; current_join is set when, and only when, the participant is joined; an invited or ringing participant has a ring_deadline.';

-- The check of pgcall.event (40-event.sql), a C function for the same reason.
CREATE FUNCTION pgcall.event_call_check(type text, call_id "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_event_call_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.event_call_check(text, "any") IS
'Check of pgcall.event (event_check): (call_id IS NULL) = (type = ''presence.changed'').';

-- ----------------------------------------------------------------------------
-- Row-level security: a user reads the calls they take part in; admins read
-- everything, but calls and their participants only while pgcall.pseudonymize
-- is off; nobody writes but pgcall's functions.  No end-user or admin role
-- reads these tables directly (the functions of 32-call-api.sql and
-- 36-history.sql do): the policies stay as a second line should someone
-- grant more.

CREATE TABLE pgcall.call (
    id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    kind             text NOT NULL,
    media            text NOT NULL,
    channel_id       text NOT NULL UNIQUE,
    room_id          text,
    created_by       text NOT NULL,
    title            text,
    description      text,
    is_public        boolean NOT NULL DEFAULT false,
    max_participants integer NOT NULL,
    status           text NOT NULL,
    end_reason       text,
    answered_by      text,
    ended_by         text,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ring_deadline    timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz,
    duration_seconds integer,
    -- the call's usage (70-admin.sql), stored by its trigger when it ends
    participant_count   integer,
    peak_participants   integer,
    participant_seconds double precision,
    CONSTRAINT call_row_check CHECK (pgcall.call_row_check(kind, media, status, end_reason, ended_at,
                                                           ring_deadline, max_participants))
);

COMMENT ON TABLE pgcall.call IS
'One row per call.  Written only by pgcall functions; users read the calls they take part in.';

COMMENT ON COLUMN pgcall.call.participant_count IS
'People who were in the call at some time; set when it ends.';
COMMENT ON COLUMN pgcall.call.peak_participants IS
'Most people in the call at once; set when it ends.';
COMMENT ON COLUMN pgcall.call.participant_seconds IS
'Everyone''s time in the call added up, in seconds; set when it ends.';

-- A room's live calls (call_active, the presence policy); calls without a
-- room (every direct call) need no entry: equality on room_id implies it.
CREATE INDEX call_room_live_idx ON pgcall.call (room_id) WHERE status <> 'ended' AND room_id IS NOT NULL;
-- Public conferences still going on (conferences_public).
CREATE INDEX call_public_live_idx ON pgcall.call (created_at)
    WHERE kind = 'conference' AND is_public AND status <> 'ended';

-- Indexes for purge and the reports.  All but call_live_idx hold ended
-- calls only, so a call gets its entries once, when it ends.
CREATE INDEX call_ended_at_idx ON pgcall.call (ended_at) WHERE status = 'ended';
-- Everything analytics_report reads per ended call, for an index-only scan.
CREATE INDEX call_analytics_idx ON pgcall.call (created_at)
    INCLUDE (ended_at, answered_at, duration_seconds, media,
             participant_count, peak_participants, participant_seconds, id)
    WHERE status = 'ended';
-- Ended calls that were going on at a given instant (the start of a report's
-- range).  GREATEST: a transaction that began before the call was created
-- may end it, with an ended_at before created_at.
CREATE INDEX call_span_idx ON pgcall.call
    USING gist (tstzrange(created_at, GREATEST(created_at, ended_at))) WHERE status = 'ended';
CREATE INDEX call_live_idx ON pgcall.call (created_at) WHERE status <> 'ended';
ALTER TABLE pgcall.call ENABLE ROW LEVEL SECURITY;

-- When a participant's invitation stops ringing, or NULL when it does not
-- ring.  call_expire() finds overdue invitations through an index on this
-- expression; unlike a partial index on the status, the planner cannot
-- reach for it in queries that merely filter on status.
CREATE FUNCTION pgcall.rings_until(status text, ring_deadline timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN status IN ('invited', 'ringing') THEN ring_deadline END
$$;

COMMENT ON FUNCTION pgcall.rings_until(text, timestamptz) IS
'The ring deadline of an invitation still ringing (invited or ringing), else NULL.';

CREATE TABLE pgcall.participant (
    call_id        uuid NOT NULL REFERENCES pgcall.call (id) ON DELETE CASCADE,
    user_id        text NOT NULL,
    role           text NOT NULL,
    status         text NOT NULL,
    reason         text,
    invited_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ring_deadline  timestamptz,
    joined_at      timestamptz,
    left_at        timestamptz,
    current_join   timestamptz,
    joined_time    interval NOT NULL DEFAULT '0',
    joined_seconds integer GENERATED ALWAYS AS (pg_catalog.floor(EXTRACT(epoch FROM joined_time))::integer) STORED,
    device_id      text,
    mic_muted      boolean NOT NULL DEFAULT false,
    camera_off     boolean NOT NULL DEFAULT false,
    sharing_screen boolean NOT NULL DEFAULT false,
    hidden         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (call_id, user_id),
    CONSTRAINT participant_row_check CHECK (pgcall.participant_row_check(role, status, current_join,
                                                                         ring_deadline))
)
-- Participants change status several times in a minute: vacuum them early,
-- so their indexes do not fill with dead entries.
WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE INDEX participant_user_idx ON pgcall.participant (user_id, invited_at DESC);

CREATE INDEX participant_ringing_idx ON pgcall.participant (pgcall.rings_until(status, ring_deadline))
    WHERE pgcall.rings_until(status, ring_deadline) IS NOT NULL;

-- The calls a user is live in (being rung or in them): the presence policy,
-- and whether a user is busy (in a call: its joined rows, a few at most).
CREATE INDEX participant_live_idx ON pgcall.participant (user_id)
    WHERE status IN ('invited', 'ringing', 'joined');

COMMENT ON TABLE pgcall.participant IS
'One row per person in a call: role, status, answered time (joined_seconds) and media state.  hidden removes the call from that person''s history only.';

ALTER TABLE pgcall.participant ENABLE ROW LEVEL SECURITY;

CREATE TABLE pgcall.participant_session (
    call_id   uuid NOT NULL,
    user_id   text NOT NULL,
    joined_at timestamptz NOT NULL,
    left_at   timestamptz,
    PRIMARY KEY (call_id, user_id, joined_at),
    FOREIGN KEY (call_id, user_id) REFERENCES pgcall.participant (call_id, user_id) ON DELETE CASCADE,
    CHECK (left_at IS NULL OR left_at >= joined_at)
);

COMMENT ON TABLE pgcall.participant_session IS
'Each stretch of time a participant was joined: re-joins add rows.  Durations and peak concurrency come from here.';

ALTER TABLE pgcall.participant_session ENABLE ROW LEVEL SECURITY;

-- ----------------------------------------------------------------------------
-- Call state: reads never show ringing past the deadline
--
-- The one place the rule is written: a call or an invitation rung past its
-- deadline reads as ended (missed) even before call_expire() records it.
-- Every query, here and in the C files, asks these two functions (and
-- pgcall.rings_until above, which says which statuses ring).

CREATE FUNCTION pgcall.effective_call_status(status text, ring_deadline timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN status = 'ringing' AND ring_deadline <= pg_catalog.now()
                THEN 'ended' ELSE status END
$$;

COMMENT ON FUNCTION pgcall.effective_call_status(text, timestamptz) IS
'A call''s status as of now: a call still marked ringing after its deadline has ended (missed), even before call_expire() records it.';

GRANT EXECUTE ON FUNCTION pgcall.effective_call_status(text, timestamptz) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.effective_participant_status(status text, ring_deadline timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pgcall.rings_until(status, ring_deadline) <= pg_catalog.now()
                THEN 'missed' ELSE status END
$$;

COMMENT ON FUNCTION pgcall.effective_participant_status(text, timestamptz) IS
'A participant''s status as of now: an invitation rung past its deadline is missed.';

GRANT EXECUTE ON FUNCTION pgcall.effective_participant_status(text, timestamptz) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.state_transitions(
    OUT machine text, OUT from_status text, OUT to_status text, OUT how text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_state_transitions'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.state_transitions() IS
'The call and participant state machines: every status change the triggers allow, and what causes it.  docs/state-machine.svg is drawn from this.';

CREATE FUNCTION pgcall.call_json(call_id uuid)
RETURNS json
AS 'MODULE_PATHNAME', 'pgcall_call_json'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_json(uuid) IS
'The call object every call_* function returns and every event carries: the call and its participants, with effective statuses.  Internal: no access check.';

GRANT EXECUTE ON FUNCTION pgcall.call_json(uuid) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

-- ----------------------------------------------------------------------------
-- Triggers: the state machine, and the events of each change

CREATE FUNCTION pgcall.call_before() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_call_before' LANGUAGE C;

COMMENT ON FUNCTION pgcall.call_before() IS 'Trigger: call state machine, answered_at, ended_at, duration.';

CREATE FUNCTION pgcall.call_after() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_call_after' LANGUAGE C;

COMMENT ON FUNCTION pgcall.call_after() IS 'Trigger: call.accepted and call end events.';

CREATE FUNCTION pgcall.participant_before() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_participant_before' LANGUAGE C;

COMMENT ON FUNCTION pgcall.participant_before() IS 'Trigger: participant state machine, join and leave times, answered time.';

CREATE FUNCTION pgcall.participant_after() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_participant_after' LANGUAGE C;

COMMENT ON FUNCTION pgcall.participant_after() IS 'Trigger: participant sessions and participant events.';

CREATE TRIGGER call_before BEFORE INSERT OR UPDATE ON pgcall.call
    FOR EACH ROW EXECUTE FUNCTION pgcall.call_before();

CREATE TRIGGER call_after AFTER UPDATE OF status ON pgcall.call
    FOR EACH ROW EXECUTE FUNCTION pgcall.call_after();

CREATE TRIGGER participant_before BEFORE INSERT OR UPDATE ON pgcall.participant
    FOR EACH ROW EXECUTE FUNCTION pgcall.participant_before();

CREATE TRIGGER participant_after AFTER INSERT OR UPDATE OF status, mic_muted, camera_off, sharing_screen
    ON pgcall.participant
    FOR EACH ROW EXECUTE FUNCTION pgcall.participant_after();

CREATE FUNCTION pgcall.is_participant(call_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.refuse_plain_ids('who takes part in a call');
    SELECT EXISTS (SELECT 1 FROM pgcall.participant p
                    WHERE p.call_id = is_participant.call_id
                      AND p.user_id = pgcall.current_user_id()
                      AND p.status <> 'removed')
$$;

COMMENT ON FUNCTION pgcall.is_participant(uuid) IS
'Whether the current user takes part in the call (someone removed from it no longer does).  Used by row-level security policies.  Refused to administrators (P403G) while pgcall.pseudonymize is on: they could name any user as the current one.';

GRANT EXECUTE ON FUNCTION pgcall.is_participant(uuid) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE POLICY call_participant_read ON pgcall.call FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(id));

CREATE POLICY call_admin_read ON pgcall.call FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY participant_participant_read ON pgcall.participant FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(call_id));

CREATE POLICY participant_admin_read ON pgcall.participant FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY session_participant_read ON pgcall.participant_session FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(call_id));

CREATE POLICY session_admin_read ON pgcall.participant_session FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());
-------------------------------------------------------------------------------
-- Call functions
--
-- SECURITY DEFINER: they write tables no application role can write, for
-- the user pgcall.current_user_id() names, after checking that user may.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.call_start(
    invitees text[],
    type text DEFAULT 'audio',
    room_id text DEFAULT NULL,
    max_participants integer DEFAULT NULL,
    ring_timeout integer DEFAULT NULL,
    is_group boolean DEFAULT NULL,
    require_online boolean DEFAULT false,
    device_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_start'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_start(text[], text, text, integer, integer, boolean, boolean, text) IS
'Call the invitees: a direct call for one invitee (unless is_group), a group call otherwise.  type is audio (or voice) or video.  At most pgcall.max_invitees invitees (P400V).  Invitees already in a call are marked busy; with require_online, invitees with no open socket are missed as unavailable.  If the one invitee is already calling you, answers that call instead (glare).  Returns {call, agora, glare}; agora holds your token when Agora is configured.';

GRANT EXECUTE ON FUNCTION pgcall.call_start(text[], text, text, integer, integer, boolean, boolean, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_invite(call_id uuid, invitees text[], ring_timeout integer DEFAULT NULL,
                                   require_online boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_invite'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_invite(uuid, text[], integer, boolean) IS
'Add people to a live group call you are in: they are rung (call.incoming) and the others told (participant.invited).  Busy and offline people are marked as in call_start.  At most pgcall.max_invitees people per request (P400V) and rung by the call in all (P409E); each person invited counts against pgcall.rate_limit_invites (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_invite(uuid, text[], integer, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_session(other_user text, type text DEFAULT 'audio', channel_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_session'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_session(text, text, text) IS
'Agora one-to-one flow: without channel_id, call other_user; with the channel_id of your call with other_user, answer it.  Returns {app_id, channel_id, token, expire_at, type, account, call_id, status, call}.  Needs Agora configured.';

GRANT EXECUTE ON FUNCTION pgcall.call_session(text, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_accept(call_id uuid, device_id text DEFAULT NULL,
                                   mic_muted boolean DEFAULT NULL, camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_accept'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_accept(uuid, text, boolean, boolean) IS
'Answer a call that rings for you.  The first device to answer wins; another device gets P409A (answered elsewhere); the same device again gets the call back.  Returns {call, agora}.';

GRANT EXECUTE ON FUNCTION pgcall.call_accept(uuid, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_join(call_id uuid, device_id text DEFAULT NULL,
                                 mic_muted boolean DEFAULT NULL, camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_join'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_join(uuid, text, boolean, boolean) IS
'Join a live call you are part of: answer it, or rejoin after leaving, declining or missing it.  Refused when the call is full or ended.  Returns {call, agora}; for a call of more than 50 people, {call, agora, participant}: the call without its participants (participant_count and joined_count instead; page them with call_participants) and your own participant.';

GRANT EXECUTE ON FUNCTION pgcall.call_join(uuid, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_reject(call_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_reject'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_reject(uuid, text) IS
'Decline a call that rings for you, with an optional reason.  A direct call ends as rejected; a group call goes on for the others.';

GRANT EXECUTE ON FUNCTION pgcall.call_reject(uuid, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_cancel(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_cancel'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_cancel(uuid) IS
'The caller hangs up before anyone answered: the call ends as cancelled and stops ringing everywhere.';

GRANT EXECUTE ON FUNCTION pgcall.call_cancel(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_leave(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_leave'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_leave(uuid) IS
'Hang up your own part of a call.  A direct call then ends; a group call ends when nobody is left in it.';

GRANT EXECUTE ON FUNCTION pgcall.call_leave(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_end(call_id uuid DEFAULT NULL, channel_id text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_end'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_end(uuid, text, text) IS
'End a call for everyone, by call_id or channel_id: either person in a direct call, the host in a group call.  While it rings this is a cancel (caller) or a decline (callee).  reason: completed (default) or failed.  Returns {call, call_id, channel_id}; the call carries ended_at and duration_seconds.';

GRANT EXECUTE ON FUNCTION pgcall.call_end(uuid, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_set_status(call_id uuid, status text, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_set_status'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_set_status(uuid, text, text) IS
'Set your participant status: invited, ringing (your device rings), joined, left, declined, missed or busy, along the participant state machine.  joined counts against pgcall.rate_limit_joins, and changes nothing when you are joined already.';

GRANT EXECUTE ON FUNCTION pgcall.call_set_status(uuid, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_set_media(call_id uuid, mic_muted boolean DEFAULT NULL,
                                      camera_off boolean DEFAULT NULL, sharing_screen boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_set_media'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_set_media(uuid, boolean, boolean, boolean) IS
'Set your microphone, camera and screen-share state in a call; others get participant.media when something changed.  Counts against pgcall.rate_limit_media (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_set_media(uuid, boolean, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_media_session(call_id uuid, ttl integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_media_session'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_media_session(uuid, integer) IS
'A fresh Agora token for your place in a live call: {call_id, agora: {provider, app_id, channel_id, account, token, expires_at}}.  Only for participants being rung or in the call.  ttl may shorten the token''s lifetime, never lengthen it past pgcall.agora_token_ttl (P400F).';

GRANT EXECUTE ON FUNCTION pgcall.call_media_session(uuid, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_signal(call_id uuid, to_user text, kind text, payload jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_call_signal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_signal(uuid, text, text, jsonb) IS
'Relay a WebRTC message (offer, answer, candidate, end_of_candidates, renegotiate) to another participant of the same live call, as a call.signal event.  Payload at most pgcall.signal_max_bytes (16 KiB; P413A); each sender may send pgcall.rate_limit_signals signals and pgcall.rate_limit_signal_bytes bytes per call per minute (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_signal(uuid, text, text, jsonb) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_get(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_get'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_get(uuid) IS
'A call you take part in, with its participants.';

GRANT EXECUTE ON FUNCTION pgcall.call_get(uuid) TO pgcall_user, pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.call_get(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.call_participants(call_id uuid, after text DEFAULT NULL, max integer DEFAULT 100)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_participants'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_participants(uuid, text, integer) IS
'A page of the participants of a call you may read with call_get, ordered by user id: those after the user id after (from the first when null), at most max (1 to 1000, default 100; P400P otherwise).  Returns {participants, next, version}: next is the after of the next page, null on the last one; version is the call''s when the page was read.  The call_* functions that change a call leave the list out of their reply for calls of more than 50 people.';

GRANT EXECUTE ON FUNCTION pgcall.call_participants(uuid, text, integer) TO pgcall_user, pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.call_participants(uuid, text, integer) TO pgcall_admin;

CREATE FUNCTION pgcall.call_history_delete(call_id uuid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_history_delete'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_history_delete(uuid) IS
'Remove a call from your own history.  The other participants keep theirs.';

GRANT EXECUTE ON FUNCTION pgcall.call_history_delete(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_expire()
RETURNS integer
AS 'MODULE_PATHNAME', 'pgcall_call_expire'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_expire() IS
'Mark invitations rung past their deadline as missed and end the calls that leaves empty.  Safe to run from several sessions at once; the bridge runs it every second.  Returns the number of calls touched.';

GRANT EXECUTE ON FUNCTION pgcall.call_expire() TO pgcall_bridge;

-- The token-by-channel operation of seed 002 (POST /api/calling/token), in
-- pgcall's own API first: for application servers only, and with the checks
-- call_media_session makes for a user (the user is being rung or is in the
-- live call on that channel), since the server acts for that user.

CREATE FUNCTION pgcall.channel_call_id(channel_id text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id FROM pgcall.call c
     WHERE c.channel_id = channel_call_id.channel_id AND pgcall.is_participant(c.id)
$$;

COMMENT ON FUNCTION pgcall.channel_call_id(text) IS
'The call on a channel, if the current user takes part in it (else NULL).  Internal: behind channel_token.';

GRANT EXECUTE ON FUNCTION pgcall.channel_call_id(text) TO pgcall_backend;

CREATE FUNCTION pgcall.channel_token(channel_id text, user_id text, uid bigint DEFAULT NULL,
                                     ttl integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cid uuid;
    s jsonb;
    tok text;
BEGIN
    IF channel_id IS NULL THEN
        RAISE EXCEPTION 'channel_id required' USING ERRCODE = 'P400R';
    END IF;
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id required' USING ERRCODE = 'P400R';
    END IF;
    -- act for the user: only pgcall_backend may set pgcall.user_id
    PERFORM set_config('pgcall.user_id', user_id, true);
    cid := pgcall.channel_call_id(channel_id);
    IF cid IS NULL THEN
        -- no call on the channel, or one the user takes no part in (row security)
        RAISE EXCEPTION 'call not found' USING ERRCODE = 'P404A',
            DETAIL = 'No call of this user has this channel.';
    END IF;
    s := pgcall.call_media_session(cid, ttl);
    IF uid IS NOT NULL THEN
        tok := pgcall.agora_rtc_token(channel_token.channel_id, uid, 'publisher',
                                      greatest(60, ((s #>> '{agora,expires_at}')::bigint
                                                    - extract(epoch FROM now())::bigint)::integer));
        s := jsonb_set(s, '{agora,token}', to_jsonb(tok));
    END IF;
    RETURN jsonb_build_object('call_id', cid, 'user_id', user_id, 'uid', uid) || (s -> 'agora');
END
$$;

COMMENT ON FUNCTION pgcall.channel_token(text, text, bigint, integer) IS
'For application servers (pgcall_backend): a fresh Agora token for user_id in the live call on channel_id, with the checks call_media_session makes for that user (being rung or in the call; P404A when the user has no call on the channel).  With uid, the token is for that numeric Agora uid instead of the user account.  Returns {call_id, user_id, uid, provider, app_id, channel_id, account, token, expires_at}.';

GRANT EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) TO pgcall_backend;
-------------------------------------------------------------------------------
-- Conferences
--
-- A conference is a call with a title that people join rather than answer:
-- it starts active with its host in it, anyone may join a public one, only
-- those invited a private one (call_join checks both).  From then on it
-- follows the group call rules: capacity (max_participants joined at once),
-- leave, removal, and it ends when the last person leaves or the host ends it.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.conference_create(
    title text,
    description text DEFAULT NULL,
    is_public boolean DEFAULT false,
    max_participants integer DEFAULT NULL,
    type text DEFAULT 'video',
    invitees text[] DEFAULT NULL,
    room_id text DEFAULT NULL,
    device_id text DEFAULT NULL,
    mic_muted boolean DEFAULT NULL,
    camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_conference_create'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.conference_create(text, text, boolean, integer, text, text[], text, text, boolean, boolean) IS
'Create a conference (title up to 200 bytes, description up to 4000) with you in it as host: public (anyone may join with call_join) or private (only invitees may), at most max_participants in it at once (default pgcall.max_participants), type audio or video (default video).  invitees are rung and may join while it lasts; call_invite rings more (only the host, in a private one).  Your microphone starts muted if you ask or your auto_mute_on_join preference says so.  Counts against pgcall.rate_limit_calls (and pgcall.rate_limit_tokens when Agora is configured).  Returns {call, agora}.';

GRANT EXECUTE ON FUNCTION pgcall.conference_create(text, text, boolean, integer, text, text[], text, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_status_arg(status text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_call_status_arg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.call_status_arg(text) IS
'A call status filter as a client gave it, lower-cased; NULL means no filter.  Raises P400M unless it is ringing, active or ended.';

GRANT EXECUTE ON FUNCTION pgcall.call_status_arg(text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.calls_mine(status text DEFAULT NULL, "limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH args AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS me, pgcall.call_status_arg(calls_mine.status) AS status
    ), mine AS (
        SELECT c.*, me.role AS my_role,
               pgcall.effective_participant_status(me.status, me.ring_deadline) AS my_status,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS eff_status
          FROM args
          JOIN pgcall.participant me ON me.user_id = args.me
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), page AS (
        SELECT m.* FROM mine m, args
         WHERE args.status IS NULL OR m.eff_status = args.status
         ORDER BY m.created_at DESC, m.id
         LIMIT GREATEST(LEAST(calls_mine."limit", 100), 1)
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', l.id,
               'kind', l.kind,
               'type', l.media,
               'title', l.title,
               'description', l.description,
               'channel_id', l.channel_id,
               'room_id', l.room_id,
               'created_by', l.created_by,
               'is_public', l.is_public,
               'max_participants', l.max_participants,
               'status', l.eff_status,
               'end_reason', CASE WHEN l.eff_status = 'ended' THEN COALESCE(l.end_reason, 'missed') END,
               'created_at', l.created_at,
               'ended_at', l.ended_at,
               'role', l.my_role,
               'my_status', l.my_status,
               'participant_count', (SELECT count(*) FROM pgcall.participant p
                                      WHERE p.call_id = l.id AND p.joined_at IS NOT NULL),
               'joined_count', (SELECT count(*) FROM pgcall.participant p
                                 WHERE p.call_id = l.id AND p.status = 'joined'))
           ORDER BY l.created_at DESC, l.id), '[]'::jsonb)
      FROM page l
$$;

COMMENT ON FUNCTION pgcall.calls_mine(text, integer) IS
'The calls you host or take part in, newest first (at most limit, up to 100), optionally only those whose status is ringing, active or ended: [{id, kind, type, title, description, channel_id, room_id, created_by, is_public, max_participants, status, end_reason, created_at, ended_at, role, my_status, participant_count, joined_count}].  participant_count counts everyone who was ever in the call, joined_count those in it now.';

GRANT EXECUTE ON FUNCTION pgcall.calls_mine(text, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.conferences_public("limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), page AS (
        SELECT c.* FROM pgcall.call c, who
         WHERE c.kind = 'conference' AND c.is_public AND c.status <> 'ended'
         ORDER BY c.created_at DESC, c.id
         LIMIT GREATEST(LEAST(conferences_public."limit", 100), 1)
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', l.id,
               'type', l.media,
               'title', l.title,
               'description', l.description,
               'room_id', l.room_id,
               'created_by', l.created_by,
               'max_participants', l.max_participants,
               'created_at', l.created_at,
               'joined_count', (SELECT count(*) FROM pgcall.participant p
                                 WHERE p.call_id = l.id AND p.status = 'joined'))
           ORDER BY l.created_at DESC, l.id), '[]'::jsonb)
      FROM page l
$$;

COMMENT ON FUNCTION pgcall.conferences_public(integer) IS
'Live public conferences anyone may join, newest first (at most limit, up to 100): [{id, type, title, description, room_id, created_by, max_participants, created_at, joined_count}].  Join one with call_join.';

GRANT EXECUTE ON FUNCTION pgcall.conferences_public(integer) TO pgcall_user, pgcall_backend;
-------------------------------------------------------------------------------
-- Profiles and call history
--
-- Display names and avatars come from pgcall.user_profile: pgcall.profile
-- unless use_profile_source() points it at your own users table.  Profiles
-- are public to pgcall's roles.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.profile (
    user_id      text PRIMARY KEY,
    display_name text,
    avatar_url   text
);

COMMENT ON TABLE pgcall.profile IS
'Display names and avatars for call logs, unless pgcall.use_profile_source() points them at your own users table.';

ALTER TABLE pgcall.profile ENABLE ROW LEVEL SECURITY;

CREATE POLICY profile_read ON pgcall.profile FOR SELECT
    TO pgcall_user, pgcall_backend USING (true);

CREATE POLICY profile_admin_read ON pgcall.profile FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY profile_backend_write ON pgcall.profile FOR ALL
    TO pgcall_backend USING (true) WITH CHECK (true);

GRANT SELECT ON pgcall.profile TO pgcall_user, pgcall_backend, pgcall_admin;
GRANT INSERT, UPDATE, DELETE ON pgcall.profile TO pgcall_backend;

-- security_invoker: whoever reads it reads the source with their own
-- privileges and row-level security, not the extension owner's.
CREATE VIEW pgcall.user_profile WITH (security_invoker = true) AS
    SELECT user_id, display_name, avatar_url FROM pgcall.profile;

COMMENT ON VIEW pgcall.user_profile IS
'Where call logs find display names and avatars, read with the reader''s own privileges and row-level security.  Point it at your own users table with pgcall.use_profile_source().';

GRANT SELECT ON pgcall.user_profile TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.use_profile_source(source regclass, id_column name DEFAULT NULL,
                                          name_column name DEFAULT NULL, avatar_column name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_use_profile_source'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.use_profile_source(regclass, name, name, name) IS
'Point pgcall.user_profile (display names and avatars in call logs) at your own users table: SELECT pgcall.use_profile_source(''public.users'', ''id'', ''full_name'', ''avatar_url'').  The view is security_invoker: each reader needs SELECT on those columns and sees only the rows its row-level security allows (a WARNING names the pgcall roles that lack the privilege).  NULL source: back to pgcall.profile.  Superusers only; run it again after restoring a dump.';

-- ----------------------------------------------------------------------------
-- Reads
--
-- End-user roles have no SELECT on the call tables: a policy's predicate
-- runs after leakproof ones, so EXPLAIN (ANALYZE) over a base table tells
-- through "Rows Removed by Filter" and buffer counts what the policy hides.
-- These functions read as their owner and name the current user themselves.

CREATE FUNCTION pgcall.call_active(room_id text)
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

COMMENT ON FUNCTION pgcall.call_active(text) IS
'The live call of a room (chat room, conversation) that you take part in, or null: what a client rejoins after reconnecting.';

GRANT EXECUTE ON FUNCTION pgcall.call_active(text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_logs(page integer DEFAULT 1, "limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), mine AS (
        SELECT c.*, me.role AS my_role,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS eff_status
          FROM who
          JOIN pgcall.participant me ON me.user_id = who.id
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), page AS (
        SELECT * FROM mine
         ORDER BY created_at DESC, id
         LIMIT GREATEST(LEAST(call_logs."limit", 100), 1)
        OFFSET (GREATEST(call_logs.page, 1) - 1) * GREATEST(LEAST(call_logs."limit", 100), 1)
    )
    SELECT jsonb_build_object(
        'logs', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', l.id,
                       'channel_id', l.channel_id,
                       'type', l.media,
                       'kind', l.kind,
                       'status', l.eff_status,
                       'end_reason', CASE WHEN l.eff_status = 'ended' THEN COALESCE(l.end_reason, 'missed') END,
                       'started_at', l.created_at,
                       'answered_at', l.answered_at,
                       'ended_at', l.ended_at,
                       'duration_seconds', COALESCE(l.duration_seconds, 0),
                       'role', CASE WHEN l.created_by = pgcall.current_user_id() THEN 'caller' ELSE 'callee' END,
                       'other_user', (
                           SELECT jsonb_build_object('id', o.user_id,
                                                     'display_name', up.display_name,
                                                     'avatar_url', up.avatar_url)
                             FROM pgcall.participant o
                             LEFT JOIN pgcall.user_profile up ON up.user_id = o.user_id
                            WHERE o.call_id = l.id AND o.user_id <> pgcall.current_user_id()
                            ORDER BY (o.user_id = l.created_by) DESC, o.invited_at, o.user_id
                            LIMIT 1))
                   ORDER BY l.created_at DESC, l.id)
              FROM page l), '[]'::jsonb),
        'pagination', jsonb_build_object(
            'page', GREATEST(call_logs.page, 1),
            'limit', GREATEST(LEAST(call_logs."limit", 100), 1),
            'total', (SELECT count(*) FROM mine)))
$$;

COMMENT ON FUNCTION pgcall.call_logs(integer, integer) IS
'Your call history, newest first, page by page (limit at most 100): {logs: [{id, channel_id, type, kind, status, end_reason, started_at, answered_at, ended_at, duration_seconds, role, other_user: {id, display_name, avatar_url}}], pagination: {page, limit, total}}.';

GRANT EXECUTE ON FUNCTION pgcall.call_logs(integer, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_history(
    type text DEFAULT NULL, direction text DEFAULT NULL, missed_only boolean DEFAULT false,
    "limit" integer DEFAULT 50, skip integer DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), mine AS (
        SELECT c.id, c.kind, c.media, c.created_by, c.created_at, c.answered_at, c.ended_at,
               COALESCE(c.duration_seconds, 0) AS duration_seconds,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS status,
               CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended'
                    THEN COALESCE(c.end_reason, 'missed') END AS end_reason,
               CASE WHEN c.created_by = pgcall.current_user_id() THEN 'outgoing' ELSE 'incoming' END AS direction,
               pgcall.effective_participant_status(me.status, me.ring_deadline) AS my_status
          FROM who
          JOIN pgcall.participant me ON me.user_id = who.id
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), filtered AS (
        SELECT m.*, (m.direction = 'incoming' AND m.my_status IN ('missed', 'busy')) AS is_missed
          FROM mine m
         WHERE (call_history.type IS NULL
                OR m.media = CASE lower(call_history.type) WHEN 'voice' THEN 'audio' ELSE lower(call_history.type) END)
           AND (call_history.direction IS NULL OR m.direction = lower(call_history.direction))
    ), page AS (
        SELECT * FROM filtered
         WHERE NOT call_history.missed_only OR is_missed
         ORDER BY created_at DESC, id
         LIMIT GREATEST(LEAST(call_history."limit", 200), 1) + 1
        OFFSET GREATEST(call_history.skip, 0)
    ), numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY created_at DESC, id) AS n FROM page p
    )
    SELECT jsonb_build_object(
        'data', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', h.id,
                       'kind', h.kind,
                       'type', h.media,
                       'status', CASE WHEN h.status <> 'ended' THEN h.status
                                      WHEN h.end_reason = 'completed' THEN 'completed'
                                      ELSE h.end_reason END,
                       'direction', h.direction,
                       'is_missed', h.is_missed,
                       'duration', h.duration_seconds,
                       'caller', (SELECT jsonb_build_object('id', h.created_by,
                                                            'display_name', up.display_name,
                                                            'avatar_url', up.avatar_url)
                                    FROM (SELECT 1) x
                                    LEFT JOIN pgcall.user_profile up ON up.user_id = h.created_by),
                       'participants', (SELECT jsonb_agg(jsonb_build_object(
                                                   'id', o.user_id,
                                                   'display_name', up.display_name,
                                                   'avatar_url', up.avatar_url,
                                                   'status', pgcall.effective_participant_status(o.status, o.ring_deadline))
                                               ORDER BY o.invited_at, o.user_id)
                                          FROM pgcall.participant o
                                          LEFT JOIN pgcall.user_profile up ON up.user_id = o.user_id
                                         WHERE o.call_id = h.id AND o.user_id <> pgcall.current_user_id()),
                       'created_at', h.created_at,
                       'started_at', h.answered_at,
                       'ended_at', h.ended_at)
                   ORDER BY h.created_at DESC, h.id)
              FROM numbered h
             WHERE h.n <= GREATEST(LEAST(call_history."limit", 200), 1)), '[]'::jsonb),
        'has_more', (SELECT count(*) FROM page) > GREATEST(LEAST(call_history."limit", 200), 1))
$$;

COMMENT ON FUNCTION pgcall.call_history(text, text, boolean, integer, integer) IS
'Your call history as the peer-to-peer apps show it, newest first: filter by type (audio/video), direction (outgoing/incoming), missed_only; page with limit (at most 200) and skip.  Returns {data: [{id, kind, type, status, direction, is_missed, duration, caller, participants, created_at, started_at, ended_at}], has_more}.  status is ringing, active, completed, cancelled, rejected, missed, busy, unavailable, failed or terminated.';

GRANT EXECUTE ON FUNCTION pgcall.call_history(text, text, boolean, integer, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_missed_count(since timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)
      FROM (SELECT pgcall.require_user_id() AS id OFFSET 0) who
      JOIN pgcall.participant me ON me.user_id = who.id
      JOIN pgcall.call c ON c.id = me.call_id
     WHERE NOT me.hidden
       AND c.created_by <> me.user_id
       AND pgcall.effective_participant_status(me.status, me.ring_deadline) IN ('missed', 'busy')
       AND (call_missed_count.since IS NULL OR c.created_at > call_missed_count.since)
$$;

COMMENT ON FUNCTION pgcall.call_missed_count(timestamptz) IS
'How many incoming calls you missed (since a time, if given): the missed-calls badge.';

GRANT EXECUTE ON FUNCTION pgcall.call_missed_count(timestamptz) TO pgcall_user, pgcall_backend;
-------------------------------------------------------------------------------
-- Events
--
-- Triggers queue events in memory; at commit pgcall takes an exclusive lock,
-- gives them ids from event_id_seq and writes one row per event, addressed
-- to its recipients, then sends one NOTIFY on the event channel
-- (pgcall.event_channel).  Ids are therefore assigned in commit order: a
-- reader that has seen id N has seen every event with a smaller id that will
-- ever exist, and resumes with "id > N".  An event's id is also its call's
-- version: call_get returns the largest one the call has.  Clients read their
-- own events (events_since); the bridge reads all of them (bridge_*).
-------------------------------------------------------------------------------

CREATE SEQUENCE pgcall.event_id_seq AS bigint CACHE 1;

CREATE TABLE pgcall.event (
    id         bigint PRIMARY KEY,
    call_id    uuid,
    type       text NOT NULL,
    recipients text[] NOT NULL CHECK (pg_catalog.cardinality(recipients) > 0),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    payload    text NOT NULL,
    -- every event is about a call but presence.changed, which is about a user
    CONSTRAINT event_check CHECK (pgcall.event_call_check(type, call_id))
);

-- A user's events (events_since): those addressed to at most 64 people
-- through the GIN index on recipients, the others (the changes of a large
-- call, addressed to everyone in it) through the user's calls and
-- event_call_idx.  An index entry per recipient would make every change of
-- a call of N people write N entries inside the commit's serialized part
-- (docs/benchmarks.md); a participant's rows last as long as the call, and
-- purge() keeps a call at least as long as its events.  The 64 is
-- PGCALL_EVENT_INDEXED_RECIPIENTS in extension/events.c.  A call's
-- version: event_call_idx.  Without a pending list (fastupdate off): the
-- insert that finds a full pending list cleans all of it up, a stall of up
-- to 300 ms inside the commit's serialized part; each row's two or three
-- entries go in directly for about 2 microseconds more (bench/event-gin).
-- A large call's recipients (a thousand names, a dozen kB) go out of line
-- uncompressed: pglz spent 2 million instructions on each such row inside
-- the commit's serialized part, for a list stored once and read once by
-- each bridge (bench/session/instructions.sh KINDS="joinsmall joinbig").
ALTER TABLE pgcall.event ALTER COLUMN recipients SET STORAGE EXTERNAL;

CREATE INDEX event_recipients_idx ON pgcall.event USING gin (recipients) WITH (fastupdate = off)
    WHERE pg_catalog.cardinality(recipients) <= 64;

CREATE INDEX event_call_idx ON pgcall.event (call_id, id);

COMMENT ON TABLE pgcall.event IS
'Event log: one row per event, addressed to recipients (user ids, distinct).  payload is the JSON message the bridge sends to each of them as is: the change (data, the call''s own members, the participant that changed) and the call''s version after it (the id).';

ALTER TABLE pgcall.event ENABLE ROW LEVEL SECURITY;

CREATE POLICY event_own_read ON pgcall.event FOR SELECT
    TO pgcall_user, pgcall_backend USING (recipients @> ARRAY[pgcall.current_user_id()]);

CREATE POLICY event_bridge_read ON pgcall.event FOR SELECT
    TO pgcall_bridge USING (true);

GRANT SELECT ON pgcall.event TO pgcall_bridge;

CREATE TABLE pgcall.event_purged (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through_id bigint NOT NULL
);

INSERT INTO pgcall.event_purged VALUES (true, 0);

COMMENT ON TABLE pgcall.event_purged IS
'The largest event id purged so far: resuming from an older id cannot be complete.';

ALTER TABLE pgcall.event_purged ENABLE ROW LEVEL SECURITY;

-- Event ids are epoch * 2^40 + n, the epoch being the WAL timeline minus one
-- plus this offset, so that a promoted standby, which may lack the old
-- primary's last events, still gives out ids above all of them (see
-- extension/event_ids.c).  The offset is raised only when the timeline went
-- down under existing ids (pg_upgrade starts the new cluster on timeline 1).
CREATE TABLE pgcall.event_id_epoch (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    timeline_offset integer NOT NULL CHECK (timeline_offset BETWEEN 0 AND 8191)
);

INSERT INTO pgcall.event_id_epoch VALUES (true, 0);

ALTER TABLE pgcall.event_id_epoch ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE pgcall.event_id_epoch IS
'Added to the WAL timeline to make the high bits of event ids (epoch * 2^40): written by pgcall when the timeline went down under existing ids.';

-- The NOTIFY channel of events has a random name, readable by no role:
-- LISTEN needs no privilege, so a known name would let any login watch the
-- rate of calls.  The bridge listens through pgcall.bridge_listen().
CREATE TABLE pgcall.event_channel (
    name text NOT NULL CHECK (name ~ '^pgcall_events_[0-9a-f]{32}$')
);

CREATE UNIQUE INDEX event_channel_one_row ON pgcall.event_channel ((true));

INSERT INTO pgcall.event_channel (name)
    VALUES ('pgcall_events_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''));

REVOKE ALL ON pgcall.event_channel FROM PUBLIC;

ALTER TABLE pgcall.event_channel ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE pgcall.event_channel IS
'The name of the NOTIFY channel that announces new events: random per installation and readable by superusers only.  pgcall.bridge_listen() subscribes a session to it.';

CREATE FUNCTION pgcall.event_types(OUT type text, OUT recipients text, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_event_types_list'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.event_types() IS
'Every event type pgcall sends, who receives it and when: the event catalog (docs/events.md has an example of each).';

CREATE FUNCTION pgcall.events_since(after bigint, max integer DEFAULT 1000,
                                    OUT id bigint, OUT payload text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_events_since'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.events_since(bigint, integer) IS
'Your events with an id above after, oldest first (at most max, up to 10000): what a client missed while disconnected.  Raises P410A when some of them were already purged.';

GRANT EXECUTE ON FUNCTION pgcall.events_since(bigint, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.bridge_listen()
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_bridge_listen'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_listen() IS
'LISTEN to the event channel (whose name only this function knows), as of the end of the transaction.  For the bridge''s listener connection.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_listen() TO pgcall_bridge;

-- The bridge reads the event table directly (a policy lets pgcall_bridge see
-- every row), so bridge_events is plain SQL that the planner inlines into the
-- bridge's prepared statement: no function call, no re-planning per fetch.
CREATE FUNCTION pgcall.bridge_events(after bigint, max integer DEFAULT 1000, below bigint DEFAULT NULL,
                                     OUT id bigint, OUT recipients text, OUT payload text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
    SELECT e.id, pg_catalog.array_to_json(e.recipients)::text, e.payload
      FROM pgcall.event e
     WHERE e.id > bridge_events.after
       AND (bridge_events.below IS NULL OR e.id < bridge_events.below)
     ORDER BY e.id
     LIMIT LEAST(GREATEST(bridge_events.max, 1), 10000)
$$;

COMMENT ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) IS
'Every event above an id (and below the horizon "below", when given), oldest first, with its recipients as a JSON array of user ids, for the bridge to fan out to each of their sockets.  With pgcall.event_order = lock ids are commit-ordered; with horizon, every event below the horizon bridge_wait() gave is committed or never will be: after the last id fetched, nothing is ever skipped.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) TO pgcall_bridge;

CREATE FUNCTION pgcall.bridge_event_horizon()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgcall_bridge_event_horizon'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_event_horizon() IS
'The largest event id committed so far below which nothing is still in flight: a starting bridge fetches only events after it.';

CREATE FUNCTION pgcall.bridge_wait(seen bigint, timeout_ms integer, OUT finished bigint, OUT below bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgcall_bridge_wait'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_wait(bigint, integer) IS
'With pgcall.event_order = horizon: waits (at most timeout_ms, up to a minute) until the count of finished event-writing transactions is no longer seen, then gives the count and the horizon (every event id below it is committed or never will be).  Both null with pgcall.event_order = lock, where the bridge LISTENs (bridge_listen) instead.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_wait(bigint, integer) TO pgcall_bridge;

GRANT EXECUTE ON FUNCTION pgcall.bridge_event_horizon() TO pgcall_bridge;
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
-------------------------------------------------------------------------------
-- Preferences
--
-- One row per user who changed a preference; users without one have the
-- defaults (preferences.c).  auto_mute_on_join mutes the microphone whenever
-- the user joins a call without saying otherwise.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.preference (
    user_id               text PRIMARY KEY,
    voice_masking_enabled boolean NOT NULL,
    video_masking_enabled boolean NOT NULL,
    auto_mute_on_join     boolean NOT NULL,
    video_quality         text NOT NULL CHECK (video_quality IN ('hd', 'sd')),
    preferred_avatar      text CHECK (pg_catalog.octet_length(preferred_avatar) <= 1024),
    created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at            timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE pgcall.preference IS
'Call preferences of users who set any: voice and video masking (applied by clients), auto-mute on join (applied by pgcall), video quality hd or sd, preferred avatar.  Each user reads only their own row.';

ALTER TABLE pgcall.preference ENABLE ROW LEVEL SECURITY;

CREATE POLICY preference_own_read ON pgcall.preference FOR SELECT
    TO pgcall_user, pgcall_backend USING (user_id = pgcall.current_user_id());

CREATE FUNCTION pgcall.preferences_get()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_preferences_get'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.preferences_get() IS
'Your call preferences, defaults filled in: {voice_masking_enabled, video_masking_enabled, auto_mute_on_join, video_quality, preferred_avatar, created_at, updated_at}; the times are null until you set something.';

GRANT EXECUTE ON FUNCTION pgcall.preferences_get() TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.preferences_set(
    voice_masking_enabled boolean DEFAULT NULL,
    video_masking_enabled boolean DEFAULT NULL,
    auto_mute_on_join boolean DEFAULT NULL,
    video_quality text DEFAULT NULL,
    preferred_avatar text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_preferences_set'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.preferences_set(boolean, boolean, boolean, text, text) IS
'Change your call preferences: only those given change; an empty preferred_avatar removes it.  video_quality is hd or sd (P400U otherwise), preferred_avatar at most 1024 bytes.  Returns them all, as preferences_get does.';

GRANT EXECUTE ON FUNCTION pgcall.preferences_set(boolean, boolean, boolean, text, text) TO pgcall_user, pgcall_backend;
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
-------------------------------------------------------------------------------
-- Usage, analytics and administration
--
-- What a call used comes from its participant sessions: how many people
-- were in it, the most that were in it at once (exactly, from overlapping
-- intervals; a stretch is [joined_at, left_at), so someone leaving as
-- another joins does not overlap them), and everyone's joined time added
-- up.  Audio minutes are joined time in audio calls, video minutes joined
-- time in video calls.  When a call ends, its trigger stores its usage in
-- the columns participant_count, peak_participants and participant_seconds
-- of pgcall.call, so reports read one row per call.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.peak_concurrency_step(internal, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgcall_peak_concurrency_step'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.peak_concurrency_step(internal, timestamptz, timestamptz) IS
'Transition function of pgcall.peak_concurrency.';

CREATE FUNCTION pgcall.peak_concurrency_final(internal)
RETURNS integer
AS 'MODULE_PATHNAME', 'pgcall_peak_concurrency_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.peak_concurrency_final(internal) IS
'Final function of pgcall.peak_concurrency.';

CREATE AGGREGATE pgcall.peak_concurrency(starts_at timestamptz, ends_at timestamptz) (
    SFUNC = pgcall.peak_concurrency_step,
    STYPE = internal,
    FINALFUNC = pgcall.peak_concurrency_final,
    FINALFUNC_MODIFY = READ_WRITE
);

COMMENT ON AGGREGATE pgcall.peak_concurrency(timestamptz, timestamptz) IS
'The most intervals [starts_at, ends_at) that overlap at one instant; 0 for none.  Half-open: one ending as another starts is no overlap, and empty intervals never count.';

CREATE FUNCTION pgcall.session_usage(
    call_ids uuid[], bounds timestamptz[],
    OUT call_id uuid, OUT n integer,
    OUT participants integer, OUT peak_participants integer, OUT participant_seconds double precision)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    -- Each session [joined_at, left_at) (open ones until now, or their
    -- start if a clock put that after now) is cut into
    -- the periods it overlaps; width_bucket finds the first and the last
    -- (the one holding its last microsecond).  A session of no length
    -- stays in its own period: its person was there, for no time.
    SELECT c.call_id, c.n,
           count(DISTINCT c.user_id)::integer,
           pgcall.peak_concurrency(c.a, c.z),
           sum(EXTRACT(epoch FROM c.z - c.a))::double precision
      FROM (SELECT s.call_id, s.user_id, k.n,
                   GREATEST(s.joined_at, session_usage.bounds[k.n]) AS a,
                   LEAST(COALESCE(s.left_at, GREATEST(s.joined_at, now())), session_usage.bounds[k.n + 1]) AS z
              FROM pgcall.participant_session s,
                   generate_series(
                       GREATEST(width_bucket(s.joined_at, session_usage.bounds), 1),
                       LEAST(width_bucket(GREATEST(s.joined_at, COALESCE(s.left_at, now()) - interval '1 microsecond'),
                                          session_usage.bounds),
                             cardinality(session_usage.bounds) - 1)) AS k(n)
             WHERE s.call_id = ANY (session_usage.call_ids)) c
     GROUP BY c.call_id, c.n
$$;

COMMENT ON FUNCTION pgcall.session_usage(uuid[], timestamptz[]) IS
'What each call used in each period, from its participant sessions (open ones until now): period n is [bounds[n], bounds[n+1]).  One row per call and period it used: people in it, the most in it at once, their joined time added up in seconds.  Every usage figure pgcall reports comes from here.  Internal.';

CREATE FUNCTION pgcall.call_details_report(call_id uuid)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'pseudonymous', pgcall.pseudonymous(),
        'call', jsonb_build_object(
            'id', c.id,
            'kind', c.kind,
            'type', c.media,
            'title', c.title,
            'description', c.description,
            'channel_id', c.channel_id,
            'room_id', c.room_id,
            'created_by', pgcall.admin_user(c.created_by),
            'is_public', c.is_public,
            'max_participants', c.max_participants,
            'status', pgcall.effective_call_status(c.status, c.ring_deadline),
            'end_reason', CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended'
                               THEN COALESCE(c.end_reason, 'missed') END,
            'ended_by', pgcall.admin_user(c.ended_by),
            'created_at', c.created_at,
            'answered_at', c.answered_at,
            'ended_at', c.ended_at),
        'participants', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'user_id', pgcall.admin_user(p.user_id),
                       'role', p.role,
                       'status', pgcall.effective_participant_status(p.status, p.ring_deadline),
                       'reason', p.reason,
                       'invited_at', p.invited_at,
                       'joined_at', s.first_joined,
                       'left_at', CASE WHEN s.open = 0 THEN s.last_left END,
                       'duration_seconds', COALESCE(s.seconds, 0),
                       'sessions', COALESCE(s.sessions, 0))
                   ORDER BY p.invited_at, p.user_id)
              FROM pgcall.participant p
              LEFT JOIN LATERAL (
                  SELECT min(ps.joined_at) AS first_joined,
                         max(ps.left_at) AS last_left,
                         count(*) FILTER (WHERE ps.left_at IS NULL) AS open,
                         floor(sum(EXTRACT(epoch FROM COALESCE(ps.left_at, GREATEST(ps.joined_at, now())) - ps.joined_at)))::bigint AS seconds,
                         count(*) AS sessions
                    FROM pgcall.participant_session ps
                   WHERE ps.call_id = p.call_id AND ps.user_id = p.user_id) s ON true
             WHERE p.call_id = c.id), '[]'::jsonb),
        'stats', jsonb_build_object(
            'total_participants', COALESCE(u.participants, 0),
            'invited', (SELECT count(*) FROM pgcall.participant p WHERE p.call_id = c.id),
            'peak_participants', COALESCE(u.peak_participants, 0),
            'total_duration_seconds', COALESCE(c.duration_seconds,
                                               CASE WHEN c.answered_at IS NOT NULL
                                                    THEN floor(EXTRACT(epoch FROM now() - c.answered_at))::integer END,
                                               0),
            'participant_seconds', floor(COALESCE(u.participant_seconds, 0))::bigint,
            'audio_minutes', round((CASE WHEN c.media = 'audio' THEN COALESCE(u.participant_seconds, 0) ELSE 0 END / 60)::numeric, 2),
            'video_minutes', round((CASE WHEN c.media = 'video' THEN COALESCE(u.participant_seconds, 0) ELSE 0 END / 60)::numeric, 2)))
      FROM pgcall.call c
      LEFT JOIN pgcall.session_usage(ARRAY[c.id], '{-infinity,infinity}') u ON true
     WHERE c.id = call_details_report.call_id
$$;

COMMENT ON FUNCTION pgcall.call_details_report(uuid) IS
'The report behind admin_call_details; NULL for an unknown call.  Internal: no access check.';

CREATE FUNCTION pgcall.analytics_report(days integer, group_by text, time_zone text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Periods are numbered 1 to k; period n runs from starts_at to ends_at
    -- (the last one to now).  The ended calls started in each period come
    -- from a range scan of the covering index call_analytics_idx (an
    -- index-only scan), so the pass over every call does no time zone
    -- arithmetic.  A
    -- call "spans" when it is live, or ended in a later period than it
    -- started in, or started before the range: its usage is cut at the
    -- period boundaries from its sessions (session_usage).  Every other
    -- call's usage is the one stored when it ended, all in the period it
    -- started in.
    WITH bounds AS MATERIALIZED (
        SELECT (date_trunc('day', now() AT TIME ZONE analytics_report.time_zone)
                - make_interval(days => analytics_report.days - 1)) AT TIME ZONE analytics_report.time_zone
                   AS range_from
    ), periods AS MATERIALIZED (
        SELECT row_number() OVER (ORDER BY g.local_start)::integer AS n,
               g.local_start::date AS period,
               GREATEST(g.local_start AT TIME ZONE analytics_report.time_zone, b.range_from) AS starts_at,
               LEAST((g.local_start + ('1 ' || analytics_report.group_by)::interval)
                         AT TIME ZONE analytics_report.time_zone, now()) AS ends_at
          FROM bounds b,
               generate_series(date_trunc(analytics_report.group_by, b.range_from AT TIME ZONE analytics_report.time_zone),
                               now() AT TIME ZONE analytics_report.time_zone,
                               ('1 ' || analytics_report.group_by)::interval) AS g(local_start)
    ), by_start AS (
        -- Ended calls, each in the period it started in.
        SELECT p.n,
               count(*) AS calls,
               sum(c.participant_count) AS participants,
               sum(c.duration_seconds) FILTER (WHERE c.answered_at IS NOT NULL) AS duration_sum,
               count(c.duration_seconds) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
               sum(c.participant_seconds) FILTER (WHERE c.ended_at <= p.ends_at AND c.media = 'audio') AS audio_seconds,
               sum(c.participant_seconds) FILTER (WHERE c.ended_at <= p.ends_at AND c.media = 'video') AS video_seconds,
               max(c.peak_participants) FILTER (WHERE c.ended_at <= p.ends_at) AS peak,
               array_agg(c.id) FILTER (WHERE c.ended_at > p.ends_at) AS spanning
          FROM periods p
          JOIN pgcall.call c ON c.status = 'ended' AND c.created_at >= p.starts_at AND c.created_at < p.ends_at
         GROUP BY p.n
    ), live AS (
        -- Calls still going on (few): counted, and their people, whose
        -- number is stored only once a call ends.
        SELECT p.n, count(*) AS calls, array_agg(c.id) AS ids,
               sum((SELECT count(*) FROM pgcall.participant pa
                     WHERE pa.call_id = c.id AND pa.joined_at IS NOT NULL)) AS participants
          FROM periods p
          JOIN pgcall.call c ON c.status <> 'ended' AND c.created_at >= p.starts_at AND c.created_at < p.ends_at
         GROUP BY p.n
    ), spanning AS (
        SELECT unnest(a.spanning) AS id FROM by_start a
        UNION ALL
        SELECT unnest(l.ids) FROM live l
        UNION ALL
        SELECT c.id FROM pgcall.call c, bounds b
         WHERE c.status = 'ended' AND tstzrange(c.created_at, GREATEST(c.created_at, c.ended_at)) @> b.range_from
           AND c.created_at < b.range_from
        UNION ALL
        SELECT c.id FROM pgcall.call c, bounds b
         WHERE c.status <> 'ended' AND c.created_at < b.range_from
    ), by_session AS (
        SELECT u.n,
               sum(u.participant_seconds) FILTER (WHERE c.media = 'audio') AS audio_seconds,
               sum(u.participant_seconds) FILTER (WHERE c.media = 'video') AS video_seconds,
               max(u.peak_participants) AS peak
          FROM pgcall.session_usage((SELECT array_agg(id) FROM spanning),
                                    (SELECT array_agg(starts_at ORDER BY n) || now() FROM periods)) u
          JOIN pgcall.call c ON c.id = u.call_id
         GROUP BY u.n
    ), rows AS (
        SELECT p.period, p.starts_at, p.ends_at,
               COALESCE(a.calls, 0) + COALESCE(l.calls, 0) AS calls,
               COALESCE(a.participants, 0) + COALESCE(l.participants, 0) AS participants,
               COALESCE(a.duration_sum, 0) AS duration_sum,
               COALESCE(a.answered, 0) AS answered,
               COALESCE(a.audio_seconds, 0) + COALESCE(s.audio_seconds, 0) AS audio_seconds,
               COALESCE(a.video_seconds, 0) + COALESCE(s.video_seconds, 0) AS video_seconds,
               GREATEST(COALESCE(a.peak, 0), COALESCE(s.peak, 0)) AS peak
          FROM periods p
          LEFT JOIN by_start a ON a.n = p.n
          LEFT JOIN live l ON l.n = p.n
          LEFT JOIN by_session s ON s.n = p.n
    )
    SELECT jsonb_build_object(
        'days', analytics_report.days,
        'group_by', analytics_report.group_by,
        'time_zone', analytics_report.time_zone,
        'from', (SELECT range_from FROM bounds),
        'to', now(),
        'stats', (SELECT jsonb_agg(jsonb_build_object(
                             'period', r.period,
                             'starts_at', r.starts_at,
                             'ends_at', r.ends_at,
                             'calls', r.calls,
                             'participants', r.participants,
                             'avg_duration', round(r.duration_sum::numeric / NULLIF(r.answered, 0)),
                             'audio_minutes', round((r.audio_seconds / 60)::numeric, 2),
                             'video_minutes', round((r.video_seconds / 60)::numeric, 2),
                             'peak_participants', r.peak)
                         ORDER BY r.period)
                    FROM rows r),
        'summary', (SELECT jsonb_build_object(
                               'calls', sum(r.calls),
                               'participants', sum(r.participants),
                               'avg_duration', round(sum(r.duration_sum)::numeric / NULLIF(sum(r.answered), 0)),
                               'audio_minutes', round((sum(r.audio_seconds) / 60)::numeric, 2),
                               'video_minutes', round((sum(r.video_seconds) / 60)::numeric, 2),
                               'peak_participants', max(r.peak))
                      FROM rows r))
$$;

COMMENT ON FUNCTION pgcall.analytics_report(integer, text, text) IS
'The report behind admin_analytics.  Internal: no access check and no argument check.';

-- ----------------------------------------------------------------------------
-- Administration
--
-- For members of pgcall_admin only: EXECUTE is granted to nobody else, and
-- each function checks the role again (P403F).  What they return shows
-- users as pgcall.admin_user does.

CREATE FUNCTION pgcall.admin_call_end(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_call_end'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_call_end(uuid) IS
'End any call for everyone, with end_reason terminated: those in it leave, those rung miss it, all get call.ended.  P404A for an unknown call, P409B if it already ended.  Returns {call_id, status, end_reason, ended_at, duration_seconds}.';

GRANT EXECUTE ON FUNCTION pgcall.admin_call_end(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_remove_participant(call_id uuid, user_id text DEFAULT NULL,
                                                pseudonym text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_remove_participant'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_remove_participant(uuid, text, text, text) IS
'Remove a participant, named by user_id or by pseudonym, from a live call for good: they leave it (or stop ringing), get a participant.removed event about themselves telling their client to leave (as does everyone still in the call), and cannot join it again (P403E).  A direct call then ends as terminated.  P404B when there is no such participant, P409B when the call ended.  Returns {user_id, already_removed, call_status}.';

GRANT EXECUTE ON FUNCTION pgcall.admin_remove_participant(uuid, text, text, text) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_call_details(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_call_details'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_call_details(uuid) IS
'One call for administrators: {pseudonymous, call: {id, kind, type, title, description, channel_id, room_id, created_by, is_public, max_participants, status, end_reason, ended_by, created_at, answered_at, ended_at}, participants: [{user_id, role, status, reason, invited_at, joined_at (first), left_at (last, null while in it), duration_seconds (all stretches), sessions}], stats: {total_participants, invited, peak_participants, total_duration_seconds, participant_seconds, audio_minutes, video_minutes}}.  Open stretches count until now.  P404A for an unknown call.';

GRANT EXECUTE ON FUNCTION pgcall.admin_call_details(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_analytics(days integer DEFAULT 30, group_by text DEFAULT 'day',
                                       time_zone text DEFAULT 'UTC')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_analytics'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_analytics(integer, text, text) IS
'Calling analytics over the last days days (1 to 3660, today included), with days, weeks and months as time_zone (default UTC) has them, grouped by day, week or month: {days, group_by, time_zone, from, to, stats: [{period, starts_at, ends_at, calls, participants, avg_duration, audio_minutes, video_minutes, peak_participants}], summary: {calls, participants, avg_duration, audio_minutes, video_minutes, peak_participants}}.  calls and participants count the calls started in a period (all kinds and outcomes) and the people who were in them; avg_duration averages the answered, ended ones (seconds, null if none); audio and video minutes are joined time in audio and video calls, counted in the period it was spent in; peak_participants is the most people in one call at once during the period.  Counts against pgcall.rate_limit_analytics; P400T for bad arguments.';

GRANT EXECUTE ON FUNCTION pgcall.admin_analytics(integer, text, text) TO pgcall_admin;

-- ----------------------------------------------------------------------------
-- The admin dashboard's call lists (web/admin.html)
--
-- Administrators find calls here, then read one with admin_call_details and
-- act on it with admin_call_end and admin_remove_participant.

CREATE FUNCTION pgcall.admin_calls_report(status text, lim integer)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Live calls come from call_live_idx (newest first), ended ones from
    -- call_ended_at_idx (most recently ended first).  A call still marked
    -- ringing past its deadline has ended, as every read shows it.
    WITH picked AS (
        SELECT c.* FROM (
            SELECT c.* FROM pgcall.call c
             WHERE admin_calls_report.status = 'live' AND c.status <> 'ended'
               AND pgcall.effective_call_status(c.status, c.ring_deadline) <> 'ended'
             ORDER BY c.created_at DESC
             LIMIT admin_calls_report.lim) c
        UNION ALL
        SELECT c.* FROM (
            SELECT c.* FROM pgcall.call c
             WHERE admin_calls_report.status = 'ended' AND c.status = 'ended'
             ORDER BY c.ended_at DESC
             LIMIT admin_calls_report.lim) c
    )
    SELECT jsonb_build_object(
        'pseudonymous', pgcall.pseudonymous(),
        'status', admin_calls_report.status,
        'calls', COALESCE(jsonb_agg(jsonb_build_object(
                     'id', c.id,
                     'kind', c.kind,
                     'type', c.media,
                     'title', c.title,
                     'room_id', c.room_id,
                     'created_by', pgcall.admin_user(c.created_by),
                     'status', pgcall.effective_call_status(c.status, c.ring_deadline),
                     'end_reason', c.end_reason,
                     'created_at', c.created_at,
                     'answered_at', c.answered_at,
                     'ended_at', c.ended_at,
                     'participants', (
                         SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                    'user_id', pgcall.admin_user(p.user_id),
                                    'role', p.role,
                                    'status', pgcall.effective_participant_status(p.status, p.ring_deadline))
                                    ORDER BY p.invited_at, p.user_id), '[]'::jsonb)
                           FROM pgcall.participant p
                          WHERE p.call_id = c.id))
                     ORDER BY COALESCE(c.ended_at, c.created_at) DESC, c.id), '[]'::jsonb))
      FROM picked c
$$;

COMMENT ON FUNCTION pgcall.admin_calls_report(text, integer) IS
'The report behind admin_calls.  Internal: no access check and no argument check.';

CREATE FUNCTION pgcall.admin_calls(status text DEFAULT 'live', "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_calls'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_calls(text, integer) IS
'Calls for administrators to pick from: status ''live'' (ringing or active, newest first) or ''ended'' (most recently ended first), at most limit (1 to 500, default 50): {pseudonymous, status, calls: [{id, kind, type, title, room_id, created_by, status, end_reason, created_at, answered_at, ended_at, participants: [{user_id, role, status}]}]}.  Users show as pseudonyms while pgcall.pseudonymize is on.  P400M for another status, P400P for a limit out of range.';

GRANT EXECUTE ON FUNCTION pgcall.admin_calls(text, integer) TO pgcall_admin;
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
-------------------------------------------------------------------------------
-- The HTTP and WebSocket API
--
-- pgcall.rpc runs a function the way PostgREST resolves /rpc/<fn>; in schema
-- pgcall it reaches only the functions listed in pgcall.api_function.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.rpc(
    schema text, fn text, args jsonb DEFAULT '{}', single boolean DEFAULT false,
    query text DEFAULT NULL, prefer text DEFAULT NULL, accept text DEFAULT NULL,
    range text DEFAULT NULL,
    OUT kind text, OUT body text, OUT rows bigint, OUT content_range text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgcall_rpc'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.rpc(text, text, jsonb, boolean, text, text, text, text) IS
'Call schema.fn with the named arguments in args, as the current role, the way PostgREST resolves /rpc/fn.  Only schemas listed in pgcall.rpc_schemas are reachable; in schema pgcall only the functions listed in pgcall.api_function; never trigger, internal or PostgreSQL''s own functions, nor rpc itself.  query is a PostgREST query string (select, filters, or/and, order, limit, offset) applied to the result; prefer, accept and range are the Prefer, Accept and Range header values (tx=rollback, handling=strict, max-affected, count; text/csv, application/vnd.pgrst.object+json).  args NULL takes the arguments from the query string, as GET does.  The function runs with its schema first on the search_path.  kind is void, scalar, object, array or csv; body is the result; rows counts the rows (all of them with count); content_range is the Content-Range value.  single asks for exactly one row as an object.  Used by the bridge for HTTP and WebSocket calls; see docs/protocol.md.';

GRANT EXECUTE ON FUNCTION pgcall.rpc(text, text, jsonb, boolean, text, text, text, text) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

-- The functions of schema pgcall that pgcall.rpc (so HTTP and WebSocket
-- clients) may call.  Everything else in the schema (helpers of policies
-- and reports, trigger functions, the bridge's own statements, rpc itself)
-- is reachable from SQL only, by the roles granted EXECUTE.
CREATE TABLE pgcall.api_function (
    name text PRIMARY KEY
);

COMMENT ON TABLE pgcall.api_function IS
'The functions of schema pgcall reachable through pgcall.rpc (POST /rpc/<name>, WebSocket calls).  EXECUTE grants still decide who may call each.';

ALTER TABLE pgcall.api_function ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_function_read ON pgcall.api_function FOR SELECT USING (true);
GRANT SELECT ON pgcall.api_function TO PUBLIC;

INSERT INTO pgcall.api_function (name) VALUES
    -- Errors, identity, tokens
    ('error_codes'), ('state_transitions'), ('event_types'), ('current_user_id'),
    ('secret_is_set'), ('turn_credentials'), ('agora_configured'), ('agora_rtc_token'),
    ('agora_rtc_token_with_privileges'), ('agora_rtm_token'), ('agora_rtc_token_006'),
    ('agora_rtm_token_006'), ('agora_token_inspect'), ('pseudonym'), ('channel_token'),
    -- Calls (32-call-api.sql, 34-conference.sql, 36-history.sql)
    ('call_start'), ('call_session'), ('call_invite'), ('call_accept'), ('call_join'),
    ('call_reject'), ('call_cancel'), ('call_leave'), ('call_end'), ('call_set_status'),
    ('call_set_media'), ('call_media_session'), ('call_signal'), ('call_get'),
    ('call_participants'), ('call_history_delete'), ('call_active'), ('call_logs'),
    ('call_history'), ('call_missed_count'), ('conference_create'), ('calls_mine'),
    ('conferences_public'),
    -- Events, presence, preferences
    ('events_since'), ('presence'), ('presence_subscribe'), ('preferences_get'),
    ('preferences_set'),
    -- Administration (70-admin.sql)
    ('admin_call_end'), ('admin_remove_participant'), ('admin_call_details'),
    ('admin_analytics'), ('admin_calls'),
    -- Webhooks (80-webhook.sql)
    ('webhook_event_types'), ('webhook_endpoint_create'), ('webhook_endpoint_update'),
    ('webhook_endpoint_rotate_secret'), ('webhook_endpoint_delete'), ('webhook_endpoints'),
    ('webhook_deliveries'), ('webhook_attempts'), ('webhook_body'), ('webhook_replay'),
    ('webhook_replay_dead'), ('webhook_purge');
-------------------------------------------------------------------------------
-- Dialects: the socket APIs of existing backends, as data
--
-- A dialect lets a client written for another calling backend talk to
-- pgcall over Socket.IO with nothing changed but the URL.  It is rows, not
-- code: pgcall.dialect_event maps the client's events onto pgcall functions
-- (run by pgcall.dialect_call, as the socket's user, through pgcall.rpc),
-- pgcall.dialect_emit maps pgcall's events onto the client's (applied by the
-- bridge's generic mapper, rules from pgcall.dialect_rules), and
-- pgcall.dialect_error words errors the way the client expects.
--
-- Templates are JSON in which a string starting with "$." (or "$[") is an
-- SQL/JSON path into a context and is replaced by what it names; a member
-- whose path names nothing is left out (an argument then takes its
-- default).  Inbound the context is {in: <the event's payload>, me: <user
-- id>}, then out: <the function's result>, or error: {code, message}.
-- Outbound it is {event: <pgcall event>, me: <user id>}, and the paths are
-- the subset the bridge evaluates: member and [index] steps only.  An
-- outbound payload (not a condition) may also read $.media: the recipient's
-- own call_media_session(call_id) for the event's call, which the bridge
-- runs as that recipient before it sends the emit (null when it fails).
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$\.media([.[]|$)') THEN
        RAISE EXCEPTION '$.media is filled in dialect_emit payloads only' USING ERRCODE = '22023',
            DETAIL = 'It is the recipient''s own call_media_session(call_id), which the bridge asks for when it sends a pgcall event to a socket; an inbound template has none.',
            HINT = 'Call call_media_session (or call_accept, whose answer carries the token) from the dialect''s event or route instead.';
    END IF;
    RETURN NOT EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string'
           AND (v #>> '{}') ~ '^\$[.[]'
           AND NOT CASE WHEN outbound
                        THEN (v #>> '{}') ~ '^\$\.(event|me|media)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$'
                        ELSE pg_catalog.jsonb_path_exists('{}', (v #>> '{}')::jsonpath) IS NOT NULL END)
       AND NOT (outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'object'
           AND v ?| ARRAY['$each', '$to', '$if', '$then', '$else']));
END
$$;

COMMENT ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) IS
'Whether every path in a dialect template is usable: a valid SQL/JSON path inbound; outbound only $.event, $.me or $.media followed by .member and [index] steps (what the bridge evaluates), and none of the inbound constructs ($each/$to, $if/$then/$else).  $.media (the recipient''s call_media_session) is raised against (22023) in an inbound template; dialect_when_ok raises against it in a condition.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_when_ok("when" jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.jsonb_typeof("when") = 'object' AND EXISTS (
        SELECT FROM pg_catalog.jsonb_each("when") w
         WHERE w.key ~ '^\$\.media([.[]|$)'
            OR (pg_catalog.jsonb_typeof(w.value) = 'string' AND (w.value #>> '{}') ~ '^\$\.media([.[]|$)')) THEN
        RAISE EXCEPTION '$.media cannot be read in a dialect_emit condition' USING ERRCODE = '22023',
            DETAIL = 'The rule is chosen before the bridge asks the database for the recipient''s media session, and only when its payload reads $.media.',
            HINT = 'Conditions read $.event and $.me; read $.media in the payload.';
    END IF;
    RETURN pg_catalog.jsonb_typeof("when") = 'object'
       AND pgcall.dialect_template_ok("when", true)
       AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_object_keys("when") k
                        WHERE k !~ '^\$\.(event|me)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$');
END
$$;

COMMENT ON FUNCTION pgcall.dialect_when_ok(jsonb) IS
'Whether a dialect_emit condition is usable: an object whose keys are outbound paths and whose values are outbound paths or literals, none of them $.media (22023).';

GRANT EXECUTE ON FUNCTION pgcall.dialect_when_ok(jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    namespace     text NOT NULL DEFAULT '/' CHECK (namespace ~ '^/[A-Za-z0-9_/-]{0,63}$'),
    error_event   text CHECK (error_event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    error_payload jsonb NOT NULL DEFAULT '{"message": "$.error.message"}'
                  CHECK (pgcall.dialect_template_ok(error_payload)),
    description   text,
    http_error    jsonb NOT NULL DEFAULT '{"success": false, "message": "$.error.message"}'
                  CHECK (pgcall.dialect_template_ok(http_error))
);

COMMENT ON TABLE pgcall.dialect IS
'A dialect: the Socket.IO namespace its clients connect to, the event (error_event, payload from error_payload over {in, me, error: {code, message}}) with which a failed socket request is answered, and the body of a failed REST request (http_error).  The bridge serves a dialect on each --dialect NAME=PORT port (its Socket.IO at /socket.io/, its REST routes for every other path), and one at /socket.io/ of its own port (--socketio-dialect).';

COMMENT ON COLUMN pgcall.dialect.http_error IS
'The body of a failed REST request of the dialect, filled in from {params, query, body, me, error: {code, message, status}}.';

ALTER TABLE pgcall.dialect ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_read ON pgcall.dialect FOR SELECT USING (true);

-- Seed 003 (MongoDB + WebRTC peer-to-peer, Socket.IO default namespace):
-- docs/migrating/seed003.md.  The callee must be online
-- (require_online), as that backend answered userNotAvailable.
INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, description) VALUES
    ('seed003', '/', 'callError', '{"error": "$.error.message"}',
     'Seed 003: WebRTC peer-to-peer calls, Socket.IO default namespace (initiateCall, acceptCall, sendOffer...)');

GRANT SELECT ON pgcall.dialect TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_event (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    event         text NOT NULL CHECK (event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    fn            text NOT NULL REFERENCES pgcall.api_function (name),
    args          jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(args) = 'object'
                                                     AND pgcall.dialect_template_ok(args)),
    required      text[] NOT NULL DEFAULT '{}',
    self_fields   text[] NOT NULL DEFAULT '{}',
    reply_event   text CHECK (reply_event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    reply_payload jsonb CHECK (pgcall.dialect_template_ok(reply_payload)),
    reply_when    jsonpath,
    PRIMARY KEY (dialect, event)
);

COMMENT ON TABLE pgcall.dialect_event IS
'A client event of a dialect: the pgcall function it calls (fn, reachable through pgcall.rpc) with args filled in from {in, me}; members of the payload it cannot go without (required: "<member> required", P400R); members that name the sender and must equal the authenticated user (self_fields: P403A otherwise, so a seed that trusted a user id in the body keeps its shape but not the hole); and what the sender gets back: reply_event with reply_payload over {in, me, out}, when reply_when holds (always without it).  The ack of an event gets the reply payload, or the function''s result when there is none.';

ALTER TABLE pgcall.dialect_event ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_event_read ON pgcall.dialect_event FOR SELECT USING (true);

INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, reply_event, reply_payload, reply_when) VALUES
    ('seed003', 'initiateCall', 'call_start',
     '{"invitees": ["$.in.receiverId"], "type": "$.in.callType", "require_online": true}', '{receiverId}',
     'callInitiated', '{"callId": "$.out.call.id", "receiverId": "$.in.receiverId", "callType": "$.out.call.media"}',
     '$.out.call.status != "ended"'),
    ('seed003', 'acceptCall', 'call_accept', '{"call_id": "$.in.callId"}', '{callId}',
     'callAcceptedConfirm', '{"callId": "$.out.call.id"}', NULL),
    ('seed003', 'rejectCall', 'call_reject', '{"call_id": "$.in.callId"}', '{callId}',
     'callRejectedConfirm', '{"callId": "$.in.callId"}', NULL),
    ('seed003', 'endCall', 'call_end', '{"call_id": "$.in.callId"}', '{callId}',
     'callEndedConfirm', '{"callId": "$.in.callId"}', NULL),
    ('seed003', 'sendOffer', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "offer", "payload": "$.in.offer"}',
     '{to,offer,callId}', NULL, NULL, NULL),
    ('seed003', 'sendAnswer', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "answer", "payload": "$.in.answer"}',
     '{to,answer,callId}', NULL, NULL, NULL),
    ('seed003', 'sendIceCandidate', 'call_signal',
     '{"call_id": "$.in.callId", "to_user": "$.in.to", "kind": "candidate", "payload": "$.in.candidate"}',
     '{to,candidate,callId}', NULL, NULL, NULL);

GRANT SELECT ON pgcall.dialect_event TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_emit (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    pgcall_event  text NOT NULL,
    seq           integer NOT NULL DEFAULT 1,
    "when"        jsonb NOT NULL DEFAULT '{}' CHECK (pgcall.dialect_when_ok("when")),
    event         text NOT NULL CHECK (event ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    payload       jsonb CHECK (pgcall.dialect_template_ok(payload, true)),
    PRIMARY KEY (dialect, pgcall_event, seq)
);

COMMENT ON TABLE pgcall.dialect_emit IS
'A pgcall event as a dialect''s clients see it: the first row (by seq) whose "when" holds (each key a path, each value a path or a literal, compared as JSON) is emitted as event with payload filled in from {event, me, media}.  An event with no matching row is not sent to the socket.  Paths: $.event, $.me or (in payload only) $.media, then .member and [index] steps.  $.media is the recipient''s own call_media_session(call_id) for the event''s call (its Agora token: "$.media.agora.token"), asked for as that recipient when the row applies; its paths fill null when the recipient may not have one.';

ALTER TABLE pgcall.dialect_emit ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_emit_read ON pgcall.dialect_emit FOR SELECT USING (true);

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload) VALUES
    ('seed003', 'call.incoming', 1, '{}', 'incomingCall',
     '{"callId": "$.event.call_id", "callerId": "$.event.call.created_by", "callType": "$.event.call.media",
       "caller": "$.event.data.caller"}'),
    ('seed003', 'call.accepted', 1, '{"$.event.call.created_by": "$.me"}', 'callAccepted',
     '{"callId": "$.event.call_id", "receiverId": "$.event.data.by"}'),
    ('seed003', 'call.rejected', 1, '{"$.event.call.created_by": "$.me"}', 'callRejected',
     '{"callId": "$.event.call_id", "receiverId": "$.event.data.by"}'),
    ('seed003', 'call.ended', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by"}'),
    ('seed003', 'call.cancelled', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by"}'),
    ('seed003', 'call.missed', 1, '{}', 'callEnded',
     '{"callId": "$.event.call_id", "endedBy": null}'),
    ('seed003', 'call.unavailable', 1, '{"$.event.call.created_by": "$.me"}', 'userNotAvailable',
     '{"message": "User is not available", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 1, '{"$.event.data.kind": "offer"}', 'receiveOffer',
     '{"offer": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 2, '{"$.event.data.kind": "answer"}', 'receiveAnswer',
     '{"answer": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}'),
    ('seed003', 'call.signal', 3, '{"$.event.data.kind": "candidate"}', 'receiveIceCandidate',
     '{"candidate": "$.event.data.payload", "from": "$.event.data.from", "callId": "$.event.call_id"}');

GRANT SELECT ON pgcall.dialect_emit TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE TABLE pgcall.dialect_error (
    dialect       text NOT NULL REFERENCES pgcall.dialect ON DELETE CASCADE,
    sqlstate      text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    message       text NOT NULL,
    http_status   integer CHECK (http_status BETWEEN 400 AND 599),
    PRIMARY KEY (dialect, sqlstate)
);

COMMENT ON TABLE pgcall.dialect_error IS
'The words a dialect''s clients expect for an error: message replaces the error''s own for this SQLSTATE.';

COMMENT ON COLUMN pgcall.dialect_error.http_status IS
'The HTTP status a REST request of the dialect fails with for this SQLSTATE (NULL: the status pgcall.dialect_http_status() gives).';

ALTER TABLE pgcall.dialect_error ENABLE ROW LEVEL SECURITY;

CREATE POLICY dialect_error_read ON pgcall.dialect_error FOR SELECT USING (true);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed003', 'P404A', 'Call not found'),
    ('seed003', 'P403A', 'Not authorized'),
    ('seed003', 'P403B', 'Not authorized'),
    ('seed003', 'P409A', 'Call already processed'),
    ('seed003', 'P409B', 'Call already processed'),
    ('seed003', 'P409C', 'Call already processed');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed003', '22P02', 'Call not found', 404);

GRANT SELECT ON pgcall.dialect_error TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

-- In C (extension/dialect_fill.c): the PL/pgSQL version took longer to
-- fill a list's template than the function behind a route took to run.
CREATE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_dialect_fill'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array); an object {"$if": <path>, "$then": <template>, "$else": <template>} becomes $then filled in when the path names a value other than null and false, else $else (null without one).';

GRANT EXECUTE ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_rules(dialect text, namespace text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_rules.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023',
            HINT = 'The bridge''s --socketio-dialect names a row of pgcall.dialect.';
    END IF;
    IF d.namespace IS DISTINCT FROM dialect_rules.namespace THEN
        RAISE EXCEPTION 'Invalid namespace' USING ERRCODE = '22023',
            DETAIL = format('Dialect %s is served in namespace %s.', d.name, d.namespace);
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('on', e.pgcall_event, 'when', e."when",
                                                        'emit', e.event, 'payload', e.payload)
                                      ORDER BY e.pgcall_event, e.seq), '[]')
              FROM pgcall.dialect_emit e
             WHERE e.dialect = d.name);
END
$$;

COMMENT ON FUNCTION pgcall.dialect_rules(text, text) IS
'The outbound rules of a dialect, as the bridge''s mapper reads them: [{on, when, emit, payload}], in seq order per pgcall event.  Raises 22023 for an unknown dialect, and "Invalid namespace" (22023) when namespace is not the dialect''s.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_rules(text, text) TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.dialect_call(dialect text, event text, payload jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d pgcall.dialect;
    e pgcall.dialect_event;
    me text := pgcall.current_user_id();
    ctx jsonb;
    args jsonb;
    body text;
    reply jsonb;
    st text;
    msg text;
    f text;
BEGIN
    SELECT * INTO d FROM pgcall.dialect WHERE name = dialect_call.dialect;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown dialect "%"', dialect USING ERRCODE = '22023';
    END IF;
    ctx := jsonb_build_object('in', coalesce(payload, 'null'), 'me', me);
    BEGIN
        SELECT * INTO e FROM pgcall.dialect_event de
         WHERE de.dialect = d.name AND de.event = dialect_call.event;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Unknown event "%"', left(dialect_call.event, 64) USING ERRCODE = '42883';
        END IF;
        FOREACH f IN ARRAY e.required LOOP
            IF jsonb_typeof(payload) IS DISTINCT FROM 'object' OR coalesce(payload -> f, 'null') = 'null' THEN
                RAISE EXCEPTION '% required', f USING ERRCODE = 'P400R';
            END IF;
        END LOOP;
        FOREACH f IN ARRAY e.self_fields LOOP
            IF jsonb_typeof(payload) = 'object' AND payload ? f
               AND (me IS NULL OR payload -> f IS DISTINCT FROM to_jsonb(me)) THEN
                RAISE EXCEPTION '% must be the authenticated user', f USING ERRCODE = 'P403A';
            END IF;
        END LOOP;
        args := pgcall.dialect_fill(e.args, ctx);
        SELECT r.body INTO body FROM pgcall.rpc('pgcall', e.fn, args, false) r;
        ctx := ctx || jsonb_build_object('out', coalesce(body::jsonb, 'null'));
        IF e.reply_payload IS NOT NULL THEN
            reply := pgcall.dialect_fill(e.reply_payload, ctx);
        END IF;
        RETURN jsonb_build_object(
            'emit', CASE WHEN e.reply_event IS NOT NULL
                          AND (e.reply_when IS NULL OR jsonb_path_match(ctx, e.reply_when))
                         THEN jsonb_build_array(jsonb_build_array(e.reply_event, reply))
                         ELSE '[]' END,
            'ack', coalesce(reply, ctx -> 'out'));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        -- not the request's fault: the bridge answers these as it does any failure
        IF left(st, 2) IN ('08', '40', '53', '54', '55', '57', '58', 'XX') THEN
            RAISE;
        END IF;
        SELECT de.message INTO msg FROM pgcall.dialect_error de
         WHERE de.dialect = d.name AND de.sqlstate = st
        UNION ALL SELECT msg LIMIT 1;
        reply := pgcall.dialect_fill(d.error_payload,
                                     ctx || jsonb_build_object('error', jsonb_build_object('code', st, 'message', msg)));
        RETURN jsonb_build_object(
            'emit', CASE WHEN d.error_event IS NOT NULL
                         THEN jsonb_build_array(jsonb_build_array(d.error_event, reply))
                         ELSE '[]' END,
            'ack', reply,
            'error', jsonb_build_object('code', st, 'message', msg));
    END;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_call(text, text, jsonb) IS
'Run a dialect''s client event as the current user: {emit: [[event, payload]...], ack: payload} for the bridge to send back, or, when it fails, the dialect''s error event (with error: {code, message}).  Everything the function does is rolled back on failure.  The bridge calls it for each Socket.IO EVENT of a dialect socket.';

GRANT EXECUTE ON FUNCTION pgcall.dialect_call(text, text, jsonb) TO pgcall_user, pgcall_backend, pgcall_admin;

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
-- way the seed's clients expect: status and body.  Route templates are
-- filled in from {params, query, body, me}, then out or error: {code,
-- message, status}.
-------------------------------------------------------------------------------

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
    writes           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dialect, method, path)
);

COMMENT ON TABLE pgcall.dialect_route IS
'A REST route of a dialect: method and path (literal segments and :params) call the pgcall function fn (reachable through pgcall.rpc) with args filled in from {params, query, body, me}.  required: body members it cannot go without (required_message, or "<member> required", P400R); self_fields: body members that name the caller and must equal the authenticated user (P403A), except that a backend credential (pgcall_backend) acts for the user they name; backend_only: only backend credentials may call it (42501 otherwise); and the answer: status with response filled in from {params, query, body, me, out} (the function''s result when NULL).  A literal segment wins over a :param.  A GET route runs in a read-only transaction, as PostgREST and GET /rpc run a GET, unless writes says its function writes (a function that writes on a read-only route fails with 405).';

ALTER TABLE pgcall.dialect_route ENABLE ROW LEVEL SECURITY;
CREATE POLICY dialect_route_read ON pgcall.dialect_route FOR SELECT USING (true);
GRANT SELECT ON pgcall.dialect_route TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

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

GRANT EXECUTE ON FUNCTION pgcall.dialect_http_status(text, boolean), pgcall.dialect_query(text),
    pgcall.dialect_unescape(text), pgcall.dialect_http(text, text, text, text, text)
    TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
-------------------------------------------------------------------------------
-- The dialects of seeds 000, 001, 002 and 004, and seed 003's REST routes
-- (seed 003's Socket.IO is in 92-dialect.sql): rows of the tables there.
-- Guides: docs/migrating/seed000.md ... seed004.md.
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Seed 001 (NestJS + Agora, Socket.IO namespace /calls): its socket events
-- as a dialect, docs/migrating/seed001.md.
--
-- The seed documents the names of its events, not their payloads beyond the
-- client's ({callId, ...}); the payloads here follow its REST shapes
-- (camelCase, isMicMuted/isCameraOff/isSharingScreen).  join_call answers
-- (or rejoins) as call_set_status(joined), which changes nothing when one is
-- joined already, so the seed's "join over REST, then join_call, again after
-- every reconnect" works, and so does a client that only has the socket.
-- participant.reconnected reaches the others as participant_joined (with
-- reconnected: true): what the seed's server sent when a client came back
-- and emitted join_call again.
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, http_error, description) VALUES
    ('seed001', '/calls', 'error', '{"message": "$.error.message", "code": "$.error.code"}',
     '{"statusCode": "$.error.status", "message": "$.error.message", "code": "$.error.code"}',
     'Seed 001: NestJS group calls in chat rooms, Socket.IO namespace /calls (join_call, media_state_changed, participant_disconnected...)');

INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, reply_event, reply_payload) VALUES
    ('seed001', 'join_call', 'call_set_status', '{"call_id": "$.in.callId", "status": "joined"}', '{callId}',
     'call_participants',
     '{"callId": "$.out.call.id", "status": "$.out.call.status",
       "participants": {"$each": "$.out.call.participants",
                        "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'),
    ('seed001', 'leave_call', 'call_leave', '{"call_id": "$.in.callId"}', '{callId}',
     NULL, '{"callId": "$.out.call.id", "status": "left", "callStatus": "$.out.call.status"}'),
    ('seed001', 'media_state_changed', 'call_set_media',
     '{"call_id": "$.in.callId", "mic_muted": "$.in.isMicMuted", "camera_off": "$.in.isCameraOff",
       "sharing_screen": "$.in.isSharingScreen"}', '{callId}',
     NULL,
     '{"callId": "$.out.call.id",
       "isMicMuted": "$.out.call.participants[*] ? (@.user_id == $.me).mic_muted",
       "isCameraOff": "$.out.call.participants[*] ? (@.user_id == $.me).camera_off",
       "isSharingScreen": "$.out.call.participants[*] ? (@.user_id == $.me).sharing_screen"}'),
    ('seed001', 'call_status_changed', 'call_set_status',
     '{"call_id": "$.in.callId", "status": "$.in.status", "reason": "$.in.reason"}', '{callId,status}',
     NULL,
     '{"callId": "$.out.call.id",
       "status": "$.out.call.participants[*] ? (@.user_id == $.me).status",
       "callStatus": "$.out.call.status"}');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed001', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "group"}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": true, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('call.incoming', 2, '{}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": false, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('participant.joined', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"}}'),
    ('participant.reconnected', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"},
       "reconnected": true}'),
    ('participant.left', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "reason": "removed"}'),
    ('participant.disconnected', 1, '{}', 'participant_disconnected',
     '{"callId": "$.event.call_id", "userId": "$.event.data.user_id", "since": "$.event.data.since"}'),
    ('participant.media', 1, '{}', 'participant_media_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "isMicMuted": "$.event.participant.mic_muted", "isCameraOff": "$.event.participant.camera_off",
       "isSharingScreen": "$.event.participant.sharing_screen"}'),
    ('participant.invited', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.ringing', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.declined', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.missed', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.busy', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('call.ended', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.rejected', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}')
  ) AS v(e, seq, w, ev, p);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed001', 'P404A', 'Call not found'),
    ('seed001', '22P02', 'Invalid payload: callId must be a call id, media flags true or false');

-------------------------------------------------------------------------------
-- Seed 004 (NestJS microservices, RabbitMQ, Agora; Socket.IO namespace
-- /realtime): the events its realtime gateway emits, as a dialect,
-- docs/migrating/seed004.md.
--
-- The seed's clients act over REST (POST /call/start, /call/accept, ...) and
-- only listen on the socket: the dialect has no client events.  roomId is
-- what the seed's clients join Agora with (channelName: roomId), so it is
-- pgcall's Agora channel (call.channel_id); the seed's conversationId is
-- pgcall's room_id.  callType and mediaType are upper case in the seed
-- ('DIRECT'|'GROUP', 'AUDIO'|'VIDEO'): one row per combination.  A group
-- member's decline reaches the others as call.participant_left (the seed's
-- call.call_rejected would end the call in every client); a direct call that
-- is declined ends as call.call_rejected.  call.call_accepted carries each
-- recipient's own Agora token, as the seed's did ($.media: the bridge runs
-- call_media_session as that recipient).
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed004', '/realtime', NULL, '{"statusCode": "$.error.status", "message": "$.error.message"}',
     'Seed 004: NestJS realtime gateway, Socket.IO namespace /realtime (call.incoming_call, call.call_accepted...)');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed004', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "direct", "$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 2, '{"$.event.call.kind": "direct", "$.event.call.media": "video"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 3, '{"$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 4, '{}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.accepted', 1, '{}', 'call.call_accepted',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.data.by",
       "token": "$.media.agora.token"}'),
    ('call.rejected', 1, '{}', 'call.call_rejected',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.call.ended_by"}'),
    ('call.ended', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('participant.joined', 1, '{}', 'call.participant_joined',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id"}'),
    ('participant.left', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "removed"}'),
    ('participant.declined', 1, '{"$.event.call.kind": "group"}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "declined"}')
  ) AS v(e, seq, w, ev, p);

-- The REST routes of seeds 000, 002 and 003 (docs/migrating/seed000.md,
-- seed002.md, seed003.md): their paths, bodies, response shapes, status
-- codes and error texts, over pgcall's functions.

-- Seed 003 (MongoDB + WebRTC peer-to-peer): {success, message, data}.
-- status is the seed's: no-answer while the call rings (its documented
-- "still ringing"), the end reason once it ended, else pgcall's status.

-- (dialect_error words both the socket's and the REST errors: no row for
-- 42883, whose words differ, "Unknown event" and "Route not found")
INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed003', '22032', 'Invalid JSON body', 400),
    ('seed003', 'P404B', 'Call not found', 404),
    ('seed003', 'P400O', 'Receiver not found', 400);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed003', 'POST', '/api/calls/initiate', 'call_start',
     '{"invitees": ["$.body.receiverId"], "type": "$.body.callType", "require_online": true}', '{receiverId}', 201,
     '{"success": true, "message": "Call initiated",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.body.receiverId"}, "callType": "$.out.call.media",
                "status": {"$if": "$.out.call.status == \"ringing\"", "$then": "no-answer",
                           "$else": {"$if": "$.out.call.status == \"ended\"", "$then": "$.out.call.end_reason",
                                     "$else": "$.out.call.status"}},
                "endReason": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at"}}'),
    ('seed003', 'POST', '/api/calls/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call accepted",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.status",
                "createdAt": "$.out.call.created_at", "startedAt": "$.out.call.answered_at"}}'),
    ('seed003', 'POST', '/api/calls/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call rejected",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at", "endedAt": "$.out.call.ended_at"}}'),
    ('seed003', 'POST', '/api/calls/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call ended",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "duration": "$.out.call.duration_seconds", "createdAt": "$.out.call.created_at",
                "startedAt": "$.out.call.answered_at", "endedAt": "$.out.call.ended_at"}}');

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response)
SELECT 'seed003', 'GET', p, 'call_history',
       jsonb_build_object('type', '$.query.type', 'limit', '$.query.limit', 'skip', '$.query.skip')
           || CASE WHEN p = '/api/calls/missed' THEN '{"missed_only": true}'::jsonb ELSE '{}'::jsonb END,
       '{"success": true,
         "data": {"$each": "$.out.data",
                  "$to": {"_id": "$.item.id",
                          "callerId": {"_id": "$.item.caller.id", "username": "$.item.caller.display_name",
                                       "images": "$.item.caller.avatar_url"},
                          "receiverId": {"_id": "$.item.participants[0].id",
                                         "username": "$.item.participants[0].display_name",
                                         "images": "$.item.participants[0].avatar_url"},
                          "callType": "$.item.type",
                          "status": {"$if": "$.item.status == \"ringing\"", "$then": "no-answer",
                                     "$else": "$.item.status"},
                          "duration": "$.item.duration",
                          "direction": "$.item.direction", "isMissed": "$.item.is_missed",
                          "createdAt": "$.item.created_at", "startedAt": "$.item.started_at",
                          "endedAt": "$.item.ended_at"}},
         "hasMore": "$.out.has_more"}'::jsonb
  FROM unnest(ARRAY['/api/calls/history', '/api/calls/missed']) p;

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response) VALUES
    ('seed003', 'DELETE', '/api/calls/history/:callId', 'call_history_delete', '{"call_id": "$.params.callId"}',
     '{"success": true, "message": "Call deleted from history"}');

-- Seed 000 (Express + Sequelize, Agora): no authentication there; here the
-- body's userId must be the token's user, or a backend token acts for it.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed000', '/', NULL, '{"success": false, "message": "$.error.message"}',
     'Seed 000: Agora one-to-one calls over REST (POST /api/calls/session, /end, /logs)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed000', 'P503A', 'Calls not configured', 503),
    ('seed000', '42883', 'Not found', 404),
    ('seed000', '22032', 'Invalid JSON body', 400),
    ('seed000', 'P404A', 'Call not found', 404),
    ('seed000', 'P403A', 'userId must be the authenticated user', 403),
    ('seed000', 'P401A', 'Authentication required', 401);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, required_message, self_fields, response) VALUES
    ('seed000', 'POST', '/api/calls/session', 'call_session',
     '{"other_user": "$.body.otherUserId", "type": "$.body.type", "channel_id": "$.body.channelId"}',
     '{userId,otherUserId}', 'userId and otherUserId are required', '{userId}',
     '{"success": true, "appId": "$.out.app_id", "channelId": "$.out.channel_id", "token": "$.out.token",
       "expireAt": "$.out.expire_at", "type": "$.body.type"}'),
    ('seed000', 'POST', '/api/calls/end', 'call_end', '{"channel_id": "$.body.channelId"}',
     '{userId,channelId}', 'userId and channelId are required', '{userId}',
     '{"success": true, "message": "Call ended",
       "callLog": {"id": "$.out.call_id", "channelId": "$.out.channel_id",
                   "durationSeconds": "$.out.call.duration_seconds", "endedAt": "$.out.call.ended_at"}}'),
    ('seed000', 'POST', '/api/calls/logs', 'call_logs', '{"page": "$.body.page", "limit": "$.body.limit"}',
     '{userId}', 'userId is required', '{userId}',
     '{"success": true,
       "logs": {"$each": "$.out.logs",
                "$to": {"id": "$.item.id", "channelId": "$.item.channel_id", "type": "$.item.type",
                        "startedAt": "$.item.started_at", "endedAt": "$.item.ended_at",
                        "durationSeconds": "$.item.duration_seconds", "role": "$.item.role",
                        "otherUser": {"id": "$.item.other_user.id", "fullName": "$.item.other_user.display_name",
                                      "profilePicture": "$.item.other_user.avatar_url"}}},
       "pagination": "$.out.pagination"}');

-- Seed 002 (Ikoota, Agora conferences): bearer tokens, admin routes for
-- pgcall_admin, the token-by-channel route for backend tokens only.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed002', '/', NULL, '{"success": false, "error": "$.error.message"}',
     'Seed 002: Agora conferences over REST (/api/calling/...)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed002', '42883', 'Not found', 404),
    ('seed002', '22032', 'Invalid request parameters', 400),
    ('seed002', '22P02', 'Call not found or ended', 404),
    ('seed002', 'P404A', 'Call not found or ended', 404),
    ('seed002', 'P409B', 'Call not found or ended', 404),
    ('seed002', 'P409D', 'Call is full', 400),
    ('seed002', 'P403C', 'Access denied to private call', 403),
    ('seed002', 'P403B', 'Access denied to this call', 403),
    ('seed002', 'P404B', 'Participant not found', 404),
    ('seed002', '42501', 'Access denied', NULL),
    ('seed002', 'P403F', 'Admin access required', 403),
    ('seed002', 'P400S', 'Invalid request parameters', 400),
    ('seed002', 'P503A', 'Token generation failed', 500);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, backend_only, status, response) VALUES
    ('seed002', 'POST', '/api/calling/token', 'channel_token',
     '{"channel_id": "$.body.channelName", "user_id": "$.body.userId", "uid": "$.body.uid"}',
     '{channelName,userId}', true, 200,
     '{"token": "$.out.token", "appId": "$.out.app_id", "channelName": "$.out.channel_id", "uid": "$.out.uid",
       "userAccount": "$.out.account", "expiresAt": "$.out.expires_at"}'),
    ('seed002', 'POST', '/api/calling/create', 'conference_create',
     '{"title": "$.body.title", "description": "$.body.description", "is_public": "$.body.isPublic",
       "max_participants": "$.body.maxParticipants"}', '{title}', false, 200,
     '{"callId": "$.out.call.id", "channelName": "$.out.call.channel_id", "title": "$.out.call.title",
       "description": "$.out.call.description", "isPublic": "$.out.call.is_public",
       "maxParticipants": "$.out.call.max_participants"}'),
    ('seed002', 'POST', '/api/calling/:callId/join', 'call_join', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true, "channelName": "$.out.call.channel_id", "callTitle": "$.out.call.title",
       "token": "$.out.agora.token", "appId": "$.out.agora.app_id", "userAccount": "$.out.agora.account",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('seed002', 'POST', '/api/calling/:callId/leave', 'call_leave', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true}'),
    ('seed002', 'GET', '/api/calling/my-calls', 'calls_mine', '{"status": "$.query.status", "limit": "$.query.limit"}',
     '{}', false, 200, NULL),
    ('seed002', 'GET', '/api/calling/preferences', 'preferences_get', '{}', '{}', false, 200, NULL),
    ('seed002', 'PUT', '/api/calling/preferences', 'preferences_set',
     '{"voice_masking_enabled": "$.body.voice_masking_enabled", "video_masking_enabled": "$.body.video_masking_enabled",
       "auto_mute_on_join": "$.body.auto_mute_on_join", "video_quality": "$.body.video_quality",
       "preferred_avatar": "$.body.preferred_avatar"}', '{}', false, 200,
     '{"success": true, "message": "Preferences updated successfully",
       "preferences": {"voice_masking_enabled": "$.out.voice_masking_enabled",
                       "video_masking_enabled": "$.out.video_masking_enabled",
                       "auto_mute_on_join": "$.out.auto_mute_on_join", "video_quality": "$.out.video_quality",
                       "preferred_avatar": "$.out.preferred_avatar"}}'),
    ('seed002', 'GET', '/api/calling/admin/analytics', 'admin_analytics',
     '{"days": "$.query.days", "group_by": "$.query.groupBy"}', '{}', false, 200,
     '{"dailyStats": {"$each": "$.out.stats",
                      "$to": {"date": "$.item.period", "total_calls": "$.item.calls",
                              "total_participants": "$.item.participants", "avg_duration": "$.item.avg_duration",
                              "audio_minutes": "$.item.audio_minutes", "video_minutes": "$.item.video_minutes"}},
       "summary": {"totalCalls": "$.out.summary.calls", "totalParticipants": "$.out.summary.participants",
                   "totalAudioMinutes": "$.out.summary.audio_minutes",
                   "totalVideoMinutes": "$.out.summary.video_minutes",
                   "averageCallDuration": "$.out.summary.avg_duration",
                   "peakParticipants": "$.out.summary.peak_participants"}}'),
    ('seed002', 'GET', '/api/calling/admin/:callId/details', 'admin_call_details', '{"call_id": "$.params.callId"}',
     '{}', false, 200, NULL),
    ('seed002', 'POST', '/api/calling/admin/:callId/end', 'admin_call_end', '{"call_id": "$.params.callId"}',
     '{}', false, 200, '{"success": true, "message": "Call ended successfully", "endedAt": "$.out.ended_at"}'),
    ('seed002', 'DELETE', '/api/calling/admin/:callId/participants/:userId', 'admin_remove_participant',
     '{"call_id": "$.params.callId", "user_id": "$.params.userId"}', '{}', false, 200,
     '{"success": true, "message": "Participant removed from call"}');
-- Analytics counts against pgcall.rate_limit_analytics (a write), and the
-- seed's dashboard reads it with GET: the one shipped GET route that writes.
UPDATE pgcall.dialect_route SET writes = true
 WHERE dialect = 'seed002' AND method = 'GET' AND path = '/api/calling/admin/analytics';

-------------------------------------------------------------------------------
-- The REST routes of seeds 001 and 004 (docs/migrating/seed001.md,
-- seed004.md, "REST"), served with their Socket.IO dialects on a --dialect
-- port.
--
-- Seed 001 (NestJS): {statusCode, message, data}, data the call in the
-- seed's camelCase (its participants as in call_participants); 201 for
-- initiate (NestJS's default for a POST), 200 for the rest (the one answer
-- the seed shows, the media session, says 200).  Errors {statusCode,
-- message, code}.
--
-- Seed 004 (NestJS API gateway): the seed shows no response bodies; each
-- answers what its call service published ({callId, roomId, token} for the
-- caller and the acceptor), 201 as NestJS answers a POST.  roomId and reason
-- in the bodies are not read: the call's own Agora channel is the room (the
-- seed minted a token for whatever roomId a client sent), and pgcall's end
-- reasons are its own.
-------------------------------------------------------------------------------


INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed001', '22032', 'Invalid JSON body', 400),
    ('seed004', '22032', 'Invalid JSON body', 400),
    ('seed004', '22P02', 'Invalid payload: callId must be a call id', 400),
    ('seed004', 'P404A', 'Call not found', 404);


-- Seed 001's call, with the call at $.call (replaced by the call's path in
-- each route): its participants as call_participants lists them.
WITH seed001_call(t) AS (
SELECT '{"id": "$.call.id", "chatRoomId": "$.call.room_id", "type": "$.call.media",
         "isGroupCall": "$.call.kind == \"group\"", "status": "$.call.status",
         "initiatorId": "$.call.created_by", "maxParticipants": "$.call.max_participants",
         "channelName": "$.call.channel_id", "createdAt": "$.call.created_at",
         "answeredAt": "$.call.answered_at", "endedAt": "$.call.ended_at", "endedBy": "$.call.ended_by",
         "endReason": "$.call.end_reason", "duration": "$.call.duration_seconds",
         "participants": {"$each": "$.call.participants",
                          "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                  "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                  "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                  "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'::text)
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response)
SELECT 'seed001', m, p, fn, a::jsonb, req::text[], st,
       jsonb_build_object('statusCode', st, 'message', msg,
                          'data', CASE WHEN data = 'call' THEN replace(t, '$.call', '$.out.call')::jsonb
                                       WHEN data = 'active' THEN jsonb_build_object('$if', '$.out.id',
                                                                   '$then', replace(t, '$.call', '$.out')::jsonb)
                                       ELSE data::jsonb END)
  FROM seed001_call, (VALUES
    ('POST', '/api/v1/calls/rooms/:chatRoomId/initiate', 'call_start',
     '{"invitees": "$.body.inviteUserIds", "type": "$.body.type", "room_id": "$.params.chatRoomId",
       "is_group": "$.body.isGroupCall", "max_participants": "$.body.maxParticipants"}',
     '{inviteUserIds}', 201, 'Call initiated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/join', 'call_join',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff"}',
     '{}', 200, 'Joined call successfully', 'call'),
    ('POST', '/api/v1/calls/:id/media/session', 'call_media_session', '{"call_id": "$.params.id"}',
     '{}', 200, 'Media session created successfully',
     '{"provider": "$.out.agora.provider", "mode": "sfu", "channelName": "$.out.agora.channel_id",
       "userAccount": "$.out.agora.account", "appId": "$.out.agora.app_id", "rtcToken": "$.out.agora.token",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('PATCH', '/api/v1/calls/:id/status', 'call_set_status',
     '{"call_id": "$.params.id", "status": "$.body.status", "reason": "$.body.declineReason"}',
     '{status}', 200, 'Participant status updated successfully', 'call'),
    ('PATCH', '/api/v1/calls/:id/media', 'call_set_media',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff",
       "sharing_screen": "$.body.isSharingScreen"}',
     '{}', 200, 'Media state updated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/end', 'call_end', '{"call_id": "$.params.id"}',
     '{}', 200, 'Call ended successfully', 'call'),
    ('GET', '/api/v1/calls/rooms/:chatRoomId/active', 'call_active', '{"room_id": "$.params.chatRoomId"}',
     '{}', 200, 'Active call retrieved successfully', 'active')
  ) AS v(m, p, fn, a, req, st, msg, data);

-- Seed 004: kind and media in the seed's upper case.
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed004', 'POST', '/call/start', 'call_start',
     '{"invitees": "$.body.targetUserIds", "room_id": "$.body.conversationId",
       "is_group": "$.body.callType == \"GROUP\"", "type": "$.body.mediaType"}', '{targetUserIds}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "status": "$.out.call.status", "userId": "$.me"}'),
    ('seed004', 'POST', '/call/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "endedBy": "$.out.call.ended_by",
       "reason": "$.out.call.end_reason", "duration": "$.out.call.duration_seconds"}');
-------------------------------------------------------------------------------
-- What PUBLIC may run, and a check of the API list
--
-- Last, once every function exists: PostgreSQL lets PUBLIC execute a new
-- function, pgcall lets it execute nothing but these four, which describe
-- the API.  Each other function's grants follow it in its own file.  Then
-- every name in pgcall.api_function (90-api.sql) must be a function.
-------------------------------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pgcall FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA pgcall FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pgcall.error_codes(), pgcall.state_transitions(), pgcall.event_types(),
    pgcall.rings_until(text, timestamptz) TO PUBLIC;

DO $api$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(a.name, ', ') INTO missing
      FROM pgcall.api_function a
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
                        WHERE p.pronamespace = 'pgcall'::regnamespace AND p.proname = a.name
                          AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'pgcall.api_function names functions that do not exist: %', missing;
    END IF;
END
$api$;
