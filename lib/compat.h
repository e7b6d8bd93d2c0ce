/*
 * compat.h: first include of every coffer source file: autoconf.h (configure results), the
 * feature macros, and banned.h.
 */
#ifndef COFFER_COMPAT_H
#define COFFER_COMPAT_H

#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
