/*
 * request.c: the PostgREST conventions shared by HTTP and WebSocket calls:
 * who a request runs as (JWT or anonymous role), which exposed schema it
 * names, and how a database result or error becomes a status and a body.
 *
 * Status mapping follows PostgREST's table (docs/protocol.md lists it),
 * plus pgcall's own codes P<status><letter> and PostgREST's PTxyz and
 * 'PGRST' conventions.  Pure functions of their inputs and the options
 * given to request_init().
 *
 * The identity statement and the call are built here and nowhere else:
 * HTTP and WebSocket calls send the same two statements.
 */
#include "request.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "jwt.h"
#include "wire.h"

static const struct config *cfg;
static char statement_timeout[24];

void
request_init(const struct config *config)
{
	cfg = config;
	snprintf(statement_timeout, sizeof(statement_timeout), "%d", cfg->statement_timeout_ms);
}

struct job *
request_job(const struct identity *id, const char *headers_json, const char *method,
			const char *path, bool read_only, job_done_fn done, void *owner)
{
	const char *v[6] = {id->role, id->claims, headers_json ? headers_json : "{}",
	method, path, statement_timeout};
	struct job *job = job_new(done, owner);

	if (!job || job_add(job, read_only ? SQL_IDENTITY_RO : SQL_IDENTITY, 6, v))
	{
		job_free(job);
		return NULL;
	}
	return job;
}

int
request_add_rpc(struct job *job, const char *schema, const char *fn, const char *args_json,
				bool single, const char *query, const char *prefer, const char *accept,
				const char *range)
{
	const char *v[8] = {schema, fn, args_json, single ? "true" : "false",
	query, prefer, accept, range};

	if (job_add(job, SQL_RPC, 8, v))
		return -1;
	job->reset_after = strcmp(schema, "pgcall") != 0;	/* db.c: reset_sql */
	return 0;
}

void
request_refusal(bool pool, const char **code, const char **message, const char **hint)
{
	if (pool && pool_up_count() > 0)
	{
		*code = "PGRST003";
		*message = "Too many requests are waiting for a database connection";
		*hint = "Retry later.";
	}
	else
	{
		*code = "PGRST001";
		*message = "Could not connect to the database";
		*hint = NULL;
	}
}

void
request_refused(struct reply *r, bool pool)
{
	const char *code,
			   *message,
			   *hint;

	request_refusal(pool, &code, &message, &hint);
	reply_error(r, 503, code, message, NULL, hint);
}

void
request_job_refused(struct job *job, bool pool)
{
	const char *hint;

	request_refusal(pool, &job->fail_code, &job->fail_msg, &hint);
}

void
identity_clear(struct identity *id)
{
	free(id->role);
	free(id->claims);
	free(id->sub);
	memset(id, 0, sizeof(*id));
}

void
reply_clear(struct reply *r)
{
	free(r->body);
	free(r->extra_headers);
	memset(r, 0, sizeof(*r));
}

static void
reply_json(struct reply *r, int status, struct jbuf *b)
{
	free(r->body);
	r->body = jb_take(b, &r->len);
	if (!r->body)
		r->len = 0;
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	r->www_authenticate = status == 401;
	r->retry_after = 0;
}

/*
 * The seconds a rate-limit error says to wait: its hint starts "Wait <n>
 * seconds" (ratelimit.c, raise_limited()).  0 when it does not.
 */
static int
hint_wait(const char *hint)
{
	long		n = 0;

	if (!hint || strncmp(hint, "Wait ", 5) != 0 || hint[5] < '0' || hint[5] > '9')
		return 0;
	for (hint += 5; *hint >= '0' && *hint <= '9'; hint++)
		if ((n = n * 10 + (*hint - '0')) > 86400 * 366)
			return 0;
	return strncmp(hint, " second", 7) == 0 ? (int) n : 0;
}

void
reply_error(struct reply *r, int status, const char *code, const char *message,
			const char *details, const char *hint)
{
	struct jbuf b;

	jb_init(&b);
	jb_puts(&b, "{\"code\":");
	jb_strz(&b, code);
	jb_puts(&b, ",\"message\":");
	jb_strz(&b, message);
	jb_puts(&b, ",\"details\":");
	jb_strz(&b, details);
	jb_puts(&b, ",\"hint\":");
	jb_strz(&b, hint);
	jb_puts(&b, "}");
	reply_json(r, status, &b);
	r->retry_after = status == 429 ? hint_wait(hint) : 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Header names and values from a PGRST detail's "headers" object, as
 * "name: value\r\n" lines.  Names must be tokens and values must not break
 * the header block; anything else is dropped.
 */
static char *
pgrst_headers(const struct jval *obj)
{
	struct jiter it = {obj->p, obj->n, 0};
	struct jval k,
				v;
	struct jbuf b;

	jb_init(&b);
	while (json_next_member(&it, &k, &v))
	{
		char	   *name = json_string_dup(&k);
		char	   *value = v.type == J_STRING ? json_string_dup(&v) : NULL;
		bool		ok = name && value && name[0];

		for (char *p = name; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p) || *p == '-';
		for (char *p = value; ok && *p; p++)
			ok = (unsigned char) *p >= 0x20 && *p != 0x7f;
		if (ok)
			jb_printf(&b, "%s: %s\r\n", name, value);
		free(name);
		free(value);
	}
	return b.len ? jb_take(&b, NULL) : (jb_free(&b), NULL);
}

/* SQLSTATE 'PGRST': message is the error body, detail says status and headers. */
static bool
reply_pgrst(struct reply *r, const char *message, const char *detail)
{
	enum jtype	t;
	struct jval status,
				headers;
	int64_t		st = 500;
	struct jbuf b;

	if (!message || !json_valid(message, strlen(message), &t) || t != J_OBJECT)
		return false;
	if (detail && json_valid(detail, strlen(detail), &t) && t == J_OBJECT)
	{
		if (json_member(detail, strlen(detail), "status", &status) &&
			(!json_int64(&status, &st) || st < 100 || st > 599))
			st = 500;
		if (json_member(detail, strlen(detail), "headers", &headers) && headers.type == J_OBJECT)
			r->extra_headers = pgrst_headers(&headers);
	}
	jb_init(&b);
	jb_puts(&b, message);
	reply_json(r, (int) st, &b);
	return true;
}

void
reply_from_job(struct reply *r, const struct job *job, int rpc_stmt, bool authenticated,
			   bool single, bool count_exact)
{
	const PGresult *res;
	const char *kind;
	long long	rows = 0;
	char		total[24];

	if (job->fail_code)
	{
		reply_error(r, sqlstate_http_status("08006", authenticated), job->fail_code,
					job->fail_msg, NULL, NULL);
		return;
	}
	if (job->err)
	{
		const PGresult *e = job->err;
		const char *code = PQresultErrorField(e, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(e, PG_DIAG_MESSAGE_PRIMARY);
		const char *detail = PQresultErrorField(e, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(e, PG_DIAG_MESSAGE_HINT);
		int			status;

		if (code && strcmp(code, "PGRST") == 0 && reply_pgrst(r, msg, detail))
			return;
		if (!msg)
			msg = PQresultErrorMessage(e);
		/*
		 * The identity step fails when the role cannot be assumed (no such
		 * role: 22023, not a member: 42501), which is the token's fault.
		 * Anything else there (text the database refuses, 22021...) keeps
		 * its own status.
		 */
		status = job->err_stmt == 0 && rpc_stmt != 0 && code &&
			(strcmp(code, "22023") == 0 || strcmp(code, "42501") == 0) ? 401
			: sqlstate_http_status(code, authenticated);
		reply_error(r, status, code, msg, detail, hint);
		return;
	}
	res = job->res[rpc_stmt];
	if (!res || PQntuples(res) != 1 || PQnfields(res) < 3)
	{
		reply_error(r, 500, "PGRST000", "pgcall.rpc() returned an unexpected result", NULL,
					"Check that the installed pgcall extension matches this bridge.");
		return;
	}
	kind = PQgetvalue(res, 0, 0);
	if (!PQgetisnull(res, 0, 2))
		rows = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (strcmp(kind, "void") == 0)
	{
		free(r->body);
		r->body = NULL;
		r->len = 0;
		r->status = 204;
		r->content_type = NULL;
		return;
	}
	free(r->body);
	if (PQgetisnull(res, 0, 1))
	{
		r->body = strdup("null");
		r->len = 4;
	}
	else
	{
		r->len = (size_t) PQgetlength(res, 0, 1);
		r->body = malloc(r->len + 1);
		if (r->body)
			memcpy(r->body, PQgetvalue(res, 0, 1), r->len + 1);
	}
	if (!r->body)
	{
		reply_error(r, 500, "PGRST000", "out of memory", NULL, NULL);
		return;
	}
	r->status = 200;
	r->content_type = strcmp(kind, "csv") == 0 ? "text/csv; charset=utf-8"
		: single ? "application/vnd.pgrst.object+json; charset=utf-8"
		: "application/json; charset=utf-8";
	/* pgcall.rpc says the range (offset, page, total) when it can */
	if (PQnfields(res) >= 4 && !PQgetisnull(res, 0, 3))
	{
		long long	first,
					last,
					all;

		snprintf(r->content_range, sizeof(r->content_range), "%s", PQgetvalue(res, 0, 3));
		/* a known total the range does not cover is PostgREST's 206 */
		if (sscanf(r->content_range, "%lld-%lld/%lld", &first, &last, &all) == 3 &&
			(first > 0 || last + 1 < all))
			r->status = 206;
		return;
	}
	if (count_exact)
		snprintf(total, sizeof(total), "%lld", rows);
	else
		strcpy(total, "*");
	if (rows > 0)
		snprintf(r->content_range, sizeof(r->content_range), "0-%lld/%s", rows - 1, total);
	else
		snprintf(r->content_range, sizeof(r->content_range), "*/%s", total);
}

/* A verified JWT (or none: token == NULL) into the identity a request runs as. */
int
identity_from_bearer(struct identity *id, const char *token, size_t len, struct reply *err)
{
	struct jwt	t;
	const char *why = NULL;
	enum jwt_error e;

	memset(id, 0, sizeof(*id));
	if (!token)
	{
		if (!cfg->anon_role[0])
		{
			reply_error(err, 401, "PGRST302", "Anonymous access is disabled", NULL,
						"Send a JWT in the Authorization header.");
			return -1;
		}
		id->role = strdup(cfg->anon_role);
		id->claims = strdup("");
		return id->role && id->claims ? 0 : -1;
	}
	e = jwt_verify(token, len, (const unsigned char *) cfg->jwt_secret, cfg->jwt_secret_len,
				   cfg->jwt_aud, now_unix(), &t, &why);
	if (e != JWT_OK)
	{
		reply_error(err, 401, jwt_error_code(e), why, NULL, NULL);
		return -1;
	}
	/* a token that never expires cannot be taken back: refuse it unless allowed */
	if (!t.exp && !cfg->jwt_allow_no_exp)
	{
		jwt_clear(&t);
		reply_error(err, 401, "PGRST303", "JWT has no exp claim", NULL,
					"Issue tokens with an expiry (or start the bridge with --jwt-allow-no-exp).");
		return -1;
	}
	if (!t.role)
	{
		/*
		 * No role claim: the request runs as the anonymous role with no
		 * identity at all.  Passing on its claims would let a token meant
		 * for something else act as its sub under the anonymous role.
		 */
		jwt_clear(&t);
		if (!cfg->anon_role[0])
		{
			reply_error(err, 401, "PGRST302", "JWT has no role claim and anonymous access is disabled",
						NULL, NULL);
			return -1;
		}
		id->role = strdup(cfg->anon_role);
		id->claims = strdup("");
		return id->role && id->claims ? 0 : -1;
	}
	id->role = t.role;
	id->claims = t.claims;
	id->sub = t.sub;
	id->exp = t.exp;
	id->authenticated = true;
	return id->role ? 0 : -1;
}

const char *
schema_pick(const char *profile)
{
	if (!profile || !profile[0])
		return cfg->schemas[0];
	for (int i = 0; i < cfg->nschemas; i++)
		if (strcmp(profile, cfg->schemas[i]) == 0)
			return cfg->schemas[i];
	return NULL;
}
