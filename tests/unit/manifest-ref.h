#ifndef COFFER_MANIFEST_REF_H
#define COFFER_MANIFEST_REF_H

#include <jansson.h>

#include "manifest.h"

/* ref_entry_json(e): e as a jansson object, built as before (no checks;
 * NULL when a number is out of range).  cjson_dumps gives its line. */
json_t *ref_entry_json(const struct manifest_entry *);

/* ref_entry_parse(line, len, lineno, e, msg, msgsize): the old
 * manifest_entry_parse (json_loadb and the field checks), its message in
 * msg ("" on success) instead of on stderr. */
int ref_entry_parse(const char *, size_t, unsigned long long,
    struct manifest_entry *, char *, size_t);

#endif
