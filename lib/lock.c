#include "compat.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "util.h"
#include "warnp.h"

/* How long to sleep between attempts while waiting for a lock. */
#define LOCK_POLL_NS (100 * 1000 * 1000L)

struct lock {
	int fd;
	char *path;
};

/* read_pid(fd): the pid written in the lock file, or 0 if none. */
static pid_t
read_pid(int fd)
{
	char buf[32];
	ssize_t n;
	char *end;
	long v;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v <= 0 || (*end != '\n' &&
	    *end != '\0'))
		return 0;
	return (pid_t)v;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct lock *
lock_take(const char *dir, const char *name, long long wait_secs,
    pid_t *holder)
{
	struct timespec pause = { 0, LOCK_POLL_NS };
	struct lock *lk = NULL;
	char pid[32];
	double deadline = 0;
	int fd = -1, busy = 0;
	char *path = NULL;

	if (holder != NULL)
		*holder = 0;
	if (util_mkdir_p(dir, 0700) != 0)
		goto fail;
	if ((path = util_asprintf("%s/%s.lock", dir, name)) == NULL)
		goto fail;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		warnp("cannot open lock '%s'", path);
		goto fail;
	}
	if (wait_secs > 0)
		deadline = now_mono() + (double)wait_secs;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			warnp("cannot lock '%s'", path);
			goto fail;
		}
		if (wait_secs < 0 || (wait_secs > 0 && now_mono() >=
		    deadline)) {
			if (holder != NULL)
				*holder = read_pid(fd);
			busy = 1;
			goto fail;
		}
		nanosleep(&pause, NULL);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) !=
	    (ssize_t)strlen(pid)) {
		warnp("cannot write lock '%s'", path);
		goto fail;
	}
	if ((lk = malloc(sizeof(*lk))) == NULL) {
		warnp("cannot lock '%s'", path);
		goto fail;
	}
	lk->fd = fd;
	lk->path = path;
	return lk;
fail:
	if (fd != -1)
		close(fd);
	free(path);
	if (busy)
		errno = EWOULDBLOCK;
	return NULL;
}

void
lock_release(struct lock *lk)
{
	if (lk == NULL)
		return;
	/*
	 * Empty the file while still holding it, so nobody reads our pid
	 * once we are gone; never unlink it: a process that opened the old
	 * file would lock an orphan while another locks a new one.
	 */
	if (ftruncate(lk->fd, 0) != 0) {
		/* Harmless: a stale pid is only shown while locked. */
	}
	flock(lk->fd, LOCK_UN);
	close(lk->fd);
	free(lk->path);
	free(lk);
}
