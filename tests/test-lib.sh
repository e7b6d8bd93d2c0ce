# test-lib.sh: a small library for coffer's shell integration tests, after
# git's t/test-lib.sh.  A test script sets test_description, sources this
# file, runs test_expect_success blocks and ends with test_done.  Output is
# TAP, read by automake's tap-driver.
#
# Each script runs in its own trash directory (cd'ed into, removed at the
# end unless a test failed or TEST_KEEP is set) with HOME and COFFER_HOME
# inside it, so nothing touches the real home.

set -u
: "${COFFER:?COFFER must name the coffer binary (make check sets it)}"
: "${TEST_SRCDIR:?TEST_SRCDIR must be set (make check sets it)}"
TEST_BUILDDIR=${TEST_BUILDDIR:-$TEST_SRCDIR}

test_name=$(basename "$0" .sh)
TRASH=${TEST_TMPDIR:-${TMPDIR:-/tmp}}/coffer-trash.$test_name.$$
rm -rf "$TRASH"
mkdir -p "$TRASH" || exit 1
cd "$TRASH" || exit 1
HOME=$TRASH
COFFER_HOME=$TRASH/home
export HOME COFFER_HOME
unset COFFER_NOW COFFER_PASSPHRASE_FD 2>/dev/null
LC_ALL=C.UTF-8
export LC_ALL

test_count=0
test_failed=0
test_skipped=0

# coffer ARGS: run the binary under test.
coffer() {
	"$COFFER" "$@"
}

say() {
	printf '# %s\n' "$*"
}

# test_expect_success DESC BODY: run BODY (eval'ed in a subshell-free
# context); it passes when BODY exits 0.
test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "set -e; $2") >"$TRASH/.out.$test_count" 2>&1; then
		printf 'ok %d - %s\n' "$test_count" "$1"
	else
		test_failed=$((test_failed + 1))
		printf 'not ok %d - %s\n' "$test_count" "$1"
		sed 's/^/#   /' "$TRASH/.out.$test_count"
		printf '#   in:%s\n' "$(printf '%s' "$2" | sed 's/^/#     /')"
	fi
}

# test_skip DESC REASON: record a skipped test.
test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	printf 'ok %d - %s # SKIP %s\n' "$test_count" "$1" "$2"
}

# test_skip_all REASON: skip the whole script.
test_skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	cd / && rm -rf "$TRASH"
	exit 0
}

# test_expect_code N CMD...: CMD must exit with status N.
test_expect_code() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "expected exit $want, got $got: $*" >&2
		return 1
	fi
	return 0
}

# test_must_fail CMD...: CMD must fail normally (not crash).
test_must_fail() {
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" = 0 ]; then
		echo "succeeded unexpectedly: $*" >&2
		return 1
	elif [ "$got" -gt 128 ]; then
		echo "died of signal $((got - 128)): $*" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL: files must be equal (shows the diff).
test_cmp() {
	diff -u "$1" "$2"
}

# test_grep [-v] [grep options] PATTERN FILE: like grep, but shows FILE on
# failure.
test_grep() {
	if [ "$1" = "-v" ]; then
		shift
		if grep "$@" >/dev/null; then
			eval "echo 'unexpected match for' \"\$$(($# - 1))\" in \"\$$#\":"
			eval "cat \"\$$#\"" >&2
			return 1
		fi
		return 0
	fi
	if ! grep "$@" >/dev/null; then
		eval "echo 'no match for' \"\$$(($# - 1))\" in \"\$$#\":" >&2
		eval "cat \"\$$#\"" >&2
		return 1
	fi
	return 0
}

# pty_run INPUT CMD: run CMD (a shell command line) on a pseudo-terminal,
# typing INPUT (age reads passphrases only from a terminal).  The session
# goes to pty.log; the exit status is CMD's.  Needs script(1) (bsdutils).
pty_run() {
	printf '%s' "$1" | script -q -e -c "$2" /dev/null >pty.log 2>&1
}

# test_passphrase_file PATH: write a strong random passphrase, mode 0600.
test_passphrase_file() {
	(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$1")
}

# test_init [ARGS]: a fresh coffer home with a local vault at ./vault,
# the vault passphrase in ./pass.
# The catalog, for tests that tamper with it (the sqlite3 shell).
# sql STATEMENTS: run SQL on it; save_catalog / restore_catalog: keep and
# put back an untampered copy (coffer has exited, so the WAL is
# checkpointed away).
CAT=$COFFER_HOME/catalog.db
sql() {
	sqlite3 "$CAT" "$1"
}
save_catalog() {
	cp "$CAT" "$TRASH/good.db"
}
restore_catalog() {
	rm -f "$CAT-wal" "$CAT-shm"
	cp "$TRASH/good.db" "$CAT"
}

test_init() {
	test_passphrase_file "$TRASH/pass"
	coffer init --vault "$TRASH/vault" --passphrase-file "$TRASH/pass" "$@"
}

test_done() {
	printf '1..%d\n' "$test_count"
	if [ "$test_failed" = 0 ] && [ -z "${TEST_KEEP:-}" ]; then
		cd / && rm -rf "$TRASH"
	else
		say "trash kept in $TRASH"
	fi
	[ "$test_failed" = 0 ]
}
