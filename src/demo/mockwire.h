/*
 * mockwire: the mock provider's wire formats, as plain functions of their
 * inputs: the endpoint table, the request fields the mock reads, and what it
 * answers in the Anthropic Messages, OpenAI Chat Completions and Responses
 * shapes (JSON bodies, SSE event lists, error bodies, models list, ids,
 * rate-limit reset formats). No sockets and no state: mock.c serves them.
 */
#ifndef TOKMUX_MOCKWIRE_H
#define TOKMUX_MOCKWIRE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum mockwire_endpoint {
	MOCKWIRE_NONE,
	MOCKWIRE_ROOT,        /* GET / */
	MOCKWIRE_MODELS,      /* GET /v1/models */
	MOCKWIRE_MESSAGES,    /* POST /v1/messages */
	MOCKWIRE_COUNT,       /* POST /v1/messages/count_tokens */
	MOCKWIRE_CHAT,        /* POST /v1/chat/completions */
	MOCKWIRE_RESPONSES,   /* POST /v1/responses */
	MOCKWIRE_UNKNOWN,
	MOCKWIRE_N
};

/* The endpoint of a path, with or without /v1 and trailing slashes. */
enum mockwire_endpoint mockwire_endpoint(const char *url);
/* "GET" or "POST"; NULL for MOCKWIRE_NONE and MOCKWIRE_UNKNOWN. */
const char *mockwire_method(enum mockwire_endpoint e);
/* A model call: messages, chat completions or responses. */
int mockwire_is_call(enum mockwire_endpoint e);
int mockwire_is_openai(enum mockwire_endpoint e);

/* What the mock reads from a request body. */
struct mockwire_request {
	char model[256];
	int has_model;
	int stream;
	int include_usage;      /* stream_options.include_usage */
	int64_t max_tokens;     /* max_tokens, max_completion_tokens or max_output_tokens; 0: none */
};

/* Fill rq from a JSON body; -1 if it is not a JSON object. */
int mockwire_read_request(const char *body, size_t len, struct mockwire_request *rq);

/* What a request's body is made of, for the log (never its text): the
 * top-level keys (sorted), how many tools and how many of them are
 * deferred (defer_loading), the system blocks' cache scopes. Adds
 * "body_keys", "tools", "deferred_tools", "cache_scopes" to log; nothing
 * for a body that is not JSON. */
void mockwire_request_shape(const char *body, size_t len, struct cJSON *log);

/* Token figures of one answer. */
struct mockwire_toks {
	int64_t in, out, cread, c5m, c1h, reasoning;
	int chunks;
	int capped;             /* max_tokens cut the output short */
	int bad;                /* MOCKWIRE_BAD_*: these usage figures go as strings */
};

/* One answer to a model call. */
struct mockwire_answer {
	enum mockwire_endpoint ep;   /* MESSAGES, CHAT or RESPONSES */
	const char *model;
	const char *text;            /* NULL: a fixed sentence, a word per chunk */
	struct mockwire_toks t;
	int64_t max_tokens;          /* as asked; 0: none */
	int usage_chunk;             /* chat stream: end with a usage chunk */
	int ping_every;              /* Anthropic stream: a ping every N chunks; 0: none */
	const char *tool_name;       /* Anthropic: a tool_use block after the text; NULL none */
	const char *tool_input;      /* its input as JSON text; NULL: {} */
};

#define MOCKWIRE_BAD_INPUT 1         /* input (prompt) tokens */
#define MOCKWIRE_BAD_OUTPUT 2        /* output (completion) tokens */

/* A list of malloc'd pieces of a response (SSE events, or body parts). */
struct mockwire_events {
	char **v;
	size_t n, cap;
};
void mockwire_events_add(struct mockwire_events *l, char *ev);   /* takes ev */

/* The SSE events of a streamed answer. *start_idx and *final_idx: the
 * events that carry the input figures and the final usage (SIZE_MAX: none). */
void mockwire_stream(struct mockwire_events *l, const struct mockwire_answer *a,
    size_t *start_idx, size_t *final_idx);
/* The overloaded error event inside a 200 stream (message NULL: "Overloaded"). */
void mockwire_stream_error(struct mockwire_events *l, enum mockwire_endpoint ep,
    const char *message);
/* The body of an answer that is not streamed. */
struct cJSON *mockwire_body(const struct mockwire_answer *a);
/* An error body for status in the endpoint's shape; message NULL: the
 * provider's usual one; spend: a 429 for a spend limit, not a rate limit. */
struct cJSON *mockwire_error(enum mockwire_endpoint ep, int status, int spend,
    const char *message, const char *request_id);
/* GET /v1/models: ids is an array of strings, or NULL for the built-in list. */
struct cJSON *mockwire_models(const struct cJSON *ids);

/* A request id in the provider's shape (malloc'd). */
char *mockwire_request_id(enum mockwire_endpoint ep);
/* UNIX time t as RFC 3339 UTC, with milliseconds if with_ms. */
void mockwire_rfc3339(double t, int with_ms, char *buf, size_t len);
/* ms as a Go time.Duration string ("1m30s"), as OpenAI's reset headers. */
void mockwire_go_duration(int64_t ms, char *buf, size_t len);

#endif
