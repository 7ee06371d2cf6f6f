/*
 * cmd: tokmux's front ends, one file each, as tmux's cmd-*.c: the command
 * line of one subcommand (parsed with cli.h), then calls into the library.
 * main.c holds the table that maps a name to its main. Each main gets
 * argv[0] = its name and returns the exit status: 0, CLI_USAGE (2) for bad
 * usage or configuration, 1 for other failures.
 *
 * Product front ends live in src/cmd_<name>.c (libtokmux.a); the demo
 * tooling's in src/demo/cmd_<name>.c (libtokmux-demo.a).
 */
#ifndef TOKMUX_CMD_H
#define TOKMUX_CMD_H

/* One row of the table. */
struct cmd_entry {
	const char *name;                       /* "gateway" */
	int (*main)(int argc, char **argv);
	const char *help;                       /* one line for tokmux --help */
};

/* `tokmux [options]`: the workspace. commands (ending with a NULL name)
 * are listed by --help. argv[0] is the program's path. */
int cmd_workspace_main(int argc, char **argv, const struct cmd_entry *commands);

int cmd_gateway_main(int argc, char **argv);    /* src/cmd_gateway.c */
int cmd_report_main(int argc, char **argv);     /* src/cmd_report.c */
int cmd_mock_main(int argc, char **argv);       /* src/demo/cmd_mock.c */
int cmd_demo_main(int argc, char **argv);       /* src/demo/cmd_demo.c */
int cmd_simagent_main(int argc, char **argv);   /* src/demo/cmd_simagent.c */

#endif
