/*
 * testtmp: a private scratch directory under /tmp for tests that write
 * files (ledgers, themes), and its removal. Include after <cmocka.h>.
 * Header-only: every function is static.
 */
#ifndef TOKMUX_TESTTMP_H
#define TOKMUX_TESTTMP_H

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* Create /tmp/tokmux-<what>-XXXXXX (mode 0700) and put its path in dir. */
static void
testtmp_make(char *dir, size_t len, const char *what)
{
	snprintf(dir, len, "/tmp/tokmux-%s-XXXXXX", what);
	assert_non_null(mkdtemp(dir));
}

/* Remove dir and everything in it. Return 0, or -1 if rm failed. */
static int
testtmp_remove(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

#endif
