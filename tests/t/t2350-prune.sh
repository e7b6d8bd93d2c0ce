#!/bin/sh
test_description='prune, forget and keep: retention policy, holds, chains'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

host=$(coffer config get core.host 2>/dev/null || hostname -s)
# backup DAY LEVEL LABEL: a set made on 2026-11-DAY at 10:00 UTC.
backup() {
	echo "$1 $3" >>"$TRASH/data/f" &&
	COFFER_NOW=2026-11-$1T10:00:00Z coffer backup --level $2 --label $3 \
	    nightly >/dev/null
}
sets() {
	ls "$TRASH/vault/sets/$H" | sort
}
# verified_col LABEL: the VERIFIED column of coffer sets for LABEL.
verified_col() {
	coffer sets >"$TRASH/sets.out" &&
	awk -v l="$1" '$1 == l { print $9 }' "$TRASH/sets.out"
}

test_expect_success 'setup: four fulls on four days' '
	test_init >/dev/null &&
	mkdir data && echo x >data/f &&
	coffer config set backup.nightly.path "$TRASH/data" &&
	H=$(ls vault/sets 2>/dev/null || true) &&
	backup 01 full f01 && backup 02 full f02 &&
	backup 03 full f03 && backup 04 full f04 &&
	H=$(ls vault/sets) && echo "$H" >host &&
	test $(sets | wc -l) = 4
'
H=$(cat host 2>/dev/null)
export COFFER_NOW=2026-11-05T10:00:00Z

test_expect_success 'backups are not verified when made (no --verify)' '
	for l in f01 f02 f03 f04; do
		test "$(verified_col $l)" = - || return 1
	done
'

test_expect_success 'prune with no policy refuses' '
	test_expect_code 1 coffer prune 2>err &&
	test_grep "no retention policy" err &&
	test $(sets | wc -l) = 4
'

test_expect_success 'prune --dry-run lists decisions and changes nothing' '
	coffer audit log >before &&
	coffer prune --dry-run --keep-daily 2 >out &&
	test_grep "^keep  *f04  kept: daily 2026-11-04" out &&
	test_grep "^keep  *f03  kept: daily 2026-11-03" out &&
	test_grep "^would remove f02  removed: not needed by the policy" out &&
	test_grep "^would remove f01 " out &&
	test $(sets | wc -l) = 4 &&
	coffer audit log >after &&
	test_cmp before after &&
	test "$(verified_col f04)" = -
'

test_expect_success 'prune --json' '
	coffer prune --dry-run --json --keep-daily 2 >out.json &&
	test_grep "\"decision\": \"remove\"" out.json &&
	test_grep "\"label\": \"f01\"" out.json
'

test_expect_success 'keep --until holds a set; the hold is signed in the vault' '
	coffer keep --until 2027-01-01 --reason "tax audit" f01 >out &&
	test_grep "hold 1" out &&
	test -f vault/holds/$H/f01.1.json &&
	test -f vault/holds/$H/f01.1.json.sig &&
	test_grep "\"retain_until\":\"2027-01-01T00:00:00Z\"" \
	    vault/holds/$H/f01.1.json &&
	coffer keep --list f01 >list &&
	test_grep "^1  until 2027-01-01T00:00:00Z .* tax audit" list &&
	test_grep "in force: held until 2027-01-01" list &&
	coffer audit log --action keep >ev &&
	test_grep "$H/f01" ev
'

test_expect_success 'a tampered hold does not count' '
	cp -r vault vault.bak &&
	chmod u+w vault/holds/$H/f01.1.json &&
	sed "s/tax audit/tax audiT/" vault/holds/$H/f01.1.json >t &&
	cat t >vault/holds/$H/f01.1.json &&
	coffer keep --list f01 >list 2>err &&
	test_grep "invalid" list &&
	test_grep "not held" list &&
	rm -rf vault && mv vault.bak vault
'

test_expect_success 'keep refuses a date in the past and bad usage' '
	test_expect_code 1 coffer keep --until 2020-01-01 f01 &&
	test_expect_code 2 coffer keep f01 &&
	test_expect_code 2 coffer keep --forever --release f01
'

test_expect_success 'prune removes what the policy does not need, not held sets' '
	coffer prune --keep-daily 2 >out &&
	test_grep "^keep  *f01  kept: held until 2027-01-01" out &&
	test_grep "^remove  *f02 .*covered by verified full f04" out &&
	test "$(sets)" = "$(printf "f01\nf03\nf04")" &&
	coffer audit log --action prune >ev &&
	test $(grep -c " prune " ev) = 1 &&
	test_grep "$H/f02" ev
'

test_expect_success 'prune re-read the unverified cover f04 and recorded it verified' '
	test "$(verified_col f04)" = 2026-11-05T10:00:00Z &&
	test "$(verified_col f03)" = -
'

test_expect_success 'forget refuses a held set, with no override' '
	test_expect_code 1 coffer forget f01 2>err &&
	test_grep "held until 2027-01-01" err &&
	test -d vault/sets/$H/f01
'

if command -v sqlite3 >/dev/null 2>&1; then
test_expect_success 'the vault hold survives losing the catalog row' '
	sqlite3 home/catalog.db \
	    "UPDATE sets SET keep = 0, retain_until = NULL" &&
	sqlite3 home/catalog.db "DELETE FROM sets WHERE label = '"'f01'"'" &&
	coffer prune --dry-run --keep-last 1 >out &&
	test_grep "^keep  *f01  kept: held until 2027-01-01" out
'
else
	test_skip 'the vault hold survives losing the catalog row' \
	    'no sqlite3 command'
fi

test_expect_success 'release, then forget works and is audited' '
	coffer keep --release --reason done f01 >out &&
	test_grep "hold 2 (released)" out &&
	coffer keep --list f01 >list &&
	test_grep "in force: not held" list &&
	coffer forget f01 >out &&
	test_grep "^forget f01" out &&
	test ! -e vault/sets/$H/f01 &&
	test ! -e vault/holds/$H/f01.1.json.sig &&
	coffer audit log --action forget >ev &&
	test_grep "$H/f01" ev
'

test_expect_success 'a chain: forget of a full with dependents is refused' '
	backup 06 full c1 && backup 07 incr i1 && backup 08 incr i2 &&
	test_expect_code 1 coffer forget c1 2>err &&
	test_grep "needed by incr i1" err &&
	test -d vault/sets/$H/c1 &&
	coffer forget --dry-run --with-dependents c1 >out &&
	test_grep "would forget i2" out &&
	test -d vault/sets/$H/i2
'

test_expect_success 'prune keeps the chain of a kept incr' '
	COFFER_NOW=2026-11-09T10:00:00Z coffer prune --dry-run --keep-last 1 \
	    >out &&
	test_grep "^keep  *i2  kept: last 1" out &&
	test_grep "^keep  *i1  kept: parent of incr i2" out &&
	test_grep "^keep  *c1  kept: parent of incr i" out &&
	test_grep "^would remove f04 .*covered by verified full c1" out
'

test_expect_success 'a damaged newer full covers nothing' '
	chmod -R u+w vault/sets/$H/c1 &&
	cp vault/sets/$H/c1/vol-0001.tar.zst.age vol.save &&
	echo damage >>vault/sets/$H/c1/vol-0001.tar.zst.age &&
	test "$(verified_col c1)" = - &&
	coffer prune --dry-run --keep-last 1 >out 2>err &&
	test_grep "set .$H/c1. is damaged: it does not cover" err &&
	test_grep "^keep  *f04  kept: not needed by the policy, but no newer verified full" out &&
	test_grep "^would remove f03 .*covered by verified full f04" out &&
	test "$(verified_col c1)" = - &&
	cat vol.save >vault/sets/$H/c1/vol-0001.tar.zst.age
'

test_expect_success 'a verified set found damaged by prune loses its mark' '
	COFFER_NOW=2026-11-09T11:00:00Z coffer verify c1 >/dev/null &&
	test "$(verified_col c1)" = 2026-11-09T11:00:00Z &&
	echo damage >>vault/sets/$H/c1/vol-0001.tar.zst.age &&
	COFFER_NOW=2026-11-09T12:00:00Z coffer prune --keep-daily 10 >out \
	    2>err &&
	test_grep "set .$H/c1. is damaged" err &&
	test_must_fail grep "^remove" out &&
	test "$(verified_col c1)" = - &&
	test "$(verified_col f04)" = 2026-11-09T12:00:00Z &&
	cat vol.save >vault/sets/$H/c1/vol-0001.tar.zst.age
'

test_expect_success 'forget --with-dependents removes the chain, newest first' '
	coffer forget --with-dependents c1 >out &&
	printf "forget i2\nforget i1\nforget c1\n" >want &&
	cut -d" " -f1,2 out >got &&
	test_cmp want got &&
	test "$(sets)" = "$(printf "f03\nf04")"
'

test_expect_success 'an interrupted deletion (sig gone) is not a set' '
	chmod u+w vault/sets/$H/f03 &&
	rm vault/sets/$H/f03/set.json.sig &&
	coffer prune --dry-run --keep-last 1 >out &&
	test_must_fail grep f03 out &&
	COFFER_NOW=2026-11-10T10:00:00Z coffer backup --level full \
	    --label f10 nightly >/dev/null &&
	test ! -e vault/sets/$H/f03
'

test_expect_success 'after its parent is forgotten, the next incr is a full' '
	backup 11 incr j1 &&
	test_grep "\"level\":\"incr\"" vault/sets/$H/j1/set.json &&
	coffer forget --with-dependents f10 >out &&
	test_grep "^forget j1" out &&
	backup 12 incr j2 &&
	test_grep "\"level\":\"full\"" vault/sets/$H/j2/set.json
'

test_expect_success 'sets of other hosts are never touched' '
	test_expect_code 1 coffer forget otherhost/f04 2>err &&
	test_grep "belongs to host" err
'

test_expect_success 'a job with a policy and no sets yet has nothing to prune' '
	coffer config set backup.fresh.keep-daily 3 &&
	coffer prune --job fresh >out 2>err &&
	test_grep "job .fresh. has no sets: nothing to prune" err &&
	test ! -s out
'

test_expect_success 'usage lines match the man pages' '
	for c in prune forget keep; do
		coffer $c -h >u && test_grep "^usage: coffer $c" u || return 1
	done
'

test_done
