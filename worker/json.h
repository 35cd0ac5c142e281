/*
 * json.h: the JSON the bridge reads and writes itself.
 *
 * The bridge never re-serializes a document: bodies and client messages go
 * to the database as text, and the database's JSON goes to clients as text.
 * It only needs to (1) validate a document and find a few top-level members
 * (JWT header and claims, the "type", "id" and "after" of a client message)
 * and (2) write small objects with correctly escaped strings.
 *
 * No libwebsockets or libpq here, so the fuzzers link it alone.
 */
#ifndef PGCALL_JSON_H
#define PGCALL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

enum jtype
{
	J_NONE, J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL
};

/* A value as a span of the source text (strings include their quotes). */
struct jval
{
	enum jtype	type;
	const char *p;
	size_t		n;
};

/* s[0..n) is well-formed UTF-8 without control characters (a path, a name). */
bool		text_clean(const char *s, size_t n);

/* Whole-document check: one value, RFC 8259, UTF-8, depth <= JSON_MAX_DEPTH. */
bool		json_valid(const char *s, size_t n, enum jtype *top);

/*
 * Members of a validated object, in order.  Start with it.pos = 0.
 * Returns 1 with key and val set, 0 at the end.
 */
struct jiter
{
	const char *s;
	size_t		n;
	size_t		pos;
};
int			json_next_member(struct jiter *it, struct jval *key, struct jval *val);
/* Elements of a validated array, likewise. */
int			json_next_element(struct jiter *it, struct jval *val);

/* Find a top-level member of a validated object by (unescaped) key. */
bool		json_member(const char *s, size_t n, const char *key, struct jval *val);

/* Decode a string value; returns a malloc'd NUL-terminated copy or NULL. */
char	   *json_string_dup(const struct jval *v);
bool		json_key_is(const struct jval *key, const char *name);

/* Numbers: integral (no fraction or exponent) into int64, or any into double. */
bool		json_int64(const struct jval *v, int64_t *out);
bool		json_double(const struct jval *v, double *out);

/* ------------------------------------------------------------- writing */

struct jbuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
	bool		oom;
};

void		jb_init(struct jbuf *b);
void		jb_free(struct jbuf *b);
void		jb_put(struct jbuf *b, const char *s, size_t n);
void		jb_puts(struct jbuf *b, const char *s);
void		jb_printf(struct jbuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s[0..n), or null when s is NULL. */
void		jb_str(struct jbuf *b, const char *s, size_t n);
void		jb_strz(struct jbuf *b, const char *s);
/* Detach the NUL-terminated text; NULL if memory ran out. */
char	   *jb_take(struct jbuf *b, size_t *len);

/* base64url without padding (JWT), decoding; returns length or -1. */
long		b64url_decode(const char *in, size_t n, unsigned char *out, size_t outsz);

#endif							/* PGCALL_JSON_H */
