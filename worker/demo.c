/*
 * demo.c: POST /demo/token, sign-in for the reference web app in demo mode.
 *
 * With --demo-users alice,bob,... the bridge hands out a short-lived HS256
 * JWT (role pgcall_user, sub = the user) for each listed user, to anyone who
 * asks: there is no password, so this exists only for script/run and the
 * browser tests.  With --demo-admins ops,... it does the same with role
 * pgcall_admin for those names, when the request asks for that role (the
 * admin dashboard, web/admin.html).  Without either flag the routes do not
 * exist (404), which is the default.  It signs with the same secret the bridge verifies with, so
 * the token works for /rpc and /ws like any other; no business rule is
 * involved, the database still decides what the user may do.
 */
#include "demo.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "jwt.h"
#include "log.h"

/* Lifetime of a demo token, seconds.  The page gets a new one when the
 * WebSocket is closed for an expired token (close code 1008). */
#define DEMO_TOKEN_TTL 900

static const struct config *cfg;

void
demo_init(const struct config *config)
{
	cfg = config;
}

/* Whether user is one of the comma-separated names in list. */
static bool
demo_user_listed(const char *list, const char *user)
{
	size_t		ul = strlen(user);

	if (!list || !ul)
		return false;
	for (const char *p = list; *p;)
	{
		size_t		n = strcspn(p, ",");

		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n == ul && strncmp(p, user, n) == 0)
			return true;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return false;
}

bool
demo_enabled(void)
{
	return (cfg->demo_users && cfg->demo_users[0]) ||
		(cfg->demo_admins && cfg->demo_admins[0]);
}

/*
 * The reply to POST /demo/token with body[0..len), {"user": "<name>"} for a
 * user's token, or {"user": "<name>", "role": "pgcall_admin"} for an
 * administrator's ("role": "pgcall_user" is the default).
 */
void
demo_token(struct reply *r, const char *body, size_t len)
{
	struct jval v;
	struct jbuf b;
	char	   *user = NULL,
			   *role = NULL,
			   *claims = NULL,
			   *token = NULL;
	enum jtype	top;
	int64_t		now = now_unix();
	bool		admin = false;

	if (!body || !json_valid(body, len, &top) || top != J_OBJECT ||
		!json_member(body, len, "user", &v) || v.type != J_STRING ||
		!(user = json_string_dup(&v)))
	{
		reply_error(r, 400, "PGRST100", "The body must be a JSON object with a string \"user\"",
					NULL, "Send {\"user\": \"alice\"}.");
		return;
	}
	if (json_member(body, len, "role", &v))
	{
		if (v.type != J_STRING || !(role = json_string_dup(&v)) ||
			(strcmp(role, "pgcall_user") != 0 && strcmp(role, "pgcall_admin") != 0))
		{
			reply_error(r, 400, "PGRST100", "\"role\" must be \"pgcall_user\" or \"pgcall_admin\"",
						NULL, "Leave it out for a user's token.");
			goto done;
		}
		admin = strcmp(role, "pgcall_admin") == 0;
	}
	if (!demo_user_listed(admin ? cfg->demo_admins : cfg->demo_users, user))
	{
		reply_error(r, 404, "PGRST404", admin ? "Not a demo administrator" : "Not a demo user", NULL,
					admin ? "Demo administrators are the ones named by --demo-admins."
					: "Demo users are the ones named by --demo-users.");
		goto done;
	}
	jb_init(&b);
	jb_puts(&b, "{\"sub\":");
	jb_strz(&b, user);
	jb_printf(&b, ",\"role\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"demo\":true}",
			  admin ? "pgcall_admin" : "pgcall_user",
			  (long long) now, (long long) (now + DEMO_TOKEN_TTL));
	claims = jb_take(&b, NULL);
	if (claims)
		token = jwt_sign(claims, (const unsigned char *) cfg->jwt_secret, cfg->jwt_secret_len);
	if (!token)
	{
		reply_error(r, 500, "PGRST000", "out of memory", NULL, NULL);
		goto done;
	}
	jb_init(&b);
	jb_puts(&b, "{\"token\":");
	jb_strz(&b, token);
	jb_printf(&b, ",\"user\":");
	jb_strz(&b, user);
	jb_printf(&b, ",\"expires_in\":%d}", DEMO_TOKEN_TTL);
	free(r->body);
	r->body = jb_take(&b, &r->len);
	r->status = r->body ? 200 : 500;
	r->content_type = "application/json; charset=utf-8";
	log_info("demo %s token issued for %s", admin ? "administrator" : "user", user);
done:
	free(user);
	free(role);
	free(claims);
	free(token);
}

/*
 * The demo users (or administrators) as a JSON array, for GET /demo/users
 * (the app's sign-in list) and GET /demo/admins (the dashboard's).
 */
void
demo_users(struct reply *r, bool admins)
{
	struct jbuf b;
	bool		first = true;

	jb_init(&b);
	jb_puts(&b, "[");
	for (const char *p = admins ? cfg->demo_admins : cfg->demo_users; p && *p;)
	{
		size_t		n = strcspn(p, ",");
		const char *s = p;

		while (n && *s == ' ')
			s++, n--;
		while (n && s[n - 1] == ' ')
			n--;
		if (n)
		{
			if (!first)
				jb_puts(&b, ",");
			first = false;
			jb_str(&b, s, n);
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	jb_puts(&b, "]");
	free(r->body);
	r->body = jb_take(&b, &r->len);
	r->status = r->body ? 200 : 500;
	r->content_type = "application/json; charset=utf-8";
}
