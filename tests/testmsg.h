/*
 * testmsg: asserting on a malloc'd one-line error message. Include after
 * <cmocka.h>. Header-only: every function is static.
 */
#ifndef TOKMUX_TESTMSG_H
#define TOKMUX_TESTMSG_H

#include <stdlib.h>
#include <string.h>

/* Assert *err is exactly want, then free it and set *err to NULL. */
static void
testmsg_expect(char **err, const char *want)
{
	assert_non_null(*err);
	if (strcmp(*err, want) != 0)
		fail_msg("got \"%s\", wanted \"%s\"", *err, want);
	free(*err);
	*err = NULL;
}

#endif
