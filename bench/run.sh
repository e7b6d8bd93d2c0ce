#!/bin/bash
# run.sh: coffer against restic, borg and tar | zstd | age on one corpus, in
# one run, in RAM.  Not a test: make check does not run it.
#
# usage: bench/run.sh [--size-mb N] [--rss-size-mb M] [--repeat N]
#                     [--tools "coffer restic borg tar"] [--seed S]
#                     [--coffer PATH] [--keep] [--no-install]
#
#   --size-mb N      corpus size in MiB (default 1000)
#   --rss-size-mb M  second, smaller corpus on which only coffer's first
#                    backup runs, to see whether its peak RSS grows with
#                    the corpus (default N/4; 0 skips it)
#   --repeat N       run first backup, no-change rerun, restore and verify
#                    N times each and keep the best time (default 1); the
#                    rerun after the change always runs once
#   --tools LIST     which tools to run (default all four)
#   --seed S         corpus seed (default 1)
#   --coffer PATH    the coffer binary (default $COFFER, else
#                    ../build/src/coffer next to this script)
#   --keep           keep the work directory (default: removed at exit)
#   --no-install     do not apt-get install missing peers
#
# environment: BENCH_DIR (default /dev/shm), COFFER.
#
# Everything (corpus, repositories, caches, restore targets, coffer home) is
# in BENCH_DIR/coffer-bench.PID: RAM, so the disk is not measured.
set -u

here=$(cd "$(dirname "$0")" && pwd)
SIZE_MB=1000
RSS_SIZE_MB=
REPEAT=1
TOOLS="coffer restic borg tar"
SEED=1
COFFER=${COFFER:-$here/../build/src/coffer}
KEEP=0
INSTALL=1
BENCH_DIR=${BENCH_DIR:-/dev/shm}

usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'
	exit "$1"
}

while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) SIZE_MB=$2; shift ;;
	--rss-size-mb) RSS_SIZE_MB=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--tools) TOOLS=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--coffer) COFFER=$2; shift ;;
	--keep) KEEP=1 ;;
	--no-install) INSTALL=0 ;;
	-h|--help) usage 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage 2 ;;
	esac
	shift
done
[ -n "$RSS_SIZE_MB" ] || RSS_SIZE_MB=$((SIZE_MB / 4))
[ "$RSS_SIZE_MB" -ge 10 ] || RSS_SIZE_MB=0
case $COFFER in
*/*) [ -x "$COFFER" ] && COFFER=$(cd "$(dirname "$COFFER")" && pwd)/$(basename "$COFFER") ;;
esac

has_tool() {
	case " $TOOLS " in *" $1 "*) return 0 ;; esac
	return 1
}

drop_tool() {
	TOOLS=$(echo " $TOOLS " | sed "s/ $1 / /; s/^ *//; s/ *$//")
}

say() {
	echo "bench: $*"
}

# --- peers: install what is missing ------------------------------------

need_pkgs=
command -v python3 >/dev/null || { echo "run.sh: python3 is needed" >&2; exit 1; }
[ -x /usr/bin/time ] || need_pkgs="$need_pkgs time"
has_tool restic && ! command -v restic >/dev/null && need_pkgs="$need_pkgs restic"
has_tool borg && ! command -v borg >/dev/null && need_pkgs="$need_pkgs borgbackup"
{ has_tool tar || has_tool coffer; } && ! command -v age >/dev/null &&
	need_pkgs="$need_pkgs age"
has_tool tar && ! command -v zstd >/dev/null && need_pkgs="$need_pkgs zstd"
if [ -n "$need_pkgs" ]; then
	if [ "$INSTALL" = 1 ]; then
		for p in $need_pkgs; do
			if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
				say "package '$p' has no install candidate (apt-cache policy $p)"
			fi
		done
		say "installing:$need_pkgs"
		apt-get install -y $need_pkgs >/dev/null 2>&1 ||
			say "apt-get install -y$need_pkgs failed"
	else
		say "missing packages:$need_pkgs (--no-install given)"
	fi
fi
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time (package time) is needed" >&2; exit 1; }
has_tool restic && ! command -v restic >/dev/null && { say "restic not found: skipped"; drop_tool restic; }
has_tool borg && ! command -v borg >/dev/null && { say "borg not found: skipped"; drop_tool borg; }
has_tool tar && ! { command -v zstd >/dev/null && command -v age >/dev/null; } &&
	{ say "zstd or age not found: tar skipped"; drop_tool tar; }
if has_tool coffer && ! [ -x "$COFFER" ] && ! command -v "$COFFER" >/dev/null; then
	say "coffer binary '$COFFER' not found: coffer skipped (give --coffer PATH or COFFER=)"
	drop_tool coffer
fi

# --- room in RAM -----------------------------------------------------------

# corpus + one restore at a time + four repositories of about 0.7 each +
# the small corpus and its vault + slack.
need_mb=$((SIZE_MB * 2 + SIZE_MB * 7 / 10 * 4 + RSS_SIZE_MB * 2 + 512))
avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
shm_mb=$(df -Pm "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
say "needs about $need_mb MiB in $BENCH_DIR; free RAM $avail_mb MiB, free in $BENCH_DIR $shm_mb MiB"
if [ "$avail_mb" -lt "$need_mb" ] || [ "$shm_mb" -lt "$need_mb" ]; then
	echo "run.sh: not enough free RAM for --size-mb $SIZE_MB (need about $need_mb MiB)" >&2
	exit 1
fi

W=$BENCH_DIR/coffer-bench.$$
mkdir -p "$W/logs" || exit 1
cleanup() {
	cd /
	if [ "$KEEP" = 1 ]; then
		say "kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CORPUS=$W/corpus
RESULTS=$W/results.tsv
: >"$RESULTS"
say "corpus, repositories, caches and restore targets are in RAM: $W ($(df -P "$BENCH_DIR" | awk 'NR == 2 { print $1 }'))"
say "tools: $TOOLS; $(nproc) cores; repeat $REPEAT"

# --- helpers ---------------------------------------------------------------

BYTES=0

corpus_bytes() {
	find "$1" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }'
}

# timed TOOL STEP CMD...: run CMD once under /usr/bin/time; append
# "tool step seconds rss_kib cpu_seconds bytes rc" to RESULTS.  Wall time
# from date +%s.%N around the command.  Output goes to logs/TOOL-STEP.log.
timed() {
	local tool=$1 step=$2 log t0 t1 rc
	shift 2
	log=$W/logs/$tool-$step.log
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M %U %S' -o "$W/time.out" "$@" >>"$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	# shellcheck disable=SC2046 # split "rss user sys" into $1 $2 $3
	set -- $(tail -n 1 "$W/time.out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
		"${1:-0}" "$(awk -v u="${2:-0}" -v s="${3:-0}" 'BEGIN { printf "%.2f", u + s }')" \
		"$BYTES" "$rc" >>"$RESULTS"
	if [ $rc -ne 0 ]; then
		if [ "$tool" = coffer ]; then
			say "coffer: $step unavailable (exit $rc): $(tail -n 1 "$log")"
		else
			say "$tool: $step failed (exit $rc); last lines of $log:"
			tail -n 5 "$log" | sed 's/^/    /'
		fi
	fi
	return $rc
}

# size TOOL STEP PATH: record the stored size (du -sb) of a repository.
size() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$(du -sb "$3" | cut -f1)" >>"$W/sizes.tsv"
}

# check TOOL DIR: compare a restored tree with the corpus (not timed).
check() {
	if [ ! -d "$2" ]; then
		say "$1: restore check: '$2' missing"
		printf '%s\trestore-check\tmissing\n' "$1" >>"$W/checks.tsv"
	elif diff -r --no-dereference "$CORPUS" "$2" >"$W/logs/$1-diff.log" 2>&1; then
		printf '%s\trestore-check\tok\n' "$1" >>"$W/checks.tsv"
	else
		say "$1: restore check: restored tree DIFFERS from the corpus:"
		head -n 5 "$W/logs/$1-diff.log" | sed 's/^/    /'
		printf '%s\trestore-check\tDIFFERS\n' "$1" >>"$W/checks.tsv"
	fi
}

# --- restic ---------------------------------------------------------------

export RESTIC_PASSWORD=coffer-bench-restic-password
export RESTIC_REPOSITORY=$W/repo-restic
export RESTIC_CACHE_DIR=$W/cache-restic

restic_init() {
	rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
	restic init -q >>"$W/logs/restic-init.log" 2>&1
}
restic_backup() {
	timed restic "$1" restic backup -q --host bench "$CORPUS"
}
restic_restore() {
	rm -rf "$W/restore"
	timed restic "$1" restic restore latest -q --target "$W/restore" $2
}
restic_verify() {
	timed restic verify restic check -q --read-data
}

# --- borg -------------------------------------------------------------------

export BORG_PASSPHRASE=coffer-bench-borg-passphrase
export BORG_REPO=$W/repo-borg
export BORG_BASE_DIR=$W/borg-base
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
BORG_N=0

borg_init() {
	rm -rf "$BORG_REPO" "$BORG_BASE_DIR"
	borg init --encryption repokey-blake2 >>"$W/logs/borg-init.log" 2>&1
}
borg_backup() {
	BORG_N=$((BORG_N + 1))
	timed borg "$1" borg create --compression zstd,3 "::a$BORG_N" "$CORPUS"
}
borg_restore() {
	rm -rf "$W/restore"
	mkdir -p "$W/restore"
	timed borg "$1" sh -c 'cd "$1" && exec borg extract "::a$2"' sh \
		"$W/restore" "$BORG_N"
}
borg_verify() {
	timed borg verify borg check --verify-data
}

# --- tar | zstd -T0 -3 | age ----------------------------------------------

TAR_N=0
TAR_REPO=$W/repo-tar

tar_init() {
	rm -rf "$TAR_REPO"
	mkdir -p "$TAR_REPO"
	TAR_N=0
	[ -f "$W/tar-key.txt" ] || age-keygen -o "$W/tar-key.txt" 2>/dev/null
	TAR_RCPT=$(age-keygen -y "$W/tar-key.txt")
}
tar_backup() {
	TAR_N=$((TAR_N + 1))
	timed tar "$1" bash -o pipefail -c \
		'tar -C "$1" --listed-incremental="$2/tar.snar" -cf - . |
		zstd -q -3 -T0 | age -r "$3" >"$2/$4.tar.zst.age"' sh \
		"$CORPUS" "$TAR_REPO" "$TAR_RCPT" "$(printf %04d $TAR_N)"
}
tar_restore() {
	rm -rf "$W/restore"
	mkdir -p "$W/restore"
	timed tar "$1" bash -o pipefail -c \
		'for f in "$2"/*.tar.zst.age; do
			age -d -i "$3" "$f" | zstd -q -d |
			tar -C "$1" --listed-incremental=/dev/null -xf - || exit 1
		done' sh "$W/restore" "$TAR_REPO" "$W/tar-key.txt"
}
tar_verify() {
	timed tar verify bash -o pipefail -c \
		'for f in "$1"/*.tar.zst.age; do
			age -d -i "$2" "$f" | zstd -q -d | tar -tf - >/dev/null ||
			exit 1
		done' sh "$TAR_REPO" "$W/tar-key.txt"
}

# --- coffer -----------------------------------------------------------------

COFFER_PASS=$W/coffer-pass
COFFER_OK=1
COFFER_SET=
COFFER_LEVELS=0
COFFER_JSON=0
COFFER_RESTORED=0

coffer_init() {
	# $1: home, $2: vault
	rm -rf "$1" "$2"
	COFFER_HOME=$1 "$COFFER" init --vault "$2" \
		--passphrase-file "$COFFER_PASS" >>"$W/logs/coffer-init.log" 2>&1
}
coffer_setup() {
	printf 'violet anchor harbour lantern 7731 bench\n' >"$COFFER_PASS"
	chmod 600 "$COFFER_PASS"
	export COFFER_HOME=$W/coffer-home
	if ! coffer_init "$COFFER_HOME" "$W/repo-coffer"; then
		say "coffer: init unavailable: $(tail -n 1 "$W/logs/coffer-init.log")"
		COFFER_OK=0
		return 1
	fi
	"$COFFER" backup -h >"$W/logs/coffer-backup-help.log" 2>&1
	grep -q -- '--level' "$W/logs/coffer-backup-help.log" && COFFER_LEVELS=1
	grep -q -- '--json' "$W/logs/coffer-backup-help.log" && COFFER_JSON=1
	return 0
}
# coffer_label LOG: the label of the newest set, from the backup's --json
# output in LOG, else from `coffer sets --json`, else from `coffer sets`.
coffer_label() {
	local l
	l=$(python3 "$here/report.py" --label "$1" 2>/dev/null)
	if [ -z "$l" ]; then
		"$COFFER" sets --json >"$W/sets.json" 2>/dev/null &&
			l=$(python3 "$here/report.py" --label "$W/sets.json" 2>/dev/null)
	fi
	if [ -z "$l" ]; then
		l=$("$COFFER" sets 2>/dev/null | awk 'NF { last = $1 } END { print last }')
	fi
	echo "$l"
}
coffer_backup() {
	# $1: step, $2: level (full or incr)
	local args=
	[ "$COFFER_OK" = 1 ] || { say "coffer: $1 unavailable"; return 1; }
	[ "$COFFER_LEVELS" = 1 ] && args="--level $2"
	[ "$COFFER_JSON" = 1 ] && args="$args --json"
	: >"$W/logs/coffer-$1.log"
	if timed coffer "$1" "$COFFER" backup $args "$CORPUS"; then
		COFFER_SET=$(coffer_label "$W/logs/coffer-$1.log")
	else
		[ "$1" = backup1 ] && COFFER_OK=0
		return 1
	fi
}
coffer_restore() {
	[ "$COFFER_OK" = 1 ] && [ -n "$COFFER_SET" ] ||
		{ say "coffer: $1 unavailable (no set)"; return 1; }
	rm -rf "$W/restore"
	timed coffer "$1" "$COFFER" restore "$COFFER_SET" --to "$W/restore" \
		--passphrase-file "$COFFER_PASS"
}
coffer_verify() {
	[ "$COFFER_OK" = 1 ] && [ -n "$COFFER_SET" ] ||
		{ say "coffer: verify unavailable (no set)"; return 1; }
	# Every set of the chain, as restic check --read-data reads every
	# pack: verify --deep of one incr checks only the data it holds.
	timed coffer verify "$COFFER" verify --deep --all \
		--passphrase-file "$COFFER_PASS"
}

# restored_dir TOOL: where TOOL's restore puts the corpus.
restored_dir() {
	case $1 in
	tar) echo "$W/restore" ;;
	*) echo "$W/restore$CORPUS" ;;
	esac
}

# --- the run ---------------------------------------------------------------

say "corpus: $SIZE_MB MiB, seed $SEED"
t0=$(date +%s.%N)
python3 "$here/corpus.py" --seed "$SEED" --size-mb "$SIZE_MB" "$CORPUS" \
	>"$W/logs/corpus.log" 2>&1 || { cat "$W/logs/corpus.log"; exit 1; }
say "corpus: $(tail -n 1 "$W/logs/corpus.log") (wall $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
BYTES=$(corpus_bytes "$CORPUS")

for t in $TOOLS; do
	case $t in
	coffer) coffer_setup ;;
	restic) restic_init || say "restic: init failed" ;;
	borg) borg_init || say "borg: init failed" ;;
	tar) tar_init ;;
	esac
done

say "first backup"
for t in $TOOLS; do
	for r in $(seq "$REPEAT"); do
		if [ "$r" -gt 1 ]; then
			case $t in
			coffer) [ "$COFFER_OK" = 1 ] || break
				coffer_init "$COFFER_HOME" "$W/repo-coffer" ;;
			restic) restic_init ;;
			borg) borg_init; BORG_N=0 ;;
			tar) tar_init ;;
			esac
		fi
		case $t in
		coffer) coffer_backup backup1 full ;;
		restic) restic_backup backup1 ;;
		borg) borg_backup backup1 ;;
		tar) tar_backup backup1 ;;
		esac
	done
	case $t in
	coffer) [ "$COFFER_OK" = 1 ] && size coffer stored1 "$W/repo-coffer" ;;
	restic) size restic stored1 "$RESTIC_REPOSITORY" ;;
	borg) size borg stored1 "$BORG_REPO" ;;
	tar) size tar stored1 "$TAR_REPO" ;;
	esac
done

say "no-change rerun"
for t in $TOOLS; do
	for r in $(seq "$REPEAT"); do
		case $t in
		coffer) coffer_backup rerun0 incr ;;
		restic) restic_backup rerun0 ;;
		borg) borg_backup rerun0 ;;
		tar) tar_backup rerun0 ;;
		esac
	done
done

say "rerun after --mutate 1"
python3 "$here/corpus.py" --seed "$SEED" --mutate 1 "$CORPUS" \
	>>"$W/logs/corpus.log" 2>&1 || { cat "$W/logs/corpus.log"; exit 1; }
say "$(tail -n 2 "$W/logs/corpus.log" | head -n 1)"
BYTES=$(corpus_bytes "$CORPUS")
for t in $TOOLS; do
	case $t in
	coffer) coffer_backup rerun1 incr ;;
	restic) restic_backup rerun1 ;;
	borg) borg_backup rerun1 ;;
	tar) tar_backup rerun1 ;;
	esac
	case $t in
	coffer) [ "$COFFER_OK" = 1 ] && size coffer stored "$W/repo-coffer" ;;
	restic) size restic stored "$RESTIC_REPOSITORY" ;;
	borg) size borg stored "$BORG_REPO" ;;
	tar) size tar stored "$TAR_REPO" ;;
	esac
done

say "full restore (of the last backup), checked with diff -r afterwards"
for t in $TOOLS; do
	for r in $(seq "$REPEAT"); do
		case $t in
		coffer) COFFER_RESTORED=0
			coffer_restore restore || break
			COFFER_RESTORED=1 ;;
		restic) restic_restore restore "" ;;
		borg) borg_restore restore ;;
		tar) tar_restore restore ;;
		esac
	done
	case $t in
	coffer) [ "$COFFER_RESTORED" = 1 ] &&
		check coffer "$(restored_dir coffer)" ;;
	*) check "$t" "$(restored_dir "$t")" ;;
	esac
	if [ "$t" = restic ]; then
		for r in $(seq "$REPEAT"); do
			restic_restore restore-verify --verify
		done
		check restic-verify "$(restored_dir restic)"
	fi
	rm -rf "$W/restore"
done

say "full verify"
for t in $TOOLS; do
	for r in $(seq "$REPEAT"); do
		case $t in
		coffer) coffer_verify || break ;;
		restic) restic_verify ;;
		borg) borg_verify ;;
		tar) tar_verify ;;
		esac
	done
done

if has_tool coffer && [ "$COFFER_OK" = 1 ] && [ "$RSS_SIZE_MB" -gt 0 ]; then
	say "coffer peak RSS on a $RSS_SIZE_MB MiB corpus"
	rm -rf "$W/repo-borg" "$W/borg-base" "$W/repo-restic" "$W/cache-restic"
	big_corpus=$CORPUS
	CORPUS=$W/corpus-small
	python3 "$here/corpus.py" --seed "$SEED" --size-mb "$RSS_SIZE_MB" \
		"$CORPUS" >>"$W/logs/corpus.log" 2>&1
	BYTES=$(corpus_bytes "$CORPUS")
	if coffer_init "$W/coffer-home-small" "$W/repo-coffer-small"; then
		COFFER_HOME=$W/coffer-home-small coffer_backup backup1-small full
	fi
	rm -rf "$CORPUS" "$W/repo-coffer-small" "$W/coffer-home-small"
	CORPUS=$big_corpus
fi

echo
python3 "$here/report.py" --results "$RESULTS" --sizes "$W/sizes.tsv" \
	--checks "$W/checks.tsv" --size-mb "$SIZE_MB" --rss-size-mb "$RSS_SIZE_MB"
