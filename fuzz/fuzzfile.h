/*
 * fuzzfile: for the fuzz targets whose parser reads a file (config, ledger):
 * the input written to one scratch file in a private temporary directory,
 * made once per process and reused by every input.
 */
#ifndef TOKMUX_FUZZFILE_H
#define TOKMUX_FUZZFILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* path of a file holding exactly data (size bytes); NULL on failure. */
static const char *
fuzzfile_write(const char *name, const uint8_t *data, size_t size)
{
	static char path[256];
	static char dir[] = "/tmp/tokmux-fuzz-XXXXXX";

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			return NULL;
		snprintf(path, sizeof path, "%s/%s", dir, name);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return NULL;
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	return path;
}

#endif
