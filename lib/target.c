#include "compat.h"

#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "label.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

/* Size of the pieces target_get passes and target_put_file reads. */
#define TARGET_IO_SIZE (1024 * 1024)

static const char part_suffix[] = ".part";

/*
 * show(name, buf, size): name as it may be printed in a message: control
 * characters become '?' and a long name is cut short with "...".
 */
static const char *
show(const char *name, char *buf, size_t size)
{
	size_t i;

	if (name == NULL)
		return ("(null)");
	for (i = 0; name[i] != '\0' && i + 4 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	if (name[i] != '\0')
		util_strlcpy(buf + i, "...", size - i);
	return (buf);
}

/* is_part(name): 1 if the last component of name ends in ".part". */
static int
is_part(const char *name)
{
	size_t len = strlen(name), slen = sizeof(part_suffix) - 1;
	const char *base = strrchr(name, '/');

	base = (base == NULL) ? name : base + 1;
	return (strlen(base) > slen &&
	    strcmp(name + len - slen, part_suffix) == 0);
}

/*
 * component_valid(s, len): 1 if the component s[0..len) is non-empty, not
 * "." or "..", and has no backslash or control character.
 */
static int
component_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return (0);
	if (len == 1 && s[0] == '.')
		return (0);
	if (len == 2 && s[0] == '.' && s[1] == '.')
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return (0);
	}
	return (1);
}

int
target_name_valid(const char *name)
{
	const char *p, *slash;

	if (name == NULL || name[0] == '\0' || strlen(name) > TARGET_NAME_MAX)
		return (0);
	for (p = name;; p = slash + 1) {
		slash = strchr(p, '/');
		if (!component_valid(p, slash != NULL ? (size_t)(slash - p) :
		    strlen(p)))
			return (0);
		if (slash == NULL)
			break;
	}
	return (1);
}

/*
 * prefix_valid(prefix): 1 if prefix is "" or a listing prefix: every
 * complete component valid, the last (partial) one free of backslashes and
 * control characters, no leading '/'.
 */
static int
prefix_valid(const char *prefix)
{
	const char *p, *slash;

	if (strlen(prefix) > TARGET_NAME_MAX)
		return (0);
	for (p = prefix; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		if (!component_valid(p, (size_t)(slash - p)))
			return (0);
	}
	return (p[0] == '\0' || component_valid(p, strlen(p)) ||
	    strcmp(p, ".") == 0 || strcmp(p, "..") == 0);
}

/* check_name(name): target_name_valid, reported. */
static int
check_name(const char *name)
{
	char buf[128];

	if (target_name_valid(name))
		return (0);
	warn0("invalid object name '%s'", show(name, buf, sizeof(buf)));
	errno = EINVAL;
	return (-1);
}

/* run_id_valid(s): [A-Za-z0-9-]{1,TARGET_RUN_ID_MAX}. */
static int
run_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= TARGET_RUN_ID_MAX)
			return (0);
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return (0);
	}
	return (i > 0);
}

/* no_op(t, what, name): report an operation a backend does not have. */
static int
no_op(const struct target *t, const char *what, const char *name)
{

	warn0("cannot %s '%s': not supported by %s targets", what, name,
	    t->ops->scheme);
	errno = ENOTSUP;
	return (-1);
}

struct target *
target_new(const struct target_ops *ops, const char *url, const char *host,
    const char *run_id)
{
	struct target *t = NULL;
	char buf[128];

	if (host != NULL && label_check(host, "host name") != 0)
		goto fail;
	if (run_id != NULL && !run_id_valid(run_id)) {
		warn0("invalid run id '%s'", show(run_id, buf, sizeof(buf)));
		goto fail;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		warnp("cannot allocate target");
		goto fail;
	}
	t->ops = ops;
	if ((t->url = util_strdup(url)) == NULL)
		goto fail;
	if (host != NULL && (t->host = util_strdup(host)) == NULL)
		goto fail;
	if (run_id != NULL && (t->run_id = util_strdup(run_id)) == NULL)
		goto fail;
	return (t);

fail:
	if (t != NULL) {
		free(t->url);
		free(t->host);
		free(t->run_id);
		free(t);
	}
	errno = EINVAL;
	return (NULL);
}

char *
target_run_id_new(void)
{
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	ssize_t got;

	do {
		got = getrandom(rnd, sizeof(rnd), 0);
	} while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(rnd)) {
		warnp("cannot get random bytes for a run id");
		return (NULL);
	}
	util_hex(hex, rnd, sizeof(rnd));
	return (util_asprintf("%ld-%s", (long)getpid(), hex));
}

pid_t
target_run_id_pid(const char *run_id)
{
	long pid = 0;
	size_t i;

	if (run_id == NULL)
		return (-1);
	for (i = 0; run_id[i] >= '0' && run_id[i] <= '9'; i++) {
		pid = pid * 10 + (run_id[i] - '0');
		if (pid > 0x7fffffffL)
			return (-1);
	}
	if (i == 0 || run_id[i] != '-' || pid == 0)
		return (-1);
	return ((pid_t)pid);
}

const char *
target_url(const struct target *t)
{

	return (t->url);
}

static void
put_free(struct target_put *p)
{

	free(p->name);
	free(p->part);
	free(p);
}

struct target_put *
target_put_begin(struct target *t, const char *name)
{
	struct target_put *p = NULL;

	if (check_name(name) != 0)
		goto fail;
	if (is_part(name)) {
		warn0("cannot write object '%s': names ending in '.part' "
		    "are reserved", name);
		errno = EINVAL;
		goto fail;
	}
	if (t->host == NULL || t->run_id == NULL) {
		warn0("cannot write object '%s': target '%s' is open for "
		    "reading only", name, t->url);
		errno = EINVAL;
		goto fail;
	}
	if (t->ops->put_begin == NULL) {
		no_op(t, "write object", name);
		goto fail;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		warnp("cannot write object '%s'", name);
		goto fail;
	}
	p->target = t;
	if ((p->name = util_strdup(name)) == NULL)
		goto fail;
	if ((p->part = util_asprintf("%s.%s.%s%s", name, t->host, t->run_id,
	    part_suffix)) == NULL)
		goto fail;
	if (strlen(p->part) > TARGET_NAME_MAX) {
		warn0("cannot write object '%s': name too long", name);
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (t->ops->put_begin(t, p) != 0)
		goto fail;
	return (p);

fail:
	if (p != NULL)
		put_free(p);
	return (NULL);
}

int
target_put_write(struct target_put *p, const void *buf, size_t len)
{

	if (p->failed) {
		warn0("cannot write object '%s': an earlier write failed",
		    p->name);
		errno = EIO;
		return (-1);
	}
	if (len == 0)
		return (0);
	if (p->target->ops->put_write(p, buf, len) != 0) {
		p->failed = 1;
		return (-1);
	}
	p->size += len;
	return (0);
}

int
target_put_commit(struct target_put *p)
{
	int rc = -1;

	if (p->failed) {
		warn0("cannot commit object '%s': a write failed", p->name);
		p->target->ops->put_abort(p);
		errno = EIO;
		goto done;
	}
	rc = p->target->ops->put_commit(p);

done:
	put_free(p);
	return (rc);
}

void
target_put_abort(struct target_put *p)
{

	if (p == NULL)
		return;
	p->target->ops->put_abort(p);
	put_free(p);
}

int
target_put_buf(struct target *t, const char *name, const void *buf,
    size_t len)
{
	struct target_put *p;

	if ((p = target_put_begin(t, name)) == NULL)
		return (-1);
	if (target_put_write(p, buf, len) != 0) {
		target_put_abort(p);
		return (-1);
	}
	return (target_put_commit(p));
}

int
target_put_file(struct target *t, const char *name, const char *path)
{
	struct target_put *p = NULL;
	char *buf = NULL;
	ssize_t got;
	int fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		warnp("cannot open '%s'", path);
		goto cleanup;
	}
	if ((buf = malloc(TARGET_IO_SIZE)) == NULL) {
		warnp("cannot write object '%s'", name);
		goto cleanup;
	}
	if ((p = target_put_begin(t, name)) == NULL)
		goto cleanup;
	for (;;) {
		if ((got = util_read_all(fd, buf, TARGET_IO_SIZE)) < 0) {
			warnp("cannot read '%s'", path);
			goto cleanup;
		}
		if (got > 0 && target_put_write(p, buf, (size_t)got) != 0)
			goto cleanup;
		if (got < TARGET_IO_SIZE)
			break;
	}
	rc = target_put_commit(p);
	p = NULL;

cleanup:
	target_put_abort(p);
	free(buf);
	if (fd >= 0)
		close(fd);
	return (rc);
}

struct target_reader *
target_open_read(struct target *t, const char *name, uint64_t offset)
{
	struct target_reader *r = NULL;

	if (check_name(name) != 0)
		goto fail;
	if (t->ops->open_read == NULL) {
		no_op(t, "read object", name);
		goto fail;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		warnp("cannot read object '%s'", name);
		goto fail;
	}
	r->target = t;
	r->offset = offset;
	if ((r->name = util_strdup(name)) == NULL)
		goto fail;
	if (t->ops->open_read(t, r, offset) != 0)
		goto fail;
	return (r);

fail:
	if (r != NULL) {
		free(r->name);
		free(r);
	}
	return (NULL);
}

ssize_t
target_read(struct target_reader *r, void *buf, size_t len)
{
	ssize_t got;

	if (len == 0)
		return (0);
	if ((got = r->target->ops->read(r, buf, len)) > 0)
		r->offset += (uint64_t)got;
	return (got);
}

void
target_reader_close(struct target_reader *r)
{

	if (r == NULL)
		return;
	r->target->ops->reader_close(r);
	free(r->name);
	free(r);
}

/* get_by_reader: target_get for backends without a get op. */
static int
get_by_reader(struct target *t, const char *name, uint64_t offset,
    uint64_t len, target_write_fn *fn, void *cookie)
{
	struct target_reader *r;
	char *buf = NULL;
	uint64_t left;
	ssize_t got;
	int rc = -1;

	if ((r = target_open_read(t, name, offset)) == NULL)
		return (-1);
	if (len == TARGET_TO_END)
		len = r->size - offset;
	if (len > r->size - offset) {
		warn0("cannot read object '%s': range %llu+%llu lies past its "
		    "end (%llu bytes)", name, (unsigned long long)offset,
		    (unsigned long long)len, (unsigned long long)r->size);
		errno = ERANGE;
		goto cleanup;
	}
	if ((buf = malloc(TARGET_IO_SIZE)) == NULL) {
		warnp("cannot read object '%s'", name);
		goto cleanup;
	}
	for (left = len; left > 0; left -= (uint64_t)got) {
		size_t want = left < TARGET_IO_SIZE ? (size_t)left :
		    TARGET_IO_SIZE;

		if ((got = target_read(r, buf, want)) < 0)
			goto cleanup;
		if (got == 0) {
			warn0("cannot read object '%s': it ended early "
			    "(changed while read?)", name);
			errno = EIO;
			goto cleanup;
		}
		if (fn(cookie, buf, (size_t)got) != 0)
			goto cleanup;
	}
	rc = 0;

cleanup:
	free(buf);
	target_reader_close(r);
	return (rc);
}

/* A whole small object read into memory (target_get_small). */
struct smallbuf {
	const char *name;
	char *buf;
	size_t len, max;
};

static int
small_write(void *cookie, const void *p, size_t n)
{
	struct smallbuf *m = cookie;
	char *nb;

	if (n > m->max - m->len) {
		warn0("object '%s' is too large (over %zu bytes)", m->name,
		    m->max);
		return (-1);
	}
	if ((nb = realloc(m->buf, m->len + n + 1)) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	memcpy(nb + m->len, p, n);
	m->buf = nb;
	m->len += n;
	m->buf[m->len] = '\0';
	return (0);
}

int
target_get_small(struct target *t, const char *name, size_t max, char **buf,
    size_t *len)
{
	struct smallbuf m = { name, NULL, 0, max };

	*buf = NULL;
	*len = 0;
	if (target_get(t, name, 0, TARGET_TO_END, small_write, &m) != 0 ||
	    (m.buf == NULL && small_write(&m, "", 0) != 0)) {
		free(m.buf);
		return (-1);
	}
	*buf = m.buf;
	*len = m.len;
	return (0);
}

int
target_get(struct target *t, const char *name, uint64_t offset,
    uint64_t len, target_write_fn *fn, void *cookie)
{

	if (check_name(name) != 0)
		return (-1);
	if (len != TARGET_TO_END && offset > UINT64_MAX - len) {
		warn0("cannot read object '%s': range out of bounds", name);
		errno = ERANGE;
		return (-1);
	}
	if (t->ops->get != NULL)
		return (t->ops->get(t, name, offset, len, fn, cookie));
	return (get_by_reader(t, name, offset, len, fn, cookie));
}

int
target_head(struct target *t, const char *name, uint64_t *size)
{
	uint64_t dummy;

	if (check_name(name) != 0)
		return (-1);
	if (t->ops->head == NULL)
		return (no_op(t, "look up object", name));
	return (t->ops->head(t, name, size != NULL ? size : &dummy));
}

int
target_list(struct target *t, const char *prefix, int flags,
    target_list_fn *fn, void *cookie)
{
	char buf[128];

	if (prefix == NULL)
		prefix = "";
	if (!prefix_valid(prefix)) {
		warn0("invalid object name prefix '%s'",
		    show(prefix, buf, sizeof(buf)));
		errno = EINVAL;
		return (-1);
	}
	if (t->ops->list == NULL)
		return (no_op(t, "list", prefix));
	return (t->ops->list(t, prefix, flags, fn, cookie));
}

struct parts_ctx {
	const char *host;
	target_list_fn *fn;
	void *cookie;
};

/* digits(s): 1 if s is one or more ASCII digits. */
static int
digits(const char *s)
{

	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return (0);
	return (1);
}

/*
 * host_area_ok(object, host): where the vault layout says whose object
 * it is, that must be host (see target_list_parts).
 */
static int
host_area_ok(const char *object, const char *host)
{
	static const char *const areas[] = {
		"sets/", "holds/", "audit/", "catalog/"
	};
	const char *rest, *slash;
	size_t i, hlen = strlen(host);

	if (strchr(object, '/') == NULL)
		return (strncmp(object, "coffer-vault.", 13) == 0 &&
		    digits(object + 13));
	for (i = 0; i < ARRAY_SIZE(areas); i++) {
		if (strncmp(object, areas[i], strlen(areas[i])) != 0)
			continue;
		rest = object + strlen(areas[i]);
		slash = strchr(rest, '/');
		return (slash != NULL && (size_t)(slash - rest) == hlen &&
		    strncmp(rest, host, hlen) == 0);
	}
	return (1);
}

/* parts_cb: keep the parts of ctx->host, parsed. */
static int
parts_cb(void *cookie, const struct target_entry *e)
{
	struct parts_ctx *ctx = cookie;
	struct target_entry pe;
	size_t len = strlen(e->name), hlen = strlen(ctx->host);
	char *copy, *run, *host;
	int rc = 0;

	if (!is_part(e->name))
		return (0);
	if ((copy = util_strdup(e->name)) == NULL)
		return (-1);
	copy[len - (sizeof(part_suffix) - 1)] = '\0';
	/* NAME.<host>.<run>: the run has no dots. */
	if ((run = strrchr(copy, '.')) == NULL || !run_id_valid(run + 1))
		goto done;
	*run++ = '\0';
	len = strlen(copy);
	if (len < hlen + 2 || copy[len - hlen - 1] != '.' ||
	    strcmp(copy + len - hlen, ctx->host) != 0)
		goto done;
	host = copy + len - hlen;
	host[-1] = '\0';
	if (!target_name_valid(copy) || is_part(copy) ||
	    !host_area_ok(copy, ctx->host))
		goto done;
	pe = *e;
	pe.object = copy;
	pe.host = host;
	pe.run_id = run;
	rc = ctx->fn(ctx->cookie, &pe);

done:
	free(copy);
	return (rc);
}

int
target_list_parts(struct target *t, const char *host, target_list_fn *fn,
    void *cookie)
{
	struct parts_ctx ctx;

	if (label_check(host, "host name") != 0) {
		errno = EINVAL;
		return (-1);
	}
	if (t->ops->list == NULL)
		return (no_op(t, "list", ""));
	ctx.host = host;
	ctx.fn = fn;
	ctx.cookie = cookie;
	return (t->ops->list(t, "", TARGET_LIST_PARTS, parts_cb, &ctx));
}

int
target_delete(struct target *t, const char *name)
{

	if (check_name(name) != 0)
		return (-1);
	if (t->ops->delete == NULL)
		return (no_op(t, "delete object", name));
	return (t->ops->delete(t, name));
}

int
target_sync_dir(struct target *t, const char *prefix)
{
	char *dir;
	size_t len;
	int rc = -1;

	if (t->ops->sync_dir == NULL)
		return (0);
	/* A directory: "" is the root, one trailing '/' is allowed. */
	if ((dir = util_strdup(prefix != NULL ? prefix : "")) == NULL)
		return (-1);
	len = strlen(dir);
	if (len > 0 && dir[len - 1] == '/')
		dir[--len] = '\0';
	if (len > 0 && check_name(dir) != 0)
		goto cleanup;
	rc = t->ops->sync_dir(t, dir);

cleanup:
	free(dir);
	return (rc);
}

void
target_free(struct target *t)
{

	if (t == NULL)
		return;
	if (t->ops != NULL && t->ops->free != NULL)
		t->ops->free(t);
	free(t->url);
	free(t->host);
	free(t->run_id);
	free(t);
}
