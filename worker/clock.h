/*
 * clock.h: the two clocks the bridge reads: monotonic microseconds for
 * durations and timers, Unix seconds for token expiry.
 */
#ifndef PGCALL_CLOCK_H
#define PGCALL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static inline int64_t
now_unix(void)
{
	return (int64_t) time(NULL);
}

#endif							/* PGCALL_CLOCK_H */
