#!/bin/sh
test_description='coffer config: get, set, unset, list, the system file, errors'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN
# Never the real /etc/coffer/coffer.conf: a file of the test's own.
COFFER_SYSTEM_CONFIG=$TRASH/system.conf
export COFFER_SYSTEM_CONFIG

test_expect_success 'setup' '
	test_init >/dev/null &&
	test -f "$COFFER_HOME/config"
'

test_expect_success 'get prints a value written by init' '
	coffer config get vault.path >out &&
	echo "$TRASH/vault" >expect &&
	test_cmp expect out
'

test_expect_success 'get of a key not set exits 1 and prints nothing' '
	test_expect_code 1 coffer config get site.name >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test_expect_code 1 coffer config get --all site.name >out 2>err &&
	test ! -s out &&
	test ! -s err
'

test_expect_success 'set then get; names are case-insensitive' '
	coffer config set site.name hq-basement >out 2>err &&
	test ! -s out &&
	coffer config get site.name >out &&
	echo hq-basement >expect &&
	test_cmp expect out &&
	coffer config get SITE.Name >out &&
	test_cmp expect out
'

test_expect_success 'set keeps the comments and other lines of the file' '
	test_grep "^# coffer configuration" "$COFFER_HOME/config" &&
	test_grep "^\[vault\]" "$COFFER_HOME/config" &&
	test_grep "^\[site\]" "$COFFER_HOME/config" &&
	test_grep "^	name = hq-basement$" "$COFFER_HOME/config" &&
	test "$(stat -c %a "$COFFER_HOME/config")" = 600
'

test_expect_success 'set replaces the last value' '
	coffer config set site.name hq-attic &&
	coffer config get site.name >out &&
	echo hq-attic >expect &&
	test_cmp expect out &&
	test "$(grep -c "name = hq" "$COFFER_HOME/config")" = 1
'

test_expect_success 'set --add keeps repeated keys; get --all shows them' '
	coffer config set --add backup.nightly.path /etc &&
	coffer config set --add backup.nightly.path "/srv/my data" &&
	coffer config get backup.nightly.path >out &&
	echo "/srv/my data" >expect &&
	test_cmp expect out &&
	coffer config get --all backup.nightly.path >out &&
	printf "/etc\n/srv/my data\n" >expect &&
	test_cmp expect out &&
	test_grep "^\[backup \"nightly\"\]$" "$COFFER_HOME/config"
'

test_expect_success 'values that need it are quoted and read back' '
	coffer config set user.note "  a # b ; \"c\"  " &&
	coffer config get user.note >out &&
	printf "%s\n" "  a # b ; \"c\"  " >expect &&
	test_cmp expect out
'

test_expect_success 'get --json and get --all --json' '
	coffer --json config get site.name >out &&
	echo "\"hq-attic\"" >expect &&
	test_cmp expect out &&
	coffer --json config get --all backup.nightly.path >out &&
	jq -e ". == [\"/etc\", \"/srv/my data\"]" out
'

test_expect_success 'list prints key=value lines in order' '
	coffer config list >out &&
	test_grep "^vault.path=$TRASH/vault$" out &&
	test_grep "^site.name=hq-attic$" out &&
	grep "^backup.nightly.path=" out >paths &&
	printf "backup.nightly.path=/etc\nbackup.nightly.path=/srv/my data\n" >expect &&
	test_cmp expect paths
'

test_expect_success 'list --json carries key, value, file and line' '
	coffer config list --json >out &&
	jq -e --arg f "$COFFER_HOME/config" \
		"map(select(.key == \"site.name\"))[0] |
		 .value == \"hq-attic\" and .file == \$f and (.line | type) == \"number\"" out &&
	line=$(jq ".[] | select(.key == \"site.name\") | .line" out) &&
	sed -n "${line}p" "$COFFER_HOME/config" >l &&
	test_grep "name = hq-attic" l &&
	coffer --json config list >out2 &&
	test_cmp out out2
'

test_expect_success 'unset removes the last value, --all every value' '
	coffer config set --add backup.nightly.path /home &&
	coffer config unset backup.nightly.path &&
	coffer config get --all backup.nightly.path >out &&
	printf "/etc\n/srv/my data\n" >expect &&
	test_cmp expect out &&
	coffer config unset --all backup.nightly.path &&
	test_expect_code 1 coffer config get backup.nightly.path &&
	test_grep -v "nightly" "$COFFER_HOME/config"
'

test_expect_success 'unset of a key not set exits 1 with a message' '
	cp "$COFFER_HOME/config" before &&
	test_expect_code 1 coffer config unset no.such 2>err &&
	test_grep "'"'"'no.such'"'"' is not set" err &&
	test_cmp before "$COFFER_HOME/config"
'

test_expect_success 'set and unset are audit events' '
	coffer audit log --json >log &&
	jq -e "[.[] | select(.action == \"config.set\")] | length >= 5" log &&
	jq -e "[.[] | select(.action == \"config.unset\")] | length == 2" log &&
	jq -e "[.[] | select(.action == \"config.set\" and .object == \"site.name\")] | length == 2" log
'

test_expect_success 'invalid keys and values are refused, file untouched' '
	cp "$COFFER_HOME/config" before &&
	test_expect_code 1 coffer config set nodot x 2>err &&
	test_grep "invalid key '"'"'nodot'"'"'" err &&
	test_expect_code 1 coffer config set core.1x x 2>err &&
	test_grep "invalid key" err &&
	test_expect_code 1 coffer config set co_re.x x 2>err &&
	test_expect_code 1 coffer config get nodot 2>err &&
	test_grep "invalid key" err &&
	test_expect_code 1 coffer config set core.x "$(printf "a\nb")" 2>err &&
	test_grep "contains a newline" err &&
	test_cmp before "$COFFER_HOME/config"
'

test_expect_success 'keys named like secrets are refused' '
	cp "$COFFER_HOME/config" before &&
	test_expect_code 1 coffer config set smtp.password x 2>err &&
	test_grep "files or descriptors" err &&
	test_expect_code 1 coffer config set target.s3.secret x 2>err &&
	test_expect_code 1 coffer config set relay.smtp-Passphrase x 2>err &&
	test_cmp before "$COFFER_HOME/config" &&
	coffer config set target.s3.secret-file /etc/s3.key &&
	coffer config unset target.s3.secret-file
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 coffer config 2>err &&
	test_grep "usage: coffer config get" err &&
	test_expect_code 2 coffer config frob 2>err &&
	test_expect_code 2 coffer config get 2>err &&
	test_expect_code 2 coffer config get a.b c.d 2>err &&
	test_expect_code 2 coffer config set a.b 2>err &&
	test_expect_code 2 coffer config get --frob a.b 2>err &&
	test_grep "unknown option" err &&
	test_expect_code 2 coffer config set --all a.b c 2>err &&
	test_expect_code 2 coffer config list extra 2>err
'

test_expect_success 'a value may start with a dash' '
	coffer config set user.offset -5 &&
	coffer config get user.offset >out &&
	printf "%s\n" -5 >expect &&
	test_cmp expect out
'

test_expect_success '-h prints the usage on stdout' '
	coffer config -h >out &&
	test_grep "^usage: coffer config get \[--all\] KEY$" out &&
	test_grep "^   or: coffer config list \[--json\]$" out &&
	coffer config get -h >out2 &&
	test_cmp out out2
'

test_expect_success 'the system file is read first; the home file wins' '
	printf "[site]\n\tname = from-system\n[key]\n\tmax-age = 60d\n" \
		>"$TRASH/system.conf" &&
	coffer config get site.name >out &&
	echo hq-attic >expect &&
	test_cmp expect out &&
	coffer config get key.max-age >out &&
	echo 60d >expect &&
	test_cmp expect out &&
	coffer config get --all site.name >out &&
	printf "from-system\nhq-attic\n" >expect &&
	test_cmp expect out &&
	coffer config list >out &&
	head -n 1 out >first &&
	echo site.name=from-system >expect &&
	test_cmp expect first
'

test_expect_success 'set and unset never touch the system file' '
	cp "$TRASH/system.conf" sys.before &&
	test_expect_code 1 coffer config unset key.max-age 2>err &&
	coffer config set key.max-age 10d &&
	coffer config get key.max-age >out &&
	echo 10d >expect &&
	test_cmp expect out &&
	test_cmp sys.before "$TRASH/system.conf"
'

test_expect_success 'an empty COFFER_SYSTEM_CONFIG reads no system file' '
	COFFER_SYSTEM_CONFIG= coffer config list >out &&
	test_grep -v "from-system" out
'

test_expect_success 'a syntax error in the system file names it and its line' '
	printf "[site]\n\tname = x\n\tbroken\n" >"$TRASH/system.conf" &&
	test_expect_code 1 coffer config get site.name >out 2>err &&
	test_grep "config file '"'"'$TRASH/system.conf'"'"', line 3: syntax error" err &&
	: >"$TRASH/system.conf"
'

test_expect_success 'a syntax error in the home config makes status fail' '
	cp "$COFFER_HOME/config" good &&
	printf "[target \"offsite]\n\turl = x\n" >>"$COFFER_HOME/config" &&
	n=$(wc -l <"$COFFER_HOME/config") &&
	n=$((n - 1)) &&
	test_must_fail coffer status >out 2>err &&
	test_grep "config file '"'"'$COFFER_HOME/config'"'"', line $n: bad section header" err &&
	test_expect_code 1 coffer config get site.name 2>err &&
	test_grep "line $n:" err &&
	test_expect_code 1 coffer config set site.name x 2>err &&
	test_grep "line $n:" err &&
	cp good "$COFFER_HOME/config"
'

test_expect_success 'a key outside a section and a bad name are errors' '
	cp "$COFFER_HOME/config" good &&
	{ echo "orphan = 1"; cat good; } >"$COFFER_HOME/config" &&
	test_expect_code 1 coffer config list 2>err &&
	test_grep "line 1: '"'"'orphan'"'"' outside a section" err &&
	{ cat good; echo "[core]"; echo "bad_name = 1"; } >"$COFFER_HOME/config" &&
	n=$(wc -l <"$COFFER_HOME/config") &&
	test_expect_code 1 coffer config list 2>err &&
	test_grep "line $n: bad name" err &&
	cp good "$COFFER_HOME/config"
'

test_done
