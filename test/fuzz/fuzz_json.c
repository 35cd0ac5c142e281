/*
 * fuzz_json.c: libFuzzer target for the JSON scanner and writer
 * (worker/json.c), the way client messages use them: validate, find
 * "type", "id", "after", "fn", "args", decode strings; and the writer must
 * turn any bytes into a JSON string that the scanner accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	enum jtype	top;
	struct jbuf b;
	char	   *out;
	size_t		len;

	if (json_valid(s, size, &top) && top == J_OBJECT)
	{
		static const char *const keys[] = {"type", "id", "after", "fn", "args", "schema"};
		struct jiter it = {s, size, 0};
		struct jval k,
					v;
		int64_t		n;
		double		d;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_member(s, size, keys[i], &v))
			{
				char	   *str = json_string_dup(&v);

				if (v.p < s || v.p + v.n > s + size)
					abort();
				json_int64(&v, &n);
				json_double(&v, &d);
				free(str);
			}
		while (json_next_member(&it, &k, &v))
		{
			char	   *key = json_string_dup(&k);

			if (v.type == J_ARRAY)
			{
				struct jiter a = {v.p, v.n, 0};
				struct jval e;

				while (json_next_element(&a, &e))
					if (!json_valid(e.p, e.n, NULL))
						abort();
			}
			if (!json_valid(v.p, v.n, NULL))
				abort();
			free(key);
		}
	}

	/* any bytes become a valid JSON string */
	jb_init(&b);
	jb_str(&b, s, size);
	out = jb_take(&b, &len);
	if (!out || !json_valid(out, len, &top) || top != J_STRING)
		abort();
	free(out);

	/* base64url never overruns */
	{
		unsigned char buf[64];

		b64url_decode(s, size, buf, sizeof(buf));
	}
	return 0;
}
