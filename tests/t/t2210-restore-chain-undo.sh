#!/bin/sh
test_description='restore: incr and diff chains, --delete, --undo gives the old tree back'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

tree_list() {
	(cd "$1" &&
	find . -mindepth 1 -printf '%p %y %m %U %G %T@ %s %n [%l]\n' |
		LC_ALL=C sort &&
	find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

restore() {
	coffer restore --passphrase-file "$TRASH/pass" "$@"
}

SRCREL=${TRASH#/}/src

test_expect_success 'a full, an incr, a diff and another incr' '
	test_init >/dev/null &&
	mkdir -p src/d &&
	echo one >src/a && echo two >src/d/b && echo three >src/c &&
	coffer backup --level full --label s0 "$TRASH/src" >/dev/null &&
	cp -a src state0 &&
	sleep 0.01 && echo changed >src/a && rm src/c && echo new >src/d/n &&
	coffer backup --level incr --label s1 "$TRASH/src" >/dev/null &&
	cp -a src state1 &&
	sleep 0.01 && rm -r src/d && echo more >src/m &&
	coffer backup --level diff --label s2 "$TRASH/src" >/dev/null &&
	cp -a src state2 &&
	sleep 0.01 && echo again >src/a &&
	coffer backup --level incr --label s3 "$TRASH/src" >/dev/null &&
	cp -a src state3
'

for n in 0 1 2 3; do
	test_expect_success "set s$n restores the state it saw" "
		restore --to \"\$TRASH/r$n\" s$n >out &&
		tree_list state$n >expect &&
		tree_list \"r$n/\$SRCREL\" >actual &&
		test_cmp expect actual
	"
done

test_expect_success 'restoring s1 over s3 with --delete gives s1 exactly' '
	cp -a r3 over &&
	restore --delete --to "$TRASH/over" s1 >out &&
	test_grep "0 mismatches, 0 not restored" out &&
	tree_list state1 >expect &&
	tree_list "over/$SRCREL" >actual &&
	test_cmp expect actual
'

test_expect_success 'restore into a populated directory, then undo: the old tree byte for byte' '
	mkdir -p pop/$SRCREL/d pop/$SRCREL/other &&
	echo mine >pop/$SRCREL/a &&
	echo keep >pop/$SRCREL/other/x &&
	ln -s elsewhere pop/$SRCREL/c &&
	chmod 0700 pop/$SRCREL/d &&
	touch -d 2000-01-01 pop/$SRCREL/d pop/$SRCREL &&
	tree_list pop >before &&
	restore --delete --json --to "$TRASH/pop" s1 >r.json &&
	test_grep "\"overwritten\": [1-9]" r.json &&
	test_grep "\"deleted\": [1-9]" r.json &&
	test_grep "\"pre_restore\": \"pre-restore-R-" r.json &&
	tree_list state1 >expect &&
	tree_list "pop/$SRCREL" >actual &&
	test_cmp expect actual &&
	id=$(sed -n "s/.*\"id\": \"\\(R-[^\"]*\\)\".*/\\1/p" r.json) &&
	restore --undo "$id" >undo.out &&
	test_grep "undoes $id" undo.out &&
	tree_list pop >after &&
	test_cmp before after
'

test_expect_success 'undo refuses when a later restore exists, and when the tree changed' '
	restore --to "$TRASH/u" s0 >o1 &&
	id1=$(sed -n "s/^restore \\(R-[^:]*\\):.*/\\1/p" o1) &&
	restore --to "$TRASH/u" s1 >o2 &&
	id2=$(sed -n "s/^restore \\(R-[^:]*\\):.*/\\1/p" o2) &&
	test_must_fail restore --undo "$id1" 2>err &&
	test_grep "came after" err &&
	echo edited >"u/$SRCREL/a" &&
	test_must_fail restore --undo "$id2" 2>err &&
	test_grep "tree changed" err &&
	restore --undo "$id2" --force >o3 &&
	tree_list state0 >expect &&
	tree_list "u/$SRCREL" >actual &&
	test_cmp expect actual
'

test_expect_success 'undo of a restore into an empty directory removes what it created' '
	restore --to "$TRASH/fresh" s2 >o &&
	id=$(sed -n "s/^restore \\(R-[^:]*\\):.*/\\1/p" o) &&
	restore --undo "$id" >o2 &&
	! test -e "fresh/$SRCREL/m" &&
	! test -e "fresh/$SRCREL"
'

test_expect_success 'a plan over 1 MiB, written in pieces, is read back whole by undo' '
	mkdir -p many &&
	(cd many && for i in $(seq 1 4000); do
		echo $i >file-with-a-name-long-enough-to-fill-the-plan-$i
	done) &&
	coffer backup --level full --label big "$TRASH/many" >/dev/null &&
	restore --to "$TRASH/bigdest" big >o &&
	id=$(sed -n "s/^restore \\(R-[^:]*\\):.*/\\1/p" o) &&
	plan="$COFFER_HOME/restores/$id/plan.json" &&
	test $(wc -c <"$plan") -gt 1200000 &&
	{ ! command -v python3 >/dev/null ||
	  python3 -c "import json,sys; p = json.load(open(sys.argv[1])); sys.exit(len(p[\"entries\"]) < 4000)" "$plan"; } &&
	test -f "bigdest/${TRASH#/}/many/file-with-a-name-long-enough-to-fill-the-plan-2999" &&
	restore --undo "$id" >o2 &&
	! test -e "bigdest/${TRASH#/}/many"
'

if mkdir chk && chattr +i chk 2>/dev/null && ! touch chk/x 2>/dev/null; then
	chattr -i chk
	test_expect_success 'a failed snapshot writes nothing' '
		mkdir -p snapfail/$SRCREL && echo old >snapfail/$SRCREL/a &&
		tree_list snapfail >before &&
		host=$(ls vault/sets) &&
		chattr +i vault/sets/$host &&
		{ test_expect_code 1 restore --to "$TRASH/snapfail" s1 2>err;
		  rc=$?; chattr -i vault/sets/$host; test $rc = 0; } &&
		test_grep "nothing was restored" err &&
		tree_list snapfail >after &&
		test_cmp before after
	'
else
	chattr -i chk 2>/dev/null
	test_skip 'a failed snapshot writes nothing' 'chattr +i does not work here'
fi

test_done
