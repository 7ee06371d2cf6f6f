/*
 * ledger: append-only JSONL file: an intent line when a request is
 * forwarded and one outcome line when it finished (or was refused), both
 * naming the request's id. Written with a single write() on an O_APPEND
 * fd so lines from concurrent threads never interleave; a torn last line
 * after a crash is skipped on read and ended before the next append. A
 * line that cannot be written (disk full, read-only, I/O error) is held
 * in memory, bounded, and written again before the next line and on a
 * backoff timer; the ledger's health says so at once (ledger_health, the
 * notify callback). On read, an intent without its outcome is passed on
 * as unsettled, counted at its reservation. Never holds keys,
 * Authorization headers or prompt text: only a key hash.
 */
#ifndef TOKMUX_LEDGER_H
#define TOKMUX_LEDGER_H

#include <stdint.h>
#include <time.h>

#include "usage.h"

struct ledger_record {
	double time;              /* UNIX time the request finished */
	int pane;                 /* route index, 1-based for people */
	const char *pane_name;
	const char *agent;        /* the pane's command, may be NULL */
	const char *branch;       /* git branch of the pane's directory, e.g. "tokmux/claude";
	                           * NULL: none (written only when set) */
	const char *worktree;     /* the pane's git worktree, an absolute path; NULL: none
	                           * (written only when set) */
	const char *key_hash;     /* util_key_hash(), may be "" */
	const char *api;          /* "anthropic" / "openai-chat" / "openai-responses" / "other" */
	const char *model_asked;
	const char *model_used;
	struct usage usage;
	int64_t cost_micros;
	int priced;
	int status;
	int retries, fallbacks;
	int n429, n529;
	int64_t latency_ms;
	const char *request_id;   /* provider's request-id header or body id */
	const char *error;        /* error type, may be NULL */
	int circuit;              /* 1 when an open circuit breaker sent it to a
	                           * fallback model (written only then) */
	const char *session;      /* the writing process's session id, NULL: none */
	int refused;              /* 1: refused by tokmux (a ceiling, a bad body), never
	                           * served (written only then) */
	int64_t reserved_micros;  /* what its ceilings held for it (written when > 0) */
	int64_t charged_micros;   /* what it counts against the ceilings; written as
	                           * "charged_usd" when above the cost (never below) */
	int64_t max_tokens;       /* output limit sent upstream (written when > 0) */
	int64_t clamped_from;     /* the limit asked for, when tokmux lowered it to fit
	                           * a ceiling (written with "clamped": true, when > 0) */
	const char *team, *member; /* team budget (docs/TEAM.md); NULL: the ledger's own */
	const char *agent_session; /* the agent's own session id (Claude Code's
	                           * x-claude-code-session-id); NULL: none, not written */
	const char *subagent;     /* the subagent that sent it (x-claude-code-agent-id); NULL: the agent */
	const char *stop_reason;  /* why the model stopped (end_turn, tool_use...); NULL: unknown */
	const char *id;           /* the request's id, its intent's (ledger_intent); NULL: none */
};

#define LEDGER_ID_LEN 24          /* hex chars of a request id */
#define LEDGER_HOLD_MAX 4096      /* lines held in memory while the file cannot be
                                   * written; past it, new lines are dropped (counted) */
#define LEDGER_HOLD_BYTES (8u << 20)
#define LEDGER_RETRY_MIN_MS 250   /* the timer's first retry; doubles ... */
#define LEDGER_RETRY_MAX_MS 8000  /* ... up to this */

typedef struct ledger ledger_t;

/* Default path: $XDG_STATE_HOME/tokmux/ledger.jsonl (~/.local/state/...).
 * Returns a malloc'd string. */
char *ledger_default_path(void);

/* Open (creating directories and the file, mode 0600). NULL + *err on failure. */
ledger_t *ledger_open(const char *path, char **err);
void ledger_close(ledger_t *l);
/* Thread-safe. Returns 0 when the line is in the file, -1 when it is
 * held in memory (or dropped past LEDGER_HOLD_MAX): see ledger_health. */
int ledger_append(ledger_t *l, const struct ledger_record *r);
/* The intent line of a request about to be forwarded ("kind": "intent":
 * time, pane, agent, key hash, api, model asked, reserved_micros,
 * max_tokens, session...; no usage). Writes a new request id into id,
 * for the outcome record's r->id. Same return as ledger_append. */
int ledger_intent(ledger_t *l, const struct ledger_record *r, char id[LEDGER_ID_LEN + 1]);

/* What the writer knows of the file. */
struct ledger_health {
	int failing;              /* the last write failed: lines are held */
	int error;                /* its errno (0 when writing) */
	int64_t held;             /* lines in memory, waiting for the file */
	int64_t lost;             /* lines dropped past LEDGER_HOLD_MAX / _BYTES */
	int64_t failures;         /* failed writes since open */
	int64_t repaired;         /* torn last lines ended before an append */
};
void ledger_health(ledger_t *l, struct ledger_health *out);
/* Try the held lines now (the timer does too); returns how many are left. */
int64_t ledger_retry(ledger_t *l);
/* fn(user, health, changed) after every change of the health, serialized,
 * never under the ledger lock; changed: failing turned on or off. From
 * the thread that wrote (or the retry timer's). fn NULL: none. */
typedef void (*ledger_notify_fn)(void *user, const struct ledger_health *h, int changed);
void ledger_set_notify(ledger_t *l, ledger_notify_fn fn, void *user);
/* The team and member every later record names (unless it names its
 * own); NULL: none. Call before the first ledger_append. */
void ledger_set_member(ledger_t *l, const char *team, const char *member);

/* A record as read back. Readers are tolerant: unknown fields are
 * ignored, a missing field reads as 0 or "" (strings "-" for the grouping
 * fields branch, worktree and member are the report's business). */
struct ledger_entry {
	double time;
	int pane;
	char pane_name[64];
	char model_asked[MODEL_ID_MAX];
	char model_used[MODEL_ID_MAX];
	struct usage usage;
	int64_t cost_micros;
	int priced;
	int status;
	int retries, fallbacks, n429, n529;
	int64_t latency_ms;
	int circuit;              /* 1: an open circuit sent it to a fallback; 0 when absent */
	char session[40];         /* "session": tokmux process that wrote it */
	char agent[64];           /* "agent": the pane's program */
	char key_hash[17];        /* "key_hash" */
	char branch[128];         /* "branch": git branch of the pane (worktrees) */
	char worktree[256];       /* "worktree": its directory */
	char team[64];            /* "team": the team budget (docs/TEAM.md) */
	char member[64];          /* "member": team member (docs/TEAM.md) */
	int refused;              /* "refused": true: refused by a ceiling, not served */
	int clamped;              /* "clamped": true (or > 0): max_tokens lowered to fit a ceiling */
	char agent_session[48];   /* "agent_session": the agent's own session id */
	char subagent[48];        /* "subagent": the subagent that sent it, "" the agent itself */
	int64_t charged_micros;   /* "charged_micros": counted against the ceilings (the cost when absent) */
	int64_t max_tokens;       /* "max_tokens": the output limit sent, 0 when absent */
	int64_t clamped_from;     /* "clamped_from": the limit asked for when lowered, 0 when absent */
	char id[LEDGER_ID_LEN + 8]; /* "id": the request's, shared by intent and outcome */
	int unsettled;            /* an intent whose outcome is not in the file (in flight,
	                           * or tokmux was killed): charged_micros is its reservation */
	int64_t reserved_micros;  /* "reserved_micros" */
};

/* Numbers a record may hold: token counts and micro-dollars up to
 * LEDGER_VALUE_MAX (10^15, a billion dollars); beyond, or negative, the
 * line is refused as out of range rather than overflowing a sum. */
#define LEDGER_VALUE_MAX 1000000000000000LL

/* What a read met besides records. */
struct ledger_read_stats {
	int64_t records;          /* passed to fn */
	int64_t not_json;         /* lines that are not a JSON object */
	int64_t no_time;          /* objects without a usable "epoch" or "time" */
	int64_t out_of_range;     /* a negative or huge number (LEDGER_VALUE_MAX) */
	int64_t torn;             /* a last line without its newline (being written, or a crash) */
	int64_t unsettled;        /* intents without an outcome (passed to fn, in records) */
	int64_t first_bad_line;   /* 1-based line of the first out-of-range line, 0 none */
};
/* Lines read but not passed on (torn included). */
int64_t ledger_read_skipped(const struct ledger_read_stats *st);

typedef void (*ledger_fn)(const struct ledger_entry *e, void *user);
/* Read every complete record; calls fn (may be NULL) for each: outcome
 * records in file order, then the intents no outcome named (unsettled).
 * An intent whose outcome came is not passed on. Returns
 * records read, or -1 with errno set when the file cannot be opened or
 * read (ENOENT for a missing one). st may be NULL. */
int ledger_read_all(const char *path, ledger_fn fn, void *user, struct ledger_read_stats *st);
/* The same, but a missing file is 0 records and skipped lines are only counted. */
int ledger_read(const char *path, ledger_fn fn, void *user);

/* Sum of charged_micros (what the ceilings counted; an unsettled intent
 * at its reservation) of records with time >= since (e.g. local midnight). */
int64_t ledger_spend_since(const char *path, double since);

#endif
