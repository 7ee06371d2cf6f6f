/*
 * demo: `tokmux demo`, the workspace with no key and no network: an
 * embedded mock provider with a script that exercises every sidebar feature
 * (cache writes and reads, long and short answers, a burst of 529s, 429s
 * with a short retry-after, a pane with a small spend ceiling) and four
 * panes running `tokmux sim-agent` with different personas and models.
 * The command line of `tokmux demo` is cmd_demo.c's.
 */
#ifndef TOKMUX_DEMO_H
#define TOKMUX_DEMO_H

/* The mock script the demo runs (JSON, see docs/MOCK.md). */
const char *demo_script(void);

/* Run the demo workspace until the user quits; returns the workspace's
 * exit status, or -1 with a malloc'd *err when the demo cannot start (no
 * binary path, no temporary directory, the mock). The directory with the
 * ledger and the mock log is removed, or kept when keep is set and then
 * named in *kept (malloc'd). */
int demo_run(int keep, char **kept, char **err);

#endif
