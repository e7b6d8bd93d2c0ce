#!/bin/sh
test_description='coffer backup: kill -9 at any point leaves no visible partial set; reconcile cleans up and adds committed sets'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

# clean: no .part files and no set directory without set.json.sig.
clean() {
	! find vault -name "*.part" | grep . &&
	for d in vault/sets/*/*/; do
		test -d "$d" || continue
		test -f "$d/set.json.sig" || { echo "uncommitted $d"; return 1; }
	done
}

catalog_count() {
	sqlite3 "$COFFER_HOME/catalog.db" "SELECT count(*) FROM sets"
}

test_expect_success 'setup' '
	test_init >/dev/null &&
	mkdir -p src && i=0 &&
	while [ $i -lt 40 ]; do
		head -c 1000000 /dev/urandom >src/f$i; i=$((i + 1))
	done &&
	echo small >src/small
'

for point in after-volumes after-manifest after-setjson; do
	test_expect_success "a crash $point leaves nothing visible; the next run cleans up" '
		before=$(catalog_count) &&
		test_expect_code 137 env COFFER_TEST_CRASH_AT='$point' "$COFFER" backup --label crash-'$point' "$TRASH/src/small" &&
		test "$(catalog_count)" = "$before" &&
		! test -f vault/sets/*/crash-'$point'/set.json.sig &&
		coffer backup --label after-'$point' "$TRASH/src/small" &&
		clean &&
		! test -d vault/sets/*/crash-'$point' &&
		test "$(catalog_count)" = $((before + 1))
	'
done

for point in after-sig in-catalog; do
	test_expect_success "a crash $point (committed): reconcile adds the set to the catalog" '
		before=$(catalog_count) &&
		test_expect_code 137 env COFFER_TEST_CRASH_AT='$point' "$COFFER" backup --label c-'$point' "$TRASH/src/small" &&
		test -f vault/sets/*/c-'$point'/set.json.sig &&
		test "$(catalog_count)" = "$before" &&
		coffer backup --label next-'$point' "$TRASH/src/small" &&
		test "$(sqlite3 "$COFFER_HOME/catalog.db" "SELECT count(*) FROM sets WHERE label = '\''c-'$point''\''")" = 1 &&
		sqlite3 "$COFFER_HOME/catalog.db" "SELECT action, object FROM events WHERE action = '\''set.reconcile'\''" >ev &&
		test_grep "/c-'$point'$" ev &&
		clean
	'
done

test_expect_success 'a crash after the catalog commit (cache not written) makes the next incr a full' '
	cat >>"$COFFER_HOME/config" <<-EOF2
	[backup "job"]
	path = $TRASH/src/small
	EOF2
	coffer backup --json --level full job >sum &&
	coffer backup --json --level incr job >sum &&
	grep "\"level\":\"incr\"" sum &&
	test_expect_code 137 env COFFER_TEST_CRASH_AT=after-catalog "$COFFER" backup --level incr job &&
	coffer backup --json --level incr job >sum &&
	grep "\"level\":\"full\"" sum &&
	clean
'

for delay in 0.2 0.5 1; do
	test_expect_success "kill -9 after $delay s, then a rerun succeeds and leaves it clean" '
		"$COFFER" backup --label "k'$delay'" "$TRASH/src" >/dev/null 2>&1 & pid=$! &&
		sleep '$delay' && kill -9 $pid; wait $pid 2>/dev/null;
		coffer backup --label "again'$delay'" "$TRASH/src/small" &&
		clean &&
		if test -d vault/sets/*/"k'$delay'"; then
			test "$(sqlite3 "$COFFER_HOME/catalog.db" "SELECT count(*) FROM sets WHERE label = '\''k'$delay''\''")" = 1
		fi
	'
done

test_expect_success 'parts of a live run and of another host are left alone' '
	sleep 60 &
	live=$!
	d=$(ls -d vault/sets/*/ | head -1) &&
	mkdir -p vault/sets/otherhost/x &&
	echo junk >vault/sets/otherhost/x/vol-0001.tar.zst.age.otherhost.1-abc.part &&
	host=$(basename "$d") &&
	mkdir -p "$d/live" &&
	echo junk >"$d/live/vol-0001.tar.zst.age.$host.$live-0123456789abcdef.part" &&
	echo junk >"$d/live/vol-0002.tar.zst.age.$host.999999-0123456789abcdef.part" &&
	coffer backup --label y "$TRASH/src/small" &&
	kill $live &&
	test -f vault/sets/otherhost/x/vol-0001.tar.zst.age.otherhost.1-abc.part &&
	test -f "$d/live/vol-0001.tar.zst.age.$host.$live-0123456789abcdef.part" &&
	! test -f "$d/live/vol-0002.tar.zst.age.$host.999999-0123456789abcdef.part"
'

test_done
