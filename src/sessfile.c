/*
 * sessfile: the session state file as JSON (cJSON), its atomic write and
 * its checked read (jsoncheck).
 */
#include "sessfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsoncheck.h"

#define SESSFILE_MAX_BYTES (1024 * 1024)
#define SESSFILE_FORMAT 1          /* "tokmux_session": the layout's version */

static void
sessfile_add_str(cJSON *o, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *
sessfile_pane_json(const struct sessfile_pane *p)
{
	cJSON *o = cJSON_CreateObject();
	sessfile_add_str(o, "name", p->name);
	sessfile_add_str(o, "cmd", p->cmd);
	sessfile_add_str(o, "cwd", p->cwd);
	cJSON_AddNumberToObject(o, "ceiling_micros", (double)p->ceiling_micros);
	sessfile_add_str(o, "model", p->model);
	cJSON *fb = cJSON_AddArrayToObject(o, "fallback");
	for (int i = 0; i < p->nfallback; i++)
		cJSON_AddItemToArray(fb, cJSON_CreateString(p->fallback[i]));
	sessfile_add_str(o, "agent", p->agent);
	sessfile_add_str(o, "conversation", p->conversation);
	return o;
}

char *
sessfile_format(const struct sessfile *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "tokmux_session", SESSFILE_FORMAT);
	sessfile_add_str(root, "name", s->name);
	cJSON_AddNumberToObject(root, "created", (double)s->created);
	cJSON_AddNumberToObject(root, "pid", s->pid);
	sessfile_add_str(root, "cwd", s->cwd);
	sessfile_add_str(root, "ledger_session", s->ledger_session);
	cJSON *opts = cJSON_AddArrayToObject(root, "options");
	for (int i = 0; i < s->noptions; i++)
		cJSON_AddItemToArray(opts, cJSON_CreateString(s->options[i]));
	cJSON *panes = cJSON_AddArrayToObject(root, "panes");
	for (int i = 0; i < s->npanes; i++)
		cJSON_AddItemToArray(panes, sessfile_pane_json(&s->pane[i]));
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text == NULL)
		fatal("out of memory (the session's state)");
	char *out = xasprintf("%s\n", text);
	cJSON_free(text);
	return out;
}

int
sessfile_write(const char *path, const char *text, char **err)
{
	if (util_mkdir_parents(path) < 0) {
		*err = xasprintf("cannot make the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = -1;
	if (fd < 0) {
		*err = xasprintf("cannot write %s: %s", tmp, strerror(errno));
	} else if (util_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		*err = xasprintf("cannot write %s: %s", tmp, strerror(errno));
	} else if (rename(tmp, path) < 0) {
		*err = xasprintf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* A string or null at o[key] into *out (malloc'd, NULL for null). */
static int
sessfile_get_str(const struct jsoncheck *j, const cJSON *o, const char *parent, const char *key,
    int nullable, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (nullable && (v == NULL || cJSON_IsNull(v)))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL || v->valuestring[0] == '\0')
		return jsoncheck_fail(j, parent, key, "a non-empty string%s", nullable ? " or null" : "");
	*out = xstrdup(v->valuestring);
	return 0;
}

static int
sessfile_read_pane(const struct jsoncheck *j, const cJSON *o, const char *parent,
    struct sessfile_pane *p)
{
	static const char *const keys[] = { "name", "cmd", "cwd", "ceiling_micros", "model",
		"fallback", "agent", "conversation", NULL };
	if (jsoncheck_keys(j, o, parent, keys) < 0 ||
	    sessfile_get_str(j, o, parent, "name", 0, &p->name) < 0 ||
	    sessfile_get_str(j, o, parent, "cmd", 1, &p->cmd) < 0 ||
	    sessfile_get_str(j, o, parent, "cwd", 1, &p->cwd) < 0 ||
	    sessfile_get_str(j, o, parent, "model", 1, &p->model) < 0 ||
	    sessfile_get_str(j, o, parent, "agent", 1, &p->agent) < 0 ||
	    sessfile_get_str(j, o, parent, "conversation", 1, &p->conversation) < 0)
		return -1;
	p->ceiling_micros = -1;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "ceiling_micros");
	if (c != NULL && jsoncheck_int(j, c, parent, "ceiling_micros", -1, INT64_C(1) << 52,
	    &p->ceiling_micros) < 0)
		return -1;
	const cJSON *fb = cJSON_GetObjectItemCaseSensitive(o, "fallback"), *m;
	if (fb != NULL && (!cJSON_IsArray(fb) || cJSON_GetArraySize(fb) > CONFIG_MAX_FALLBACK))
		return jsoncheck_fail(j, parent, "fallback", "a list of at most %d model ids",
		    CONFIG_MAX_FALLBACK);
	cJSON_ArrayForEach(m, fb) {
		const char *id;
		if (jsoncheck_string(j, m, parent, "fallback[]", 1, &id) < 0)
			return -1;
		p->fallback[p->nfallback++] = xstrdup(id);
	}
	return 0;
}

/* "options" and "panes". */
static int
sessfile_read_lists(const struct jsoncheck *j, const cJSON *root, struct sessfile *s)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options"), *v;
	if (opts != NULL && (!cJSON_IsArray(opts) || cJSON_GetArraySize(opts) > SESSFILE_MAX_OPTIONS))
		return jsoncheck_fail(j, NULL, "options", "a list of at most %d strings",
		    SESSFILE_MAX_OPTIONS);
	cJSON_ArrayForEach(v, opts) {
		const char *o;
		if (jsoncheck_string(j, v, NULL, "options[]", 0, &o) < 0)
			return -1;
		s->options[s->noptions++] = xstrdup(o);
	}
	const cJSON *panes = cJSON_GetObjectItemCaseSensitive(root, "panes");
	if (!cJSON_IsArray(panes) || cJSON_GetArraySize(panes) < 1 ||
	    cJSON_GetArraySize(panes) > TOKMUX_MAX_PANES)
		return jsoncheck_fail(j, NULL, "panes", "a list of 1 to %d panes", TOKMUX_MAX_PANES);
	cJSON_ArrayForEach(v, panes) {
		char parent[32];
		snprintf(parent, sizeof parent, "panes[%d]", s->npanes);
		if (!cJSON_IsObject(v))
			return jsoncheck_fail(j, NULL, parent, "an object");
		if (sessfile_read_pane(j, v, parent, &s->pane[s->npanes++]) < 0)
			return -1;
	}
	return 0;
}

int
sessfile_read(const char *path, struct sessfile *s, char **err)
{
	static const char *const keys[] = { "tokmux_session", "name", "created", "pid", "cwd",
		"ledger_session", "options", "panes", NULL };
	memset(s, 0, sizeof *s);
	size_t len;
	char *text = util_read_file(path, SESSFILE_MAX_BYTES, &len, err);
	if (text == NULL)
		return -1;
	struct jsoncheck j = { .file = path, .err = err };
	cJSON *root = jsoncheck_parse(&j, text, len);
	free(text);
	if (root == NULL)
		return -1;
	int64_t format, pid = 0;
	int rc = -1;
	if (jsoncheck_keys(&j, root, NULL, keys) == 0 &&
	    jsoncheck_int(&j, cJSON_GetObjectItemCaseSensitive(root, "tokmux_session"), NULL,
	    "tokmux_session", SESSFILE_FORMAT, SESSFILE_FORMAT, &format) == 0 &&
	    sessfile_get_str(&j, root, NULL, "name", 0, &s->name) == 0 &&
	    sessfile_get_str(&j, root, NULL, "cwd", 1, &s->cwd) == 0 &&
	    sessfile_get_str(&j, root, NULL, "ledger_session", 1, &s->ledger_session) == 0 &&
	    jsoncheck_int(&j, cJSON_GetObjectItemCaseSensitive(root, "created"), NULL, "created",
	    0, INT64_C(1) << 40, &s->created) == 0 &&
	    jsoncheck_int(&j, cJSON_GetObjectItemCaseSensitive(root, "pid"), NULL, "pid",
	    0, INT32_MAX, &pid) == 0 &&
	    sessfile_read_lists(&j, root, s) == 0)
		rc = 0;
	s->pid = (int)pid;
	cJSON_Delete(root);
	return rc;
}

static void
sessfile_pane_free(struct sessfile_pane *p)
{
	free(p->name);
	free(p->cmd);
	free(p->cwd);
	free(p->model);
	for (int i = 0; i < p->nfallback; i++)
		free(p->fallback[i]);
	free(p->agent);
	free(p->conversation);
}

void
sessfile_free(struct sessfile *s)
{
	free(s->name);
	free(s->cwd);
	free(s->ledger_session);
	for (int i = 0; i < s->noptions; i++)
		free(s->options[i]);
	for (int i = 0; i < s->npanes; i++)
		sessfile_pane_free(&s->pane[i]);
	memset(s, 0, sizeof *s);
}
