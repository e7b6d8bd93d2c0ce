#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "clock.h"
#include "manifest.h"
#include "recovery.h"
#include "set.h"
#include "util.h"
#include "warnp.h"

/* A growing text buffer; a failed append spoils it (oom set). */
struct text {
	char *buf;
	size_t len, cap;
	int oom;
};

static void
text_addn(struct text *t, const char *s, size_t n)
{
	size_t cap;
	char *nb;

	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((nb = realloc(t->buf, cap)) == NULL) {
			t->oom = 1;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void
text_add(struct text *t, const char *s)
{

	text_addn(t, s, strlen(s));
}

static void text_printf(struct text *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		t->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	text_addn(t, s, (size_t)n);
	free(s);
}

char *
recovery_shell_quote(const void *p, size_t len)
{
	struct text t = { NULL, 0, 0, 0 };
	const char *s = p;
	size_t i, start;

	text_add(&t, "'");
	for (start = i = 0; i < len; i++) {
		if (s[i] != '\'')
			continue;
		text_addn(&t, s + start, i - start);
		text_add(&t, "'\\''");
		start = i + 1;
	}
	text_addn(&t, s + start, len - start);
	text_add(&t, "'");
	if (t.oom) {
		free(t.buf);
		warn0("cannot quote a path: out of memory");
		return (NULL);
	}
	return (t.buf);
}

/* Append the quoted name of part i of n of path. */
static void
add_part(struct text *t, const void *path, size_t len, uint32_t i,
    uint32_t n)
{
	char *name, *q = NULL;
	size_t nlen;

	if ((name = manifest_part_name(path, len, i, n, &nlen)) == NULL ||
	    (q = recovery_shell_quote(name, nlen)) == NULL)
		t->oom = 1;
	else {
		text_add(t, " ");
		text_add(t, q);
	}
	free(name);
	free(q);
}

char *
recovery_join_line(const void *path, size_t len, uint32_t nparts)
{
	struct text t = { NULL, 0, 0, 0 };
	char *q;
	uint32_t i;

	if (nparts < 1) {
		warn0("a split file needs at least one part");
		return (NULL);
	}
	if ((q = recovery_shell_quote(path, len)) == NULL)
		return (NULL);
	text_add(&t, "cat");
	for (i = 1; i <= nparts; i++)
		add_part(&t, path, len, i, nparts);
	text_printf(&t, " > %s && rm -f", q);
	for (i = 1; i <= nparts; i++)
		add_part(&t, path, len, i, nparts);
	free(q);
	if (t.oom) {
		free(t.buf);
		warn0("cannot build a join line: out of memory");
		return (NULL);
	}
	return (t.buf);
}

/* 1 when a name can stand on one line of the text: no control bytes. */
static int
one_line(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return (0);
	return (1);
}

static size_t
count_volumes(const struct set_header *h)
{
	size_t i, n = 0;

	for (i = 0; i < h->nobjects; i++)
		if (h->objects[i].role == SET_ROLE_VOLUME)
			n++;
	return (n);
}

/*
 * The generic join: every "NAME.coffer-part-1-of-N" group under DEST,
 * checked complete, joined in order into NAME, then its parts removed.
 * Part and count are zero-padded to the width of N (at least 4).
 */
static const char join_all[] =
    "    (cd \"$DEST\" && find . -type f -name '*.coffer-part-*-of-*' "
    "-exec sh -c '\n"
    "    for f do\n"
    "      n=${f##*-of-}; b=${f%.coffer-part-*-of-*}\n"
    "      p=${f##*.coffer-part-}; p=${p%-of-*}\n"
    "      case $n$p in \"\"|*[!0-9]*) continue;; esac\n"
    "      [ \"$p\" = \"$(printf \"%0${#n}d\" 1)\" ] || continue\n"
    "      i=1; while [ \"$i\" -le \"$n\" ]; do\n"
    "        [ -f \"$b.coffer-part-$(printf \"%0${#n}d\" \"$i\")-of-$n\" ] "
    "|| { echo \"missing part $i of $b\" >&2; exit 1; }\n"
    "        i=$((i + 1)); done\n"
    "      : > \"$b\" || exit 1\n"
    "      i=1; while [ \"$i\" -le \"$n\" ]; do\n"
    "        cat \"$b.coffer-part-$(printf \"%0${#n}d\" \"$i\")-of-$n\" "
    ">> \"$b\" || exit 1\n"
    "        i=$((i + 1)); done\n"
    "      i=1; while [ \"$i\" -le \"$n\" ]; do\n"
    "        rm -f \"$b.coffer-part-$(printf \"%0${#n}d\" \"$i\")-of-$n\"\n"
    "        i=$((i + 1)); done\n"
    "    done' sh {} +)\n";

static void
add_set_steps(struct text *t, const struct set_header *h, size_t step,
    size_t nsteps, int self, const struct recovery_split *splits,
    size_t nsplits)
{
	char created[32], *line;
	size_t i, skipped = 0;

	clock_format_utc(h->created, created, sizeof(created));
	text_printf(t, "\nStep %zu of %zu: set %s (%s, %s)%s\n\n", step,
	    nsteps, h->label, set_level_name(h->level), created,
	    self ? ", this set" : "");
	text_add(t, "Check the set's objects (needs no key):\n\n");
	text_printf(t, "    (cd \"$VAULT/sets/%s/%s\" && sha256sum -c "
	    "SHA256SUMS)\n\n", h->host, h->label);
	if (h->level != SET_FULL) {
		text_printf(t, "Remove what this %s set records as deleted "
		    "(before extracting it, so a path\nthat changed type is "
		    "replaced cleanly).  The manifest is JSON Lines; the sed\n"
		    "recipe removes every deleted path written plainly:\n\n",
		    set_level_name(h->level));
		text_printf(t, "    age -d -i \"$ID\" \"$VAULT/sets/%s/%s/%s\" "
		    "| zstd -d | grep '\"deleted\":true' |\n"
		    "      sed -n 's/^.*\"path\":\"\\([^\"\\\\]*\\)\".*$/\\1/p' "
		    "|\n"
		    "      while IFS= read -r p; do rm -rf -- \"$DEST/$p\"; "
		    "done\n\n", h->host, h->label, SET_MANIFEST);
		text_add(t, "Deleted paths the recipe cannot handle (names "
		    "with quotes, backslashes or\ncontrol characters, "
		    "which JSON escapes, and names that are not UTF-8, given\n"
		    "as base64 in \"path_b64\") are printed by the next "
		    "command; remove them by hand\n(printf %s BASE64 | "
		    "base64 -d shows a path_b64 name):\n\n");
		text_printf(t, "    age -d -i \"$ID\" \"$VAULT/sets/%s/%s/%s\" "
		    "| zstd -d | grep '\"deleted\":true' |\n"
		    "      grep -e '\"path_b64\"' -e '\"path\":\"[^\"]*\\\\' "
		    "|| true\n\n", h->host, h->label, SET_MANIFEST);
	}
	text_printf(t, "Extract every volume, in order (a file split "
	    "across volumes is extracted as\nits parts, joined below):\n\n");
	for (i = 0; i < h->nobjects; i++) {
		if (h->objects[i].role != SET_ROLE_VOLUME)
			continue;
		text_printf(t, "    age -d -i \"$ID\" \"$VAULT/sets/%s/%s/%s\" "
		    "| zstd -d |\n      tar --xattrs --acls --numeric-owner "
		    "-xpf - -C \"$DEST\"\n", h->host, h->label,
		    h->objects[i].name);
	}
	if (count_volumes(h) == 0)
		text_add(t, "  (this set has no volumes: nothing changed)\n");
	text_add(t, "\n");
	if (self && nsplits > 0) {
		text_printf(t, "Join the %zu file%s of this set split across "
		    "volumes:\n\n", nsplits, nsplits == 1 ? "" : "s");
		for (i = 0; i < nsplits; i++) {
			if (!one_line(splits[i].path, splits[i].path_len)) {
				skipped++;
				continue;
			}
			if ((line = recovery_join_line(splits[i].path,
			    splits[i].path_len, splits[i].nparts)) == NULL) {
				t->oom = 1;
				return;
			}
			text_printf(t, "    (cd \"$DEST\" && %s)\n", line);
			free(line);
		}
		if (skipped > 0)
			text_printf(t, "\n  (%zu split file%s with control "
			    "characters in %s name%s %s joined by the\n"
			    "  next command only.)\n", skipped,
			    skipped == 1 ? "" : "s",
			    skipped == 1 ? "its" : "their",
			    skipped == 1 ? "" : "s",
			    skipped == 1 ? "is" : "are");
		text_add(t, "\nThen join any split file left (this finds "
		    "every NAME.coffer-part-1-of-N\ngroup, checks it is "
		    "complete, joins it and removes the parts):\n\n");
	} else
		text_add(t, "Join the files split across volumes (this finds "
		    "every NAME.coffer-part-1-of-N\ngroup, checks it is "
		    "complete, joins it and removes the parts; the list of\n"
		    "this set's split files is in its own RECOVERY.txt):\n\n");
	text_add(t, join_all);
	/* tar holds no member for a hard link whose data is not in this
	 * set's volumes as a whole file (a link to a split file, or to a
	 * file an earlier set holds): the manifest has it, without a
	 * "volume"; link it once its target is whole.  The last set's
	 * manifest lists every link of the final tree, so once, at its end. */
	if (!self)
		return;
	text_add(t, "\nRecreate the hard links no volume holds (links to a "
	    "split file, or to a file\nan earlier set holds: \"hardlink\" "
	    "entries without \"volume\" in the manifest;\nnames JSON "
	    "escapes are left for coffer ls to show):\n\n");
	text_printf(t, "    age -d -i \"$ID\" \"$VAULT/sets/%s/%s/%s\" "
	    "| zstd -d |\n"
	    "      grep '\"type\":\"hardlink\"' | { grep -v "
	    "'\"volume\":' || true; } |\n"
	    "      sed -n 's/^.*\"path\":\"\\([^\"\\\\]*\\)\",.*"
	    "\"target\":\"\\([^\"\\\\]*\\)\",.*$/\\2\\n\\1/p' |\n"
	    "      while read -r t && read -r p; do "
	    "ln -f \"$DEST/$t\" \"$DEST/$p\" || exit 1; done\n",
	    h->host, h->label, SET_MANIFEST);
}

char *
recovery_text(const struct set_header *set,
    const struct set_header *const *chain, size_t n,
    const struct recovery_split *splits, size_t nsplits, size_t *len)
{
	struct text t = { NULL, 0, 0, 0 };
	char created[32];
	size_t i, nvol;

	clock_format_utc(set->created, created, sizeof(created));
	nvol = count_volumes(set);
	text_add(&t, "RECOVERY: how to restore this coffer backup set "
	    "without coffer\n"
	    "==============================================================="
	    "\n\n");
	text_printf(&t, "Set:      %s\n", set->label);
	text_printf(&t, "Host:     %s\n", set->host);
	text_printf(&t, "Job:      %s\n", set->job);
	text_printf(&t, "Kind:     %s\n", set_kind_name(set->kind));
	text_printf(&t, "Level:    %s\n", set_level_name(set->level));
	text_printf(&t, "Created:  %s\n", created);
	text_printf(&t, "Vault:    %s\n", set->vault);
	text_printf(&t, "Volumes:  %zu\n", nvol);
	text_printf(&t, "Files:    %" PRIu64 " entries, %" PRIu64
	    " bytes\n", set->files, set->bytes);
	text_printf(&t, "Place:    sets/%s/%s/ in the vault\n\n", set->host,
	    set->label);
	if (n > 0) {
		text_add(&t, "This set records only what changed since its "
		    "parent.  Restoring it means\nrestoring its whole chain, "
		    "oldest first, into the same directory:\n\n");
		for (i = 0; i < n; i++) {
			clock_format_utc(chain[i]->created, created,
			    sizeof(created));
			text_printf(&t, "  %zu. %-40s %-4s  %s\n", i + 1,
			    chain[i]->label, set_level_name(chain[i]->level),
			    created);
		}
		clock_format_utc(set->created, created, sizeof(created));
		text_printf(&t, "  %zu. %-40s %-4s  %s  (this set)\n\n",
		    n + 1, set->label, set_level_name(set->level), created);
		text_add(&t, "Each set is in sets/HOST/LABEL/ of the vault; "
		    "every one must be present.\n\n");
	}
	text_add(&t,
	    "Tools: age, zstd, tar (GNU tar, for --xattrs and --acls), "
	    "sha256sum, cat, and\nsh, find, grep and sed.  Volumes are "
	    "POSIX tar archives, compressed with zstd\nand encrypted with "
	    "age; member names are relative, so tar -C chooses where\n"
	    "they go.\n\n"
	    "The restore key\n"
	    "---------------\n\n"
	    "Every age -d below needs the vault's age identity "
	    "(AGE-SECRET-KEY-1...).  It is\nkept passphrase-protected in "
	    "the coffer home of the host (keys/identity.age;\nthe home is "
	    "$COFFER_HOME, else /var/lib/coffer for root, else\n"
	    "~/.local/share/coffer).  Unwrap it once into a private file "
	    "(age asks for the\npassphrase):\n\n"
	    "  umask 077\n"
	    "  age -d -o /root/identity.txt /var/lib/coffer/keys/identity.age\n"
	    "\n"
	    "Without that file, use the escrow paper copy (type its "
	    "AGE-SECRET-KEY-1... line\ninto identity.txt) or, when the key "
	    "was split into shares, rebuild it with\nssss-combine.  Remove "
	    "identity.txt when done.\n\n"
	    "The commands\n"
	    "------------\n\n"
	    "Every line below indented by exactly four spaces is part of a "
	    "POSIX sh script;\nin order they restore the whole chain.  Set "
	    "three variables to ABSOLUTE paths\nfirst, then run the lines, "
	    "or save them and run them:\n\n"
	    "  export VAULT=/path/to/vault   # holds coffer-vault.NNNN and "
	    "sets/\n"
	    "  export ID=/root/identity.txt  # the unwrapped identity\n"
	    "  export DEST=/restore          # where the files go\n"
	    "  sed -n 's/^    //p' RECOVERY.txt > restore.sh && sh "
	    "restore.sh\n\n"
	    "Run them as root to restore owners (numeric ids, as stored), "
	    "modes, extended\nattributes and ACLs; GNU tar restores only "
	    "user.* attributes unless given\n--xattrs-include='*'.  "
	    "A pipeline prints an error and the script stops if a\n"
	    "volume is damaged: zstd and tar check what age decrypted.\n\n");
	text_add(&t, "    set -e\n");
	text_add(&t, "    : \"${VAULT:?set VAULT}\" \"${ID:?set ID}\" "
	    "\"${DEST:?set DEST}\"\n");
	text_add(&t, "    mkdir -p \"$DEST\"\n");
	for (i = 0; i < n; i++)
		add_set_steps(&t, chain[i], i + 1, n + 1, 0, NULL, 0);
	add_set_steps(&t, set, n + 1, n + 1, 1, splits, nsplits);
	text_add(&t, "\nThe manifest\n------------\n\n"
	    "Each set's manifest.jsonl.zst.age lists every entry (path or "
	    "path_b64, type,\nsize, mode, owner, mtime, sha256, volume; "
	    "\"in\" names the set holding the\ndata of a file unchanged "
	    "since; \"deleted\" marks a path gone since the parent).\nRead "
	    "it with:\n\n"
	    "  age -d -i /root/identity.txt manifest.jsonl.zst.age | "
	    "zstd -d | less\n\n"
	    "After the restore, a file's SHA-256 can be compared with its "
	    "\"sha256\" there\n(sha256sum FILE).  See coffer-vault(5) for "
	    "the format.\n");
	if (t.oom) {
		free(t.buf);
		warn0("cannot build RECOVERY.txt: out of memory");
		return (NULL);
	}
	if (len != NULL)
		*len = t.len;
	return (t.buf);
}
