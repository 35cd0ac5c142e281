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
