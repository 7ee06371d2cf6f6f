/*
 * demo: `tokmux demo`, the workspace with no key and no network: an
 * embedded mock provider with a script that exercises every sidebar feature
 * (cache writes and reads, long and short answers, a burst of 529s, 429s
 * with a short retry-after, a pane with a small spend ceiling) and four
 * panes running `tokmux sim-agent` with different personas and models.
 */
#ifndef TOKMUX_DEMO_H
#define TOKMUX_DEMO_H

/* The mock script the demo runs (JSON, see docs/MOCK.md). */
const char *demo_script(void);

/* `tokmux demo [--keep] [--help]`. argv[0] is "demo". Returns the exit
 * status: the workspace's, 1 if the mock cannot start, 2 on bad usage. */
int demo_main(int argc, char **argv);

#endif
