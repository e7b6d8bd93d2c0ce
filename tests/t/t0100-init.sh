#!/bin/sh
test_description='coffer init makes a home, keys, catalog and vault once'
. "$TEST_SRCDIR/test-lib.sh"

# Keep scrypt cheap in tests (honoured only by test-clock builds).
COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

test_expect_success 'init makes the home, config, catalog, keys and vault' '
	test_init >out &&
	test_grep "initialised coffer home" out &&
	test -d "$COFFER_HOME" &&
	test "$(stat -c %a "$COFFER_HOME")" = 700 &&
	test -f "$COFFER_HOME/config" &&
	test -f "$COFFER_HOME/catalog.db" &&
	test -f "$COFFER_HOME/keys/identity.age" &&
	test -f "$COFFER_HOME/keys/signing.key" &&
	test -f vault/coffer-vault.0001
'

test_expect_success 'the vault file names format, id, recipient and signer' '
	test_grep "^format 1$" vault/coffer-vault.0001 &&
	test_grep -E "^id [0-9a-f]{32}$" vault/coffer-vault.0001 &&
	test_grep "^recipient age1" vault/coffer-vault.0001 &&
	test_grep "^signer coffer-ed25519 " vault/coffer-vault.0001
'

test_expect_success 'the config names the vault' '
	coffer config get vault.path >out &&
	echo "$TRASH/vault" >expect &&
	test_cmp expect out
'

test_expect_success 'the init event starts the audit chain' '
	coffer audit log --json >log &&
	test_grep "\"action\": *\"init\"" log
'

test_expect_success 'init again refuses and changes nothing' '
	find "$COFFER_HOME" vault -exec stat -c "%n %s %Y" {} + | sort >before &&
	test_must_fail coffer init --vault "$TRASH/vault2" --passphrase-file pass 2>err &&
	test_grep "already initialised" err &&
	find "$COFFER_HOME" vault -exec stat -c "%n %s %Y" {} + | sort >after &&
	test_cmp before after &&
	test ! -e vault2
'

test_expect_success 'init into an existing vault refuses' '
	test_must_fail coffer -C other init --vault "$TRASH/vault" --passphrase-file pass 2>err &&
	test_grep "already a coffer vault" err &&
	test ! -e other/config
'

test_expect_success 'a weak passphrase is refused and nothing is made' '
	echo "short" >weak &&
	test_must_fail coffer -C weakhome init --vault "$TRASH/wv" --passphrase-file weak 2>err &&
	test_grep -i "passphrase" err &&
	test ! -e weakhome && test ! -e wv
'

test_expect_success 'a dictionary passphrase is refused' '
	echo "administrator1" >dict &&
	test_must_fail coffer -C dicthome init --vault "$TRASH/dv" --passphrase-file dict 2>err &&
	test_grep "dictionary word" err &&
	test ! -e dicthome/config
'

test_expect_success 'a passphrase from a descriptor works' '
	coffer -C fdhome init --vault "$TRASH/fdv" --passphrase-fd 3 3<pass >out &&
	test -f fdhome/keys/identity.age
'

test_expect_success 'a non-empty vault directory is refused' '
	mkdir full && echo x >full/file &&
	test_must_fail coffer -C fullhome init --vault "$TRASH/full" --passphrase-file pass 2>err &&
	test_grep "not empty" err &&
	test ! -e fullhome/config
'

test_expect_success 'a backup-only host gets recipients and no identity' '
	coffer key export-recipients >recips &&
	coffer -C cronhome init --recipients recips --vault "$TRASH/cronvault" >out &&
	test_grep "backup-only host" out &&
	test ! -e cronhome/keys/identity.age &&
	test -f cronhome/keys/signing.key &&
	test_grep "^recipient age1" cronvault/coffer-vault.0001
'

test_expect_success 'a home owned by someone else is refused' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -p foreign && cp -r "$COFFER_HOME"/. foreign/ &&
		chown -R 65534 foreign &&
		test_must_fail coffer -C foreign status 2>err &&
		test_grep "owned by uid 65534" err
	fi
'

# Root reads anything: as root, the home is given to nobody and coffer
# runs as nobody (setpriv, util-linux), when nobody can reach this
# directory.
if [ "$(id -u)" = 0 ] && ! setpriv --reuid=nobody --regid=nogroup \
	--clear-groups test -x "$PWD" 2>/dev/null; then
	test_skip 'an unreadable home is refused' "nobody cannot reach $PWD"
else
	test_expect_success 'an unreadable home is refused' '
		cp -r "$COFFER_HOME" locked && chmod 000 locked &&
		if [ "$(id -u)" != 0 ]; then
			test_must_fail coffer -C locked status 2>err
		else
			chown -R nobody locked &&
			test_must_fail setpriv --reuid=nobody \
				--regid=nogroup --clear-groups "$COFFER" \
				-C "$PWD/locked" status 2>err
		fi &&
		test_grep "cannot use coffer home .*locked.*Permission denied" err &&
		chmod 700 locked
	'
fi

test_expect_success 'a home writable by others is refused' '
	cp -r "$COFFER_HOME" open && chmod 777 open &&
	test_must_fail coffer -C open status 2>err &&
	test_grep "writable by others" err
'

test_expect_success 'a missing home says to run init' '
	test_must_fail coffer -C nowhere status 2>err &&
	test_grep "coffer init" err
'

test_expect_success 'a catalog that is not a database is refused' '
	cp -r "$COFFER_HOME" notdb && chmod 700 notdb &&
	rm -f notdb/catalog.db-wal notdb/catalog.db-shm &&
	echo "this is not a database, just some text padding it out" >notdb/catalog.db &&
	test_must_fail coffer -C notdb status 2>err &&
	test_grep "catalog.db" err
'

test_expect_success 'a catalog from a newer schema is refused' '
	cp -r "$COFFER_HOME" newer && chmod 700 newer &&
	sqlite3 newer/catalog.db "pragma user_version = 99" &&
	test_must_fail coffer -C newer status 2>err &&
	test_grep "newer" err
'

test_expect_success 'a config syntax error names file and line' '
	cp -r "$COFFER_HOME" badconf && chmod 700 badconf &&
	printf "[core]\n\thost = x\n[broken\n" >>badconf/config &&
	test_must_fail coffer -C badconf status 2>err &&
	test_grep "badconf/config" err &&
	test_grep "line" err
'

test_done
