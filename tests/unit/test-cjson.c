/*
 * test-cjson: RFC 8785 (JSON Canonicalization Scheme) examples that need no
 * real numbers (sections 3.2.2.2, 3.2.3 and 3.2.4 without "numbers",
 * appendix B's integers), and the ECMAScript string escapes.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cjson.h"

/* canon(json): the canonical form of the JSON text json (must parse). */
static char *
canon(const char *json)
{
	json_error_t err;
	json_t *v;
	char *out;

	v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (v == NULL)
		fail_msg("cannot parse test input: %s", err.text);
	out = cjson_dumps(v, NULL);
	json_decref(v);
	return out;
}

static void
assert_canon(const char *json, const char *want)
{
	char *got = canon(json);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* RFC 8785 section 3.2.3: sorting by UTF-16 code units. */
static void
test_rfc8785_sorting(void **state)
{
	(void)state;
	assert_canon("{\n"
	    "  \"\\u20ac\": \"Euro Sign\",\n"
	    "  \"\\r\": \"Carriage Return\",\n"
	    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
	    "  \"1\": \"One\",\n"
	    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
	    "  \"\\u0080\": \"Control\",\n"
	    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
	    "}",
	    "{\"\\r\":\"Carriage Return\",\"1\":\"One\","
	    "\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

/* RFC 8785 section 3.2.2.2: string serialization. */
static void
test_rfc8785_string(void **state)
{
	(void)state;
	assert_canon("\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\"
	    "\\\"\\/\"",
	    "\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"");
}

/* RFC 8785 section 3.2.4, without the "numbers" member (reals). */
static void
test_rfc8785_example(void **state)
{
	(void)state;
	assert_canon("{\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c"
	    "\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}",
	    "{\"literals\":[null,true,false],"
	    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 appendix B: the integers among its IEEE 754 examples. */
static void
test_rfc8785_integers(void **state)
{
	(void)state;
	assert_canon("0", "0");
	assert_canon("[9007199254740991, -9007199254740991, 1, -1, 100]",
	    "[9007199254740991,-9007199254740991,1,-1,100]");
}

/* Outside the safe integer range, or reals: refused. */
static void
test_refused_numbers(void **state)
{
	json_t *v;

	(void)state;
	assert_null(canon("9007199254740992"));
	assert_null(canon("-9007199254740992"));
	assert_null(canon("{\"a\": [1, 2.5]}"));
	assert_null(canon("1.0"));
	assert_null(canon("1e3"));
	v = json_real(0.0);
	assert_null(cjson_dumps(v, NULL));
	json_decref(v);
	assert_null(cjson_dumps(NULL, NULL));
}

/* Every control is escaped (short forms where ECMAScript has them, else
 * lower-case \u00xx); DEL, U+2028 and U+2029 stay literal. */
static void
test_escapes(void **state)
{
	(void)state;
	assert_canon("\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\u007f\"",
	    "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \x7f\"");
	assert_canon("\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
	assert_canon("\"\\u001A\\u001b\"", "\"\\u001a\\u001b\"");
	assert_canon("\"</script>\"", "\"</script>\"");
}

static void
test_structure(void **state)
{
	size_t len;
	json_t *v;
	char *s;

	(void)state;
	assert_canon("{}", "{}");
	assert_canon("[]", "[]");
	assert_canon(" { \"b\" : [ 1 , { \"z\" : null , \"a\" : { } } ] ,"
	    " \"a\" : \"\" } ",
	    "{\"a\":\"\",\"b\":[1,{\"a\":{},\"z\":null}]}");
	/* A prefix sorts first; order is by code unit, not locale. */
	assert_canon("{\"ab\":1,\"a\":2,\"B\":3,\"b\":4}",
	    "{\"B\":3,\"a\":2,\"ab\":1,\"b\":4}");
	v = json_pack("{s:s}", "k", "v");
	s = cjson_dumps(v, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen("{\"k\":\"v\"}"));
	free(s);
	json_decref(v);
}

/* UTF-16 order differs from code point (UTF-8) order above U+FFFF. */
static void
test_key_cmp(void **state)
{
	(void)state;
	/* U+1F600 (D83D DE00) before U+FB33, although 1F600 > FB33. */
	assert_true(cjson_key_cmp("\xf0\x9f\x98\x80", "\xef\xac\xb3") < 0);
	assert_true(cjson_key_cmp("\xef\xac\xb3", "\xf0\x9f\x98\x80") > 0);
	/* U+20AC before U+1F600 either way. */
	assert_true(cjson_key_cmp("\xe2\x82\xac", "\xf0\x9f\x98\x80") < 0);
	/* U+FFFF after U+10000 (D800 DC00). */
	assert_true(cjson_key_cmp("\xef\xbf\xbf", "\xf0\x90\x80\x80") > 0);
	assert_true(cjson_key_cmp("a", "ab") < 0);
	assert_true(cjson_key_cmp("ab", "a") > 0);
	assert_int_equal(cjson_key_cmp("", ""), 0);
	assert_int_equal(cjson_key_cmp("\xf0\x9f\x98\x80",
	    "\xf0\x9f\x98\x80"), 0);
	assert_true(cjson_key_cmp("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x81")
	    < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8785_sorting),
		cmocka_unit_test(test_rfc8785_string),
		cmocka_unit_test(test_rfc8785_example),
		cmocka_unit_test(test_rfc8785_integers),
		cmocka_unit_test(test_refused_numbers),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_key_cmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
