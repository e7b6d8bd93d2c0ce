#ifndef COFFER_CONFIG_H
#define COFFER_CONFIG_H

#include <stddef.h>

/*
 * config: git-config-style INI files read with libinih.  Keys are named
 * "section.name" or "section.subsection.name" (from [section "subsection"]);
 * section and name are case-insensitive, the subsection is not.  A key may
 * repeat; config_get returns the last value, config_get_all every value.
 * The system file (/etc/coffer/coffer.conf) is read first, then
 * $COFFER_HOME/config.
 */
struct config;

/*
 * config_load(system_path, user_path): read both files (either may be NULL
 * or missing).  A syntax error or unreadable file is reported naming the file
 * and line; returns NULL then.
 */
struct config *config_load(const char *, const char *);
void config_free(struct config *);

/* config_get(c, key): the last value of key, or NULL. */
const char *config_get(const struct config *, const char *);

#endif
