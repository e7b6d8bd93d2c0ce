#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "util.h"
#include "warnp.h"

/*
 * How libinih is used.  Debian's inih 55 is built with INI_RUNTIME_OPTIONS:
 * the compile-time options of ini.h are variables (ini_allow_multiline,
 * ...), set here before each parse.  Its defaults do not fit a git-style
 * file: Python-style continuation lines (an indented line continues the
 * previous value), inline ';' comments that cut quoted values, a 200-byte
 * line buffer that silently splits longer lines, section names truncated to
 * 49 bytes (MAX_SECTION), text after ']' ignored, keeping on after the first
 * error, and a handler without the line number (INI_HANDLER_LINENO is 0).
 *
 * So: multiline and inline comments off, stop on the first error, a heap
 * line buffer as long as the longest line.  Lines reach inih through our
 * own reader (ini_parse_stream), which counts lines (the handler reads the
 * number from the parse state), checks every line's syntax, and hands a
 * section header on as "[N]", N an index into a table of parsed headers,
 * so subsections of any length and content survive.  inih splits
 * "name = value" and trims; the handler checks the name and unquotes the
 * value (quotes, escapes, trailing comments) the way git does.
 */

#define CONFIG_MAX_SIZE (1024 * 1024)

struct config_entry {
	char *key;		/* normalised "section[.subsection].name" */
	char *section;		/* lower case */
	char *subsection;	/* as written; NULL when none */
	char *name;		/* lower case */
	char *value;
	const char *file;	/* one of config.files */
	int line;
};

struct config {
	struct config_entry *entries;
	size_t n, cap;
	char **files;
	size_t nfiles;
};

/* A parsed section header. */
struct header {
	char *section;		/* lower case */
	char *subsection;	/* NULL when none */
};

/* The state of one parse: the reader and the handler share it. */
struct parse {
	struct config *c;
	const char *file;
	const char *p, *end;	/* the text not yet read */
	int lineno;
	int failed;		/* an error was reported */
	struct header *hdrs;
	size_t nhdrs, caphdrs;
};

/* A key split into its parts (pointers into the key). */
struct key_parts {
	const char *sec, *sub, *name;
	size_t seclen, sublen, namelen;
};

/* A growable output buffer; oom is set when an allocation failed. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void report(const char *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* report(file, line, fmt, ...): "config file 'F', line N: message". */
static void
report(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn0("config file '%s', line %d: %s", file, line, msg);
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static int
is_section_char(int ch)
{
	return isalnum(ch) || ch == '-';
}

/* check_name(s, n): s[0..n) is a name, [A-Za-z][A-Za-z0-9-]*. */
static int
check_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return -1;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return -1;
	return 0;
}

static char *
lower_dup(const char *s, size_t n)
{
	char *p;
	size_t i;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		p[i] = (char)tolower((unsigned char)s[i]);
	p[n] = '\0';
	return p;
}

/*
 * split_key(key, kp, why): split key into section, subsection, name
 * (section up to the first dot, name after the last).  Returns 0, or -1
 * with *why set.
 */
static int
split_key(const char *key, struct key_parts *kp, const char **why)
{
	const char *first, *last;
	size_t i;

	memset(kp, 0, sizeof(*kp));
	if ((first = strchr(key, '.')) == NULL) {
		*why = "expected section.name or section.subsection.name";
		return -1;
	}
	last = strrchr(key, '.');
	kp->sec = key;
	kp->seclen = (size_t)(first - key);
	if (kp->seclen == 0) {
		*why = "empty section name";
		return -1;
	}
	for (i = 0; i < kp->seclen; i++) {
		if (!is_section_char((unsigned char)key[i])) {
			*why = "bad section name (letters, digits and '-')";
			return -1;
		}
	}
	kp->name = last + 1;
	kp->namelen = strlen(kp->name);
	if (check_name(kp->name, kp->namelen) != 0) {
		*why = "bad name (a letter, then letters, digits and '-')";
		return -1;
	}
	if (first != last) {
		kp->sub = first + 1;
		kp->sublen = (size_t)(last - first - 1);
		if (kp->sublen == 0) {
			*why = "empty subsection";
			return -1;
		}
		if (memchr(kp->sub, '\n', kp->sublen) != NULL) {
			*why = "newline in subsection";
			return -1;
		}
	}
	return 0;
}

int
config_key_normalize(const char *key, char **out)
{
	struct key_parts kp;
	const char *why;
	char *sec = NULL, *name = NULL;
	int rc = -1;

	*out = NULL;
	if (split_key(key, &kp, &why) != 0) {
		warn0("invalid key '%s': %s", key, why);
		return -1;
	}
	if ((sec = lower_dup(kp.sec, kp.seclen)) == NULL ||
	    (name = lower_dup(kp.name, kp.namelen)) == NULL) {
		warnp("out of memory");
		goto cleanup;
	}
	if (kp.sub != NULL)
		*out = util_asprintf("%s.%.*s.%s", sec, (int)kp.sublen, kp.sub,
		    name);
	else
		*out = util_asprintf("%s.%s", sec, name);
	if (*out != NULL)
		rc = 0;
cleanup:
	free(sec);
	free(name);
	return rc;
}

/* entry_matches(e, kp): e holds the key kp names. */
static int
entry_matches(const struct config_entry *e, const struct key_parts *kp)
{
	if (strlen(e->section) != kp->seclen ||
	    strncasecmp(e->section, kp->sec, kp->seclen) != 0)
		return 0;
	if (strlen(e->name) != kp->namelen ||
	    strncasecmp(e->name, kp->name, kp->namelen) != 0)
		return 0;
	if ((e->subsection == NULL) != (kp->sub == NULL))
		return 0;
	if (kp->sub != NULL && (strlen(e->subsection) != kp->sublen ||
	    memcmp(e->subsection, kp->sub, kp->sublen) != 0))
		return 0;
	return 1;
}

/* find_last(c, key): the entry holding the last value of key, or NULL. */
static const struct config_entry *
find_last(const struct config *c, const char *key)
{
	struct key_parts kp;
	const char *why;
	size_t i;

	if (c == NULL || key == NULL || split_key(key, &kp, &why) != 0)
		return NULL;
	for (i = c->n; i > 0; i--)
		if (entry_matches(&c->entries[i - 1], &kp))
			return &c->entries[i - 1];
	return NULL;
}

/*
 * parse_header(s, n, hdr, why): parse the section header s[0..n) (s[0] is
 * '[') into hdr (allocated).  After ']' only whitespace or a comment may
 * follow.  Returns 0, -1 with *why set, or -2 when out of memory.
 */
static int
parse_header(const char *s, size_t n, struct header *hdr, const char **why)
{
	struct buf sub = { NULL, 0, 0, 0 };
	size_t i = 1, start;
	int rc = -1;

	hdr->section = hdr->subsection = NULL;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	start = i;
	while (i < n && is_section_char((unsigned char)s[i]))
		i++;
	if (i == start) {
		*why = "bad section header: missing or bad section name";
		goto cleanup;
	}
	if ((hdr->section = lower_dup(s + start, i - start)) == NULL)
		goto oom;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			buf_add(&sub, s + i, 1);
		}
		if (i >= n) {
			*why = "bad section header: unterminated subsection";
			goto cleanup;
		}
		i++;
		if (sub.len == 0 && !sub.oom) {
			*why = "bad section header: empty subsection";
			goto cleanup;
		}
		if (sub.oom)
			goto oom;
		hdr->subsection = sub.p;
		sub.p = NULL;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	} else if (i < n && s[i] == '.') {
		*why = "bad section header: write [section \"subsection\"]";
		goto cleanup;
	}
	if (i >= n || s[i] != ']') {
		*why = "bad section header: expected ']'";
		goto cleanup;
	}
	for (i++; i < n && isspace((unsigned char)s[i]); i++)
		;
	if (i < n && s[i] != '#' && s[i] != ';') {
		*why = "bad section header: text after ']'";
		goto cleanup;
	}
	rc = 0;
	goto cleanup;
oom:
	rc = -2;
	*why = "out of memory";
cleanup:
	free(sub.p);
	if (rc != 0) {
		free(hdr->section);
		free(hdr->subsection);
		hdr->section = hdr->subsection = NULL;
	}
	return rc;
}

/*
 * parse_value(raw, out, why): unquote a value as git does: unquoted
 * whitespace is trimmed at the ends, '#' or ';' outside quotes starts a
 * comment, "..." keeps everything, \" \\ \n \t \b are escapes.  Returns 0
 * (*out allocated), -1 with *why set, or -2 when out of memory.
 */
static int
parse_value(const char *raw, char **out, const char **why)
{
	const char *s, *ws = NULL;
	size_t len = 0;
	char *v;
	int quote = 0;

	if ((v = malloc(strlen(raw) + 1)) == NULL) {
		*why = "out of memory";
		return -2;
	}
	for (s = raw; *s != '\0'; s++) {
		if (!quote && isspace((unsigned char)*s)) {
			if (ws == NULL)
				ws = s;
			continue;
		}
		if (!quote && (*s == '#' || *s == ';'))
			break;
		if (ws != NULL) {
			if (len > 0) {
				memcpy(v + len, ws, (size_t)(s - ws));
				len += (size_t)(s - ws);
			}
			ws = NULL;
		}
		if (*s == '"') {
			quote = !quote;
			continue;
		}
		if (*s == '\\') {
			switch (*++s) {
			case 'n':
				v[len++] = '\n';
				break;
			case 't':
				v[len++] = '\t';
				break;
			case 'b':
				v[len++] = '\b';
				break;
			case '"':
			case '\\':
				v[len++] = *s;
				break;
			default:
				*why = "bad escape (use \\\" \\\\ \\n \\t \\b)";
				free(v);
				return -1;
			}
			continue;
		}
		v[len++] = *s;
	}
	if (quote) {
		*why = "unterminated quote";
		free(v);
		return -1;
	}
	v[len] = '\0';
	*out = v;
	return 0;
}

/* skip_ws(s, e): the first non-blank character of [s, e). */
static const char *
skip_ws(const char *s, const char *e)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	return s;
}

static int
add_header(struct parse *ps, struct header *hdr)
{
	struct header *h;
	size_t cap;

	if (ps->nhdrs == ps->caphdrs) {
		cap = ps->caphdrs ? ps->caphdrs * 2 : 8;
		if ((h = realloc(ps->hdrs, cap * sizeof(*h))) == NULL)
			return -1;
		ps->hdrs = h;
		ps->caphdrs = cap;
	}
	ps->hdrs[ps->nhdrs++] = *hdr;
	return 0;
}

/*
 * reader(str, num, stream): inih's fgets: the next line of the text,
 * checked, with a section header replaced by "[N]".  NULL at the end or
 * after an error (reported; ps->failed set).
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	struct header hdr;
	const char *line, *nl, *e, *s, *why;
	size_t len;
	int r;

	if (ps->failed || ps->p >= ps->end)
		return NULL;
	line = ps->p;
	nl = memchr(line, '\n', (size_t)(ps->end - line));
	e = nl != NULL ? nl : ps->end;
	len = (size_t)(e - line);
	ps->p = nl != NULL ? nl + 1 : ps->end;
	ps->lineno++;
	s = line;
	if (ps->lineno == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s = skip_ws(s, e);
	if (s < e && *s == '[') {
		if ((r = parse_header(s, (size_t)(e - s), &hdr, &why)) != 0 ||
		    add_header(ps, &hdr) != 0) {
			if (r == 0) {
				free(hdr.section);
				free(hdr.subsection);
				why = "out of memory";
			}
			report(ps->file, ps->lineno, "%s", why);
			ps->failed = 1;
			return NULL;
		}
		snprintf(str, (size_t)num, "[%zu]\n", ps->nhdrs - 1);
		return str;
	}
	if (s < e && *s != '#' && *s != ';') {
		len = strcspn(s, "=:\n");
		if (s + len >= e || s[len] != '=') {
			report(ps->file, ps->lineno,
			    "syntax error: expected 'name = value'");
			ps->failed = 1;
			return NULL;
		}
	}
	len = (size_t)(e - line);
	if (len + 2 > (size_t)num) {
		report(ps->file, ps->lineno, "line too long");
		ps->failed = 1;
		return NULL;
	}
	memcpy(str, line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int
add_entry(struct config *c, struct config_entry *e)
{
	struct config_entry *v;
	size_t cap;

	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 16;
		if ((v = realloc(c->entries, cap * sizeof(*v))) == NULL)
			return -1;
		c->entries = v;
		c->cap = cap;
	}
	c->entries[c->n++] = *e;
	return 0;
}

static void
entry_free(struct config_entry *e)
{
	free(e->key);
	free(e->section);
	free(e->subsection);
	free(e->name);
	free(e->value);
}

/* handler: inih's callback for each "name = value" line. */
static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct config_entry e;
	const struct header *h;
	const char *why;
	char *end;
	unsigned long k;
	int r;

	if (ps->failed)
		return 0;
	memset(&e, 0, sizeof(e));
	if (*section == '\0') {
		report(ps->file, ps->lineno, "'%s' outside a section", name);
		goto fail;
	}
	errno = 0;
	k = strtoul(section, &end, 10);
	if (errno != 0 || *end != '\0' || k >= ps->nhdrs) {
		report(ps->file, ps->lineno, "internal error: bad section");
		goto fail;
	}
	h = &ps->hdrs[k];
	if (check_name(name, strlen(name)) != 0) {
		report(ps->file, ps->lineno, "bad name '%s' (a letter, then "
		    "letters, digits and '-')", name);
		goto fail;
	}
	if ((r = parse_value(value, &e.value, &why)) != 0) {
		report(ps->file, ps->lineno, "bad value for '%s': %s", name,
		    why);
		goto fail;
	}
	e.file = ps->file;
	e.line = ps->lineno;
	if ((e.section = util_strdup(h->section)) == NULL ||
	    (h->subsection != NULL &&
	    (e.subsection = util_strdup(h->subsection)) == NULL) ||
	    (e.name = lower_dup(name, strlen(name))) == NULL)
		goto oom;
	if (e.subsection != NULL)
		e.key = util_asprintf("%s.%s.%s", e.section, e.subsection,
		    e.name);
	else
		e.key = util_asprintf("%s.%s", e.section, e.name);
	if (e.key == NULL || add_entry(ps->c, &e) != 0)
		goto oom;
	return 1;
oom:
	report(ps->file, ps->lineno, "out of memory");
fail:
	entry_free(&e);
	ps->failed = 1;
	return 0;
}

/*
 * parse_text(c, file, text, len): parse text (read from file) into c.
 * Returns 0, or -1 (reported naming file and line).
 */
static int
parse_text(struct config *c, const char *file, const char *text, size_t len)
{
	struct parse ps;
	const char *p, *nl, *e = text + len;
	size_t longest = 0, i;
	char **files;
	int r, rc = -1;

	memset(&ps, 0, sizeof(ps));
	if (memchr(text, '\0', len) != NULL) {
		warn0("config file '%s': contains a NUL byte", file);
		return -1;
	}
	if ((files = realloc(c->files, (c->nfiles + 1) * sizeof(*files))) ==
	    NULL) {
		warnp("out of memory");
		return -1;
	}
	c->files = files;
	if ((c->files[c->nfiles] = util_strdup(file)) == NULL)
		return -1;
	ps.file = c->files[c->nfiles++];
	ps.c = c;
	ps.p = text;
	ps.end = e;
	for (p = text; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if ((size_t)(nl - p) > longest)
			longest = (size_t)(nl - p);
	}

	/* Debian's runtime options; see the comment at the top. */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	ini_allow_bom = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	if (longest < 32)
		longest = 32;	/* room for "[N]" */
	ini_initial_alloc = (int)longest + 3;
	ini_max_line = (int)longest + 3;

	r = ini_parse_stream(reader, &ps, handler, &ps);
	if (ps.failed)
		goto cleanup;
	if (r == -2) {
		warn0("config file '%s': out of memory", file);
		goto cleanup;
	}
	if (r != 0) {
		report(file, r, "syntax error");
		goto cleanup;
	}
	rc = 0;
cleanup:
	for (i = 0; i < ps.nhdrs; i++) {
		free(ps.hdrs[i].section);
		free(ps.hdrs[i].subsection);
	}
	free(ps.hdrs);
	return rc;
}

/*
 * read_text(path, text, len, missing): read the file at path (caller frees
 * *text).  A missing file gives an empty text and *missing = 1.  Returns 0,
 * or -1 (reported).
 */
static int
read_text(const char *path, char **text, size_t *len, int *missing)
{
	struct stat st;

	*missing = 0;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		*missing = 1;
		*len = 0;
		return (*text = util_strdup("")) == NULL ? -1 : 0;
	}
	if (util_read_file(path, text, len, CONFIG_MAX_SIZE) != 0) {
		warn0("cannot read config file '%s'", path);
		return -1;
	}
	return 0;
}

static int
load_file(struct config *c, const char *path)
{
	char *text = NULL;
	size_t len;
	int missing, rc = -1;

	if (read_text(path, &text, &len, &missing) != 0)
		goto cleanup;
	if (!missing && parse_text(c, path, text, len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(text);
	return rc;
}

struct config *
config_load(const char *system_path, const char *user_path)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		warnp("out of memory");
		return NULL;
	}
	if ((system_path != NULL && load_file(c, system_path) != 0) ||
	    (user_path != NULL && load_file(c, user_path) != 0)) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		entry_free(&c->entries[i]);
	free(c->entries);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

const char *
config_get(const struct config *c, const char *key)
{
	const struct config_entry *e;

	return (e = find_last(c, key)) != NULL ? e->value : NULL;
}

int
config_get_all(const struct config *c, const char *key, const char ***values,
    size_t *n)
{
	struct key_parts kp;
	const char *why;
	const char **v = NULL;
	size_t i, count = 0;

	*values = NULL;
	*n = 0;
	if (c == NULL || key == NULL || split_key(key, &kp, &why) != 0)
		return 0;
	for (i = 0; i < c->n; i++) {
		if (!entry_matches(&c->entries[i], &kp))
			continue;
		if (v == NULL && (v = calloc(c->n, sizeof(*v))) == NULL) {
			warnp("out of memory");
			return -1;
		}
		v[count++] = c->entries[i].value;
	}
	*values = v;
	*n = count;
	return 0;
}

int
config_origin(const struct config *c, const char *key, const char **file,
    int *line)
{
	const struct config_entry *e;

	if ((e = find_last(c, key)) == NULL)
		return 0;
	*file = e->file;
	*line = e->line;
	return 1;
}

int
config_bad_value(const struct config *c, const char *key, const char *what)
{
	const struct config_entry *e;

	if ((e = find_last(c, key)) == NULL)
		warn0("bad %s value for '%s'", what, key);
	else
		report(e->file, e->line, "bad %s value '%s' for '%s'", what,
		    e->value, e->key);
	return -1;
}

int
config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
config_get_bool(const struct config *c, const char *key, int *out)
{
	const struct config_entry *e;

	if ((e = find_last(c, key)) == NULL)
		return 0;
	if (config_parse_bool(e->value, out) != 0)
		return config_bad_value(c, key, "boolean");
	return 1;
}

int
config_get_int(const struct config *c, const char *key, long long *out)
{
	const struct config_entry *e;
	long long n;
	char *end;

	if ((e = find_last(c, key)) == NULL)
		return 0;
	errno = 0;
	n = strtoll(e->value, &end, 10);
	if (errno != 0 || end == e->value || *end != '\0' ||
	    isspace((unsigned char)e->value[0]))
		return config_bad_value(c, key, "integer");
	*out = n;
	return 1;
}

int
config_get_size(const struct config *c, const char *key,
    unsigned long long *out)
{
	const struct config_entry *e;
	unsigned long long n, mult = 1;
	const char *s;
	char *end;
	int shift = 0;

	if ((e = find_last(c, key)) == NULL)
		return 0;
	s = e->value;
	if (*s < '0' || *s > '9')
		return config_bad_value(c, key, "size");
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return config_bad_value(c, key, "size");
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		return config_bad_value(c, key, "size");
	}
	if (*end != '\0') {
		end++;
		if (*end != '\0' && strcasecmp(end, "ib") != 0)
			return config_bad_value(c, key, "size");
	}
	mult <<= shift;
	if (n > ULLONG_MAX / mult)
		return config_bad_value(c, key, "size");
	*out = n * mult;
	return 1;
}

int
config_get_duration(const struct config *c, const char *key, long long *out)
{
	const struct config_entry *e;

	if ((e = find_last(c, key)) == NULL)
		return 0;
	if (util_parse_duration(e->value, out) != 0)
		return config_bad_value(c, key, "duration");
	return 1;
}

int
config_foreach(const struct config *c, config_fn *fn, void *cookie)
{
	const struct config_entry *e;
	size_t i;
	int r;

	if (c == NULL)
		return 0;
	for (i = 0; i < c->n; i++) {
		e = &c->entries[i];
		if ((r = fn(e->key, e->value, e->file, e->line, cookie)) != 0)
			return r;
	}
	return 0;
}

int
config_subsections(const struct config *c, const char *section,
    const char ***names, size_t *n)
{
	const char **v = NULL;
	const struct config_entry *e;
	size_t i, j, count = 0;

	*names = NULL;
	*n = 0;
	if (c == NULL)
		return 0;
	for (i = 0; i < c->n; i++) {
		e = &c->entries[i];
		if (e->subsection == NULL || strcasecmp(e->section, section))
			continue;
		for (j = 0; j < count; j++)
			if (strcmp(v[j], e->subsection) == 0)
				break;
		if (j < count)
			continue;
		if (v == NULL && (v = calloc(c->n, sizeof(*v))) == NULL) {
			warnp("out of memory");
			return -1;
		}
		v[count++] = e->subsection;
	}
	*names = v;
	*n = count;
	return 0;
}

/* ------------------------------------------------------------ writing */

enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_HEADER, LINE_KEY };

/* One line of a file being edited. */
struct edit_line {
	const char *start;
	size_t len;		/* without the newline */
	enum line_kind kind;
	int in_match;		/* in a section of the key being edited */
	int is_match;		/* a value of the key being edited */
	int drop;		/* leave out of the new text */
	char *replace;		/* write this instead (allocated) */
};

/* An edit in progress: the old text, its lines, the key. */
struct edit {
	const char *path;
	char *text;
	size_t len;
	struct edit_line *lines;
	size_t nlines;
	struct key_parts kp;
	size_t *matches;	/* indexes of key lines matching */
	size_t nmatches;
	long anchor;		/* last header or key line of the key's
				 * sections, -1 if none */
};

static void
edit_free(struct edit *ed)
{
	size_t i;

	for (i = 0; i < ed->nlines; i++)
		free(ed->lines[i].replace);
	free(ed->lines);
	free(ed->matches);
	free(ed->text);
}

/* header_matches(hdr, kp): hdr is the section (and subsection) of kp. */
static int
header_matches(const struct header *hdr, const struct key_parts *kp)
{
	if (strlen(hdr->section) != kp->seclen ||
	    strncasecmp(hdr->section, kp->sec, kp->seclen) != 0)
		return 0;
	if ((hdr->subsection == NULL) != (kp->sub == NULL))
		return 0;
	return kp->sub == NULL || (strlen(hdr->subsection) == kp->sublen &&
	    memcmp(hdr->subsection, kp->sub, kp->sublen) == 0);
}

/*
 * edit_open(ed, path, key): read and check the file at path (missing is
 * empty), split it into lines and find the lines of key.  Returns 0, or -1
 * (reported).
 */
static int
edit_open(struct edit *ed, const char *path, const char *key)
{
	struct config *c = NULL;
	struct header hdr;
	struct edit_line *l;
	const char *p, *e, *nl, *s, *why;
	size_t n;
	int missing, in_match = 0, rc = -1;

	memset(ed, 0, sizeof(*ed));
	ed->path = path;
	ed->anchor = -1;
	if (split_key(key, &ed->kp, &why) != 0) {
		warn0("invalid key '%s': %s", key, why);
		return -1;
	}
	if (read_text(path, &ed->text, &ed->len, &missing) != 0)
		goto cleanup;
	/* Refuse to edit a file that does not parse. */
	if ((c = config_load(NULL, NULL)) == NULL ||
	    parse_text(c, path, ed->text, ed->len) != 0)
		goto cleanup;
	e = ed->text + ed->len;
	for (n = 0, p = ed->text; p < e; n++) {
		nl = memchr(p, '\n', (size_t)(e - p));
		p = nl != NULL ? nl + 1 : e;
	}
	if ((ed->lines = calloc(n + 1, sizeof(*ed->lines))) == NULL ||
	    (ed->matches = calloc(n + 1, sizeof(*ed->matches))) == NULL) {
		warnp("out of memory");
		goto cleanup;
	}
	for (p = ed->text; p < e; p = nl != NULL ? nl + 1 : e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		l = &ed->lines[ed->nlines];
		l->start = p;
		l->len = (size_t)((nl != NULL ? nl : e) - p);
		s = p;
		if (ed->nlines == 0 && l->len >= 3 &&
		    memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		s = skip_ws(s, p + l->len);
		if (s == p + l->len) {
			l->kind = LINE_BLANK;
		} else if (*s == '#' || *s == ';') {
			l->kind = LINE_COMMENT;
		} else if (*s == '[') {
			l->kind = LINE_HEADER;
			if (parse_header(s, (size_t)(p + l->len - s), &hdr,
			    &why) != 0) {
				warn0("config file '%s', line %zu: %s", path,
				    ed->nlines + 1, why);
				goto cleanup;
			}
			in_match = header_matches(&hdr, &ed->kp);
			free(hdr.section);
			free(hdr.subsection);
			if (in_match)
				ed->anchor = (long)ed->nlines;
		} else {
			l->kind = LINE_KEY;
			n = strcspn(s, "=");
			while (n > 0 && isspace((unsigned char)s[n - 1]))
				n--;
			if (in_match) {
				ed->anchor = (long)ed->nlines;
				if (n == ed->kp.namelen && strncasecmp(s,
				    ed->kp.name, n) == 0) {
					l->is_match = 1;
					ed->matches[ed->nmatches++] =
					    ed->nlines;
				}
			}
		}
		l->in_match = in_match;
		ed->nlines++;
	}
	rc = 0;
cleanup:
	config_free(c);
	return rc;
}

/* quote_value(v, out): v as written in a file (allocated), or -1
 * (reported) for values with newlines or control characters. */
static int
quote_value(const char *key, const char *v, char **out)
{
	struct buf b = { NULL, 0, 0, 0 };
	const char *s;
	size_t n = strlen(v);
	int quote;

	*out = NULL;
	for (s = v; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r') {
			warn0("value for '%s' contains a newline", key);
			return -1;
		}
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
			warn0("value for '%s' contains a control character",
			    key);
			return -1;
		}
	}
	quote = n > 0 && (isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[n - 1]) || strpbrk(v, "#;") != NULL);
	buf_add(&b, "\"", quote ? 1 : 0);
	for (s = v; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_add(&b, "\\", 1);
		if (*s == '\t')
			buf_add(&b, "\\t", 2);
		else
			buf_add(&b, s, 1);
	}
	buf_add(&b, "\"", quote ? 1 : 0);
	buf_add(&b, "", 0);
	if (b.oom) {
		free(b.p);
		warnp("out of memory");
		return -1;
	}
	*out = b.p;
	return 0;
}

/* key_line(ed, indent, indentlen, value): "<indent>name = value". */
static char *
key_line(const struct edit *ed, const char *indent, int indentlen,
    const char *qvalue)
{
	return util_asprintf("%.*s%.*s = %s", indentlen, indent,
	    (int)ed->kp.namelen, ed->kp.name, qvalue);
}

/*
 * edit_commit(ed, insert_after, extra): write the edited text: every line
 * not dropped (or its replacement), the line extra after line insert_after
 * (-1: none), or appended at the end in a new section when insert_after is
 * -2.  The new text must parse.  Returns 0, or -1 (reported).
 */
static int
edit_commit(struct edit *ed, long insert_after, const char *extra)
{
	struct buf b = { NULL, 0, 0, 0 };
	struct config *c = NULL;
	struct edit_line *l;
	const char *s;
	size_t i;
	int rc = -1;

	for (i = 0; i < ed->nlines; i++) {
		l = &ed->lines[i];
		if (l->replace != NULL) {
			buf_str(&b, l->replace);
			buf_add(&b, "\n", 1);
		} else if (!l->drop) {
			buf_add(&b, l->start, l->len);
			buf_add(&b, "\n", 1);
		}
		if (insert_after == (long)i) {
			buf_str(&b, extra);
			buf_add(&b, "\n", 1);
		}
	}
	if (insert_after == -2) {
		/* A blank line before a new section, for the reader. */
		for (i = ed->nlines; i > 0 && ed->lines[i - 1].drop; i--)
			;
		if (i > 0 && ed->lines[i - 1].kind != LINE_BLANK)
			buf_add(&b, "\n", 1);
		buf_add(&b, "[", 1);
		buf_add(&b, ed->kp.sec, ed->kp.seclen);
		if (ed->kp.sub != NULL) {
			buf_add(&b, " \"", 2);
			for (s = ed->kp.sub; s < ed->kp.sub + ed->kp.sublen;
			    s++) {
				if (*s == '"' || *s == '\\')
					buf_add(&b, "\\", 1);
				buf_add(&b, s, 1);
			}
			buf_add(&b, "\"", 1);
		}
		buf_add(&b, "]\n", 2);
		buf_str(&b, extra);
		buf_add(&b, "\n", 1);
	}
	buf_add(&b, "", 0);
	if (b.oom) {
		warnp("out of memory");
		goto cleanup;
	}
	/* What we write must read back. */
	if ((c = config_load(NULL, NULL)) == NULL ||
	    parse_text(c, ed->path, b.p, b.len) != 0)
		goto cleanup;
	if (util_write_file(ed->path, b.p, b.len, 0600, 0) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	config_free(c);
	free(b.p);
	return rc;
}

int
config_set(const char *path, const char *key, const char *value, int flags)
{
	struct edit ed;
	struct edit_line *l;
	char *qvalue = NULL, *line = NULL;
	const char *s;
	long after;
	size_t i, last;
	int rc = -1;

	if (edit_open(&ed, path, key) != 0)
		goto cleanup;
	if (quote_value(key, value, &qvalue) != 0 ||
	    (line = key_line(&ed, "\t", 1, qvalue)) == NULL)
		goto cleanup;
	if (ed.nmatches > 0 && !(flags & CONFIG_ADD)) {
		last = ed.matches[ed.nmatches - 1];
		l = &ed.lines[last];
		s = skip_ws(l->start, l->start + l->len);
		if ((l->replace = key_line(&ed, l->start,
		    (int)(s - l->start), qvalue)) == NULL)
			goto cleanup;
		if (flags & CONFIG_REPLACE_ALL)
			for (i = 0; i + 1 < ed.nmatches; i++)
				ed.lines[ed.matches[i]].drop = 1;
		after = -1;
	} else if (ed.nmatches > 0) {
		after = (long)ed.matches[ed.nmatches - 1];
	} else if (ed.anchor >= 0) {
		after = ed.anchor;
	} else {
		after = -2;
	}
	if (edit_commit(&ed, after, line) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(qvalue);
	free(line);
	edit_free(&ed);
	return rc;
}

/*
 * drop_emptied(ed): remove the header of each of the key's sections left
 * with nothing but blank lines after a value was dropped from it.
 */
static void
drop_emptied(struct edit *ed)
{
	size_t i, j, end;
	int dropped, kept;

	for (i = 0; i < ed->nlines; i = end) {
		end = i + 1;
		if (ed->lines[i].kind != LINE_HEADER || !ed->lines[i].in_match)
			continue;
		dropped = kept = 0;
		for (; end < ed->nlines && ed->lines[end].kind != LINE_HEADER;
		    end++) {
			if (ed->lines[end].drop)
				dropped = 1;
			else if (ed->lines[end].kind != LINE_BLANK)
				kept = 1;
		}
		if (!dropped || kept)
			continue;
		for (j = i; j < end; j++)
			ed->lines[j].drop = 1;
	}
}

int
config_unset(const char *path, const char *key, int all)
{
	struct edit ed;
	size_t i;
	int rc = -1;

	if (edit_open(&ed, path, key) != 0)
		goto cleanup;
	if (ed.nmatches == 0) {
		rc = 1;
		goto cleanup;
	}
	for (i = all ? 0 : ed.nmatches - 1; i < ed.nmatches; i++)
		ed.lines[ed.matches[i]].drop = 1;
	drop_emptied(&ed);
	if (edit_commit(&ed, -1, NULL) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	edit_free(&ed);
	return rc;
}
