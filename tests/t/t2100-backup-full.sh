#!/bin/sh
test_description='coffer backup: a full set of every file type, its vault layout, catalog row and audit event'
. "$TEST_SRCDIR/test-lib.sh"

COFFER_TEST_SCRYPT_LOGN=10
export COFFER_TEST_SCRYPT_LOGN

# The archive path of a file under the trash directory.
ap() {
	printf '%s/%s' "${TRASH#/}" "$1"
}

# decrypt_manifest SETDIR: the manifest as JSON lines.
decrypt_manifest() {
	age -d -i id.txt "$1/manifest.jsonl.zst.age" | zstd -q -d
}

test_expect_success 'setup: a tree with every file type' '
	test_init >/dev/null &&
	coffer decrypt --passphrase-file pass -o id.txt "$COFFER_HOME/keys/identity.age" &&
	mkdir -p src/sub/deep src/emptydir &&
	echo hello >src/file &&
	: >src/empty &&
	head -c 700000 /dev/urandom >src/large &&
	head -c 50000 /dev/urandom >src/sub/medium &&
	ln -s file src/link &&
	ln -s /nonexistent/target src/dangling &&
	ln src/file src/file2 &&
	ln src/file src/sub/hardlink &&
	mkfifo src/fifo &&
	printf "a" >"src/new
line" &&
	printf "b" >"$(printf "src/bad\\377name")" &&
	printf "c" >"src/sp ace" &&
	echo deep >src/sub/deep/x
'

if [ "$(id -u)" = 0 ]; then
	test_expect_success 'setup: a device node (root)' '
		mknod src/nulldev c 1 3
	'
	have_dev=1
else
	have_dev=0
fi

have_sock=0
if python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" src/sock 2>/dev/null; then
	have_sock=1
fi

have_xattr=0
if setfattr -n user.coffer -v xval src/file 2>/dev/null; then
	have_xattr=1
fi
have_acl=0
if setfacl -m u:12345:r src/sub/medium 2>/dev/null &&
    setfacl -d -m u:12345:r src/sub/deep 2>/dev/null; then
	have_acl=1
fi

test_expect_success 'a full backup with a small volume size succeeds quietly' '
	coffer backup --level full --volume-size 256k "$TRASH/src" >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	ls vault/sets/*/ >labels &&
	test "$(wc -l <labels)" = 1 &&
	grep -E "^paths-[0-9]{8}T[0-9]{6}Z$" labels
'

test_expect_success 'the set directory holds every object of the format' '
	set -- vault/sets/*/paths-* &&
	echo "$1" >setdir &&
	test -f "$1/set.json" && test -f "$1/set.json.sig" &&
	test -f "$1/SHA256SUMS" && test -f "$1/RECOVERY.txt" &&
	test -f "$1/manifest.jsonl.zst.age" &&
	test -f "$1/vol-0001.tar.zst.age" &&
	test -f "$1/vol-0004.tar.zst.age" &&
	! find vault -name "*.part" | grep . 
'

test_expect_success 'SHA256SUMS passes sha256sum -c in the set directory' '
	(cd "$(cat setdir)" && sha256sum -c --quiet SHA256SUMS) &&
	grep -c "tar.zst.age" "$(cat setdir)/SHA256SUMS" >n &&
	test "$(cat n)" = "$(ls "$(cat setdir)"/vol-*.tar.zst.age | wc -l)"
'

test_expect_success 'set.json is a full backup of job paths, with the audit head' '
	d=$(cat setdir) &&
	grep "\"level\":\"full\"" "$d/set.json" &&
	grep "\"job\":\"paths\"" "$d/set.json" &&
	grep "\"kind\":\"backup\"" "$d/set.json" &&
	grep "\"parents\":\[\]" "$d/set.json" &&
	grep -E "\"audit_head\":\{\"hash\":\"[0-9a-f]{64}\",\"seq\":1\}" "$d/set.json" &&
	grep "^coffer-signature-v1 SHA256:" "$d/set.json.sig"
'

test_expect_success 'the catalog has the set, its objects, and the audit event' '
	label=$(basename "$(cat setdir)") &&
	sqlite3 "$COFFER_HOME/catalog.db" "SELECT level, kind, job FROM sets WHERE label = '\''$label'\''" >row &&
	echo "full|backup|paths" >expect &&
	test_cmp expect row &&
	sqlite3 "$COFFER_HOME/catalog.db" "SELECT verified IS NULL FROM sets WHERE label = '\''$label'\''" >v &&
	echo 1 >expect && test_cmp expect v &&
	n=$(sqlite3 "$COFFER_HOME/catalog.db" "SELECT count(*) FROM volumes v JOIN sets s ON v.set_id = s.id WHERE s.label = '\''$label'\''") &&
	test "$n" = "$(ls "$(cat setdir)" | grep -v "^set.json" | wc -l)" &&
	sqlite3 "$COFFER_HOME/catalog.db" "SELECT action, object FROM events WHERE action = '\''backup'\''" >ev &&
	grep "^backup|.*/$label$" ev &&
	sqlite3 "$COFFER_HOME/catalog.db" "SELECT details FROM events WHERE action = '\''backup'\''" >det &&
	grep "\"level\":\"full\"" det && grep "\"label\":\"$label\"" det &&
	coffer audit verify >/dev/null
'

test_expect_success 'the volumes open with age, zstd and tar and hold the names' '
	d=$(cat setdir) &&
	for v in "$d"/vol-*.tar.zst.age; do
		age -d -i id.txt "$v" | zstd -q -d | tar -tf - || exit 1
	done >names &&
	grep -x "$(ap src)/" names &&
	grep -x "$(ap src/file)" names &&
	grep -x "$(ap src/empty)" names &&
	grep -x "$(ap src/link)" names &&
	grep -x "$(ap src/fifo)" names &&
	grep -x "$(ap src/sub/hardlink)" names &&
	grep -x "$(ap "src/sp ace")" names &&
	grep -F "$(ap "src/new")" names &&
	grep -x "$(ap src/large).coffer-part-0001-of-0003" names &&
	grep -x "$(ap src/large).coffer-part-0003-of-0003" names &&
	! grep -x "$(ap src/large)" names
'

test_expect_success 'a split file is joined back from its parts' '
	d=$(cat setdir) && mkdir x1 &&
	for v in "$d"/vol-*.tar.zst.age; do
		age -d -i id.txt "$v" | zstd -q -d | tar -xf - -C x1 || exit 1
	done &&
	cat x1/$(ap src/large).coffer-part-000[123]-of-0003 >joined &&
	cmp joined src/large &&
	cmp x1/$(ap src/sub/medium) src/sub/medium &&
	test "$(stat -c %i x1/$(ap src/file))" = "$(stat -c %i x1/$(ap src/file2))" &&
	test "$(stat -c %i x1/$(ap src/file))" = "$(stat -c %i x1/$(ap src/sub/hardlink))"
'

test_expect_success 'the manifest records every entry with types and hashes' '
	decrypt_manifest "$(cat setdir)" >m &&
	grep "\"path\":\"$(ap src/file)\"" m | grep "\"type\":\"file\"" >f &&
	grep "\"sha256\":\"$(sha256sum <src/file | cut -c1-64)\"" f &&
	grep "\"path\":\"$(ap src/file2)\"" m | grep "\"type\":\"hardlink\"" | grep "\"target\":\"$(ap src/file)\"" &&
	g1=$(grep "\"path\":\"$(ap src/file)\"" m | sed "s/.*\"link_group\":\([0-9]*\).*/\1/") &&
	g2=$(grep "\"path\":\"$(ap src/file2)\"" m | sed "s/.*\"link_group\":\([0-9]*\).*/\1/") &&
	test "$g1" = "$g2" &&
	grep "\"path\":\"$(ap src/sub/hardlink)\"" m | grep "\"type\":\"hardlink\"" | grep "\"target\":\"$(ap src/file)\"" &&
	grep "\"path\":\"$(ap src/link)\"" m | grep "\"type\":\"symlink\"" | grep "\"target\":\"file\"" &&
	grep "\"path\":\"$(ap src/fifo)\"" m | grep "\"type\":\"fifo\"" &&
	grep "\"path\":\"$(ap src/emptydir)\"" m | grep "\"type\":\"dir\"" &&
	grep "\"path\":\"$(ap src/large)\"" m | grep "\"parts\":\[" &&
	grep "\"path\":\"$(ap src/new)\\\\nline\"" m &&
	grep "\"path_b64\":" m &&
	! grep "\"path\":\"[^\"]*sock\"" m
'

if [ "$have_dev" = 1 ]; then
	test_expect_success 'a device node is recorded with its numbers' '
		decrypt_manifest "$(cat setdir)" >m &&
		grep "\"path\":\"$(ap src/nulldev)\"" m | grep "\"type\":\"chr\"" | grep "\"devmajor\":1" | grep "\"devminor\":3"
	'
fi

if [ "$have_sock" = 1 ]; then
	test_expect_success 'a socket is skipped' '
		d=$(cat setdir) &&
		for v in "$d"/vol-*.tar.zst.age; do
			age -d -i id.txt "$v" | zstd -q -d | tar -tf -
		done >names &&
		! grep sock names
	'
fi

if [ "$have_xattr" = 1 ] && [ "$have_acl" = 1 ]; then
	test_expect_success 'xattrs and ACLs are stored in the pax headers' '
		d=$(cat setdir) && rm -rf x && mkdir x &&
		for v in "$d"/vol-*.tar.zst.age; do
			age -d -i id.txt "$v" | zstd -q -d | tar --xattrs --xattrs-include="*" --acls -xf - -C x || exit 1
		done &&
		getfattr -n user.coffer --only-values x/$(ap src/file) >xv &&
		printf xval >expect && test_cmp expect xv &&
		getfacl -p x/$(ap src/sub/medium) 2>/dev/null | grep "user:12345:r--" &&
		getfacl -p x/$(ap src/sub/deep) 2>/dev/null |
			grep "default:user:12345:r--" &&
		getfattr -d x/$(ap src/sub/medium) >none &&
		test_must_fail grep user. none
	'
else
	test_skip 'xattrs and ACLs' 'setfattr or setfacl not usable here'
fi

test_expect_success 'a second backup gets a new unique label' '
	coffer backup --level full "$TRASH/src/file" &&
	test "$(ls vault/sets/*/ | wc -l)" = 2
'

test_done
