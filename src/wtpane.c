/*
 * wtpane: per pane an entry (id, route, pid, worktree state, figures, the
 * branch last told to the ledger), a FIFO of creations and removals of
 * which one runs at a time, and a list of every job handed to the pool
 * (its context is freed when it answers, or by wtpanes_free when the pool
 * cancelled it). A periodic timer submits the refreshes that are due.
 */
#include "wtpane.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "worker.h"

#define WTPANE_TICK_MS 500
#define WTPANE_THREADS 2

struct wtpane_entry {
	int id, route;
	pid_t pid;
	enum wtpane_state state;
	worktree_t *wt;
	char *err;
	int known;
	struct worktree_stat stat;
	int status_busy, where_busy;
	int64_t status_due, where_due;
	int told;                       /* where_branch/where_worktree were told to the ledger */
	char *told_branch, *told_worktree;
	struct wtpane_info info;
};

enum wtpane_op { WTPANE_OP_CREATE, WTPANE_OP_REMOVE, WTPANE_OP_STATUS, WTPANE_OP_DIFF,
	WTPANE_OP_WHERE };

/* One job's context: on the jobs list from submission (or queueing) to
 * its answer. */
struct wtpane_job {
	wtpanes_t *w;
	int id;
	enum wtpane_op op;
	char *dir, *name;               /* create */
	enum worktree_keep keep;        /* remove */
	int force;
	int queued;                     /* a creation or removal not yet submitted */
	struct wtpane_job *prev, *next;
};

struct wtpanes {
	evloop_t *loop;
	worker_t *pool;
	worktree_git_t *git;
	struct wtpane_hooks h;
	char *dir_template;
	int status_ms, where_ms;
	int64_t timer;
	struct wtpane_entry **e;
	int n;
	struct wtpane_job *jobs;        /* every live job, newest first */
	int mutating;                   /* a creation or removal is on the pool */
};

/* ---- entries and jobs ---- */

static struct wtpane_entry *
wtpane_find(const wtpanes_t *w, int id)
{
	for (int i = 0; i < w->n; i++)
		if (w->e[i]->id == id)
			return w->e[i];
	return NULL;
}

static void
wtpane_entry_free(struct wtpane_entry *e)
{
	worktree_free(e->wt);
	free(e->err);
	free(e->told_branch);
	free(e->told_worktree);
	free(e);
}

static struct wtpane_job *
wtpane_job_new(wtpanes_t *w, int id, enum wtpane_op op)
{
	struct wtpane_job *j = xcalloc(1, sizeof *j);
	j->w = w;
	j->id = id;
	j->op = op;
	j->next = w->jobs;
	if (w->jobs != NULL)
		w->jobs->prev = j;
	w->jobs = j;
	return j;
}

static void
wtpane_job_free(struct wtpane_job *j)
{
	wtpanes_t *w = j->w;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		w->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	free(j->dir);
	free(j->name);
	free(j);
}

/* ---- answers ---- */

static void wtpanes_next(wtpanes_t *w);

static int
wtpane_same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Tell the ledger where route's requests work now, if that changed. */
static void
wtpane_tell(wtpanes_t *w, struct wtpane_entry *e, const char *branch, const char *worktree)
{
	if (e->told && wtpane_same(e->told_branch, branch) && wtpane_same(e->told_worktree, worktree))
		return;
	free(e->told_branch);
	free(e->told_worktree);
	e->told_branch = branch ? xstrdup(branch) : NULL;
	e->told_worktree = worktree ? xstrdup(worktree) : NULL;
	e->told = 1;
	if (e->route >= 0 && w->h.where != NULL)
		w->h.where(w->h.user, e->route, branch, worktree);
}

static void
wtpane_created(struct wtpane_job *j, struct worktree_result *r)
{
	wtpanes_t *w = j->w;
	struct wtpane_entry *e = wtpane_find(w, j->id);
	w->mutating = 0;
	if (e == NULL || e->state != WTPANE_CREATING) {
		if (r->wt != NULL)
			log_debug("wtpane: pane %d closed while its worktree was made: %s kept", j->id,
			    worktree_path(r->wt));
		return;
	}
	if (r->wt == NULL) {
		e->state = WTPANE_FAILED;
		free(e->err);
		e->err = xstrdup(r->err ? r->err : "git failed");
		if (w->h.created != NULL)
			w->h.created(w->h.user, j->id, NULL, e->err);
		return;
	}
	e->wt = r->wt;
	r->wt = NULL;          /* ours now */
	e->state = WTPANE_READY;
	e->status_due = 0;     /* the first figures at the next tick */
	wtpane_tell(w, e, worktree_branch(e->wt), worktree_path(e->wt));
	if (w->h.created != NULL)
		w->h.created(w->h.user, j->id, e->wt, NULL);
}

static int
wtpane_stat_same(const struct worktree_stat *a, const struct worktree_stat *b)
{
	return a->files == b->files && a->added == b->added && a->removed == b->removed &&
	    a->untracked == b->untracked && a->binary == b->binary && a->partial == b->partial;
}

static void
wtpane_status_done(struct wtpane_job *j, struct worktree_result *r)
{
	wtpanes_t *w = j->w;
	struct wtpane_entry *e = wtpane_find(w, j->id);
	if (e == NULL)
		return;
	e->status_busy = 0;
	e->status_due = util_now_ms() + w->status_ms;
	if (r->rc != 0) {
		log_debug("wtpane: status of pane %d: %s", j->id, r->err ? r->err : "failed");
		return;
	}
	if (e->known && wtpane_stat_same(&e->stat, &r->stat))
		return;
	e->stat = r->stat;
	e->known = 1;
	if (w->h.changed != NULL)
		w->h.changed(w->h.user, j->id);
}

static void
wtpane_where_done(struct wtpane_job *j, struct worktree_result *r)
{
	wtpanes_t *w = j->w;
	struct wtpane_entry *e = wtpane_find(w, j->id);
	if (e == NULL)
		return;
	e->where_busy = 0;
	e->where_due = util_now_ms() + w->where_ms;
	if (r->rc < 0) {
		log_debug("wtpane: branch of pane %d: %s", j->id, r->err ? r->err : "failed");
		return;
	}
	const char *branch = r->rc == 0 ? r->where.branch : NULL;
	const char *wt = e->wt != NULL ? worktree_path(e->wt) : NULL;
	wtpane_tell(w, e, branch, wt);
}

static void
wtpane_removed(struct wtpane_job *j, struct worktree_result *r)
{
	wtpanes_t *w = j->w;
	struct wtpane_entry *e = wtpane_find(w, j->id);
	w->mutating = 0;
	if (e == NULL)
		return;
	if (r->rc == 0) {
		worktree_free(e->wt);
		e->wt = NULL;
		e->known = 0;
		e->state = WTPANE_PLAIN;
	} else if (e->state == WTPANE_REMOVING) {
		e->state = WTPANE_READY;
	}
	if (w->h.removed != NULL)
		w->h.removed(w->h.user, j->id, r->rc, r->rc != 0 ? (r->err ? r->err : "git failed") : NULL);
}

/* Every answer from the pool comes through here, on the loop's thread. */
static void
wtpane_done(void *user, struct worktree_result *r)
{
	struct wtpane_job *j = user;
	wtpanes_t *w = j->w;
	switch (j->op) {
	case WTPANE_OP_CREATE: wtpane_created(j, r); break;
	case WTPANE_OP_REMOVE: wtpane_removed(j, r); break;
	case WTPANE_OP_STATUS: wtpane_status_done(j, r); break;
	case WTPANE_OP_WHERE: wtpane_where_done(j, r); break;
	case WTPANE_OP_DIFF:
		if (w->h.diff != NULL)
			w->h.diff(w->h.user, j->id, r->rc == 0 ? (r->diff.data ? r->diff.data : "") : NULL,
			    r->diff.len, r->truncated, r->rc != 0 ? (r->err ? r->err : "git failed") : NULL);
		break;
	}
	int mutation = j->op == WTPANE_OP_CREATE || j->op == WTPANE_OP_REMOVE;
	wtpane_job_free(j);
	if (mutation)
		wtpanes_next(w);
}

/* ---- submitting ---- */

/* Start the oldest queued creation or removal when none runs. */
static void
wtpanes_next(wtpanes_t *w)
{
	if (w->mutating)
		return;
	struct wtpane_job *j = NULL;
	for (struct wtpane_job *k = w->jobs; k != NULL; k = k->next)
		if (k->queued)
			j = k;             /* the list is newest first: the last one is the oldest */
	if (j == NULL)
		return;
	j->queued = 0;
	struct wtpane_entry *e = wtpane_find(w, j->id);
	int rc = -1;
	if (j->op == WTPANE_OP_CREATE && e != NULL) {
		struct worktree_request rq = { .dir = j->dir, .name = j->name,
			.dir_template = w->dir_template, .reuse = 1 };
		rc = worktree_create_async(w->pool, w->git, &rq, wtpane_done, j);
	} else if (j->op == WTPANE_OP_REMOVE && e != NULL && e->wt != NULL) {
		rc = worktree_remove_async(w->pool, w->git, e->wt, j->keep, j->force, wtpane_done, j);
	}
	if (rc == 0) {
		w->mutating = 1;
		return;
	}
	wtpane_job_free(j);
	wtpanes_next(w);
}

static void
wtpane_submit_status(wtpanes_t *w, struct wtpane_entry *e)
{
	struct wtpane_job *j = wtpane_job_new(w, e->id, WTPANE_OP_STATUS);
	if (worktree_status_async(w->pool, w->git, worktree_path(e->wt), worktree_base(e->wt),
	    worktree_base_commit(e->wt), wtpane_done, j) == 0)
		e->status_busy = 1;
	else
		wtpane_job_free(j);
}

/* The directory pane e's program works in, from /proc (Linux). */
static void
wtpane_submit_where(wtpanes_t *w, struct wtpane_entry *e)
{
	char link[64], dir[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/cwd", (int)e->pid);
	ssize_t n = readlink(link, dir, sizeof dir - 1);
	if (n <= 0) {
		e->where_due = util_now_ms() + w->where_ms;
		return;
	}
	dir[n] = '\0';
	struct wtpane_job *j = wtpane_job_new(w, e->id, WTPANE_OP_WHERE);
	if (worktree_where_async(w->pool, w->git, dir, wtpane_done, j) == 0)
		e->where_busy = 1;
	else
		wtpane_job_free(j);
}

static int64_t
wtpanes_tick(evloop_t *el, int64_t id, void *arg)
{
	wtpanes_t *w = arg;
	int64_t now = util_now_ms();
	for (int i = 0; i < w->n; i++) {
		struct wtpane_entry *e = w->e[i];
		if (e->state == WTPANE_READY && !e->status_busy && now >= e->status_due)
			wtpane_submit_status(w, e);
		if (e->route >= 0 && e->pid > 0 && !e->where_busy && now >= e->where_due)
			wtpane_submit_where(w, e);
	}
	return WTPANE_TICK_MS;
}

static void
wtpanes_on_fd(evloop_t *el, int fd, int revents, void *arg)
{
	wtpanes_t *w = arg;
	worker_dispatch(w->pool);
}

/* ---- the interface ---- */

wtpanes_t *
wtpanes_new(evloop_t *loop, const struct wtpane_options *o, const struct wtpane_hooks *h,
    char **err)
{
	worker_t *pool = worker_new(WTPANE_THREADS, err);
	if (pool == NULL)
		return NULL;
	wtpanes_t *w = xcalloc(1, sizeof *w);
	w->loop = loop;
	w->pool = pool;
	struct worktree_git_opts go = { .git = o ? o->git : NULL };
	w->git = worktree_git_new(&go);
	if (h != NULL)
		w->h = *h;
	w->dir_template = o && o->dir_template ? xstrdup(o->dir_template) : NULL;
	w->status_ms = o && o->status_ms > 0 ? o->status_ms : WTPANE_STATUS_MS;
	w->where_ms = o && o->where_ms > 0 ? o->where_ms : WTPANE_WHERE_MS;
	evloop_add_fd(loop, worker_fd(pool), EVLOOP_READ, wtpanes_on_fd, w);
	evloop_set_priority(loop, worker_fd(pool), 3);      /* after the keyboard and the panes */
	w->timer = evloop_add_timer(loop, WTPANE_TICK_MS, wtpanes_tick, w);
	return w;
}

void
wtpanes_free(wtpanes_t *w)
{
	if (w == NULL)
		return;
	evloop_del_fd(w->loop, worker_fd(w->pool));
	evloop_del_timer(w->loop, w->timer);
	worker_free(w->pool);          /* before git: jobs use it */
	while (w->jobs != NULL)
		wtpane_job_free(w->jobs);
	for (int i = 0; i < w->n; i++)
		wtpane_entry_free(w->e[i]);
	free(w->e);
	worktree_git_free(w->git);
	free(w->dir_template);
	free(w);
}

int
wtpanes_busy(const wtpanes_t *w)
{
	for (const struct wtpane_job *j = w->jobs; j != NULL; j = j->next)
		if (j->op == WTPANE_OP_REMOVE)
			return 1;
	return 0;
}

void
wtpane_add(wtpanes_t *w, int id, int route)
{
	if (wtpane_find(w, id) != NULL)
		return;
	struct wtpane_entry *e = xcalloc(1, sizeof *e);
	e->id = id;
	e->route = route;
	w->e = xreallocarray(w->e, (size_t)w->n + 1, sizeof *w->e);
	w->e[w->n++] = e;
}

void
wtpane_set_pid(wtpanes_t *w, int id, pid_t pid)
{
	struct wtpane_entry *e = wtpane_find(w, id);
	if (e == NULL)
		return;
	e->pid = pid;
	e->where_due = 0;      /* a new program, maybe somewhere else: look at once */
}

int
wtpane_create(wtpanes_t *w, int id, const char *dir, const char *name)
{
	struct wtpane_entry *e = wtpane_find(w, id);
	if (e == NULL || e->state == WTPANE_CREATING || e->state == WTPANE_REMOVING || e->wt != NULL)
		return -1;
	e->state = WTPANE_CREATING;
	free(e->err);
	e->err = NULL;
	struct wtpane_job *j = wtpane_job_new(w, id, WTPANE_OP_CREATE);
	j->dir = xstrdup(dir);
	j->name = xstrdup(name);
	j->queued = 1;
	wtpanes_next(w);
	return 0;
}

const struct wtpane_info *
wtpane_info(wtpanes_t *w, int id)
{
	struct wtpane_entry *e = wtpane_find(w, id);
	if (e == NULL)
		return NULL;
	e->info = (struct wtpane_info){
		.state = e->state,
		.branch = e->wt ? worktree_branch(e->wt) : NULL,
		.path = e->wt ? worktree_path(e->wt) : NULL,
		.base = e->wt ? worktree_base(e->wt) : NULL,
		.err = e->err,
		.known = e->known,
		.stat = e->stat,
	};
	return &e->info;
}

int
wtpane_diff(wtpanes_t *w, int id)
{
	struct wtpane_entry *e = wtpane_find(w, id);
	if (e == NULL || e->state != WTPANE_READY)
		return -1;
	struct wtpane_job *j = wtpane_job_new(w, id, WTPANE_OP_DIFF);
	if (worktree_diff_async(w->pool, w->git, worktree_path(e->wt), worktree_base(e->wt),
	    worktree_base_commit(e->wt), WTPANE_DIFF_MAX, wtpane_done, j) == 0)
		return 0;
	wtpane_job_free(j);
	return -1;
}

int
wtpane_remove(wtpanes_t *w, int id, enum worktree_keep keep, int force)
{
	struct wtpane_entry *e = wtpane_find(w, id);
	if (e == NULL || e->state != WTPANE_READY || keep == WORKTREE_KEEP_BOTH)
		return -1;
	e->state = WTPANE_REMOVING;
	struct wtpane_job *j = wtpane_job_new(w, id, WTPANE_OP_REMOVE);
	j->keep = keep;
	j->force = force;
	j->queued = 1;
	wtpanes_next(w);
	return 0;
}

void
wtpane_forget(wtpanes_t *w, int id)
{
	for (int i = 0; i < w->n; i++) {
		if (w->e[i]->id != id)
			continue;
		wtpane_entry_free(w->e[i]);
		w->e[i] = w->e[--w->n];
		break;
	}
	/* queued work for it is dropped; work on the pool answers to nobody */
	for (struct wtpane_job *j = w->jobs, *next; j != NULL; j = next) {
		next = j->next;
		if (j->id == id && j->queued)
			wtpane_job_free(j);
	}
}
