#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "warnp.h"

static const char *progname = "coffer";
static int quiet;
static __thread int muted;

void
warnp_setprogname(const char *name)
{
	progname = name;
}

void
warnp_quiet(int on)
{
	quiet = on;
}

void
warnp_mute(int on)
{
	muted = on;
}

static void
vreport(const char *prefix, const char *fmt, va_list ap, int err)
{

	if (muted)
		return;
	fprintf(stderr, "%s: %s", progname, prefix);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void
warnp(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vreport("", fmt, ap, err);
	va_end(ap);
	errno = err;
}

void
warn0(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vreport("", fmt, ap, 0);
	va_end(ap);
	errno = err;
}

void
warning(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	if (quiet)
		return;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap, 0);
	va_end(ap);
	errno = err;
}
