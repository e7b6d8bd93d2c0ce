/*
 * cmd-decrypt.c: coffer decrypt, age-compatible plumbing: decrypt an age
 * file (binary or armored) with X25519 identities or a passphrase, like
 * `age -d`.  Only authenticated plaintext is written; with -o the output
 * appears whole or not at all.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "age.h"
#include "base64.h"
#include "cli.h"
#include "crypto.h"
#include "passphrase.h"
#include "util.h"
#include "warnp.h"

#define IOBUF_SIZE (1024 * 1024)
/* How much of the input is read ahead to see whether it is
 * passphrase-encrypted (the scrypt stanza is the first and only one). */
#define PEEK_SIZE 4096

static const char *const usage[] = {
	"coffer decrypt [-i IDENTITY]... [--passphrase-file FILE | "
	"--passphrase-fd N] [-o OUTPUT] [INPUT]",
	NULL,
};

enum {
	OPT_PASSFILE = 256,
	OPT_PASSFD,
};

static const struct option longopts[] = {
	{ "identity", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
	{ "passphrase-fd", required_argument, NULL, OPT_PASSFD },
	{ "decrypt", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The input, with what was read ahead served first. */
struct input {
	int fd;
	const char *name;
	unsigned char peek[PEEK_SIZE];
	size_t peek_len, peek_off;
	int eof;
};

static ssize_t
input_read(void *cookie, void *buf, size_t len)
{
	struct input *in = cookie;
	size_t got = 0;
	ssize_t n;

	if (in->peek_off < in->peek_len) {
		got = in->peek_len - in->peek_off;
		if (got > len)
			got = len;
		memcpy(buf, in->peek + in->peek_off, got);
		in->peek_off += got;
	}
	if (got == len || in->eof)
		return (ssize_t)got;
	if ((n = util_read_all(in->fd, (unsigned char *)buf + got,
	    len - got)) < 0) {
		warnp("cannot read '%s'", in->name);
		return -1;
	}
	if ((size_t)n < len - got)
		in->eof = 1;
	return (ssize_t)(got + (size_t)n);
}

static int
input_peek(struct input *in)
{
	ssize_t n;

	if ((n = util_read_all(in->fd, in->peek, sizeof(in->peek))) < 0) {
		warnp("cannot read '%s'", in->name);
		return -1;
	}
	in->peek_len = (size_t)n;
	in->eof = in->peek_len < sizeof(in->peek);
	return 0;
}

/* header_is_scrypt(p, len): 1 when the header text p starts with the age
 * magic line followed by a scrypt stanza. */
static int
header_is_scrypt(const unsigned char *p, size_t len)
{
	static const char magic[] = "age-encryption.org/v1\n-> scrypt ";

	return len >= sizeof(magic) - 1 &&
	    memcmp(p, magic, sizeof(magic) - 1) == 0;
}

/* input_is_scrypt(in): whether what was read ahead is a passphrase-encrypted
 * age file, binary or armored.  0 when unsure: the library then decides. */
static int
input_is_scrypt(const struct input *in)
{
	static const char begin[] = "-----BEGIN AGE ENCRYPTED FILE-----";
	unsigned char dec[256];
	char b64[256];
	const unsigned char *p = in->peek, *end = in->peek + in->peek_len;
	size_t n = 0, declen = 0;

	if (header_is_scrypt(p, in->peek_len))
		return 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	if ((size_t)(end - p) < sizeof(begin) - 1 ||
	    memcmp(p, begin, sizeof(begin) - 1) != 0)
		return 0;
	p += sizeof(begin) - 1;
	for (; p < end && n < sizeof(b64); p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == '-')
			break;
		b64[n++] = (char)*p;
	}
	n -= n % 4;
	if (base64_decoded_maxlen(n) > sizeof(dec) ||
	    base64_decode(dec, &declen, b64, n, 1) != 0)
		return 0;
	return header_is_scrypt(dec, declen);
}

/* The passphrase prompt for an encrypted identity file. */
struct getpass_ctx {
	const struct passphrase_source *src;
	const char *path;
};

static ssize_t
identity_getpass(void *cookie, char *buf, size_t size)
{
	struct getpass_ctx *ctx = cookie;
	char prompt[512];
	char *pass;
	size_t len = 0;
	ssize_t rc = -1;

	snprintf(prompt, sizeof(prompt), "Enter passphrase for identity "
	    "file '%s': ", ctx->path);
	if ((pass = passphrase_read(ctx->src, prompt, 0, &len)) == NULL)
		return -1;
	if (len >= size) {
		warn0("passphrase for '%s' is too long", ctx->path);
		goto cleanup;
	}
	memcpy(buf, pass, len);
	buf[len] = '\0';
	rc = (ssize_t)len;
cleanup:
	passphrase_free(pass, len);
	return rc;
}

/* Why decryption failed, in the user's words. */
static const char *
decrypt_reason(enum age_error e, int with_passphrase, int nids)
{
	switch (e) {
	case AGE_ERR_NO_MATCH:
		if (with_passphrase)
			return "wrong passphrase";
		if (nids == 0)
			return "no identity given: the file is encrypted to "
			    "recipients, use -i IDENTITY";
		return "no identity matches any of the file's recipients";
	case AGE_ERR_HEADER:
		return "malformed or truncated age header";
	case AGE_ERR_HMAC:
		return "header MAC mismatch: the header is damaged or was "
		    "modified";
	case AGE_ERR_PAYLOAD:
		return "the payload is damaged, truncated or followed by "
		    "extra data";
	case AGE_ERR_ARMOR:
		return "malformed armor";
	default:
		return age_strerror(e);
	}
}


/* Decrypt in to out; 0, or -1 with *err set (AGE_OK when the cause was
 * already reported, e.g. a write error). */
static int
decrypt_stream(const struct age_identities *ids, struct input *in,
    struct cli_output *out, enum age_error *err)
{
	struct age_decryptor *d = NULL;
	unsigned char *buf = NULL;
	ssize_t n;
	int rc = -1;

	*err = AGE_OK;
	if ((buf = malloc(IOBUF_SIZE)) == NULL) {
		warnp("cannot allocate an output buffer");
		goto cleanup;
	}
	if ((d = age_decrypt_open(ids, input_read, in, err)) == NULL) {
		if (*err == AGE_OK)
			*err = AGE_ERR_HEADER;
		goto cleanup;
	}
	while ((n = age_decrypt_read(d, buf, IOBUF_SIZE)) > 0)
		if (cli_output_write(out, buf, (size_t)n) != 0)
			goto cleanup;
	if (n < 0) {
		*err = age_decrypt_error(d);
		if (*err == AGE_OK)
			*err = AGE_ERR_PAYLOAD;
		goto cleanup;
	}
	rc = 0;
cleanup:
	age_decrypt_free(d);
	/* The plaintext (an identity file, maybe): wiped. */
	if (buf != NULL)
		crypto_wipe(buf, IOBUF_SIZE);
	free(buf);
	return rc;
}

int
cmd_decrypt(int argc, char **argv, struct cli *cli)
{
	struct passphrase_source src = { NULL, -1 };
	struct age_identities *ids = NULL;
	struct getpass_ctx gp;
	struct cli_output out;
	struct input *in = NULL;
	const char *output = NULL, *input = NULL;
	char *pass = NULL;
	size_t passlen = 0;
	enum age_error err;
	int c, nids = 0, scrypt, rc = EXIT_ERROR;

	(void)cli;
	memset(&out, 0, sizeof(out));
	out.fd = -1;
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	if ((ids = age_identities_new()) == NULL)
		goto cleanup;
	/* Identities are loaded after the options: their passphrase may
	 * come from --passphrase-file given later. */
	while ((c = getopt_long(argc, argv, "i:o:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			nids++;
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
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
	if (argc - optind > 1) {
		rc = cli_usage_error(usage, "too many arguments");
		goto cleanup;
	}
	if (optind < argc)
		input = argv[optind];
	if (src.file != NULL && src.fd != -1) {
		rc = cli_usage_error(usage, "--passphrase-file and "
		    "--passphrase-fd exclude each other");
		goto cleanup;
	}

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		warnp("cannot allocate an input buffer");
		goto cleanup;
	}
	if (input == NULL || strcmp(input, "-") == 0) {
		in->fd = STDIN_FILENO;
		in->name = "standard input";
	} else {
		if ((in->fd = open(input, O_RDONLY | O_CLOEXEC)) == -1) {
			warnp("cannot open '%s'", input);
			goto cleanup;
		}
		in->name = input;
	}

	/* Second pass over the options: load the identities in order. */
	gp.src = &src;
	optind = 0;
	while ((c = getopt_long(argc, argv, "i:o:dh", longopts, NULL)) != -1) {
		if (c != 'i')
			continue;
		gp.path = optarg;
		if (age_identities_load_file(ids, optarg, identity_getpass,
		    &gp) != 0) {
			warn0("cannot load identities from '%s'", optarg);
			goto cleanup;
		}
	}

	if (input_peek(in) != 0)
		goto cleanup;
	if (in->peek_len == 0) {
		warn0("cannot decrypt '%s': the input is empty", in->name);
		goto cleanup;
	}
	scrypt = input_is_scrypt(in);
	if (scrypt && nids > 0) {
		warn0("cannot decrypt '%s': it is passphrase-encrypted but "
		    "identities were given with -i", in->name);
		goto cleanup;
	}
	if (scrypt) {
		pass = passphrase_read(&src, "Enter passphrase: ", 0,
		    &passlen);
		if (pass == NULL)
			goto cleanup;
		if (age_identities_add_passphrase(ids, pass, passlen) != 0)
			goto cleanup;
		passphrase_free(pass, passlen);
		pass = NULL;
	}

	if (cli_output_open(&out, output) != 0)
		goto cleanup;
	if (decrypt_stream(ids, in, &out, &err) != 0) {
		if (err != AGE_OK)
			warn0("cannot decrypt '%s': %s", in->name,
			    decrypt_reason(err, scrypt, nids));
		goto cleanup;
	}
	if (cli_output_commit(&out) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	cli_output_abort(&out);
	if (pass != NULL)
		passphrase_free(pass, passlen);
	if (in != NULL && in->fd > STDERR_FILENO)
		close(in->fd);
	free(in);
	age_identities_free(ids);
	return rc;
}
