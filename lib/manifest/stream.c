/*
 * manifest/stream.c: the streaming writer and reader of JSON lines.
 */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>


#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest_internal.h"
/* ---------------------------------------------------------------- writer */

/* Lines are gathered and handed on once this much is buffered. */
#define WBUF 65536

struct manifest_writer {
	manifest_write_fn *fn;
	void *cookie;
	char *buf;              /* grows past WBUF for one long line */
	size_t len, cap;
	unsigned long long count;
	int failed;
};

struct manifest_writer *
manifest_writer_new(manifest_write_fn *fn, void *cookie)
{
	struct manifest_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->buf = malloc(WBUF)) == NULL) {
		warnp("malloc");
		free(w);
		return (NULL);
	}
	w->cap = WBUF;
	w->fn = fn;
	w->cookie = cookie;
	return (w);
}

static int
writer_flush(struct manifest_writer *w)
{

	if (w->len > 0 && w->fn(w->cookie, w->buf, w->len) != 0) {
		w->failed = 1;
		return (-1);
	}
	w->len = 0;
	return (0);
}

int
manifest_writer_add(struct manifest_writer *w, const struct manifest_entry *e)
{

	if (w->failed) {
		warn0("manifest writer failed earlier");
		return (-1);
	}
	/* The line goes straight into the buffer; the NUL it leaves
	 * after itself makes room for the newline. */
	if (manifest_entry_append_json(e, &w->buf, &w->len, &w->cap) != 0) {
		w->failed = 1;
		return (-1);
	}
	w->buf[w->len++] = '\n';
	w->count++;
	if (w->len >= WBUF && writer_flush(w) != 0)
		return (-1);
	return (0);
}

int
manifest_writer_finish(struct manifest_writer *w)
{

	if (w->failed) {
		warn0("manifest writer failed earlier");
		return (-1);
	}
	return (writer_flush(w));
}

unsigned long long
manifest_writer_count(const struct manifest_writer *w)
{

	return (w->count);
}

void
manifest_writer_free(struct manifest_writer *w)
{

	if (w == NULL)
		return;
	free(w->buf);
	free(w);
}

/* ---------------------------------------------------------------- reader */

#define RBUF 65536

struct manifest_reader {
	manifest_read_fn *fn;
	void *cookie;
	char *buf;              /* input */
	size_t pos, len;
	int eof;
	char *line;             /* the line being assembled */
	size_t llen, lcap;
	unsigned long long lineno;
	int failed;
};

struct manifest_reader *
manifest_reader_new(manifest_read_fn *fn, void *cookie)
{
	struct manifest_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->buf = malloc(RBUF)) == NULL) {
		warnp("malloc");
		free(r);
		return (NULL);
	}
	r->fn = fn;
	r->cookie = cookie;
	return (r);
}

static int
line_append(struct manifest_reader *r, const char *p, size_t n)
{
	size_t cap;
	char *nl;

	if (r->llen + n > MANIFEST_LINE_MAX) {
		warn0("manifest line %llu: longer than %zu bytes",
		    r->lineno + 1, MANIFEST_LINE_MAX);
		return (-1);
	}
	if (r->llen + n + 1 > r->lcap) {
		cap = r->lcap ? r->lcap : 4096;
		while (cap < r->llen + n + 1)
			cap *= 2;
		if ((nl = realloc(r->line, cap)) == NULL) {
			warnp("realloc");
			return (-1);
		}
		r->line = nl;
		r->lcap = cap;
	}
	memcpy(r->line + r->llen, p, n);
	r->llen += n;
	return (0);
}

int
manifest_reader_next(struct manifest_reader *r, struct manifest_entry *e)
{
	char *nl;
	size_t n;
	ssize_t got;

	manifest_entry_init(e);
	if (r->failed)
		return (-1);
	r->llen = 0;
	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				break;
			if ((got = r->fn(r->cookie, r->buf, RBUF)) < 0)
				goto fail;
			r->pos = 0;
			r->len = (size_t)got;
			if (got == 0) {
				r->eof = 1;
				break;
			}
		}
		nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		n = (nl != NULL ? (size_t)(nl - r->buf) : r->len) - r->pos;
		if (line_append(r, r->buf + r->pos, n) != 0)
			goto fail;
		r->pos += n;
		if (nl != NULL) {
			r->pos++;
			r->lineno++;
			if (manifest_entry_parse(r->line, r->llen, r->lineno,
			    e) != 0)
				goto fail;
			return (1);
		}
	}
	if (r->llen > 0) {
		warn0("manifest line %llu: truncated (no newline at the end)",
		    r->lineno + 1);
		goto fail;
	}
	return (0);
fail:
	r->failed = 1;
	return (-1);
}

unsigned long long
manifest_reader_line(const struct manifest_reader *r)
{

	return (r->lineno);
}

void
manifest_reader_free(struct manifest_reader *r)
{

	if (r == NULL)
		return;
	free(r->buf);
	free(r->line);
	free(r);
}
