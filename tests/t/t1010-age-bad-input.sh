#!/bin/sh
test_description='coffer decrypt refuses damaged or wrong input clearly'
. "$TEST_SRCDIR/test-lib.sh"

# flip_bit FILE OFFSET: flip the lowest bit of the byte at OFFSET.
flip_bit() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 1)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# replace_char FILE OFFSET: change the base64 character at OFFSET into
# another valid one ('A' becomes 'B', anything else 'A').
replace_char() {
	c=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null)
	if [ "$c" = A ]; then c=B; else c=A; fi
	printf '%s' "$c" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# header_len FILE: bytes of the age header (up to the "--- MAC" line).
header_len() {
	n=$(grep -a -n -m1 '^--- ' "$1" | cut -d: -f1)
	head -n "$n" "$1" | wc -c
}

# must_refuse FILE PATTERN [ARGS]: decrypting FILE with key.txt fails with
# exit 1 and a message matching PATTERN; -o leaves no file (and no
# temporary file) behind, and an existing OUTPUT is left untouched.
must_refuse() {
	f=$1
	pat=$2
	shift 2
	rm -f out
	test_expect_code 1 coffer decrypt -i key.txt "$@" -o out "$f" \
		2>err || return 1
	test_grep "cannot decrypt '$f'" err || return 1
	test_grep -E "$pat" err || return 1
	if test -e out; then
		echo "output file left behind" >&2
		return 1
	fi
	echo keep >out
	test_expect_code 1 coffer decrypt -i key.txt "$@" -o out "$f" \
		2>/dev/null || return 1
	echo keep >expect.keep
	test_cmp expect.keep out || return 1
	rm -f out
	ls -a >listing
	test_grep -v "\.coffer-" listing
}

test_expect_success 'setup: a key and a four-chunk file' '
	coffer keygen -o key.txt 2>/dev/null &&
	coffer keygen -y key.txt >key.pub &&
	coffer keygen -o other.txt 2>/dev/null &&
	coffer keygen -y other.txt >other.pub &&
	head -c 200000 /dev/urandom >plain &&
	coffer encrypt -r "$(cat key.pub)" -o good.age plain &&
	coffer decrypt -i key.txt -o good.out good.age &&
	cmp plain good.out &&
	header_len good.age >hlen &&
	test "$(cat hlen)" -gt 0
'

test_expect_success 'a truncated payload is refused' '
	size=$(wc -c <good.age) &&
	head -c $((size - 100)) good.age >trunc.age &&
	must_refuse trunc.age "damaged, truncated" &&
	head -c $(($(cat hlen) + 16 + 65536 + 16)) good.age >trunc1.age &&
	must_refuse trunc1.age "damaged, truncated"
'

test_expect_success 'a file cut inside the header is refused' '
	head -c 40 good.age >trunchdr.age &&
	must_refuse trunchdr.age "header"
'

test_expect_success 'a flipped bit in the header version line is refused' '
	cp good.age hdr.age &&
	flip_bit hdr.age 5 &&
	must_refuse hdr.age "header"
'

test_expect_success 'a flipped bit in the stanza is refused (no match)' '
	cp good.age stz.age &&
	replace_char stz.age 40 &&
	must_refuse stz.age "no identity matches|header"
'

test_expect_success 'a header changed outside our stanza fails its MAC' '
	coffer encrypt -r "$(cat key.pub)" -r "$(cat other.pub)" -o two.age plain &&
	second=$(grep -a -n "^-> X25519 " two.age | sed -n 2p | cut -d: -f1) &&
	test -n "$second" &&
	off=$(head -n $((second - 1)) two.age | wc -c) &&
	cp two.age mac1.age &&
	replace_char mac1.age $((off + 25)) &&
	must_refuse mac1.age "header MAC mismatch"
'

test_expect_success 'a flipped bit in the header MAC is refused' '
	cp good.age mac.age &&
	replace_char mac.age $(($(cat hlen) - 10)) &&
	must_refuse mac.age "header MAC mismatch"
'

test_expect_success 'a flipped bit in the payload nonce is refused' '
	cp good.age nonce.age &&
	flip_bit nonce.age $(($(cat hlen) + 3)) &&
	must_refuse nonce.age "damaged"
'

test_expect_success 'a flipped bit in the first chunk: refused, stdout empty' '
	cp good.age c1.age &&
	flip_bit c1.age $(($(cat hlen) + 16 + 1000)) &&
	must_refuse c1.age "damaged" &&
	test_expect_code 1 coffer decrypt -i key.txt c1.age >stdout 2>err &&
	test_grep "damaged" err &&
	test ! -s stdout
'

test_expect_success 'a flipped bit in the third chunk: stdout has only verified chunks' '
	cp good.age c3.age &&
	flip_bit c3.age $(($(cat hlen) + 16 + 2 * 65552 + 7)) &&
	must_refuse c3.age "damaged" &&
	test_expect_code 1 coffer decrypt -i key.txt c3.age >stdout 2>err &&
	n=$(wc -c <stdout) &&
	test "$n" -le 131072 &&
	cmp -n "$n" plain stdout
'

test_expect_success 'a flipped bit in the last chunk tag is refused' '
	cp good.age last.age &&
	flip_bit last.age $(($(wc -c <good.age) - 1)) &&
	must_refuse last.age "damaged"
'

test_expect_success 'data appended after the final chunk is refused' '
	{ cat good.age; printf x; } >ext.age &&
	must_refuse ext.age "extra data|damaged" &&
	{ cat good.age; head -c 65552 /dev/urandom; } >ext2.age &&
	must_refuse ext2.age "extra data|damaged"
'

test_expect_success 'the wrong identity is refused' '
	coffer encrypt -r "$(cat other.pub)" -o wrong.age plain &&
	must_refuse wrong.age "no identity matches"
'

test_expect_success 'no identity for a file encrypted to recipients' '
	test_expect_code 1 coffer decrypt -o out good.age 2>err &&
	test_grep "use -i" err &&
	test ! -e out
'

test_expect_success 'empty input is refused' '
	: >empty.age &&
	must_refuse empty.age "empty" &&
	test_expect_code 1 coffer decrypt -i key.txt </dev/null >stdout 2>err &&
	test_grep "empty" err &&
	test ! -s stdout
'

test_expect_success 'not an age file is refused' '
	head -c 5000 /dev/urandom >random.age &&
	must_refuse random.age "header" &&
	printf "hello world\n" >text.age &&
	must_refuse text.age "header"
'

test_expect_success 'an absurdly long header line is refused' '
	{ printf "age-encryption.org/v1\n-> X25519 "; head -c 4194304 /dev/zero | tr "\0" A; printf "\n"; } >long.age &&
	must_refuse long.age "header" &&
	{ head -c 8388608 /dev/zero | tr "\0" a; } >long2.age &&
	must_refuse long2.age "header"
'

test_expect_success 'malformed armor is refused' '
	coffer encrypt -a -r "$(cat key.pub)" -o good.pem plain &&
	coffer decrypt -i key.txt -o o good.pem && cmp plain o && rm -f o &&
	sed "3s/^./!/" good.pem >bad.pem &&
	must_refuse bad.pem "armor" &&
	{ cat good.pem; echo trailing; } >trail.pem &&
	must_refuse trail.pem "armor" &&
	head -n 5 good.pem >cut.pem &&
	must_refuse cut.pem "armor|header|damaged"
'

test_expect_success 'a passphrase file: wrong passphrase, or -i given' '
	test_passphrase_file pass &&
	test_passphrase_file wrongpass &&
	coffer encrypt -p --passphrase-file pass -o p.age plain &&
	test_expect_code 1 coffer decrypt --passphrase-file wrongpass \
		-o out p.age 2>err &&
	test_grep "wrong passphrase" err &&
	test ! -e out &&
	test_expect_code 1 coffer decrypt -i key.txt -o out p.age 2>err &&
	test_grep "passphrase-encrypted" err &&
	test ! -e out
'

test_expect_success 'a missing identity file or input is an error' '
	test_expect_code 1 coffer decrypt -i nosuch.txt good.age 2>err &&
	test_grep "nosuch.txt" err &&
	test_expect_code 1 coffer decrypt -i key.txt nosuch.age 2>err &&
	test_grep "cannot open .nosuch.age." err
'

# scrypt_no_args FILE: an age file whose only stanza is "-> scrypt" with
# no arguments (it once read past the argument array).
scrypt_no_args() {
	{
		printf 'age-encryption.org/v1\n-> scrypt\n\n--- '
		printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'
		head -c 64 /dev/zero
	} >"$1"
}

# (coffer decrypt FILE takes it for an X25519 file; an encrypted identity
# file given with -i is opened with the passphrase whatever its stanza.)
test_expect_success 'a scrypt stanza without arguments is a header error' '
	scrypt_no_args noargs.age &&
	test_expect_code 1 coffer decrypt -i noargs.age \
		--passphrase-file pass -o out good.age 2>err &&
	test_grep "scrypt stanza with wrong arguments" err &&
	test_grep "cannot decrypt identity file .noargs.age.: malformed" err &&
	test ! -e out
'

test_expect_success 'an identity file as recipients: the key is never printed' '
	test_expect_code 1 coffer encrypt -R key.txt -o x.age plain 2>err &&
	test_grep "key.txt., line 3 is a secret key" err &&
	test_grep -v "AGE-SECRET-KEY" err &&
	test_grep -v "$(grep ^AGE-SECRET key.txt | cut -c 17-40)" err &&
	test ! -e x.age &&
	tr A-Z a-z <key.txt >lower.txt &&
	test_expect_code 1 coffer encrypt -R lower.txt -o x.age plain 2>err &&
	test_grep "line 3 is a secret key" err &&
	test_grep -v -i "AGE-SECRET-KEY" err &&
	test_expect_code 2 coffer encrypt -r "$(grep ^AGE-SECRET key.txt)" \
		-o x.age plain 2>err &&
	test_grep "secret key" err &&
	test_grep -v "AGE-SECRET-KEY" err &&
	{ cat key.pub; echo age1junkjunkjunk; } >bad-rcpt.txt &&
	test_expect_code 1 coffer encrypt -R bad-rcpt.txt -o x.age plain \
		2>err &&
	test_grep "malformed recipient in .bad-rcpt.txt., line 2" err &&
	test_grep -v "junkjunk" err &&
	test ! -e x.age
'

test_expect_success 'coffer init --recipients with an identity file' '
	test_expect_code 1 coffer init --vault "$TRASH/vault" \
		--recipients key.txt 2>err &&
	test_grep "line 3 is a secret key" err &&
	test_grep -v "AGE-SECRET-KEY" err
'

test_expect_success 'an identity file others can read is warned about' '
	chmod 600 key.txt &&
	coffer decrypt -i key.txt -o out good.age 2>err &&
	test_grep -v "accessible" err &&
	chmod 640 key.txt &&
	coffer decrypt -i key.txt -o out good.age 2>err &&
	test_grep "identity file .key.txt. is accessible by group or others" \
		err &&
	cmp plain out &&
	chmod 600 key.txt
'

test_done
