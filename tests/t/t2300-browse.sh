#!/bin/sh
test_description='sets, show, ls and diff after a full and an incremental set'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

command -v python3 >/dev/null 2>&1 ||
	test_skip_all 'python3 is missing (JSON checks)'

# The manifest path of the source tree: its absolute path without the
# leading slash.
P=${TRASH#/}/src

# py EXPR FILE: evaluate a Python expression over the JSON in FILE (as j);
# fails when it is false.
py() {
	python3 -c 'import json,sys,base64
j = json.load(open(sys.argv[2]))
ok = eval(sys.argv[1])
if not ok:
    print("false:", sys.argv[1]); print(json.dumps(j, indent=1)); sys.exit(1)' "$1" "$2"
}

test_expect_success 'setup: a full set, then changes, then an incremental' '
	test_init >/dev/null &&
	mkdir -p src/d &&
	echo alpha >src/a &&
	echo bravo >src/d/b &&
	echo doomed >src/del &&
	printf x >"src/nl
name" &&
	printf y >"src/$(printf "bad\377")" &&
	printf z >"src/back\\slash	tab" &&
	coffer backup --level full --label full1 "$TRASH/src" >/dev/null &&
	echo "alpha, longer now" >src/a &&
	echo fresh >src/new &&
	rm src/del &&
	coffer backup --level incr --label incr1 "$TRASH/src" >/dev/null
'

test_expect_success 'sets lists both with level, kind and parent' '
	coffer sets >out &&
	test_grep "^full1 .* full  *backup " out &&
	test_grep "^incr1 .* incr  *backup .* full1$" out &&
	test $(wc -l <out) = 3
'

test_expect_success 'sets --json gives every field' '
	coffer sets --json >sets.json &&
	py "[s[\"label\"] for s in j] == [\"full1\", \"incr1\"]" sets.json &&
	py "j[1][\"parents\"] == [\"full1\"] and j[0][\"parents\"] == []" sets.json &&
	py "j[0][\"level\"] == \"full\" and j[1][\"level\"] == \"incr\"" sets.json &&
	py "all(s[\"kind\"] == \"backup\" and s[\"job\"] == \"paths\" for s in j)" sets.json &&
	py "j[0][\"files\"] >= 6 and j[0][\"bytes\"] > 0" sets.json &&
	py "all(s[\"keep\"] is False and s[\"retain_until\"] is None for s in j)" sets.json &&
	py "all(s[\"signer\"].startswith(\"SHA256:\") for s in j)" sets.json &&
	py "all(s[\"created\"].endswith(\"Z\") for s in j)" sets.json
'

test_expect_success 'sets filters by job, host and kind' '
	coffer sets --json --kind pre-restore >out &&
	py "j == []" out &&
	coffer sets --json --job nosuch >out &&
	py "j == []" out &&
	coffer sets --json --job paths --kind backup >out &&
	py "len(j) == 2" out &&
	coffer sets --json --host nosuchhost >out &&
	py "j == []" out &&
	test_expect_code 2 coffer sets --kind bogus 2>err &&
	test_grep "unknown kind" err
'

test_expect_success 'show prints the header, objects and signer' '
	fpr=$(cut -d" " -f2 vault/sets/*/incr1/set.json.sig) &&
	coffer show incr1 >out &&
	test_grep "^label: *incr1$" out &&
	test_grep "^level: *incr$" out &&
	test_grep "^parents: *full1$" out &&
	test_grep "^job: *paths$" out &&
	test_grep "^signer: *$fpr$" out &&
	test_grep "^source: *vault$" out &&
	vol=$(ls vault/sets/*/incr1/vol-0001.tar.zst.age) &&
	sum=$(sha256sum <"$vol" | cut -c1-64) &&
	size=$(stat -c %s "$vol") &&
	test_grep "vol-0001.tar.zst.age  *volume  *$size  sha256 $sum" out &&
	test_grep "manifest.jsonl.zst.age  *manifest " out &&
	test_grep "SHA256SUMS  *sums " out &&
	test_grep "RECOVERY.txt  *recovery " out
'

test_expect_success 'show --json holds set.json as stored' '
	coffer show --json incr1 >out &&
	cp vault/sets/*/incr1/set.json stored.json &&
	python3 -c "import json; import sys; \
		sys.exit(json.load(open(\"out\"))[\"header\"] != \
		json.load(open(\"stored.json\")))" &&
	py "j[\"source\"] == \"vault\" and j[\"signer\"].startswith(\"SHA256:\")" out &&
	py "j[\"header\"][\"parents\"] == [\"full1\"]" out
'

test_expect_success 'show falls back to the catalog copy when the vault lost the set' '
	sig=$(ls vault/sets/*/incr1/set.json.sig) &&
	mv "$sig" sig.saved &&
	coffer show --json incr1 >out 2>err &&
	mv sig.saved "$sig" &&
	py "j[\"source\"] == \"catalog\" and j[\"header\"][\"label\"] == \"incr1\"" out &&
	test_grep "catalog.s copy" err
'

test_expect_success 'show of an unknown set fails' '
	test_expect_code 1 coffer show nosuch 2>err &&
	test_grep "nosuch" err &&
	test_expect_code 2 coffer show 2>err
'

test_expect_success 'ls lists the full set with names escaped' '
	coffer ls --passphrase-file pass full1 >out &&
	test_grep -x "$P/a" out &&
	test_grep -x "$P/d/b" out &&
	test_grep -x "$P/del" out &&
	test_grep -x -F "$P/nl\\nname" out &&
	test_grep -x -F "$P/bad\\xff" out &&
	test_grep -x -F "$P/back\\\\slash\\ttab" out &&
	test $(wc -l <out) = 8
'

test_expect_success 'ls of the incremental shows the whole tree, not deleted files' '
	coffer ls --passphrase-file pass incr1 >out &&
	test_grep -x "$P/new" out &&
	test_grep -x "$P/d/b" out &&
	test_grep -x -F "$P/nl\\nname" out &&
	test_grep -v -x "$P/del" out &&
	coffer ls --deleted --passphrase-file pass incr1 >out &&
	test_grep -x "$P/del (deleted)" out
'

test_expect_success 'ls -l shows type, mode, size and where unchanged data is' '
	coffer ls -l --passphrase-file pass incr1 >out &&
	test_grep "^-rw-r--r-- .* 18 [0-9-]* [0-9:]* $P/a$" out &&
	test_grep "^d[rwx-]* .* $P/d$" out &&
	test_grep "^-.* 6 [0-9-]* [0-9:]* $P/d/b (in full1)$" out
'

test_expect_success 'ls PATH lists only that subtree' '
	coffer ls --passphrase-file pass incr1 "/$P/d" >out &&
	printf "%s\n" "$P/d" "$P/d/b" >expect &&
	test_cmp expect out &&
	test_expect_code 1 coffer ls --passphrase-file pass incr1 "$P/nosuch" 2>err &&
	test_grep "no path" err
'

test_expect_success 'ls and diff take their options after the sets too' '
	coffer ls incr1 "/$P/d" --passphrase-file pass >out &&
	printf "%s\n" "$P/d" "$P/d/b" >expect &&
	test_cmp expect out &&
	coffer ls full1 --json --passphrase-file pass >out &&
	py "\"$P/a\" in [e.get(\"path\") for e in j]" out &&
	coffer diff full1 incr1 --json --passphrase-file pass >out &&
	py "[e[\"path\"] for e in j[\"added\"]] == [\"$P/new\"]" out &&
	coffer ls --passphrase-file pass -- incr1 "$P/d" >out &&
	test_cmp expect out
'

test_expect_success 'ls --json gives path or path_b64 with the raw bytes' '
	coffer ls --json --passphrase-file pass full1 >out &&
	py "\"$P/nl\\nname\" in [e.get(\"path\") for e in j]" out &&
	py "b\"$P/bad\\xff\" in [base64.b64decode(e[\"path_b64\"]) for e in j if \"path_b64\" in e]" out &&
	py "[e[\"size\"] for e in j if e.get(\"path\") == \"$P/a\"] == [6]" out
'

test_expect_success 'ls works with an identity file (-i)' '
	coffer decrypt --passphrase-file pass -o id.txt "$COFFER_HOME/keys/identity.age" &&
	coffer ls -i id.txt full1 >out &&
	test_grep -x "$P/a" out
'

test_expect_success 'ls with a wrong passphrase fails' '
	echo "not the passphrase at all" >wrong &&
	chmod 600 wrong &&
	test_expect_code 1 coffer ls --passphrase-file wrong full1 >out 2>err &&
	test ! -s out
'

test_expect_success 'diff names added, removed and modified paths' '
	coffer diff --passphrase-file pass full1 incr1 >out 2>err &&
	test_grep -x "+ $P/new" out &&
	test_grep -x "\\- $P/del" out &&
	test_grep -x "M $P/a (size,mtime,sha256)" out &&
	test_grep -v "$P/d/b" out &&
	test_grep -v "nl" out &&
	test_grep "1 added, 1 removed" err
'

test_expect_success 'diff --json' '
	coffer diff --json --passphrase-file pass full1 incr1 >out &&
	py "j[\"from\"] == \"full1\" and j[\"to\"] == \"incr1\"" out &&
	py "[e[\"path\"] for e in j[\"added\"]] == [\"$P/new\"]" out &&
	py "[e[\"path\"] for e in j[\"removed\"]] == [\"$P/del\"]" out &&
	py "{\"size\", \"sha256\"} <= set([e for e in j[\"modified\"] if e[\"path\"] == \"$P/a\"][0][\"changes\"])" out
'

test_expect_success 'diff the other way round swaps added and removed' '
	coffer diff --passphrase-file pass incr1 full1 >out &&
	test_grep -x "\\- $P/new" out &&
	test_grep -x "+ $P/del" out
'

test_expect_success 'diff of a set with itself is empty' '
	coffer diff --passphrase-file pass full1 full1 >out &&
	test ! -s out
'

test_expect_success 'diff needs two sets' '
	test_expect_code 2 coffer diff full1 2>err &&
	test_grep "usage: coffer diff" err
'

test_expect_success 'passphrase options: one source, a valid descriptor' '
	for c in ls diff verify restore "key escrow" "key passphrase"; do
		test_expect_code 2 coffer $c --passphrase-file pass \
			--passphrase-fd 0 2>err &&
		test_grep "are exclusive" err &&
		test_grep "usage: coffer" err &&
		test_expect_code 2 coffer $c --passphrase-fd abc 2>err &&
		test_grep "bad descriptor .abc." err || return 1
	done
'

test_done
