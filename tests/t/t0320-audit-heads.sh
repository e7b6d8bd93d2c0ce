#!/bin/sh
test_description='signed audit heads in the vault find a local log cut short or rewritten'
. "$TEST_SRCDIR/test-lib.sh"

if ! command -v sqlite3 >/dev/null 2>&1; then
	test_skip_all "sqlite3 is needed to tamper with the catalog"
fi

test_expect_success 'setup: a home and two backups' '
	test_init >/dev/null &&
	host=$(coffer config get core.host) &&
	echo "$host" >host &&
	mkdir src && echo one >src/a &&
	coffer backup --label b1 src >/dev/null &&
	echo two >>src/a &&
	coffer backup --label b2 src >/dev/null &&
	save_catalog
'
host=$(cat host 2>/dev/null)
HEADS=$TRASH/vault/audit/$host

test_expect_success 'each backup writes a signed head of the chain' '
	ls "$HEADS" >list &&
	seq=$(sql "select max(seq) from events") &&
	test_grep -x "$seq.head" list &&
	test_grep -x "$seq.head.sig" list &&
	test $(grep -c "\.head$" list) = 2 &&
	hash=$(sql "select hash from events where seq = $seq") &&
	python3 -c "import json, sys; h = json.load(open(sys.argv[1])); assert h[\"seq\"] == $seq and h[\"hash\"] == \"$hash\" and h[\"host\"] == \"$host\", h" "$HEADS/$seq.head"
'

test_expect_success 'audit verify compares the chain with the heads and set headers' '
	coffer audit verify >out &&
	test_grep "^audit chain intact: " out &&
	test_grep -x "heads outside the host match: 2 in audit heads, 2 in set headers" out &&
	coffer audit verify --json >out &&
	python3 -c "import json, sys; r = json.load(open(sys.argv[1])); assert r[\"intact\"] and r[\"vault_heads\"] == 2 and r[\"set_heads\"] == 2 and r[\"head_problems\"] == [], r" out
'

test_expect_success 'the newest events cut off the local log: exit 3' '
	seq=$(sql "select max(seq) from events") &&
	sql "delete from events where seq = $seq" &&
	test_expect_code 3 coffer audit verify >out &&
	test_grep "^audit chain intact: " out &&
	test_grep "event $seq, the head in audit/$host/$seq.head, is past the end of the local log" out &&
	restore_catalog
'

# Rewrite event 1 and re-hash the whole chain the way coffer-audit(1)
# documents: the local chain is intact, the heads outside are not.
test_expect_success 'a log rewritten and re-hashed: exit 3 naming the heads' '
	coffer audit export -o audit.jsonl &&
	python3 - audit.jsonl "$CAT" <<-\EOF &&
	import hashlib, json, sqlite3, sys
	def canon(v):
	    if isinstance(v, dict):
	        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
	        return "{" + ",".join(canon(k) + ":" + canon(v[k]) for k in keys) + "}"
	    if isinstance(v, list):
	        return "[" + ",".join(canon(x) for x in v) + "]"
	    return json.dumps(v, ensure_ascii=False)
	db = sqlite3.connect(sys.argv[2])
	prev = "0" * 64
	for line in open(sys.argv[1], encoding="utf-8"):
	    ev = json.loads(line)
	    ev.pop("hash"); ev.pop("prev_hash")
	    if ev["seq"] == 1:
	        ev["operator"] = "mallory"
	    h = hashlib.sha256(bytes.fromhex(prev) + canon(ev).encode()).hexdigest()
	    db.execute("update events set operator = ?, prev_hash = ?, hash = ? where seq = ?",
	               (ev["operator"], prev, h, ev["seq"]))
	    prev = h
	db.commit()
	EOF
	test_expect_code 3 coffer audit verify >out &&
	test_grep "^audit chain intact: " out &&
	test_grep "differs from the head in audit/$host/" out &&
	test_grep "differs from the head in set b1: the local log was rewritten" out &&
	restore_catalog
'

test_expect_success 'a damaged or unsigned head is named' '
	seq=$(sql "select max(seq) from events") &&
	cp "$HEADS/$seq.head" saved &&
	sed "s/\"format\":1/\"format\":2/" saved >"$HEADS/$seq.head" &&
	test_expect_code 3 coffer audit verify >out 2>err &&
	test_grep "audit/$host/$seq.head: bad or unpinned signature" out &&
	cp saved "$HEADS/$seq.head" &&
	mv "$HEADS/$seq.head.sig" sig.saved &&
	test_expect_code 3 coffer audit verify >out &&
	test_grep "audit/$host/$seq.head: no signature" out &&
	mv sig.saved "$HEADS/$seq.head.sig" &&
	coffer audit verify >out &&
	head -c 5000 /dev/zero | tr "\\0" x >"$HEADS/99999.head" &&
	cp "$HEADS/$seq.head.sig" "$HEADS/99999.head.sig" &&
	test_expect_code 3 coffer audit verify >out 2>err &&
	test_grep "audit/$host/99999.head: unreadable" out &&
	rm "$HEADS/99999.head" "$HEADS/99999.head.sig"
'

test_expect_success 'without its vault, only the local chain is checked' '
	mv "$TRASH/vault" "$TRASH/vault.away" &&
	coffer audit verify >out 2>err &&
	test_grep "^audit chain intact: " out &&
	test_grep "only the local chain was checked" err &&
	mv "$TRASH/vault.away" "$TRASH/vault"
'

test_done
