#!/bin/sh
test_description='restore: round trips of every file type, odd names, xattrs, ACLs, hard links, sparse and split files; dry run; PATH selection'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

# tree_list DIR: every path under DIR with type, mode, owner, mtime (ns),
# size, link target, link count, content hash, xattrs and ACLs.
tree_list() {
	(cd "$1" &&
	find . -mindepth 1 -printf '%p %y %m %U %G %T@ %s %n [%l]\n' |
		LC_ALL=C sort &&
	find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum &&
	if test -n "$have_xattr"; then
		getfattr -R -P -d -m - --absolute-names . 2>/dev/null |
			grep -v '^security\.' | grep -v '^system\.posix_acl' || :
	fi &&
	if test -n "$have_acl"; then
		getfacl -R -P -p . 2>/dev/null || :
	fi)
}

restore() {
	coffer restore --passphrase-file "$TRASH/pass" "$@"
}

test_expect_success 'set up a tree with every kind of file' '
	test_init >/dev/null &&
	mkdir -p src/dir/sub src/empty-dir &&
	echo hello >src/file &&
	: >src/empty &&
	printf "odd\n" >"src/sp ace and \"quote\" *star" &&
	printf "nl\n" >"$(printf "src/new\nline")" &&
	printf "latin1\n" >"$(printf "src/caf\351")" &&
	printf "utf8\n" >"src/caf$(printf "\303\251")" &&
	ln -s file src/link &&
	ln -s /nonexistent/target src/dangling &&
	echo linked >src/dir/hard1 &&
	ln src/dir/hard1 src/dir/hard2 &&
	mkfifo src/fifo &&
	chmod 0600 src/file && chmod 4755 src/dir/sub && chmod 1777 src/empty-dir &&
	dd if=/dev/zero of=src/sparse bs=1 count=0 seek=10M 2>/dev/null &&
	echo tail >>src/sparse &&
	head -c 300000 /dev/urandom >src/dir/sub/big &&
	touch -d "2001-02-03 04:05:06.123456789" src/file src/dir/sub/big
'

have_xattr=
if setfattr -n user.coffer -v value src/file 2>/dev/null; then
	have_xattr=1
	setfattr -n user.bin -v 0sAAECAw== src/dir/hard1
fi
have_acl=
if setfacl -m u:1:r src/file 2>/dev/null &&
	setfacl -d -m u:1:rx src/dir 2>/dev/null; then
	have_acl=1
fi

test_expect_success 'back up the tree' '
	coffer backup "$TRASH/src" >out &&
	ls vault/sets/*/ >sets &&
	SET=$(ls vault/sets/*/ | head -1) &&
	test -n "$SET"
'
SET=$(ls vault/sets/*/ | head -1)
SRCREL=${TRASH#/}/src

test_expect_success 'a dry run prints the plan and writes nothing' '
	restore -n --to "$TRASH/restored" "$SET" >plan &&
	test_grep "^create  *$SRCREL/file$" plan &&
	test_grep "^dry run: " plan &&
	! test -e restored &&
	! test -d home/restores
'

test_expect_success 'restore gives the tree back' '
	restore --to "$TRASH/restored" "$SET" >out.txt &&
	test_grep "^restore R-" out.txt &&
	test_grep "0 mismatches, 0 not restored" out.txt &&
	tree_list src >expect &&
	tree_list "restored/$SRCREL" >actual &&
	test_cmp expect actual
'

test_expect_success 'modes and owners are exact whatever the umask' '
	echo g >src/group-writable && chmod 0664 src/group-writable &&
	echo r >src/read-only && chmod 0400 src/read-only &&
	echo u >src/set-uid &&
	if test "$(id -u)" = 0; then
		# Another owner (chown first: it clears set-id bits).
		chown 1234:2345 src/group-writable src/set-uid
	fi &&
	chmod 4755 src/set-uid &&
	coffer backup "$TRASH/src" >out &&
	USET=$(coffer sets --json | sed -n "s/.*\"label\": \"\(paths-[^\"]*\)\".*/\1/p" | tail -1) &&
	(umask 077 && restore --to "$TRASH/umask77" "$USET" >out.txt) &&
	test_grep "0 mismatches, 0 not restored" out.txt &&
	tree_list src >expect &&
	tree_list "umask77/$SRCREL" >actual &&
	test_cmp expect actual &&
	rm src/group-writable src/read-only src/set-uid
'

test_expect_success 'sparse file stays sparse' '
	blocks=$(stat -c %b "restored/$SRCREL/sparse") &&
	test "$blocks" -lt 2048
'

test_expect_success 'restoring again finds everything unchanged' '
	restore --json --to "$TRASH/restored" "$SET" >again.json &&
	test_grep "\"created\": 0" again.json &&
	test_grep "\"overwritten\": 0" again.json &&
	test_grep "\"mismatches\": 0" again.json &&
	test_grep "\"id\": \"R-" again.json
'

test_expect_success 'PATH restricts the restore' '
	restore --to "$TRASH/part" "$SET" "/$SRCREL/dir/" >out.txt &&
	test -f "part/$SRCREL/dir/sub/big" &&
	! test -e "part/$SRCREL/file" &&
	tree_list src/dir >expect &&
	tree_list "part/$SRCREL/dir" >actual &&
	test_cmp expect actual
'

test_expect_success 'split files across many volumes round trip' '
	mkdir big &&
	head -c 3000000 /dev/urandom >big/a &&
	head -c 100 /dev/urandom >big/b &&
	head -c 2500000 /dev/urandom >big/c &&
	coffer backup --volume-size 1M --label big1 "$TRASH/big" >out &&
	test $(ls vault/sets/*/big1/vol-* | wc -l) -gt 2 &&
	restore --to "$TRASH/bigout" big1 >out.txt &&
	tree_list big >expect &&
	tree_list "bigout/${TRASH#/}/big" >actual &&
	test_cmp expect actual
'

test_expect_success 'many files: the final check runs on two threads' '
	mkdir -p many/a many/b &&
	for d in a b; do
		(cd many/$d && seq 1 2600 | xargs touch &&
		 for i in 1 700 2600; do echo "$d$i" >$i; done)
	done &&
	coffer backup "$TRASH/many" >out &&
	MSET=$(coffer sets --json | sed -n "s/.*\"label\": \"\(paths-[^\"]*\)\".*/\1/p" | tail -1) &&
	restore --json --to "$TRASH/many-r" "$MSET" >many.json &&
	test_grep "\"mismatches\": 0" many.json &&
	test_grep "\"verified\": 520[0-9]" many.json &&
	tree_list many >expect &&
	tree_list "many-r/${TRASH#/}/many" >actual &&
	test_cmp expect actual
'

test_expect_success 'under cron (stderr not a terminal) restore shows no progress' '
	restore --to "$TRASH/quiet" big1 >out.txt 2>err &&
	test_grep -v "files, .* written" err
'

test_expect_success 'on a terminal restore shows a progress line on stderr' '
	script -q -e -c "$COFFER restore --passphrase-file $TRASH/pass --to $TRASH/tty big1" /dev/null >tty.log 2>&1 &&
	test_grep "[0-9] files, .* written, .*/s, ETA" tty.log &&
	test_grep "verified" tty.log &&
	cmp big/a "tty/${TRASH#/}/big/a"
'

test_expect_success 'restore -q on a terminal shows no progress' '
	script -q -e -c "$COFFER -q restore --passphrase-file $TRASH/pass --to $TRASH/ttyq big1" /dev/null >ttyq.log 2>&1 &&
	cmp big/a "ttyq/${TRASH#/}/big/a" &&
	test_grep -v "files, .* written" ttyq.log
'

test_expect_success 'without --to it is a usage error' '
	test_expect_code 2 restore "$SET" 2>err &&
	test_grep "to DIR is required" err
'

test_expect_success 'an unknown set fails' '
	test_must_fail restore --to "$TRASH/x" no-such-set 2>err &&
	test_grep "no-such-set" err
'

test_expect_success 'the restore is in the audit log' '
	coffer audit log >log &&
	test_grep "restore" log
'

test_done
