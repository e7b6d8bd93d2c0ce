/*
 * test-signedobj: numbered objects with detached signatures on a local
 * target: names, the scan (numeric order, what is not one of them), the
 * write, and the list with each status (good, no signature, unreadable,
 * bad or unpinned signature) and a callback that stops it.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto.h"
#include "sign.h"
#include "signedobj.h"
#include "target.h"
#include "util.h"

#define HOST "web1"

struct fixture {
	char dir[64];
	struct target *t;
	struct sign_key *key, *other;
	struct sign_pinned *pinned;
	struct signedobj_kind k;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t seed[32];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-signedobj-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->t = target_open_local(f->dir, HOST, "1-abc"));
	memset(seed, 7, sizeof(seed));
	assert_non_null(f->key = sign_key_from_seed(seed, "web1"));
	memset(seed, 9, sizeof(seed));
	assert_non_null(f->other = sign_key_from_seed(seed, "intruder"));
	assert_non_null(f->pinned = sign_pinned_new());
	assert_int_equal(sign_pinned_add(f->pinned,
	    sign_key_pubkey(f->key)), 0);
	f->k.prefix = "things/web1/x.";
	f->k.suffix = ".json";
	f->k.max_n = 1000;
	f->k.max_size = 64;
	f->k.max_sig = 512;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	target_free(f->t);
	sign_key_free(f->key);
	sign_key_free(f->other);
	sign_pinned_free(f->pinned);
	assert_int_equal(util_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

static void
put(struct fixture *f, const char *name)
{

	assert_int_equal(target_put_buf(f->t, name, "x", 1), 0);
}

static void
test_name(void **state)
{
	struct fixture *f = *state;
	char *s;

	assert_non_null(s = signedobj_name(&f->k, 12, 0));
	assert_string_equal(s, "things/web1/x.12.json");
	free(s);
	assert_non_null(s = signedobj_name(&f->k, 12, 1));
	assert_string_equal(s, "things/web1/x.12.json.sig");
	free(s);
}

static void
test_scan(void **state)
{
	struct fixture *f = *state;
	struct signedobj_scan s;

	assert_int_equal(signedobj_scan(f->t, &f->k, &s), 0);
	assert_int_equal(s.nobjects, 0);
	assert_int_equal(s.nsigs, 0);
	assert_int_equal(s.max, 0);
	signedobj_scan_free(&s);

	put(f, "things/web1/x.10.json");
	put(f, "things/web1/x.2.json");
	put(f, "things/web1/x.2.json.sig");
	put(f, "things/web1/x.11.json.sig");        /* a signature alone */
	/* Not ones of the kind: */
	put(f, "things/web1/x.02.json");            /* leading zero */
	put(f, "things/web1/x.0.json");
	put(f, "things/web1/x.1001.json");          /* above max_n */
	put(f, "things/web1/x.99999999999999999999999.json");
	put(f, "things/web1/x.3.json.bak");
	put(f, "things/web1/x.4.head");
	put(f, "things/web1/x.5.6.json");           /* set "x.5"'s */
	put(f, "things/web1/x.json");
	put(f, "things/web1/y.7.json");

	assert_int_equal(signedobj_scan(f->t, &f->k, &s), 0);
	assert_int_equal(s.nobjects, 2);
	assert_int_equal(s.objects[0], 2);
	assert_int_equal(s.objects[1], 10);
	assert_int_equal(s.nsigs, 2);
	assert_int_equal(s.sigs[0], 2);
	assert_int_equal(s.sigs[1], 11);
	assert_int_equal(s.max, 11);
	signedobj_scan_free(&s);
	assert_null(s.objects);

	/* The largest number allowed is one. */
	put(f, "things/web1/x.1000.json");
	assert_int_equal(signedobj_scan(f->t, &f->k, &s), 0);
	assert_int_equal(s.nobjects, 3);
	assert_int_equal(s.objects[2], 1000);
	assert_int_equal(s.max, 1000);
	signedobj_scan_free(&s);
}

/* What list_cb saw. */
struct seen {
	int count;
	unsigned long long n[8];
	enum signedobj_status status[8];
	char why[8][64];
	char text[8][64];
	char signer[8][SIGN_FPR_MAX];
	char name[8][64];
	int stop_at;            /* return 5 at this n */
};

static int
list_cb(void *cookie, const struct signedobj *o)
{
	struct seen *s = cookie;
	int i = s->count++;

	assert_true(i < 8);
	s->n[i] = o->n;
	s->status[i] = o->status;
	util_strlcpy(s->name[i], o->name, sizeof(s->name[i]));
	if (o->why != NULL)
		util_strlcpy(s->why[i], o->why, sizeof(s->why[i]));
	if (o->status == SIGNEDOBJ_OK) {
		assert_null(o->why);
		assert_non_null(o->signer);
		assert_int_equal(strlen(o->text), o->len);
		util_strlcpy(s->text[i], o->text, sizeof(s->text[i]));
		util_strlcpy(s->signer[i], o->signer->fpr,
		    sizeof(s->signer[i]));
	} else {
		assert_non_null(o->why);
		assert_null(o->text);
		assert_null(o->signer);
	}
	return ((unsigned long long)s->stop_at == o->n ? 5 : 0);
}

static void
test_write_list(void **state)
{
	struct fixture *f = *state;
	struct seen s;
	char big[100], *sig;

	/* 1: good.  2: no signature.  3: too large.  4: by another key.
	 * 10: good, listed after 4. */
	assert_int_equal(signedobj_write(f->t, f->key, &f->k, 1, "one", 3),
	    0);
	put(f, "things/web1/x.2.json");
	memset(big, 'b', sizeof(big));
	assert_non_null(sig = sign_data(f->key, big, sizeof(big)));
	assert_int_equal(target_put_buf(f->t, "things/web1/x.3.json", big,
	    sizeof(big)), 0);
	assert_int_equal(target_put_buf(f->t, "things/web1/x.3.json.sig",
	    sig, strlen(sig)), 0);
	free(sig);
	assert_int_equal(signedobj_write(f->t, f->other, &f->k, 4, "four",
	    4), 0);
	assert_int_equal(signedobj_write(f->t, f->key, &f->k, 10, "ten",
	    3), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(signedobj_list(f->t, f->pinned, &f->k, list_cb, &s),
	    0);
	assert_int_equal(s.count, 5);
	assert_int_equal(s.n[0], 1);
	assert_int_equal(s.status[0], SIGNEDOBJ_OK);
	assert_string_equal(s.name[0], "things/web1/x.1.json");
	assert_string_equal(s.text[0], "one");
	assert_string_equal(s.signer[0], sign_key_pubkey(f->key)->fpr);
	assert_int_equal(s.n[1], 2);
	assert_int_equal(s.status[1], SIGNEDOBJ_NO_SIGNATURE);
	assert_string_equal(s.why[1], "no signature");
	assert_int_equal(s.n[2], 3);
	assert_int_equal(s.status[2], SIGNEDOBJ_UNREADABLE);
	assert_string_equal(s.why[2],
	    "unreadable (too large, or a read error)");
	assert_int_equal(s.n[3], 4);
	assert_int_equal(s.status[3], SIGNEDOBJ_BAD_SIGNATURE);
	assert_string_equal(s.why[3], "bad or unpinned signature");
	assert_int_equal(s.n[4], 10);
	assert_int_equal(s.status[4], SIGNEDOBJ_OK);
	assert_string_equal(s.text[4], "ten");

	/* A changed object no longer matches its signature. */
	assert_int_equal(target_delete(f->t, "things/web1/x.1.json"), 0);
	assert_int_equal(target_put_buf(f->t, "things/web1/x.1.json", "One",
	    3), 0);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	/* The callback's return stops the list and is returned. */
	assert_int_equal(signedobj_list(f->t, f->pinned, &f->k, list_cb, &s),
	    5);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.status[0], SIGNEDOBJ_BAD_SIGNATURE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_list, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
