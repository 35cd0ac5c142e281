/*
 * guc.c: pgcall's configuration parameters.
 *
 * Only settings that are not secret are parameters.  The Agora certificate
 * and the TURN secret live in pgcall.secret (secret.c), because a parameter's
 * value can be read by other roles through pg_db_role_setting, through SHOW on
 * an unloaded placeholder, or by members of pg_read_all_settings.  Two
 * parameters named like those secrets exist only to refuse a value with a
 * hint, so that ALTER SYSTEM SET pgcall.agora_app_certificate fails loudly
 * instead of writing the secret where others can read it.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "access/xact.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "pgcall.h"

char	   *pgcall_agora_app_id = NULL;
int			pgcall_agora_token_ttl = 3600;
char	   *pgcall_turn_urls = NULL;
int			pgcall_turn_ttl = 86400;
char	   *pgcall_user_id = NULL;
int			pgcall_ring_timeout = 90;
int			pgcall_max_participants = 50;
int			pgcall_presence_timeout = 30;
int			pgcall_disconnect_grace = 5;
int			pgcall_disconnect_leave_after = 60;
int			pgcall_event_retention = 3 * 86400;
int			pgcall_history_retention = 90;
int			pgcall_rate_limit_tokens = 60;
int			pgcall_rate_limit_calls = 10;
int			pgcall_rate_limit_joins = 100;
int			pgcall_rate_limit_analytics = 20;
int			pgcall_rate_limit_invites = 100;
int			pgcall_rate_limit_media = 60;
int			pgcall_rate_limit_signals = 600;
int			pgcall_rate_limit_signal_bytes = 1024 * 1024;
int			pgcall_rate_limit_presence = 60;
int			pgcall_max_invitees = 50;
int			pgcall_signal_max_bytes = 16 * 1024;
int			pgcall_lock_timeout = 2000;
bool		pgcall_pseudonymize = false;

/* Placeholders for the secret traps; never hold a value. */
static char *agora_certificate_trap = NULL;
static char *turn_secret_trap = NULL;

static bool
is_hex32(const char *s)
{
	int			n = 0;

	for (; *s; s++, n++)
		if (!isxdigit((unsigned char) *s))
			return false;
	return n == 32;
}

static bool
check_agora_app_id(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || **newval == '\0' || is_hex32(*newval))
		return true;
	GUC_check_errcode(ERRCODE_PGCALL_INVALID_APP_ID);
	GUC_check_errmsg("pgcall.agora_app_id must be 32 hexadecimal characters");
	GUC_check_errhint("Copy the App ID of your project from the Agora Console.");
	return false;
}

static bool
check_turn_urls(char **newval, void **extra, GucSource source)
{
	const char *reason;

	if (*newval == NULL || pgcall_turn_urls_are_valid(*newval, &reason))
		return true;
	GUC_check_errcode(ERRCODE_PGCALL_INVALID_SETTING);
	GUC_check_errmsg("pgcall.turn_urls %s", reason);
	GUC_check_errhint("Give a comma-separated list such as: stun:turn.example.com:3478,turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349");
	return false;
}

static bool
check_user_id(char **newval, void **extra, GucSource source)
{
	const char *reason;

	if (*newval == NULL || **newval == '\0' || pgcall_user_id_is_valid(*newval, &reason))
		return true;
	GUC_check_errcode(ERRCODE_PGCALL_INVALID_USER_ID);
	GUC_check_errmsg("pgcall.user_id %s", reason);
	return false;
}

/* Refuse any value; the message never repeats it. */
static bool
check_secret_trap(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || **newval == '\0')
		return true;
	GUC_check_errcode(ERRCODE_PGCALL_INVALID_SETTING);
	GUC_check_errmsg("pgcall secrets cannot be set as configuration parameters");
	GUC_check_errdetail("Parameter values can be read by other roles through pg_db_role_setting, pg_settings or SHOW.");
	GUC_check_errhint("As a superuser, run SELECT pgcall.set_secret('agora_app_certificate', '...') or SELECT pgcall.set_secret('turn_secret', '...').");
	return false;
}

void
pgcall_init_gucs(void)
{
	DefineCustomStringVariable("pgcall.agora_app_id",
							   "Agora App ID used for every token pgcall mints.",
							   NULL,
							   &pgcall_agora_app_id,
							   "",
							   PGC_SUSET,
							   0,
							   check_agora_app_id, NULL, NULL);

	DefineCustomIntVariable("pgcall.agora_token_ttl",
							"Default lifetime of Agora tokens.",
							NULL,
							&pgcall_agora_token_ttl,
							3600, 60, 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pgcall.turn_urls",
							   "Comma-separated STUN and TURN server URLs handed to WebRTC clients.",
							   NULL,
							   &pgcall_turn_urls,
							   "",
							   PGC_SUSET,
							   0,
							   check_turn_urls, NULL, NULL);

	DefineCustomIntVariable("pgcall.turn_ttl",
							"Default lifetime of TURN credentials.",
							NULL,
							&pgcall_turn_ttl,
							86400, 60, 7 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.ring_timeout",
							"How long an invitation rings before it counts as missed.",
							NULL,
							&pgcall_ring_timeout,
							90, 5, 600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.max_participants",
							"Default cap on people joined at once in a group call.",
							NULL,
							&pgcall_max_participants,
							50, 2, 10000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.presence_timeout",
							"A bridge whose heartbeat is older than this no longer counts its users as online.",
							NULL,
							&pgcall_presence_timeout,
							30, 5, 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.disconnect_grace",
							"How long a joined participant's sockets may all be gone before the others get participant.disconnected.",
							"Someone back within it (a reload, a network change) produces no event.",
							&pgcall_disconnect_grace,
							5, 0, 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.disconnect_leave_after",
							"How long a joined participant's sockets may all be gone before they leave the call (reason disconnected); 0: never.",
							NULL,
							&pgcall_disconnect_leave_after,
							60, 0, 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.event_retention",
							"How long events are kept for clients to resume from.",
							NULL,
							&pgcall_event_retention,
							3 * 86400, 60, 365 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.history_retention",
							"Days ended calls are kept in history; 0 keeps them forever.",
							NULL,
							&pgcall_history_retention,
							90, 0, 36500,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_tokens",
							"Agora tokens a user may obtain per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_tokens,
							60, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_calls",
							"Calls and conferences a user may create per hour; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_calls,
							10, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_joins",
							"Times a user may answer or join calls per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_joins,
							100, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_analytics",
							"Analytics reports an administrator may run per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_analytics,
							20, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_invites",
							"People a user may invite to calls in progress (call_invite) per hour; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_invites,
							100, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_media",
							"Microphone, camera and screen-share changes a user may make per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_media,
							60, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_signals",
							"WebRTC signals a user may send in one call per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_signals,
							600, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_signal_bytes",
							"Bytes of signal payload a user may send in one call per minute; 0 means no limit.",
							NULL,
							&pgcall_rate_limit_signal_bytes,
							1024 * 1024, 0, 1024 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.rate_limit_presence",
							"Presence subscriptions (presence_subscribe) a user may make per minute; 0 means no limit.  Each takes the event lock for its snapshot.",
							NULL,
							&pgcall_rate_limit_presence,
							60, 0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.max_invitees",
							"Most people one request may invite, and most people a call may ring in all.",
							NULL,
							&pgcall_max_invitees,
							50, 1, 10000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.signal_max_bytes",
							"Largest WebRTC signal payload call_signal relays.",
							NULL,
							&pgcall_signal_max_bytes,
							16 * 1024, 1024, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgcall.lock_timeout",
							"Longest a call function waits for a call another request holds; 0 leaves it to lock_timeout.",
							NULL,
							&pgcall_lock_timeout,
							2000, 0, 600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgcall.pseudonymize",
							 "Show administrators keyed pseudonyms instead of user ids.",
							 NULL,
							 &pgcall_pseudonymize,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pgcall.user_id",
							   "User a trusted backend acts for; set with SET LOCAL by members of pgcall_backend.",
							   NULL,
							   &pgcall_user_id,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   check_user_id, NULL, NULL);

	DefineCustomStringVariable("pgcall.agora_app_certificate",
							   "Not a parameter: store the certificate with pgcall.set_secret().",
							   NULL,
							   &agora_certificate_trap,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret_trap, NULL, NULL);

	DefineCustomStringVariable("pgcall.turn_secret",
							   "Not a parameter: store the TURN secret with pgcall.set_secret().",
							   NULL,
							   &turn_secret_trap,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret_trap, NULL, NULL);

	MarkGUCPrefixReserved("pgcall");
}

PG_FUNCTION_INFO_V1(pgcall_presence_cutoff);

/* presence_cutoff(): now() minus pgcall.presence_timeout. */
Datum
pgcall_presence_cutoff(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(GetCurrentTransactionStartTimestamp() -
						  (TimestampTz) pgcall_presence_timeout * USECS_PER_SEC);
}
