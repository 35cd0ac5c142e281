/*
 * fuzz_wire.c: libFuzzer target for the request helpers in worker/wire.c:
 * decoded query fragments back into a query string (only unreserved bytes,
 * %XX, '=' and '&', and decoding it gives the fragments back), SQLSTATE into an HTTP status (always 100..599), and the static
 * path check (an accepted path never holds a dot segment).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + 1);
	char	   *frags[64];
	int			n = 0;
	char	   *qs;
	int			st;

	memcpy(copy, data, size);
	copy[size] = '\0';

	/* fragments split at '&' as libwebsockets does */
	for (char *p = copy, *save = NULL, *t = strtok_r(p, "&", &save); t && n < 64;
		 t = strtok_r(NULL, "&", &save))
		frags[n++] = t;
	qs = query_from_fragments(frags, n);
	if (!qs)
		abort();
	for (const char *c = qs; *c; c++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%=&", *c))
			abort();
	/* round trip: decode each piece and compare with its fragment */
	{
		int			i = 0;
		char	   *p = qs;

		while (i < n)
		{
			char		dec[4097];
			size_t		j = 0;
			bool		seen_eq = false;

			for (; *p && *p != '&'; p++)
			{
				if (*p == '%')
				{
					dec[j++] = (char) strtol((char[]) {p[1], p[2], 0}, NULL, 16);
					p += 2;
				}
				else if (*p == '=' && !seen_eq)
				{
					seen_eq = true;
					dec[j++] = '=';
				}
				else
					dec[j++] = *p;
			}
			dec[j] = '\0';
			if (strcmp(dec, frags[i]) != 0)
				abort();
			i++;
			if (*p == '&')
				p++;
		}
		if (*p)
			abort();
	}
	free(qs);

	memcpy(copy, data, size);
	copy[size] = '\0';
	if (size >= 5)
	{
		char		code[6];

		memcpy(code, data, 5);
		code[5] = '\0';
		st = sqlstate_http_status(code, size & 1);
		if (st < 100 || st > 599)
			abort();
	}
	if (static_path_ok(copy) && (strstr(copy, "/..") || strstr(copy, "/.")))
		abort();
	free(copy);
	return 0;
}
