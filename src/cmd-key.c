/*
 * cmd-key.c: coffer key: list the vault keys, add recipients, export them,
 * escrow the identity on paper (with a test decryption), pin and unpin
 * other hosts' signer keys, change the identity passphrase.
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "cli.h"
#include "clock.h"
#include "crypto.h"
#include "home.h"
#include "keys.h"
#include "passphrase.h"
#include "sign.h"
#include "util.h"
#include "vault.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer key list [--json]",
	"coffer key add-recipient RECIPIENT",
	"coffer key export-recipients [-o FILE]",
	"coffer key escrow [--passphrase-file FILE | --passphrase-fd N] "
	"[--check-file FILE]",
	"coffer key pin [--fingerprint FPR] FILE|KEY",
	"coffer key unpin FINGERPRINT",
	"coffer key passphrase [--passphrase-file FILE | --passphrase-fd N] "
	"[--new-passphrase-file FILE]",
	NULL,
};

/* fmt_time(t, buf): UTC text, or "never" for 0. */
static const char *
fmt_time(time_t t, char buf[32])
{
	if (t == 0)
		return ("never");
	clock_format_utc(t, buf, 32);
	return (buf);
}

/* print_json(v): v on stdout, indented, then a newline; consumes v. */
static int
print_json(json_t *v)
{
	int rc;

	if (v == NULL) {
		warn0("out of memory");
		return (-1);
	}
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(v);
	if (rc == 0)
		putchar('\n');
	return (rc);
}


/* ---------------------------------------------------------------- list */

static json_t *
pubkey_json(const struct sign_pubkey *pk, int self)
{
	char line[SIGN_PUBLINE_MAX];

	sign_pubkey_format(pk, line);
	return (json_pack("{s:s, s:s, s:s, s:b}", "name", pk->name,
	    "fingerprint", pk->fpr, "public_key", line, "self", self));
}

static int
key_list(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct keys_info info;
	struct sign_pinned *pinned = NULL;
	const struct sign_pubkey *pk;
	json_t *root = NULL, *arr;
	char **list = NULL, t1[32], t2[32];
	size_t i, n;
	int c, json = cli->json, rc = EXIT_ERROR, self;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			return (cli_usage_error(usage, "bad option"));
	}
	if (optind != argc)
		return (cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]));
	if (keys_info(cli->home, &info) != 0 ||
	    keys_list_recipients(cli->home, &list, &n) != 0 ||
	    (pinned = keys_pinned_load(cli->home)) == NULL)
		goto cleanup;

	if (json) {
		root = json_pack("{s:{s:b, s:s?}, s:{s:b, s:s?}, s:s?, "
		    "s:[], s:o, s:[]}",
		    "identity", "present", info.has_identity,
		    "recipient", info.has_identity ? info.recipient : NULL,
		    "escrow", "done", info.escrow_done,
		    "time", info.has_identity && info.escrow_done ?
		    fmt_time(info.escrow_time, t1) : NULL,
		    "passphrase_set", info.passphrase_time ?
		    fmt_time(info.passphrase_time, t2) : NULL,
		    "recipients",
		    "signing_key", pubkey_json(&info.signer, 1),
		    "pinned");
		if (root == NULL) {
			warn0("out of memory");
			goto cleanup;
		}
		arr = json_object_get(root, "recipients");
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:b}",
			    "recipient", list[i], "identity",
			    info.has_identity &&
			    strcmp(list[i], info.recipient) == 0));
		arr = json_object_get(root, "pinned");
		for (i = 0; i < sign_pinned_count(pinned); i++) {
			pk = sign_pinned_get(pinned, i);
			json_array_append_new(arr, pubkey_json(pk,
			    strcmp(pk->fpr, info.signer.fpr) == 0));
		}
		if (print_json(root) != 0)
			goto cleanup;
		rc = EXIT_OK;
		goto cleanup;
	}

	if (info.has_identity) {
		printf("identity: present, recipient %s\n", info.recipient);
		if (info.escrow_done)
			printf("escrow: done, test-decrypted %s\n",
			    fmt_time(info.escrow_time, t1));
		else
			printf("escrow: NOT DONE (run 'coffer key escrow')\n");
		printf("passphrase set: %s\n",
		    fmt_time(info.passphrase_time, t2));
	} else
		printf("identity: none (backup-only host)\n");
	printf("recipients (%zu):\n", n);
	for (i = 0; i < n; i++)
		printf("  %s%s\n", list[i], info.has_identity &&
		    strcmp(list[i], info.recipient) == 0 ? " (identity)" : "");
	printf("signing key: %s %s\n", info.signer.fpr, info.signer.name);
	printf("pinned signers (%zu):\n", sign_pinned_count(pinned));
	for (i = 0; i < sign_pinned_count(pinned); i++) {
		pk = sign_pinned_get(pinned, i);
		self = strcmp(pk->fpr, info.signer.fpr) == 0;
		printf("  %s %s%s\n", pk->fpr, pk->name,
		    self ? " (this host)" : "");
	}
	rc = EXIT_OK;
cleanup:
	sign_pinned_free(pinned);
	keys_list_free(list);
	return (rc);
}

/* ------------------------------------------------------ recipients */

/* Write a coffer-vault version listing recipient, unless it does. */
static int
add_to_vault(struct cli *cli, const char *recipient)
{
	struct vault_info info;
	const char *dir;
	char **list = NULL;
	size_t n;
	int rc = -1;

	if ((dir = cli_vault_path(cli)) == NULL)
		return (-1);
	if (vault_read(dir, &info) != 0)
		return (-1);
	if (vault_has_recipient(&info, recipient)) {
		vault_info_release(&info);
		return (0);
	}
	vault_info_release(&info);
	if (keys_list_recipients(cli->home, &list, &n) != 0)
		return (-1);
	if (vault_add_version(dir, (const char *const *)list, NULL, NULL) == 0)
		rc = 0;
	keys_list_free(list);
	return (rc);
}

static int
key_add_recipient(int argc, char **argv, struct cli *cli)
{
	char *details;
	int r;

	if (argc != 2)
		return (cli_usage_error(usage, "add-recipient takes one "
		    "recipient"));
	if ((r = cli_lock_vault(cli)) != EXIT_OK)
		return (r);
	if ((r = keys_add_recipient(cli->home, argv[1])) < 0)
		return (EXIT_ERROR);
	/* The vault lists its recipients too: a new coffer-vault version. */
	if (add_to_vault(cli, argv[1]) != 0)
		return (EXIT_ERROR);
	if (r == 1) {
		if (!cli->quiet)
			printf("%s is already a recipient\n", argv[1]);
		return (EXIT_OK);
	}
	if ((details = util_asprintf("{\"recipient\":\"%s\"}", argv[1])) ==
	    NULL)
		return (EXIT_ERROR);
	r = cli_audit(cli, "key.add-recipient", argv[1], details);
	free(details);
	if (r != 0)
		return (EXIT_ERROR);
	if (!cli->quiet)
		printf("added recipient %s: new backups are encrypted to it "
		    "(existing sets are not rewrapped)\n", argv[1]);
	return (EXIT_OK);
}

static int
key_export_recipients(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	char *text = NULL;
	int c, rc = EXIT_ERROR;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else
			return (cli_usage_error(usage, "bad option"));
	}
	if (optind != argc)
		return (cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]));
	if (keys_export_recipients(cli->home, &text) != 0)
		goto cleanup;
	if (out != NULL && strcmp(out, "-") != 0) {
		if (util_write_file(out, text, strlen(text), 0644, 0) != 0)
			goto cleanup;
	} else
		fputs(text, stdout);
	rc = EXIT_OK;
cleanup:
	free(text);
	return (rc);
}

/* ---------------------------------------------------------------- escrow */

#ifdef HAVE_QRENCODE
/* Quiet zone of the QR code, in modules. */
#define QR_QUIET 4

/* qr_text_size(qr): bytes qr_render writes for qr. */
static size_t
qr_text_size(const QRcode *qr)
{
	size_t side = (size_t)qr->width + 2 * QR_QUIET;

	/* Two module rows a line; each module at most 3 bytes; "\n". */
	return ((side + 1) / 2 * (side * 3 + 1));
}

/*
 * qr_render(qr, out): qr in UTF-8 half blocks into out (qr_text_size
 * bytes), two module rows a line, dark modules as ink (for paper), with a
 * 4-module quiet zone.  Returns the length written.
 */
static size_t
qr_render(const QRcode *qr, char *out)
{
	static const char *const cells[4] = { " ", "\xe2\x96\x80",
		"\xe2\x96\x84", "\xe2\x96\x88" };
	const char *c;
	size_t len = 0;
	int x, y, w = qr->width, q = QR_QUIET, top, bot;

	for (y = -q; y < w + q; y += 2) {
		for (x = -q; x < w + q; x++) {
			top = (y >= 0 && y < w && x >= 0 && x < w &&
			    (qr->data[y * w + x] & 1));
			bot = (y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
			    (qr->data[(y + 1) * w + x] & 1));
			c = cells[top | bot << 1];
			memcpy(out + len, c, strlen(c));
			len += strlen(c);
		}
		out[len++] = '\n';
	}
	return (len);
}
#endif

/*
 * print_escrow_sheet(secret, recipient): the paper copy on stdout.  The
 * secret-bearing part (the key line and its QR code) never passes through
 * stdio, whose buffer is ordinary heap and never wiped: it is formatted in
 * secure memory and written with write(2) after stdout is flushed.
 */
static int
print_escrow_sheet(const char *secret, const char *recipient)
{
	char host[SIGN_NAME_MAX], when[32], *sheet = NULL;
	size_t cap = 0, len;
	int k, rc = -1;
#ifdef HAVE_QRENCODE
	QRcode *qr = NULL;
#endif

	home_hostname(host, sizeof(host));
	clock_format_utc(clock_real(), when, sizeof(when));
	printf("COFFER IDENTITY ESCROW COPY -- SECRET\n"
	    "\n"
	    "host:       %s\n"
	    "made:       %s\n"
	    "recipient:  %s\n"
	    "\n"
	    "identity (the restore key):\n"
	    "\n", host, when, recipient);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnp("cannot write the escrow copy");
		goto cleanup;
	}
	cap = strlen(secret) + 8;
#ifdef HAVE_QRENCODE
	/*
	 * libqrencode copies the text into its own input structures and
	 * frees them without wiping them; that cannot be helped from here.
	 * The code is freed as soon as it is drawn, its modules wiped first;
	 * core dumps are off (coffer(1), SECURITY).
	 */
	if ((qr = QRcode_encodeString(secret, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL)
		warning("cannot make a QR code: %s", strerror(errno));
	else
		cap += qr_text_size(qr) + 1;
#endif
	if ((sheet = crypto_secure_alloc(cap)) == NULL) {
		warn0("cannot allocate secure memory for the escrow copy");
		goto cleanup;
	}
	k = snprintf(sheet, cap, "    %s\n\n", secret);
	if (k < 0 || (size_t)k >= cap) {
		warn0("identity too long");
		goto cleanup;
	}
	len = (size_t)k;
#ifdef HAVE_QRENCODE
	if (qr != NULL) {
		len += qr_render(qr, sheet + len);
		sheet[len++] = '\n';
		crypto_wipe(qr->data, (size_t)qr->width * (size_t)qr->width);
		QRcode_free(qr);
		qr = NULL;
	}
#endif
	if (util_write_all(STDOUT_FILENO, sheet, len) != 0) {
		warnp("cannot write the escrow copy");
		goto cleanup;
	}
	printf("Whoever holds this sheet can decrypt every backup of this "
	    "vault.\n"
	    "Store it sealed in a signed envelope, in a safe away from the "
	    "backups,\n"
	    "and record where it is kept.  To restore without coffer, save "
	    "the\n"
	    "AGE-SECRET-KEY-1 line as identity.txt (mode 600) and run:\n"
	    "\n"
	    "    age -d -i identity.txt vol-0001.tar.zst.age | zstd -d | "
	    "tar -xpf -\n"
	    "\n");
	rc = 0;
cleanup:
#ifdef HAVE_QRENCODE
	if (qr != NULL) {
		crypto_wipe(qr->data, (size_t)qr->width * (size_t)qr->width);
		QRcode_free(qr);
	}
#endif
	crypto_secure_free(sheet, cap);
	return (rc);
}

static int
key_escrow(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		CLI_PASSPHRASE_OPTIONS,
		{ "check-file", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct passphrase_source src = { NULL, -1 }, check = { NULL, -1 };
	struct keys_info info;
	char *secret = NULL, *typed = NULL, *details = NULL, when[32];
	size_t len = 0, tlen = 0;
	time_t now;
	int c, rc = EXIT_ERROR;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &src, usage) != 0)
				return (EXIT_USAGE);
			break;
		case 'c':
			check.file = optarg;
			break;
		default:
			return (cli_usage_error(usage, "bad option"));
		}
	}
	if (optind != argc)
		return (cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]));
	if (keys_info(cli->home, &info) != 0)
		goto cleanup;
	if (!info.has_identity) {
		warn0("no identity on this host (backup-only): nothing to "
		    "escrow");
		goto cleanup;
	}
	if (keys_unlock_identity(cli->home, &src, &secret, &len) != 0)
		goto cleanup;
	if (print_escrow_sheet(secret, info.recipient) != 0)
		goto cleanup;
	crypto_secure_free(secret, len);
	secret = NULL;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnp("cannot write the escrow copy");
		goto cleanup;
	}

	/* The test decryption: the key as read back from the paper. */
	if (check.file == NULL && !cli_is_tty(STDIN_FILENO))
		fprintf(stderr, "coffer: no --check-file: reading the key "
		    "back from the terminal\n");
	if ((typed = passphrase_read(&check, "Type the AGE-SECRET-KEY-1 line "
	    "back from the paper copy: ", 0, &tlen)) == NULL)
		goto cleanup;
	if (keys_escrow_check(cli->home, typed) != 0) {
		warn0("escrow not recorded: check the copy and run 'coffer "
		    "key escrow' again");
		goto cleanup;
	}
	now = clock_now();
	if (keys_escrow_record(cli->home, now) != 0)
		goto cleanup;
	if ((details = util_asprintf("{\"recipient\":\"%s\",\"tested\":"
	    "\"%s\"}", info.recipient, fmt_time(now, when))) == NULL ||
	    cli_audit(cli, "key.escrow", info.recipient, details) != 0)
		goto cleanup;
	fprintf(stderr, "coffer: the copy decrypts a test message: escrow "
	    "recorded\n");
	rc = EXIT_OK;
cleanup:
	passphrase_free(typed, tlen);
	crypto_secure_free(secret, len);
	free(details);
	return (rc);
}

/* ---------------------------------------------------------------- pins */

/* read_pubkey(arg, pk): a key line given as the argument or in a file. */
static int
read_pubkey(const char *arg, struct sign_pubkey *pk)
{
	char *text = NULL, *line, *next;
	int rc = -1;

	if (strncmp(arg, "coffer-ed25519 ", 15) == 0)
		return (sign_pubkey_parse(arg, pk));
	if (util_read_file(arg, &text, NULL, 1 << 16) != 0)
		return (-1);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		rc = sign_pubkey_parse(line, pk);
		break;
	}
	if (line == NULL || *line == '\0')
		warn0("no public key in '%s'", arg);
	free(text);
	return (rc);
}

static int
key_pin(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "fingerprint", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sign_pubkey pk;
	const char *want = NULL;
	char answer[16], *details = NULL;
	int c, r, rc = EXIT_ERROR;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'p')
			want = optarg;
		else
			return (cli_usage_error(usage, "bad option"));
	}
	if (optind != argc - 1)
		return (cli_usage_error(usage, "pin takes one key or file"));
	if (read_pubkey(argv[optind], &pk) != 0)
		return (EXIT_ERROR);
	printf("signer '%s' fingerprint %s\n", pk.name, pk.fpr);
	fflush(stdout);
	if (want != NULL) {
		if (strcmp(want, pk.fpr) != 0) {
			warn0("fingerprint mismatch: the key is %s, not %s: "
			    "nothing pinned", pk.fpr, want);
			return (EXIT_ERROR);
		}
	} else if (cli_is_tty(STDIN_FILENO)) {
		fprintf(stderr, "Compare it with the key sheet of host '%s'. "
		    "Pin it? [y/N] ", pk.name);
		if (fgets(answer, sizeof(answer), stdin) == NULL ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			warn0("nothing pinned");
			return (EXIT_ERROR);
		}
	} else {
		warn0("not a terminal: confirm the fingerprint with "
		    "--fingerprint %s", pk.fpr);
		return (EXIT_ERROR);
	}
	if ((r = keys_pin(cli->home, &pk)) < 0)
		goto cleanup;
	if (r == 1) {
		printf("%s is already pinned\n", pk.fpr);
		rc = EXIT_OK;
		goto cleanup;
	}
	if ((details = util_asprintf("{\"name\":\"%s\",\"fingerprint\":"
	    "\"%s\"}", pk.name, pk.fpr)) == NULL ||
	    cli_audit(cli, "key.pin", pk.fpr, details) != 0)
		goto cleanup;
	if (!cli->quiet)
		printf("pinned %s (%s)\n", pk.fpr, pk.name);
	rc = EXIT_OK;
cleanup:
	free(details);
	return (rc);
}

static int
key_unpin(int argc, char **argv, struct cli *cli)
{
	if (argc != 2)
		return (cli_usage_error(usage, "unpin takes one fingerprint"));
	if (keys_unpin(cli->home, argv[1]) != 0)
		return (EXIT_ERROR);
	if (cli_audit(cli, "key.unpin", argv[1], NULL) != 0)
		return (EXIT_ERROR);
	if (!cli->quiet)
		printf("unpinned %s\n", argv[1]);
	return (EXIT_OK);
}

/* ---------------------------------------------------------- passphrase */

static int
key_passphrase(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		CLI_PASSPHRASE_OPTIONS,
		{ "new-passphrase-file", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct passphrase_source src = { NULL, -1 }, nsrc = { NULL, -1 };
	struct keys_info info;
	char *pw = NULL, *secret = NULL;
	size_t len = 0, slen = 0;
	int c, rc = EXIT_ERROR;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &src, usage) != 0)
				return (EXIT_USAGE);
			break;
		case 'n':
			nsrc.file = optarg;
			break;
		default:
			return (cli_usage_error(usage, "bad option"));
		}
	}
	if (optind != argc)
		return (cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]));
	/* With --passphrase-fd, the new passphrase is its next line. */
	if (nsrc.file == NULL && src.fd >= 0)
		nsrc.fd = src.fd;
	if (keys_info(cli->home, &info) != 0)
		goto cleanup;
	if (!info.has_identity) {
		warn0("no identity on this host (backup-only): no passphrase");
		goto cleanup;
	}
	/* Unlock first, so a wrong old passphrase fails before asking. */
	if (keys_unlock_identity(cli->home, &src, &secret, &slen) != 0)
		goto cleanup;
	if ((pw = passphrase_read(&nsrc, "New passphrase: ", 1, &len)) ==
	    NULL)
		goto cleanup;
	if (keys_change_passphrase(cli->home, secret, pw) != 0)
		goto cleanup;
	if (cli_audit(cli, "key.passphrase", info.recipient, NULL) != 0)
		goto cleanup;
	if (!cli->quiet)
		printf("identity passphrase changed\n");
	rc = EXIT_OK;
cleanup:
	crypto_secure_free(secret, slen);
	passphrase_free(pw, len);
	return (rc);
}

int
cmd_key(int argc, char **argv, struct cli *cli)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **, struct cli *);
	} verbs[] = {
		{ "list", key_list },
		{ "add-recipient", key_add_recipient },
		{ "export-recipients", key_export_recipients },
		{ "escrow", key_escrow },
		{ "pin", key_pin },
		{ "unpin", key_unpin },
		{ "passphrase", key_passphrase },
	};
	size_t i;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	if (argc < 2)
		return (cli_usage_error(usage, "which key command?"));
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return (verbs[i].fn(argc - 1, argv + 1, cli));
	return (cli_usage_error(usage, "unknown key command '%s'", argv[1]));
}
