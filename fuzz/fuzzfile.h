/*
 * fuzzfile: for the fuzz targets whose parser reads a file (config, ledger):
 * the input written to a new scratch file under /tmp, removed again with
 * fuzzfile_remove() once the parser is done with it (libFuzzer leaves
 * without running atexit handlers, so nothing may outlive an input).
 */
#ifndef TOKMUX_FUZZFILE_H
#define TOKMUX_FUZZFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzzfile_path[64];

/* path of a new file holding exactly data (size bytes); NULL on failure.
 * name ends the file's name ("config.json"). */
static const char *
fuzzfile_write(const char *name, const uint8_t *data, size_t size)
{
	snprintf(fuzzfile_path, sizeof fuzzfile_path, "/tmp/tokmux-fuzz-XXXXXX-%.24s", name);
	int fd = mkstemps(fuzzfile_path, (int)strlen(name) + 1);
	if (fd < 0)
		return NULL;
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			close(fd);
			unlink(fuzzfile_path);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	return fuzzfile_path;
}

/* Remove the file fuzzfile_write made. */
static void
fuzzfile_remove(void)
{
	unlink(fuzzfile_path);
}

#endif
