-- Secrets: only a superuser sets them, nothing shows them.
SELECT pgcall.secret_is_set('agora_app_certificate');

-- Bad names and values: the message never repeats the value.
SELECT pgcall.set_secret('agora_app_secret', '0123456789abcdef0123456789abcdef');
SELECT pgcall.set_secret(NULL, '0123456789abcdef0123456789abcdef');
SELECT pgcall.set_secret('agora_app_certificate', 'not-hex-and-too-short');
SELECT pgcall.set_secret('agora_app_certificate', '0123456789abcdef0123456789abcdeg');
SELECT pgcall.set_secret('turn_secret', 'short');
SELECT pgcall.set_secret('turn_secret', E'line\nbreak-inside-the-secret');
SELECT pgcall.secret_is_set('agora_app_secret');

SELECT pgcall.set_secret('agora_app_certificate', '0123456789abcdef0123456789abcdef');
SELECT pgcall.set_secret('turn_secret', 'a-turn-secret-of-some-length');
SELECT pgcall.secret_is_set('agora_app_certificate'), pgcall.secret_is_set('turn_secret'),
       pgcall.secret_is_set('agora_app_certificate_secondary');

-- NULL removes a secret.
SELECT pgcall.set_secret('turn_secret', NULL);
SELECT pgcall.secret_is_set('turn_secret');

-- The parameters named like secrets refuse every value, without echoing it.
SET pgcall.agora_app_certificate = '0123456789abcdef0123456789abcdef';
ALTER DATABASE contrib_regression SET pgcall.agora_app_certificate = '0123456789abcdef0123456789abcdef';
ALTER SYSTEM SET pgcall.turn_secret = 'a-turn-secret-of-some-length';
ALTER ROLE CURRENT_USER SET pgcall.turn_secret = 'a-turn-secret-of-some-length';
SELECT count(*) FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%0123456789abcdef%';

-- Other settings are checked too.
SET pgcall.agora_app_id = 'not-an-app-id';
SET pgcall.agora_token_ttl = 10;
SET pgcall.turn_urls = 'http://example.com';
SET pgcall.turn_urls = 'turn:a.example.com,,turn:b.example.com';
SET pgcall.turn_urls = 'stun:a.example.com:3478, turn:a.example.com:3478?transport=udp';
SET pgcall.no_such_setting = 1;

-- An ordinary role can neither read nor write them.
CREATE ROLE regress_pgcall_app;
GRANT pgcall_user TO regress_pgcall_app;
SET ROLE regress_pgcall_app;
SELECT * FROM pgcall.secret;
SELECT pgcall.set_secret('agora_app_certificate', 'ffffffffffffffffffffffffffffffff');
SELECT pgcall.secret_is_set('agora_app_certificate');
SHOW pgcall.agora_app_certificate;
SELECT current_setting('pgcall.turn_secret');
SELECT count(*) FROM pg_settings WHERE name IN ('pgcall.agora_app_certificate', 'pgcall.turn_secret');
RESET ROLE;

-- Even a superuser-granted EXECUTE does not let others set secrets.
GRANT EXECUTE ON FUNCTION pgcall.set_secret(text, text) TO regress_pgcall_app;
SET ROLE regress_pgcall_app;
SELECT pgcall.set_secret('agora_app_certificate', 'ffffffffffffffffffffffffffffffff');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgcall.set_secret(text, text) FROM regress_pgcall_app;

-- From a file on the server: the value is in no statement text.  COPY (as
-- the server's OS user) writes the files; errors name the file, never the
-- content.
COPY (SELECT 'turn-secret-from-a-file-0123456789') TO '/tmp/pgcall_regress_secret';
SELECT pgcall.set_secret_from_file('turn_secret', '/tmp/pgcall_regress_secret');
SELECT pgcall.secret_is_set('turn_secret');
SELECT pgcall.set_secret_from_file('turn_secret', 'relative/path');
SELECT pgcall.set_secret_from_file('turn_secret', '/nonexistent/pgcall-secret');
SELECT pgcall.set_secret_from_file('no_such_secret', '/tmp/pgcall_regress_secret');
COPY (SELECT 'not-hex-at-all-but-32-characters') TO '/tmp/pgcall_regress_secret';
SELECT pgcall.set_secret_from_file('agora_app_certificate', '/tmp/pgcall_regress_secret');
SET ROLE regress_pgcall_app;
SELECT pgcall.set_secret_from_file('turn_secret', '/tmp/pgcall_regress_secret');
RESET ROLE;
COPY (SELECT '') TO '/tmp/pgcall_regress_secret';
SELECT pgcall.set_secret('turn_secret', NULL);

-- The embedded bridge's JWT secret: at least 32 bytes (what the bridge
-- demands), never readable by an app role.
SELECT pgcall.set_secret('jwt_secret', repeat('j', 31));
SELECT pgcall.set_secret('jwt_secret', repeat('j', 32));
SELECT pgcall.secret_is_set('jwt_secret');
SET ROLE regress_pgcall_app;
SELECT pgcall.set_secret('jwt_secret', repeat('k', 40));
SELECT value FROM pgcall.secret WHERE name = 'jwt_secret';
RESET ROLE;
SELECT pgcall.set_secret('jwt_secret', NULL);
SELECT pgcall.secret_is_set('jwt_secret');

SELECT pgcall.set_secret('agora_app_certificate', NULL);
DROP ROLE regress_pgcall_app;
