#include "compat.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

time_t
clock_real(void)
{
	return time(NULL);
}

int
clock_is_overridable(void)
{
#ifdef COFFER_TEST_CLOCK
	return 1;
#else
	return 0;
#endif
}

time_t
clock_now(void)
{
#ifdef COFFER_TEST_CLOCK
	const char *s = getenv("COFFER_NOW");
	time_t t;

	if (s != NULL && *s != '\0' && clock_parse_utc(s, &t) == 0)
		return t;
#endif
	return clock_real();
}

void
clock_format_utc(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
clock_parse_utc(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;
	char *e;
	long long n;

	if (*s >= '0' && *s <= '9' && strchr(s, '-') == NULL) {
		errno = 0;
		n = strtoll(s, &e, 10);
		if (errno != 0 || *e != '\0')
			return -1;
		*out = (time_t)n;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -1;
	if (*end == 'T' || *end == ' ') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (end == NULL)
			return -1;
		if (*end == 'Z')
			end++;
	}
	if (*end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}
