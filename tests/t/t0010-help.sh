#!/bin/sh
test_description='help, version, unknown commands, -h matches the man pages'
. "$TEST_SRCDIR/test-lib.sh"

MANDIR=$TEST_SRCDIR/../man

# synopsis PAGE: the SYNOPSIS lines of a man page as plain text.
synopsis() {
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$1" |
	sed '1d;$d' | grep -v '^\.' |
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/--/g' -e 's/\\\\/\\/g'
}

# usage_lines: strip "usage: " and "   or: " from -h output.
usage_lines() {
	sed -n -e 's/^usage: //p' -e 's/^   or: //p'
}

test_expect_success 'coffer --version prints the version' '
	coffer --version >out &&
	test_grep "^coffer [0-9][0-9.]*$" out
'

test_expect_success 'coffer help lists the commands' '
	coffer help >out &&
	for c in init status config audit key keygen encrypt decrypt; do
		test_grep "^   $c " out || exit 1
	done
'

test_expect_success 'no command is a usage error' '
	test_expect_code 2 coffer 2>err &&
	test_grep "usage: coffer" err
'

test_expect_success 'an unknown command exits 2 and suggests' '
	test_expect_code 2 coffer stauts 2>err &&
	test_grep "not a coffer command" err &&
	test_grep "most similar command is" err &&
	test_grep "	status" err
'

test_expect_success 'an unknown global option exits 2' '
	test_expect_code 2 coffer --frobnicate status 2>err &&
	test_grep "unknown option" err
'

test_expect_success 'coffer help CMD shows the manual' '
	MANPAGER=cat PAGER=cat coffer help init >out 2>&1 &&
	test_grep -i "coffer-init" out
'

test_expect_success 'coffer help of an unknown command exits 2' '
	test_expect_code 2 coffer help nosuch 2>err
'

test_expect_success 'coffer -h matches the SYNOPSIS of coffer(1)' '
	synopsis "$MANDIR/coffer.1" >expect &&
	coffer -h | usage_lines >actual &&
	test_cmp expect actual
'

for page in "$MANDIR"/coffer-*.1; do
	cmd=$(basename "$page" .1)
	cmd=${cmd#coffer-}
	test_expect_success "coffer $cmd -h matches the SYNOPSIS of coffer-$cmd(1)" "
		synopsis '$page' >expect.$cmd &&
		test -s expect.$cmd &&
		coffer $cmd -h >out.$cmd &&
		usage_lines <out.$cmd >actual.$cmd &&
		test_cmp expect.$cmd actual.$cmd
	"
done

test_expect_success 'every command has a man page' '
	coffer help | sed -n "s/^   \([a-z]*\) .*/\1/p" >cmds &&
	while read c; do
		case $c in help|version) continue ;; esac
		test -f "$MANDIR/coffer-$c.1" || { echo "no man page for $c"; exit 1; }
	done <cmds
'

test_expect_success 'a write error on stdout fails the command' '
	if test -w /dev/full; then
		test_expect_code 1 coffer help >/dev/full 2>err &&
		test_grep "write failure on standard output" err
	fi
'

test_done
