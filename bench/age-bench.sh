#!/bin/sh
# age-bench.sh: coffer encrypt/decrypt against age on one 1 GiB file, side
# by side in one run, best of 3.  Not a test: make check does not run it.
#
# usage: bench/age-bench.sh [COFFER]
#   COFFER      the coffer binary (default: $COFFER, else src/coffer of the
#               current directory, else coffer on PATH)
# environment:
#   BENCH_DIR   where the files go (default /dev/shm: RAM, so the disk is
#               not measured)
#   SIZE_MB     file size in MiB (default 1024)
#   RUNS        runs of each command, the best one counts (default 3)
#
# The input is half random bytes (/dev/urandom) and half compressible text
# (a repeated line); age does not compress, so this only keeps the file
# realistic.  Every run writes its output to a file in BENCH_DIR; the
# decrypted outputs are compared with the input once.
set -eu

COFFER=${1:-${COFFER:-}}
if [ -z "$COFFER" ]; then
	if [ -x src/coffer ]; then COFFER=$PWD/src/coffer; else COFFER=coffer; fi
fi
case $COFFER in
*/*) COFFER=$(cd "$(dirname "$COFFER")" && pwd)/$(basename "$COFFER") ;;
esac
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-/dev/shm}

for t in age age-keygen "$COFFER"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "age-bench: '$t' not found (age: apt-get install age)" >&2
		exit 1
	fi
done

dir=$BENCH_DIR/coffer-age-bench.$$
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$dir"

half=$((SIZE_MB / 2))
echo "age-bench: $SIZE_MB MiB in $dir ($half MiB random + $((SIZE_MB - half)) MiB text), best of $RUNS"
head -c $((half * 1048576)) /dev/urandom >in
yes 'coffer age benchmark: a compressible line of text, repeated.' |
	head -c $(((SIZE_MB - half) * 1048576)) >>in
bytes=$(wc -c <in)
age-keygen -o key.txt 2>/dev/null
pub=$(age-keygen -y key.txt)

# now: seconds since the epoch with nanoseconds.
now() {
	date +%s.%N
}

# child_cpu: user + system CPU seconds of all waited-for children so far
# (the second line of the POSIX `times`, e.g. "0m1.230000s 0m0.450000s").
# `times` runs in this shell (not in a $(...) subshell, which has no
# children of its own).
child_cpu() {
	times >times.out
	tail -n 1 times.out | tr 'ms' '  ' |
		awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}

# best NAME OUT CMD...: run CMD RUNS times, removing its output file OUT
# before each run (so no run pays for freeing the last one's); keep the best wall-clock time and
# the best CPU time (user + system) in time.NAME and cpu.NAME.
best() {
	name=$1
	out=$2
	shift 2
	b=
	bc=
	i=0
	while [ $i -lt "$RUNS" ]; do
		rm -f "$out"
		child_cpu >cpu0.out
		t0=$(now)
		"$@"
		t1=$(now)
		child_cpu >cpu1.out
		c0=$(cat cpu0.out)
		c1=$(cat cpu1.out)
		t=$(awk "BEGIN { print $t1 - $t0 }")
		c=$(awk "BEGIN { print $c1 - $c0 }")
		if [ -z "$b" ] || [ "$(awk "BEGIN { print ($t < $b) }")" = 1 ]; then
			b=$t
		fi
		if [ -z "$bc" ] || [ "$(awk "BEGIN { print ($c < $bc) }")" = 1 ]; then
			bc=$c
		fi
		i=$((i + 1))
	done
	echo "$b" >"time.$name"
	echo "$bc" >"cpu.$name"
}

# Interleave the tools so that drift hits both alike.
best coffer-enc coffer.age "$COFFER" encrypt -r "$pub" -o coffer.age in
best age-enc age.age age -r "$pub" -o age.age in
best coffer-dec coffer.out "$COFFER" decrypt -i key.txt -o coffer.out age.age
best age-dec age.out age -d -i key.txt -o age.out age.age
cmp in coffer.out
cmp in age.out
age -d -i key.txt coffer.age | cmp in -
rm -f coffer.out age.out

report() {
	awk -v n="$2" -v c="$(cat "time.coffer-$1")" -v a="$(cat "time.age-$1")" \
	    -v cc="$(cat "cpu.coffer-$1")" -v ac="$(cat "cpu.age-$1")" \
	    -v b="$bytes" 'BEGIN {
		printf "%-8s %7.3f s %7.1f MB/s %7.3f s %7.1f MB/s %6.2f   %6.3f s %6.3f s %6.2f\n",
		    n, c, b / 1e6 / c, a, b / 1e6 / a, c / a, cc, ac, cc / ac
	}'
}

printf '%-8s %-22s %-22s %-6s   %-8s %-8s %s\n' "" "coffer (wall)" \
    "age $(age --version) (wall)" "ratio" "coffer" "age" "ratio"
printf '%-8s %-22s %-22s %-6s   %-17s %s\n' "" "" "" "" "(CPU user+sys)" ""
report enc encrypt
report dec decrypt
echo "(ratio = coffer time / age time: below 1 means coffer is faster;"
echo " the machine is shared: the CPU columns are the steadier figure)"
