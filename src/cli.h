#ifndef COFFER_CLI_H
#define COFFER_CLI_H

#include <stdio.h>

/* Exit codes (DESIGN.md). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_DAMAGE = 3,
	EXIT_LOCKED = 4,
};

/* What a command needs set up before it runs (a dispatch table row). */
enum cmd_flags {
	CMD_HOME = 1 << 0,    /* an initialised coffer home (config loaded) */
	CMD_CATALOG = 1 << 1, /* the catalog open (implies CMD_HOME) */
	CMD_LOCK = 1 << 2,    /* the vault lock held (implies CMD_CATALOG) */
	CMD_NOCRYPTO = 1 << 3 /* libgcrypt need not be initialised */
};

/* The role a command needs; enforced once operators exist. */
enum cli_role {
	ROLE_ANY = 0,
	ROLE_ADMIN,
	ROLE_OPERATOR,
	ROLE_CLERK,
	ROLE_AUDITOR,
};

struct config;
struct catalog;
struct lock;

/* Shared state set up by the dispatcher for a command. */
struct cli {
	const char *cmd;            /* "init", "audit", ... */
	char *home;                 /* the coffer home directory */
	int json, quiet, verbose;
	const char *operator_name;  /* --operator */
	long long wait_secs;        /* --wait: -1 no wait, else seconds */
	struct config *config;      /* CMD_HOME */
	struct catalog *catalog;    /* CMD_CATALOG */
	struct lock *lock;          /* CMD_LOCK */
};

struct cmd {
	const char *name;
	int (*fn)(int, char **, struct cli *);
	int flags;
	enum cli_role role;
	const char *summary;
};

/* Each command: fn(argc, argv, cli), argv[0] the command name. Returns an
 * exit code. */
int cmd_init(int, char **, struct cli *);
int cmd_status(int, char **, struct cli *);
int cmd_config(int, char **, struct cli *);
int cmd_audit(int, char **, struct cli *);
int cmd_keygen(int, char **, struct cli *);
int cmd_encrypt(int, char **, struct cli *);
int cmd_decrypt(int, char **, struct cli *);
int cmd_key(int, char **, struct cli *);
int cmd_backup(int, char **, struct cli *);
int cmd_sets(int, char **, struct cli *);
int cmd_show(int, char **, struct cli *);
int cmd_ls(int, char **, struct cli *);
int cmd_diff(int, char **, struct cli *);
int cmd_restore(int, char **, struct cli *);
int cmd_verify(int, char **, struct cli *);
int cmd_prune(int, char **, struct cli *);
int cmd_forget(int, char **, struct cli *);
int cmd_keep(int, char **, struct cli *);

/*
 * cli_usage(usage, fp): print the usage lines (NULL-terminated) as
 * "usage: LINE" then "   or: LINE", like git.  The lines are the command's
 * man page SYNOPSIS, word for word (a test compares them).
 */
void cli_usage(const char *const *, FILE *);

/*
 * cli_help_or_usage(usage, argc, argv): when argv holds -h or --help,
 * print usage on stdout and return 1; the caller then exits 0.
 */
int cli_want_help(int, char **);

/* cli_usage_error(usage, fmt, ...): print a message and the usage on
 * stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *const *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * cli_audit(cli, action, object, details): append an audit event with
 * the operator, host and site from cli; details is a JSON object text or
 * NULL.  Returns 0 or -1 (reported).
 */
int cli_audit(struct cli *, const char *, const char *, const char *);

/* cli_host(cli, buf, size): config core.host, else the short host name:
 * the host of vault prefixes and audit events. */
void cli_host(struct cli *, char *, size_t);

struct audit_event;

/*
 * cli_event(cli, ev, host, size): fill ev as an audit event template:
 * operator (cli_operator), host (cli_host, written into host), site
 * (config site.name); action, object and details left NULL.
 */
void cli_event(struct cli *, struct audit_event *, char *, size_t);

/* cli_operator(cli): --operator, else config user.name, else the login. */
const char *cli_operator(struct cli *);

/*
 * cli_lock_vault(cli): take the vault lock (<home>/locks/vault.lock) into
 * cli->lock, waiting as --wait says.  Returns EXIT_OK, EXIT_LOCKED (the
 * holder's pid named) or EXIT_ERROR (reported).  The dispatcher calls it
 * for CMD_LOCK rows; a command whose verbs differ calls it itself.
 */
int cli_lock_vault(struct cli *);

/*
 * cli_reconcile(cli): reconcile the catalog with the local vault
 * (lib/reconcile.h) after the lock was taken: add committed sets the
 * catalog lacks, drop sets whose set.json.sig is gone, remove this host's
 * leftovers.  Problems are warnings; always returns 0 (src/cmd-backup.c).
 */
int cli_reconcile(struct cli *);

/*
 * cli_lock_job(cli, job, lk): take the lock of a job
 * (<home>/locks/job-JOB.lock) into *lk (the caller releases it with
 * lock_release), so two runs of one job never overlap, whatever else holds
 * the vault.  Returns as cli_lock_vault.
 */
int cli_lock_job(struct cli *, const char *, struct lock **);

/*
 * cli_vault_path(cli): the local vault (config vault.path), or NULL with a
 * message.
 */
const char *cli_vault_path(struct cli *);

/* cli_parse_fd(s, fd): a descriptor number (0..65535) for --passphrase-fd;
 * 0, or -1 when s is not one. */
int cli_parse_fd(const char *, int *);

/* --passphrase-file FILE and --passphrase-fd N, for an option table; the
 * values are outside the range of short options. */
enum { CLI_OPT_PASSFILE = 0x1000, CLI_OPT_PASSFD };
#define CLI_PASSPHRASE_OPTIONS						\
	{ "passphrase-file", required_argument, NULL, CLI_OPT_PASSFILE },	\
	{ "passphrase-fd", required_argument, NULL, CLI_OPT_PASSFD }

struct passphrase_source;
/*
 * cli_passphrase_opt(c, arg, src, usage): take option c (CLI_OPT_PASSFILE
 * or CLI_OPT_PASSFD) with its argument into src.  A bad descriptor, or
 * both options, is a usage error (reported with usage): -1, else 0.
 */
int cli_passphrase_opt(int, const char *, struct passphrase_source *,
    const char *const *);

/* cli_is_tty(fd): isatty that tolerates errors. */
int cli_is_tty(int);

/* cli_human_bytes(n, buf, size): n as "512 B", "1.5 MiB"... into buf. */
void cli_human_bytes(unsigned long long, char *, size_t);

/*
 * cli_progress_show(files, bytes, verb, rate, total_bytes, final): the
 * progress line of a long command on stderr, redrawn in place: "N files,
 * X VERB, R/s, ETA T" (ETA when total_bytes is known), ended by a newline
 * when final.  Callers show it only when cli_is_tty(2) and not -q.
 */
void cli_progress_show(unsigned long long, unsigned long long, const char *,
    double, unsigned long long, int);

/*
 * Output of the age plumbing commands (encrypt, decrypt), defined in
 * src/cmd-encrypt.c.  cli_output_open(out, path): path NULL or "-" is
 * standard output; a regular file is written as a temporary file beside
 * path and renamed over it by cli_output_commit only when whole;
 * cli_output_abort removes it (also done on SIGINT/SIGTERM/SIGHUP).
 * cli_output_write(out, buf, len) is an age_write_fn, buffered (1 MiB).
 * 0 or -1 (reported).
 */
struct cli_output {
	int fd;
	const char *name;     /* for messages */
	char *path, *tmp;     /* NULL for stdout / a device */
	unsigned char *buf;
	size_t len;
};
int cli_output_open(struct cli_output *, const char *);
int cli_output_write(void *, const void *, size_t);
int cli_output_commit(struct cli_output *);
void cli_output_abort(struct cli_output *);

#endif
