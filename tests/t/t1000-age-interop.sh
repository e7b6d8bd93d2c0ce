#!/bin/sh
test_description='coffer keygen, encrypt and decrypt interoperate with age'
. "$TEST_SRCDIR/test-lib.sh"

if ! command -v age >/dev/null 2>&1 ||
    ! command -v age-keygen >/dev/null 2>&1; then
	test_skip_all 'age and age-keygen not found (apt-get install age)'
fi
if ! command -v script >/dev/null 2>&1; then
	test_skip_all 'script(1) not found: needed to give age a terminal (apt-get install bsdutils)'
fi

# header_len FILE: bytes of the age header (up to the "--- MAC" line).
header_len() {
	n=$(grep -a -n -m1 '^--- ' "$1" | cut -d: -f1)
	head -n "$n" "$1" | wc -c
}

# payload_ok FILE PLAINSIZE: the payload after the header has the size the
# age spec gives: 16 + P + 16 * max(1, ceil(P / 64 KiB)).
payload_ok() {
	total=$(wc -c <"$1")
	hdr=$(header_len "$1")
	chunks=$((($2 + 65535) / 65536))
	[ "$chunks" -ge 1 ] || chunks=1
	want=$((16 + $2 + 16 * chunks))
	if [ $((total - hdr)) != "$want" ]; then
		echo "payload of $1 is $((total - hdr)) bytes, want $want" >&2
		return 1
	fi
}

test_expect_success 'setup: an age-keygen identity and a coffer keygen one' '
	age-keygen -o age-key.txt 2>/dev/null &&
	age-keygen -y age-key.txt >age.pub &&
	coffer keygen -o coffer-key.txt 2>keygen.err &&
	sed -n "s/^Public key: //p" keygen.err >coffer.pub &&
	test -s age.pub && test -s coffer.pub &&
	test_passphrase_file pass
'

test_expect_success 'coffer keygen writes exactly the format of age-keygen' '
	test $(wc -l <coffer-key.txt) = 3 &&
	sed -n 1p coffer-key.txt >line1 &&
	test_grep -E "^# created: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" line1 &&
	sed -n 2p coffer-key.txt >line2 &&
	test_grep -E "^# public key: age1[02-9ac-hj-np-z]{58}$" line2 &&
	sed -n 3p coffer-key.txt >line3 &&
	test_grep -E "^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$" line3 &&
	echo "# public key: $(cat coffer.pub)" >expect &&
	test_cmp expect line2 &&
	age-keygen -y coffer-key.txt >age-says &&
	test_cmp coffer.pub age-says
'

test_expect_success 'coffer keygen -o creates the file with mode 0600' '
	test "$(stat -c %a coffer-key.txt)" = 600 &&
	(umask 0 && coffer keygen -o k-umask0 2>/dev/null) &&
	test "$(stat -c %a k-umask0)" = 600
'

test_expect_success 'coffer keygen -o refuses to overwrite an existing file' '
	cp coffer-key.txt before &&
	test_expect_code 1 coffer keygen -o coffer-key.txt 2>err &&
	test_grep "refusing to overwrite existing file" err &&
	test_cmp before coffer-key.txt
'

test_expect_success 'coffer keygen without -o: identity on stdout, key on stderr' '
	coffer keygen >k-stdout 2>err &&
	test $(wc -l <k-stdout) = 3 &&
	sed -n "s/^Public key: //p" err >pub &&
	age-keygen -y k-stdout >age-says &&
	test_cmp age-says pub
'

test_expect_success 'two keygen runs make different identities' '
	coffer keygen 2>/dev/null | tail -n 1 >k1 &&
	coffer keygen 2>/dev/null | tail -n 1 >k2 &&
	! cmp -s k1 k2
'

test_expect_success 'coffer keygen -y equals age-keygen -y' '
	for k in age-key.txt coffer-key.txt; do
		age-keygen -y $k >expect &&
		coffer keygen -y $k >actual &&
		test_cmp expect actual &&
		coffer keygen -y <$k >actual.stdin &&
		test_cmp expect actual.stdin || exit 1
	done &&
	cat age-key.txt coffer-key.txt >both.txt &&
	age-keygen -y both.txt >expect &&
	test $(wc -l <expect) = 2 &&
	coffer keygen -y both.txt >actual &&
	test_cmp expect actual &&
	coffer keygen -y -o y.out both.txt &&
	test_cmp expect y.out
'

test_expect_success 'coffer keygen -y refuses a file without identities' '
	echo "# nothing here" >empty-keys &&
	test_expect_code 1 coffer keygen -y empty-keys 2>err &&
	test_grep "no identities found" err &&
	echo "AGE-SECRET-KEY-1XYZ" >bad-keys &&
	test_expect_code 1 coffer keygen -y bad-keys 2>err &&
	test_grep "malformed identity in .bad-keys. at line 1" err
'

# Sizes around the 64 KiB chunk boundary, and one large file.  (age -d -o
# creates no file at all for an empty plaintext: redirect its stdout.)
for size in 0 1 65535 65536 65537 196608 20971520; do
	test_expect_success "size $size: age -> coffer and coffer -> age" '
		head -c $size /dev/urandom >plain &&
		age -r "$(cat age.pub)" -o a.age plain &&
		coffer decrypt -i age-key.txt -o a.out a.age &&
		cmp plain a.out &&
		coffer encrypt -r "$(cat coffer.pub)" -o c.age plain &&
		payload_ok c.age $size &&
		age -d -i coffer-key.txt c.age >c.out &&
		cmp plain c.out &&
		sha256sum <plain >expect &&
		coffer decrypt -i age-key.txt <a.age | sha256sum >actual &&
		test_cmp expect actual &&
		rm -f plain a.age a.out c.age c.out
	'
done

test_expect_success 'armored: age -a -> coffer and coffer -a -> age' '
	head -c 100000 /dev/urandom >plain &&
	age -a -r "$(cat coffer.pub)" -o a.pem plain &&
	coffer decrypt -i coffer-key.txt -o a.out a.pem &&
	cmp plain a.out &&
	coffer encrypt -a -r "$(cat age.pub)" -o c.pem plain &&
	head -n 1 c.pem >first &&
	echo "-----BEGIN AGE ENCRYPTED FILE-----" >expect &&
	test_cmp expect first &&
	tail -n 1 c.pem >last &&
	echo "-----END AGE ENCRYPTED FILE-----" >expect &&
	test_cmp expect last &&
	test $(awk "length > 64" c.pem | wc -l) = 0 &&
	age -d -i age-key.txt -o c.out c.pem &&
	cmp plain c.out
'

test_expect_success 'streams: stdin to stdout both ways' '
	head -c 300000 /dev/urandom >plain &&
	cat plain | coffer encrypt -r "$(cat age.pub)" |
		age -d -i age-key.txt >c.out &&
	cmp plain c.out &&
	cat plain | age -r "$(cat coffer.pub)" |
		coffer decrypt -i coffer-key.txt - >a.out &&
	cmp plain a.out
'

test_expect_success 'two recipients (-r twice): each identity decrypts' '
	head -c 70000 /dev/urandom >plain &&
	coffer encrypt -r "$(cat age.pub)" -r "$(cat coffer.pub)" -o c2.age plain &&
	age -d -i age-key.txt -o o1 c2.age && cmp plain o1 &&
	age -d -i coffer-key.txt -o o2 c2.age && cmp plain o2 &&
	coffer decrypt -i age-key.txt -o o3 c2.age && cmp plain o3 &&
	coffer decrypt -i coffer-key.txt -o o4 c2.age && cmp plain o4 &&
	age -r "$(cat age.pub)" -r "$(cat coffer.pub)" -o a2.age plain &&
	coffer decrypt -i age-key.txt -o o5 a2.age && cmp plain o5 &&
	coffer decrypt -i coffer-key.txt -o o6 a2.age && cmp plain o6
'

test_expect_success 'a recipients file (-R) with comments and blank lines' '
	{ echo "# backup recipients"; echo; cat age.pub; cat coffer.pub; } >rcpts &&
	coffer encrypt -R rcpts -o r.age plain &&
	age -d -i age-key.txt -o o1 r.age && cmp plain o1 &&
	age -d -i coffer-key.txt -o o2 r.age && cmp plain o2
'

test_expect_success 'several -i: the matching identity is found' '
	coffer keygen -o other-key.txt 2>/dev/null &&
	age -r "$(cat coffer.pub)" -o a.age plain &&
	coffer decrypt -i other-key.txt -i age-key.txt -i coffer-key.txt \
		-o o a.age &&
	cmp plain o
'

test_expect_success 'coffer encrypt -p --passphrase-file -> age -d (pty)' '
	echo "secret text for a passphrase" >msg &&
	coffer encrypt -p --passphrase-file pass -o p.age msg &&
	test_grep "^-> scrypt " p.age &&
	pty_run "$(cat pass)
" "age -d -o p.out p.age" &&
	cmp msg p.out
'

test_expect_success 'age -p (pty) -> coffer decrypt --passphrase-file / -fd' '
	pty_run "$(cat pass)
$(cat pass)
" "age -p -o ap.age msg" &&
	test -s ap.age &&
	coffer decrypt --passphrase-file pass -o ap.out ap.age &&
	cmp msg ap.out &&
	coffer decrypt --passphrase-fd 3 ap.age 3<pass >ap.out2 &&
	cmp msg ap.out2
'

test_expect_success 'armored passphrase file both ways' '
	coffer encrypt -a -p --passphrase-file pass -o pa.pem msg &&
	pty_run "$(cat pass)
" "age -d -o pa.out pa.pem" &&
	cmp msg pa.out &&
	pty_run "$(cat pass)
$(cat pass)
" "age -a -p -o apa.pem msg" &&
	coffer decrypt --passphrase-file pass -o apa.out apa.pem &&
	cmp msg apa.out
'

test_expect_success 'an identity file encrypted by age -p, used by coffer decrypt -i' '
	pty_run "$(cat pass)
$(cat pass)
" "age -p -o age-key.age age-key.txt" &&
	age -r "$(cat age.pub)" -o a.age plain &&
	coffer decrypt -i age-key.age --passphrase-file pass -o o a.age &&
	cmp plain o
'

test_expect_success 'an identity file encrypted by coffer, used by age -d -i' '
	coffer encrypt -p -a --passphrase-file pass -o coffer-key.age \
		coffer-key.txt &&
	coffer encrypt -r "$(cat coffer.pub)" -o c.age plain &&
	pty_run "$(cat pass)
" "age -d -i coffer-key.age -o o c.age" &&
	cmp plain o
'

test_expect_success 'coffer -p at a terminal: asked twice; decrypt asks once' '
	pty_run "$(cat pass)
$(cat pass)
" "\"$COFFER\" encrypt -p -o tp.age msg" &&
	test_grep "Repeat passphrase" pty.log &&
	pty_run "$(cat pass)
" "age -d -o tp.age.out tp.age" &&
	cmp msg tp.age.out &&
	pty_run "$(cat pass)
" "\"$COFFER\" decrypt -o tp.out tp.age" &&
	cmp msg tp.out &&
	test_must_fail pty_run "$(cat pass)
$(cat pass)x
" "\"$COFFER\" encrypt -p -o tp2.age msg" &&
	test_grep "passphrases do not match" pty.log &&
	test ! -e tp2.age
'

test_expect_success 'coffer encrypt -p refuses a weak passphrase' '
	umask 077 &&
	printf "short\n" >weak &&
	test_expect_code 1 coffer encrypt -p --passphrase-file weak \
		-o w.age msg 2>err &&
	test_grep "passphrase refused" err &&
	test ! -e w.age &&
	printf "abcdefghijklmnop\n" >dict &&
	test_expect_code 1 coffer encrypt -p --passphrase-file dict \
		-o w.age msg 2>err &&
	test_grep "passphrase refused" err &&
	test ! -e w.age
'

test_expect_success 'binary ciphertext is refused on a terminal, armor is not' '
	test_must_fail pty_run "" "\"$COFFER\" encrypt -r $(cat age.pub) msg" &&
	test_grep "refusing to write binary ciphertext to a terminal" pty.log &&
	pty_run "" "\"$COFFER\" encrypt -a -r $(cat age.pub) msg" &&
	test_grep "BEGIN AGE ENCRYPTED FILE" pty.log
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 coffer encrypt msg 2>err &&
	test_grep "no recipients" err &&
	test_expect_code 2 coffer encrypt -p -r "$(cat age.pub)" msg 2>err &&
	test_expect_code 2 coffer encrypt -r age1notarecipient msg 2>err &&
	test_expect_code 2 coffer encrypt -r "$(cat age.pub)" a b 2>err &&
	test_expect_code 2 coffer decrypt --frobnicate 2>err &&
	test_expect_code 2 coffer keygen extra 2>err
'

test_expect_success '-o replaces an existing file only when whole' '
	echo old >target &&
	coffer encrypt -r "$(cat age.pub)" -o target msg &&
	age -d -i age-key.txt target >o &&
	cmp msg o &&
	ls -a >listing &&
	test_grep -v "\\.coffer-" listing
'

test_expect_success 'a killed coffer encrypt -o leaves no file behind' '
	mkfifo fifo
	"$COFFER" encrypt -r "$(cat age.pub)" -o killed.age fifo &
	pid=$!
	exec 3>fifo &&
	printf "some data" >&3 &&
	n=0 &&
	until ls -a | grep -q "^killed\.age\.coffer-"; do
		n=$((n + 1)) && test $n -lt 100 && sleep 0.1 || exit 1
	done &&
	kill -TERM $pid &&
	set +e && wait $pid; rc=$? && set -e &&
	exec 3>&- &&
	test "$rc" = 143 &&
	ls -a >listing &&
	test_grep -v "killed" listing
'

test_done
