-- TURN REST credentials, checked against pgcrypto's HMAC-SHA1.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE ROLE regress_pgcall_user;
GRANT pgcall_user TO regress_pgcall_user;
CREATE ROLE regress_pgcall_backend;
GRANT pgcall_backend TO regress_pgcall_backend;

-- Not configured: one error, with the settings to set.
SELECT pgcall.turn_credentials('alice');
SET pgcall.turn_urls = 'turn:127.0.0.1:3478';
SELECT pgcall.turn_credentials('alice');
SET pgcall.turn_urls = 'stun:127.0.0.1:3478';
SELECT pgcall.set_secret('turn_secret', 'regress-turn-secret-0123456789');
SELECT pgcall.turn_credentials('alice');

SET pgcall.turn_urls = 'stun:127.0.0.1:3478,turn:127.0.0.1:3478?transport=udp, turns:turn.example.com:5349';
CREATE TEMP TABLE c AS SELECT pgcall.turn_credentials('alice', 3600) AS j, extract(epoch FROM now())::bigint AS t0;
SELECT j->'iceServers'->0 AS stun_entry,
       j->'iceServers'->1->'urls' AS turn_urls,
       j->'uris' = j->'iceServers'->1->'urls' AS uris_match,
       j->>'ttl' AS ttl,
       (j->>'expires_at')::bigint - t0 BETWEEN 3599 AND 3601 AS expiry_is_now_plus_ttl,
       j->>'username' = (j->>'expires_at') || ':alice' AS username_is_expiry_colon_user,
       j->'iceServers'->1->>'username' = j->>'username' AS entry_username,
       j->'iceServers'->1->>'credential' = j->>'credential' AS entry_credential,
       j->>'credential' = encode(hmac(j->>'username', 'regress-turn-secret-0123456789', 'sha1'), 'base64')
           AS credential_is_hmac_sha1
  FROM c;

-- Default ttl comes from pgcall.turn_ttl.
SET pgcall.turn_ttl = 600;
SELECT (pgcall.turn_credentials('alice')->>'ttl')::int AS ttl;

-- User ids with JSON-special characters stay valid JSON.
SELECT j->>'username' = (j->>'expires_at') || ':a"b\c' AS escaped
  FROM (SELECT pgcall.turn_credentials('a"b\c') AS j) s;

-- Bad input.
SELECT pgcall.turn_credentials('alice', 59);
SELECT pgcall.turn_credentials('alice', 604801);
SELECT pgcall.turn_credentials('');
SELECT pgcall.turn_credentials(repeat('x', 256));
SELECT pgcall.turn_credentials();

-- End users get credentials for themselves only; backends for anyone.
SET ROLE regress_pgcall_user;
SELECT set_config('request.jwt.claims', '{"sub":"alice"}', false);
SELECT pgcall.turn_credentials()->>'username' LIKE '%:alice' AS own;
SELECT pgcall.turn_credentials('alice')->>'username' LIKE '%:alice' AS own_by_name;
SELECT pgcall.turn_credentials('bob');
SELECT set_config('request.jwt.claims', '', false);
SELECT pgcall.turn_credentials('bob');
RESET ROLE;
SET ROLE regress_pgcall_backend;
SELECT pgcall.turn_credentials('bob')->>'username' LIKE '%:bob' AS backend_for_bob;
RESET ROLE;

SELECT pgcall.set_secret('turn_secret', NULL);
DROP TABLE c;
DROP ROLE regress_pgcall_user;
DROP ROLE regress_pgcall_backend;
