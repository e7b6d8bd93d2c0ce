#!/bin/sh
test_description='restore: damaged volumes, untrusted sets, identities, writing through symlinks'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

restore() {
	coffer restore --passphrase-file "$TRASH/pass" "$@"
}

SRCREL=${TRASH#/}/src

test_expect_success 'set up a set of several volumes' '
	test_init >/dev/null &&
	mkdir src &&
	for f in a b c d e; do head -c 700000 /dev/urandom >src/$f; done &&
	echo small >src/s &&
	coffer backup --volume-size 1M --label multi "$TRASH/src" >/dev/null &&
	host=$(ls vault/sets) &&
	test $(ls vault/sets/$host/multi/vol-* | wc -l) -ge 3
'
host=$(ls vault/sets 2>/dev/null)

test_expect_success 'a flipped byte in a volume: the rest restored, the damaged listed, exit 3' '
	v=vault/sets/$host/multi/vol-0002.tar.zst.age &&
	cp $v vol2.orig &&
	size=$(stat -c %s $v) &&
	off=$((size / 2)) &&
	b=$(od -An -tu1 -j $off -N1 $v | tr -d " ") &&
	printf "$(printf "\\\\%03o" $(( (b + 1) % 256 )))" |
		dd of=$v bs=1 seek=$off conv=notrunc 2>/dev/null &&
	test_expect_code 3 restore --to "$TRASH/dmg" multi >out 2>err &&
	test_grep "not restored: " out &&
	test_grep "vol-0002" err &&
	ok=0 &&
	for f in a b c d e s; do
		if grep -q "not restored: $SRCREL/$f:" out; then
			continue
		fi
		cmp src/$f "dmg/$SRCREL/$f" && ok=$((ok + 1))
	done &&
	test $ok -ge 1 &&
	cp vol2.orig $v
'

test_expect_success 'after repair the same set restores cleanly' '
	restore --to "$TRASH/fixed" multi >out &&
	for f in a b c d e s; do cmp src/$f "fixed/$SRCREL/$f" || exit 1; done
'

test_expect_success 'a large file (read behind its writing) round trips and is caught damaged' '
	mkdir big &&
	head -c 6000000 /dev/urandom >big/large &&
	head -c 100 /dev/urandom >>big/large &&
	echo after >big/z-after &&
	coffer backup --label large "$TRASH/big" >/dev/null &&
	restore --to "$TRASH/large-ok" large >out &&
	test_grep "0 mismatches, 0 not restored" out &&
	cmp big/large "large-ok/${TRASH#/}/big/large" &&
	v=vault/sets/$host/large/vol-0001.tar.zst.age &&
	cp $v large.orig &&
	off=$(( $(stat -c %s $v) / 2 )) &&
	b=$(od -An -tu1 -j $off -N1 $v | tr -d " ") &&
	printf "$(printf "\\%03o" $(( (b + 1) % 256 )))" |
		dd of=$v bs=1 seek=$off conv=notrunc 2>/dev/null &&
	test_expect_code 3 restore --to "$TRASH/large-bad" large >out 2>err &&
	test_grep "not restored: ${TRASH#/}/big/large" out &&
	test_grep "vol-0001" err &&
	cp large.orig $v
'

test_expect_success 'a manifest that does not match set.json is refused, nothing written' '
	m=vault/sets/$host/multi/manifest.jsonl.zst.age &&
	cp $m man.orig &&
	echo x >>$m &&
	test_expect_code 3 restore --to "$TRASH/badman" multi 2>err &&
	cp man.orig $m &&
	! test -e badman/$SRCREL
'

test_expect_success 'a set signed by an unpinned key is refused' '
	COFFER_HOME=$TRASH/home2 coffer init --vault "$TRASH/vault2" \
		--passphrase-file "$TRASH/pass" >/dev/null &&
	COFFER_HOME=$TRASH/home2 coffer config set core.host other &&
	COFFER_HOME=$TRASH/home2 coffer backup --label foreign "$TRASH/src" >/dev/null &&
	cp -a vault2/sets/other vault/sets/other &&
	test_expect_code 3 restore --to "$TRASH/foreign" other/foreign 2>err &&
	test_grep "unpinned" err &&
	! test -e foreign/$SRCREL
'

test_expect_success '-i IDENTITY works' '
	coffer decrypt --passphrase-file pass -o id.txt home/keys/identity.age &&
	coffer restore -i id.txt --to "$TRASH/withid" multi >out &&
	cmp src/a "withid/$SRCREL/a"
'

test_expect_success 'a wrong passphrase fails cleanly and writes nothing' '
	echo "not the passphrase at all" >wrong &&
	test_expect_code 1 coffer restore --passphrase-file wrong \
		--to "$TRASH/wrongpw" multi >out 2>err &&
	! test -e wrongpw &&
	test_grep "wrong passphrase" err &&
	test_expect_code 1 coffer restore --passphrase-file wrong --dry-run \
		--to "$TRASH/wrongpw" multi >out 2>err &&
	test_grep -v "dry run" out &&
	printf "not the passphrase at all\n" | test_expect_code 1 \
		coffer restore --passphrase-fd 0 --to "$TRASH/existing" \
		multi >out 2>err &&
	test_grep "wrong passphrase" err
'

test_expect_success 'nothing is written through a symlink in the destination' '
	mkdir -p outside symdest &&
	ln -s "$TRASH/outside" symdest/tmp &&
	test_expect_code 3 restore --to "$TRASH/symdest" multi >out 2>err &&
	test_grep "not restored: " out &&
	test -z "$(find outside -type f)"
'

test_expect_success '--verify-cmd failing gives exit 3, passing gives 0' '
	test_expect_code 3 restore --verify-cmd "test -f \"\$COFFER_RESTORE_DIR/nonexistent\"" \
		--to "$TRASH/vc" multi >out &&
	restore --verify-cmd "test -f \"\$COFFER_RESTORE_DIR/$SRCREL/s\"" \
		--to "$TRASH/vc2" multi >out
'

test_done
