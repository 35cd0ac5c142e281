/*
 * json_out.c: building the JSON that functions return and events carry.
 *
 * Objects are written as text into a StringInfo that starts with "{"; the
 * members below add their comma themselves.  pgcall_jsonb_result() turns the
 * text into a jsonb result and closes the caller's SPI connection.
 *
 * Turning the text into jsonb is what jsonb_in does, but jsonb_in is
 * general: a callback per token, every string copied, every object's keys
 * sorted through pushJsonbValue.  For a call_* reply (a call object of
 * some 40 members) that came to 170,000 instructions, a seventh of a
 * call_session.  pgcall_jsonb_from_text reads the JSON pgcall writes (no
 * \u escape, integers, no repeated key) straight into a JsonbValue tree
 * whose strings point into the text, sorts each object's keys as jsonb
 * keeps them, and has convertToJsonb (through JsonbValueToJsonb) write the
 * binary form, as jsonb_in ends.  Anything else in the text (a \u escape,
 * a fraction or exponent, a repeated key, anything that is not JSON) goes
 * to jsonb_in whole, which gives the answer or the error it always gave.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/json.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "storage/proc.h"

#include "pgcall.h"

static void
member_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

/* "key": "value" (null when value is NULL) */
void
pgcall_json_member(StringInfo buf, const char *key, const char *value)
{
	member_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/* "key": true|false */
void
pgcall_json_bool(StringInfo buf, const char *key, bool value)
{
	member_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

/* Deeper than this, the text goes to jsonb_in (which checks the stack). */
#define FAST_MAX_DEPTH 32

typedef struct FastText
{
	const char *p;				/* next byte; the text ends with a NUL */
	int			depth;
} FastText;

static bool fast_value(FastText *t, JsonbValue *v);

static void
fast_space(FastText *t)
{
	while (*t->p == ' ' || *t->p == '\n' || *t->p == '\t' || *t->p == '\r')
		t->p++;
}

/*
 * A string at t->p (its opening quote): v points into the text where there
 * is no escape, else at a copy with the escapes undone.  False for a \u
 * escape, a control character or no closing quote.
 */
static bool
fast_string(FastText *t, JsonbValue *v)
{
	const char *start = ++t->p;
	const char *s = start;
	char	   *out;
	char	   *o;

	while (*s != '"' && *s != '\\')
	{
		if ((unsigned char) *s < 0x20)
			return false;		/* the NUL that ends the text, or a control character */
		s++;
	}
	v->type = jbvString;
	if (*s == '"')
	{
		v->val.string.val = (char *) start;
		v->val.string.len = s - start;
		t->p = s + 1;
		return v->val.string.len <= JENTRY_OFFLENMASK;
	}
	/* an escape: the string, up to its closing quote, goes to a copy */
	while (*s != '"')
	{
		if ((unsigned char) *s < 0x20)
			return false;
		s += (*s == '\\' && s[1] != '\0') ? 2 : 1;
	}
	o = out = palloc(s - start);
	for (s = start; *s != '"'; s++)
	{
		if (*s != '\\')
		{
			*o++ = *s;
			continue;
		}
		switch (*++s)
		{
			case '"':
			case '\\':
			case '/':
				*o++ = *s;
				break;
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
			default:
				return false;	/* \u, or not an escape */
		}
	}
	v->val.string.val = out;
	v->val.string.len = o - out;
	t->p = s + 1;
	return v->val.string.len <= JENTRY_OFFLENMASK;
}

/* An integer (-?(0|[1-9][0-9]*)) as numeric_in reads it, as jsonb_in does. */
static bool
fast_integer(FastText *t, JsonbValue *v)
{
	const char *s = t->p;
	char		digits[24];

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	/* a fraction, an exponent, or what cannot follow a number */
	if (*s == '.' || *s == 'e' || *s == 'E' || (*s >= '0' && *s <= '9') ||
		s - t->p >= (int) sizeof(digits))
		return false;
	memcpy(digits, t->p, s - t->p);
	digits[s - t->p] = '\0';
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(digits),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	t->p = s;
	return true;
}

static bool
fast_word(FastText *t, const char *word, JsonbValue *v)
{
	size_t		n = strlen(word);

	if (strncmp(t->p, word, n) != 0)
		return false;
	t->p += n;
	if (word[0] == 'n')
		v->type = jbvNull;
	else
	{
		v->type = jbvBool;
		v->val.boolean = word[0] == 't';
	}
	return true;
}

/* jsonb's order of keys: shorter first, then bytewise (as jsonb_in sorts them) */
static int
fast_key_cmp(const void *a, const void *b)
{
	const JsonbValue *ka = &((const JsonbPair *) a)->key;
	const JsonbValue *kb = &((const JsonbPair *) b)->key;

	if (ka->val.string.len != kb->val.string.len)
		return ka->val.string.len > kb->val.string.len ? 1 : -1;
	return memcmp(ka->val.string.val, kb->val.string.val, ka->val.string.len);
}

/* An object at t->p (its "{"), keys sorted; false for a repeated key. */
static bool
fast_object(FastText *t, JsonbValue *v)
{
	int			n = 0;
	int			size = 16;
	JsonbPair  *pairs = palloc(sizeof(JsonbPair) * size);

	t->p++;
	fast_space(t);
	if (*t->p != '}')
		for (;;)
		{
			if (n == size)
				pairs = repalloc(pairs, sizeof(JsonbPair) * (size *= 2));
			if (*t->p != '"' || !fast_string(t, &pairs[n].key))
				return false;
			fast_space(t);
			if (*t->p++ != ':')
				return false;
			fast_space(t);
			if (!fast_value(t, &pairs[n].value))
				return false;
			pairs[n].order = n;
			n++;
			fast_space(t);
			if (*t->p == '}')
				break;
			if (*t->p++ != ',')
				return false;
			fast_space(t);
		}
	t->p++;
	/* by insertion when few, as an object pgcall writes has (qsort costs more) */
	if (n > 32)
		qsort(pairs, n, sizeof(JsonbPair), fast_key_cmp);
	else
		for (int i = 1; i < n; i++)
		{
			JsonbPair	p = pairs[i];
			int			j = i;

			for (; j > 0 && fast_key_cmp(&pairs[j - 1], &p) > 0; j--)
				pairs[j] = pairs[j - 1];
			pairs[j] = p;
		}
	for (int i = 1; i < n; i++)
		if (fast_key_cmp(&pairs[i - 1], &pairs[i]) == 0)
			return false;		/* jsonb_in keeps the last of them */
	v->type = jbvObject;
	v->val.object.nPairs = n;
	v->val.object.pairs = pairs;
	return true;
}

static bool
fast_array(FastText *t, JsonbValue *v)
{
	int			n = 0;
	int			size = 8;
	JsonbValue *elems = palloc(sizeof(JsonbValue) * size);

	t->p++;
	fast_space(t);
	if (*t->p != ']')
		for (;;)
		{
			if (n == size)
				elems = repalloc(elems, sizeof(JsonbValue) * (size *= 2));
			if (!fast_value(t, &elems[n++]))
				return false;
			fast_space(t);
			if (*t->p == ']')
				break;
			if (*t->p++ != ',')
				return false;
			fast_space(t);
		}
	t->p++;
	v->type = jbvArray;
	v->val.array.nElems = n;
	v->val.array.elems = elems;
	v->val.array.rawScalar = false;
	return true;
}

static bool
fast_value(FastText *t, JsonbValue *v)
{
	bool		ok;

	switch (*t->p)
	{
		case '{':
		case '[':
			if (++t->depth > FAST_MAX_DEPTH)
				return false;
			ok = *t->p == '{' ? fast_object(t, v) : fast_array(t, v);
			t->depth--;
			return ok;
		case '"':
			return fast_string(t, v);
		case 't':
			return fast_word(t, "true", v);
		case 'f':
			return fast_word(t, "false", v);
		case 'n':
			return fast_word(t, "null", v);
		default:
			return fast_integer(t, v);
	}
}

/* the last value pgcall_jsonb_from_text read, and its text (pgcall_jsonb_text) */
static struct
{
	LocalTransactionId lxid;	/* both live in that transaction's TopTransactionContext */
	Jsonb	   *jsonb;
	char	   *text;
} remembered;

/* the transaction whose replies are remembered (pgcall_jsonb_remember) */
static LocalTransactionId remember_lxid = InvalidLocalTransactionId;

/*
 * Whether the values pgcall_jsonb_from_text reads from now on in this
 * transaction are kept for pgcall_jsonb_text: on only while pgcall.rpc runs
 * the function whose reply it wants as text, so that no other reply pays
 * for the copies.
 */
void
pgcall_jsonb_remember(bool on)
{
	remember_lxid = on ? MyProc->lxid : InvalidLocalTransactionId;
}

static void
remember_text(const Jsonb *jb, const char *text, Size len)
{
	if (remember_lxid != MyProc->lxid)
		return;
	if (remembered.lxid == MyProc->lxid && remembered.jsonb != NULL)
	{
		pfree(remembered.jsonb);
		pfree(remembered.text);
	}
	remembered.lxid = MyProc->lxid;
	remembered.jsonb = MemoryContextAlloc(TopTransactionContext, VARSIZE(jb));
	memcpy(remembered.jsonb, jb, VARSIZE(jb));
	remembered.text = MemoryContextAlloc(TopTransactionContext, len + 1);
	memcpy(remembered.text, text, len);
	remembered.text[len] = '\0';
}

/*
 * The JSON text as jsonb, as jsonb_in would make it (see the top of the
 * file): an object or an array read here, anything else by jsonb_in.
 */
Jsonb *
pgcall_jsonb_from_text(const char *text)
{
	FastText	t = {text, 0};
	JsonbValue	root;

	/* what is read is left to the caller's memory context, as jsonb_in leaves it */
	fast_space(&t);
	if ((*t.p == '{' || *t.p == '[') && fast_value(&t, &root))
	{
		fast_space(&t);
		if (*t.p == '\0')
		{
			Jsonb	   *result = JsonbValueToJsonb(&root);

			remember_text(result, text, t.p - text);
			return result;
		}
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/*
 * The JSON text of a jsonb value this transaction made with
 * pgcall_jsonb_from_text, else NULL: for pgcall.rpc, whose reply is text,
 * so that a reply is not written out once more by jsonb_out (60,000
 * instructions for a call object).  Only the last value is kept, and it is
 * found by its bytes: a jsonb equal byte for byte is the same JSON value,
 * which the text holds with nothing more (the reader above takes no
 * repeated key, no \u escape, no fraction), its keys in the order pgcall
 * wrote them.
 */
const char *
pgcall_jsonb_text(const Jsonb *jb)
{
	if (remembered.lxid != MyProc->lxid || remembered.jsonb == NULL ||
		VARSIZE(jb) != VARSIZE(remembered.jsonb) ||
		memcmp(jb, remembered.jsonb, VARSIZE(jb)) != 0)
		return NULL;
	return remembered.text;
}

/*
 * The JSON text in buf as a jsonb Datum that outlives the SPI connection,
 * which the caller then closes.
 */
Datum
pgcall_jsonb_datum(StringInfo buf)
{
	Datum		d = JsonbPGetDatum(pgcall_jsonb_from_text(buf->data));

	return SPI_datumTransfer(d, false, -1);
}

/* pgcall_jsonb_datum, closing the SPI connection. */
Datum
pgcall_jsonb_result(StringInfo buf)
{
	Datum		d = pgcall_jsonb_datum(buf);

	SPI_finish();
	return d;
}
