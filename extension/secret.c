/*
 * secret.c: the Agora certificates, the TURN secret, the pseudonym key and
 * the JWT secret of the embedded bridge (bridge_supervisor.c).
 *
 * Secrets live in the table pgcall.secret, on which no role but a superuser
 * has any privilege and row-level security is forced with no policy, so
 * neither grants, pg_read_all_data nor a parameter view can reveal them.  The
 * extension reads the table directly with a heap scan, which needs no
 * privilege, and never returns a value to SQL.
 *
 * Lifetime: each backend caches the values in TopMemoryContext.  The table's
 * statement trigger (pgcall.secret_changed, below) queues a relcache
 * invalidation for the table, which every backend receives at the writer's
 * commit; the callback wipes the cache and the next use reloads it.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcall.h"

typedef struct SecretDef
{
	const char *name;
	bool		agora_certificate;	/* value must be 32 hex characters */
	const char *hint;			/* where a free-form secret comes from */
	int			min_len;		/* shortest free-form value; 0: TURN_SECRET_MIN */
} SecretDef;

static const SecretDef secret_defs[PGCALL_NUM_SECRETS] = {
	[PGCALL_SECRET_AGORA_CERTIFICATE] = {"agora_app_certificate", true, NULL},
	[PGCALL_SECRET_AGORA_CERTIFICATE_SECONDARY] = {"agora_app_certificate_secondary", true, NULL},
	[PGCALL_SECRET_TURN] = {"turn_secret", false,
	"Use the static-auth-secret configured in coturn; generate one with: openssl rand -hex 32"},
	[PGCALL_SECRET_PSEUDONYM_KEY] = {"pseudonym_key", false,
	"Generate a key with: openssl rand -hex 32.  Changing it changes every pseudonym."},
	[PGCALL_SECRET_JWT] = {"jwt_secret", false,
		"The HS256 secret the embedded bridge verifies JWTs with, at least 32 bytes; generate one with: openssl rand -hex 32",
	32},
};

#define SECRET_NAMES_HINT "Secrets are agora_app_certificate, agora_app_certificate_secondary, turn_secret, pseudonym_key and jwt_secret."

/* Shortest free-form secret accepted (TURN secret, pseudonym key). */
#define TURN_SECRET_MIN 16

static char *secret_values[PGCALL_NUM_SECRETS];
static bool secrets_valid = false;
static Oid	secret_relid = InvalidOid;
static uint64 invalidation_count = 0;

static void
wipe_secrets(void)
{
	for (int i = 0; i < PGCALL_NUM_SECRETS; i++)
	{
		if (secret_values[i] != NULL)
		{
			explicit_bzero(secret_values[i], strlen(secret_values[i]));
			pfree(secret_values[i]);
			secret_values[i] = NULL;
		}
	}
	secrets_valid = false;
}

static void
secret_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == secret_relid)
	{
		wipe_secrets();
		secret_relid = InvalidOid;
		invalidation_count++;
	}
}

static int
secret_index(const char *name)
{
	for (int i = 0; i < PGCALL_NUM_SECRETS; i++)
		if (strcmp(secret_defs[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Read every row of pgcall.secret into the cache.  The table is opened
 * before the snapshot is taken, so any invalidation that the lock wait
 * delivered is already reflected in what we read; if another arrives while
 * we read, the result is not marked valid and the next call reads again.
 */
static void
load_secrets(void)
{
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	Snapshot	snapshot;
	uint64		before = invalidation_count;

	wipe_secrets();
	if (!OidIsValid(get_extension_oid("pgcall", true)))
		return;
	relid = pgcall_relid("secret");

	rel = table_open(relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		name = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);
		Datum		value;
		int			i;

		if (isnull)
			continue;
		i = secret_index(TextDatumGetCString(name));
		value = heap_getattr(tuple, 2, RelationGetDescr(rel), &isnull);
		if (i < 0 || isnull)
			continue;
		secret_values[i] = MemoryContextStrdup(TopMemoryContext,
											   TextDatumGetCString(value));
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	secret_relid = relid;
	secrets_valid = (before == invalidation_count);
}

/*
 * Copy a secret into the caller's buffer.  Returns false when it is not set.
 * The caller wipes the buffer with explicit_bzero when done.
 */
bool
pgcall_secret_copy(PgcallSecret which, char *buf, size_t size)
{
	const char *value;

	Assert(which >= 0 && which < PGCALL_NUM_SECRETS);
	if (!secrets_valid)
		load_secrets();
	value = secret_values[which];
	if (value == NULL || strlen(value) >= size)
		return false;
	strlcpy(buf, value, size);
	return true;
}

void
pgcall_init_secrets(void)
{
	CacheRegisterRelcacheCallback(secret_relcache_callback, (Datum) 0);
}

/*
 * Validate a secret's value.  Messages never contain the value.
 */
static void
check_secret_value(int index, const char *value)
{
	size_t		len = strlen(value);

	if (secret_defs[index].agora_certificate)
	{
		bool		hex = (len == 32);

		for (size_t i = 0; hex && i < len; i++)
			hex = isxdigit((unsigned char) value[i]);
		if (!hex)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_CERTIFICATE),
					 errmsg("%s must be 32 hexadecimal characters", secret_defs[index].name),
					 errdetail("The value given has %zu characters.", len),
					 errhint("Copy the primary (or secondary) App Certificate of your project from the Agora Console.")));
	}
	else if (len < (secret_defs[index].min_len ? secret_defs[index].min_len : TURN_SECRET_MIN) ||
			 len > PGCALL_SECRET_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SECRET),
				 errmsg("%s must be %d to %d bytes long", secret_defs[index].name,
						secret_defs[index].min_len ? secret_defs[index].min_len : TURN_SECRET_MIN,
						PGCALL_SECRET_MAX),
				 errdetail("The value given has %zu bytes.", len),
				 errhint("%s", secret_defs[index].hint)));
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char) value[i]))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_SECRET),
					 errmsg("%s must not contain control characters", secret_defs[index].name)));
}

/* The secret named by argument 0, checked; superusers only. */
static int
secret_arg(FunctionCallInfo fcinfo, char **name)
{
	int			index;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may set pgcall secrets")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SECRET),
				 errmsg("secret name must not be null"),
				 errhint(SECRET_NAMES_HINT)));
	*name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	index = secret_index(*name);
	if (index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SECRET),
				 errmsg("unknown pgcall secret \"%s\"", *name),
				 errhint(SECRET_NAMES_HINT)));
	return index;
}

static void store_secret(const char *name, char *value);

PG_FUNCTION_INFO_V1(pgcall_set_secret);

/*
 * set_secret(name, value): store a secret, or remove it when value is NULL.
 * Superusers only, whatever EXECUTE grants say.
 */
Datum
pgcall_set_secret(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *value = NULL;
	int			index = secret_arg(fcinfo, &name);

	if (!PG_ARGISNULL(1))
	{
		value = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_secret_value(index, value);
	}
	store_secret(name, value);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgcall_set_secret_from_file);

/*
 * set_secret_from_file(name, path): store the secret held in a file on the
 * database server (one line; a final newline is dropped).  The value never
 * appears in a statement's text or parameters, so neither the server log
 * (log_statement, log_min_error_statement) nor pg_stat_statements can hold
 * it.  Errors name the file, never its content.
 */
Datum
pgcall_set_secret_from_file(PG_FUNCTION_ARGS)
{
	char	   *name;
	int			index = secret_arg(fcinfo, &name);
	char	   *path;
	FILE	   *f;
	char	   *buf;
	size_t		len;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("file path must not be null"),
				 errhint("Give the absolute path of a file the database server's OS user can read.")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret file path must be absolute"),
				 errhint("Give the absolute path of a file the database server's OS user can read.")));
	f = AllocateFile(path, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open secret file \"%s\": %m", path),
				 errhint("The file must be readable by the database server's OS user.")));
	buf = palloc0(PGCALL_SECRET_MAX + 3);
	len = fread(buf, 1, PGCALL_SECRET_MAX + 2, f);
	if (ferror(f))
	{
		FreeFile(f);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read secret file \"%s\": %m", path)));
	}
	FreeFile(f);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
	{
		explicit_bzero(buf, PGCALL_SECRET_MAX + 3);
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SECRET),
				 errmsg("secret file \"%s\" holds a NUL byte", path)));
	}
	PG_TRY();
	{
		check_secret_value(index, buf);
	}
	PG_CATCH();
	{
		explicit_bzero(buf, PGCALL_SECRET_MAX + 3);
		PG_RE_THROW();
	}
	PG_END_TRY();
	store_secret(name, buf);
	PG_RETURN_VOID();
}

/* Write (or, for a NULL value, delete) a checked secret; wipes value. */
static void
store_secret(const char *name, char *value)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	int			rc;

	SPI_connect();
	values[0] = CStringGetTextDatum(name);
	if (value == NULL)
		rc = SPI_execute_with_args("DELETE FROM pgcall.secret WHERE name = $1",
								   1, argtypes, values, NULL, false, 0);
	else
	{
		values[1] = CStringGetTextDatum(value);
		rc = SPI_execute_with_args("INSERT INTO pgcall.secret AS s (name, value) VALUES ($1, $2) "
								   "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
								   2, argtypes, values, NULL, false, 0);
		explicit_bzero(VARDATA(DatumGetPointer(values[1])),
					   VARSIZE(DatumGetPointer(values[1])) - VARHDRSZ);
		explicit_bzero(value, strlen(value));
	}
	if (rc < 0)
		elog(ERROR, "could not store pgcall secret: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/*
 * A secret outside the fixed list (a webhook endpoint's signing secret,
 * "webhook:<id>"), read with a heap scan like load_secrets and not cached.
 * Returns false when there is none or it does not fit; the caller wipes buf.
 */
bool
pgcall_secret_lookup(const char *name, char *buf, size_t size)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	Snapshot	snapshot;
	bool		found = false;

	rel = table_open(pgcall_relid("secret"), AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while (!found && (tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);
		char	   *value;

		if (isnull || strcmp(TextDatumGetCString(d), name) != 0)
			continue;
		d = heap_getattr(tuple, 2, RelationGetDescr(rel), &isnull);
		if (isnull)
			break;
		value = TextDatumGetCString(d);
		if (strlen(value) < size)
		{
			strlcpy(buf, value, size);
			found = true;
		}
		explicit_bzero(value, strlen(value));
		pfree(value);
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* Store (or with NULL delete) a secret outside the fixed list; wipes value. */
void
pgcall_secret_store(const char *name, char *value)
{
	store_secret(name, value);
}

PG_FUNCTION_INFO_V1(pgcall_secret_is_set);

/* secret_is_set(name): whether a secret has a value; reveals nothing else. */
Datum
pgcall_secret_is_set(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			index = secret_index(name);

	if (index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SECRET),
				 errmsg("unknown pgcall secret \"%s\"", name),
				 errhint(SECRET_NAMES_HINT)));
	if (!secrets_valid)
		load_secrets();
	PG_RETURN_BOOL(secret_values[index] != NULL);
}

PG_FUNCTION_INFO_V1(pgcall_secret_changed);

/* Statement trigger on pgcall.secret: tell every backend to reload. */
Datum
pgcall_secret_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "secret_changed: not called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
