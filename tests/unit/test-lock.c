/*
 * test-lock: locks held by other processes (EWOULDBLOCK and their pid),
 * released by SIGKILL, waiting with and without a deadline, and not
 * leaked into children through exec.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lock.h"
#include "util.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	util_strlcpy(dir, "/tmp/test-lock.XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char *cmd;

	(void)state;
	cmd = util_asprintf("rm -rf '%s'", dir);
	if (cmd != NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * holder(name, hold_ms): fork a child that takes the lock, reports on a
 * pipe, then holds it hold_ms milliseconds (-1: until killed) and exits
 * without releasing.  Returns once the child holds the lock.
 */
static pid_t
holder(const char *name, int hold_ms)
{
	struct timespec ts;
	struct lock *lk;
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if ((lk = lock_take(dir, name, -1, NULL)) == NULL)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		if (hold_ms < 0)
			for (;;)
				pause();
		ts.tv_sec = hold_ms / 1000;
		ts.tv_nsec = (hold_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_take_release(void **state)
{
	struct lock *lk, *again;
	char *path, *text = NULL, want[32];
	struct stat sb;
	size_t len;
	pid_t who = -1;

	(void)state;
	lk = lock_take(dir, "vault", -1, &who);
	assert_non_null(lk);
	assert_int_equal(who, 0);
	path = util_asprintf("%s/vault.lock", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(util_read_file(path, &text, &len, 64), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);
	free(text);

	/* Another descriptor, even in this process, is refused. */
	errno = 0;
	assert_null(lock_take(dir, "vault", -1, &who));
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(who, getpid());
	/* A different name is a different lock. */
	again = lock_take(dir, "job-nightly", -1, NULL);
	assert_non_null(again);
	lock_release(again);

	lock_release(lk);
	lock_release(NULL);
	/* The file stays (unlinking a flock file races). */
	assert_int_equal(stat(path, &sb), 0);
	lk = lock_take(dir, "vault", -1, NULL);
	assert_non_null(lk);
	lock_release(lk);
	free(path);
}

static void
test_held_by_child_then_killed(void **state)
{
	struct lock *lk;
	pid_t pid, who = 0;

	(void)state;
	pid = holder("vault-abc", -1);
	errno = 0;
	assert_null(lock_take(dir, "vault-abc", -1, &who));
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(who, pid);

	/* kill -9 leaves no stale lock. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	reap(pid);
	lk = lock_take(dir, "vault-abc", -1, &who);
	assert_non_null(lk);
	lock_release(lk);
}

static void
test_wait_timeout(void **state)
{
	double t0, dt;
	pid_t pid, who = 0;

	(void)state;
	pid = holder("vault", -1);
	t0 = now();
	errno = 0;
	assert_null(lock_take(dir, "vault", 1, &who));
	dt = now() - t0;
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(who, pid);
	assert_true(dt >= 0.95);
	assert_true(dt < 3.0);
	kill(pid, SIGKILL);
	reap(pid);
}

static void
test_wait_acquires(void **state)
{
	struct lock *lk;
	double t0, dt;
	pid_t pid;

	(void)state;
	/* The holder exits after 300 ms: a 10 s wait gets the lock. */
	pid = holder("job-nightly", 300);
	t0 = now();
	lk = lock_take(dir, "job-nightly", 10, NULL);
	dt = now() - t0;
	assert_non_null(lk);
	assert_true(dt >= 0.2);
	assert_true(dt < 5.0);
	lock_release(lk);
	reap(pid);

	/* 0 waits forever (here: 300 ms). */
	pid = holder("job-nightly", 300);
	lk = lock_take(dir, "job-nightly", 0, NULL);
	assert_non_null(lk);
	lock_release(lk);
	reap(pid);
}

/* The descriptor is close-on-exec: a program the holder started does not
 * keep the lock after the holder dies. */
static void
test_cloexec(void **state)
{
	struct lock *lk;
	pid_t pid, who;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (lock_take(dir, "vault", -1, NULL) == NULL)
			_exit(1);
		if (fork() == 0) {
			execl("/bin/sleep", "sleep", "3", (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/*
	 * The grandchild holds the descriptor only until its exec: wait up
	 * to 2 s for that (slow under sanitizers), less than its sleep 3.
	 */
	lk = lock_take(dir, "vault", 2, &who);
	assert_non_null(lk);
	lock_release(lk);
}

static void
test_bad_dir(void **state)
{
	char *file;
	int fd, saved;

	(void)state;
	file = util_asprintf("%s/plain", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* A lock directory that is a file: reported, not EWOULDBLOCK. */
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, 2);
	close(fd);
	errno = 0;
	assert_null(lock_take(file, "vault", -1, NULL));
	assert_true(errno != EWOULDBLOCK);
	dup2(saved, 2);
	close(saved);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_take_release, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held_by_child_then_killed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wait_acquires, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cloexec, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
