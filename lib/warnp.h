#ifndef COFFER_WARNP_H
#define COFFER_WARNP_H

/*
 * Error reporting for lib/, after Tarsnap's warnp.h: the cause is reported
 * where it is first known, on stderr, as "coffer: message".
 *
 * warnp(fmt, ...): report fmt followed by ": strerror(errno)".
 * warn0(fmt, ...): report fmt alone.
 * warnp_setprogname(name): set the prefix (default "coffer").
 * warnp_quiet(on): when on, warnings (not errors) are suppressed.
 */
void warnp_setprogname(const char *);
void warnp(const char *, ...) __attribute__((format(printf, 1, 2)));
void warn0(const char *, ...) __attribute__((format(printf, 1, 2)));

/* warning(fmt, ...): "coffer: warning: message"; silenced by warnp_quiet. */
void warning(const char *, ...) __attribute__((format(printf, 1, 2)));
void warnp_quiet(int);
/* warnp_mute(on): when on, nothing at all is reported from this thread
 * (for work that is tried ahead and done again, reported, if needed). */
void warnp_mute(int);

#endif
