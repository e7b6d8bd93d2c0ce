/*
 * cmd-keygen.c: coffer keygen, age-compatible plumbing: make an X25519
 * identity file in age-keygen's format, or print the recipients of one
 * (-y, like `age-keygen -y`).
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "cli.h"
#include "clock.h"
#include "crypto.h"
#include "util.h"
#include "warnp.h"

/* An identity file read by -y, in secure memory: this much at most. */
#define IDFILE_MAX (16 * 1024)
/* The text written by keygen: three short lines. */
#define IDTEXT_MAX 512

static const char *const usage[] = {
	"coffer keygen [-o OUTPUT]",
	"coffer keygen -y [-o OUTPUT] [INPUT]",
	NULL,
};

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Write the identity text to a new file (mode 0600, never replacing an
 * existing one) or to standard output. */
static int
write_identity(const char *path, const char *text, size_t len)
{
	int fd = -1, rc = -1;

	if (path == NULL) {
		if (util_write_all(STDOUT_FILENO, text, len) != 0) {
			warnp("cannot write to standard output");
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			warn0("refusing to overwrite existing file '%s'",
			    path);
		else
			warnp("cannot create '%s'", path);
		goto cleanup;
	}
	if (fchmod(fd, 0600) != 0 || util_write_all(fd, text, len) != 0 ||
	    fsync(fd) != 0) {
		warnp("cannot write '%s'", path);
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		warnp("cannot write '%s'", path);
		goto cleanup;
	}
	fd = -1;
	rc = 0;
cleanup:
	if (fd != -1) {
		close(fd);
		unlink(path);
	}
	return rc;
}

static int
keygen(const char *output)
{
	char recipient[AGE_RECIPIENT_MAX];
	char created[32];
	char *identity = NULL, *text = NULL;
	int n, rc = EXIT_ERROR;

	if ((identity = crypto_secure_alloc(AGE_IDENTITY_MAX)) == NULL ||
	    (text = crypto_secure_alloc(IDTEXT_MAX)) == NULL) {
		warn0("cannot allocate secure memory");
		goto cleanup;
	}
	if (age_keygen(identity, recipient) != 0)
		goto cleanup;
	clock_format_utc(clock_now(), created, sizeof(created));
	n = snprintf(text, IDTEXT_MAX, "# created: %s\n# public key: %s\n"
	    "%s\n", created, recipient, identity);
	if (n < 0 || n >= IDTEXT_MAX) {
		warn0("identity text too long");
		goto cleanup;
	}
	/* As age-keygen: the recipient on stderr unless the identity itself
	 * shows it on a terminal. */
	if (output != NULL || !cli_is_tty(STDOUT_FILENO)) {
		if (write_identity(output, text, (size_t)n) != 0)
			goto cleanup;
		fprintf(stderr, "Public key: %s\n", recipient);
	} else if (write_identity(NULL, text, (size_t)n) != 0) {
		goto cleanup;
	}
	rc = EXIT_OK;
cleanup:
	crypto_secure_free(identity, AGE_IDENTITY_MAX);
	crypto_secure_free(text, IDTEXT_MAX);
	return rc;
}

/* Read all of fd (at most IDFILE_MAX - 1 bytes) into secure memory. */
static char *
read_identity_file(int fd, const char *name, size_t *lenp)
{
	char *buf;
	ssize_t n;

	if ((buf = crypto_secure_alloc(IDFILE_MAX)) == NULL) {
		warn0("cannot allocate secure memory");
		return NULL;
	}
	if ((n = util_read_all(fd, buf, IDFILE_MAX)) < 0) {
		warnp("cannot read '%s'", name);
		goto fail;
	}
	if (n == IDFILE_MAX) {
		warn0("identity file '%s' is too large", name);
		goto fail;
	}
	buf[n] = '\0';
	*lenp = (size_t)n;
	return buf;
fail:
	crypto_secure_free(buf, IDFILE_MAX);
	return NULL;
}

/* -y: one recipient line for each identity in the file. */
static int
keygen_recipients(const char *input, const char *output)
{
	char recipient[AGE_RECIPIENT_MAX];
	struct cli_output out;
	const char *name;
	char *text = NULL, *line, *eol;
	size_t len = 0, lineno = 0, count = 0;
	int fd = -1, rc = EXIT_ERROR;

	memset(&out, 0, sizeof(out));
	out.fd = -1;
	if (input == NULL || strcmp(input, "-") == 0) {
		fd = STDIN_FILENO;
		name = "standard input";
	} else {
		if ((fd = open(input, O_RDONLY | O_CLOEXEC)) == -1) {
			warnp("cannot open '%s'", input);
			goto cleanup;
		}
		name = input;
	}
	if ((text = read_identity_file(fd, name, &len)) == NULL)
		goto cleanup;
	if (strncmp(text, "age-encryption.org/", 19) == 0 ||
	    strstr(text, "-----BEGIN AGE ENCRYPTED FILE-----") != NULL) {
		warn0("identity file '%s' is encrypted: decrypt it first "
		    "(coffer decrypt)", name);
		goto cleanup;
	}
	if (strlen(text) != len) {
		warn0("identity file '%s' is not text", name);
		goto cleanup;
	}
	if (cli_output_open(&out, output) != 0)
		goto cleanup;
	for (line = text; *line != '\0'; line = eol) {
		size_t l;

		lineno++;
		if ((eol = strchr(line, '\n')) != NULL)
			*eol++ = '\0';
		else
			eol = line + strlen(line);
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (age_identity_to_recipient(line, recipient) != 0) {
			warn0("malformed identity in '%s' at line %zu", name,
			    lineno);
			goto cleanup;
		}
		if (cli_output_write(&out, recipient, strlen(recipient)) != 0
		    || cli_output_write(&out, "\n", 1) != 0)
			goto cleanup;
		count++;
	}
	if (count == 0) {
		warn0("no identities found in '%s'", name);
		goto cleanup;
	}
	if (cli_output_commit(&out) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	cli_output_abort(&out);
	if (text != NULL)
		crypto_secure_free(text, IDFILE_MAX);
	if (fd > STDERR_FILENO)
		close(fd);
	return rc;
}

int
cmd_keygen(int argc, char **argv, struct cli *cli)
{
	const char *output = NULL;
	int c, convert = 0;

	(void)cli;
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "o:yh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'y':
			convert = 1;
			break;
		default:
			return cli_usage_error(usage, "bad option");
		}
	}
	if (convert) {
		if (argc - optind > 1)
			return cli_usage_error(usage, "too many arguments");
		return keygen_recipients(optind < argc ? argv[optind] : NULL,
		    output);
	}
	if (optind < argc)
		return cli_usage_error(usage, "too many arguments");
	return keygen(output);
}
