/*
 * fuzz_wire.c: libFuzzer target for the request helpers in worker/wire.c:
 * query arguments into JSON (the output must always be a valid JSON
 * object), SQLSTATE into an HTTP status (always 100..599), and the static
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
	char	   *json;
	enum jtype	top;
	int			st;

	memcpy(copy, data, size);
	copy[size] = '\0';

	/* fragments split at '&' as libwebsockets does */
	for (char *p = copy, *save = NULL, *t = strtok_r(p, "&", &save); t && n < 64;
		 t = strtok_r(NULL, "&", &save))
		frags[n++] = t;
	json = args_to_json(frags, n);
	if (!json || !json_valid(json, strlen(json), &top) || top != J_OBJECT)
		abort();
	free(json);

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
