/*
 * tokens-core.c: pgcall's C token core alone, without SQL: 007 RTC tokens
 * per second on one core at a given zlib level, best of RUNS runs.  Shows
 * how much of the SQL figure is the token and how much the executor.
 *
 *   tokens-core LEVEL COUNT RUNS       prints "tokens_per_second length"
 */
#define _GNU_SOURCE				/* clock_gettime */

#include "agora_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int			level = argc > 1 ? atoi(argv[1]) : 0;
	long		count = argc > 2 ? atol(argv[2]) : 1000000;
	int			runs = argc > 3 ? atoi(argv[3]) : 3;
	AgoraBuilder *b = agora_builder_create(NULL, level);
	AgoraService s = {AGORA_SERVICE_RTC, "room-1", 6, "alice", 5, 4,
	{{1, 3600}, {2, 3600}, {3, 3600}, {4, 3600}}};
	char		token[AGORA_TOKEN_MAX];
	size_t		len = 0;
	double		best = 0;
	uint32_t	issue = (uint32_t) time(NULL);

	if (b == NULL)
		return 2;
	for (int r = 0; r < runs; r++)
	{
		double		t0 = now();
		double		rate;

		for (long i = 0; i < count; i++)
		{
			/* A new second every 100000 tokens, as at 100k tokens/s. */
			if (agora_build_007(b, "970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b",
								issue + (uint32_t) (i / 100000), 1 + (uint32_t) (i % AGORA_SALT_007_MAX),
								3600, &s, 1, token, sizeof(token), &len) != AGORA_OK)
				return 1;
		}
		rate = count / (now() - t0);
		if (rate > best)
			best = rate;
	}
	printf("%.0f %zu\n", best, len);
	agora_builder_destroy(b);
	return 0;
}
