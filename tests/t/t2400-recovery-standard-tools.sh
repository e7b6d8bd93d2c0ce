#!/bin/sh
test_description='RECOVERY.txt restores a chain with age, zstd, tar, cat and sha256sum alone'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

for tool in age zstd tar sha256sum script; do
	command -v $tool >/dev/null 2>&1 ||
		test_skip_all "$tool is missing (apt-get install age zstd tar coreutils bsdutils)"
done

# label_of JSONFILE: the label of a `coffer backup --json` summary.
label_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["label"])' "$1"
}

# snapshot DIR: a listing of every path under DIR with its type, size,
# link target and content hash, and which names share an inode.
snapshot() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
		if [ -L "$p" ]; then
			printf '%s symlink %s\n' "$p" "$(readlink "$p")"
		elif [ -d "$p" ]; then
			printf '%s dir\n' "$p"
		else
			printf '%s file %s %s links=%s\n' "$p" "$(stat -c %s "$p")" \
				"$(sha256sum <"$p" | cut -c1-64)" "$(stat -c %h "$p")"
		fi
	done)
}

test_expect_success 'setup: a tree with big, split, hard-linked and small files' '
	test_init >/dev/null &&
	mkdir -p src/dir/sub src/other &&
	head -c 3000000 /dev/urandom >src/big-split.bin &&
	head -c 700000 /dev/urandom >src/dir/a.bin &&
	head -c 700000 /dev/urandom >src/dir/b.bin &&
	head -c 700000 /dev/urandom >src/other/c.bin &&
	echo "hello" >src/dir/sub/hello.txt &&
	echo "stays" >src/stays.txt &&
	echo "goes away" >src/dir/removed.txt &&
	echo "linked" >src/dir/link1 && ln src/dir/link1 src/other/link2 &&
	ln -s dir/sub/hello.txt src/symlink &&
	: >src/empty
'

test_expect_success 'a full set in several volumes, then an incremental' '
	coffer backup --level full --volume-size 1M --json "$TRASH/src" >full.json &&
	full=$(label_of full.json) &&
	echo "$full" >full.label &&
	echo changed >src/dir/sub/hello.txt &&
	rm src/dir/removed.txt &&
	head -c 2500000 /dev/urandom >src/new-split.bin &&
	echo "new" >src/dir/new.txt &&
	ln src/dir/new.txt src/dir/new-link &&
	coffer backup --level incr --volume-size 1M --json "$TRASH/src" >incr.json &&
	incr=$(label_of incr.json) &&
	echo "$incr" >incr.label &&
	test "$(ls vault/sets/*/"$full"/vol-*.tar.zst.age | wc -l)" -ge 3 &&
	test "$(ls vault/sets/*/"$incr"/vol-*.tar.zst.age | wc -l)" -ge 2
'

test_expect_success 'the identity unwraps with age alone (pty)' '
	pty_run "$(cat pass)
" "age -d -o id.txt \"$COFFER_HOME/keys/identity.age\"" &&
	test_grep "^AGE-SECRET-KEY-1" id.txt
'

test_expect_success 'RECOVERY.txt names the commands for the chain' '
	rec=$(ls vault/sets/*/"$(cat incr.label)"/RECOVERY.txt) &&
	test_grep "sha256sum -c SHA256SUMS" "$rec" &&
	test_grep "tar" "$rec" &&
	test_grep "cat " "$rec" &&
	test_grep "$(cat full.label)" "$rec"
'

test_expect_success 'its commands, run literally with standard tools, restore the tree' '
	rec=$(ls vault/sets/*/"$(cat incr.label)"/RECOVERY.txt) &&
	sed -n "s/^    //p" "$rec" >recover.sh &&
	test -s recover.sh &&
	! grep -Eq "(^|[;&|(] *)coffer " recover.sh &&
	mkdir restored &&
	env -i PATH=/usr/bin:/bin HOME="$TRASH" VAULT="$TRASH/vault" \
		ID="$TRASH/id.txt" DEST="$TRASH/restored" sh -e recover.sh \
		>recover.out 2>&1 &&
	snapshot src >expect &&
	snapshot "restored${TRASH}/src" >actual &&
	test_cmp expect actual
'

test_expect_success 'split files were joined and the parts removed' '
	! find restored -name "*.coffer-part-*" | grep -q . &&
	cmp src/big-split.bin "restored${TRASH}/src/big-split.bin" &&
	cmp src/new-split.bin "restored${TRASH}/src/new-split.bin"
'

test_expect_success 'the hard-link group is one inode again' '
	r="restored${TRASH}/src" &&
	test "$(stat -c %i "$r/dir/link1")" = "$(stat -c %i "$r/other/link2")" &&
	test "$(stat -c %i "$r/dir/new.txt")" = "$(stat -c %i "$r/dir/new-link")"
'

test_expect_success 'the deletion in the incremental was applied' '
	test ! -e "restored${TRASH}/src/dir/removed.txt"
'

test_done
