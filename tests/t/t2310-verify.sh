#!/bin/sh
test_description='verify: signature, objects, --deep files; damage exits 3 naming what'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

command -v python3 >/dev/null 2>&1 ||
	test_skip_all 'python3 is missing (JSON checks)'

P=${TRASH#/}/src

py() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[2]))
ok = eval(sys.argv[1])
if not ok:
    print("false:", sys.argv[1]); print(json.dumps(j, indent=1)); sys.exit(1)' "$1" "$2"
}

# flip FILE OFFSET: change the byte at OFFSET (to another value).
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ")
	printf "\\$(printf %03o $(( (b + 1) % 256 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# verified LABEL: the verified time sets --json shows for LABEL.
verified() {
	coffer sets --json | python3 -c 'import json,sys
print([s["verified"] for s in json.load(sys.stdin) if s["label"] == sys.argv[1]][0])' "$1"
}

test_expect_success 'setup: a full set with a file of many age chunks' '
	test_init >/dev/null &&
	mkdir -p src/d &&
	echo alpha >src/a &&
	head -c 400000 /dev/urandom >src/d/big.bin &&
	head -c 100000 /dev/urandom >src/z-last.bin &&
	coffer backup --level full --label f1 "$TRASH/src" >/dev/null &&
	echo changed >src/a &&
	coffer backup --level incr --label i1 "$TRASH/src" >/dev/null &&
	host=$(ls vault/sets) &&
	echo "$host" >host &&
	cp -r vault/sets/$host/f1 f1.orig
'

host=$(cat host 2>/dev/null)
S=vault/sets/$host/f1
VOL=$S/vol-0001.tar.zst.age

restore_f1() {
	rm -rf "$S" && cp -r f1.orig "$S"
}

test_expect_success 'verify passes on a fresh set and marks it verified' '
	coffer audit log >before &&
	COFFER_NOW=2030-01-02T03:04:05Z coffer verify f1 >out &&
	test_grep "^$host/f1: ok (signature by SHA256:" out &&
	test "$(verified f1)" = 2030-01-02T03:04:05Z &&
	coffer audit log >after &&
	test $(grep -c " verify " after) = $(( $(grep -c " verify " before) + 1 )) &&
	test_grep "verify  *$host/f1" after
'

test_expect_success 'verify --json lists every object' '
	coffer verify --json f1 i1 >out &&
	py "[s[\"result\"] for s in j] == [\"ok\", \"ok\"]" out &&
	py "j[0][\"signature\"] == \"ok\" and j[0][\"signer\"].startswith(\"SHA256:\")" out &&
	py "sorted(o[\"role\"] for o in j[0][\"objects\"]) == [\"manifest\", \"recovery\", \"sums\", \"volume\"]" out &&
	py "all(o[\"status\"] == \"ok\" for o in j[0][\"objects\"])" out
'

test_expect_success 'verify --deep checks every file' '
	coffer verify --deep --passphrase-file pass f1 >out &&
	test_grep "^$host/f1: ok .* 3 files checked)" out
'

test_expect_success 'verify takes its options after the set too' '
	coffer verify --deep "$host/f1" --passphrase-file pass >out 2>err &&
	test_grep "^$host/f1: ok .* 3 files checked)" out &&
	test_grep -v "invalid" err
'

test_expect_success 'verify --deep of an incremental checks only its own data' '
	coffer verify --deep --passphrase-file pass i1 >out 2>err &&
	test_grep "^$host/i1: ok .* 1 files checked)" out &&
	test_grep "2 unchanged files are held by earlier sets" err
'

test_expect_success 'verify --deep with a wrong passphrase fails, unlocking aside' '
	echo "not the passphrase of this home" >wrong &&
	chmod 600 wrong &&
	test_expect_code 1 coffer verify --deep --passphrase-file wrong f1 \
		>out 2>err &&
	test_grep -i "passphrase" err &&
	test_grep -v "^$host/f1: ok" out &&
	test_expect_code 1 coffer verify --deep --passphrase-file nosuch f1 \
		>out 2>err &&
	test_grep "nosuch" err
'

test_expect_success 'a flipped byte in a volume: exit 3 naming the volume' '
	size=$(stat -c %s "$VOL") &&
	flip "$VOL" $((size / 2)) &&
	test_expect_code 3 coffer verify f1 >out 2>err &&
	test_grep "DAMAGED" out &&
	test_grep "object .vol-0001.tar.zst.age. is damaged" err &&
	test "$(verified f1)" = None
'

test_expect_success 'verify --deep names the damaged files' '
	test_expect_code 3 coffer verify --deep --passphrase-file pass f1 \
		>out 2>err &&
	test_grep "volume .vol-0001.tar.zst.age. cannot be read to its end" err &&
	test_grep "file .$P/z-last.bin. in volume .vol-0001.tar.zst.age." err &&
	test_grep "file .$P/d/big.bin. in volume .vol-0001.tar.zst.age." err &&
	test_grep -v "file .$P/a. in volume" err &&
	test_expect_code 3 coffer verify --deep --json --passphrase-file pass \
		f1 >out.json 2>/dev/null &&
	py "\"$P/z-last.bin\" in [f[\"path\"] for f in j[0][\"damaged_files\"]]" out.json &&
	py "j[0][\"damaged_volumes\"] == [\"vol-0001.tar.zst.age\"]" out.json &&
	py "j[0][\"result\"] == \"damaged\"" out.json
'

test_expect_success 'the audit log records the failed verification' '
	coffer audit log --action verify --json >log.json &&
	py "[(e[\"object\"], e[\"details\"][\"result\"], e[\"details\"][\"deep\"]) for e in j][-2:] == [(\"$host/f1\", \"damaged\", True)] * 2" log.json &&
	py "j[0][\"details\"] == {\"deep\": False, \"result\": \"ok\", \"signature\": \"ok\"}" log.json
'

test_expect_success 'a truncated object: exit 3, size mismatch' '
	restore_f1 &&
	coffer verify f1 >/dev/null &&
	truncate -s -7 "$S/SHA256SUMS" &&
	test_expect_code 3 coffer verify f1 2>err &&
	test_grep "object .SHA256SUMS. is size mismatch" err
'

test_expect_success 'a truncated volume: --deep names the files it lost' '
	restore_f1 &&
	size=$(stat -c %s "$VOL") &&
	truncate -s $((size - 70000)) "$VOL" &&
	test_expect_code 3 coffer verify --deep --passphrase-file pass f1 \
		>out 2>err &&
	test_grep "object .vol-0001.tar.zst.age. is size mismatch" err &&
	test_grep "file .$P/z-last.bin. .*unreadable" err
'

test_expect_success 'a missing volume: exit 3, missing' '
	restore_f1 &&
	rm "$VOL" &&
	test_expect_code 3 coffer verify --json f1 >out 2>err &&
	test_grep "object .vol-0001.tar.zst.age. is missing" err &&
	py "[o[\"status\"] for o in j[0][\"objects\"] if o[\"role\"] == \"volume\"] == [\"missing\"]" out
'

test_expect_success 'a set.json edited by hand fails the signature check' '
	restore_f1 &&
	sed "s/\"keep\":false/\"keep\":true/" "$S/set.json" >edited &&
	! cmp -s edited "$S/set.json" &&
	cat edited >"$S/set.json" &&
	test_expect_code 3 coffer verify f1 >out 2>err &&
	test_grep "bad signature" err &&
	test_grep "signature not accepted" out &&
	test_expect_code 3 coffer show f1 2>err &&
	test_grep "bad signature" err
'

test_expect_success 'a set signed by an unpinned key is refused naming it' '
	restore_f1 &&
	coffer -C other init --vault "$TRASH/ovault" --passphrase-file pass \
		>/dev/null &&
	coffer -C other config set core.host otherhost &&
	COFFER_HOME=$TRASH/other coffer backup --level full --label o1 \
		"$TRASH/src" >/dev/null &&
	cp -r ovault/sets/otherhost vault/sets/ &&
	fpr=$(cut -d" " -f2 vault/sets/otherhost/o1/set.json.sig) &&
	test_expect_code 3 coffer verify otherhost/o1 >out 2>err &&
	test_grep -F "unpinned key $fpr" err &&
	test_expect_code 3 coffer show otherhost/o1 2>err &&
	test_grep -F "unpinned key $fpr" err
'

test_expect_success 'verify --all checks every set the catalog knows' '
	coffer verify --all >out &&
	test_grep "^$host/f1: ok" out &&
	test_grep "^$host/i1: ok" out &&
	test $(wc -l <out) = 2 &&
	rm "$VOL" &&
	test_expect_code 3 coffer verify --all >out 2>/dev/null &&
	test_grep "^$host/f1: DAMAGED" out &&
	test_grep "^$host/i1: ok" out &&
	restore_f1
'

test_expect_success 'verify --deep --all: each set, its manifest loaded ahead; a damaged one named' '
	coffer verify --deep --all --passphrase-file pass >out 2>err &&
	test_grep "^$host/f1: ok .* 3 files checked)" out &&
	test_grep "^$host/i1: ok .* 1 files checked)" out &&
	M=vault/sets/$host/i1/manifest.jsonl.zst.age &&
	cp "$M" man.saved &&
	flip "$M" $(( $(wc -c <"$M") - 5 )) &&
	test_expect_code 3 coffer verify --deep --all --passphrase-file pass \
		>out 2>err &&
	mv man.saved "$M" &&
	test_grep "^$host/f1: ok .* 3 files checked)" out &&
	test_grep "^$host/i1: DAMAGED" out &&
	test_grep "manifest" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 coffer verify 2>err &&
	test_grep "usage: coffer verify" err &&
	test_expect_code 2 coffer verify --all f1 2>err
'

test_expect_success 'verify of an unknown set is an error, not damage' '
	test_expect_code 1 coffer verify nosuch 2>err &&
	test_grep "no set .$host/nosuch." err
'

test_expect_success 'a command that fails early asks for no passphrase' '
	test_expect_code 1 coffer verify --deep nosuch </dev/null 2>err &&
	test_grep "no set .$host/nosuch." err &&
	test_grep -v -i "passphrase" err &&
	test_must_fail coffer restore nosuch --to "$TRASH/nowhere" \
		</dev/null 2>err &&
	test_grep "nosuch" err &&
	test_grep -v -i "passphrase" err
'

test_expect_success 'a set the catalog has but the vault lost is damage' '
	mv "$S/set.json.sig" sig.saved &&
	test_expect_code 3 coffer verify f1 >out 2>err &&
	test_grep "no committed set" err &&
	test_grep "signature missing" out &&
	mv sig.saved "$S/set.json.sig"
'

test_done
