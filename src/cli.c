/*
 * cli.c: helpers shared by the commands (usage, audit events, operator).
 */
#include "compat.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "passphrase.h"
#include "config.h"
#include "home.h"
#include "lock.h"
#include "util.h"
#include "warnp.h"

void
cli_usage(const char *const *lines, FILE *fp)
{
	size_t i;

	for (i = 0; lines[i] != NULL; i++)
		fprintf(fp, "%s%s\n", i == 0 ? "usage: " : "   or: ",
		    lines[i]);
}

int
cli_want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
cli_usage_error(const char *const *lines, const char *fmt, ...)
{
	va_list ap;

	fputs("coffer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (lines != NULL)
		cli_usage(lines, stderr);
	return EXIT_USAGE;
}

int
cli_parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 65535)
		return -1;
	*fd = (int)v;
	return 0;
}

int
cli_passphrase_opt(int c, const char *arg, struct passphrase_source *src,
    const char *const *usage)
{

	if (c == CLI_OPT_PASSFILE)
		src->file = arg;
	else if (cli_parse_fd(arg, &src->fd) != 0) {
		cli_usage_error(usage, "bad descriptor '%s'", arg);
		return (-1);
	}
	if (src->file != NULL && src->fd >= 0) {
		cli_usage_error(usage, "--passphrase-file and --passphrase-fd "
		    "are exclusive");
		return (-1);
	}
	return (0);
}

int
cli_is_tty(int fd)
{
	return isatty(fd) == 1;
}

const char *
cli_operator(struct cli *cli)
{
	static char login[64];
	const char *name;
	struct passwd *pw;

	if (cli->operator_name != NULL && *cli->operator_name != '\0')
		return cli->operator_name;
	if (cli->config != NULL &&
	    (name = config_get(cli->config, "user.name")) != NULL &&
	    *name != '\0')
		return name;
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL) {
		snprintf(login, sizeof(login), "%s", pw->pw_name);
		return login;
	}
	snprintf(login, sizeof(login), "uid%ld", (long)geteuid());
	return login;
}

void
cli_host(struct cli *cli, char *buf, size_t size)
{
	const char *h;

	h = cli->config != NULL ? config_get(cli->config, "core.host") : NULL;
	if (h != NULL && *h != '\0')
		util_strlcpy(buf, h, size);
	else
		home_hostname(buf, size);
}

void
cli_event(struct cli *cli, struct audit_event *ev, char *host, size_t size)
{
	memset(ev, 0, sizeof(*ev));
	cli_host(cli, host, size);
	ev->operator_name = cli_operator(cli);
	ev->host = host;
	ev->site = cli->config != NULL ? config_get(cli->config, "site.name") :
					 NULL;
}

int
cli_audit(struct cli *cli, const char *action, const char *object,
    const char *details)
{
	struct audit_event ev;
	char host[256];

	if (cli->catalog == NULL) {
		warn0("cannot record audit event '%s': no catalog", action);
		return -1;
	}
	cli_event(cli, &ev, host, sizeof(host));
	ev.action = action;
	ev.object = object;
	ev.details = details;
	return audit_append(cli->catalog, &ev);
}

/* Take <home>/locks/NAME.lock into *lk; what names it in messages. */
static int
take_lock(struct cli *cli, const char *name, const char *what,
    struct lock **lk)
{
	pid_t holder = 0;
	char *dir;

	if ((dir = home_path(cli->home, "locks")) == NULL)
		return EXIT_ERROR;
	*lk = lock_take(dir, name, cli->wait_secs, &holder);
	free(dir);
	if (*lk != NULL)
		return EXIT_OK;
	if (errno == EWOULDBLOCK) {
		warn0("%s is locked by process %ld: try again later or use "
		      "--wait",
		    what, (long)holder);
		return EXIT_LOCKED;
	}
	return EXIT_ERROR;
}

int
cli_lock_vault(struct cli *cli)
{
	if (cli->lock != NULL)
		return EXIT_OK;
	return take_lock(cli, "vault", "the vault", &cli->lock);
}

int
cli_lock_job(struct cli *cli, const char *job, struct lock **lk)
{
	char name[160], what[160];

	snprintf(name, sizeof(name), "job-%s", job);
	snprintf(what, sizeof(what), "job '%s'", job);
	return take_lock(cli, name, what, lk);
}

const char *
cli_vault_path(struct cli *cli)
{
	const char *v = NULL;

	if (cli->config != NULL)
		v = config_get(cli->config, "vault.path");
	if (v == NULL || *v == '\0')
		warn0("no local vault configured (vault.path)");
	return v;
}

void
cli_human_bytes(unsigned long long n, char *buf, size_t size)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%llu B", n);
	else
		snprintf(buf, size, "%.1f %s", v, u[i]);
}

void
cli_progress_show(unsigned long long files, unsigned long long bytes,
    const char *verb, double rate, unsigned long long total_bytes, int final)
{
	char b[32], r[32], eta[32];

	cli_human_bytes(bytes, b, sizeof(b));
	cli_human_bytes(rate > 0 ? (unsigned long long)rate : 0, r, sizeof(r));
	if (total_bytes > 0 && rate > 0 && bytes <= total_bytes)
		snprintf(eta, sizeof(eta), "%.0fs",
		    (double)(total_bytes - bytes) / rate);
	else
		snprintf(eta, sizeof(eta), "\xe2\x80\x94");
	fprintf(stderr, "\r\033[K%llu files, %s %s, %s/s, ETA %s%s", files, b,
	    verb, r, eta, final ? "\n" : "");
	fflush(stderr);
}
