/*
 * cmd-encrypt.c: coffer encrypt, age-compatible plumbing: encrypt a file to
 * X25519 recipients or a passphrase, like `age -r`/`age -p`.  Also the
 * output helpers (cli_output_*) shared with coffer decrypt.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "cli.h"
#include "crypto.h"
#include "passphrase.h"
#include "util.h"
#include "warnp.h"

/* I/O in large steps: the chunk size of age is 64 KiB; 1 MiB keeps the
 * syscall count low. */
#define IOBUF_SIZE (1024 * 1024)

/* scrypt work factor for -p, as age uses (about 1 s, 256 MiB). */
#define ENCRYPT_SCRYPT_LOGN 18

static const char *const usage[] = {
	"coffer encrypt [-a] [-o OUTPUT] (-r RECIPIENT | -R FILE)... [INPUT]",
	"coffer encrypt [-a] [-o OUTPUT] -p [--passphrase-file FILE | "
	"--passphrase-fd N] [INPUT]",
	NULL,
};

enum {
	OPT_PASSFILE = 256,
	OPT_PASSFD,
};

static const struct option longopts[] = {
	{ "recipient", required_argument, NULL, 'r' },
	{ "recipients-file", required_argument, NULL, 'R' },
	{ "passphrase", no_argument, NULL, 'p' },
	{ "armor", no_argument, NULL, 'a' },
	{ "output", required_argument, NULL, 'o' },
	{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
	{ "passphrase-fd", required_argument, NULL, OPT_PASSFD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------ output */

/* The temporary file to remove if a signal ends the process. */
static char *volatile signal_tmp;

static void
output_on_signal(int sig)
{
	char *tmp = signal_tmp;

	if (tmp != NULL)
		unlink(tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
output_catch_signals(char *tmp)
{
	struct sigaction sa;

	signal_tmp = tmp;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tmp != NULL ? output_on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
cli_output_open(struct cli_output *out, const char *path)
{
	struct stat st;
	char *real = NULL;
	mode_t mask;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if ((out->buf = malloc(IOBUF_SIZE)) == NULL) {
		warnp("cannot allocate an output buffer");
		goto cleanup;
	}
	if (path == NULL || strcmp(path, "-") == 0) {
		out->fd = STDOUT_FILENO;
		out->name = "standard output";
		rc = 0;
		goto cleanup;
	}
	out->name = path;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a pipe (-o /dev/null): written in place,
		 * never replaced by a rename. */
		out->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (out->fd == -1) {
			warnp("cannot open '%s'", path);
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	/* Through a symbolic link, replace its target, not the link. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (real = realpath(path, NULL)) == NULL) {
		warnp("cannot resolve '%s'", path);
		goto cleanup;
	}
	if ((out->path = util_strdup(real != NULL ? real : path)) == NULL)
		goto cleanup;
	if ((out->tmp = util_asprintf("%s.coffer-XXXXXX", out->path)) == NULL)
		goto cleanup;
	if ((out->fd = mkostemp(out->tmp, O_CLOEXEC)) == -1) {
		warnp("cannot create a temporary file for '%s'", path);
		free(out->tmp);
		out->tmp = NULL;
		goto cleanup;
	}
	output_catch_signals(out->tmp);
	mask = umask(0);
	umask(mask);
	if (fchmod(out->fd, 0666 & ~mask) != 0) {
		warnp("cannot set the mode of '%s'", out->tmp);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(real);
	if (rc != 0)
		cli_output_abort(out);
	return rc;
}

static int
output_flush(struct cli_output *out)
{
	if (out->len == 0)
		return 0;
	if (util_write_all(out->fd, out->buf, out->len) != 0) {
		warnp("cannot write to '%s'", out->name);
		return -1;
	}
	out->len = 0;
	return 0;
}

int
cli_output_write(void *cookie, const void *data, size_t len)
{
	struct cli_output *out = cookie;

	if (out->len + len > IOBUF_SIZE && output_flush(out) != 0)
		return -1;
	if (len >= IOBUF_SIZE) {
		if (util_write_all(out->fd, data, len) != 0) {
			warnp("cannot write to '%s'", out->name);
			return -1;
		}
		return 0;
	}
	memcpy(out->buf + out->len, data, len);
	out->len += len;
	return 0;
}

int
cli_output_commit(struct cli_output *out)
{
	int rc = -1;

	if (output_flush(out) != 0)
		goto cleanup;
	if (out->tmp != NULL) {
		if (fsync(out->fd) != 0) {
			warnp("cannot write to '%s'", out->name);
			goto cleanup;
		}
		if (close(out->fd) != 0) {
			out->fd = -1;
			warnp("cannot write to '%s'", out->name);
			goto cleanup;
		}
		out->fd = -1;
		if (rename(out->tmp, out->path) != 0) {
			warnp("cannot rename '%s' to '%s'", out->tmp,
			    out->path);
			goto cleanup;
		}
		output_catch_signals(NULL);
		free(out->tmp);
		out->tmp = NULL;
		if (util_fsync_parent(out->path) != 0)
			goto cleanup;
	} else if (out->fd > STDERR_FILENO) {
		if (close(out->fd) != 0) {
			out->fd = -1;
			warnp("cannot write to '%s'", out->name);
			goto cleanup;
		}
		out->fd = -1;
	}
	rc = 0;
cleanup:
	cli_output_abort(out);
	return rc;
}

void
cli_output_abort(struct cli_output *out)
{
	if (out->fd > STDERR_FILENO)
		close(out->fd);
	out->fd = -1;
	if (out->tmp != NULL) {
		unlink(out->tmp);
		output_catch_signals(NULL);
		free(out->tmp);
		out->tmp = NULL;
	}
	free(out->path);
	out->path = NULL;
	/* Plaintext when decrypting (an identity file, maybe). */
	if (out->buf != NULL)
		crypto_wipe(out->buf, IOBUF_SIZE);
	free(out->buf);
	out->buf = NULL;
	out->len = 0;
}

/* ------------------------------------------------------------ encrypt */


/* Read the passphrase for -p: asked twice at a prompt, and refused when
 * weak. */
static int
add_passphrase(struct age_recipients *rcpt,
    const struct passphrase_source *src)
{
	const char *why = NULL;
	char *pass;
	size_t len = 0;
	int rc = -1;

	pass = passphrase_read(src, "Enter passphrase: ", 1, &len);
	if (pass == NULL)
		return -1;
	if (passphrase_check(pass, len, &why) != 0) {
		warn0("passphrase refused: %s", why != NULL ? why : "too weak");
		goto cleanup;
	}
	if (age_recipients_add_passphrase(rcpt, pass, len,
	    ENCRYPT_SCRYPT_LOGN) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	passphrase_free(pass, len);
	return rc;
}

static int
encrypt_stream(const struct age_recipients *rcpt, int armor, int in,
    const char *inname, struct cli_output *out)
{
	struct age_encryptor *e = NULL;
	unsigned char *buf = NULL;
	ssize_t n;
	int rc = -1;

	if ((buf = malloc(IOBUF_SIZE)) == NULL) {
		warnp("cannot allocate an input buffer");
		goto cleanup;
	}
	if ((e = age_encrypt_new(rcpt, armor, cli_output_write, out)) ==
	    NULL)
		goto cleanup;
	do {
		if ((n = util_read_all(in, buf, IOBUF_SIZE)) < 0) {
			warnp("cannot read '%s'", inname);
			goto cleanup;
		}
		if (n > 0 && age_encrypt_write(e, buf, (size_t)n) != 0)
			goto cleanup;
	} while (n == IOBUF_SIZE);
	if (age_encrypt_finish(e) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	age_encrypt_free(e);
	/* The plaintext read (an identity file, maybe): wiped. */
	if (buf != NULL)
		crypto_wipe(buf, IOBUF_SIZE);
	free(buf);
	return rc;
}

int
cmd_encrypt(int argc, char **argv, struct cli *cli)
{
	struct passphrase_source src = { NULL, -1 };
	struct age_recipients *rcpt = NULL;
	struct cli_output out;
	const char *output = NULL, *input = NULL, *inname;
	int c, armor = 0, pass = 0, nrcpt = 0, in = -1, rc = EXIT_ERROR;
	int bad_rcpt = 0;

	(void)cli;
	memset(&out, 0, sizeof(out));
	out.fd = -1;
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	if ((rcpt = age_recipients_new()) == NULL)
		goto cleanup;
	while ((c = getopt_long(argc, argv, "r:R:pao:h", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'r':
			nrcpt++;
			if (age_recipients_add(rcpt, optarg) != 0)
				bad_rcpt = 1;
			break;
		case 'R':
			nrcpt++;
			if (age_recipients_load_file(rcpt, optarg) != 0) {
				warn0("cannot load recipients from '%s'",
				    optarg);
				goto cleanup;
			}
			break;
		case 'p':
			pass = 1;
			break;
		case 'a':
			armor = 1;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_PASSFILE:
			src.file = optarg;
			break;
		case OPT_PASSFD:
			if (cli_parse_fd(optarg, &src.fd) != 0) {
				rc = cli_usage_error(usage, "bad descriptor "
				    "'%s'", optarg);
				goto cleanup;
			}
			break;
		default:
			rc = cli_usage_error(usage, "bad option");
			goto cleanup;
		}
	}
	if (bad_rcpt) {
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (argc - optind > 1) {
		rc = cli_usage_error(usage, "too many arguments");
		goto cleanup;
	}
	if (optind < argc)
		input = argv[optind];
	if (pass && nrcpt > 0) {
		rc = cli_usage_error(usage, "-p cannot be combined with -r or "
		    "-R");
		goto cleanup;
	}
	if (!pass && nrcpt == 0) {
		rc = cli_usage_error(usage, "no recipients: give -r, -R or "
		    "-p");
		goto cleanup;
	}
	if (!pass && (src.file != NULL || src.fd != -1)) {
		rc = cli_usage_error(usage, "--passphrase-file and "
		    "--passphrase-fd need -p");
		goto cleanup;
	}
	if (src.file != NULL && src.fd != -1) {
		rc = cli_usage_error(usage, "--passphrase-file and "
		    "--passphrase-fd exclude each other");
		goto cleanup;
	}
	if (!pass && age_recipients_count(rcpt) == 0) {
		warn0("no recipients found in the recipients files");
		goto cleanup;
	}
	if (!armor && (output == NULL || strcmp(output, "-") == 0) &&
	    cli_is_tty(STDOUT_FILENO)) {
		warn0("refusing to write binary ciphertext to a terminal: "
		    "use -a or -o FILE");
		goto cleanup;
	}

	if (input == NULL || strcmp(input, "-") == 0) {
		in = STDIN_FILENO;
		inname = "standard input";
	} else {
		if ((in = open(input, O_RDONLY | O_CLOEXEC)) == -1) {
			warnp("cannot open '%s'", input);
			goto cleanup;
		}
		inname = input;
	}
	if (pass && add_passphrase(rcpt, &src) != 0)
		goto cleanup;
	if (cli_output_open(&out, output) != 0)
		goto cleanup;
	if (encrypt_stream(rcpt, armor, in, inname, &out) != 0) {
		warn0("cannot encrypt '%s'", inname);
		goto cleanup;
	}
	if (cli_output_commit(&out) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	cli_output_abort(&out);
	if (in > STDERR_FILENO)
		close(in);
	age_recipients_free(rcpt);
	return rc;
}
