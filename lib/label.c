#include "compat.h"

#include "label.h"
#include "util.h"
#include "warnp.h"

/* Letters and digits of ASCII only: isalnum() depends on the locale. */
static int
is_alnum(unsigned char c)
{

	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

static int
is_label_char(unsigned char c)
{

	return (is_alnum(c) || c == '.' || c == '_' || c == '-');
}

/*
 * why_invalid(s): NULL if s is a valid label, else the reason, for
 * messages.  Labels start with a letter or digit, so "." and ".." are
 * already excluded; the explicit test keeps the rule obvious.
 */
static const char *
why_invalid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return ("must not be empty");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return ("must not be '.' or '..'");
	if (!is_alnum((unsigned char)s[0]))
		return ("must start with a letter or digit");
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= LABEL_MAX)
			return ("longer than 128 characters");
		if (!is_label_char((unsigned char)s[i]))
			return ("only letters, digits, '.', '_' and '-' "
			    "are allowed");
	}
	return (NULL);
}

int
label_valid(const char *s)
{

	return (why_invalid(s) == NULL);
}

int
label_check(const char *s, const char *what)
{
	const char *why;
	char shown[LABEL_MAX + 8];
	size_t i;

	if ((why = why_invalid(s)) == NULL)
		return (0);

	/* Show the label without control characters and cut it short. */
	for (i = 0; s != NULL && s[i] != '\0' && i < sizeof(shown) - 4; i++) {
		unsigned char c = (unsigned char)s[i];

		shown[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	shown[i] = '\0';
	if (s != NULL && s[i] != '\0')
		util_strlcpy(shown + i, "...", sizeof(shown) - i);
	warn0("invalid %s '%s': %s", what != NULL ? what : "label", shown,
	    why);
	return (-1);
}
