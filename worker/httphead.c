/*
 * httphead.c: the check on a connection's first request head (request line
 * and header fields), run by listen.c before libwebsockets sees a byte.
 *
 * libwebsockets 4.1 drops some requests without a status (a head beyond its
 * header table, more URI and header fragments than it has slots for, %00 in
 * the URI, a duplicated request line), stalls on others until the header
 * timeout (a field line without a colon, obs-fold, CONNECT) and answers
 * some with an HTML 403 (an unknown method, a bad %-escape, a target not
 * starting with '/').  So the head is held to RFC 9112's grammar here, a
 * little stricter than lws, and whatever lws would refuse or misread gets a
 * status of its own:
 *
 *   400  request line or field line not well formed: bare CR or LF, obs-fold,
 *        whitespace or a non-token character in a field name, a control
 *        character or NUL in a value, a target that is not origin-form, a
 *        bad %-escape, %00, or dot segments above the root
 *   414  a target over HEAD_MAX_URI bytes decoded, or over HEAD_MAX_ARGS
 *        query arguments
 *   431  a head over HEAD_MAX_BYTES, or more fields (with the arguments)
 *        than HEAD_MAX_PARTS
 *   501  a method other than GET, HEAD, POST, OPTIONS, PUT, PATCH, DELETE
 *   505  an HTTP version other than 1.0 and 1.1
 *
 * The limits are those http.c applies to later requests of a connection, and
 * all of them are inside what lws can hold (16 kB of header data, 94 URI
 * and header fragments: listen.c checks that at compile time).
 */
#include "httphead.h"

#include <string.h>

static const char *const methods[] = {
	"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", NULL
};

static bool
bad(struct head_error *err, int status, const char *code, const char *message,
	const char *hint)
{
	err->status = status;
	err->code = code;
	err->message = message;
	err->hint = hint;
	return false;
}

static bool
bad_syntax(struct head_error *err, const char *message, const char *hint)
{
	return bad(err, 400, "PGRST100", message, hint);
}

/* RFC 9110 tchar */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One path segment, decoded: how it moves the depth below the root. */
static int
segment_step(const char *seg, size_t seg_len)
{
	if (seg_len == 2 && seg[0] == '.' && seg[1] == '.')
		return -1;
	if (seg_len == 0 || (seg_len == 1 && seg[0] == '.'))
		return 0;
	return 1;
}

/*
 * The request target, origin-form only.  *parts gets the fragments lws
 * makes of it beyond the path itself: one per '&' or ';' (lws splits at
 * both, in the path too) and one for the query string.  Dot segments are
 * resolved as lws does (on the decoded path); one that climbs above the
 * root, which lws quietly clamps, is refused.
 */
static bool
check_target(const unsigned char *t, size_t len, int *parts, struct head_error *err)
{
	size_t		decoded = 0,
				seg_len = 0;
	int			depth = 0,
				nsep = 0;
	bool		query = false;
	char		seg[2];

	if (len == 0 || t[0] != '/')
		return bad_syntax(err, "The request target must be a path",
						  "Send the path and query string only (origin-form), starting with '/'.");
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = t[i];
		bool		enc = false;

		if (c < 0x21 || c == 0x7f)
			return bad_syntax(err, "The request target contains a control character",
							  "Percent-encode spaces and control characters in the path and query (%20).");
		if (c == '%')
		{
			int			h1 = i + 1 < len ? hex(t[i + 1]) : -1,
						h2 = i + 2 < len ? hex(t[i + 2]) : -1;

			if (h1 < 0 || h2 < 0)
				return bad_syntax(err, "The request target has a malformed %-escape",
								  "A '%' must be followed by two hexadecimal digits.");
			c = (unsigned char) (h1 * 16 + h2);
			if (c == 0)
				return bad_syntax(err, "The request target contains %00",
								  "Remove the NUL byte: paths and arguments are text without NUL.");
			i += 2;
			enc = true;
		}
		if (!enc && (c == '&' || c == ';'))
			nsep++;
		if (query)
		{
			decoded++;
			continue;
		}
		if (!enc && c == '?')
		{
			query = true;
			nsep++;
		}
		else
			decoded++;
		if (c == '/' || query)
		{
			if ((depth += segment_step(seg, seg_len)) < 0)
				return bad_syntax(err, "The request path leads above the root",
								  "Remove the '..' segments.");
			seg_len = 0;
			continue;
		}
		if (seg_len < sizeof(seg))
			seg[seg_len] = (char) c;
		seg_len++;
	}
	if (!query && depth + segment_step(seg, seg_len) < 0)
		return bad_syntax(err, "The request path leads above the root",
						  "Remove the '..' segments.");
	if (decoded > HEAD_MAX_URI || nsep > HEAD_MAX_ARGS)
		return bad(err, 414, "PGRST414", "The request URI is too long",
				   "Send at most 4096 bytes of path and query string, and at most 63 arguments.");
	*parts = nsep;
	return true;
}

/* "METHOD SP target SP HTTP/x.y", without its CRLF */
static bool
check_request_line(const unsigned char *l, size_t len, int *parts, struct head_error *err)
{
	const unsigned char *sp1 = memchr(l, ' ', len),
			   *sp2,
			   *v;
	size_t		mlen,
				vlen;
	int			i;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t) (sp1 + 1 - l))))
		return bad_syntax(err, "The request line is not well formed",
						  "Send METHOD, a path and HTTP/1.1, separated by single spaces.");
	v = sp2 + 1;
	vlen = len - (size_t) (v - l);
	mlen = (size_t) (sp1 - l);
	for (size_t k = 0; k < mlen; k++)
		if (!is_tchar(l[k]))
			return bad_syntax(err, "The request method is not well formed",
							  "Use GET, HEAD, POST or OPTIONS, in capitals.");
	if (mlen == 0 || memchr(v, ' ', vlen))
		return bad_syntax(err, "The request line is not well formed",
						  "Send METHOD, a path and HTTP/1.1, separated by single spaces.");
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
		v[7] < '0' || v[7] > '9')
		return bad_syntax(err, "The request line does not end in an HTTP version",
						  "Send METHOD, a path and HTTP/1.1, separated by single spaces.");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return bad(err, 505, "PGRST505", "The HTTP version is not supported",
				   "Use HTTP/1.1.");
	for (i = 0; methods[i]; i++)
		if (strlen(methods[i]) == mlen && memcmp(methods[i], l, mlen) == 0)
			break;
	if (!methods[i])
		return bad(err, 501, "PGRST501", "The request method is not implemented",
				   "Use GET, HEAD, POST or OPTIONS.");
	return check_target(sp1 + 1, (size_t) (sp2 - sp1 - 1), parts, err);
}

/* "name: value", without its CRLF */
static bool
check_field(const unsigned char *l, size_t len, struct head_error *err)
{
	const unsigned char *colon;

	if (l[0] == ' ' || l[0] == '\t')
		return bad_syntax(err, "A header field is folded over lines (obs-fold)",
						  "Send each header field on one line.");
	colon = memchr(l, ':', len);
	if (!colon)
		return bad_syntax(err, "A header field line has no colon",
						  "Send each header field as 'Name: value'.");
	if (colon == l)
		return bad_syntax(err, "A header field has an empty name",
						  "Send each header field as 'Name: value'.");
	for (const unsigned char *p = l; p < colon; p++)
		if (!is_tchar(*p))
			return bad_syntax(err, "A header field name is not a token",
							  "Field names are letters, digits and !#$%&'*+-.^_`|~, "
							  "with no space before the colon.");
	for (const unsigned char *p = colon + 1; p < l + len; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return bad_syntax(err, "A header field value contains a control character or NUL",
							  "Header values are visible characters, spaces and tabs only.");
	return true;
}

static enum head_result
too_big(struct head_error *err)
{
	bad(err, 431, "PGRST431", "The request header fields are too large",
		"Send at most 8192 bytes of header fields, and at most 90 fields and "
		"query arguments together.");
	return HEAD_BAD;
}

static enum head_result
refuse(struct head_error *err, int status, const char *code, const char *message,
	   const char *hint)
{
	bad(err, status, code, message, hint);
	return HEAD_BAD;
}

enum head_result
httphead_check(const char *buf, size_t len, bool eof, size_t *skip, size_t *head_len,
			   struct head_error *err)
{
	const unsigned char *b = (const unsigned char *) buf;
	size_t		pos = 0;
	int			parts = 0,
				fields = 0;
	bool		first = true;

	/* RFC 9112 2.2: empty lines before the request line are ignored */
	while (pos + 1 < len && b[pos] == '\r' && b[pos + 1] == '\n')
		pos += 2;
	*skip = pos;
	for (;;)
	{
		const unsigned char *start = b + pos,
				   *nl = memchr(start, '\n', len - pos);
		size_t		llen;

		if (!nl)
		{
			/* an incomplete line: what can be told of it already */
			const unsigned char *cr = memchr(start, '\r', len - pos);

			if (cr && cr + 1 < b + len)
				return refuse(err, 400, "PGRST100", "A line ends in a bare CR",
								  "End every line with CR LF.");
			if (first)
			{
				const unsigned char *sp = memchr(start, ' ', len - pos);

				for (const unsigned char *p = start; p < (sp ? sp : b + len); p++)
					if (!is_tchar(*p) && *p != '\r')
						return refuse(err, 400, "PGRST100", "The request method is not well formed",
									  "Is this HTTP?  TLS is not served on this port.");
				if (!sp && len - pos > 16)
					return refuse(err, 501, "PGRST501", "The request method is not implemented",
								  "Use GET, HEAD, POST or OPTIONS.");
			}
			if (first && len - pos > HEAD_MAX_URI + 32)
				return refuse(err, 414, "PGRST414", "The request URI is too long",
						   "Send at most 4096 bytes of path and query string, and at most 63 arguments.");
			if (len >= HEAD_MAX_BYTES)
				return too_big(err);
			if (eof)
				return refuse(err, 400, "PGRST100", "The request ended inside its header fields",
								  "End the header fields with an empty line.");
			return HEAD_MORE;
		}
		if (nl == start || nl[-1] != '\r')
			return refuse(err, 400, "PGRST100", "A line ends in a bare LF",
							  "End every line with CR LF.");
		llen = (size_t) (nl - 1 - start);
		if (memchr(start, '\r', llen))
			return refuse(err, 400, "PGRST100", "A line contains a bare CR",
							  "End every line with CR LF.");
		pos = (size_t) (nl + 1 - b);
		if (first)
		{
			if (!check_request_line(start, llen, &parts, err))
				return HEAD_BAD;
			first = false;
		}
		else if (llen == 0)
		{
			if (pos > HEAD_MAX_BYTES)
				return too_big(err);
			*head_len = pos - *skip;
			return HEAD_OK;
		}
		else
		{
			if (!check_field(start, llen, err))
				return HEAD_BAD;
			if (++fields + parts > HEAD_MAX_PARTS)
				return too_big(err);
		}
		if (pos > HEAD_MAX_BYTES)
			return too_big(err);
	}
}
