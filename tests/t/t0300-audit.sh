#!/bin/sh
test_description='audit log, verify naming tampered events, export checked without coffer'
. "$TEST_SRCDIR/test-lib.sh"

MANPAGE=$TEST_SRCDIR/../man/coffer-audit.1
have() {
	command -v "$1" >/dev/null 2>&1
}

# man_python: the Python re-verification recipe from coffer-audit(1).
man_python() {
	sed -n "/^python3 \\\\- audit.jsonl <<'EOF'\$/,/^EOF\$/p" "$MANPAGE" |
	sed -e '1d' -e '$d' -e 's/\\-/-/g' >"$TRASH/verify.py"
	test -s "$TRASH/verify.py"
}

# man_shell: the jq/xxd/sha256sum recipe from coffer-audit(1).
man_shell() {
	sed -n '/^prev=0000/,/^done < audit.jsonl$/p' "$MANPAGE" |
	sed -e 's/\\-/-/g' >"$TRASH/verify.sh"
	test -s "$TRASH/verify.sh"
}

test_expect_success 'setup: a home and a few events' '
	test_init >/dev/null &&
	coffer config set user.name x &&
	coffer config set user.name y &&
	coffer --operator carol config set site.name hq
'

test_expect_success 'audit log lists the events in order' '
	coffer audit log >out &&
	test_grep "^ *SEQ  *TIME  *OPERATOR  *ACTION  *OBJECT" out &&
	test_grep "^ *1  .*  init  " out &&
	test_grep "^ *2  .*  config.set  *user.name" out &&
	test_grep "^ *3  .*Z  x  *config.set  *user.name" out &&
	test_grep "^ *4  .*Z  carol  *config.set  *site.name" out &&
	test $(wc -l <out) = 5
'

test_expect_success 'audit log filters by action, object and date' '
	coffer audit log --action "config.*" --object site.name >out &&
	test $(wc -l <out) = 2 &&
	test_grep "carol" out &&
	coffer audit log --action init >out &&
	test $(wc -l <out) = 2 &&
	coffer audit log --since 2999-01-01 >out &&
	test $(wc -l <out) = 1 &&
	coffer audit log --since 2000-01-01T00:00:00Z >out &&
	test $(wc -l <out) = 5
'

test_expect_success 'audit log --json is one array of events' '
	coffer audit log --json >out.json &&
	python3 -c "
import json, sys
evs = json.load(open(\"out.json\"))
assert [e[\"seq\"] for e in evs] == [1, 2, 3, 4], evs
assert evs[3][\"operator\"] == \"carol\" and evs[3][\"details\"][\"value\"] == \"hq\"
assert evs[0][\"prev_hash\"] == \"0\" * 64
assert all(evs[i][\"prev_hash\"] == evs[i - 1][\"hash\"] for i in range(1, 4))
" &&
	coffer audit log --json --since 2999-01-01 >empty.json &&
	test "$(cat empty.json)" = "[]"
'

test_expect_success 'audit time is the real clock, not COFFER_NOW' '
	COFFER_NOW=2001-02-03T04:05:06Z coffer config set user.email a@b &&
	coffer audit log --action config.set --object user.email >out &&
	test_grep "^ *5  " out &&
	test_grep -v "2001-02-03" out
'

test_expect_success 'audit verify: an intact chain' '
	coffer audit verify >out &&
	head=$(sqlite3 "$CAT" "select hash from events where seq = 5") &&
	echo "audit chain intact: 5 events, head $head" >expect &&
	test_cmp expect out &&
	coffer -q audit verify >out &&
	test ! -s out &&
	coffer audit verify --json >out.json &&
	python3 -c "
import json
r = json.load(open(\"out.json\"))
assert r[\"intact\"] is True and r[\"events\"] == 5 and r[\"head_seq\"] == 5, r
"
'

test_expect_success 'export re-verifies with the Python recipe of the man page' '
	coffer audit export -o audit.jsonl &&
	test $(wc -l <audit.jsonl) = 5 &&
	test "$(stat -c %a audit.jsonl)" = 600 &&
	coffer audit export >stdout.jsonl &&
	test_cmp audit.jsonl stdout.jsonl &&
	man_python &&
	python3 "$TRASH/verify.py" audit.jsonl >out &&
	head=$(sqlite3 "$CAT" "select hash from events where seq = 5") &&
	echo "intact: 5 events, head $head" >expect &&
	test_cmp expect out
'

test_expect_success 'the recipe catches an edited export' '
	sed "s/\"value\":\"hq\"/\"value\":\"HQ\"/" audit.jsonl >bad.jsonl &&
	! cmp -s audit.jsonl bad.jsonl &&
	test_must_fail python3 "$TRASH/verify.py" bad.jsonl 2>err &&
	test_grep "event 4 was altered" err
'

if have jq && have xxd; then
	test_expect_success 'export re-verifies with the jq recipe of the man page' '
		man_shell &&
		sh "$TRASH/verify.sh" >out 2>&1 &&
		test ! -s out &&
		cp bad.jsonl audit.jsonl &&
		sh "$TRASH/verify.sh" >out 2>&1 &&
		test_grep "altered: .*\"seq\":4" out
	'
else
	test_skip 'export re-verifies with the jq recipe' 'jq or xxd missing'
fi

if have sqlite3; then
	test_expect_success 'setup: keep the untampered catalog' '
		save_catalog
	'

	test_expect_success 'an edited event is named: altered' '
		sql "update events set operator = '"'"'mallory'"'"' where seq = 3" &&
		test_expect_code 3 coffer audit verify >out &&
		test_grep "^audit chain damaged: event 3 was altered$" out &&
		restore_catalog &&
		coffer audit verify
	'

	test_expect_success 'edited details are named: altered' '
		sql "update events set details = replace(details, '"'"'hq'"'"', '"'"'HQ'"'"') where seq = 4" &&
		test_expect_code 3 coffer audit verify >out &&
		test_grep "event 4 was altered" out &&
		restore_catalog
	'

	test_expect_success 'a deleted event is named: deleted' '
		sql "delete from events where seq = 2" &&
		test_expect_code 3 coffer audit verify >out &&
		test_grep "event 2 was deleted" out &&
		restore_catalog
	'

	test_expect_success 'a deleted and renumbered event is named: deleted' '
		sql "delete from events where seq = 2;
		     update events set seq = -(seq - 1) where seq > 2;
		     update events set seq = -seq where seq < 0" &&
		test_expect_code 3 coffer audit verify >out &&
		test_grep "event 2 was deleted" out &&
		restore_catalog
	'

	test_expect_success 'an inserted event is named: inserted' '
		sql "update events set seq = -(seq + 1) where seq >= 3;
		     update events set seq = -seq where seq < 0;
		     insert into events select 3, time, operator, host, site,
		       action, object, details, prev_hash, hash
		       from events where seq = 2" &&
		test_expect_code 3 coffer audit verify >out &&
		test_grep "event 3 was inserted or reordered" out &&
		restore_catalog
	'

	test_expect_success 'swapped events are named: reordered' '
		sql "update events set seq = -seq where seq in (2, 3);
		     update events set seq = 3 where seq = -2;
		     update events set seq = 2 where seq = -3" &&
		test_expect_code 3 coffer audit verify --json >out.json &&
		python3 -c "
import json
r = json.load(open(\"out.json\"))
assert r[\"intact\"] is False
assert r[\"damage\"][\"kind\"] == \"inserted\" and r[\"damage\"][\"seq\"] == 2, r
" &&
		restore_catalog
	'

	test_expect_success 'a catalog newer than this coffer is refused' '
		sql "pragma user_version = 99" &&
		test_expect_code 1 coffer audit verify 2>err &&
		test_grep "has schema version 99, newer than this coffer" err &&
		test_grep "upgrade coffer" err &&
		restore_catalog
	'
else
	test_skip 'tampering with the catalog' 'the sqlite3 shell is missing'
fi

test_expect_success 'a catalog that is not a database is refused by name' '
	cp "$CAT" keep.db &&
	echo "not a database at all, but long enough to have a header" >"$CAT" &&
	test_expect_code 1 coffer audit verify 2>err &&
	test_grep "catalog .*catalog.db. is not a database" err &&
	cp keep.db "$CAT"
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 coffer audit 2>err &&
	test_grep "usage: coffer audit log" err &&
	test_expect_code 2 coffer audit frob 2>err &&
	test_expect_code 2 coffer audit log --since yesterday 2>err &&
	test_grep "bad date" err &&
	test_expect_code 2 coffer audit verify extra 2>err &&
	test_expect_code 2 coffer audit export -x 2>err
'

test_done
