/*
 * manifest-bench: the time to write and to parse the manifest lines of a
 * typical set (22,000 entries, as the bench corpus: files under a few
 * hundred directories, some symbolic links and hard links).  Not a test.
 *
 *     make bench/manifest-bench && ./bench/manifest-bench [ENTRIES [RUNS]]
 *
 * Prints the best of RUNS (default 5) wall-clock times of
 * manifest_entry_to_json for every entry, of manifest_writer_add into
 * memory, and of manifest_entry_parse (with manifest_entry_clear) of every
 * line, in milliseconds and nanoseconds per entry.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "manifest.h"
#include "warnp.h"

struct mem {
	char *buf;
	size_t len, cap;
};

static int
mem_write(void *cookie, const void *p, size_t n)
{
	struct mem *m = cookie;
	char *nb;

	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		if ((nb = realloc(m->buf, m->cap)) == NULL)
			return (-1);
		m->buf = nb;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	return (0);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Entry i of a made-up but typical tree. */
static void
make_entry(struct manifest_entry *e, size_t i, char *path, size_t pathsize,
    char *target, size_t targetsize)
{
	static const char *const dirs[] = { "usr/share/doc", "usr/lib/x86_64-"
	    "linux-gnu", "usr/share/locale/de/LC_MESSAGES", "etc",
	    "var/lib/dpkg/info", "home/alice/src/coffer/lib/manifest" };
	size_t k;

	manifest_entry_init(e);
	snprintf(path, pathsize, "%s/pkg-%zu/file-%zu.%s",
	    dirs[i % 6], i / 50, i, i % 3 ? "txt" : "so.1");
	e->path = path;
	e->path_len = strlen(path);
	e->has_mode = 1;
	e->has_owner = 1;
	e->uid = e->gid = i % 7 ? 0 : 1000;
	e->user = e->group = i % 7 ? "root" : "alice";
	e->has_mtime = 1;
	e->mtime = 1764000000 - (int64_t)i * 37;
	e->mtime_nsec = (uint32_t)(i * 7919) % 1000000000;
	e->volume = 1 + (uint32_t)(i / 5000);
	if (i % 40 == 0) {
		e->type = MANIFEST_DIR;
		e->mode = 0755;
	} else if (i % 40 == 1) {
		e->type = MANIFEST_SYMLINK;
		e->mode = 0777;
		snprintf(target, targetsize, "../lib/file-%zu.so.1", i);
		e->target = target;
		e->target_len = strlen(target);
	} else {
		e->type = MANIFEST_FILE;
		e->mode = 0644;
		e->has_size = 1;
		e->size = (i * 2654435761u) % 200000;
		e->has_sha256 = 1;
		for (k = 0; k < 32; k++)
			e->sha256[k] = (uint8_t)(i * 31 + k * 17);
	}
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 22000;
	int runs = argc > 2 ? atoi(argv[2]) : 5, r;
	struct manifest_entry *e, p;
	struct manifest_writer *w;
	struct mem m = { NULL, 0, 0 };
	char (*paths)[256], (*targets)[64];
	char **lines;
	size_t *lens, i, bytes = 0;
	double t, best_json = 1e9, best_write = 1e9, best_parse = 1e9;

	if (n == 0 || runs < 1 ||
	    (e = calloc(n, sizeof(*e))) == NULL ||
	    (paths = calloc(n, sizeof(*paths))) == NULL ||
	    (targets = calloc(n, sizeof(*targets))) == NULL ||
	    (lines = calloc(n, sizeof(*lines))) == NULL ||
	    (lens = calloc(n, sizeof(*lens))) == NULL) {
		fprintf(stderr, "usage: manifest-bench [ENTRIES [RUNS]]\n");
		return (1);
	}
	for (i = 0; i < n; i++)
		make_entry(&e[i], i, paths[i], sizeof(paths[i]), targets[i],
		    sizeof(targets[i]));
	for (r = 0; r < runs; r++) {
		t = now();
		for (i = 0; i < n; i++) {
			free(lines[i]);
			if ((lines[i] = manifest_entry_to_json(&e[i],
			    &lens[i])) == NULL)
				return (1);
		}
		if ((t = now() - t) < best_json)
			best_json = t;

		m.len = 0;
		t = now();
		if ((w = manifest_writer_new(mem_write, &m)) == NULL)
			return (1);
		for (i = 0; i < n; i++)
			if (manifest_writer_add(w, &e[i]) != 0)
				return (1);
		if (manifest_writer_finish(w) != 0)
			return (1);
		manifest_writer_free(w);
		if ((t = now() - t) < best_write)
			best_write = t;

		t = now();
		for (i = 0; i < n; i++) {
			if (manifest_entry_parse(lines[i], lens[i], i + 1,
			    &p) != 0)
				return (1);
			manifest_entry_clear(&p);
		}
		if ((t = now() - t) < best_parse)
			best_parse = t;
	}
	for (i = 0; i < n; i++)
		bytes += lens[i] + 1;
	printf("%zu entries, %zu bytes of manifest, best of %d runs\n", n,
	    bytes, runs);
	printf("to_json  %8.2f ms  %6.0f ns/entry\n", best_json * 1e3,
	    best_json * 1e9 / (double)n);
	printf("writer   %8.2f ms  %6.0f ns/entry\n", best_write * 1e3,
	    best_write * 1e9 / (double)n);
	printf("parse    %8.2f ms  %6.0f ns/entry\n", best_parse * 1e3,
	    best_parse * 1e9 / (double)n);
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(lens);
	free(paths);
	free(targets);
	free(e);
	free(m.buf);
	return (0);
}
