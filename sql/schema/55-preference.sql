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
