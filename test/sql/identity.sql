-- Who is acting: pgcall.user_id (trusted backends), else the JWT sub claim.
SELECT pgcall.current_user_id() IS NULL AS nobody;

SELECT set_config('request.jwt.claims', '{"sub":"alice","role":"pgcall_user"}', false);
SELECT pgcall.current_user_id();
SELECT set_config('request.jwt.claims', '{"role":"pgcall_user","nested":{"sub":"mallory"}}', false);
SELECT pgcall.current_user_id() IS NULL AS no_top_level_sub;
SELECT set_config('request.jwt.claims', '{"sub":12345}', false);
SELECT pgcall.current_user_id();
SELECT set_config('request.jwt.claims', '{"sub":""}', false);
SELECT pgcall.current_user_id();
SELECT set_config('request.jwt.claims', '{"sub":"a\u0001b"}', false);
SELECT pgcall.current_user_id();
SELECT set_config('request.jwt.claims', '{"sub": "alice"', false);
SELECT pgcall.current_user_id();
-- A claim change is seen at once (the parsed claims are cached per string).
SELECT set_config('request.jwt.claims', '{"sub":"carol"}', false);
SELECT pgcall.current_user_id();
SELECT set_config('request.jwt.claims', '', false);
SELECT pgcall.current_user_id() IS NULL AS nobody_again;

-- pgcall.user_id wins over the claims, and only backends may set it.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"alice"}', true);
SET LOCAL pgcall.user_id = 'service-acting-for-bob';
SELECT pgcall.current_user_id();
SET LOCAL pgcall.user_id = E'bad\tid';
ROLLBACK;

CREATE ROLE regress_pgcall_user;
GRANT pgcall_user TO regress_pgcall_user;
CREATE ROLE regress_pgcall_backend;
GRANT pgcall_backend TO regress_pgcall_backend;

SET ROLE regress_pgcall_user;
SET pgcall.user_id = 'bob';
RESET ROLE;

BEGIN;
SET LOCAL ROLE regress_pgcall_backend;
SET LOCAL pgcall.user_id = 'bob';
SELECT pgcall.current_user_id();
ROLLBACK;

DROP ROLE regress_pgcall_user;
DROP ROLE regress_pgcall_backend;
