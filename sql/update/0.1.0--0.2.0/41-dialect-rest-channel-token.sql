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

REVOKE EXECUTE ON FUNCTION pgcall.channel_call_id(text) FROM PUBLIC;
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

REVOKE EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) TO pgcall_backend;
INSERT INTO pgcall.api_function (name) VALUES ('channel_token');
