#!/bin/sh
test_description='coffer backup levels: full, incr, diff, auto, and the falls back to a full'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

ap() {
	printf '%s/%s' "${TRASH#/}" "$1"
}

# json FIELD: a field of the summary in ./sum.
field() {
	sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" sum
}

# manifest LABEL: the decrypted manifest of a set.
manifest() {
	age -d -i id.txt vault/sets/*/"$1"/manifest.jsonl.zst.age | zstd -q -d
}

backup() {
	coffer backup --json "$@" >sum
}

test_expect_success 'setup' '
	test_init >/dev/null &&
	coffer decrypt --passphrase-file pass -o id.txt "$COFFER_HOME/keys/identity.age" &&
	mkdir -p src/sub && echo one >src/keep && echo two >src/change &&
	echo three >src/gone && echo four >src/sub/deep &&
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "job"]
	path = $TRASH/src
	level = auto
	full-every = 7d
	EOF2
'

test_expect_success 'auto makes a full first' '
	COFFER_NOW=2026-01-01T00:00:00Z backup job &&
	test "$(field level)" = full &&
	field label >full1 &&
	grep -E "^job-20260101T000000Z$" full1
'

test_expect_success 'then an incr records in for unchanged and deleted for removed' '
	echo changed >>src/change && rm src/gone && echo new >src/new &&
	COFFER_NOW=2026-01-02T00:00:00Z backup job &&
	test "$(field level)" = incr &&
	test "$(field deleted)" = 1 &&
	field label >incr1 &&
	manifest "$(cat incr1)" >m &&
	grep "\"path\":\"$(ap src/keep)\"" m | grep "\"in\":\"$(cat full1)\"" &&
	grep "\"path\":\"$(ap src/sub/deep)\"" m | grep "\"in\":\"$(cat full1)\"" &&
	grep "\"path\":\"$(ap src/change)\"" m | grep "\"volume\":1" &&
	! grep "\"path\":\"$(ap src/change)\"" m | grep "\"in\"" &&
	grep "\"path\":\"$(ap src/new)\"" m | grep "\"volume\":1" &&
	grep "\"path\":\"$(ap src/gone)\"" m | grep "\"deleted\":true" &&
	grep "\"parents\":\[\"$(cat full1)\"\]" vault/sets/*/"$(cat incr1)"/set.json
'

test_expect_success 'an incr stores only what changed' '
	for v in vault/sets/*/"$(cat incr1)"/vol-*; do
		age -d -i id.txt "$v" | zstd -q -d | tar -tf -
	done >names &&
	grep -x "$(ap src/change)" names &&
	! grep -x "$(ap src/keep)" names
'

test_expect_success 'a second incr chains to the first; unchanged data still points at the full' '
	echo more >src/new2 &&
	COFFER_NOW=2026-01-03T00:00:00Z backup --level incr job &&
	test "$(field level)" = incr &&
	field label >incr2 &&
	grep "\"parents\":\[\"$(cat incr1)\",\"$(cat full1)\"\]" vault/sets/*/"$(cat incr2)"/set.json &&
	manifest "$(cat incr2)" >m &&
	grep "\"path\":\"$(ap src/keep)\"" m | grep "\"in\":\"$(cat full1)\"" &&
	grep "\"path\":\"$(ap src/change)\"" m | grep "\"in\":\"$(cat incr1)\"" &&
	! grep "\"deleted\"" m
'

test_expect_success 'a diff is against the last full' '
	COFFER_NOW=2026-01-04T00:00:00Z backup --level diff job &&
	test "$(field level)" = diff &&
	field label >diff1 &&
	grep "\"parents\":\[\"$(cat full1)\"\]" vault/sets/*/"$(cat diff1)"/set.json &&
	manifest "$(cat diff1)" >m &&
	grep "\"path\":\"$(ap src/change)\"" m | grep "\"volume\":1" &&
	grep "\"path\":\"$(ap src/new2)\"" m | grep "\"volume\":1" &&
	grep "\"path\":\"$(ap src/gone)\"" m | grep "\"deleted\":true" &&
	grep "\"path\":\"$(ap src/keep)\"" m | grep "\"in\":\"$(cat full1)\""
'

test_expect_success 'auto makes a full again once full-every has passed' '
	COFFER_NOW=2026-01-05T00:00:00Z backup job &&
	test "$(field level)" = incr &&
	COFFER_NOW=2026-01-09T00:00:00Z backup job &&
	test "$(field level)" = full &&
	field label >full2
'

test_expect_success 'a lost state cache makes a full' '
	rm -rf "$COFFER_HOME/cache" &&
	COFFER_NOW=2026-01-09T01:00:00Z backup --level incr job &&
	test "$(field level)" = full
'

test_expect_success 'a damaged state cache makes a full' '
	COFFER_NOW=2026-01-09T02:00:00Z backup --level incr job &&
	test "$(field level)" = incr &&
	for f in $(find "$COFFER_HOME/cache" -name "*.cache"); do
		printf X | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
	done &&
	COFFER_NOW=2026-01-09T03:00:00Z backup --level incr job 2>err &&
	test "$(field level)" = full
'

test_expect_success 'a parent without set.json.sig makes the next backup a full' '
	COFFER_NOW=2026-01-09T04:00:00Z backup --level incr job &&
	test "$(field level)" = incr &&
	field label >incr3 &&
	rm vault/sets/*/"$(cat incr3)"/set.json.sig &&
	COFFER_NOW=2026-01-09T05:00:00Z backup --level incr job &&
	test "$(field level)" = full &&
	field label >full3 &&
	! test -d vault/sets/*/"$(cat incr3)" &&
	test "$(sqlite3 "$COFFER_HOME/catalog.db" "SELECT count(*) FROM sets WHERE label = '\''$(cat incr3)'\''")" = 0
'

test_expect_success 'a forgotten full (its sig gone) also forces a full' '
	COFFER_NOW=2026-01-09T06:00:00Z backup --level incr job &&
	test "$(field level)" = incr &&
	rm vault/sets/*/"$(cat full3)"/set.json.sig &&
	COFFER_NOW=2026-01-09T07:00:00Z backup --level diff job &&
	test "$(field level)" = full
'

test_expect_success 'labels are unique per host at the same second' '
	COFFER_NOW=2026-02-01T00:00:00Z backup --level full job &&
	COFFER_NOW=2026-02-01T00:00:00Z backup --level full job &&
	field label >l2 &&
	echo job-20260201T000000Z-2 >expect &&
	test_cmp expect l2
'

test_expect_success 'a recipients-only host backs up full and incr' '
	age-keygen -o rid.txt 2>/dev/null && age-keygen -y rid.txt >r.txt &&
	mkdir ro && (
		COFFER_HOME=$TRASH/ro/home && export COFFER_HOME &&
		coffer init --vault "$TRASH/ro/vault" --recipients r.txt >/dev/null &&
		! test -f "$COFFER_HOME/keys/identity.age" &&
		coffer backup --json --level full "$TRASH/src" >sum &&
		test "$(field level)" = full &&
		echo x >>"$TRASH/src/keep" &&
		coffer backup --json --level incr "$TRASH/src" >sum &&
		test "$(field level)" = incr &&
		l=$(field label) &&
		age -d -i rid.txt "$TRASH"/ro/vault/sets/*/"$l"/manifest.jsonl.zst.age | zstd -q -d >m &&
		grep "\"path\":\"$(ap src/keep)\"" m | grep "\"volume\":1"
	)
'

test_done
