#!/bin/sh
test_description='vault lock: exit 4 naming the holder, --wait, no stale lock'
. "$TEST_SRCDIR/test-lib.sh"

LOCKDIR=$COFFER_HOME/locks
LOCKFILE=$LOCKDIR/vault.lock

command -v flock >/dev/null 2>&1 ||
	test_skip_all 'flock(1) (util-linux) is missing'

# hold_lock: hold the vault lock as coffer does (flock on the file, our
# pid inside) from a background process; sets holder to its pid.
hold_lock() {
	mkdir -p "$LOCKDIR"
	rm -f "$TRASH/held"
	sh -c 'exec 9>>"$1"; flock 9; echo $$ >"$1"; : >"$2"; exec sleep 300' \
		sh "${1:-$LOCKFILE}" "$TRASH/held" &
	holder=$!
	i=0
	while ! test -f "$TRASH/held"; do
		i=$((i + 1))
		test $i -lt 100 || return 1
		sleep 0.1
	done
}

release_lock() {
	kill -9 "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	return 0
}

test_expect_success 'setup' '
	test_init >/dev/null
'

# `coffer key add-recipient` writes a new coffer-vault version, so it takes
# the vault lock; later commands (backup, prune, ...) take it too.
coffer keygen -o extra.key 2>/dev/null
lockcmd="key add-recipient $(coffer keygen -y extra.key)"
say "using 'coffer $lockcmd' as the command that takes the vault lock"

test_expect_success 'a held vault lock exits 4 naming the holder pid' '
	hold_lock &&
	test_expect_code 4 coffer $lockcmd 2>err &&
	test_grep "locked by process $holder" err &&
	release_lock
'

test_expect_success '--wait=DURATION waits, then exits 4' '
	hold_lock &&
	start=$(date +%s) &&
	test_expect_code 4 coffer --wait=2s $lockcmd 2>err &&
	end=$(date +%s) &&
	test $((end - start)) -ge 1 &&
	test_grep "locked by process $holder" err &&
	release_lock
'

test_expect_success '--wait gets the lock once the holder dies' '
	hold_lock &&
	{ (sleep 1; kill -9 $holder) & } &&
	killer=$! &&
	set +e &&
	coffer --wait=30s $lockcmd >out 2>err
	rc=$? &&
	set -e &&
	wait $killer &&
	release_lock &&
	test $rc != 4
'

test_expect_success 'a killed holder leaves no stale lock' '
	hold_lock &&
	release_lock &&
	set +e &&
	coffer $lockcmd >out 2>err
	rc=$? &&
	set -e &&
	test $rc != 4 &&
	test_grep -v "locked by process" err
'

test_expect_success 'coffer makes the lock file private and leaves it' '
	rm -f "$LOCKFILE" &&
	set +e &&
	coffer $lockcmd >out 2>err
	set -e &&
	test -f "$LOCKFILE" &&
	test "$(stat -c %a "$LOCKFILE")" = 600
'

test_expect_success 'a running job holds its job lock: the same job exits 4' '
	mkdir -p src && echo data >src/file &&
	hold_lock "$LOCKDIR/job-paths.lock" &&
	test_expect_code 4 coffer backup "$TRASH/src" 2>err &&
	test_grep "job .paths. is locked by process $holder" err &&
	release_lock
'

test_expect_success 'another job lock does not stop a backup' '
	hold_lock "$LOCKDIR/job-nightly.lock" &&
	coffer backup "$TRASH/src" >out 2>err &&
	release_lock
'

test_done
