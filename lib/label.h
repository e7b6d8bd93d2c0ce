#ifndef COFFER_LABEL_H
#define COFFER_LABEL_H

/*
 * label: the labels of sets and media (coffer-vault(5)).  A label matches
 * [A-Za-z0-9][A-Za-z0-9._-]{0,127} and is never "." or "..", so it is safe
 * as a file name, a path component, an S3 key part and a shell word.
 */

#define LABEL_MAX 128   /* characters, without the NUL */

/* label_valid(s): 1 if s is a valid label, else 0 (silent; NULL is 0). */
int label_valid(const char *);

/*
 * label_check(s, what): label_valid, reporting why not with warn0:
 * "invalid WHAT 'S': must start with a letter or digit" (what is e.g.
 * "set label", "medium label").  Returns 0 if valid, -1 if not.
 */
int label_check(const char *, const char *);

#endif
