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
 *
 * File format (see coffer-config(1)): blank lines; comments starting with
 * '#' or ';' (also after a value, outside quotes); section headers
 * "[section]" or "[section "subsection"]" (in the subsection \" and \\ are
 * escapes); "name = value" lines.  A value is trimmed; double quotes keep
 * whitespace, '#' and ';'; the escapes \" \\ \n \t \b are understood.
 * Section names are [A-Za-z0-9-]+, names [A-Za-z][A-Za-z0-9-]*.
 *
 * Errors are reported (warnp.h) naming the file and line:
 *   config file '/x/config', line 7: bad boolean value 'maybe' for 'core.json'
 *
 * Parsing sets libinih's process-wide options (Debian builds inih with
 * INI_RUNTIME_OPTIONS), so do not parse from two threads at once.
 */
struct config;

/*
 * config_load(system_path, user_path): read both files (either may be NULL
 * or missing).  A syntax error or unreadable file is reported naming the file
 * and line; returns NULL then.
 */
struct config *config_load(const char *, const char *);

/* config_free(c): free c; NULL does nothing. */
void config_free(struct config *);

/* config_get(c, key): the last value of key, or NULL (also for a NULL c or
 * a malformed key). */
const char *config_get(const struct config *, const char *);

/*
 * config_get_all(c, key, values, n): every value of key, in the order read
 * (system file first).  *values is a newly allocated array (caller frees the
 * array only: the strings belong to c), NULL when *n is 0.  Returns 0, or
 * -1 when out of memory (reported).
 */
int config_get_all(const struct config *, const char *, const char ***,
    size_t *);

/*
 * config_get_bool(c, key, out): the last value of key as a boolean (true,
 * yes, on, 1 / false, no, off, 0; any case).  Returns 1 and sets *out to 1
 * or 0 when key is set, 0 when it is not (*out untouched, so it may hold
 * the default), or -1 for a bad value (reported naming file and line).
 */
int config_get_bool(const struct config *, const char *, int *);

/* config_get_int(c, key, out): the last value as a decimal integer; returns
 * as config_get_bool. */
int config_get_int(const struct config *, const char *, long long *);

/*
 * config_get_size(c, key, out): the last value as a byte count: a decimal
 * number with an optional binary suffix k, M, G or T (also written KiB, MiB,
 * GiB, TiB; any case).  Returns as config_get_bool.
 */
int config_get_size(const struct config *, const char *, unsigned long long *);

/* config_get_duration(c, key, secs): the last value as a duration
 * (util_parse_duration: 90s, 15m, 2h, 7d, 2w, 1y); returns as
 * config_get_bool. */
int config_get_duration(const struct config *, const char *, long long *);

/*
 * config_origin(c, key, file, line): where the last value of key was set.
 * Returns 1 (and sets *file, owned by c, and *line) or 0 when key is not
 * set.
 */
int config_origin(const struct config *, const char *, const char **, int *);

/*
 * config_bad_value(c, key, what): report "config file 'F', line N: bad WHAT
 * value 'V' for 'KEY'" for the last value of key, for modules that check
 * values of their own.  Returns -1.
 */
int config_bad_value(const struct config *, const char *, const char *);

/*
 * config_foreach(c, fn, cookie): call fn(key, value, file, line, cookie) for
 * every entry in order (system file first, then the user file; repeated keys
 * once per value).  key is normalised: "section.name" or
 * "section.subsection.name" with section and name in lower case.  Stops
 * when fn returns nonzero and returns that value; else 0.
 */
typedef int config_fn(const char *, const char *, const char *, int, void *);
int config_foreach(const struct config *, config_fn *, void *);

/*
 * config_subsections(c, section, names, n): the distinct subsection names of
 * section (e.g. every X of [target "X"]) that hold at least one key, in the
 * order first seen.  *names is a newly allocated array (caller frees the
 * array only), NULL when *n is 0.  Returns 0, or -1 when out of memory.
 */
int config_subsections(const struct config *, const char *, const char ***,
    size_t *);

/* config_parse_bool(s, out): parse a boolean as config_get_bool does;
 * 0, or -1 (not reported) when s is not a boolean. */
int config_parse_bool(const char *, int *);

/*
 * config_key_normalize(key, out): check that key is "section.name" or
 * "section.subsection.name" (section [A-Za-z0-9-]+, name
 * [A-Za-z][A-Za-z0-9-]*, a non-empty subsection without newlines) and set
 * *out to its normalised form (caller frees).  Returns 0, or -1 (reported:
 * "invalid key 'x': ...").
 */
int config_key_normalize(const char *, char **);

/*
 * config_set(path, key, value, flags): edit the config file at path (created
 * if missing, mode 0600), keeping comments, order and other lines.  By
 * default the last value of key is replaced (or key is added to the end of
 * its section, the section added at the end of the file when missing); with
 * CONFIG_ADD another value is added after the last one; with
 * CONFIG_REPLACE_ALL every value of key is replaced by one.  The value is
 * quoted when it needs it; values with newlines or other control characters
 * (but tab) are refused.  The file must parse first; it is written
 * whole-or-nothing (util_write_file).  Returns 0, or -1 (reported).
 */
enum config_set_flags {
	CONFIG_ADD = 1 << 0,
	CONFIG_REPLACE_ALL = 1 << 1
};
int config_set(const char *, const char *, const char *, int);

/*
 * config_unset(path, key, all): remove the last value of key from the file
 * at path (every value when all is nonzero), keeping everything else; a
 * section left with nothing but blank lines is removed too.  Returns 0 when
 * something was removed, 1 when key was not set (the file is untouched), or
 * -1 (reported).
 */
int config_unset(const char *, const char *, int);

#endif
