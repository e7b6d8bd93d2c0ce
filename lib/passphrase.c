#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <crack.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "crypto.h"
#include "passphrase.h"
#include "util.h"
#include "warnp.h"

/* Every passphrase buffer has this size, so passphrase_free wipes it all. */
#define PASSPHRASE_BUF (PASSPHRASE_MAX + 2)

/* Signals caught while echo is off; the terminal is restored first. */
static const int tty_signals[] = {
	SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN,
	SIGTTOU
};
static volatile sig_atomic_t tty_caught[NSIG];

static void
tty_handler(int sig)
{
	tty_caught[sig] = 1;
}

/*
 * read_line(fd, buf, what): read bytes one at a time up to a newline or end
 * of file into buf (PASSPHRASE_BUF bytes), so nothing after the line is
 * consumed.  Returns the length without the newline, or -1 (reported);
 * -2 when interrupted by a signal (tty only).
 */
static ssize_t
read_line(int fd, char *buf, const char *what, int tty)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1) {
			if (errno == EINTR) {
				if (tty)
					return (-2);
				continue;
			}
			warnp("cannot read passphrase from %s", what);
			return (-1);
		}
		if (r == 0 || c == '\n')
			break;
		if (n >= PASSPHRASE_MAX) {
			warn0("passphrase from %s too long: at most %d bytes",
			    what, PASSPHRASE_MAX);
			crypto_wipe(&c, 1);
			return (-1);
		}
		buf[n++] = c;
	}
	crypto_wipe(&c, 1);
	/* A line ended by CR LF (a file written on another system). */
	if (n > 0 && buf[n - 1] == '\r' && !tty)
		n--;
	buf[n] = '\0';
	return ((ssize_t)n);
}

/*
 * tty_set(fd, t): tcsetattr(fd, TCSANOW, t), retried when a signal
 * interrupted it.  A background job gets SIGTTOU (caught by tty_handler,
 * so the call fails with EINTR): stop as the default action would, and
 * retry once continued.  Any other signal, or another failure, gives up:
 * -1 with errno set.  (TCSANOW, not TCSAFLUSH: a passphrase typed ahead,
 * or fed through a pty, is kept.)
 */
static int
tty_set(int fd, const struct termios *t)
{
	static const int stops[] = { SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction dfl, cur;
	size_t i;
	int tries, stopped;

	for (tries = 0; tries < 100; tries++) {
		if (tcsetattr(fd, TCSANOW, t) == 0)
			return (0);
		if (errno != EINTR)
			return (-1);
		stopped = 0;
		for (i = 0; i < ARRAY_SIZE(stops); i++) {
			if (!tty_caught[stops[i]])
				continue;
			tty_caught[stops[i]] = 0;
			memset(&dfl, 0, sizeof(dfl));
			sigemptyset(&dfl.sa_mask);
			dfl.sa_handler = SIG_DFL;
			sigaction(stops[i], &dfl, &cur);
			raise(stops[i]);
			sigaction(stops[i], &cur, NULL);
			stopped = 1;
		}
		if (!stopped) {
			errno = EINTR;
			return (-1);
		}
	}
	errno = EINTR;
	return (-1);
}

/* prompt_tty(prompt, buf): one prompt on /dev/tty with echo off; nothing
 * is read unless echo is off. */
static ssize_t
prompt_tty(const char *prompt, char *buf)
{
	struct sigaction sa, saved[ARRAY_SIZE(tty_signals)];
	struct termios term, oterm;
	ssize_t r = -1;
	size_t i;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		warn0("cannot read passphrase: no terminal "
		    "(use --passphrase-file or --passphrase-fd)");
		return (-1);
	}
	for (i = 0; i < ARRAY_SIZE(tty_signals); i++)
		tty_caught[tty_signals[i]] = 0;

	/* No SA_RESTART: a signal interrupts read() so we restore first. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = tty_handler;
	for (i = 0; i < ARRAY_SIZE(tty_signals); i++)
		sigaction(tty_signals[i], &sa, &saved[i]);

	if (tcgetattr(fd, &oterm) != 0) {
		warnp("cannot read passphrase: cannot get the terminal "
		    "settings");
		goto cleanup;
	}
	term = oterm;
	term.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	term.c_lflag |= ICANON;
	if (tty_set(fd, &term) != 0) {
		warnp("cannot read passphrase: cannot turn off terminal echo");
		/* It may have been changed in part: put it back. */
		(void)tty_set(fd, &oterm);
		goto cleanup;
	}
	if (util_write_all(fd, prompt, strlen(prompt)) == 0)
		r = read_line(fd, buf, "the terminal", 1);
	if (tty_set(fd, &oterm) != 0)
		warnp("cannot restore the terminal settings");
	(void)!write(fd, "\n", 1);
cleanup:
	for (i = 0; i < ARRAY_SIZE(tty_signals); i++)
		sigaction(tty_signals[i], &saved[i], NULL);
	close(fd);

	/* Deliver what was caught, now that the terminal echoes again. */
	for (i = 0; i < ARRAY_SIZE(tty_signals); i++)
		if (tty_caught[tty_signals[i]])
			kill(getpid(), tty_signals[i]);
	if (r == -2) {
		warn0("passphrase prompt interrupted");
		r = -1;
	}
	return (r);
}

/* read_file(path, buf): the first line of a passphrase file. */
static ssize_t
read_file(const char *path, char *buf)
{
	struct stat sb;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warnp("cannot open passphrase file '%s'", path);
		return (-1);
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		warning("passphrase file '%s' is accessible by group or "
		    "others (chmod 600 it)", path);
	r = read_line(fd, buf, path, 0);
	close(fd);
	return (r);
}

/* read_fd(fd, buf): a line from a descriptor. */
static ssize_t
read_fd(int fd, char *buf)
{
	char what[32];

	snprintf(what, sizeof(what), "descriptor %d", fd);
	return (read_line(fd, buf, what, 0));
}

char *
passphrase_read(const struct passphrase_source *src, const char *prompt,
    int confirm, size_t *lenp)
{
	char *buf = NULL, *again = NULL;
	ssize_t r, r2;
	int tty = 0;

	if ((buf = crypto_secure_alloc(PASSPHRASE_BUF)) == NULL) {
		warn0("cannot allocate secure memory for a passphrase");
		goto fail;
	}
	if (src != NULL && src->file != NULL)
		r = read_file(src->file, buf);
	else if (src != NULL && src->fd >= 0)
		r = read_fd(src->fd, buf);
	else {
		tty = 1;
		r = prompt_tty(prompt != NULL ? prompt : "Passphrase: ", buf);
	}
	if (r < 0)
		goto fail;
	if (r == 0) {
		warn0("empty passphrase refused");
		goto fail;
	}
	if (tty && confirm) {
		if ((again = crypto_secure_alloc(PASSPHRASE_BUF)) == NULL) {
			warn0("cannot allocate secure memory for a passphrase");
			goto fail;
		}
		if ((r2 = prompt_tty("Repeat passphrase: ", again)) < 0)
			goto fail;
		if (r2 != r || !crypto_memeq(buf, again, (size_t)r)) {
			warn0("passphrases do not match");
			goto fail;
		}
		crypto_secure_free(again, PASSPHRASE_BUF);
	}
	if (lenp != NULL)
		*lenp = (size_t)r;
	return (buf);

fail:
	crypto_secure_free(again, PASSPHRASE_BUF);
	crypto_secure_free(buf, PASSPHRASE_BUF);
	return (NULL);
}

void
passphrase_free(char *pw, size_t len)
{
	(void)len;
	crypto_secure_free(pw, PASSPHRASE_BUF);
}

size_t
passphrase_chars(const char *pw, size_t len)
{
	size_t i, n = 0;

	/* UTF-8: count every byte that does not continue a character. */
	for (i = 0; i < len; i++)
		if (((unsigned char)pw[i] & 0xc0) != 0x80)
			n++;
	return (n);
}

#define PASSPHRASE_SYSTEMATIC_OK 20

/* The longest libcrack verdict kept (its messages are short, fixed). */
#define VERDICT_MAX 128

/*
 * crack_check(pw, verdict): libcrack2's FascistCheck of pw, run in a
 * child process.  libcrack copies the passphrase (reversed, lower case)
 * into its static memory and never wipes it: in a child those copies die
 * with it, so this process never holds them.  The child sends back its
 * verdict through a pipe: "0" for accepted, "1" and the message for
 * refused.  Returns 0 accepted, 1 refused (verdict set, NUL-terminated,
 * VERDICT_MAX bytes), -1 when the check could not run.
 */
static int
crack_check(const char *pw, char *verdict)
{
	char buf[VERDICT_MAX + 1];
	const char *msg;
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	int fds[2], status, rc = -1;

	if (pipe(fds) == -1)
		return (-1);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	if (pid == 0) {
		/* The child: no stdio, no atexit handlers, no core. */
		close(fds[0]);
#ifdef __linux__
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
		msg = FascistCheck(pw, COFFER_CRACKLIB_DICT);
		buf[0] = msg == NULL ? '0' : '1';
		n = 1;
		if (msg != NULL) {
			n += strlen(msg) < VERDICT_MAX - 1 ? strlen(msg) :
			    VERDICT_MAX - 1;
			memcpy(buf + 1, msg, n - 1);
		}
		_exit(util_write_all(fds[1], buf, n) == 0 ? 0 : 1);
	}
	close(fds[1]);
	for (;;) {
		r = read(fds[0], buf + n, VERDICT_MAX - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == VERDICT_MAX)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			goto cleanup;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0 ||
	    (buf[0] != '0' && buf[0] != '1'))
		goto cleanup;
	if (buf[0] == '0') {
		rc = 0;
		goto cleanup;
	}
	memcpy(verdict, buf + 1, n - 1);
	verdict[n - 1] = '\0';
	rc = 1;
cleanup:
	crypto_wipe(buf, sizeof(buf));
	return (rc);
}

int
passphrase_check(const char *pw, size_t len, const char **why)
{
	static char verdict[VERDICT_MAX];
	int r;

	if (memchr(pw, '\0', len) != NULL) {
		*why = "passphrase contains a NUL byte";
		return (-1);
	}
	if (passphrase_chars(pw, len) < PASSPHRASE_MIN_CHARS) {
		*why = "passphrase too short: at least 12 characters";
		return (-1);
	}
	/*
	 * libcrack2 on the whole passphrase (in a child: crack_check).  Its
	 * own checks (a dictionary word after mangling, too few different
	 * characters, too simplistic/systematic) do not object to several
	 * plain words: "correct horse battery staple" passes.  A missing
	 * dictionary is refused ("error loading dictionary").
	 *
	 * Its "too simplistic/systematic" heuristic also refuses about one
	 * random 32-character base64 string in 200 (measured), so from
	 * PASSPHRASE_SYSTEMATIC_OK characters on that one verdict is not
	 * held against a passphrase; the dictionary verdicts always are.
	 */
	if ((r = crack_check(pw, verdict)) < 0) {
		*why = "the dictionary check could not run";
		return (-1);
	}
	if (r > 0 && strstr(verdict, "simplistic/systematic") != NULL &&
	    passphrase_chars(pw, len) >= PASSPHRASE_SYSTEMATIC_OK)
		r = 0;
	if (r > 0) {
		*why = verdict;
		return (-1);
	}
	*why = NULL;
	return (0);
}
