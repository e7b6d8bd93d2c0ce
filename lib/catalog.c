#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "catalog.h"
#include "util.h"
#include "warnp.h"

/*
 * Conventions of the schema: times are INTEGER seconds since the epoch
 * (UTC), except events.time, which is the "YYYY-MM-DDTHH:MM:SSZ" text that
 * was hashed into the audit chain; hashes are lower-case hex TEXT; lists
 * (set parents, check-run candidates) are JSON arrays in TEXT.  Each entry
 * of migrations[] takes the schema from version i to i + 1 in one
 * transaction; append new entries, never edit a released one.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE vaults ("
	"  id INTEGER PRIMARY KEY,"
	"  vault_id TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('local', 's3', 'sftp')),"
	"  url TEXT NOT NULL,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE sets ("
	"  id INTEGER PRIMARY KEY,"
	"  vault INTEGER NOT NULL REFERENCES vaults(id),"
	"  host TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  job TEXT,"
	"  level TEXT NOT NULL CHECK (level IN ('full', 'diff', 'incr')),"
	"  kind TEXT NOT NULL DEFAULT 'backup'"
	"    CHECK (kind IN ('backup', 'pre-restore')),"
	"  parents TEXT NOT NULL DEFAULT '[]',"
	"  created INTEGER NOT NULL,"
	"  retain_until INTEGER,"
	"  keep INTEGER NOT NULL DEFAULT 0,"
	"  audit_head_seq INTEGER,"
	"  audit_head TEXT,"
	"  committed INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (vault, host, label)"
	");"
	"CREATE INDEX sets_job ON sets(vault, host, job, created);"
	"CREATE TABLE volumes ("
	"  id INTEGER PRIMARY KEY,"
	"  set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  payload_sha256 TEXT,"
	"  UNIQUE (set_id, name)"
	");"
	"CREATE TABLE media ("
	"  id INTEGER PRIMARY KEY,"
	"  label TEXT NOT NULL UNIQUE,"
	"  class TEXT NOT NULL"
	"    CHECK (class IN ('magnetic', 'optical', 'flash', 'remote')),"
	"  kind TEXT NOT NULL,"
	"  serial TEXT,"
	"  url TEXT,"
	"  custodian TEXT,"
	"  commissioned INTEGER,"
	"  expiry INTEGER,"
	"  check_interval INTEGER,"
	"  lifecycle TEXT NOT NULL DEFAULT 'registered'"
	"    CHECK (lifecycle IN ('registered', 'in-service', 'full',"
	"    'retired', 'destroyed')),"
	"  location TEXT,"
	"  health TEXT NOT NULL DEFAULT 'ok'"
	"    CHECK (health IN ('ok', 'suspect', 'failed')),"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE copies ("
	"  id INTEGER PRIMARY KEY,"
	"  set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,"
	"  medium INTEGER NOT NULL REFERENCES media(id),"
	"  created INTEGER NOT NULL,"
	"  verified_at INTEGER,"
	"  UNIQUE (set_id, medium)"
	");"
	"CREATE INDEX copies_medium ON copies(medium);"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  site TEXT,"
	"  action TEXT NOT NULL,"
	"  object TEXT,"
	"  details TEXT NOT NULL DEFAULT '{}',"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL"
	");"
	"CREATE INDEX events_action ON events(action);"
	"CREATE INDEX events_object ON events(object);"
	"CREATE TABLE check_runs ("
	"  id INTEGER PRIMARY KEY,"
	"  medium INTEGER NOT NULL REFERENCES media(id),"
	"  started INTEGER NOT NULL,"
	"  finished INTEGER,"
	"  seed TEXT NOT NULL,"
	"  rate REAL NOT NULL,"
	"  candidates TEXT NOT NULL DEFAULT '[]',"
	"  result TEXT"
	");"
	"CREATE INDEX check_runs_medium ON check_runs(medium, started);"
	"CREATE TABLE keys ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL"
	"    CHECK (kind IN ('recipient', 'signer', 'identity')),"
	"  name TEXT,"
	"  public TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  pinned INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (kind, fingerprint)"
	");",
	/* 1 -> 2: what sets need for show, verify and reconcile */
	"ALTER TABLE sets ADD COLUMN header TEXT;"
	"ALTER TABLE sets ADD COLUMN signer TEXT;"
	"ALTER TABLE sets ADD COLUMN files INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sets ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE volumes ADD COLUMN role TEXT NOT NULL DEFAULT 'volume'"
	"  CHECK (role IN ('volume', 'manifest', 'sums', 'recovery'));",
	/* 2 -> 3: when coffer verify last found a set intact */
	"ALTER TABLE sets ADD COLUMN verified INTEGER;",
};

struct catalog {
	sqlite3 *db;
	char *path;
};

/* report(cat, fmt, ...): "FMT in catalog 'PATH': sqlite message". */
static void report(struct catalog *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(struct catalog *cat, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	warn0("%s in catalog '%s': %s", what, cat->path,
	    sqlite3_errmsg(cat->db));
}

static int
prepare(struct catalog *cat, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(cat->db, sql, -1, st, NULL) != SQLITE_OK) {
		report(cat, "cannot prepare a query");
		*st = NULL;
		return -1;
	}
	return 0;
}

/* exec(cat, sql, what): run statements returning no rows. */
static int
exec(struct catalog *cat, const char *sql, const char *what)
{
	if (sqlite3_exec(cat->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		report(cat, "cannot %s", what);
		return -1;
	}
	return 0;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* col_dup(st, i, oom): a copy of a text column, NULL for SQL NULL; sets
 * *oom when out of memory. */
static char *
col_dup(sqlite3_stmt *st, int i, int *oom)
{
	const char *s;
	char *d;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if ((s = (const char *)sqlite3_column_text(st, i)) == NULL) {
		*oom = 1;
		return NULL;
	}
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

/* pragma_int(cat, sql, out): run a PRAGMA returning one integer. */
static int
pragma_int(struct catalog *cat, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, sql, &st) != 0)
		goto cleanup;
	if (sqlite3_step(st) != SQLITE_ROW) {
		report(cat, "cannot read '%s'", sql);
		goto cleanup;
	}
	*out = sqlite3_column_int64(st, 0);
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/*
 * set_wal(cat): the first query on the file, so a file that is not a
 * database is caught here and named.
 */
static int
set_wal(struct catalog *cat)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc = -1, src;

	src = sqlite3_prepare_v2(cat->db, "PRAGMA journal_mode = WAL", -1,
	    &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_NOTADB) {
		warn0("catalog '%s' is not a database (or is corrupt)",
		    cat->path);
		goto cleanup;
	}
	if (src != SQLITE_ROW) {
		report(cat, "cannot set WAL mode");
		goto cleanup;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		warn0("cannot set WAL mode in catalog '%s': journal mode is "
		    "'%s'", cat->path, mode ? mode : "?");
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

static int
migrate(struct catalog *cat)
{
	const int latest = (int)ARRAY_SIZE(migrations);
	char sql[64];
	long long v;
	int rc = -1;

	for (;;) {
		if (pragma_int(cat, "PRAGMA user_version", &v) != 0)
			goto cleanup;
		if (v > latest) {
			warn0("catalog '%s' has schema version %lld, newer "
			    "than this coffer (%d): upgrade coffer",
			    cat->path, v, latest);
			goto cleanup;
		}
		if (v < 0) {
			warn0("catalog '%s' has an invalid schema version "
			    "%lld", cat->path, v);
			goto cleanup;
		}
		if (v == latest)
			break;
		if (catalog_begin(cat) != 0)
			goto cleanup;
		/* Another process may have migrated while we waited. */
		if (pragma_int(cat, "PRAGMA user_version", &v) != 0)
			goto cleanup;
		if (v >= latest || v < 0) {
			catalog_rollback(cat);
			continue;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld",
		    v + 1);
		if (exec(cat, migrations[v], "migrate the schema") != 0 ||
		    exec(cat, sql, "set the schema version") != 0 ||
		    catalog_commit(cat) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		catalog_rollback(cat);
	return rc;
}

struct catalog *
catalog_open(const char *path, int flags)
{
	struct catalog *cat = NULL;
	struct stat sb;
	int fd;

	if ((cat = calloc(1, sizeof(*cat))) == NULL ||
	    (cat->path = strdup(path)) == NULL) {
		warnp("cannot open catalog '%s'", path);
		goto fail;
	}
	if (flags & CATALOG_CREATE) {
		/* Create it ourselves, so it is private from the start. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd == -1) {
			warnp("cannot create catalog '%s'", path);
			goto fail;
		}
		close(fd);
	} else if (stat(path, &sb) != 0) {
		warnp("cannot open catalog '%s'", path);
		goto fail;
	}
	if (sqlite3_open_v2(path, &cat->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		if (cat->db == NULL)
			warn0("cannot open catalog '%s': out of memory", path);
		else
			report(cat, "cannot open the database");
		goto fail;
	}
	sqlite3_busy_timeout(cat->db, 5000);
	if (set_wal(cat) != 0 ||
	    exec(cat, "PRAGMA foreign_keys = ON", "enable foreign keys") ||
	    exec(cat, "PRAGMA secure_delete = OFF", "set secure_delete") ||
	    exec(cat, "PRAGMA synchronous = FULL", "set synchronous") ||
	    migrate(cat) != 0)
		goto fail;
	return cat;
fail:
	catalog_close(cat);
	return NULL;
}

void
catalog_close(struct catalog *cat)
{
	if (cat == NULL)
		return;
	if (cat->db != NULL)
		sqlite3_close(cat->db);
	free(cat->path);
	free(cat);
}

const char *
catalog_path(const struct catalog *cat)
{
	return cat->path;
}

int
catalog_schema_version(struct catalog *cat)
{
	long long v;

	if (pragma_int(cat, "PRAGMA user_version", &v) != 0)
		return -1;
	return (int)v;
}

int
catalog_journal_mode(struct catalog *cat, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc = -1;

	if (prepare(cat, "PRAGMA journal_mode", &st) != 0)
		goto cleanup;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (mode = (const char *)sqlite3_column_text(st, 0)) == NULL) {
		report(cat, "cannot read the journal mode");
		goto cleanup;
	}
	util_strlcpy(buf, mode, size);
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_begin(struct catalog *cat)
{
	return exec(cat, "BEGIN IMMEDIATE", "begin a transaction");
}

int
catalog_commit(struct catalog *cat)
{
	if (exec(cat, "COMMIT", "commit") != 0) {
		catalog_rollback(cat);
		return -1;
	}
	return 0;
}

void
catalog_rollback(struct catalog *cat)
{
	if (!sqlite3_get_autocommit(cat->db))
		sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
}

int
catalog_in_transaction(struct catalog *cat)
{
	return !sqlite3_get_autocommit(cat->db);
}

int
catalog_limit_pages(struct catalog *cat, long long pages)
{
	char sql[64];
	long long got;

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages);
	return pragma_int(cat, sql, &got);
}

/* ---------------------------------------------------------------- vaults */

int
catalog_vault_add(struct catalog *cat, const char *vault_id, const char *kind,
    const char *url, time_t created, long long *id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, src;

	if (prepare(cat, "INSERT INTO vaults (vault_id, kind, url, created) "
	    "VALUES (?, ?, ?, ?)", &st) != 0)
		goto cleanup;
	bind_text(st, 1, vault_id);
	bind_text(st, 2, kind);
	bind_text(st, 3, url);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)created);
	src = sqlite3_step(st);
	if (src != SQLITE_DONE) {
		if (sqlite3_extended_errcode(cat->db) ==
		    SQLITE_CONSTRAINT_UNIQUE)
			warn0("vault '%s' is already in catalog '%s'",
			    vault_id, cat->path);
		else
			report(cat, "cannot add vault '%s'", vault_id);
		goto cleanup;
	}
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(cat->db);
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

#define VAULT_COLUMNS "id, vault_id, kind, url, created"

static int
vault_row(sqlite3_stmt *st, struct catalog_vault *v)
{
	int oom = 0;

	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(st, 0);
	v->vault_id = col_dup(st, 1, &oom);
	v->kind = col_dup(st, 2, &oom);
	v->url = col_dup(st, 3, &oom);
	v->created = (time_t)sqlite3_column_int64(st, 4);
	if (oom) {
		catalog_vault_clear(v);
		errno = ENOMEM;
		warnp("cannot read vaults");
		return -1;
	}
	return 0;
}

void
catalog_vault_clear(struct catalog_vault *v)
{
	if (v == NULL)
		return;
	free(v->vault_id);
	free(v->kind);
	free(v->url);
	memset(v, 0, sizeof(*v));
}

/*
 * collect_rows(cat, st, elemsize, row, arr, np, what): step st to its end,
 * turning each row into a zeroed element of a growing array with
 * row(st, elem) (0, or -1 having released what it made).  *arr and *np
 * receive the array and the rows made, also on failure (the caller frees
 * them with its list_free).  Returns 0 or -1 (reported as "cannot WHAT").
 */
static int
collect_rows(struct catalog *cat, sqlite3_stmt *st, size_t elemsize,
    int (*row)(sqlite3_stmt *, void *), void **arr, size_t *np,
    const char *what)
{
	char *v = NULL, *nv;
	size_t n = 0, size = 0;
	int rc = -1, src;

	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? 2 * size : 8;
			if ((nv = realloc(v, size * elemsize)) == NULL) {
				warnp("cannot %s", what);
				goto done;
			}
			v = nv;
		}
		memset(v + n * elemsize, 0, elemsize);
		if (row(st, v + n * elemsize) != 0)
			goto done;
		n++;
	}
	if (src != SQLITE_DONE) {
		report(cat, "cannot %s", what);
		goto done;
	}
	rc = 0;
done:
	*arr = v;
	*np = n;
	return rc;
}

void
catalog_vault_list_free(struct catalog_vault *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		catalog_vault_clear(&v[i]);
	free(v);
}

static int
vault_row_cb(sqlite3_stmt *st, void *elem)
{
	return vault_row(st, elem);
}

int
catalog_vault_list(struct catalog *cat, struct catalog_vault **out,
    size_t *np)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	size_t n = 0;
	int rc = -1;

	if (prepare(cat, "SELECT " VAULT_COLUMNS " FROM vaults ORDER BY id",
	    &st) != 0)
		goto cleanup;
	if (collect_rows(cat, st, sizeof(struct catalog_vault), vault_row_cb,
	    &v, &n, "list vaults") != 0)
		goto cleanup;
	*out = v;
	*np = n;
	v = NULL;
	n = 0;
	rc = 0;
cleanup:
	catalog_vault_list_free(v, n);
	sqlite3_finalize(st);
	return rc;
}

int
catalog_vault_find(struct catalog *cat, const char *vault_id,
    struct catalog_vault *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, src;

	if (prepare(cat, "SELECT " VAULT_COLUMNS " FROM vaults "
	    "WHERE vault_id = ?", &st) != 0)
		goto cleanup;
	bind_text(st, 1, vault_id);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = 0;
	} else if (src == SQLITE_ROW) {
		if (vault_row(st, out) == 0)
			rc = 1;
	} else {
		report(cat, "cannot look up vault '%s'", vault_id);
	}
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- events */

#define EVENT_COLUMNS "seq, time, operator, host, site, action, object, " \
	"details, prev_hash, hash"

int
catalog_event_insert(struct catalog *cat, const struct catalog_event *ev)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "INSERT INTO events (" EVENT_COLUMNS ") "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, ev->seq);
	bind_text(st, 2, ev->time);
	bind_text(st, 3, ev->operator_name);
	bind_text(st, 4, ev->host);
	bind_text(st, 5, ev->site);
	bind_text(st, 6, ev->action);
	bind_text(st, 7, ev->object);
	bind_text(st, 8, ev->details);
	bind_text(st, 9, ev->prev_hash);
	bind_text(st, 10, ev->hash);
	if (sqlite3_step(st) != SQLITE_DONE) {
		report(cat, "cannot record event %lld", ev->seq);
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/* event_view(st, ev): point ev at the columns of the current row. */
static void
event_view(sqlite3_stmt *st, struct catalog_event *ev)
{
	int i;
	char **f[] = { &ev->time, &ev->operator_name, &ev->host, &ev->site,
	    &ev->action, &ev->object, &ev->details, &ev->prev_hash,
	    &ev->hash };

	ev->seq = sqlite3_column_int64(st, 0);
	for (i = 0; i < (int)ARRAY_SIZE(f); i++) {
		if (sqlite3_column_type(st, i + 1) == SQLITE_NULL)
			*f[i] = NULL;
		else
			*f[i] = (char *)sqlite3_column_text(st, i + 1);
	}
}

void
catalog_event_clear(struct catalog_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->time);
	free(ev->operator_name);
	free(ev->host);
	free(ev->site);
	free(ev->action);
	free(ev->object);
	free(ev->details);
	free(ev->prev_hash);
	free(ev->hash);
	memset(ev, 0, sizeof(*ev));
}

int
catalog_event_last(struct catalog *cat, struct catalog_event *ev)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, src, oom = 0;

	memset(ev, 0, sizeof(*ev));
	if (prepare(cat, "SELECT " EVENT_COLUMNS " FROM events "
	    "ORDER BY seq DESC LIMIT 1", &st) != 0)
		goto cleanup;
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = 0;
		goto cleanup;
	}
	if (src != SQLITE_ROW) {
		report(cat, "cannot read the last event");
		goto cleanup;
	}
	ev->seq = sqlite3_column_int64(st, 0);
	ev->time = col_dup(st, 1, &oom);
	ev->operator_name = col_dup(st, 2, &oom);
	ev->host = col_dup(st, 3, &oom);
	ev->site = col_dup(st, 4, &oom);
	ev->action = col_dup(st, 5, &oom);
	ev->object = col_dup(st, 6, &oom);
	ev->details = col_dup(st, 7, &oom);
	ev->prev_hash = col_dup(st, 8, &oom);
	ev->hash = col_dup(st, 9, &oom);
	if (oom) {
		catalog_event_clear(ev);
		errno = ENOMEM;
		warnp("cannot read the last event");
		goto cleanup;
	}
	rc = 1;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_event_foreach(struct catalog *cat,
    const struct catalog_event_filter *filter,
    int (*fn)(const struct catalog_event *, void *), void *arg)
{
	struct catalog_event ev;
	sqlite3_stmt *st = NULL;
	int rc = -1, src;

	if (prepare(cat, "SELECT " EVENT_COLUMNS " FROM events "
	    "WHERE (?1 IS NULL OR time >= ?1) "
	    "AND (?2 IS NULL OR action GLOB ?2) "
	    "AND (?3 IS NULL OR object GLOB ?3) "
	    "ORDER BY seq", &st) != 0)
		goto cleanup;
	if (filter != NULL) {
		bind_text(st, 1, filter->since);
		bind_text(st, 2, filter->action);
		bind_text(st, 3, filter->object);
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		event_view(st, &ev);
		if ((rc = fn(&ev, arg)) != 0)
			goto cleanup;
		rc = -1;
	}
	if (src != SQLITE_DONE) {
		report(cat, "cannot read events");
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_event_count(struct catalog *cat, long long *n)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "SELECT count(*) FROM events", &st) != 0)
		goto cleanup;
	if (sqlite3_step(st) != SQLITE_ROW) {
		report(cat, "cannot count events");
		goto cleanup;
	}
	*n = sqlite3_column_int64(st, 0);
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------------------ sets */

/*
 * A write that joins the caller's transaction or runs in its own: inside
 * one, a savepoint lets a failure undo only this write.
 */
static int
tx_start(struct catalog *cat, int *own)
{
	*own = !catalog_in_transaction(cat);
	if (*own)
		return catalog_begin(cat);
	return exec(cat, "SAVEPOINT catalog_set", "start a savepoint");
}

static int
tx_end(struct catalog *cat, int own, int ok)
{
	if (own) {
		if (!ok) {
			catalog_rollback(cat);
			return -1;
		}
		return catalog_commit(cat);
	}
	if (!ok) {
		sqlite3_exec(cat->db, "ROLLBACK TO catalog_set; "
		    "RELEASE catalog_set", NULL, NULL, NULL);
		return -1;
	}
	return exec(cat, "RELEASE catalog_set", "release a savepoint");
}

static char *
parents_json(const struct catalog_set *s)
{
	json_t *a;
	char *out = NULL;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < s->nparents; i++)
		if (json_array_append_new(a, json_string(s->parents[i])) != 0)
			goto cleanup;
	out = json_dumps(a, JSON_COMPACT);
cleanup:
	json_decref(a);
	return out;
}

static int
parents_parse(const char *text, struct catalog_set *s)
{
	json_t *a;
	size_t i;
	int rc = -1;

	if (text == NULL)
		return 0;
	if ((a = json_loads(text, 0, NULL)) == NULL || !json_is_array(a))
		goto cleanup;
	if (json_array_size(a) > 0 &&
	    (s->parents = calloc(json_array_size(a), sizeof(char *))) == NULL)
		goto cleanup;
	for (i = 0; i < json_array_size(a); i++) {
		if (!json_is_string(json_array_get(a, i)) ||
		    (s->parents[i] = strdup(json_string_value(
		    json_array_get(a, i)))) == NULL)
			goto cleanup;
		s->nparents = i + 1;
	}
	rc = 0;
cleanup:
	json_decref(a);
	return rc;
}

static int
object_insert(struct catalog *cat, long long set_id,
    const struct catalog_object *o)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "INSERT INTO volumes (set_id, name, role, size, "
	    "sha256, payload_sha256) VALUES (?, ?, ?, ?, ?, ?)", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, set_id);
	bind_text(st, 2, o->name);
	bind_text(st, 3, o->role != NULL ? o->role : "volume");
	sqlite3_bind_int64(st, 4, (sqlite3_int64)o->size);
	bind_text(st, 5, o->sha256);
	bind_text(st, 6, o->payload_sha256[0] != '\0' ? o->payload_sha256 :
	    NULL);
	if (sqlite3_step(st) != SQLITE_DONE) {
		report(cat, "cannot add object '%s'", o->name);
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_add(struct catalog *cat, const struct catalog_set *s,
    long long *id)
{
	sqlite3_stmt *st = NULL;
	char *parents = NULL;
	long long row;
	size_t i;
	int own, ok = 0, dup = 0;

	if (tx_start(cat, &own) != 0)
		return -1;
	if ((parents = parents_json(s)) == NULL) {
		warn0("cannot add set '%s/%s': out of memory", s->host,
		    s->label);
		goto cleanup;
	}
	if (prepare(cat, "INSERT INTO sets (vault, host, label, job, level, "
	    "kind, parents, created, retain_until, keep, audit_head_seq, "
	    "audit_head, committed, files, bytes, header, signer) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
	    &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, s->vault);
	bind_text(st, 2, s->host);
	bind_text(st, 3, s->label);
	bind_text(st, 4, s->job);
	bind_text(st, 5, s->level);
	bind_text(st, 6, s->kind != NULL ? s->kind : "backup");
	bind_text(st, 7, parents);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)s->created);
	if (s->has_retain_until)
		sqlite3_bind_int64(st, 9, (sqlite3_int64)s->retain_until);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_int(st, 10, s->keep != 0);
	sqlite3_bind_int64(st, 11, s->audit_head_seq);
	bind_text(st, 12, s->audit_head);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)s->files);
	sqlite3_bind_int64(st, 14, (sqlite3_int64)s->bytes);
	bind_text(st, 15, s->header);
	bind_text(st, 16, s->signer);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(cat->db) ==
		    SQLITE_CONSTRAINT_UNIQUE) {
			warn0("set '%s/%s' is already in catalog '%s'",
			    s->host, s->label, cat->path);
			dup = 1;
		} else
			report(cat, "cannot add set '%s/%s'", s->host,
			    s->label);
		goto cleanup;
	}
	row = sqlite3_last_insert_rowid(cat->db);
	for (i = 0; i < s->nobjects; i++)
		if (object_insert(cat, row, &s->objects[i]) != 0)
			goto cleanup;
	if (id != NULL)
		*id = row;
	ok = 1;
cleanup:
	sqlite3_finalize(st);
	free(parents);
	if (tx_end(cat, own, ok) != 0) {
		if (dup)
			errno = EEXIST;
		return -1;
	}
	return 0;
}

#define SET_COLUMNS "id, vault, host, label, job, level, kind, parents, " \
	"created, retain_until, keep, audit_head_seq, audit_head, files, " \
	"bytes, header, signer"

static int
set_row(sqlite3_stmt *st, struct catalog_set *s)
{
	char *parents;
	int oom = 0;

	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->vault = sqlite3_column_int64(st, 1);
	s->host = col_dup(st, 2, &oom);
	s->label = col_dup(st, 3, &oom);
	s->job = col_dup(st, 4, &oom);
	s->level = col_dup(st, 5, &oom);
	s->kind = col_dup(st, 6, &oom);
	parents = col_dup(st, 7, &oom);
	if (parents_parse(parents, s) != 0)
		oom = 1;
	free(parents);
	s->created = (time_t)sqlite3_column_int64(st, 8);
	if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
		s->has_retain_until = 1;
		s->retain_until = (time_t)sqlite3_column_int64(st, 9);
	}
	s->keep = sqlite3_column_int(st, 10) != 0;
	s->audit_head_seq = sqlite3_column_int64(st, 11);
	s->audit_head = col_dup(st, 12, &oom);
	s->files = (unsigned long long)sqlite3_column_int64(st, 13);
	s->bytes = (unsigned long long)sqlite3_column_int64(st, 14);
	s->header = col_dup(st, 15, &oom);
	s->signer = col_dup(st, 16, &oom);
	if (oom) {
		catalog_set_clear(s);
		errno = ENOMEM;
		warnp("cannot read sets");
		return -1;
	}
	return 0;
}

void
catalog_set_clear(struct catalog_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->host);
	free(s->label);
	free(s->job);
	free(s->level);
	free(s->kind);
	for (i = 0; i < s->nparents; i++)
		free(s->parents[i]);
	free(s->parents);
	free(s->audit_head);
	free(s->header);
	free(s->signer);
	catalog_object_list_free(s->objects, s->nobjects);
	memset(s, 0, sizeof(*s));
}

void
catalog_set_list_free(struct catalog_set *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		catalog_set_clear(&s[i]);
	free(s);
}

void
catalog_object_list_free(struct catalog_object *o, size_t n)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(o[i].name);
		free(o[i].role);
	}
	free(o);
}

/* One volumes row into a catalog_object (elem). */
static int
object_row(sqlite3_stmt *st, void *elem)
{
	struct catalog_object *o = elem;
	const char *h;
	int oom = 0;

	o->id = sqlite3_column_int64(st, 0);
	o->set_id = sqlite3_column_int64(st, 1);
	o->name = col_dup(st, 2, &oom);
	o->role = col_dup(st, 3, &oom);
	o->size = (unsigned long long)sqlite3_column_int64(st, 4);
	if ((h = (const char *)sqlite3_column_text(st, 5)) != NULL)
		util_strlcpy(o->sha256, h, sizeof(o->sha256));
	if ((h = (const char *)sqlite3_column_text(st, 6)) != NULL)
		util_strlcpy(o->payload_sha256, h, sizeof(o->payload_sha256));
	if (oom) {
		free(o->name);
		free(o->role);
		errno = ENOMEM;
		warnp("cannot list set objects");
		return -1;
	}
	return 0;
}

int
catalog_set_objects(struct catalog *cat, long long set_id,
    struct catalog_object **out, size_t *np)
{
	sqlite3_stmt *st = NULL;
	void *o = NULL;
	size_t n = 0;
	int rc = -1;

	if (prepare(cat, "SELECT id, set_id, name, role, size, sha256, "
	    "payload_sha256 FROM volumes WHERE set_id = ? ORDER BY id",
	    &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, set_id);
	if (collect_rows(cat, st, sizeof(struct catalog_object), object_row,
	    &o, &n, "list set objects") != 0)
		goto cleanup;
	*out = o;
	*np = n;
	o = NULL;
	n = 0;
	rc = 0;
cleanup:
	catalog_object_list_free(o, n);
	sqlite3_finalize(st);
	return rc;
}

/* One set row by a prepared query, with its objects: 1, 0, -1. */
static int
set_fetch(struct catalog *cat, sqlite3_stmt *st, struct catalog_set *out)
{
	int src;

	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		return 0;
	if (src != SQLITE_ROW) {
		report(cat, "cannot look up a set");
		return -1;
	}
	if (set_row(st, out) != 0)
		return -1;
	if (catalog_set_objects(cat, out->id, &out->objects,
	    &out->nobjects) != 0) {
		catalog_set_clear(out);
		return -1;
	}
	return 1;
}

int
catalog_set_find(struct catalog *cat, long long vault, const char *host,
    const char *label, struct catalog_set *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "SELECT " SET_COLUMNS " FROM sets WHERE vault = ? "
	    "AND host = ? AND label = ?", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, vault);
	bind_text(st, 2, host);
	bind_text(st, 3, label);
	rc = set_fetch(cat, st, out);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_get(struct catalog *cat, long long id, struct catalog_set *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "SELECT " SET_COLUMNS " FROM sets WHERE id = ?",
	    &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, id);
	rc = set_fetch(cat, st, out);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_exists(struct catalog *cat, long long vault, const char *host,
    const char *label)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, src;

	if (prepare(cat, "SELECT 1 FROM sets WHERE vault = ? AND host = ? "
	    "AND label = ?", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, vault);
	bind_text(st, 2, host);
	bind_text(st, 3, label);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = 1;
	else if (src == SQLITE_DONE)
		rc = 0;
	else
		report(cat, "cannot look up set '%s/%s'", host, label);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

static int
set_row_cb(sqlite3_stmt *st, void *elem)
{
	return set_row(st, elem);
}

int
catalog_set_list(struct catalog *cat, const struct catalog_set_filter *f,
    struct catalog_set **out, size_t *np)
{
	static const struct catalog_set_filter none;
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	size_t n = 0;
	int rc = -1;

	if (f == NULL)
		f = &none;
	if (prepare(cat, "SELECT " SET_COLUMNS " FROM sets WHERE "
	    "(?1 = 0 OR vault = ?1) AND (?2 IS NULL OR host = ?2) AND "
	    "(?3 IS NULL OR job = ?3) AND (?4 IS NULL OR kind = ?4) AND "
	    "(?5 IS NULL OR level = ?5) AND (?6 IS NULL OR label = ?6) "
	    "ORDER BY created, id", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, f->vault);
	bind_text(st, 2, f->host);
	bind_text(st, 3, f->job);
	bind_text(st, 4, f->kind);
	bind_text(st, 5, f->level);
	bind_text(st, 6, f->label);
	if (collect_rows(cat, st, sizeof(struct catalog_set), set_row_cb, &v,
	    &n, "list sets") != 0)
		goto cleanup;
	*out = v;
	*np = n;
	v = NULL;
	n = 0;
	rc = 0;
cleanup:
	catalog_set_list_free(v, n);
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_set_retention(struct catalog *cat, long long id, int keep,
    int has_retain_until, time_t retain_until)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "UPDATE sets SET keep = ?, retain_until = ? "
	    "WHERE id = ?", &st) != 0)
		goto cleanup;
	sqlite3_bind_int(st, 1, keep != 0);
	if (has_retain_until)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)retain_until);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		report(cat, "cannot change the retention of set %lld", id);
		goto cleanup;
	}
	if (sqlite3_changes(cat->db) == 0) {
		warn0("no set %lld in catalog '%s'", id, cat->path);
		errno = ENOENT;
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_verified(struct catalog *cat, long long id, time_t when)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (prepare(cat, "UPDATE sets SET verified = ? WHERE id = ?", &st) !=
	    0)
		goto cleanup;
	if (when == 0)
		sqlite3_bind_null(st, 1);
	else
		sqlite3_bind_int64(st, 1, (sqlite3_int64)when);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		report(cat, "cannot record the verification of set %lld", id);
		goto cleanup;
	}
	if (sqlite3_changes(cat->db) == 0) {
		warn0("no set %lld in catalog '%s'", id, cat->path);
		errno = ENOENT;
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_verified_time(struct catalog *cat, long long id, time_t *when)
{
	sqlite3_stmt *st = NULL;
	int r, rc = -1;

	*when = 0;
	if (prepare(cat, "SELECT verified FROM sets WHERE id = ?", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, id);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*when = (time_t)sqlite3_column_int64(st, 0);
	} else if (r != SQLITE_DONE) {
		report(cat, "cannot read the verification of set %lld", id);
		goto cleanup;
	}
	rc = 0;
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int
catalog_set_delete(struct catalog *cat, long long id)
{
	sqlite3_stmt *st = NULL;
	int own, ok = 0;

	if (tx_start(cat, &own) != 0)
		return -1;
	/* volumes and copies go with the set (ON DELETE CASCADE). */
	if (prepare(cat, "DELETE FROM sets WHERE id = ?", &st) != 0)
		goto cleanup;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		report(cat, "cannot delete set %lld", id);
		goto cleanup;
	}
	ok = 1;
cleanup:
	sqlite3_finalize(st);
	return tx_end(cat, own, ok);
}
