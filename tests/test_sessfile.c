/* Unit tests for sessfile: the state file round trip, its atomic write
 * (mode 0600, the directory made, no temporary left), and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sessfile.h"
#include "testmsg.h"
#include "testtmp.h"
#include "util.h"

static void
fill(struct sessfile *s)
{
	memset(s, 0, sizeof *s);
	s->name = xstrdup("work");
	s->created = 1796200000;
	s->pid = 4242;
	s->cwd = xstrdup("/home/me/proj");
	s->ledger_session = xstrdup("0123456789abcdef");
	s->options[s->noptions++] = xstrdup("--ledger");
	s->options[s->noptions++] = xstrdup("/home/me/l \"quoted\".jsonl");
	s->npanes = 2;
	struct sessfile_pane *p = &s->pane[0];
	p->name = xstrdup("agent");
	p->cmd = xstrdup("claude --model claude-haiku-4-5");
	p->cwd = xstrdup("/home/me/proj/sub");
	p->ceiling_micros = 1500000;
	p->model = xstrdup("claude-sonnet-4-5");
	p->fallback[p->nfallback++] = xstrdup("claude-sonnet-4");
	p->agent = xstrdup("claude");
	p->conversation = xstrdup("0cbc29af-3488-40c0-9290-a0e1ee6efaba");
	p = &s->pane[1];
	p->name = xstrdup("pane 2");
	p->ceiling_micros = -1;
}

static void
test_round_trip(void **state)
{
	(void)state;
	char tmp[64], *err = NULL;
	testtmp_make(tmp, sizeof tmp, "sessfile");
	struct sessfile s, r;
	fill(&s);
	char *text = sessfile_format(&s);
	char *path = xasprintf("%s/deep/er/work.json", tmp);
	assert_int_equal(sessfile_write(path, text, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sessfile_read(path, &r, &err), 0);
	assert_string_equal(r.name, "work");
	assert_int_equal(r.created, 1796200000);
	assert_int_equal(r.pid, 4242);
	assert_string_equal(r.cwd, "/home/me/proj");
	assert_string_equal(r.ledger_session, "0123456789abcdef");
	assert_int_equal(r.noptions, 2);
	assert_string_equal(r.options[1], "/home/me/l \"quoted\".jsonl");
	assert_int_equal(r.npanes, 2);
	assert_string_equal(r.pane[0].cmd, "claude --model claude-haiku-4-5");
	assert_string_equal(r.pane[0].cwd, "/home/me/proj/sub");
	assert_int_equal(r.pane[0].ceiling_micros, 1500000);
	assert_string_equal(r.pane[0].model, "claude-sonnet-4-5");
	assert_int_equal(r.pane[0].nfallback, 1);
	assert_string_equal(r.pane[0].fallback[0], "claude-sonnet-4");
	assert_string_equal(r.pane[0].agent, "claude");
	assert_string_equal(r.pane[0].conversation, "0cbc29af-3488-40c0-9290-a0e1ee6efaba");
	/* nulls stay nulls */
	assert_null(r.pane[1].cmd);
	assert_null(r.pane[1].agent);
	assert_null(r.pane[1].conversation);
	assert_int_equal(r.pane[1].ceiling_micros, -1);
	/* written again over the old one: no temporary file is left beside it */
	assert_int_equal(sessfile_write(path, text, &err), 0);
	char *dir = xasprintf("%s/deep/er", tmp);
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	free(dir);
	sessfile_free(&r);
	sessfile_free(&s);
	free(text);
	free(path);
	assert_int_equal(testtmp_remove(tmp), 0);
}

/* Read text as a state file; the error, or NULL. */
static char *
read_text(const char *tmp, const char *text)
{
	char *path = xasprintf("%s/s.json", tmp), *err = NULL;
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	struct sessfile s;
	int rc = sessfile_read(path, &s, &err);
	sessfile_free(&s);
	free(path);
	assert_true(rc == 0 ? err == NULL : err != NULL);
	return err;
}

static void
test_errors(void **state)
{
	(void)state;
	char tmp[64], *err;
	testtmp_make(tmp, sizeof tmp, "sessfile");
	char *path = xasprintf("%s/s.json", tmp), *want;
#define HEAD "{\"tokmux_session\": 1, \"name\": \"w\", \"created\": 1, \"pid\": 2, "
	err = read_text(tmp, HEAD "\"panes\": [{\"name\": \"p\"}]}");
	assert_null(err);
	err = read_text(tmp, "{\"tokmux_session\": 2, \"name\": \"w\", \"created\": 1, \"pid\": 2, "
	    "\"panes\": [{\"name\": \"p\"}]}");
	want = xasprintf("%s: key tokmux_session: expected a whole number from 1 to 1", path);
	testmsg_expect(&err, want);
	free(want);
	err = read_text(tmp, HEAD "\"panes\": []}");
	want = xasprintf("%s: key panes: expected a list of 1 to 4 panes", path);
	testmsg_expect(&err, want);
	free(want);
	err = read_text(tmp, HEAD "\"panes\": [{\"name\": \"p\", \"cmd\": 7}]}");
	want = xasprintf("%s: key panes[0].cmd: expected a non-empty string or null", path);
	testmsg_expect(&err, want);
	free(want);
	err = read_text(tmp, HEAD "\"panes\": [{\"name\": \"p\", \"bogus\": 1}]}");
	assert_non_null(strstr(err, "key panes[0].bogus: expected one of"));
	free(err);
	err = read_text(tmp, HEAD "\"panes\": [{\"name\": \"p\"}");
	assert_non_null(strstr(err, "invalid JSON"));
	free(err);
	struct sessfile s;
	assert_int_equal(sessfile_read("/nonexistent/x.json", &s, &err), -1);
	sessfile_free(&s);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
	free(err);
	free(path);
	assert_int_equal(testtmp_remove(tmp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("sessfile", tests, NULL, NULL);
}
