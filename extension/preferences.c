/*
 * preferences.c: each user's call preferences (pgcall.preference).
 *
 * A user without a row has the defaults below, which are the only place
 * the defaults are written down: preferences_get fills them in and
 * preferences_set starts from them.  auto_mute_on_join is applied by the
 * join path in call_common.c and conference.c through pgcall_auto_mute_on_join.
 * The masking flags and the avatar are stored for clients, which do the
 * masking themselves.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "calls.h"
#include "pgcall.h"
#include "rowread.h"

#define AVATAR_MAX 1024

/* Defaults for users who never set a preference. */
static const bool default_voice_masking = false;
static const bool default_video_masking = false;
static const bool default_auto_mute = false;
static const char *const default_video_quality = "hd";

/* The preferences of user_id as jsonb, defaults filled in. */
static Datum
preferences_json(const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[5] = {TEXTOID, BOOLOID, BOOLOID, BOOLOID, TEXTOID};
	Datum		values[5];
	bool		isnull;

	values[0] = CStringGetTextDatum(user_id);
	values[1] = BoolGetDatum(default_voice_masking);
	values[2] = BoolGetDatum(default_video_masking);
	values[3] = BoolGetDatum(default_auto_mute);
	values[4] = CStringGetTextDatum(default_video_quality);
	pgcall_exec(pgcall_plan(&plan,
							"SELECT pg_catalog.jsonb_build_object("
							"'voice_masking_enabled', COALESCE(p.voice_masking_enabled, $2), "
							"'video_masking_enabled', COALESCE(p.video_masking_enabled, $3), "
							"'auto_mute_on_join', COALESCE(p.auto_mute_on_join, $4), "
							"'video_quality', COALESCE(p.video_quality, $5), "
							"'preferred_avatar', p.preferred_avatar, "
							"'created_at', p.created_at, "
							"'updated_at', p.updated_at) "
							"FROM (SELECT 1) AS one LEFT JOIN pgcall.preference p ON p.user_id = $1",
							5, types), values, NULL, false, 1);
	return SPI_datumTransfer(pgcall_getdatum(0, 1, &isnull), false, -1);
}

/* Whether user_id wants the microphone muted when joining a call. */
bool
pgcall_auto_mute_on_join(const char *user_id)
{
	Snapshot	snap = pgcall_statement_snapshot();
	Relation	rel = table_open(pgcall_relid("preference"), AccessShareLock);
	IndexKey	key = {TEXTOID, CStringGetTextDatum(user_id)};
	IndexRow   *row;
	bool		mute = default_auto_mute;

	if (pgcall_index_rows(rel, RelationGetPrimaryKeyIndex(rel), &key, 1, snap, 1, false, &row) > 0)
		mute = DatumGetBool(row->values[pgcall_column(RelationGetDescr(rel), "auto_mute_on_join")]);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return mute;
}

PG_FUNCTION_INFO_V1(pgcall_preferences_get);

/* preferences_get(): the current user's preferences. */
Datum
pgcall_preferences_get(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user();
	Datum		result;

	SPI_connect();
	result = preferences_json(me);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static char *
check_video_quality(const char *quality)
{
	if (pg_strcasecmp(quality, "hd") == 0)
		return "hd";
	if (pg_strcasecmp(quality, "sd") == 0)
		return "sd";
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_INVALID_PREFERENCE),
			 errmsg("video_quality \"%s\" is not hd or sd", quality),
			 errhint("Pass video_quality => 'hd' or video_quality => 'sd'.")));
	return NULL;
}

static void
check_avatar(const char *avatar)
{
	if (strlen(avatar) > AVATAR_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_PREFERENCE),
				 errmsg("preferred_avatar must be at most %d bytes long", AVATAR_MAX),
				 errhint("Store the image elsewhere and pass its name or URL.")));
	for (const char *p = avatar; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_PREFERENCE),
					 errmsg("preferred_avatar must not contain control characters")));
}

PG_FUNCTION_INFO_V1(pgcall_preferences_set);

/*
 * preferences_set(voice_masking_enabled boolean, video_masking_enabled
 *                 boolean, auto_mute_on_join boolean, video_quality text,
 *                 preferred_avatar text)
 *
 * Changes the preferences given; NULL leaves one as it is, and an empty
 * preferred_avatar removes the avatar.  Returns them all, as
 * preferences_get does.
 */
Datum
pgcall_preferences_set(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[10] = {TEXTOID, BOOLOID, BOOLOID, BOOLOID, TEXTOID, TEXTOID,
	BOOLOID, BOOLOID, BOOLOID, TEXTOID};
	const char *me = pgcall_require_user();
	Datum		values[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum		result;

	values[0] = CStringGetTextDatum(me);
	for (int i = 0; i < 3; i++)
	{
		values[1 + i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[1 + i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (PG_ARGISNULL(3))
		nulls[4] = 'n';
	else
		values[4] = CStringGetTextDatum(check_video_quality(text_to_cstring(PG_GETARG_TEXT_PP(3))));
	if (PG_ARGISNULL(4))
		nulls[5] = 'n';
	else
	{
		char	   *avatar = text_to_cstring(PG_GETARG_TEXT_PP(4));

		check_avatar(avatar);
		values[5] = CStringGetTextDatum(avatar);
	}
	values[6] = BoolGetDatum(default_voice_masking);
	values[7] = BoolGetDatum(default_video_masking);
	values[8] = BoolGetDatum(default_auto_mute);
	values[9] = CStringGetTextDatum(default_video_quality);

	SPI_connect();
	pgcall_exec(pgcall_plan(&plan,
							"INSERT INTO pgcall.preference AS p (user_id, voice_masking_enabled, "
							"video_masking_enabled, auto_mute_on_join, video_quality, preferred_avatar) "
							"VALUES ($1, COALESCE($2, $7), COALESCE($3, $8), COALESCE($4, $9), "
							"COALESCE($5, $10), NULLIF($6, '')) "
							"ON CONFLICT (user_id) DO UPDATE SET "
							"voice_masking_enabled = COALESCE($2, p.voice_masking_enabled), "
							"video_masking_enabled = COALESCE($3, p.video_masking_enabled), "
							"auto_mute_on_join = COALESCE($4, p.auto_mute_on_join), "
							"video_quality = COALESCE($5, p.video_quality), "
							"preferred_avatar = CASE WHEN $6 IS NULL THEN p.preferred_avatar ELSE NULLIF($6, '') END, "
							"updated_at = pg_catalog.now()",
							10, types), values, nulls, false, 0);
	result = preferences_json(me);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
