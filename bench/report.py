#!/usr/bin/env python3
"""report.py: the tables printed by bench/run.sh.

usage: report.py --results FILE --sizes FILE --checks FILE --size-mb N
                 --rss-size-mb M
       report.py --label FILE

The first form reads the tab-separated records run.sh writes (tool, step,
seconds, peak RSS in KiB, CPU seconds, corpus bytes, exit status; tool,
step, stored bytes; tool, check, result) and prints the table, the ratios of
coffer to each peer and the goals of issue 4, each marked met or not.  With
--repeat, a step has several records: the fastest successful one counts, and
the peak RSS is the highest of them.

The second form prints the label of the newest set found in a JSON document
(or JSON lines) written by `coffer backup --json` or `coffer sets --json`,
or nothing.
"""

import argparse
import json
import sys

PEERS = ["restic", "borg", "tar"]
TOOLS = ["coffer"] + PEERS
STEPS = [
    ("backup1", "first backup"),
    ("rerun0", "no-change rerun"),
    ("rerun1", "rerun after 1% change"),
    ("restore", "full restore"),
    ("restore-verify", "restore --verify"),
    ("verify", "full verify"),
    ("backup1-small", "first backup, small corpus"),
]
VERIFY_NAMES = {
    "coffer": "coffer verify --deep",
    "restic": "restic check --read-data",
    "borg": "borg check --verify-data",
    "tar": "age -d | zstd -d | tar -t",
}


def find_labels(doc, out):
    """Collect (created, label) pairs from any JSON value."""
    if isinstance(doc, dict):
        lab = doc.get("label")
        if isinstance(lab, str):
            out.append((str(doc.get("created", "")), len(out), lab))
        for v in doc.values():
            if isinstance(v, (dict, list)):
                find_labels(v, out)
    elif isinstance(doc, list):
        for v in doc:
            find_labels(v, out)


def label(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    docs = []
    try:
        docs.append(json.loads(text))
    except ValueError:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(("{", "[")):
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    pass
    found = []
    for d in docs:
        find_labels(d, found)
    if found:
        print(max(found)[2])


def read_tsv(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fmt_s(x):
    return "%.2f" % x if x is not None else "-"


def report(a):
    best = {}
    failed = set()
    for tool, step, secs, rss, cpu, nbytes, rc in read_tsv(a.results):
        key = (tool, step)
        secs = float(secs)
        rss = int(rss)
        if rc != "0":
            failed.add(key)
            continue
        b = best.get(key)
        if b is None:
            best[key] = [secs, rss, float(cpu), int(nbytes)]
        else:
            if secs < b[0]:
                b[0], b[2] = secs, float(cpu)
            b[1] = max(b[1], rss)
    sizes = {(t, s): int(n) for t, s, n in read_tsv(a.sizes)}
    checks = {t: r for t, _, r in read_tsv(a.checks)}

    print("Times: wall seconds (best of the runs), MB/s = corpus bytes "
          "(10^6) / second,")
    print("CPU = user + system seconds, RSS = peak resident set (MiB) of "
          "the step's processes.")
    print()
    print("%-7s %-28s %8s %8s %8s %8s" %
          ("tool", "step", "seconds", "MB/s", "CPU s", "RSS MiB"))
    for tool in TOOLS:
        for step, desc in STEPS:
            key = (tool, step)
            if key in best:
                secs, rss, cpu, nbytes = best[key]
                mbs = nbytes / 1e6 / secs if secs > 0 else 0
                d = VERIFY_NAMES[tool] if step == "verify" else desc
                print("%-7s %-28s %8.2f %8.1f %8.2f %8.1f" %
                      (tool, d, secs, mbs, cpu, rss / 1024))
            elif key in failed:
                print("%-7s %-28s %8s" % (tool, desc, "failed" if
                                          tool != "coffer" else
                                          "unavailable"))
    print()
    print("Stored size (du -sb of the repository) and restore check "
          "(diff -r against the corpus):")
    print("%-7s %14s %14s %10s  %s" %
          ("tool", "after first", "after 3 runs", "of corpus", "restore"))
    corpus = None
    for k, v in best.items():
        if k[1] == "rerun1":
            corpus = v[3]
    for tool in TOOLS:
        if (tool, "stored") not in sizes and tool not in checks:
            continue
        s1 = sizes.get((tool, "stored1"))
        s = sizes.get((tool, "stored"))
        pct = "%.1f%%" % (100.0 * s / corpus) if s and corpus else "-"
        chk = checks.get(tool, "-")
        if tool == "restic" and "restic-verify" in checks:
            chk += " (--verify: %s)" % checks["restic-verify"]
        print("%-7s %14s %14s %10s  %s" %
              (tool, s1 if s1 is not None else "-",
               s if s is not None else "-", pct, chk))

    def t(tool, step):
        v = best.get((tool, step))
        return v[0] if v else None

    print()
    print("Ratios coffer / peer (time; below 1: coffer is faster):")
    print("%-28s" % "step" + "".join("%10s" % p for p in PEERS))
    for step, desc in STEPS:
        c = t("coffer", step)
        row = []
        for p in PEERS:
            ps = t(p, step)
            if step == "restore-verify" and p == "restic":
                ps = t("restic", "restore-verify")
                c = t("coffer", "restore")
            row.append("%10s" % ("%.2f" % (c / ps) if c and ps else "-"))
        if any(r.strip() != "-" for r in row):
            print("%-28s" % desc + "".join(row))

    print()
    print("Goals (issue 4, on 2 cores):")

    def goal(desc, ok, detail):
        if ok is None:
            mark = "n/a"
        else:
            mark = "met" if ok else "NOT met"
        print("  [%-7s] %s: %s" % (mark, desc, detail))

    def ratio_goal(desc, cstep, peer, pstep, limit):
        c, p = t("coffer", cstep), t(peer, pstep)
        if c is None or p is None:
            goal(desc, None, "coffer %s, %s %s" %
                 (fmt_s(c), peer, fmt_s(p)))
            return
        goal(desc, c <= limit * p, "coffer %.2f s / %s %.2f s = %.2f "
             "(limit %.2f)" % (c, peer, p, c / p, limit))

    ratio_goal("first backup <= 0.5 x restic", "backup1", "restic",
               "backup1", 0.5)
    ratio_goal("first backup <= 1.15 x tar | zstd -T0 | age", "backup1",
               "tar", "backup1", 1.15)
    ratio_goal("no-change rerun <= 0.3 x restic", "rerun0", "restic",
               "rerun0", 0.3)
    ratio_goal("restore (verifies) <= 0.5 x restic restore --verify",
               "restore", "restic", "restore-verify", 0.5)
    ratio_goal("verify --deep <= 0.5 x restic check --read-data", "verify",
               "restic", "verify", 0.5)
    rss = [best[("coffer", s)][1] for s in ("backup1", "rerun0", "rerun1")
           if ("coffer", s) in best]
    if rss:
        goal("backup peak RSS < 100 MiB", max(rss) < 100 * 1024,
             "%.1f MiB (highest of the three backups)" % (max(rss) / 1024))
    else:
        goal("backup peak RSS < 100 MiB", None, "coffer backup unavailable")
    small = best.get(("coffer", "backup1-small"))
    big = best.get(("coffer", "backup1"))
    if small and big:
        goal("backup peak RSS not growing with corpus size",
             big[1] <= small[1] * 1.25 + 4096,
             "%.1f MiB at %d MiB, %.1f MiB at %d MiB (limit: +25%% + 4 MiB)"
             % (big[1] / 1024, a.size_mb, small[1] / 1024, a.rss_size_mb))
    else:
        goal("backup peak RSS not growing with corpus size", None,
             "needs coffer backup at two sizes")
    bad = [t for t, r in checks.items() if r != "ok"]
    if bad:
        print()
        print("WARNING: restored tree differs from the corpus for: %s" %
              ", ".join(bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label")
    ap.add_argument("--results")
    ap.add_argument("--sizes")
    ap.add_argument("--checks")
    ap.add_argument("--size-mb", type=int, default=0)
    ap.add_argument("--rss-size-mb", type=int, default=0)
    a = ap.parse_args()
    if a.label:
        label(a.label)
        return
    if not a.results:
        ap.error("--results or --label is needed")
    report(a)


if __name__ == "__main__":
    sys.exit(main())
