/*
 * sio.c: Engine.IO 4 / Socket.IO 5 packets, and the dialect mapper (sio.h).
 *
 * The parser follows socket.io-parser's decoder (and its payload checks),
 * stricter where the server has no use for leniency: one namespace and
 * ack id syntax, event names that are strings, JSON validated by json.c.
 */
#include "sio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event names socket.io reserves for itself: a client may not emit them. */
static const char *const reserved_events[] = {
	"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"
};

/* A JSON string literal (validated) holds an escaped NUL, \u0000. */
static bool
escapes_nul(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
	{
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++;					/* skip the escaped character */
	}
	return false;
}

static int
fail(const char **err, const char *msg)
{
	*err = msg;
	return -1;
}

int
sio_parse(const char *s, size_t n, struct sio_packet *p, const char **err)
{
	size_t		i;
	enum jtype	top;

	memset(p, 0, sizeof(*p));
	p->ack = -1;
	p->nsp = "/";
	p->nsp_len = 1;
	if (n == 0)
		return fail(err, "empty packet");
	if (s[0] < '0' || s[0] > '6')
		return fail(err, "unknown Engine.IO packet type");
	p->eio = (enum eio_type) (s[0] - '0');
	switch (p->eio)
	{
		case EIO_PING:
		case EIO_PONG:
			/* "2probe" / "3probe" while upgrading; nothing else is sent */
			p->text = s + 1;
			p->text_len = n - 1;
			if (p->text_len && !(p->text_len == 5 && memcmp(s + 1, "probe", 5) == 0))
				return fail(err, "a ping or pong carries nothing but \"probe\"");
			return 0;
		case EIO_CLOSE:
		case EIO_UPGRADE:
		case EIO_NOOP:
			if (n != 1)
				return fail(err, "this Engine.IO packet carries no data");
			return 0;
		case EIO_OPEN:
			return fail(err, "only the server sends an open packet");
		case EIO_MESSAGE:
			break;
	}
	if (n < 2)
		return fail(err, "empty Socket.IO packet");
	if (s[1] < '0' || s[1] > '6')
		return fail(err, "unknown Socket.IO packet type");
	p->type = (enum sio_type) (s[1] - '0');
	i = 2;
	if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK)
		return fail(err, "binary packets are not supported: send JSON");
	if (i < n && s[i] == '/')
	{
		size_t		start = i;

		while (i < n && s[i] != ',')
			i++;
		p->nsp = s + start;
		p->nsp_len = i - start;
		if (p->nsp_len > SIO_MAX_NSP || !text_clean(p->nsp, p->nsp_len))
			return fail(err, "the namespace is too long or not clean text");
		if (i < n)
			i++;				/* the comma */
	}
	if (i < n && s[i] >= '0' && s[i] <= '9')
	{
		int64_t		ack = 0;
		int			digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9')
		{
			if (++digits > 15)
				return fail(err, "the ack id has more than 15 digits");
			ack = ack * 10 + (s[i] - '0');
			i++;
		}
		p->ack = ack;
	}
	if (i < n)
	{
		p->data.p = s + i;
		p->data.n = n - i;
		if (!json_valid(p->data.p, p->data.n, &top))
			return fail(err, "the payload is not valid JSON");
		p->data.type = top;
	}
	switch (p->type)
	{
		case SIO_CONNECT:
			if (p->data.type != J_NONE && p->data.type != J_OBJECT)
				return fail(err, "a CONNECT payload must be an object");
			if (p->ack >= 0)
				return fail(err, "a CONNECT has no ack id");
			break;
		case SIO_DISCONNECT:
			if (p->data.type != J_NONE || p->ack >= 0)
				return fail(err, "a DISCONNECT carries nothing");
			break;
		case SIO_CONNECT_ERROR:
			return fail(err, "only the server sends CONNECT_ERROR");
		case SIO_ACK:
			if (p->data.type != J_ARRAY || p->ack < 0)
				return fail(err, "an ACK needs an id and an array");
			break;
		case SIO_EVENT:
			{
				struct jiter it = {p->data.p, p->data.n, 0};
				struct jval v;

				if (p->data.type != J_ARRAY || !json_next_element(&it, &p->name))
					return fail(err, "an EVENT needs a non-empty array");
				if (p->name.type != J_STRING)
					return fail(err, "the event name must be a string");
				if (p->name.n - 2 > SIO_MAX_EVENT)
					return fail(err, "the event name is too long");
				{
					/* the name goes to the database as a C string */
					char	   *nm = json_string_dup(&p->name);
					bool		clean = nm && nm[0] && text_clean(nm, strlen(nm)) &&
						!escapes_nul(p->name.p, p->name.n);

					free(nm);
					if (!clean)
						return fail(err, "the event name must be non-empty text without control characters");
				}
				for (size_t r = 0; r < sizeof(reserved_events) / sizeof(reserved_events[0]); r++)
					if (json_key_is(&p->name, reserved_events[r]))
						return fail(err, "the event name is reserved by Socket.IO");
				while (json_next_element(&it, &v))
				{
					if (p->nargs++ == 0)
						p->arg = v;
				}
			}
			break;
		default:
			return fail(err, "unknown Socket.IO packet type");
	}
	return 0;
}

/* ------------------------------------------------------------- writing */

void
sio_put_open(struct jbuf *b, const char *sid, int ping_interval_ms, int ping_timeout_ms,
			 size_t max_payload, bool upgradable)
{
	jb_puts(b, "0{\"sid\":");
	jb_strz(b, sid);
	jb_printf(b, ",\"upgrades\":%s,\"pingInterval\":%d,\"pingTimeout\":%d,\"maxPayload\":%zu}",
			  upgradable ? "[\"websocket\"]" : "[]", ping_interval_ms, ping_timeout_ms, max_payload);
}

void
sio_put_head(struct jbuf *b, enum sio_type type, const char *nsp, int64_t ack)
{
	jb_printf(b, "4%d", (int) type);
	if (nsp && strcmp(nsp, "/") != 0)
	{
		jb_puts(b, nsp);
		jb_puts(b, ",");
	}
	if (ack >= 0)
		jb_printf(b, "%lld", (long long) ack);
}

void
sio_put_event(struct jbuf *b, const char *nsp, const char *name, size_t name_len,
			  const char *data, size_t data_len)
{
	sio_put_head(b, SIO_EVENT, nsp, -1);
	jb_puts(b, "[");
	jb_str(b, name, name_len);
	if (data)
	{
		jb_puts(b, ",");
		jb_put(b, data, data_len);
	}
	jb_puts(b, "]");
}

/* -------------------------------------------------------------- origin */

bool
sio_origin_ok(const char *s, size_t n)
{
	size_t		i = 0,
				start;

	if (n == 0 || n > SIO_MAX_ORIGIN || s[0] < 'a' || s[0] > 'z')
		return false;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
					 s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (n - i < 4 || memcmp(s + i, "://", 3) != 0)
		return false;
	i += 3;
	start = i;
	if (s[i] == '[')
	{
		/* an IPv6 address: hex digits, colons and dots (an IPv4 tail) */
		while (++i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
						   s[i] == ':' || s[i] == '.'))
			;
		if (i >= n || s[i] != ']' || i - start < 3)
			return false;
		i++;
	}
	else
	{
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
						 s[i] == '-' || s[i] == '.' || s[i] == '_'))
			i++;
		if (i == start || s[start] == '.' || s[i - 1] == '.')
			return false;
	}
	if (i < n && s[i] == ':')
	{
		unsigned	port = 0;
		size_t		digits = 0;

		while (++i < n && s[i] >= '0' && s[i] <= '9' && digits < 5)
		{
			port = port * 10 + (unsigned) (s[i] - '0');
			digits++;
		}
		if (digits == 0 || port > 65535)
			return false;
	}
	return i == n;
}

/* -------------------------------------------------------------- mapper */

static bool
is_path(const struct jval *v)
{
	return v->type == J_STRING && v->n >= 3 && v->p[1] == '$' &&
		(v->p[2] == '.' || v->p[2] == '[') && !memchr(v->p, '\\', v->n);
}

struct mapctx
{
	const char *event;
	size_t		event_len;
	const char *me;
	size_t		me_len;
	const struct sio_media *media;	/* NULL: not asked for (conditions never see it) */
};

/* A path's value in m's context ($.event, $.me, $.media). */
static bool
path_value(const struct mapctx *m, const char *path, size_t len, struct jval *out)
{
	struct jval cur;
	size_t		i = 1;
	bool		first = true;

	if (len < 2 || path[0] != '$')
		return false;
	while (i < len)
	{
		if (path[i] == '.')
		{
			char		key[64];
			size_t		start = ++i;

			while (i < len && path[i] != '.' && path[i] != '[')
				i++;
			if (i == start || i - start >= sizeof(key))
				return false;
			memcpy(key, path + start, i - start);
			key[i - start] = '\0';
			if (first)
			{
				if (strcmp(key, "event") == 0)
				{
					/* the event was validated as an object by the caller */
					cur.p = m->event;
					cur.n = m->event_len;
					cur.type = J_OBJECT;
				}
				else if (strcmp(key, "me") == 0)
				{
					cur.p = m->me;
					cur.n = m->me_len;
					cur.type = J_STRING;
				}
				else if (strcmp(key, "media") == 0 && m->media && m->media->json)
				{
					/* validated as an object by sio_map() */
					cur.p = m->media->json;
					cur.n = m->media->len;
					cur.type = J_OBJECT;
				}
				else
					return false;
				first = false;
				continue;
			}
			if (cur.type != J_OBJECT || !json_member(cur.p, cur.n, key, &cur))
				return false;
		}
		else if (path[i] == '[')
		{
			size_t		idx = 0;
			int			digits = 0;
			struct jiter it;
			struct jval v;

			i++;
			while (i < len && path[i] >= '0' && path[i] <= '9' && digits < 6)
			{
				idx = idx * 10 + (size_t) (path[i++] - '0');
				digits++;
			}
			if (!digits || i >= len || path[i] != ']')
				return false;
			i++;
			if (first || cur.type != J_ARRAY)
				return false;
			it = (struct jiter) {cur.p, cur.n, 0};
			do
			{
				if (!json_next_element(&it, &v))
					return false;
			} while (idx-- > 0);
			cur = v;
		}
		else
			return false;
	}
	if (first)
		return false;
	*out = cur;
	return true;
}

bool
sio_path(const char *path, size_t len, const char *event, size_t event_len,
		 const char *me_json, size_t me_len, struct jval *out)
{
	struct mapctx m = {event, event_len, me_json, me_len, NULL};

	return path_value(&m, path, len, out);
}

/* Two values equal as JSON scalars; strings compare decoded. */
static bool
values_equal(const struct jval *a, const struct jval *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == J_STRING && (memchr(a->p, '\\', a->n) || memchr(b->p, '\\', b->n)))
	{
		char	   *x = json_string_dup(a),
				   *y = json_string_dup(b);
		bool		eq = x && y && strcmp(x, y) == 0;

		free(x);
		free(y);
		return eq;
	}
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

static bool
value_of(const struct mapctx *m, const struct jval *v, struct jval *out)
{
	if (!is_path(v))
	{
		*out = *v;
		return true;
	}
	return path_value(m, v->p + 1, v->n - 2, out);
}

/* A template value that is a path into $.media ("$.media", "$.media.agora.token"). */
static bool
is_media_path(const struct jval *v)
{
	return is_path(v) && v->n >= 9 && memcmp(v->p + 1, "$.media", 7) == 0 &&
		(v->n == 9 || v->p[8] == '.' || v->p[8] == '[');
}

/* Whether a template reads $.media anywhere (then its rule waits for it). */
static bool
uses_media(const struct jval *t, int depth)
{
	struct jiter it = {t->p, t->n, 0};
	struct jval k,
				v;

	if (depth > 16)
		return false;
	if (t->type == J_OBJECT)
	{
		while (json_next_member(&it, &k, &v))
			if (uses_media(&v, depth + 1))
				return true;
	}
	else if (t->type == J_ARRAY)
	{
		while (json_next_element(&it, &v))
			if (uses_media(&v, depth + 1))
				return true;
	}
	return is_media_path(t);
}

static bool
rule_holds(const struct mapctx *m, const struct jval *when)
{
	struct jiter it = {when->p, when->n, 0};
	struct jval k,
				v,
				a,
				b;

	if (when->type != J_OBJECT)
		return false;
	while (json_next_member(&it, &k, &v))
	{
		if (!is_path(&k) || !path_value(m, k.p + 1, k.n - 2, &a))
			return false;
		if (!value_of(m, &v, &b) || !values_equal(&a, &b))
			return false;
	}
	return true;
}

/* A template filled in: objects and arrays recursively, paths resolved. */
static void
fill(const struct mapctx *m, const struct jval *t, struct jbuf *b, int depth)
{
	struct jiter it = {t->p, t->n, 0};
	struct jval k,
				v,
				r;
	bool		any = false;

	if (depth > 16)
	{
		jb_puts(b, "null");
		return;
	}
	if (t->type == J_OBJECT)
	{
		jb_puts(b, "{");
		while (json_next_member(&it, &k, &v))
		{
			/* a member the path does not find is left out; $.media's are null */
			if (is_path(&v) && !value_of(m, &v, &r) && !is_media_path(&v))
				continue;
			if (any)
				jb_puts(b, ",");
			any = true;
			jb_put(b, k.p, k.n);
			jb_puts(b, ":");
			fill(m, &v, b, depth + 1);
		}
		jb_puts(b, "}");
	}
	else if (t->type == J_ARRAY)
	{
		jb_puts(b, "[");
		while (json_next_element(&it, &v))
		{
			if (any)
				jb_puts(b, ",");
			any = true;
			if (is_path(&v) && !value_of(m, &v, &r))
				jb_puts(b, "null");
			else
				fill(m, &v, b, depth + 1);
		}
		jb_puts(b, "]");
	}
	else if (is_path(t))
	{
		if (value_of(m, t, &r))
			jb_put(b, r.p, r.n);
		else
			jb_puts(b, "null");
	}
	else
		jb_put(b, t->p, t->n);
}

int
sio_map(const char *rules, size_t rules_len, const char *event, size_t event_len,
		const char *me, const struct sio_media *media, sio_emit_fn emit, void *ctx)
{
	enum jtype	top;
	struct jval type,
				rule;
	struct jiter it = {rules, rules_len, 0};
	struct mapctx m = {event, event_len, NULL, 0, NULL};
	struct sio_media given = {NULL, 0};
	struct jbuf mej;
	int			rc = 0;

	if (!json_valid(rules, rules_len, &top) || top != J_ARRAY)
		return -1;
	if (!json_valid(event, event_len, &top) || top != J_OBJECT ||
		!json_member(event, event_len, "event", &type) || type.type != J_STRING)
		return -1;
	/* a media session that is not an object is none: its paths fill null */
	if (media && media->json && json_valid(media->json, media->len, &top) && top == J_OBJECT)
		given = *media;
	jb_init(&mej);
	jb_strz(&mej, me ? me : "");
	if (mej.oom)
	{
		jb_free(&mej);
		return -1;
	}
	m.me = mej.s;
	m.me_len = mej.len;
	while (json_next_element(&it, &rule))
	{
		struct jval on,
					when,
					name,
					payload;
		struct jbuf out;
		char	   *nm;

		if (rule.type != J_OBJECT || !json_member(rule.p, rule.n, "on", &on) ||
			!values_equal(&on, &type))
			continue;
		if (json_member(rule.p, rule.n, "when", &when) && when.type != J_NULL &&
			!rule_holds(&m, &when))
			continue;
		if (!json_member(rule.p, rule.n, "payload", &payload))
			payload = (struct jval) {.type = J_NULL};
		if (!media && uses_media(&payload, 0))
		{
			rc = SIO_MAP_MEDIA;	/* the caller asks for it, then maps again */
			break;
		}
		m.media = &given;
		if (!json_member(rule.p, rule.n, "emit", &name) || name.type != J_STRING ||
			!(nm = json_string_dup(&name)))
		{
			rc = -1;
			break;
		}
		jb_init(&out);
		if (payload.type != J_NULL)
			fill(&m, &payload, &out, 0);
		if (out.oom)
			rc = -1;
		else
		{
			emit(ctx, nm, strlen(nm), out.len ? out.s : NULL, out.len);
			rc = 1;
		}
		free(nm);
		jb_free(&out);
		break;
	}
	jb_free(&mej);
	return rc;
}
