#ifndef COFFER_UTIL_H
#define COFFER_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * util_asprintf(fmt, ...): a newly allocated formatted string (caller
 * frees), or NULL on allocation failure (reported).
 */
char *util_asprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* util_strdup(s): strdup reporting failure; NULL if out of memory. */
char *util_strdup(const char *);

/*
 * util_read_file(path, out, len, max): read the whole file at path into a
 * newly allocated, NUL-terminated buffer (caller frees); refuses files larger
 * than max bytes.  Returns 0, or -1 (reported, errno set).
 */
int util_read_file(const char *, char **, size_t *, size_t);

/*
 * util_write_file(path, data, len, mode, flags): write data to path
 * whole-or-nothing: a temporary file in the same directory, fsync, rename,
 * fsync of the directory.  With UTIL_EXCL, fail with EEXIST if path exists
 * (link instead of rename, so an existing file is never replaced).
 * Returns 0, or -1 (reported).
 */
enum util_write_flags { UTIL_EXCL = 1 << 0 };
int util_write_file(const char *, const void *, size_t, mode_t, int);

/*
 * The same, written in pieces: util_afile_open(path, mode) (NULL on
 * error, reported), util_afile_write(af, data, len) any number of times,
 * then util_afile_commit(af, flags) (0 or -1, reported) or
 * util_afile_abort(af) (removes the temporary file).  Commit and abort
 * free af.
 */
struct util_afile;
struct util_afile *util_afile_open(const char *, mode_t);
int util_afile_write(struct util_afile *, const void *, size_t);
int util_afile_commit(struct util_afile *, int);
void util_afile_abort(struct util_afile *);

/* util_write_all(fd, buf, len): write all of buf; 0 or -1 (errno set). */
int util_write_all(int, const void *, size_t);

/* util_read_all(fd, buf, len): read up to len bytes, retrying short reads;
 * returns the count read (less than len only at end of file) or -1. */
ssize_t util_read_all(int, void *, size_t);

/* util_fsync_dir(path): fsync the directory path.  0 or -1 (reported). */
int util_fsync_dir(const char *);

/* util_fsync_parent(path): fsync the directory holding path. */
int util_fsync_parent(const char *);

/* util_mkdir_p(path, mode): create path and missing parents. 0 or -1. */
int util_mkdir_p(const char *, mode_t);

/* util_path_join(a, b): "a/b", newly allocated (caller frees) or NULL. */
char *util_path_join(const char *, const char *);

/* util_hex(out, in, len): write 2*len hex digits and a NUL to out. */
void util_hex(char *, const unsigned char *, size_t);

/* util_unhex(out, in, len): parse 2*len hex digits; 0 or -1. */
int util_unhex(unsigned char *, const char *, size_t);

/*
 * util_parse_duration(s, secs): "90s", "15m", "2h", "7d", "2w", "1y" (365d),
 * or a bare number of seconds.  Returns 0, or -1 if s is not a duration.
 */
int util_parse_duration(const char *, long long *);

/* util_strlcpy(dst, src, size): bounded copy that always terminates;
 * returns strlen(src). */
size_t util_strlcpy(char *, const char *, size_t);

/* util_remove_tree(path): remove path and everything below it (no
 * symlinks followed).  0 or -1 (reported). */
int util_remove_tree(const char *);

/* util_sort(base, n, size, cmp): qsort, moving each element once (for
 * large elements), and one pass when base is already sorted.  Falls back
 * to qsort when memory is short. */
void util_sort(void *, size_t, size_t, int (*)(const void *, const void *));

#endif
