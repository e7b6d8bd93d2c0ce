#ifndef COFFER_CATALOG_H
#define COFFER_CATALOG_H

/*
 * catalog: the SQLite database in the coffer home (WAL mode, foreign keys,
 * busy timeout, versioned migrations).  coffer's only user of sqlite3.h.
 */
struct catalog;

enum catalog_flags {
	CATALOG_CREATE = 1 << 0, /* create the file and the schema */
};

/*
 * catalog_open(path, flags): open (or with CATALOG_CREATE create) the
 * catalog and migrate it to the current schema.  A file that is not a
 * database, or a schema newer than this coffer knows, is reported and NULL
 * returned.
 */
struct catalog *catalog_open(const char *, int);
void catalog_close(struct catalog *);

#endif
