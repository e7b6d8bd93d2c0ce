#include "compat.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home.h"
#include "util.h"
#include "warnp.h"

char *
home_default(void)
{
	const char *env = getenv("COFFER_HOME");
	const char *home;

	if (env != NULL && *env != '\0')
		return util_strdup(env);
	if (geteuid() == 0)
		return util_strdup("/var/lib/coffer");
	home = getenv("HOME");
	if (home == NULL || *home == '\0') {
		warn0("cannot find the coffer home: set COFFER_HOME or HOME, "
		      "or use -C DIR");
		return NULL;
	}
	return util_asprintf("%s/.local/share/coffer", home);
}

int
home_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
home_check(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT) {
			warn0("coffer home '%s' does not exist: run 'coffer "
			      "init' first",
			    path);
			return -1;
		}
		warnp("cannot access coffer home '%s'", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		warn0("coffer home '%s' is not a directory", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		warn0("coffer home '%s' is owned by uid %ld, not by you "
		      "(uid %ld): refusing to use it",
		    path, (long)st.st_uid, (long)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		warn0("coffer home '%s' is writable by others (mode %04o): "
		      "run 'chmod 700 %s'",
		    path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (access(path, R_OK | W_OK | X_OK) != 0) {
		warnp("cannot use coffer home '%s'", path);
		return -1;
	}
	return 0;
}

char *
home_path(const char *home, const char *name)
{
	return util_path_join(home, name);
}

void
home_hostname(char *buf, size_t size)
{
	char host[256];
	size_t i, n = 0;

	if (gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && host[i] != '.' && n + 1 < size; i++) {
		char c = host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			c = '-';
		buf[n++] = c;
	}
	if (n == 0 && size > 9)
		n = util_strlcpy(buf, "localhost", size);
	buf[n] = '\0';
}
