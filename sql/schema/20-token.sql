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
