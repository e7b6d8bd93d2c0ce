#!/bin/sh
test_description='hard-link groups survive incremental chains on restore'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

# label_of JSONFILE: the label of a `coffer backup --json` summary.
label_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["label"])' "$1"
}

test_expect_success 'setup: a full with hard-link groups, then incrementals' '
	test_init >/dev/null &&
	mkdir -p src/a src/b &&
	echo one >src/a/first && ln src/a/first src/b/second &&
	ln src/a/first src/b/third &&
	echo two >src/a/lone && echo three >src/b/x &&
	ln src/b/x src/a/y &&
	coffer backup --level full --json "$TRASH/src" >full.json &&
	coffer backup --level incr --json "$TRASH/src" >incr1.json &&
	echo changed >src/a/lone &&
	coffer backup --level incr --json "$TRASH/src" >incr2.json
'

for set in full incr1 incr2; do
	test_expect_success "restoring the $set set gives the groups back" "
		label=\$(label_of $set.json) &&
		coffer restore --passphrase-file pass --to \"\$TRASH/out-$set\" \"\$label\" >out 2>err &&
		r=\"\$TRASH/out-$set\$TRASH/src\" &&
		test \"\$(stat -c %i \"\$r/a/first\")\" = \"\$(stat -c %i \"\$r/b/second\")\" &&
		test \"\$(stat -c %i \"\$r/a/first\")\" = \"\$(stat -c %i \"\$r/b/third\")\" &&
		test \"\$(stat -c %i \"\$r/b/x\")\" = \"\$(stat -c %i \"\$r/a/y\")\" &&
		test \"\$(cat \"\$r/b/third\")\" = one &&
		test \"\$(cat \"\$r/a/y\")\" = three
	"
done

test_expect_success 'verify --deep passes on every set of the chain' '
	for set in full incr1 incr2; do
		coffer verify --deep --passphrase-file pass "$(label_of $set.json)" || exit 1
	done
'

test_done
