-- Agora token builders: configuration, every builder, every error message.
-- Tokens hold a random salt and the current time, so they are checked
-- through pgcall.agora_token_inspect (itself tested against Agora's
-- published vectors in agora_inspect.sql and by the crosscheck suite).
CREATE ROLE regress_agora_user;
GRANT pgcall_user TO regress_agora_user;
CREATE ROLE regress_agora_backend;
GRANT pgcall_backend TO regress_agora_backend;
CREATE ROLE regress_agora_admin;
GRANT pgcall_admin TO regress_agora_admin;

-- Not configured: one error, P503A, whichever builder; the detail says
-- what is missing and the hint how to set it.
SELECT pgcall.agora_configured();
SELECT pgcall.agora_rtc_token('room-1', 'alice');
SELECT pgcall.agora_rtc_token('room-1', 42);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'alice');
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 42);
SELECT pgcall.agora_rtm_token('alice');
SELECT pgcall.agora_rtc_token_006('room-1', 'alice');
SELECT pgcall.agora_rtc_token_006('room-1', 42);
SELECT pgcall.agora_rtm_token_006('alice');
-- Not configured wins over bad arguments: the client sees 503 either way.
SELECT pgcall.agora_rtc_token('', '');
SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33';
SELECT pgcall.agora_configured();
SELECT pgcall.agora_rtc_token('room-1', 'alice');
RESET pgcall.agora_app_id;
SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT pgcall.agora_configured();
SELECT pgcall.agora_rtc_token('room-1', 'alice');
-- A secondary certificate alone (rotation) does not configure minting.
SELECT pgcall.set_secret('agora_app_certificate', NULL);
SELECT pgcall.set_secret('agora_app_certificate_secondary', '5CFd2fd1755d40ecb72977518be15d3b');
SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33';
SELECT pgcall.agora_configured();
SELECT pgcall.set_secret('agora_app_certificate_secondary', NULL);

-- Configured.
SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT pgcall.agora_configured();

-- A field-by-field view of a token, without the parts that depend on now.
-- 006 tokens hold absolute expiries: they are shown as seconds from now,
-- rounded to ten seconds in case the clock ticks during the statement.
CREATE FUNCTION pg_temp.from_now(unix text) RETURNS int
LANGUAGE sql AS $$ SELECT round(unix::numeric - extract(epoch FROM clock_timestamp()), -1)::int $$;
CREATE FUNCTION pg_temp.summary(token text)
RETURNS TABLE (version text, app_id text, ttl int, issued_now boolean, service text,
               channel text, uid text, privileges text, valid text)
LANGUAGE sql AS $$
    SELECT j->>'version', j->>'app_id',
           coalesce((j->>'expire')::int, pg_temp.from_now(j->>'expires_at')),
           coalesce(abs((j->>'issued_at')::bigint - extract(epoch FROM clock_timestamp())) <= 5, true),
           coalesce(j->'services'->0->>'name', j->>'kind'),
           j->'services'->0->>'channel',
           coalesce(j->'services'->0->>'uid', j->'services'->0->>'user_id'),
           (SELECT string_agg(p->>'name' || '=' || coalesce(p->>'expire', pg_temp.from_now(p->>'expires_at')::text), ',')
              FROM jsonb_array_elements(coalesce(j->'services'->0->'privileges', j->'privileges')) p),
           j->'signature'->>'valid' || coalesce(' ' || (j->'signature'->>'certificate'), '')
      FROM (SELECT pgcall.agora_token_inspect(token) AS j) s
$$;

-- 007 RTC, user account: publishers may join and publish, subscribers join.
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 'alice'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 'alice', 'subscriber'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 600, 300));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token(channel => 'room-1', account => 'bob', token_ttl => 120));
-- 007 RTC, numeric uid; 0 means any user (an empty uid in the token).
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 2882341273));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 0, 'subscriber'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token(channel => 'room-1', uid => 4294967295, role => 'subscriber', privilege_ttl => 60));
SELECT pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', 0))->'services'->0->'any_user' AS any_user;
-- Per-privilege lifetimes.
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token_with_privileges('room-1', 'alice', 3600, 3600, 1800, 900, 60));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token_with_privileges('room-1', 42, 600));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token_with_privileges(channel => 'room-1', uid => 7, token_ttl => 900, video_ttl => 120));
-- RTM.
SELECT * FROM pg_temp.summary(pgcall.agora_rtm_token('alice'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtm_token('alice', 120));
-- Legacy 006: absolute privilege expiries; the token itself lasts a day.
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token_006('room-1', 'alice'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token_006('room-1', 42, 'subscriber', 600));
SELECT * FROM pg_temp.summary(pgcall.agora_rtm_token_006('alice', 300));
SELECT j->>'version' AS version, j->'signature' AS signature, j->'channel_matches' AS channel_ok, j->'account_matches' AS account_ok
  FROM (SELECT pgcall.agora_token_inspect(pgcall.agora_rtc_token_006('room-1', 42), 'room-1', '42') AS j) s;
SELECT j->'signature' AS signature
  FROM (SELECT pgcall.agora_token_inspect(pgcall.agora_rtm_token_006('alice'), 'alice') AS j) s;

-- Every token is new: a fresh salt each time.  Salts are uniform in
-- 1..99999999 (Agora's range), so among 1000 two are equal about once in
-- 200 runs: allow a few repeats (a constant salt would give 1).
SELECT count(DISTINCT t) >= 995 AS distinct_tokens, count(DISTINCT pgcall.agora_token_inspect(t)->'salt') >= 995 AS distinct_salts
  FROM (SELECT pgcall.agora_rtc_token('room-1', 'alice') AS t FROM generate_series(1, 1000)) s;
SELECT min((pgcall.agora_token_inspect(t)->>'salt')::bigint) >= 1 AND
       max((pgcall.agora_token_inspect(t)->>'salt')::bigint) <= 99999999 AS salts_in_agora_range
  FROM (SELECT pgcall.agora_rtc_token('room-1', 'alice') AS t FROM generate_series(1, 1000)) s;

-- The default lifetime is pgcall.agora_token_ttl.
SET pgcall.agora_token_ttl = 600;
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 'alice'));
SELECT * FROM pg_temp.summary(pgcall.agora_rtm_token('alice'));
RESET pgcall.agora_token_ttl;

-- Channel names and accounts: Agora's whole character set and maximum
-- lengths are accepted.
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token(' !#$%&()+-:;<=.>?@[]^_{}|~,azAZ09', 'x'));
SELECT length(pgcall.agora_token_inspect(pgcall.agora_rtc_token(repeat('c', 64), repeat('a', 255)))->'services'->0->>'uid') AS account_bytes;
SELECT length(pgcall.agora_token_inspect(pgcall.agora_rtm_token(repeat('u', 64)))->'services'->0->>'user_id') AS user_id_bytes;

-- Compression: 0 (the default) stores the content, 6 compresses it as
-- Agora's builders do; both verify.
SELECT substr(encode(decode(substr(pgcall.agora_rtc_token('room-1', 'alice'), 4), 'base64'), 'hex'), 1, 4) AS zlib_header;
SET pgcall.agora_token_compression = 6;
SELECT substr(encode(decode(substr(pgcall.agora_rtc_token('room-1', 'alice'), 4), 'base64'), 'hex'), 1, 4) AS zlib_header;
SELECT * FROM pg_temp.summary(pgcall.agora_rtc_token('room-1', 'alice'));
RESET pgcall.agora_token_compression;
SET pgcall.agora_token_compression = 10;

-- Bad channels (P400A).
SELECT pgcall.agora_rtc_token('', 'alice');
SELECT pgcall.agora_rtc_token(repeat('c', 65), 'alice');
SELECT pgcall.agora_rtc_token('room*1', 'alice');
SELECT pgcall.agora_rtc_token(E'room\n1', 'alice');
SELECT pgcall.agora_rtc_token('café', 'alice');
SELECT pgcall.agora_rtc_token(NULL, 'alice');
SELECT pgcall.agora_rtc_token('room/1', 42);
SELECT pgcall.agora_rtc_token_with_privileges('room"1', 'alice');
SELECT pgcall.agora_rtc_token_006('room\1', 'alice');
SELECT pgcall.agora_rtc_token_006('', 42);
-- Arguments are checked in order: the channel first.
SELECT pgcall.agora_rtc_token('bad*channel', 'bad/account', 'bad role', 1);
SELECT pgcall.agora_rtc_token('room-1', -1, 'bad role', 1);
-- Bad accounts and RTM user ids (P400B).
SELECT pgcall.agora_rtc_token('room-1', '');
SELECT pgcall.agora_rtc_token('room-1', repeat('a', 256));
SELECT pgcall.agora_rtc_token('room-1', 'alice/bob');
SELECT pgcall.agora_rtc_token('room-1', NULL::text);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'a''b');
SELECT pgcall.agora_rtc_token_006('room-1', E'\u00e9');
SELECT pgcall.agora_rtm_token('');
SELECT pgcall.agora_rtm_token(repeat('u', 65));
SELECT pgcall.agora_rtm_token('alice`');
SELECT pgcall.agora_rtm_token(NULL);
SELECT pgcall.agora_rtm_token_006(repeat('u', 65));
-- Bad uids (P400C).
SELECT pgcall.agora_rtc_token('room-1', -1);
SELECT pgcall.agora_rtc_token('room-1', 4294967296);
SELECT pgcall.agora_rtc_token('room-1', NULL::bigint);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', -7);
SELECT pgcall.agora_rtc_token_006('room-1', 4294967296);
-- Bad lifetimes (P400F).
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 59);
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 86401);
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 0);
SELECT pgcall.agora_rtc_token('room-1', 42, 'publisher', -3600);
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 600, 59);
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 600, 601);
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', NULL, 3601);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'alice', 600, 30);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'alice', 600, 600, 600, 600, 4000);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 42, 600, audio_ttl => 0);
SELECT pgcall.agora_rtc_token_with_privileges('room-1', 42, 100000);
SELECT pgcall.agora_rtm_token('alice', 59);
SELECT pgcall.agora_rtc_token_006('room-1', 'alice', 'publisher', 86401);
SELECT pgcall.agora_rtm_token_006('alice', 10);
-- Unknown roles (P400G).
SELECT pgcall.agora_rtc_token('room-1', 'alice', 'admin');
SELECT pgcall.agora_rtc_token('room-1', 42, 'Publisher');
SELECT pgcall.agora_rtc_token('room-1', 'alice', NULL);
SELECT pgcall.agora_rtc_token_006('room-1', 'alice', 'audience');

-- No result shows the certificate (the crosscheck suite searches the server log).
SELECT count(*) FILTER (WHERE t LIKE '%5CFd2fd1755d40ecb72977518be15d3b%') AS results_with_certificate
  FROM (SELECT pgcall.agora_rtc_token('room-1', 'alice') AS t
        UNION ALL SELECT pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', 'alice'))::text
        UNION ALL SELECT pgcall.agora_token_inspect(pgcall.agora_rtc_token_006('room-1', 'alice'), 'room-1', 'alice')::text) s;

-- Builders are for trusted backends; end users only learn whether Agora
-- is configured; operators may inspect.
SET ROLE regress_agora_user;
SELECT pgcall.agora_configured();
SELECT pgcall.agora_rtc_token('room-1', 'alice');
SELECT pgcall.agora_rtc_token('room-1', 42);
SELECT pgcall.agora_rtm_token('alice');
SELECT pgcall.agora_rtc_token_006('room-1', 'alice');
SELECT pgcall.agora_token_inspect('007');
RESET ROLE;
SET ROLE regress_agora_backend;
SELECT pgcall.agora_configured();
SELECT left(pgcall.agora_rtc_token('room-1', 'alice'), 3) AS backend_rtc,
       left(pgcall.agora_rtc_token_with_privileges('room-1', 42), 3) AS backend_privileges,
       left(pgcall.agora_rtm_token('alice'), 3) AS backend_rtm,
       left(pgcall.agora_rtc_token_006('room-1', 42), 3) AS backend_006,
       left(pgcall.agora_rtm_token_006('alice'), 3) AS backend_rtm_006,
       pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', 'alice'))->'signature'->>'valid' AS backend_inspect;
RESET ROLE;
SET ROLE regress_agora_admin;
SELECT pgcall.agora_token_inspect('007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=')->'signature' AS admin_inspect;
SELECT pgcall.agora_rtc_token('room-1', 'alice');
RESET ROLE;
SET ROLE regress_agora_user;
SET pgcall.agora_token_compression = 6;
RESET ROLE;

SELECT pgcall.set_secret('agora_app_certificate', NULL);
RESET pgcall.agora_app_id;
DROP ROLE regress_agora_user;
DROP ROLE regress_agora_backend;
DROP ROLE regress_agora_admin;
