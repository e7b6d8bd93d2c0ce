#ifndef COFFER_CLOCK_H
#define COFFER_CLOCK_H

#include <time.h>

/*
 * clock_now(): the current time for scheduling and retention decisions.
 * In builds configured with --enable-test-clock, a COFFER_NOW environment
 * variable (seconds since the epoch, or YYYY-MM-DDTHH:MM:SSZ) overrides it;
 * a release build ignores COFFER_NOW.
 */
time_t clock_now(void);

/*
 * clock_real(): the real time, whatever the build; audit timestamps use it.
 */
time_t clock_real(void);

/* clock_is_overridable(): 1 in test-clock builds, else 0. */
int clock_is_overridable(void);

/* clock_format_utc(t, buf, size): "YYYY-MM-DDTHH:MM:SSZ" into buf
 * (size >= 21). */
void clock_format_utc(time_t, char *, size_t);

/* clock_parse_utc(s, t): parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or
 * "YYYY-MM-DD HH:MM:SS" (UTC).  Returns 0 or -1. */
int clock_parse_utc(const char *, time_t *);

#endif
