/*
 * test-clock: the COFFER_NOW override.  Built twice: as test-clock from the
 * library (a --enable-test-clock build honours COFFER_NOW) and as
 * test-clock-release, which compiles lib/clock.c without COFFER_TEST_CLOCK
 * and must ignore it.
 */
#include "compat.h"

#ifdef CLOCK_RELEASE_BUILD
#undef COFFER_TEST_CLOCK
#include "../../lib/clock.c"
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"

static void
test_format_parse(void **state)
{
	char buf[32];
	time_t t;

	(void)state;
	clock_format_utc(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	clock_format_utc(1700000000, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20Z");
	assert_int_equal(clock_parse_utc("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(clock_parse_utc("2023-11-14 22:13:20", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(clock_parse_utc("2023-11-14", &t), 0);
	assert_int_equal(t, 1699920000);
	assert_int_equal(clock_parse_utc("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(clock_parse_utc("2023-11-14T22:13", &t), -1);
	assert_int_equal(clock_parse_utc("yesterday", &t), -1);
	assert_int_equal(clock_parse_utc("2023-11-14Tjunk", &t), -1);
}

static void
test_override(void **state)
{
	time_t before;

	(void)state;
	setenv("COFFER_NOW", "2030-01-02T03:04:05Z", 1);
	before = time(NULL);
#ifdef CLOCK_RELEASE_BUILD
	assert_int_equal(clock_is_overridable(), 0);
	assert_true(clock_now() >= before);
	assert_true(clock_now() < before + 60);
#else
	assert_int_equal(clock_is_overridable(), 1);
	assert_int_equal(clock_now(), 1893553445);
#endif
	/* the real clock never moves */
	assert_true(clock_real() >= before && clock_real() < before + 60);
	/* a bad value falls back to the real clock */
	setenv("COFFER_NOW", "garbage", 1);
	assert_true(clock_now() >= before && clock_now() < before + 60);
	unsetenv("COFFER_NOW");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
