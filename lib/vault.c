#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "util.h"
#include "vault.h"
#include "warnp.h"

#define VAULT_FILE_MAX (1024 * 1024)

/* Highest NNNN of the coffer-vault.NNNN files in dir, 0 if none; -1 if the
 * directory cannot be read. */
static long
highest_version(const char *dir)
{
	DIR *d;
	struct dirent *de;
	long best = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v;

		if (strncmp(de->d_name, "coffer-vault.", 13) != 0)
			continue;
		v = strtol(de->d_name + 13, &end, 10);
		if (*end != '\0' || v <= 0 || v > 9999 ||
		    strlen(de->d_name + 13) != 4)
			continue;
		if (v > best)
			best = v;
	}
	closedir(d);
	return best;
}

int
vault_is_vault(const char *dir)
{
	return highest_version(dir) > 0;
}

static int
push_line(char ***arr, size_t *n, const char *s)
{
	char **na = realloc(*arr, (*n + 2) * sizeof(**arr));

	if (na == NULL)
		return -1;
	*arr = na;
	if ((na[*n] = strdup(s)) == NULL)
		return -1;
	na[++*n] = NULL;
	return 0;
}

void
vault_info_release(struct vault_info *info)
{
	size_t i;

	if (info == NULL)
		return;
	for (i = 0; info->recipients != NULL && info->recipients[i]; i++)
		free(info->recipients[i]);
	free(info->recipients);
	for (i = 0; info->signers != NULL && info->signers[i]; i++)
		free(info->signers[i]);
	free(info->signers);
	memset(info, 0, sizeof(*info));
}

int
vault_parse(const char *text, struct vault_info *info)
{
	const char *p = text;
	size_t nrec = 0, nsig = 0;
	int have_format = 0, have_id = 0;

	memset(info, 0, sizeof(*info));
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[512];

		if (len >= sizeof(line))
			goto bad;
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl != NULL);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "format ", 7) == 0) {
			if (strcmp(line + 7, "1") != 0)
				goto bad;
			info->format = 1;
			have_format = 1;
		} else if (strncmp(line, "id ", 3) == 0) {
			size_t i;
			if (strlen(line + 3) != VAULT_ID_LEN)
				goto bad;
			for (i = 0; i < VAULT_ID_LEN; i++)
				if (strchr("0123456789abcdef", line[3 + i]) ==
				    NULL)
					goto bad;
			memcpy(info->id, line + 3, VAULT_ID_LEN + 1);
			have_id = 1;
		} else if (strncmp(line, "created ", 8) == 0) {
			util_strlcpy(info->created, line + 8,
			    sizeof(info->created));
		} else if (strncmp(line, "recipient ", 10) == 0) {
			if (push_line(&info->recipients, &nrec, line + 10))
				goto bad;
		} else if (strncmp(line, "signer ", 7) == 0) {
			if (push_line(&info->signers, &nsig, line + 7))
				goto bad;
		} else {
			goto bad;
		}
	}
	if (!have_format || !have_id)
		goto bad;
	return 0;
bad:
	vault_info_release(info);
	return -1;
}

int
vault_read(const char *dir, struct vault_info *info)
{
	long v = highest_version(dir);
	char name[32];
	char *path, *text;

	if (v < 0) {
		warnp("cannot read vault directory '%s'", dir);
		return -1;
	}
	if (v == 0) {
		warn0("'%s' is not a coffer vault (no coffer-vault file)",
		    dir);
		return -1;
	}
	for (; v > 0; v--) {
		snprintf(name, sizeof(name), "coffer-vault.%04d", (int)(v % 10000));
		if ((path = util_path_join(dir, name)) == NULL)
			return -1;
		if (access(path, F_OK) != 0) {
			free(path);
			continue;
		}
		if (util_read_file(path, &text, NULL, VAULT_FILE_MAX) == 0) {
			int rc = vault_parse(text, info);
			free(text);
			if (rc == 0) {
				info->version = (unsigned)v;
				free(path);
				return 0;
			}
			warning("vault file '%s' is damaged: skipped", path);
		}
		free(path);
	}
	warn0("vault '%s' has no valid coffer-vault file", dir);
	return -1;
}

static int
dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* The text of one coffer-vault version (caller frees), or NULL. */
static char *
vault_text(const char *id, const char *created,
    const char *const *recipients, const char *const *signers)
{
	char *text, *more;
	size_t i;

	text = util_asprintf("# coffer vault: see coffer-vault(5)\n"
			     "format %d\nid %s\ncreated %s\n",
	    VAULT_FORMAT, id, created);
	for (i = 0; text != NULL && recipients && recipients[i]; i++) {
		more = util_asprintf("%srecipient %s\n", text, recipients[i]);
		free(text);
		text = more;
	}
	for (i = 0; text != NULL && signers && signers[i]; i++) {
		more = util_asprintf("%ssigner %s\n", text, signers[i]);
		free(text);
		text = more;
	}
	return text;
}

int
vault_has_recipient(const struct vault_info *info, const char *r)
{
	size_t i;

	for (i = 0; info->recipients != NULL && info->recipients[i]; i++)
		if (strcmp(info->recipients[i], r) == 0)
			return 1;
	return 0;
}

int
vault_add_version(const char *dir, const char *const *recipients,
    const char *const *signers, unsigned *version)
{
	struct vault_info info;
	char *text = NULL, *path = NULL, name[32];
	long v;
	int rc = -1;

	if (vault_read(dir, &info) != 0)
		return -1;
	if (recipients == NULL)
		recipients = (const char *const *)info.recipients;
	if (signers == NULL)
		signers = (const char *const *)info.signers;
	if ((text = vault_text(info.id, info.created, recipients, signers)) ==
	    NULL)
		goto cleanup;
	for (v = highest_version(dir) + 1; v <= 9999; v++) {
		snprintf(name, sizeof(name), "coffer-vault.%04d", (int)v);
		free(path);
		if ((path = util_path_join(dir, name)) == NULL)
			goto cleanup;
		if (util_write_file(path, text, strlen(text), 0644,
			UTIL_EXCL) == 0)
			break;
		if (errno != EEXIST)
			goto cleanup;
	}
	if (v > 9999) {
		warn0("vault '%s' has no free coffer-vault version", dir);
		goto cleanup;
	}
	if (version != NULL)
		*version = (unsigned)v;
	rc = 0;
cleanup:
	free(path);
	free(text);
	vault_info_release(&info);
	return rc;
}

int
vault_create(const char *dir, const char *const *recipients,
    const char *const *signers, char id[VAULT_ID_LEN + 1])
{
	unsigned char raw[VAULT_ID_LEN / 2];
	char created[32], *text = NULL, *path = NULL;
	struct stat st;
	int made_dir = 0, rc = -1;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			warn0("vault '%s' exists and is not a directory", dir);
			return -1;
		}
		if (vault_is_vault(dir)) {
			warn0("'%s' is already a coffer vault", dir);
			return -1;
		}
		if (dir_is_empty(dir) != 1) {
			warn0("vault directory '%s' is not empty", dir);
			return -1;
		}
	} else if (errno != ENOENT) {
		warnp("cannot access vault directory '%s'", dir);
		return -1;
	} else {
		if (util_mkdir_p(dir, 0700) != 0)
			return -1;
		made_dir = 1;
	}
	if (crypto_random(raw, sizeof(raw)) != 0)
		goto cleanup;
	util_hex(id, raw, sizeof(raw));
	clock_format_utc(clock_real(), created, sizeof(created));
	text = vault_text(id, created, recipients, signers);
	if (text == NULL)
		goto cleanup;
	if ((path = util_path_join(dir, "coffer-vault.0001")) == NULL)
		goto cleanup;
	if (util_write_file(path, text, strlen(text), 0644, UTIL_EXCL) != 0) {
		if (errno == EEXIST)
			warn0("'%s' already exists", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0 && made_dir)
		rmdir(dir);
	free(path);
	free(text);
	return rc;
}
