#!/bin/sh
test_description='coffer status shows home, catalog, vaults, keys, chain'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

test_expect_success 'setup' '
	test_init >/dev/null
'

test_expect_success 'status shows the home, schema, vault and chain' '
	coffer status >out 2>err &&
	test_grep "^home: *$COFFER_HOME" out &&
	test_grep "^catalog: *schema version $(sqlite3 "$COFFER_HOME/catalog.db" "pragma user_version")$" out &&
	test_grep "^vault: *$TRASH/vault (local" out &&
	test_grep "^chain: *intact" out &&
	test_grep "^events: *1" out
'

test_expect_success 'status warns until an escrow was made' '
	coffer status >out 2>err &&
	test_grep "escrow" err
'

test_expect_success 'status --json parses and carries the fields' '
	coffer status --json >out.json &&
	python3 -c "
import json, sys
d = json.load(open(\"out.json\"))
assert d[\"home\"] == sys.argv[1], d
assert d[\"schema_version\"] >= 1
assert d[\"vaults\"][0][\"kind\"] == \"local\"
assert d[\"keys\"][\"identity\"] is True
assert d[\"keys\"][\"escrow\"] is False
assert d[\"chain\"] == \"intact\"
assert d[\"events\"] == 1
assert any(\"escrow\" in w for w in d[\"warnings\"])
" "$COFFER_HOME"
'

test_expect_success 'the global --json works too' '
	coffer --json status >out2.json &&
	python3 -c "import json; json.load(open(\"out2.json\"))"
'

test_expect_success 'status exits 3 when the audit chain is broken' '
	sqlite3 "$COFFER_HOME/catalog.db" "update events set action = \"x\" where seq = 1" &&
	test_expect_code 3 coffer status >out 2>err &&
	test_grep "BROKEN" out
'

test_done
