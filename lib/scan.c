#include "compat.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "scan.h"
#include "util.h"
#include "warnp.h"

#define CACHEDIR_TAG		"CACHEDIR.TAG"
#define CACHEDIR_SIG	"Signature: 8a477f597d28d172789f06886806bc55"
#define CACHEDIR_SIG_LEN	43

/* One exclude pattern, in the form it is matched. */
struct pattern {
	char *pat;		/* without leading '/' and trailing '/' */
	int anchored;		/* started with '/': whole archive path */
	int slash;		/* has a '/': trailing runs of components */
	int dironly;		/* ended with '/' */
};

struct never {
	dev_t dev;
	ino_t ino;
};

struct scan {
	unsigned int flags;
	char **sources;		/* normalised absolute paths */
	size_t nsources;
	struct pattern *pats;
	size_t npats;
	struct never *nevers;
	size_t nnevers;

	/* During scan_run. */
	char *path;		/* "/" + archive path, NUL-terminated */
	size_t pathlen;
	size_t pathcap;
	char *link;
	size_t linkcap;
	dev_t rootdev;
	scan_entry_fn *entry_fn;
	scan_note_fn *note_fn;
	void *cookie;
	struct scan_stats stats;
	int ran;
};

/* A directory's names, read whole and sorted. */
struct names {
	char *buf;
	size_t len, cap;
	size_t *off;
	size_t n, ncap;
};

int
scan_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;
	unsigned int ca, cb;

	for (i = 0; i < n; i++) {
		ca = (unsigned char)a[i];
		cb = (unsigned char)b[i];
		if (ca == cb)
			continue;
		/* '/' ranks below every other byte. */
		if (ca == '/')
			return (-1);
		if (cb == '/')
			return (1);
		return (ca < cb ? -1 : 1);
	}
	if (alen == blen)
		return (0);
	return (alen < blen ? -1 : 1);
}

/* Match a bracket expression at p (just after '['); *end gets the byte
 * after ']'.  Returns 1 match, 0 no match, -1 malformed. */
static int
match_class(const char *p, unsigned char c, const char **end)
{
	int neg = 0, found = 0, first = 1;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	for (;;) {
		if (*p == '\0')
			return (-1);
		if (*p == ']' && !first)
			break;
		first = 0;
		if (*p == '\\' && p[1] != '\0')
			p++;
		lo = (unsigned char)*p++;
		hi = lo;
		if (*p == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '\\' && p[1] != '\0')
				p++;
			hi = (unsigned char)*p++;
		}
		if (lo <= c && c <= hi)
			found = 1;
	}
	*end = p + 1;
	if (c == '/')
		return (0);
	return (found != neg);
}

/* Glob match of pattern p (starting at pat) against the whole string s. */
static int
glob(const char *pat, const char *p, const char *s)
{
	const char *end;
	int r;

	for (;;) {
		switch (*p) {
		case '\0':
			return (*s == '\0');
		case '*':
			if (p[1] == '*' && (p == pat || p[-1] == '/') &&
			    (p[2] == '/' || p[2] == '\0')) {
				/* "**" as a whole component. */
				if (p[2] == '\0')
					return (1);
				/* Zero components, then after each '/'. */
				for (;;) {
					if (glob(pat, p + 3, s))
						return (1);
					while (*s != '\0' && *s != '/')
						s++;
					if (*s == '\0')
						return (0);
					s++;
				}
			}
			while (p[1] == '*')
				p++;
			for (;;) {
				if (glob(pat, p + 1, s))
					return (1);
				if (*s == '\0' || *s == '/')
					return (0);
				s++;
			}
		case '?':
			if (*s == '\0' || *s == '/')
				return (0);
			p++;
			s++;
			break;
		case '[':
			if (*s == '\0')
				return (0);
			r = match_class(p + 1, (unsigned char)*s, &end);
			if (r == 0)
				return (0);
			if (r < 0) {
				/* Malformed: a literal '['. */
				if (*s != '[')
					return (0);
				p++;
			} else
				p = end;
			s++;
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			/* FALLTHROUGH */
		default:
			if (*p != *s)
				return (0);
			p++;
			s++;
			break;
		}
	}
}

static int
pattern_match(const struct pattern *pt, const char *path, int isdir)
{
	const char *s, *base;

	if (pt->dironly && !isdir)
		return (0);
	if (pt->anchored)
		return (glob(pt->pat, pt->pat, path));
	if (!pt->slash) {
		base = strrchr(path, '/');
		base = base != NULL ? base + 1 : path;
		return (glob(pt->pat, pt->pat, base));
	}
	/* Any trailing run of whole components. */
	for (s = path;;) {
		if (glob(pt->pat, pt->pat, s))
			return (1);
		s = strchr(s, '/');
		if (s == NULL)
			return (0);
		s++;
	}
}

/* Parse pattern text into pt.  Returns 0, 1 (empty: ignore), -1. */
static int
pattern_init(struct pattern *pt, const char *text)
{
	size_t len = strlen(text);

	memset(pt, 0, sizeof(*pt));
	while (len > 0 && text[len - 1] == '/' &&
	    !(len > 1 && text[len - 2] == '\\')) {
		pt->dironly = 1;
		len--;
	}
	if (len > 0 && text[0] == '/') {
		pt->anchored = 1;
		while (len > 0 && text[0] == '/') {
			text++;
			len--;
		}
	}
	if (len == 0)
		return (1);
	if ((pt->pat = malloc(len + 1)) == NULL) {
		warnp("cannot allocate exclude pattern");
		return (-1);
	}
	memcpy(pt->pat, text, len);
	pt->pat[len] = '\0';
	pt->slash = memchr(pt->pat, '/', len) != NULL;
	return (0);
}

int
scan_glob_match(const char *pattern, const char *path, int isdir)
{
	struct pattern pt;
	int r;

	if (pattern_init(&pt, pattern) != 0)
		return (0);
	r = pattern_match(&pt, path, isdir);
	free(pt.pat);
	return (r);
}

struct scan *
scan_new(unsigned int flags)
{
	struct scan *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		warnp("cannot allocate scan");
		return (NULL);
	}
	s->flags = flags;
	return (s);
}

void
scan_free(struct scan *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nsources; i++)
		free(s->sources[i]);
	free(s->sources);
	for (i = 0; i < s->npats; i++)
		free(s->pats[i].pat);
	free(s->pats);
	free(s->nevers);
	free(s->path);
	free(s->link);
	free(s);
}

/* Grow *buf (of *cap bytes) to hold need bytes.  0 or -1. */
static int
grow(char **buf, size_t *cap, size_t need)
{
	size_t ncap;
	char *nbuf;

	if (need <= *cap)
		return (0);
	ncap = *cap > 0 ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	if ((nbuf = realloc(*buf, ncap)) == NULL) {
		warnp("cannot allocate %zu bytes", ncap);
		return (-1);
	}
	*buf = nbuf;
	*cap = ncap;
	return (0);
}

int
scan_add_source(struct scan *s, const char *path)
{
	char *abs = NULL, *norm = NULL, *parent = NULL, *real = NULL;
	char *cwd = NULL, **nsrc;
	const char *last;
	size_t i, j, len, lastlen;
	int ret = -1;

	if (path == NULL || path[0] == '\0') {
		warn0("empty source path");
		goto cleanup;
	}
	if (path[0] != '/') {
		if ((cwd = getcwd(NULL, 0)) == NULL) {
			warnp("cannot get the current directory");
			goto cleanup;
		}
		abs = util_asprintf("%s/%s", cwd, path);
	} else
		abs = util_strdup(path);
	if (abs == NULL)
		goto cleanup;

	/* Drop empty and "." components. */
	len = strlen(abs);
	if ((norm = malloc(len + 2)) == NULL) {
		warnp("cannot allocate path");
		goto cleanup;
	}
	j = 0;
	for (i = 0; i < len;) {
		size_t k;

		while (i < len && abs[i] == '/')
			i++;
		for (k = i; k < len && abs[k] != '/'; k++)
			;
		if (k == i)
			break;
		if (!(k - i == 1 && abs[i] == '.')) {
			norm[j++] = '/';
			memcpy(norm + j, abs + i, k - i);
			j += k - i;
		}
		i = k;
	}
	if (j == 0)
		norm[j++] = '/';
	norm[j] = '\0';

	/* Resolve the parent; keep the last component as given. */
	last = strrchr(norm, '/') + 1;
	lastlen = strlen(last);
	if (lastlen == 0) {
		/* The root directory. */
		real = util_strdup("/");
	} else if (strcmp(last, "..") == 0) {
		if ((real = realpath(norm, NULL)) == NULL)
			warnp("cannot resolve source '%s'", path);
	} else {
		if (last - 1 == norm)
			parent = util_strdup("/");
		else if ((parent = malloc((size_t)(last - norm))) != NULL) {
			memcpy(parent, norm, (size_t)(last - 1 - norm));
			parent[last - 1 - norm] = '\0';
		}
		if (parent == NULL) {
			warnp("cannot allocate path");
			goto cleanup;
		}
		free(abs);
		if ((abs = realpath(parent, NULL)) == NULL) {
			warnp("cannot resolve source '%s'", path);
			goto cleanup;
		}
		real = util_asprintf("%s%s%s", abs,
		    strcmp(abs, "/") == 0 ? "" : "/", last);
	}
	if (real == NULL)
		goto cleanup;

	nsrc = realloc(s->sources, (s->nsources + 1) * sizeof(*nsrc));
	if (nsrc == NULL) {
		warnp("cannot allocate sources");
		goto cleanup;
	}
	s->sources = nsrc;
	s->sources[s->nsources++] = real;
	real = NULL;
	ret = 0;

cleanup:
	free(cwd);
	free(abs);
	free(norm);
	free(parent);
	free(real);
	return (ret);
}

int
scan_add_exclude(struct scan *s, const char *pattern)
{
	struct pattern pt, *npats;
	int r;

	if ((r = pattern_init(&pt, pattern)) != 0)
		return (r < 0 ? -1 : 0);
	npats = realloc(s->pats, (s->npats + 1) * sizeof(*npats));
	if (npats == NULL) {
		warnp("cannot allocate exclude patterns");
		free(pt.pat);
		return (-1);
	}
	s->pats = npats;
	s->pats[s->npats++] = pt;
	return (0);
}

int
scan_add_exclude_file(struct scan *s, const char *file)
{
	char *buf = NULL, *line, *next, *p;
	size_t len, l;
	int ret = -1;

	if (util_read_file(file, &buf, &len, 16 * 1024 * 1024) != 0)
		goto cleanup;
	for (line = buf; line < buf + len; line = next) {
		if ((next = memchr(line, '\n', (size_t)(buf + len - line))) ==
		    NULL)
			next = buf + len;
		l = (size_t)(next - line);
		if (next < buf + len)
			next++;
		if (memchr(line, '\0', l) != NULL) {
			warn0("exclude file '%s' holds a NUL byte", file);
			goto cleanup;
		}
		line[l] = '\0';
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t') &&
		    !(l > 1 && line[l - 2] == '\\'))
			line[--l] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (scan_add_exclude(s, line) != 0)
			goto cleanup;
	}
	ret = 0;

cleanup:
	free(buf);
	return (ret);
}

int
scan_add_never(struct scan *s, const char *path)
{
	struct stat st;
	struct never *n;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		warnp("cannot stat '%s'", path);
		return (-1);
	}
	if ((n = realloc(s->nevers, (s->nnevers + 1) * sizeof(*n))) == NULL) {
		warnp("cannot allocate paths");
		return (-1);
	}
	s->nevers = n;
	s->nevers[s->nnevers].dev = st.st_dev;
	s->nevers[s->nnevers].ino = st.st_ino;
	s->nnevers++;
	return (0);
}

const struct scan_stats *
scan_get_stats(const struct scan *s)
{

	return (&s->stats);
}

int
scan_cachedir_tag_valid(int dfd)
{
	char buf[CACHEDIR_SIG_LEN];
	struct stat st;
	int fd, ok = 0;

	fd = openat(dfd, CACHEDIR_TAG,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return (0);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    util_read_all(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	    memcmp(buf, CACHEDIR_SIG, CACHEDIR_SIG_LEN) == 0)
		ok = 1;
	close(fd);
	return (ok);
}

static void
note(struct scan *s, enum scan_note what, int err)
{

	switch (what) {
	case SCAN_NOTE_SOCKET:
		s->stats.sockets++;
		break;
	case SCAN_NOTE_VANISHED:
		s->stats.vanished++;
		break;
	case SCAN_NOTE_UNREADABLE:
		s->stats.unreadable++;
		break;
	case SCAN_NOTE_EXCLUDED:
		s->stats.excluded++;
		break;
	case SCAN_NOTE_NEVER:
		s->stats.never++;
		break;
	case SCAN_NOTE_XDEV:
		s->stats.xdev++;
		break;
	case SCAN_NOTE_CACHEDIR:
		s->stats.cachedirs++;
		break;
	}
	if (s->note_fn != NULL)
		s->note_fn(s->cookie, what, s->path + 1, s->pathlen - 1, err);
	else if (what == SCAN_NOTE_UNREADABLE) {
		errno = err;
		warnp("cannot read '%s'", s->path);
	}
}

static int
is_never(const struct scan *s, const struct stat *st)
{
	size_t i;

	for (i = 0; i < s->nnevers; i++)
		if (s->nevers[i].dev == st->st_dev &&
		    s->nevers[i].ino == st->st_ino)
			return (1);
	return (0);
}

static int
is_excluded(const struct scan *s, int isdir)
{
	size_t i;

	for (i = 0; i < s->npats; i++)
		if (pattern_match(&s->pats[i], s->path + 1, isdir))
			return (1);
	return (0);
}

/* Append "/name" to the current path; *oldlen gets the previous length. */
static int
path_push(struct scan *s, const char *name, size_t namelen, size_t *oldlen)
{
	size_t sep = s->pathlen > 1 ? 1 : 0;

	*oldlen = s->pathlen;
	if (grow(&s->path, &s->pathcap, s->pathlen + sep + namelen + 1))
		return (-1);
	if (sep)
		s->path[s->pathlen++] = '/';
	memcpy(s->path + s->pathlen, name, namelen);
	s->pathlen += namelen;
	s->path[s->pathlen] = '\0';
	return (0);
}

static void
path_pop(struct scan *s, size_t oldlen)
{

	s->pathlen = oldlen;
	s->path[oldlen] = '\0';
}

static int
emit(struct scan *s, int dfd, size_t nameoff, const struct stat *st,
    unsigned int flags, unsigned int depth)
{
	struct scan_entry e;
	ssize_t n;

	memset(&e, 0, sizeof(e));
	e.path = s->path + 1;
	e.pathlen = s->pathlen - 1;
	e.abspath = s->path;
	e.name = s->path + nameoff;
	e.namelen = s->pathlen - nameoff;
	e.dirfd = dfd;
	e.st = *st;
	e.flags = flags;
	e.depth = depth;
	if (S_ISREG(st->st_mode)) {
		e.type = SCAN_REG;
		s->stats.files++;
		s->stats.bytes += (uint64_t)st->st_size;
	} else if (S_ISDIR(st->st_mode)) {
		e.type = SCAN_DIR;
		s->stats.dirs++;
	} else if (S_ISLNK(st->st_mode)) {
		e.type = SCAN_SYMLINK;
		s->stats.symlinks++;
		for (;;) {
			if (grow(&s->link, &s->linkcap,
			    (size_t)st->st_size + 2 > 256 ?
			    (size_t)st->st_size + 2 : 256))
				return (-1);
			n = readlinkat(dfd, e.name, s->link, s->linkcap);
			if (n < 0) {
				/* Gone or replaced since lstat. */
				note(s, errno == ENOENT ? SCAN_NOTE_VANISHED :
				    SCAN_NOTE_UNREADABLE, errno);
				s->stats.symlinks--;
				return (0);
			}
			if ((size_t)n < s->linkcap)
				break;
			if (grow(&s->link, &s->linkcap, s->linkcap * 2))
				return (-1);
		}
		s->link[n] = '\0';
		e.link = s->link;
		e.linklen = (size_t)n;
	} else {
		if (S_ISFIFO(st->st_mode))
			e.type = SCAN_FIFO;
		else if (S_ISCHR(st->st_mode))
			e.type = SCAN_CHR;
		else
			e.type = SCAN_BLK;
		s->stats.others++;
	}
	s->stats.entries++;
	return (s->entry_fn(s->cookie, &e));
}

static int walk_dir(struct scan *, int, unsigned int);

/*
 * One entry named by the tail of s->path (from nameoff) in the directory
 * dfd, with lstat st: filter, report, and descend.
 */
static int
process(struct scan *s, int dfd, size_t nameoff, const struct stat *st,
    unsigned int flags, unsigned int depth)
{
	struct stat dst, tst;
	size_t oldlen;
	int fd = -1, r, isdir = S_ISDIR(st->st_mode), cachedir = 0;

	if (S_ISSOCK(st->st_mode)) {
		note(s, SCAN_NOTE_SOCKET, 0);
		return (0);
	}
	if (is_never(s, st)) {
		note(s, SCAN_NOTE_NEVER, 0);
		return (0);
	}
	if (is_excluded(s, isdir)) {
		note(s, SCAN_NOTE_EXCLUDED, 0);
		return (0);
	}
	if (!isdir)
		return (emit(s, dfd, nameoff, st, flags, depth));

	if ((s->flags & SCAN_ONE_FS) && st->st_dev != s->rootdev) {
		flags |= SCAN_ENTRY_XDEV;
		note(s, SCAN_NOTE_XDEV, 0);
		return (emit(s, dfd, nameoff, st, flags, depth));
	}
	fd = openat(dfd, s->path + nameoff,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
			note(s, SCAN_NOTE_VANISHED, errno);
			return (0);
		}
		flags |= SCAN_ENTRY_UNREADABLE;
		note(s, SCAN_NOTE_UNREADABLE, errno);
		return (emit(s, dfd, nameoff, st, flags, depth));
	}
	if (fstat(fd, &dst) != 0 || dst.st_dev != st->st_dev ||
	    dst.st_ino != st->st_ino) {
		/* Replaced between lstat and open. */
		close(fd);
		note(s, SCAN_NOTE_VANISHED, 0);
		return (0);
	}
	if ((s->flags & SCAN_EXCLUDE_CACHES) && scan_cachedir_tag_valid(fd)) {
		flags |= SCAN_ENTRY_CACHEDIR;
		cachedir = 1;
	}
	if ((r = emit(s, dfd, nameoff, st, flags, depth)) != 0)
		goto done;
	if (cachedir) {
		note(s, SCAN_NOTE_CACHEDIR, 0);
		if ((r = path_push(s, CACHEDIR_TAG, strlen(CACHEDIR_TAG),
		    &oldlen)) != 0)
			goto done;
		if (fstatat(fd, CACHEDIR_TAG, &tst, AT_SYMLINK_NOFOLLOW) == 0)
			r = process(s, fd, s->pathlen - strlen(CACHEDIR_TAG),
			    &tst, 0, depth + 1);
		else
			note(s, SCAN_NOTE_VANISHED, errno);
		path_pop(s, oldlen);
		goto done;
	}
	r = walk_dir(s, fd, depth + 1);
	fd = -1;		/* walk_dir closed it */

done:
	if (fd >= 0)
		close(fd);
	return (r);
}

static int
names_cmp(const void *a, const void *b, void *buf)
{

	return (strcmp((const char *)buf + *(const size_t *)a,
	    (const char *)buf + *(const size_t *)b));
}

static void
names_free(struct names *nm)
{

	free(nm->buf);
	free(nm->off);
}

/* Read every name of the directory open as fd (which this closes), sort,
 * and process each at depth. */
static int
walk_dir(struct scan *s, int fd, unsigned int depth)
{
	struct names nm;
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t i, nl, oldlen;
	size_t *noff;
	int r = -1;

	memset(&nm, 0, sizeof(nm));
	if ((d = fdopendir(fd)) == NULL) {
		note(s, SCAN_NOTE_UNREADABLE, errno);
		close(fd);
		return (0);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				note(s, SCAN_NOTE_UNREADABLE, errno);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nl = strlen(de->d_name);
		if (grow(&nm.buf, &nm.cap, nm.len + nl + 1))
			goto cleanup;
		if (nm.n == nm.ncap) {
			nm.ncap = nm.ncap ? nm.ncap * 2 : 64;
			noff = realloc(nm.off, nm.ncap * sizeof(*noff));
			if (noff == NULL) {
				warnp("cannot allocate directory names");
				goto cleanup;
			}
			nm.off = noff;
		}
		nm.off[nm.n++] = nm.len;
		memcpy(nm.buf + nm.len, de->d_name, nl + 1);
		nm.len += nl + 1;
	}
	if (nm.n > 1)
		qsort_r(nm.off, nm.n, sizeof(*nm.off), names_cmp, nm.buf);

	for (i = 0; i < nm.n; i++) {
		const char *name = nm.buf + nm.off[i];

		if (path_push(s, name, strlen(name), &oldlen) != 0)
			goto cleanup;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			note(s, errno == ENOENT ? SCAN_NOTE_VANISHED :
			    SCAN_NOTE_UNREADABLE, errno);
			path_pop(s, oldlen);
			continue;
		}
		r = process(s, dirfd(d), s->pathlen - strlen(name), &st, 0,
		    depth);
		path_pop(s, oldlen);
		if (r != 0)
			goto cleanup;
	}
	r = 0;

cleanup:
	names_free(&nm);
	closedir(d);
	return (r);
}

/* Set s->path to the absolute path abs. */
static int
path_set(struct scan *s, const char *abs)
{
	size_t len = strlen(abs);

	if (grow(&s->path, &s->pathcap, len + 1))
		return (-1);
	memcpy(s->path, abs, len + 1);
	s->pathlen = len;
	return (0);
}

/*
 * Open the parent of s->path O_PATH and lstat the entry; *nameoff gets the
 * offset of the last component.  Returns the fd, or -1 with errno set.
 */
static int
open_parent(struct scan *s, size_t *nameoff, struct stat *st)
{
	char *slash = strrchr(s->path, '/');
	int fd, e;

	*nameoff = (size_t)(slash - s->path) + 1;
	if (slash == s->path)
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else {
		*slash = '\0';
		fd = open(s->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	}
	if (fd < 0)
		return (-1);
	if (fstatat(fd, s->path + *nameoff, st, AT_SYMLINK_NOFOLLOW) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

/* Report the ancestors of the source root abs not yet reported. */
static int
emit_parents(struct scan *s, const char *abs, const char *prev)
{
	struct stat st;
	size_t i, nameoff, plen = prev != NULL ? strlen(prev) : 0;
	char *copy = NULL;
	int fd, r = 0;

	if ((copy = util_strdup(abs)) == NULL)
		return (-1);
	for (i = 1; copy[i] != '\0'; i++) {
		if (copy[i] != '/')
			continue;
		/* copy[0..i) is an ancestor; reported with prev if it is a
		 * proper ancestor of prev. */
		if (prev != NULL && plen > i && memcmp(prev, copy, i) == 0 &&
		    prev[i] == '/')
			continue;
		copy[i] = '\0';
		r = path_set(s, copy);
		copy[i] = '/';
		if (r != 0)
			break;
		if ((fd = open_parent(s, &nameoff, &st)) < 0) {
			note(s, SCAN_NOTE_UNREADABLE, errno);
			continue;
		}
		r = emit(s, fd, nameoff, &st, SCAN_ENTRY_PARENT, 0);
		close(fd);
		if (r != 0)
			break;
	}
	free(copy);
	return (r);
}

/* 1 if the source root abs is inside a never-backed-up directory (the
 * root itself is checked by its lstat in process()). */
static int
under_never(struct scan *s, const char *abs)
{
	struct stat st;
	char *copy;
	size_t i;
	int found = 0;

	if (s->nnevers == 0 || (copy = util_strdup(abs)) == NULL)
		return (0);
	for (i = strlen(copy); i > 1 && !found; i--) {
		if (copy[i - 1] != '/')
			continue;
		copy[i - 1] = '\0';
		if (stat(copy, &st) == 0 && is_never(s, &st))
			found = 1;
	}
	if (!found && stat("/", &st) == 0 && is_never(s, &st))
		found = 1;
	free(copy);
	return (found);
}

static int
source_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return (scan_path_cmp(x, strlen(x), y, strlen(y)));
}

/* 1 if b is a or inside a (both absolute, normalised). */
static int
source_covers(const char *a, const char *b)
{
	size_t al = strlen(a);

	if (strcmp(a, "/") == 0)
		return (1);
	return (strncmp(a, b, al) == 0 && (b[al] == '\0' || b[al] == '/'));
}

static int
scan_source(struct scan *s, const char *abs)
{
	struct stat st;
	size_t nameoff;
	int fd, r;

	if (path_set(s, abs) != 0)
		return (-1);
	if (strcmp(abs, "/") == 0) {
		/* The root itself has no archive path: walk its entries. */
		s->pathlen = 1;
		if (lstat("/", &st) != 0) {
			note(s, SCAN_NOTE_UNREADABLE, errno);
			return (0);
		}
		if (is_never(s, &st)) {
			note(s, SCAN_NOTE_NEVER, 0);
			return (0);
		}
		s->rootdev = st.st_dev;
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			note(s, SCAN_NOTE_UNREADABLE, errno);
			return (0);
		}
		return (walk_dir(s, fd, 1));
	}
	if (under_never(s, abs)) {
		note(s, SCAN_NOTE_NEVER, 0);
		return (0);
	}
	if ((fd = open_parent(s, &nameoff, &st)) < 0) {
		note(s, SCAN_NOTE_UNREADABLE, errno);
		return (0);
	}
	s->rootdev = st.st_dev;
	r = process(s, fd, nameoff, &st, SCAN_ENTRY_ROOT, 0);
	close(fd);
	return (r);
}

int
scan_run(struct scan *s, scan_entry_fn *entry, scan_note_fn *notefn,
    void *cookie)
{
	const char *prev = NULL;
	size_t i;
	int r = 0;

	if (s->ran) {
		warn0("scan already run");
		return (-1);
	}
	s->ran = 1;
	s->entry_fn = entry;
	s->note_fn = notefn;
	s->cookie = cookie;
	memset(&s->stats, 0, sizeof(s->stats));

	if (s->nsources > 1)
		qsort(s->sources, s->nsources, sizeof(*s->sources),
		    source_cmp);
	for (i = 0; i < s->nsources; i++) {
		/* Sorted: a covering source comes right before. */
		if (prev != NULL && source_covers(prev, s->sources[i]))
			continue;
		if ((s->flags & SCAN_PARENTS) &&
		    (r = emit_parents(s, s->sources[i], prev)) != 0)
			break;
		if ((r = scan_source(s, s->sources[i])) != 0)
			break;
		prev = s->sources[i];
	}
	return (r);
}
