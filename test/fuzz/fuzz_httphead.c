/*
 * fuzz_httphead.c: libFuzzer target for worker/httphead.c, the check on a
 * connection's first request head before libwebsockets sees it.
 *
 * Properties, besides ASan and UBSan staying quiet:
 *   - a refusal always names a status the bridge may send (400, 414, 431,
 *     501, 505) and a code, message and hint;
 *   - an accepted head (head_len bytes after the skip empty lines) lies
 *     within the input and ends with the blank line;
 *   - the verdict does not depend on how the bytes arrived: every shorter
 *     prefix of an accepted head asks for more, and the head alone (without
 *     what follows it) is accepted with the same length; a prefix of a
 *     refused input is never accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httphead.h"

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_httphead: %s\n", what);
	abort();
}

static void
check_error(const struct head_error *err)
{
	if (err->status != 400 && err->status != 414 && err->status != 431 &&
		err->status != 501 && err->status != 505)
		fail("refusal with a status the bridge does not send");
	if (err->code == NULL || err->message == NULL || err->hint == NULL)
		fail("refusal without code, message or hint");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char	   *buf = malloc(size ? size : 1);
	size_t		skip = 0,
				head_len = 0;
	struct head_error err;
	enum head_result r;

	memcpy(buf, data, size);
	for (int eof = 0; eof <= 1; eof++)
	{
		memset(&err, 0, sizeof(err));
		r = httphead_check(buf, size, eof, &skip, &head_len, &err);
		if (r == HEAD_BAD)
			check_error(&err);
		else if (r == HEAD_OK)
		{
			size_t		s2 = 0,
						h2 = 0;

			size_t		end = skip + head_len;

			if (head_len < 2 || end > size || end < skip || buf[end - 1] != '\n')
				fail("accepted head outside the input or not ending a line");
			/* the head alone: same verdict, same length */
			if (httphead_check(buf, end, false, &s2, &h2, &err) != HEAD_OK ||
				s2 != skip || h2 != head_len)
				fail("the head alone is not accepted the same way");
			/* shorter prefixes (a sample of them) ask for more */
			for (size_t n = 0; n < end; n += 1 + n / 8)
			{
				enum head_result p = httphead_check(buf, n, false, &s2, &h2, &err);

				if (p != HEAD_MORE)
				{
					fprintf(stderr, "prefix %zu of %zu: %d\n", n, end, (int) p);
					fail("a prefix of an accepted head was not 'more'");
				}
			}
		}
		else if (eof)
			fail("'more' at end of input");
		if (r == HEAD_BAD && !eof)
		{
			/* a refusal cannot turn into acceptance with fewer bytes seen */
			for (size_t n = 0; n < size; n += 1 + n / 8)
			{
				size_t		s2,
							h2;

				if (httphead_check(buf, n, false, &s2, &h2, &err) == HEAD_OK)
					fail("a prefix of a refused input was accepted");
			}
		}
	}
	free(buf);
	return 0;
}
