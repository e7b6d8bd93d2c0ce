#!/bin/sh
test_description='coffer key: the identity file opens with age, list, recipients, escrow, pins, passphrase'
. "$TEST_SRCDIR/test-lib.sh"

# A test build honours a low scrypt work factor for the identity file.
COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

have_age=yes
if ! command -v age >/dev/null 2>&1 ||
    ! command -v age-keygen >/dev/null 2>&1 ||
    ! command -v script >/dev/null 2>&1; then
	have_age=
fi

# fpr_of PUBFILE: the fingerprint of a coffer-ed25519 line, computed with
# standard tools: SHA256: + unpadded base64 of SHA-256 of the 32 key bytes.
fpr_of() {
	printf 'SHA256:%s\n' "$(cut -d' ' -f2 "$1" | base64 -d |
		openssl dgst -sha256 -binary | base64 | tr -d '=')"
}

K=$COFFER_HOME/keys

# bcoffer ARGS: coffer on the backup-only host's home.
bcoffer() {
	(COFFER_HOME=$TRASH/backup && export COFFER_HOME && coffer "$@")
}

test_expect_success 'setup: coffer init makes the keys' '
	test_init >init.out &&
	test -d "$K" &&
	test "$(stat -c %a "$K")" = 700 &&
	test "$(stat -c %a "$K/identity.age")" = 600 &&
	test "$(stat -c %a "$K/signing.key")" = 600 &&
	test_grep "^-----BEGIN AGE ENCRYPTED FILE-----$" "$K/identity.age" &&
	test_grep -v "AGE-SECRET-KEY" "$K/identity.age" &&
	test_grep -E "^age1[02-9ac-hj-np-z]{58}$" "$K/recipients.txt" &&
	test_grep -E "^coffer-signing-key-v1 [A-Za-z0-9+/]{43}=$" \
		"$K/signing.key" &&
	test_grep -E "^coffer-ed25519 [A-Za-z0-9+/]{43}= [A-Za-z0-9._@:+-]+$" \
		"$K/signing.pub"
'

if test -n "$have_age"; then
test_expect_success 'age -d unwraps keys/identity.age with the passphrase' '
	pty_run "$(cat pass)
" "age -d -o id.txt $K/identity.age" &&
	test_grep -E "^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$" id.txt &&
	age-keygen -y id.txt >id.pub &&
	test_cmp id.pub "$K/identity.pub" &&
	test_grep -F "$(cat id.pub)" "$K/recipients.txt"
'

test_expect_success 'age -d with a wrong passphrase fails' '
	test_must_fail pty_run "not the passphrase at all
" "age -d -o bad.txt $K/identity.age" &&
	test ! -s bad.txt
'

test_expect_success 'the identity file is an age identity file for age -d -i' '
	echo "restore me" >msg &&
	age -R "$K/recipients.txt" -o msg.age msg &&
	pty_run "$(cat pass)
" "age -d -i $K/identity.age -o msg.out msg.age" &&
	test_cmp msg msg.out
'
else
	test_skip 'age -d unwraps keys/identity.age' 'age, age-keygen or script missing'
fi

test_expect_success 'key list shows the identity, recipients and fingerprints' '
	coffer key list >out &&
	fpr=$(fpr_of "$K/signing.pub") &&
	test_grep "^identity: present, recipient $(cat "$K/identity.pub")$" out &&
	test_grep "^escrow: NOT DONE" out &&
	test_grep "^recipients (1):$" out &&
	test_grep "^signing key: $fpr " out &&
	test_grep "^pinned signers (1):$" out &&
	test_grep "^  $fpr .*(this host)$" out &&
	test_grep -v "AGE-SECRET-KEY" out
'

test_expect_success 'key list --json' '
	coffer key list --json >out.json &&
	jq -e ".identity.present == true" out.json &&
	jq -e ".escrow.done == false" out.json &&
	jq -e --arg r "$(cat "$K/identity.pub")" \
		".recipients == [{recipient: \$r, identity: true}]" out.json &&
	jq -e --arg f "$(fpr_of "$K/signing.pub")" \
		".signing_key.fingerprint == \$f and .pinned[0].self" out.json
'

test_expect_success 'key add-recipient adds, audits, and refuses junk' '
	age-keygen -o escrow-key.txt 2>/dev/null &&
	age-keygen -y escrow-key.txt >escrow.pub &&
	coffer key add-recipient "$(cat escrow.pub)" >out &&
	test_grep "added recipient" out &&
	test_grep -x -F "$(cat escrow.pub)" "$K/recipients.txt" &&
	coffer key add-recipient "$(cat escrow.pub)" >out &&
	test_grep "already a recipient" out &&
	test $(grep -c "^age1" "$K/recipients.txt") = 2 &&
	test_expect_code 1 coffer key add-recipient age1notarecipient 2>err &&
	test_grep "not an age recipient" err &&
	test_expect_code 2 coffer key add-recipient 2>err &&
	coffer audit log --action key.add-recipient --json >log &&
	jq -e "length == 1 and .[0].details.recipient == \"$(cat escrow.pub)\"" log &&
	test_grep -F "$(cat escrow.pub)" log
'

test_expect_success 'key export-recipients: a file age -R and init --recipients take' '
	coffer key export-recipients -o exported.txt &&
	test_grep "^# coffer vault recipients" exported.txt &&
	test $(grep -c "^age1" exported.txt) = 2 &&
	coffer key export-recipients >stdout.txt &&
	grep -v "^# coffer vault recipients of host" exported.txt >a.txt &&
	grep -v "^# coffer vault recipients of host" stdout.txt >b.txt &&
	test_cmp a.txt b.txt &&
	echo "for the escrow holder" >m2 &&
	age -R exported.txt -o m2.age m2 &&
	age -d -i escrow-key.txt -o m2.out m2.age &&
	test_cmp m2 m2.out
'

test_expect_success 'a backup-only host from the exported recipients' '
	bcoffer init --recipients exported.txt --vault "$TRASH/vault2" >out &&
	test ! -e "$TRASH/backup/keys/identity.age" &&
	test -s "$TRASH/backup/keys/signing.key" &&
	bcoffer key list >out &&
	test_grep "^identity: none (backup-only host)$" out &&
	test_grep "^recipients (2):$" out &&
	test_expect_code 1 bcoffer key escrow --passphrase-file pass 2>err &&
	test_grep "nothing to escrow" err
'

test_expect_success 'key escrow refuses a wrong key typed back' '
	grep "^AGE-SECRET-KEY" escrow-key.txt >wrong-check &&
	test_expect_code 1 coffer key escrow --passphrase-file pass \
		--check-file wrong-check >sheet 2>err &&
	test_grep "not this vault.s identity" err &&
	test_grep "escrow not recorded" err &&
	coffer key list >out &&
	test_grep "^escrow: NOT DONE" out
'

test_expect_success 'key escrow refuses a wrong passphrase' '
	echo "a wrong passphrase of some length" >wrong-pass &&
	test_expect_code 1 coffer key escrow --passphrase-file wrong-pass \
		--check-file wrong-check >sheet 2>err &&
	test_grep "wrong passphrase" err &&
	test_grep -v "AGE-SECRET-KEY" sheet
'

if test -n "$have_age"; then
test_expect_success 'key escrow prints the paper copy and records the test' '
	grep "^AGE-SECRET-KEY" id.txt >check &&
	coffer key escrow --passphrase-file pass --check-file check \
		>sheet 2>err &&
	test_grep -x -F "    $(cat check)" sheet &&
	test_grep "^recipient:  $(cat id.pub)$" sheet &&
	test_grep "^made: " sheet &&
	test_grep "sealed" sheet &&
	# The key line (written from secure memory, not through stdio)
	# stays in place: after the heading, before the advice, once.
	head_at=$(grep -n "^identity (the restore key):" sheet | cut -d: -f1) &&
	key_at=$(grep -n -x -F "    $(cat check)" sheet | cut -d: -f1) &&
	tail_at=$(grep -n "^Whoever holds this sheet" sheet | cut -d: -f1) &&
	test "$head_at" -lt "$key_at" &&
	test "$key_at" -lt "$tail_at" &&
	test "$(grep -c "AGE-SECRET-KEY-1" sheet)" = 2 &&
	test_grep "escrow recorded" err &&
	coffer key list >out &&
	test_grep "^escrow: done, test-decrypted " out &&
	coffer key list --json | jq -e ".escrow.done == true" &&
	coffer audit log --action key.escrow --json >log &&
	jq -e "length == 1 and .[0].object == \"$(cat id.pub)\"" log
'

test_expect_success 'key escrow accepts the key typed in lower case' '
	tr "A-Z" "a-z" <check >check-lower &&
	coffer key escrow --passphrase-file pass --check-file check-lower \
		>/dev/null 2>err &&
	test_grep "escrow recorded" err
'

test_expect_success 'key escrow on a terminal: passphrase and key typed in' '
	pty_run "$(cat pass)
$(cat check)
" "\"$COFFER\" key escrow" &&
	test_grep "Passphrase for the coffer identity:" pty.log &&
	test_grep "Type the AGE-SECRET-KEY-1 line back" pty.log &&
	test_grep "escrow recorded" pty.log &&
	test_expect_code 1 pty_run "$(cat pass)
$(cat wrong-check)
" "\"$COFFER\" key escrow" &&
	test_grep "escrow not recorded" pty.log
'
fi

test_expect_success 'key pin needs the fingerprint confirmed' '
	other=$TRASH/backup/keys/signing.pub &&
	fpr=$(fpr_of "$other") &&
	test_expect_code 1 coffer key pin "$other" >out 2>err </dev/null &&
	test_grep "signer .* fingerprint $fpr" out &&
	test_grep "confirm the fingerprint with --fingerprint $fpr" err &&
	test_expect_code 1 coffer key pin --fingerprint \
		"$(fpr_of "$K/signing.pub")" "$other" 2>err &&
	test_grep "fingerprint mismatch" err &&
	coffer key list >out &&
	test_grep "^pinned signers (1):$" out
'

test_expect_success 'key pin from a file and as a key line; unpin' '
	other=$TRASH/backup/keys/signing.pub &&
	fpr=$(fpr_of "$other") &&
	coffer key pin --fingerprint "$fpr" "$other" >out &&
	test_grep "^pinned $fpr" out &&
	coffer key list >out &&
	test_grep "^pinned signers (2):$" out &&
	test_grep "^  $fpr " out &&
	coffer key pin --fingerprint "$fpr" "$(cat "$other")" >out &&
	test_grep "already pinned" out &&
	coffer key unpin "$fpr" >out &&
	test_grep "^unpinned $fpr$" out &&
	coffer key list >out &&
	test_grep "^pinned signers (1):$" out &&
	test_expect_code 1 coffer key unpin "$fpr" 2>err &&
	test_grep "is not pinned" err &&
	test_expect_code 1 coffer key unpin "$(fpr_of "$K/signing.pub")" \
		2>err &&
	test_grep "own signing key" err &&
	coffer audit log --action key.pin --json >log &&
	jq -e "length == 1 and .[0].object == \"$fpr\"" log &&
	coffer audit log --action key.unpin --json >log &&
	jq -e "length == 1" log &&
	test_expect_code 1 coffer key pin --fingerprint x "coffer-ed25519 AAAA h" 2>err &&
	test_grep "malformed signer public key" err
'

test_expect_success 'key passphrase: weak refused, then changed' '
	echo "short one" >weak &&
	test_expect_code 1 coffer key passphrase --passphrase-file pass \
		--new-passphrase-file weak 2>err &&
	test_grep "passphrase too short: at least 12 characters" err &&
	echo "administration" >weak &&
	test_expect_code 1 coffer key passphrase --passphrase-file pass \
		--new-passphrase-file weak 2>err &&
	test_grep "dictionary word" err &&
	echo "correct horse battery staple" >pass2 &&
	chmod 600 pass2 &&
	coffer key passphrase --passphrase-file pass \
		--new-passphrase-file pass2 &&
	test_expect_code 1 coffer key escrow --passphrase-file pass \
		--check-file wrong-check >/dev/null 2>&1 &&
	coffer key list --json | jq -e ".passphrase_set != null"
'

if test -n "$have_age"; then
test_expect_success 'age -d opens the identity with the new passphrase' '
	pty_run "correct horse battery staple
" "age -d -o id2.txt $K/identity.age" &&
	grep "^AGE-SECRET-KEY" id2.txt >check2 &&
	test_cmp check check2
'
fi

test_expect_success 'key with no or an unknown verb is a usage error' '
	test_expect_code 2 coffer key 2>err &&
	test_grep "usage: coffer key list" err &&
	test_expect_code 2 coffer key frobnicate 2>err &&
	test_grep "unknown key command" err &&
	coffer key -h >out &&
	test_grep "^usage: coffer key list \[--json\]$" out
'

test_expect_success 'key add-recipient writes a new coffer-vault version' '
	coffer keygen -o vaultrecip.key 2>/dev/null &&
	R=$(coffer keygen -y vaultrecip.key) &&
	coffer key add-recipient "$R" >out &&
	v=$(ls vault/coffer-vault.* | tail -n 1) &&
	test "$v" != vault/coffer-vault.0001 &&
	test_grep "^recipient $R\$" "$v" &&
	test_grep -v "^recipient $R\$" vault/coffer-vault.0001 &&
	id1=$(sed -n "s/^id //p" vault/coffer-vault.0001) &&
	test_grep "^id $id1\$" "$v"
'

test_done
