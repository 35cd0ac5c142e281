/*
 * pseudonym.c: stable keyed pseudonyms for user ids.
 *
 * A pseudonym is "u_" and the first 80 bits of HMAC-SHA256(pseudonym_key,
 * user id) in hexadecimal.  The same user always gets the same pseudonym
 * while the key stays; without the key nobody can compute one, so nobody
 * can test a guessed user id against it either.  Only trusted backends may
 * call pgcall.pseudonym(), since whoever can compute pseudonyms of chosen
 * ids can reverse them by trying ids.  Changing the key (set_secret) gives
 * everyone a new pseudonym.
 *
 * When pgcall.pseudonymize is on, every admin_* function shows pseudonyms
 * where it would show user ids (pgcall_user_for_admin in admin.c), accepts
 * none, and the reads that take user ids refuse administrators
 * (refuse_plain_ids).
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "pgcall.h"

#define PSEUDONYM_BYTES 10

/* The pseudonym of user_id, palloc'd.  Raises P503C without a key. */
char *
pgcall_pseudonym_of(const char *user_id)
{
	static const char hex[] = "0123456789abcdef";
	char		key[PGCALL_SECRET_MAX + 1];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	bool		ok;
	char	   *out;

	if (!pgcall_secret_copy(PGCALL_SECRET_PSEUDONYM_KEY, key, sizeof(key)))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_PSEUDONYM_NOT_CONFIGURED),
				 errmsg("pseudonyms are not configured"),
				 errdetail("The pseudonym_key secret is not set."),
				 errhint("As a superuser, run SELECT pgcall.set_secret('pseudonym_key', '<at least 16 bytes>'); generate one with: openssl rand -hex 32")));
	ok = HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) user_id,
			  strlen(user_id), mac, &maclen) != NULL;
	explicit_bzero(key, sizeof(key));
	if (!ok || maclen < PSEUDONYM_BYTES)
		elog(ERROR, "HMAC-SHA256 failed");

	out = palloc(2 + 2 * PSEUDONYM_BYTES + 1);
	out[0] = 'u';
	out[1] = '_';
	for (int i = 0; i < PSEUDONYM_BYTES; i++)
	{
		out[2 + 2 * i] = hex[mac[i] >> 4];
		out[3 + 2 * i] = hex[mac[i] & 0x0f];
	}
	out[2 + 2 * PSEUDONYM_BYTES] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return out;
}

PG_FUNCTION_INFO_V1(pgcall_pseudonym);

/* pseudonym(user_id text): the user's pseudonym. */
Datum
pgcall_pseudonym(PG_FUNCTION_ARGS)
{
	char	   *user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));

	pgcall_check_user_id(user_id, "user_id");
	PG_RETURN_TEXT_P(cstring_to_text(pgcall_pseudonym_of(user_id)));
}

PG_FUNCTION_INFO_V1(pgcall_admin_user);

/*
 * admin_user(user_id text): how admin-facing output shows a user
 * (pgcall_user_for_admin in admin.c).
 */
Datum
pgcall_admin_user(PG_FUNCTION_ARGS)
{
	const char *user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text(pgcall_user_for_admin(user_id)));
}

PG_FUNCTION_INFO_V1(pgcall_pseudonymous);

/* pseudonymous(): whether pgcall.pseudonymize is on. */
Datum
pgcall_pseudonymous(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pgcall_pseudonymize);
}

PG_FUNCTION_INFO_V1(pgcall_refuse_plain_ids);

/*
 * refuse_plain_ids(what text): raise P403G when an administrator (who is
 * not a trusted backend acting for users) reads what by user id while
 * pgcall.pseudonymize is on.  SQL functions that take user ids call it
 * first.
 */
Datum
pgcall_refuse_plain_ids(PG_FUNCTION_ARGS)
{
	const char *what = PG_ARGISNULL(0) ? "this" : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (pgcall_pseudonymize && pgcall_caller_is_admin() && !pgcall_caller_is_backend())
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_PSEUDONYMS_ONLY),
				 errmsg("administrators cannot read %s by user id while pgcall.pseudonymize is on", what),
				 errdetail("An answer about a user id would undo the pseudonyms."),
				 errhint("Use the admin_* functions, which show users by pseudonym.")));
	PG_RETURN_VOID();
}
