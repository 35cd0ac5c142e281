/*
 * call_media.c: what travels in a call once it runs: call_set_media
 * (microphone, camera, screen), call_media_session (a fresh Agora token)
 * and call_signal (WebRTC messages between participants).
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "agora.h"
#include "calls.h"
#include "pgcall.h"

PG_FUNCTION_INFO_V1(pgcall_call_set_media);

/*
 * call_set_media(call_id uuid, mic_muted boolean, camera_off boolean, sharing_screen boolean)
 *
 * Counts against pgcall.rate_limit_media; a request that changes nothing
 * writes nothing and tells nobody.
 */
Datum
pgcall_call_set_media(PG_FUNCTION_ARGS)
{
	Datum		result;
	static SPIPlanPtr plan = NULL;
	static const Oid types[5] = {TEXTOID, TEXTOID, BOOLOID, BOOLOID, BOOLOID};
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	Call		c;
	Part		p;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(1) && PG_ARGISNULL(2) && PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("pass at least one of mic_muted, camera_off and sharing_screen")));
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_MEDIA);
	p = pgcall_open_call(call_id, me, &c);
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	if (p.status != PART_JOINED && p.status != PART_INVITED && p.status != PART_RINGING)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you are not in this call: your status is %s", pgcall_part_status_name(p.status)),
				 errhint("Join the call first with call_join.")));
	values[0] = CStringGetTextDatum(c.id);
	values[1] = CStringGetTextDatum(me);
	for (int i = 0; i < 3; i++)
	{
		values[2 + i] = PG_ARGISNULL(1 + i) ? (Datum) 0 : PG_GETARG_DATUM(1 + i);
		nulls[2 + i] = PG_ARGISNULL(1 + i) ? 'n' : ' ';
	}
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET mic_muted = COALESCE($3, mic_muted), "
							"camera_off = COALESCE($4, camera_off), sharing_screen = COALESCE($5, sharing_screen) "
							"WHERE call_id = $1::uuid AND user_id = $2 "
							"AND (mic_muted, camera_off, sharing_screen) IS DISTINCT FROM "
							"(COALESCE($3, mic_muted), COALESCE($4, camera_off), COALESCE($5, sharing_screen))",
							5, types), values, nulls, false, 0);
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_media_session);

/* call_media_session(call_id uuid, ttl integer): a fresh Agora token for this call. */
Datum
pgcall_call_media_session(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	int			ttl = PG_ARGISNULL(1) ? pgcall_agora_token_ttl : PG_GETARG_INT32(1);
	Call		c;
	Part		p;
	StringInfoData buf;

	/* A participant may ask for a shorter token, never a longer one. */
	if (ttl > pgcall_agora_token_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("ttl must be at most pgcall.agora_token_ttl (%d seconds)", pgcall_agora_token_ttl),
				 errdetail("The value given is %d.", ttl),
				 errhint("Omit ttl for a token of the configured lifetime, and ask for a fresh one before it expires.")));
	(void) pgcall_agora_require_app_id();
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_TOKEN);
	p = pgcall_open_call(call_id, me, &c);
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	if (p.status != PART_JOINED && p.status != PART_INVITED && p.status != PART_RINGING)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", pgcall_part_status_name(p.status)),
				 errhint("Join the call with call_join before asking for a media session.")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"call_id\":");
	escape_json(&buf, c.id);
	pgcall_append_agora(&buf, &c, me, ttl, true);
	appendStringInfoChar(&buf, '}');
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* --- signaling ------------------------------------------------------------------ */

static bool
in_call(PartStatus status)
{
	return status == PART_INVITED || status == PART_RINGING || status == PART_JOINED;
}

PG_FUNCTION_INFO_V1(pgcall_call_signal);

/*
 * call_signal(call_id uuid, to_user text, kind text, payload jsonb)
 *
 * Relays a WebRTC message to another participant of the same live call as
 * a call.signal event.  Payloads up to pgcall.signal_max_bytes (16 KiB: an
 * SDP offer with audio, simulcast video and data is 5 to 10 KB): SDPs do
 * not fit in NOTIFY, so they travel in the event log and NOTIFY carries
 * only ids.  Every row is disk, so each sender has a budget per call,
 * pgcall.rate_limit_signals signals and pgcall.rate_limit_signal_bytes
 * bytes a minute, counted once the call and both people are checked (a
 * request about a call it cannot signal in counts nothing, and leaves no
 * row behind).
 */
Datum
pgcall_call_signal(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
	static const char *const kinds[] = {"offer", "answer", "candidate", "end_of_candidates",
	"renegotiate", NULL};
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *to_user;
	char	   *kind;
	char	   *payload = "null";
	size_t		payload_len = 4;
	bool		known = false;
	Datum		values[3];
	uint64		n;
	CallStatus	call_status = CALL_STATUS_NONE;
	char	   *end_reason = NULL;
	PartStatus	my_status = PART_NONE;
	PartStatus	their_status = PART_NONE;
	StringInfoData data;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("to_user is required")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("kind is required"),
				 errhint("kind is offer, answer, candidate, end_of_candidates or renegotiate.")));
	to_user = text_to_cstring(PG_GETARG_TEXT_PP(1));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pgcall_check_user_id(to_user, "to_user");
	for (int i = 0; kinds[i]; i++)
		known |= pgcall_streq(kind, kinds[i]);
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SIGNAL),
				 errmsg("signal kind \"%s\" is unknown", kind),
				 errhint("kind is offer, answer, candidate, end_of_candidates or renegotiate.")));
	if (strcmp(to_user, me) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SIGNAL),
				 errmsg("you cannot signal yourself"),
				 errhint("to_user names the other participant.")));
	if (!PG_ARGISNULL(3))
	{
		Jsonb	   *j = PG_GETARG_JSONB_P(3);

		/*
		 * Refuse a huge value before printing it: the binary form is never
		 * more than about six times the text (a small number, "1,", takes
		 * 12 bytes), so eight times the limit leaves room.
		 */
		if (VARSIZE(j) > (Size) pgcall_signal_max_bytes * 8)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_PAYLOAD_TOO_LARGE),
					 errmsg("signal payload is larger than the %d bytes allowed", pgcall_signal_max_bytes),
					 errhint("Send ICE candidates one by one or in small batches; the limit is the setting pgcall.signal_max_bytes.")));
		payload = JsonbToCString(NULL, &j->root, VARSIZE(j));
		payload_len = strlen(payload);
		if (payload_len > (size_t) pgcall_signal_max_bytes)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_PAYLOAD_TOO_LARGE),
					 errmsg("signal payload is %zu bytes, more than the %d allowed",
							payload_len, pgcall_signal_max_bytes),
					 errhint("Send ICE candidates one by one or in small batches; the limit is the setting pgcall.signal_max_bytes.")));
	}

	/*
	 * FOR SHARE: no change to the call (FOR UPDATE) commits between this
	 * signal's event id and its commit, so a call's own events come out in
	 * id order in pgcall.event_order = horizon too (a call's version, the
	 * last of them, never passes a state change still to come).  Signals
	 * do not wait for one another.
	 */
	SPI_connect();
	values[0] = CStringGetTextDatum(call_id);
	values[1] = CStringGetTextDatum(me);
	values[2] = CStringGetTextDatum(to_user);
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT pgcall.effective_call_status(c.status, c.ring_deadline), c.end_reason, "
								"(SELECT status FROM pgcall.participant WHERE call_id = c.id AND user_id = $2), "
								"(SELECT status FROM pgcall.participant WHERE call_id = c.id AND user_id = $3) "
								"FROM pgcall.call c WHERE c.id = $1::uuid FOR SHARE OF c",
								3, types), values, NULL, false, 1);
	if (n == 1)
	{
		call_status = pgcall_call_status_of(pgcall_getstr(0, 1));
		end_reason = pgcall_getstr(0, 2);
		my_status = pgcall_part_status_of(pgcall_getstr(0, 3));
		their_status = pgcall_part_status_of(pgcall_getstr(0, 4));
	}
	if (n == 0)
		pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	if (my_status == PART_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not a participant of this call")));
	if (call_status == CALL_ENDED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_CALL_ENDED),
				 errmsg("call has already ended"),
				 errdetail("Call %s ended: %s.", call_id, end_reason ? end_reason : "missed")));
	if (!in_call(my_status))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", pgcall_part_status_name(my_status))));
	if (!in_call(their_status))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("%s is not in this call", to_user),
				 errdetail("Signals go only to participants who are in the call or being rung.")));
	pgcall_rate_limit_amount(me, PGCALL_LIMIT_SIGNAL | PGCALL_LIMIT_SIGNAL_BYTES, call_id,
							 (int32) payload_len);

	initStringInfo(&data);
	appendStringInfoString(&data, "{\"from\":");
	escape_json(&data, me);
	appendStringInfoString(&data, ",\"to\":");
	escape_json(&data, to_user);
	appendStringInfoString(&data, ",\"kind\":");
	escape_json(&data, kind);
	appendStringInfo(&data, ",\"payload\":%s}", payload);
	pgcall_event_queue("call.signal", call_id, list_make1(to_user), data.data,
					   PGCALL_EVENT_NO_CALL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}
