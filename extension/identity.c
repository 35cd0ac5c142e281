/*
 * identity.c: who is acting.
 *
 * The current user is, in order:
 *   1. pgcall.user_id, which only superusers and roles granted SET on that
 *      parameter (pgcall_backend, by the install script) can set: a trusted
 *      backend runs SET LOCAL pgcall.user_id = '...' in its transaction;
 *   2. the "sub" claim of request.jwt.claims, which the bridge (like
 *      PostgREST) sets for each request from a verified JWT.  Any role can
 *      set that placeholder, so it is trusted only in sessions whose login
 *      (the session user, which SET ROLE does not change) is a member of
 *      pgcall_authn or a superuser: the authenticator that verified the
 *      JWT.  Elsewhere setting it is refused, not ignored, so a
 *      misconfigured authenticator fails loudly.
 * User ids are opaque text: 1 to 255 bytes without control characters.
 *
 * The parsed claims are cached per backend, keyed by the claims string, so a
 * request that calls several functions parses them once.
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pgcall.h"

static char *cached_claims = NULL;	/* claims string the cache describes */
static char *cached_sub = NULL;		/* its sub claim, NULL if none */

bool
pgcall_user_id_is_valid(const char *user_id, const char **reason)
{
	size_t		len = strlen(user_id);

	if (len == 0)
	{
		*reason = "must not be empty";
		return false;
	}
	if (len > PGCALL_USER_ID_MAX)
	{
		*reason = "must be at most 255 bytes long";
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) user_id[i] < 0x20 || user_id[i] == 0x7f)
		{
			*reason = "must not contain control characters";
			return false;
		}
	return true;
}

/* Raise P400I unless user_id is usable; "what" names it in the message. */
void
pgcall_check_user_id(const char *user_id, const char *what)
{
	const char *reason;

	if (!pgcall_user_id_is_valid(user_id, &reason))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_USER_ID),
				 errmsg("%s %s", what, reason),
				 errdetail("User ids are 1 to 255 bytes of text without control characters.")));
}

/* JSON walk that keeps the top-level "sub" member. */
typedef struct ClaimsState
{
	int			depth;
	bool		in_sub;
	char	   *sub;
} ClaimsState;

static void
claims_object_start(void *state)
{
	((ClaimsState *) state)->depth++;
}

static void
claims_object_end(void *state)
{
	((ClaimsState *) state)->depth--;
}

static void
claims_field_start(void *state, char *fname, bool isnull)
{
	ClaimsState *cs = state;

	cs->in_sub = (cs->depth == 1 && strcmp(fname, "sub") == 0);
}

static void
claims_scalar(void *state, char *token, JsonTokenType tokentype)
{
	ClaimsState *cs = state;

	if (cs->in_sub && (tokentype == JSON_TOKEN_STRING || tokentype == JSON_TOKEN_NUMBER))
		cs->sub = token;
	cs->in_sub = false;
}

static char *
parse_sub_claim(const char *claims)
{
	JsonLexContext *lex;
	JsonSemAction sem = {0};
	ClaimsState state = {0};

	lex = makeJsonLexContextCstringLen((char *) claims, strlen(claims),
									   GetDatabaseEncoding(), true);
	sem.semstate = &state;
	sem.object_start = claims_object_start;
	sem.object_end = claims_object_end;
	sem.object_field_start = claims_field_start;
	sem.scalar = claims_scalar;
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("request.jwt.claims is not valid JSON"),
				 errhint("Set request.jwt.claims to the JSON claims of a verified JWT, as PostgREST does.")));
	return state.sub;
}

/* Whether this session's login may vouch for request.jwt.claims. */
static bool
claims_trusted(void)
{
	Oid			login = GetSessionUserId();
	Oid			authn = get_role_oid("pgcall_authn", true);

	return superuser_arg(login) ||
		(OidIsValid(authn) && is_member_of_role(login, authn));
}

/*
 * The current user's id, or NULL when the request carries none.  The result
 * stays valid until the claims change.
 */
const char *
pgcall_current_user(void)
{
	const char *claims;

	if (pgcall_user_id != NULL && pgcall_user_id[0] != '\0')
		return pgcall_user_id;

	claims = GetConfigOption("request.jwt.claims", true, false);
	if (claims == NULL || claims[0] == '\0')
		return NULL;
	if (!claims_trusted())
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_FORBIDDEN),
				 errmsg("request.jwt.claims is not trusted in this session"),
				 errdetail("Only an authenticator, a login that is a member of pgcall_authn, may set the claims of a verified JWT; role \"%s\" is not one.",
						   GetUserNameFromId(GetSessionUserId(), false)),
				 errhint("Connect through the bridge (or PostgREST) with a JWT, or GRANT pgcall_authn TO the authenticator login.")));
	if (cached_claims == NULL || strcmp(cached_claims, claims) != 0)
	{
		char	   *sub = parse_sub_claim(claims);

		if (sub != NULL)
			pgcall_check_user_id(sub, "the sub claim of request.jwt.claims");
		if (cached_claims)
			pfree(cached_claims);
		if (cached_sub)
			pfree(cached_sub);
		cached_claims = MemoryContextStrdup(TopMemoryContext, claims);
		cached_sub = sub ? MemoryContextStrdup(TopMemoryContext, sub) : NULL;
	}
	return cached_sub;
}

/* The current user's id; raises P401A when there is none. */
const char *
pgcall_require_user(void)
{
	const char *user_id = pgcall_current_user();

	if (user_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_AUTHENTICATED),
				 errmsg("no current user"),
				 errdetail("Neither pgcall.user_id nor the sub claim of request.jwt.claims is set."),
				 errhint("Call through the bridge with a JWT whose sub claim names the user, or, as a member of pgcall_backend, run SET LOCAL pgcall.user_id = '<user id>' first.")));
	return user_id;
}

/*
 * Whether the role the session acts as (SET ROLE included, SECURITY DEFINER
 * not) is a superuser or has the privileges of pgcall_backend.
 */
static bool
caller_has_role(const char *name)
{
	Oid			role = GetOuterUserId();
	Oid			granted = get_role_oid(name, true);

	return superuser_arg(role) ||
		(OidIsValid(granted) && has_privs_of_role(role, granted));
}

bool
pgcall_caller_is_backend(void)
{
	return caller_has_role("pgcall_backend");
}

/* Same for pgcall_admin. */
bool
pgcall_caller_is_admin(void)
{
	return caller_has_role("pgcall_admin");
}

/* Raise unless the caller is user_id or a trusted backend. */
void
pgcall_check_may_act_for(const char *user_id)
{
	if (pgcall_caller_is_backend())
		return;
	if (strcmp(pgcall_require_user(), user_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_FORBIDDEN),
				 errmsg("cannot act for another user"),
				 errdetail("The current user may only name themselves."),
				 errhint("Omit the user id, or call as a member of pgcall_backend.")));
}

PG_FUNCTION_INFO_V1(pgcall_current_user_id);

Datum
pgcall_current_user_id(PG_FUNCTION_ARGS)
{
	const char *user_id = pgcall_current_user();

	if (user_id == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(user_id));
}

PG_FUNCTION_INFO_V1(pgcall_require_user_id);

Datum
pgcall_require_user_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(pgcall_require_user()));
}
