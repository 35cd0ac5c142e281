/*
 * json.c: validating JSON scanner, top-level member lookup, and a small
 * string builder with JSON escaping.
 *
 * Why not LEJP: the libwebsockets parser caps nesting at 12 levels and key
 * paths at 128 bytes, so it would refuse client messages whose "args" are
 * valid JSON that PostgreSQL accepts.  This scanner checks the whole document
 * (strings are checked as UTF-8, as PostgreSQL will) and returns spans into
 * the source, so nothing is copied or re-serialized.
 *
 * Pure functions over caller-owned memory; no global state.
 */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ scanning */

struct scan
{
	const char *s;
	size_t		n;
	size_t		pos;
};

static void
skip_ws(struct scan *sc)
{
	while (sc->pos < sc->n)
	{
		char		c = sc->s[sc->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t		len;
	uint32_t	cp;

	if (c >= 0xc2 && c <= 0xdf)
	{
		len = 2;
		cp = c & 0x1f;
	}
	else if (c >= 0xe0 && c <= 0xef)
	{
		len = 3;
		cp = c & 0x0f;
	}
	else if (c >= 0xf0 && c <= 0xf4)
	{
		len = 4;
		cp = c & 0x07;
	}
	else
		return 0;
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++)
	{
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		(cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool
text_clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n;)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		l;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (!(l = utf8_seq((const unsigned char *) s + i, n - i)))
			return false;
		i += l;
	}
	return true;
}

static bool
scan_string(struct scan *sc)
{
	sc->pos++;					/* opening quote */
	while (sc->pos < sc->n)
	{
		unsigned char c = (unsigned char) sc->s[sc->pos];

		if (c == '"')
		{
			sc->pos++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\')
		{
			if (sc->pos + 1 >= sc->n)
				return false;
			c = (unsigned char) sc->s[sc->pos + 1];
			if (c == 'u')
			{
				if (sc->pos + 6 > sc->n)
					return false;
				for (int i = 2; i < 6; i++)
					if (hexval(sc->s[sc->pos + i]) < 0)
						return false;
				sc->pos += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == 0)
				return false;
			sc->pos += 2;
			continue;
		}
		if (c >= 0x80)
		{
			size_t		l = utf8_seq((const unsigned char *) sc->s + sc->pos, sc->n - sc->pos);

			if (l == 0)
				return false;
			sc->pos += l;
			continue;
		}
		sc->pos++;
	}
	return false;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
scan_number(struct scan *sc)
{
	if (sc->s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos >= sc->n || !is_digit(sc->s[sc->pos]))
		return false;
	if (sc->s[sc->pos] == '0')
		sc->pos++;
	else
		while (sc->pos < sc->n && is_digit(sc->s[sc->pos]))
			sc->pos++;
	if (sc->pos < sc->n && sc->s[sc->pos] == '.')
	{
		sc->pos++;
		if (sc->pos >= sc->n || !is_digit(sc->s[sc->pos]))
			return false;
		while (sc->pos < sc->n && is_digit(sc->s[sc->pos]))
			sc->pos++;
	}
	if (sc->pos < sc->n && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E'))
	{
		sc->pos++;
		if (sc->pos < sc->n && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sc->pos++;
		if (sc->pos >= sc->n || !is_digit(sc->s[sc->pos]))
			return false;
		while (sc->pos < sc->n && is_digit(sc->s[sc->pos]))
			sc->pos++;
	}
	return true;
}

static bool
scan_literal(struct scan *sc, const char *lit)
{
	size_t		l = strlen(lit);

	if (sc->n - sc->pos < l || memcmp(sc->s + sc->pos, lit, l) != 0)
		return false;
	sc->pos += l;
	return true;
}

/* One value at sc->pos (whitespace already skipped); fills v. */
static bool
scan_value(struct scan *sc, int depth, struct jval *v)
{
	size_t		start = sc->pos;
	bool		ok;

	if (sc->pos >= sc->n)
		return false;
	switch (sc->s[sc->pos])
	{
		case '{':
		case '[':
			{
				char		close = sc->s[sc->pos] == '{' ? '}' : ']';
				bool		obj = close == '}';
				bool		first = true;
				struct jval sub;

				if (depth >= JSON_MAX_DEPTH)
					return false;
				v->type = obj ? J_OBJECT : J_ARRAY;
				sc->pos++;
				for (;;)
				{
					skip_ws(sc);
					if (sc->pos >= sc->n)
						return false;
					if (sc->s[sc->pos] == close && first)
					{
						sc->pos++;
						break;
					}
					if (!first)
					{
						if (sc->s[sc->pos] == close)
						{
							sc->pos++;
							break;
						}
						if (sc->s[sc->pos] != ',')
							return false;
						sc->pos++;
						skip_ws(sc);
					}
					first = false;
					if (obj)
					{
						if (sc->pos >= sc->n || sc->s[sc->pos] != '"' || !scan_string(sc))
							return false;
						skip_ws(sc);
						if (sc->pos >= sc->n || sc->s[sc->pos] != ':')
							return false;
						sc->pos++;
						skip_ws(sc);
					}
					if (!scan_value(sc, depth + 1, &sub))
						return false;
				}
				ok = true;
				break;
			}
		case '"':
			v->type = J_STRING;
			ok = scan_string(sc);
			break;
		case 't':
			v->type = J_TRUE;
			ok = scan_literal(sc, "true");
			break;
		case 'f':
			v->type = J_FALSE;
			ok = scan_literal(sc, "false");
			break;
		case 'n':
			v->type = J_NULL;
			ok = scan_literal(sc, "null");
			break;
		default:
			v->type = J_NUMBER;
			ok = scan_number(sc);
			break;
	}
	if (!ok)
		return false;
	v->p = sc->s + start;
	v->n = sc->pos - start;
	return true;
}

bool
json_valid(const char *s, size_t n, enum jtype *top)
{
	struct scan sc = {s, n, 0};
	struct jval v;

	skip_ws(&sc);
	if (!scan_value(&sc, 0, &v))
		return false;
	skip_ws(&sc);
	if (sc.pos != n)
		return false;
	if (top)
		*top = v.type;
	return true;
}

/* Shared by the two iterators: document already validated. */
static int
iter_next(struct jiter *it, struct jval *key, struct jval *val)
{
	struct scan sc = {it->s, it->n, it->pos};

	if (it->pos == 0)
	{
		skip_ws(&sc);
		if (sc.pos >= sc.n || (sc.s[sc.pos] != '{' && sc.s[sc.pos] != '['))
			return 0;
		sc.pos++;
		skip_ws(&sc);
		if (sc.pos < sc.n && (sc.s[sc.pos] == '}' || sc.s[sc.pos] == ']'))
		{
			it->pos = sc.n;
			return 0;
		}
	}
	else
	{
		skip_ws(&sc);
		if (sc.pos >= sc.n || sc.s[sc.pos] != ',')
		{
			it->pos = sc.n;
			return 0;
		}
		sc.pos++;
		skip_ws(&sc);
	}
	if (key)
	{
		if (!scan_value(&sc, 1, key) || key->type != J_STRING)
			return 0;
		skip_ws(&sc);
		if (sc.pos >= sc.n || sc.s[sc.pos] != ':')
			return 0;
		sc.pos++;
		skip_ws(&sc);
	}
	if (!scan_value(&sc, 1, val))
		return 0;
	it->pos = sc.pos;
	return 1;
}

int
json_next_member(struct jiter *it, struct jval *key, struct jval *val)
{
	return iter_next(it, key, val);
}

int
json_next_element(struct jiter *it, struct jval *val)
{
	return iter_next(it, NULL, val);
}

bool
json_key_is(const struct jval *key, const char *name)
{
	size_t		l = strlen(name);
	char	   *k;
	bool		eq;

	/* fast path: no escapes */
	if (key->n == l + 2 && memcmp(key->p + 1, name, l) == 0)
		return true;
	if (!memchr(key->p, '\\', key->n))
		return false;
	k = json_string_dup(key);
	eq = k && strcmp(k, name) == 0;
	free(k);
	return eq;
}

bool
json_member(const char *s, size_t n, const char *key, struct jval *val)
{
	struct jiter it = {s, n, 0};
	struct jval k,
				v;
	bool		found = false;

	/* the last duplicate wins, as in PostgreSQL's jsonb */
	while (json_next_member(&it, &k, &v))
		if (json_key_is(&k, key))
		{
			*val = v;
			found = true;
		}
	return found;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xc0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xe0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char) (0xf0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char) (0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decoded copy of a validated string.  Refuses \u0000 and lone surrogates
 * (PostgreSQL refuses them in text too), so the result is clean UTF-8.
 */
char *
json_string_dup(const struct jval *v)
{
	char	   *out,
			   *o;
	const char *p,
			   *end;

	if (v->type != J_STRING || v->n < 2)
		return NULL;
	out = malloc(v->n);
	if (!out)
		return NULL;
	o = out;
	p = v->p + 1;
	end = v->p + v->n - 1;
	while (p < end)
	{
		if (*p != '\\')
		{
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p)
		{
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'u':
				{
					uint32_t	cp = 0;

					for (int i = 1; i <= 4; i++)
						cp = (cp << 4) | (uint32_t) hexval(p[i]);
					p += 4;
					if (cp >= 0xd800 && cp <= 0xdbff)
					{
						uint32_t	lo = 0;

						if (end - p < 7 || p[1] != '\\' || p[2] != 'u')
							goto bad;
						for (int i = 3; i <= 6; i++)
							lo = (lo << 4) | (uint32_t) hexval(p[i]);
						if (lo < 0xdc00 || lo > 0xdfff)
							goto bad;
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					}
					else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0)
						goto bad;
					o += put_utf8(o, cp);
					break;
				}
			default:			/* " \ / */
				*o++ = *p;
				break;
		}
		p++;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

bool
json_int64(const struct jval *v, int64_t *out)
{
	char		buf[32];
	char	   *end;
	long long	x;

	if (v->type != J_NUMBER || v->n >= sizeof(buf) ||
		memchr(v->p, '.', v->n) || memchr(v->p, 'e', v->n) || memchr(v->p, 'E', v->n))
		return false;
	memcpy(buf, v->p, v->n);
	buf[v->n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

bool
json_double(const struct jval *v, double *out)
{
	char		buf[64];
	char	   *end;

	if (v->type != J_NUMBER || v->n >= sizeof(buf))
		return false;
	memcpy(buf, v->p, v->n);
	buf[v->n] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0';
}

/* ------------------------------------------------------------- writing */

void
jb_init(struct jbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
jb_free(struct jbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

static bool
jb_reserve(struct jbuf *b, size_t more)
{
	size_t		want;
	char	   *s;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	want = b->cap ? b->cap : 256;
	while (want < b->len + more + 1)
		want *= 2;
	s = realloc(b->s, want);
	if (!s)
	{
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = want;
	return true;
}

void
jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (!jb_reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
jb_puts(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

void
jb_printf(struct jbuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !jb_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/*
 * Escapes quotes, backslashes and control characters.  Bytes that are not
 * valid UTF-8 become U+FFFD, so the output is always valid JSON even when
 * the input (a header value, a database message) is not clean.
 */
void
jb_str(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (!s)
	{
		jb_put(b, "null", 4);
		return;
	}
	jb_put(b, "\"", 1);
	for (size_t i = 0; i < n;)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
		{
			char		e[2] = {'\\', (char) c};

			jb_put(b, e, 2);
			i++;
		}
		else if (c < 0x20 || c == 0x7f)
		{
			char		e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			jb_put(b, e, 6);
			i++;
		}
		else if (c < 0x80)
		{
			size_t		j = i;

			while (j < n && (unsigned char) s[j] >= 0x20 && (unsigned char) s[j] < 0x7f &&
				   s[j] != '"' && s[j] != '\\')
				j++;
			jb_put(b, s + i, j - i);
			i = j;
		}
		else
		{
			size_t		l = utf8_seq((const unsigned char *) s + i, n - i);

			if (l == 0)
			{
				jb_put(b, "\xef\xbf\xbd", 3);
				i++;
			}
			else
			{
				jb_put(b, s + i, l);
				i += l;
			}
		}
	}
	jb_put(b, "\"", 1);
}

void
jb_strz(struct jbuf *b, const char *s)
{
	jb_str(b, s, s ? strlen(s) : 0);
}

char *
jb_take(struct jbuf *b, size_t *len)
{
	char	   *s;

	if (b->oom)
	{
		jb_free(b);
		return NULL;
	}
	if (!b->s && !jb_reserve(b, 0))
		return NULL;
	s = b->s;
	if (len)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return s;
}

/* ------------------------------------------------------------- base64 */

static int
b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* RFC 7515 base64url: no padding, no other alphabet, no stray bits. */
long
b64url_decode(const char *in, size_t n, unsigned char *out, size_t outsz)
{
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		o = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		int			v = b64url_val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)				/* leftover bits must be zero */
		return -1;
	return (long) o;
}
