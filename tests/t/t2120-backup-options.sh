#!/bin/sh
test_description='coffer backup: labels, excludes, never-backed-up paths, hooks, output'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

ap() {
	printf '%s/%s' "${TRASH#/}" "$1"
}

field() {
	sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" sum
}

# names LABEL: every member name of a set's volumes.
names() {
	for v in vault/sets/*/"$1"/vol-*.tar.zst.age; do
		age -d -i id.txt "$v" | zstd -q -d | tar -tf -
	done
}

test_expect_success 'setup' '
	test_init >/dev/null &&
	coffer decrypt --passphrase-file pass -o id.txt "$COFFER_HOME/keys/identity.age" &&
	mkdir -p src/keep src/cache src/build src/tagged &&
	echo a >src/keep/a && echo b >src/keep/b.tmp && echo o >src/build/x.o &&
	echo c >src/cache/c &&
	printf "Signature: 8a477f597d28d172789f06886806bc55\n" >src/tagged/CACHEDIR.TAG &&
	echo t >src/tagged/data
'

for bad in .. a/b -x "" .hidden; do
	test_expect_success "label '$bad' is refused and nothing is written" '
		test_expect_code 2 coffer backup --label "$bad" "$TRASH/src" 2>err &&
		test_grep "invalid set label" err &&
		! test -d vault/sets
	'
done

test_expect_success 'a given label is used, and refused the second time' '
	coffer backup --label mine "$TRASH/src/keep" &&
	test -f vault/sets/*/mine/set.json.sig &&
	test_must_fail coffer backup --label mine "$TRASH/src/keep" 2>err &&
	test_grep "already used" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 coffer backup --level sometimes src &&
	test_expect_code 2 coffer backup --volume-size 12Q src &&
	test_expect_code 2 coffer backup --no-such-option src &&
	test_expect_code 2 coffer backup
'

test_expect_success 'a missing path fails' '
	test_must_fail coffer backup "$TRASH/nonexistent" 2>err &&
	test_grep "nonexistent" err
'

test_expect_success '--exclude, --exclude-file and CACHEDIR.TAG' '
	printf "# comment\nbuild/\n" >exfile &&
	coffer backup --json --label ex --exclude "*.tmp" --exclude cache --exclude-file exfile "$TRASH/src" >sum &&
	names ex >n &&
	grep -x "$(ap src/keep/a)" n &&
	! grep "b.tmp" n &&
	! grep "src/cache" n &&
	! grep "src/build" n &&
	grep -x "$(ap src/tagged)/" n &&
	grep -x "$(ap src/tagged/CACHEDIR.TAG)" n &&
	! grep -x "$(ap src/tagged/data)" n
'

test_expect_success 'the coffer home and the vault inside the source are not backed up' '
	coffer backup --json --label whole "$TRASH" >sum &&
	names whole >n &&
	grep -x "$(ap src/keep/a)" n &&
	! grep "^$(ap home)" n &&
	! grep "^$(ap vault)" n
'

test_expect_success '--one-file-system does not enter a mount (root, tmpfs)' '
	if [ "$(id -u)" != 0 ] || ! mkdir -p src/mnt || ! mount -t tmpfs none src/mnt 2>/dev/null; then
		say "skipped: cannot mount a tmpfs here"; exit 0
	fi &&
	echo m >src/mnt/inner &&
	coffer backup --label onefs --one-file-system "$TRASH/src"; rc=$? &&
	coffer backup --label allfs "$TRASH/src"; rc2=$? &&
	umount src/mnt && test $rc = 0 && test $rc2 = 0 &&
	names onefs >n1 && names allfs >n2 &&
	grep -x "$(ap src/mnt)/" n1 && ! grep "$(ap src/mnt/inner)" n1 &&
	grep -x "$(ap src/mnt/inner)" n2
'

test_expect_success '--json prints the summary fields' '
	coffer backup --json --label js "$TRASH/src/keep" >sum &&
	for f in label level files bytes_read bytes_stored duration warnings; do
		grep "\"$f\":" sum || exit 1
	done &&
	test "$(field label)" = js &&
	test "$(field level)" = full &&
	test "$(field files)" = 3 &&
	test "$(field warnings)" = 0
'

# verified_col LABEL: the VERIFIED column of coffer sets for LABEL.
verified_col() {
	coffer sets >sets.out &&
	awk -v l="$1" '$1 == l { print $9 }' sets.out
}

test_expect_success 'a backup is not read back by default: not verified' '
	coffer backup --json --label nov "$TRASH/src/keep" >sum &&
	test "$(field verified)" = false &&
	test "$(verified_col nov)" = - &&
	coffer audit log >ev &&
	test_must_fail grep " verify " ev
'

test_expect_success '--verify reads the set back and marks it verified' '
	COFFER_NOW=2030-01-02T03:04:05Z coffer backup --json --verify \
	    --label vy "$TRASH/src/keep" >sum &&
	test "$(field verified)" = true &&
	test "$(verified_col vy)" = 2030-01-02T03:04:05Z
'

test_expect_success 'the job key verify = yes does the same; --verify overrides no' '
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "checked"]
	path = $TRASH/src/keep
	verify = yes
	[backup "unchecked"]
	path = $TRASH/src/keep
	verify = no
	EOF2
	COFFER_NOW=2030-01-03T00:00:00Z coffer backup --label jv checked &&
	test "$(verified_col jv)" = 2030-01-03T00:00:00Z &&
	COFFER_NOW=2030-01-04T00:00:00Z coffer backup --label jn unchecked &&
	test "$(verified_col jn)" = - &&
	COFFER_NOW=2030-01-05T00:00:00Z coffer backup --verify --label jo \
	    unchecked &&
	test "$(verified_col jo)" = 2030-01-05T00:00:00Z
'

test_expect_success 'a bad verify value is refused' '
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "badverify"]
	path = $TRASH/src/keep
	verify = perhaps
	EOF2
	test_must_fail coffer backup --label bv badverify 2>err &&
	test_grep "verify" err &&
	! test -e vault/sets/*/bv
'

test_expect_success 'under cron (stderr not a terminal) a good backup prints nothing' '
	coffer backup --label quiet "$TRASH/src/keep" >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success 'on a terminal a progress line appears on stderr' '
	head -c 2000000 /dev/urandom >src/keep/big &&
	script -q -e -c "$COFFER backup --label tty $TRASH/src/keep" /dev/null >tty.log 2>&1 &&
	test_grep "files, .* read, .*/s, ETA" tty.log &&
	test_grep "set .tty. (full)" tty.log
'

test_expect_success 'pre-cmd and post-cmd run around a job, with COFFER_JOB' '
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "hooked"]
	path = $TRASH/src/keep
	pre-cmd = echo "pre \$COFFER_JOB" >>"$TRASH/hooks.log"
	post-cmd = echo "post \$COFFER_JOB \$COFFER_STATUS" >>"$TRASH/hooks.log"
	on-failure = echo "fail \$COFFER_JOB \$COFFER_ERROR" >>"$TRASH/hooks.log"
	EOF2
	coffer backup hooked &&
	printf "pre hooked\npost hooked ok\n" >expect &&
	test_cmp expect hooks.log
'

test_expect_success 'a failing pre-cmd fails the backup; post-cmd and on-failure run' '
	rm -f hooks.log &&
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "badpre"]
	path = $TRASH/src/keep
	pre-cmd = echo pre >>"$TRASH/hooks.log" && false
	post-cmd = echo "post \$COFFER_STATUS" >>"$TRASH/hooks.log"
	on-failure = echo "fail \$COFFER_JOB \$COFFER_ERROR" >>"$TRASH/hooks.log"
	EOF2
	n=$(ls vault/sets/*/ | wc -l) &&
	test_must_fail coffer backup badpre 2>err &&
	test_grep "pre-cmd of job .badpre. failed" err &&
	printf "pre\npost failed\nfail badpre pre-cmd failed\n" >expect &&
	test_cmp expect hooks.log &&
	test "$(ls vault/sets/*/ | wc -l)" = "$n"
'

test_expect_success 'a failing backup runs on-failure' '
	rm -f hooks.log &&
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "badpath"]
	path = $TRASH/src/keep
	exclude-file = $TRASH/no-such-exclude-file
	on-failure = echo "fail \$COFFER_JOB \$COFFER_ERROR" >>"$TRASH/hooks.log"
	EOF2
	test_must_fail coffer backup badpath 2>err &&
	echo "fail badpath backup failed" >expect &&
	test_cmp expect hooks.log
'

test_expect_success 'a file changing while read is a warning; --strict makes it fatal' '
	mkdir grow && head -c 20000000 /dev/zero >grow/file &&
	# The appender is its own statement, so $! is the loop itself and
	# the kill below stops it (a "&" after an && chain backgrounds the
	# whole chain).  It stops by itself after 2,000,000 appends.
	{ (i=0; while [ $i -lt 2000000 ]; do echo x >>grow/file; i=$((i + 1)); done) & } &&
	pid=$! &&
	# The appender may be starved on a loaded machine: try a few times.
	for try in 1 2 3 4 5; do
		coffer backup --json --label warned$try "$TRASH/grow" >sum 2>err
		rc=$?
		test $rc != 0 || test "$(field warnings)" -lt 1 || break
	done &&
	for try in 1 2 3 4 5; do
		coffer backup --strict --label strictx "$TRASH/grow" 2>err2
		rc2=$?
		test $rc2 = 0 || break
		coffer forget strictx >/dev/null 2>&1
	done &&
	kill $pid && wait $pid 2>/dev/null;
	test $rc = 0 && test "$(field warnings)" -ge 1 &&
	test_grep "changed while it was read" err &&
	test $rc2 = 1 && test_grep "strict" err2 &&
	! test -e vault/sets/*/strictx &&
	! find vault -name "*.part" | grep .
'

test_expect_success 'backup -h prints the usage' '
	coffer backup -h >out &&
	test_grep "^usage: coffer backup" out
'

test_done
