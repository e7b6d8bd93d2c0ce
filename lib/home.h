#ifndef COFFER_HOME_H
#define COFFER_HOME_H

/*
 * home: the coffer home directory ($COFFER_HOME, default /var/lib/coffer
 * for root and ~/.local/share/coffer otherwise): config, catalog.db, keys/,
 * locks/, cache/.
 */

/* home_default(): the home to use when -C is not given (caller frees), or
 * NULL (reported) when neither COFFER_HOME nor HOME is set. */
char *home_default(void);

/*
 * home_check(path): the home exists, is a directory owned by the effective
 * user, is readable, writable and searchable, and is not writable by group
 * or others.  Returns 0, or -1 with a message naming the home and the
 * problem ("run 'coffer init'" when it does not exist).
 */
int home_check(const char *);

/* home_exists(path): 1 when path exists (any type), else 0. */
int home_exists(const char *);

/* home_path(home, name): "home/name", newly allocated (caller frees). */
char *home_path(const char *, const char *);

/* home_hostname(buf, size): the short host name used for vault prefixes
 * and audit events, made safe as a label ([A-Za-z0-9._-]). */
void home_hostname(char *, size_t);

#endif
