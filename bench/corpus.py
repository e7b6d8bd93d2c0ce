#!/usr/bin/env python3
"""corpus.py: a deterministic benchmark corpus for coffer and its peers.

usage: corpus.py [--seed S] [--size-mb N] [--quiet] DIR
       corpus.py [--seed S] --mutate PCT [--quiet] DIR

The first form writes about N MiB (default 1000) of files into DIR, which
must not exist or be empty.  The same seed and size give the same bytes,
names, modes and mtimes on every run and every machine (Python 3.9 or later;
standard library only).  At --size-mb 1000:

  - about 20,000 small files (0-16 KiB), 70% text-like (zstd -3 keeps about
    28%), 30% random, in a nested tree of about 1,100 directories, a few
    of them with odd names (spaces, UTF-8, a non-UTF-8 byte, a long name,
    a leading dash);
  - about 120 medium files (256 KiB - 8 MiB), text logs and random media;
  - two large files of 20% of N each: one text-like, one random;
  - about 1,000 duplicates (the same content at other paths), 20 hard links,
    200 symlinks (to files, to directories, dangling, one absolute),
    1% empty files, 50 empty directories, a few modes (0600, 0700, 0755).

Counts scale with N.  Text is words drawn from a Zipf-weighted vocabulary
(with line breaks), random data is SHAKE-128 output keyed by the seed and
the path, so no two files share content by accident and content-defined
chunking finds only the planted duplicates.

The second form changes about PCT% of the regular files in an existing
corpus, deterministically for a given tree and seed: half of them are
modified (a region rewritten and, for large ones, data appended), a quarter
are new files, a quarter are deleted.  Changed files get the current time
as mtime.

The last line on stdout is a summary: "files=N bytes=N dirs=N symlinks=N
seconds=S".
"""

import argparse
import hashlib
import itertools
import os
import random
import sys
import time

MIB = 1 << 20
KIB = 1 << 10
CHUNK = 8 * MIB
EPOCH = 1672531200  # 2023-01-01T00:00:00Z: base of the generated mtimes

SYLLABLES = [
    b"ka", b"to", b"ri", b"en", b"sa", b"mo", b"lu", b"pe", b"an", b"de",
    b"st", b"or", b"in", b"ch", b"th", b"er", b"al", b"co", b"fe", b"ne",
    b"ba", b"gi", b"vo", b"zu", b"ti", b"ra", b"le", b"wo", b"ha", b"ex",
]
TEXT_EXT = [b".txt", b".md", b".c", b".h", b".py", b".json", b".csv",
            b".html", b".conf", b".log", b".xml", b".sh"]
RAND_EXT = [b".jpg", b".png", b".gz", b".zst", b".bin", b".pdf", b".mp3",
            b".o", b".so", b".db"]
TOP_DIRS = [b"home", b"srv", b"etc", b"var", b"opt", b"projects", b"usr",
            b"data"]


class Words:
    """The vocabulary and a table of 65,536 phrases drawn from it."""

    def __init__(self, rng):
        vocab = set()
        while len(vocab) < 8192:
            n = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
            vocab.add(b"".join(rng.choice(SYLLABLES) for _ in range(n)))
        vocab = sorted(vocab)
        rng.shuffle(vocab)
        self.vocab = vocab
        cum = list(itertools.accumulate(1.0 / (i + 1)
                                        for i in range(len(vocab))))
        table = []
        for _ in range(65536):
            p = b" ".join(rng.choices(vocab, cum_weights=cum,
                                      k=rng.choice((1, 2, 2, 3, 3, 4))))
            x = rng.random()
            if x < 0.08:
                p += b".\n"
            elif x < 0.12:
                p += b",\n"
            elif x < 0.20:
                p += b". "
            elif x < 0.25:
                p += b", "
            else:
                p += b" "
            table.append(p)
        self.table = table
        self.avg = sum(map(len, table)) / len(table)

    def name(self, rng):
        """A file or directory name stem."""
        w = rng.choice(self.vocab)
        if rng.random() < 0.4:
            w += rng.choice((b"-", b"_", b".")) + rng.choice(self.vocab)
        if rng.random() < 0.2:
            w += b"%d" % rng.randrange(100)
        return w


def keyed(key, i):
    return hashlib.shake_128(key + b"\0%d" % i)


def random_bytes(key, size, part=0):
    """size pseudo-random bytes for key (SHAKE-128)."""
    return keyed(key, part).digest(size)


def text_bytes(words, key, size, part=0):
    """size bytes of text-like data for key."""
    out = []
    got = 0
    i = 0
    while got < size:
        need = int((size - got) / words.avg * 1.1) + 16
        idx = memoryview(keyed(key, part * 1000003 + i).digest(2 * need))
        chunk = b"".join(map(words.table.__getitem__, idx.cast("H")))
        out.append(chunk)
        got += len(chunk)
        i += 1
    data = b"".join(out)
    return data[:size]


def content(words, kind, key, size, part=0):
    if kind == "text":
        return text_bytes(words, key, size, part)
    return random_bytes(key, size, part)


def write_file(path, words, kind, key, size):
    """Write a file of size bytes, in CHUNK pieces for big ones."""
    with open(path, "wb", buffering=0) as f:
        off = 0
        part = 0
        while off < size:
            n = min(CHUNK, size - off)
            f.write(content(words, kind, key, n, part))
            off += n
            part += 1


def small_size(rng):
    """0-16 KiB, most of them a few KiB."""
    x = rng.random()
    if x < 0.01:
        return 0
    if x < 0.15:
        return rng.randrange(1, 512)
    if x < 0.60:
        return rng.randrange(512, 4 * KIB)
    return rng.randrange(4 * KIB, 16 * KIB + 1)


class Corpus:
    def __init__(self, root, seed, size_mb, quiet):
        self.root = os.fsencode(root)
        self.seed = b"coffer-bench:%d" % seed
        self.rng = random.Random(seed)
        self.words = Words(self.rng)
        self.size = size_mb * MIB
        self.scale = size_mb / 1000.0
        self.quiet = quiet
        self.files = []       # (relpath, kind, size) of generated files
        self.bytes = 0
        self.links = []       # relpath of symlinks

    def path(self, rel):
        return os.path.join(self.root, rel)

    def key(self, rel):
        return self.seed + b"\0" + rel

    def count(self, n, low):
        return max(low, round(n * self.scale))

    def make_dirs(self):
        rng = self.rng
        want = self.count(1100, 12)
        dirs = []
        queue = []
        for t in TOP_DIRS:
            dirs.append(t)
            queue.append((t, 1))
        odd = [b"with space", "caf\u00e9 r\u00e9sum\u00e9".encode(),
               b"-leading-dash", b"x" * 200, b"lat\xe9in1"]
        qi = 0
        while len(dirs) < want:
            parent, depth = queue[qi % len(queue)]
            qi += 1
            if depth >= 7 or rng.random() < 0.3 * depth / 7:
                continue
            names = set()
            for _ in range(rng.randrange(1, 5)):
                if odd and rng.random() < 0.05:
                    n = odd.pop()
                else:
                    n = self.words.name(rng)
                if n in names:
                    continue
                names.add(n)
                d = parent + b"/" + n
                dirs.append(d)
                queue.append((d, depth + 1))
        for d in dirs:
            os.makedirs(self.path(d), exist_ok=True)
        self.dirs = dirs

    def new_name(self, d, kind, used):
        rng = self.rng
        while True:
            ext = rng.choice(TEXT_EXT if kind == "text" else RAND_EXT)
            rel = d + b"/" + self.words.name(rng) + ext
            if rel not in used:
                used.add(rel)
                return rel

    def generate(self):
        rng = self.rng
        t0 = time.monotonic()
        self.make_dirs()
        used = set(self.dirs)
        # Large files: 20% of the size each.
        big = int(self.size * 0.2)
        for kind, name in (("text", b"var/log/big-archive.log"),
                           ("random", b"data/big-disk-image.img")):
            d = os.path.dirname(name)
            if d not in used:
                os.makedirs(self.path(d), exist_ok=True)
                self.dirs.append(d)
                used.add(d)
            self.add_file(name, kind, big)
            used.add(name)
        # Files cluster: some directories hold many, most a few.
        cum = list(itertools.accumulate(rng.paretovariate(1.2)
                                        for _ in self.dirs))
        # Small files.
        nsmall = self.count(20000, 50)
        for _ in range(nsmall):
            d = rng.choices(self.dirs, cum_weights=cum)[0]
            kind = "text" if rng.random() < 0.7 else "random"
            rel = self.new_name(d, kind, used)
            self.add_file(rel, kind, small_size(rng))
        # Medium files fill the budget but for the duplicates (~3%).
        budget = int(self.size * 0.97) - self.bytes
        while budget > 256 * KIB:
            size = min(budget, rng.randrange(256 * KIB, 8 * MIB))
            kind = "text" if rng.random() < 0.5 else "random"
            d = rng.choices(self.dirs, cum_weights=cum)[0]
            rel = self.new_name(d, kind, used)
            self.add_file(rel, kind, size)
            budget -= size
        # Duplicates: copies of small and medium files at other paths.
        ndup = self.count(1000, 5)
        cands = [f for f in self.files if f[2] <= 8 * MIB]
        dup_budget = self.size - self.bytes
        for _ in range(ndup):
            src = rng.choice(cands)
            if src[2] > dup_budget:
                continue
            d = rng.choice(self.dirs)
            rel = self.new_name(d, src[1], used)
            with open(self.path(src[0]), "rb") as f:
                data = f.read()
            with open(self.path(rel), "wb") as f:
                f.write(data)
            self.files.append((rel, src[1], src[2]))
            self.bytes += src[2]
            dup_budget -= src[2]
        self.finish(used, rng)
        return time.monotonic() - t0

    def add_file(self, rel, kind, size):
        write_file(self.path(rel), self.words, kind, self.key(rel), size)
        self.files.append((rel, kind, size))
        self.bytes += size

    def finish(self, used, rng):
        # Hard links.
        smalls = [f for f in self.files if f[2] <= 16 * KIB]
        for _ in range(self.count(20, 3)):
            src = rng.choice(smalls)
            rel = self.new_name(rng.choice(self.dirs), src[1], used)
            os.link(self.path(src[0]), self.path(rel))
        # Symlinks: relative to files and directories, dangling, absolute.
        nsym = self.count(200, 6)
        for i in range(nsym):
            d = rng.choice(self.dirs)
            rel = d + b"/link-" + self.words.name(rng)
            if rel in used:
                continue
            used.add(rel)
            x = i % 10
            if x < 6:
                dest = os.path.relpath(rng.choice(self.files)[0], d)
            elif x < 8:
                dest = os.path.relpath(rng.choice(self.dirs), d)
            elif x < 9:
                dest = b"../no-such-" + self.words.name(rng)
            else:
                dest = b"/nonexistent/coffer-bench/" + self.words.name(rng)
            os.symlink(dest, self.path(rel))
            self.links.append(rel)
        # Empty directories.
        for _ in range(self.count(50, 3)):
            rel = rng.choice(self.dirs) + b"/empty-" + self.words.name(rng)
            if rel in used:
                continue
            used.add(rel)
            os.mkdir(self.path(rel))
            self.dirs.append(rel)
        # Modes and mtimes, in sorted order so the draws are stable.
        for rel, kind, _ in sorted(self.files):
            x = rng.random()
            mode = 0o644
            if x < 0.05:
                mode = 0o600
            elif x < 0.10 or rel.endswith(b".sh"):
                mode = 0o755
            os.chmod(self.path(rel), mode)
            self.stamp(rel, rng)
        for rel in self.links:
            self.stamp(rel, rng)
        for rel in sorted(self.dirs, reverse=True):
            os.chmod(self.path(rel), 0o700 if rng.random() < 0.02 else 0o755)
            self.stamp(rel, rng)
        os.utime(self.root, ns=(EPOCH * 10**9, EPOCH * 10**9))

    def stamp(self, rel, rng):
        ns = (EPOCH + rng.randrange(365 * 86400)) * 10**9 + \
            rng.randrange(10**9)
        os.utime(self.path(rel), ns=(ns, ns), follow_symlinks=False)


def scan(root):
    """Sorted relative paths of regular files and directories under root."""
    files = []
    dirs = []
    for top, dnames, fnames in os.walk(root):
        dnames.sort()
        reltop = os.path.relpath(top, root)
        if reltop != b".":
            dirs.append(reltop)
        for n in sorted(fnames):
            p = os.path.join(top, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append(os.path.relpath(p, root))
    return files, dirs


def mutate(root, seed, pct, quiet):
    root = os.fsencode(root)
    t0 = time.monotonic()
    files, dirs = scan(root)
    if not files:
        sys.exit("corpus: no files to mutate in '%s'" % os.fsdecode(root))
    k = max(4, round(len(files) * pct / 100.0))
    rng = random.Random("%d:mutate:%r:%d" % (seed, pct, len(files)))
    words = Words(random.Random(seed))
    key = b"coffer-bench-mutate:%d:%d" % (seed, len(files))
    chosen = rng.sample(files, min(len(files), k - k // 4))
    nmod = k // 2
    modified = chosen[:nmod]
    deleted = chosen[nmod:]
    for rel in modified:
        p = os.path.join(root, rel)
        size = os.path.getsize(p)
        kind = "random" if rel.endswith(tuple(RAND_EXT)) else "text"
        with open(p, "r+b") as f:
            if size <= 64 * KIB:
                off = rng.randrange(size + 1)
                f.seek(off)
                f.write(content(words, kind, key + rel,
                                max(1, min(4 * KIB, size - off))))
            else:
                for i in range(3):
                    f.seek(rng.randrange(size))
                    f.write(content(words, kind, key + rel, 4 * KIB, i))
                f.seek(0, os.SEEK_END)
                f.write(content(words, kind, key + rel, 64 * KIB, 3))
    for rel in deleted:
        os.unlink(os.path.join(root, rel))
    nadd = k // 4
    for i in range(nadd):
        d = rng.choice(dirs) if dirs else b"."
        kind = "text" if rng.random() < 0.7 else "random"
        rel = d + b"/new-%d-" % i + words.name(rng) + \
            rng.choice(TEXT_EXT if kind == "text" else RAND_EXT)
        p = os.path.join(root, rel)
        if os.path.lexists(p):
            continue
        size = small_size(rng)
        write_file(p, words, kind, key + rel, size)
    if not quiet:
        print("corpus: mutated %d of %d files: %d modified, %d deleted, "
              "%d added" % (len(chosen) + nadd, len(files), len(modified),
                            len(deleted), nadd), file=sys.stderr)
    return time.monotonic() - t0


def summary(root, seconds):
    nfiles = nbytes = ndirs = nsym = 0
    seen = set()
    for top, dnames, fnames in os.walk(root):
        ndirs += 1
        for n in fnames + dnames:
            p = os.path.join(top, n)
            st = os.lstat(p)
            if os.path.islink(p):
                nsym += 1
            elif n in fnames:
                nfiles += 1
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    nbytes += st.st_size
    print("files=%d bytes=%d dirs=%d symlinks=%d seconds=%.2f" %
          (nfiles, nbytes, ndirs, nsym, seconds))


def main():
    ap = argparse.ArgumentParser(
        description="write or mutate a deterministic benchmark corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size-mb", type=int, default=1000,
                    help="size in MiB (default 1000)")
    ap.add_argument("--mutate", type=float, metavar="PCT",
                    help="change about PCT%% of the files of DIR")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("dir")
    a = ap.parse_args()
    if a.mutate is not None:
        if not os.path.isdir(a.dir):
            sys.exit("corpus: '%s' is not a directory" % a.dir)
        secs = mutate(a.dir, a.seed, a.mutate, a.quiet)
    else:
        if a.size_mb < 10:
            sys.exit("corpus: --size-mb must be at least 10")
        if os.path.exists(a.dir) and os.listdir(a.dir):
            sys.exit("corpus: '%s' is not empty" % a.dir)
        os.makedirs(a.dir, exist_ok=True)
        c = Corpus(a.dir, a.seed, a.size_mb, a.quiet)
        secs = c.generate()
    summary(os.fsencode(a.dir), secs)


if __name__ == "__main__":
    main()
