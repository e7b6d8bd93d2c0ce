#!/bin/sh
test_description='backup and restore: whole-file SHA-256 of split files, hard links to split files, owner names of unchanged files'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

ap() {
	printf '%s/%s' "${TRASH#/}" "$1"
}

manifest() {
	age -d -i id.txt vault/sets/*/"$1"/manifest.jsonl.zst.age | zstd -q -d
}

# py EXPR FILE: EXPR is true of j, the JSON in FILE.
py() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[2])); sys.exit(0 if ($1) else 1)" "$1" "$2"
}

restore() {
	coffer restore --passphrase-file "$TRASH/pass" "$@"
}

test_expect_success 'setup: a file larger than the volume size with two links' '
	test_init >/dev/null &&
	coffer decrypt --passphrase-file pass -o id.txt "$COFFER_HOME/keys/identity.age" &&
	mkdir -p src/sub &&
	head -c 2600000 /dev/urandom >src/big &&
	ln src/big src/sub/big-link &&
	echo small >src/small &&
	echo other >src/sub/other &&
	coffer backup --level full --volume-size 1M --label s1 "$TRASH/src" &&
	test $(ls vault/sets/*/s1/vol-* | wc -l) -ge 3
'

test_expect_success 'the split file entry carries the whole file SHA-256' '
	manifest s1 >m &&
	grep "\"path\":\"$(ap src/big)\"" m >e &&
	grep "\"parts\":\[" e &&
	grep "\"sha256\":\"$(sha256sum <src/big | cut -c1-64)\"" e &&
	grep "\"path\":\"$(ap src/sub/big-link)\"" m >l &&
	grep "\"type\":\"hardlink\"" l &&
	grep "\"target\":\"$(ap src/big)\"" l &&
	grep "\"sha256\":\"$(sha256sum <src/big | cut -c1-64)\"" l
'

test_expect_success 'verify --deep checks the joined split file' '
	coffer verify --deep --passphrase-file pass s1 >out 2>err &&
	test_grep "s1: ok" out &&
	! test_grep "joined" err
'

test_expect_success 'restore joins the split file and recreates its hard link' '
	restore --to "$TRASH/r1" s1 >out.txt 2>err &&
	cmp src/big "r1/$(ap src/big)" &&
	test "$(stat -c %i "r1/$(ap src/big)")" = \
	    "$(stat -c %i "r1/$(ap src/sub/big-link)")" &&
	test "$(stat -c %h "r1/$(ap src/big)")" = 2 &&
	cmp src/sub/other "r1/$(ap src/sub/other)"
'

test_expect_success 'restore over an old file in the link place replaces it' '
	rm "r1/$(ap src/sub/big-link)" &&
	echo stale >"r1/$(ap src/sub/big-link)" &&
	restore --to "$TRASH/r1" s1 >out.txt 2>err &&
	test "$(stat -c %i "r1/$(ap src/big)")" = \
	    "$(stat -c %i "r1/$(ap src/sub/big-link)")"
'

test_expect_success 'restoring only the link without its target fails clearly' '
	test_must_fail restore --to "$TRASH/only" s1 "/$(ap src/sub)" >out.txt 2>err &&
	test_grep "target is not restored" err &&
	cmp src/sub/other "only/$(ap src/sub/other)"
'

test_expect_success 'RECOVERY.txt joins the split file and relinks its hard link' '
	test_grep "Recreate the hard links" vault/sets/*/s1/RECOVERY.txt &&
	mkdir rec &&
	sed -n "s/^    //p" vault/sets/*/s1/RECOVERY.txt >rec.sh &&
	VAULT=$TRASH/vault ID=$TRASH/id.txt DEST=$TRASH/rec sh rec.sh &&
	cmp src/big "rec/$(ap src/big)" &&
	test "$(stat -c %i "rec/$(ap src/big)")" = \
	    "$(stat -c %i "rec/$(ap src/sub/big-link)")" &&
	! ls rec/$(ap src)/*coffer-part* 2>/dev/null
'

test_expect_success 'an incr names the owner of unchanged files' '
	echo more >>src/small &&
	coffer backup --level incr --volume-size 1M --label i1 "$TRASH/src" &&
	manifest i1 >m &&
	grep "\"path\":\"$(ap src/sub/other)\"" m | grep "\"in\":\"s1\"" &&
	coffer ls --json --passphrase-file pass i1 >ls.json &&
	u=$(id -un) && g=$(id -gn) &&
	py "[(e.get(\"user\"), e.get(\"group\")) for e in j if e.get(\"path\") == \"$(ap src/sub/other)\"] == [(\"$u\", \"$g\")]" ls.json &&
	py "all(e.get(\"user\") == \"$u\" for e in j if \"in\" in e)" ls.json &&
	py "any(\"in\" in e for e in j)" ls.json
'

test_expect_success 'an incr with an unchanged split file and its link restores both' '
	restore --to "$TRASH/inc" i1 >out.txt 2>err &&
	cmp src/big "inc/$(ap src/big)" &&
	cmp src/small "inc/$(ap src/small)" &&
	test "$(stat -c %i "inc/$(ap src/big)")" = \
	    "$(stat -c %i "inc/$(ap src/sub/big-link)")"
'

test_expect_success 'RECOVERY.txt of the incr rebuilds the chain with the link' '
	mkdir rec2 &&
	sed -n "s/^    //p" vault/sets/*/i1/RECOVERY.txt >rec2.sh &&
	VAULT=$TRASH/vault ID=$TRASH/id.txt DEST=$TRASH/rec2 sh rec2.sh &&
	cmp src/big "rec2/$(ap src/big)" &&
	cmp src/small "rec2/$(ap src/small)" &&
	test "$(stat -c %i "rec2/$(ap src/big)")" = \
	    "$(stat -c %i "rec2/$(ap src/sub/big-link)")"
'

test_done
