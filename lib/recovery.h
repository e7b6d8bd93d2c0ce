#ifndef COFFER_RECOVERY_H
#define COFFER_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

struct set_header;

/*
 * recovery: the text of RECOVERY.txt (coffer-vault(5)): how a person
 * restores a set and its chain with age, zstd, tar, sha256sum and cat
 * alone.  Every line of the text indented by exactly four spaces is a
 * shell command; taken in order (sed -n 's/^    //p' RECOVERY.txt) they
 * form a POSIX sh script that restores the whole chain, once the three
 * variables it names are set in the environment:
 *   VAULT  the vault directory (the one holding coffer-vault.NNNN, sets/)
 *   ID     an age identity file (unwrapped, see the text)
 *   DEST   the directory to restore into (created if missing)
 * For each set of the chain, oldest (the full) first: check SHA256SUMS,
 * remove the paths its manifest records as deleted (simple names by a sed
 * recipe; names with quotes, backslashes, control or non-UTF-8 bytes are
 * counted and left to the reader), extract every volume in order, then
 * join the split files of that set (a generic find | sh loop that joins
 * every "NAME.coffer-part-1-of-N" group it finds and removes the parts).
 * The split files of the set itself are also listed with one explicit
 * "cat ... > ... && rm ..." line each (shell-quoted).
 */

/* A file of the set that is split across volumes. */
struct recovery_split {
	const char *path;       /* raw bytes, as in the manifest */
	size_t path_len;
	uint32_t nparts;        /* >= 2 */
};

/*
 * recovery_text(set, chain, n, splits, nsplits, len): the RECOVERY.txt
 * text for set.  chain holds the n sets to restore before it, oldest (the
 * full) first, nearest parent last (n = 0 for a full set); only their
 * headers are needed (host, label, level, created, objects).  splits
 * lists the split files of set itself (from its manifest).  Newly
 * allocated, NUL-terminated (caller frees), *len (may be NULL) receives
 * the length; NULL (reported) on failure.
 */
char *recovery_text(const struct set_header *,
    const struct set_header *const *, size_t,
    const struct recovery_split *, size_t, size_t *);

/*
 * recovery_shell_quote(p, len): the bytes quoted as one sh word in single
 * quotes ('it'\''s'), newly allocated (caller frees) or NULL (reported).
 */
char *recovery_shell_quote(const void *, size_t);

/*
 * recovery_join_line(path, len, nparts): the explicit line that joins a
 * split file relative to the current directory: "cat 'P.coffer-part-0001-
 * of-0003' ... > 'P' && rm -f 'P.coffer-part-0001-of-0003' ...", newly
 * allocated (caller frees, no newline) or NULL (reported).
 */
char *recovery_join_line(const void *, size_t, uint32_t);

#endif
