/*
 * usage: incremental reader of provider responses. Owns the per-event JSON
 * interpretation (cJSON) for Anthropic Messages, OpenAI Chat Completions
 * and OpenAI Responses, streaming or not; events come from the SSE
 * scanner (sse.c), a JSON body is kept whole up to a cap.
 *
 * Events are recognised by their shape (the JSON "type" / "object" fields),
 * not by the api_kind, so a mislabelled path still meters; the kind only
 * switches off usage for count_tokens, which must never be metered.
 *
 * Cache TTL split (Anthropic): message_start carries cache_creation.
 * {ephemeral_5m,ephemeral_1h}_input_tokens, message_delta only the total
 * cache_creation_input_tokens. When the totals disagree, the 1h part keeps
 * its message_start value (capped at the new total) and the rest is 5m:
 * 5m is Claude Code's default TTL, 1h writes are explicit opt-ins. Without
 * any split, every cache write is 5m.
 */
#include "usage.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "util.h"

#define USAGE_JSON_CAP  (8u << 20)   /* non-streaming body kept for parsing */

struct usage_parser {
	enum api_kind kind;
	int streaming;
	int sniffed;            /* first non-blank byte looked at */

	struct sse sse;         /* the stream's events */

	/* JSON body state */
	struct buf body;
	int body_overflow;
	int body_dirty;         /* body grew since it was last parsed */

	/* what was read */
	struct usage u;
	int64_t cache_write_total;   /* cache_creation_input_tokens */
	int64_t split_5m, split_1h;  /* cache_creation breakdown, -1 unknown */
	int saw_content;
	int saw_delta;
	int saw_tool_call;      /* Responses: a client tool call was output */
};

static void usage_sse_event(void *user, const struct sse_event *ev);

usage_parser_t *
usage_parser_new(enum api_kind kind, int streaming)
{
	usage_parser_t *p = xcalloc(1, sizeof(*p));
	p->kind = kind;
	p->streaming = streaming != 0;
	p->split_5m = p->split_1h = -1;
	sse_init(&p->sse, 0, usage_sse_event, p);
	return p;
}

void
usage_parser_free(usage_parser_t *p)
{
	if (p == NULL)
		return;
	sse_free(&p->sse);
	buf_free(&p->body);
	free(p);
}

/* ---- small JSON helpers ---- */

/* obj[name] as a token count: 1 with *out, 0 if absent (or null), -1 if it
 * is there but not a count (a string, negative, fractional, huge). */
static int
usage_json_int(const cJSON *obj, const char *name, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return -1;
	double v = it->valuedouble;
	if (!(v >= 0 && v <= 9e15) || floor(v) != v)
		return -1;
	*out = (int64_t)v;
	return 1;
}

/* The same, remembering a figure that does not parse (usage.malformed:
 * the output side or the input side, cache and tool figures included). */
static int
usage_num(usage_parser_t *p, const cJSON *obj, const char *name, int64_t *out)
{
	int rc = usage_json_int(obj, name, out);
	if (rc < 0) {
		int out_side = strstr(name, "output") != NULL || strstr(name, "completion") != NULL ||
		    strstr(name, "reasoning") != NULL || strstr(name, "thinking") != NULL;
		p->u.malformed |= out_side ? USAGE_BAD_OUTPUT : USAGE_BAD_INPUT;
		log_debug("usage: \"%s\" is not a token count", name);
	}
	return rc > 0;
}

static const char *
usage_json_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const cJSON *
usage_json_obj(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsObject(it) ? it : NULL;
}

static void
usage_copy_str(char *dst, size_t len, const char *src)
{
	if (src != NULL && *src != '\0')
		snprintf(dst, len, "%s", src);
}

static int
usage_metered(const usage_parser_t *p)
{
	return p->kind != API_ANTHROPIC_COUNT_TOKENS;
}

static void
usage_set_error(usage_parser_t *p, const char *type)
{
	if (p->u.error_type[0] != '\0')
		return;         /* keep the first error */
	snprintf(p->u.error_type, sizeof(p->u.error_type), "%s",
	    type != NULL && *type != '\0' ? type : "error");
	p->u.error_before_content = !p->saw_delta;
}

/* {"type":"error","error":{"type":...}} (Anthropic), {"error":{"type"|"code"}}
 * (OpenAI), {"type":"error","code":...} (Responses stream). */
static void
usage_read_error(usage_parser_t *p, const cJSON *root)
{
	const cJSON *e = usage_json_obj(root, "error");
	const char *t = NULL;
	if (e != NULL) {
		t = usage_json_str(e, "type");
		if (t == NULL)
			t = usage_json_str(e, "code");
	}
	if (t == NULL)
		t = usage_json_str(root, "code");
	usage_set_error(p, t);
}

/* ---- Anthropic ---- */

/* Overwrite every field present in an Anthropic usage object. */
static void
usage_anthropic(usage_parser_t *p, const cJSON *usage)
{
	int64_t v;
	const cJSON *o;
	if (usage == NULL || !usage_metered(p))
		return;
	p->u.has_usage = 1;
	if (usage_num(p, usage, "input_tokens", &v))
		p->u.input_tokens = v;
	if (usage_num(p, usage, "output_tokens", &v))
		p->u.output_tokens = v;
	if (usage_num(p, usage, "cache_read_input_tokens", &v))
		p->u.cache_read_tokens = v;
	if (usage_num(p, usage, "cache_creation_input_tokens", &v))
		p->cache_write_total = v;
	if ((o = usage_json_obj(usage, "cache_creation")) != NULL) {
		int64_t a = 0, b = 0;
		int ha = usage_num(p, o, "ephemeral_5m_input_tokens", &a);
		int hb = usage_num(p, o, "ephemeral_1h_input_tokens", &b);
		if (ha || hb) {
			p->split_5m = a;
			p->split_1h = b;
		}
	}
	if ((o = usage_json_obj(usage, "server_tool_use")) != NULL &&
	    usage_num(p, o, "web_search_requests", &v))
		p->u.web_search_requests = v;
	if ((o = usage_json_obj(usage, "output_tokens_details")) != NULL &&
	    usage_num(p, o, "thinking_tokens", &v))
		p->u.reasoning_tokens = v;
}

static void
usage_anthropic_message(usage_parser_t *p, const cJSON *msg)
{
	if (msg == NULL)
		return;
	usage_copy_str(p->u.model, sizeof(p->u.model), usage_json_str(msg, "model"));
	usage_copy_str(p->u.request_id, sizeof(p->u.request_id), usage_json_str(msg, "id"));
	usage_anthropic(p, usage_json_obj(msg, "usage"));
}

/* ---- OpenAI ---- */

/* Chat (prompt_/completion_tokens) and Responses (input_/output_tokens)
 * usage; cached tokens are a subset of the prompt there, so subtract. */
static void
usage_openai(usage_parser_t *p, const cJSON *usage)
{
	int64_t in = 0, out = 0, cached = 0, reason = 0;
	const cJSON *d;
	if (usage == NULL || !usage_metered(p))
		return;
	if (!usage_num(p, usage, "prompt_tokens", &in))
		usage_num(p, usage, "input_tokens", &in);
	if (!usage_num(p, usage, "completion_tokens", &out))
		usage_num(p, usage, "output_tokens", &out);
	if ((d = usage_json_obj(usage, "prompt_tokens_details")) != NULL ||
	    (d = usage_json_obj(usage, "input_tokens_details")) != NULL)
		usage_num(p, d, "cached_tokens", &cached);
	if ((d = usage_json_obj(usage, "completion_tokens_details")) != NULL ||
	    (d = usage_json_obj(usage, "output_tokens_details")) != NULL)
		usage_num(p, d, "reasoning_tokens", &reason);
	if (cached > in)
		cached = in;
	p->u.has_usage = 1;
	p->u.complete = 1;
	p->u.input_tokens = in - cached;
	p->u.cache_read_tokens = cached;
	p->u.output_tokens = out;
	p->u.reasoning_tokens = reason;
}

static void
usage_openai_ids(usage_parser_t *p, const cJSON *o)
{
	usage_copy_str(p->u.model, sizeof(p->u.model), usage_json_str(o, "model"));
	usage_copy_str(p->u.request_id, sizeof(p->u.request_id), usage_json_str(o, "id"));
}

/* A chat.completion(.chunk): choices[].delta or .message with content. */
static void
usage_chat_choices(usage_parser_t *p, const cJSON *root)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c;
	cJSON_ArrayForEach(c, choices) {
		usage_copy_str(p->u.stop_reason, sizeof(p->u.stop_reason),
		    usage_json_str(c, "finish_reason"));
		const cJSON *m = usage_json_obj(c, "delta");
		if (m == NULL)
			m = usage_json_obj(c, "message");
		if (m == NULL)
			continue;
		static const char *const keys[] = { "content", "tool_calls",
		    "reasoning_content", "refusal", "function_call" };
		for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[i]);
			if (v == NULL || cJSON_IsNull(v))
				continue;
			if (cJSON_IsString(v) && v->valuestring[0] == '\0')
				continue;
			p->saw_content = p->saw_delta = 1;
		}
	}
}

/* A Responses output item the client runs (a function, shell or patch
 * call), not one the provider ran itself (web_search_call...). */
static void
usage_responses_item(usage_parser_t *p, const cJSON *item)
{
	static const char *const client[] = { "function_call", "custom_tool_call",
	    "local_shell_call", "shell_call", "apply_patch_call", "computer_call" };
	const char *t = usage_json_str(item, "type");
	for (size_t i = 0; t != NULL && i < UTIL_ARRAY_LEN(client); i++)
		if (strcmp(t, client[i]) == 0)
			p->saw_tool_call = 1;
}

/* A finished Responses response: its items and status as a stop reason. */
static void
usage_responses_stop(usage_parser_t *p, const cJSON *r)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r, "output"))
		usage_responses_item(p, item);
	const char *status = usage_json_str(r, "status");
	if (status == NULL || strcmp(status, "in_progress") == 0 || strcmp(status, "queued") == 0)
		return;
	snprintf(p->u.stop_reason, sizeof(p->u.stop_reason), "%s",
	    p->saw_tool_call && strcmp(status, "completed") == 0 ? "tool_calls" : status);
}

static void
usage_responses_event(usage_parser_t *p, const char *type, const cJSON *root)
{
	const cJSON *r = usage_json_obj(root, "response");
	if (r != NULL)
		usage_openai_ids(p, r);
	if (strcmp(type, "response.completed") == 0 ||
	    strcmp(type, "response.incomplete") == 0 ||
	    strcmp(type, "response.failed") == 0) {
		if (r != NULL) {
			usage_openai(p, usage_json_obj(r, "usage"));
			usage_responses_stop(p, r);
		}
		if (strcmp(type, "response.failed") == 0) {
			const cJSON *e = r != NULL ? usage_json_obj(r, "error") : NULL;
			const char *code = e != NULL ? usage_json_str(e, "code") : NULL;
			usage_set_error(p, code != NULL ? code : "response_failed");
		}
		return;
	}
	if (strcmp(type, "response.output_item.added") == 0 ||
	    strcmp(type, "response.content_part.added") == 0) {
		p->saw_content = 1;
		usage_responses_item(p, usage_json_obj(root, "item"));
		return;
	}
	if (strcmp(type, "response.output_item.done") == 0)
		usage_responses_item(p, usage_json_obj(root, "item"));
	size_t n = strlen(type);
	if (n > 6 && strcmp(type + n - 6, ".delta") == 0)
		p->saw_content = p->saw_delta = 1;
}

/* ---- one JSON document (an SSE event's data, or a whole body) ---- */

static void
usage_handle_json(usage_parser_t *p, const cJSON *root)
{
	if (!cJSON_IsObject(root))
		return;
	const char *type = usage_json_str(root, "type");
	const char *object = usage_json_str(root, "object");

	if (type == NULL) {
		if (object != NULL && strncmp(object, "chat.completion", 15) == 0) {
			usage_openai_ids(p, root);
			usage_chat_choices(p, root);
			usage_openai(p, usage_json_obj(root, "usage"));
		} else if (object != NULL && strcmp(object, "response") == 0) {
			usage_openai_ids(p, root);
			usage_openai(p, usage_json_obj(root, "usage"));
			usage_responses_stop(p, root);
		} else if (usage_json_obj(root, "error") != NULL) {
			usage_read_error(p, root);
		} else if (cJSON_GetObjectItemCaseSensitive(root, "choices") != NULL) {
			usage_openai_ids(p, root);   /* chat chunk without "object" */
			usage_chat_choices(p, root);
			usage_openai(p, usage_json_obj(root, "usage"));
		}
		return;
	}
	if (strcmp(type, "message_start") == 0) {
		usage_anthropic_message(p, usage_json_obj(root, "message"));
	} else if (strcmp(type, "message_delta") == 0) {
		const cJSON *d = usage_json_obj(root, "delta");
		if (d != NULL)
			usage_copy_str(p->u.stop_reason, sizeof(p->u.stop_reason),
			    usage_json_str(d, "stop_reason"));
		const cJSON *u = usage_json_obj(root, "usage");
		usage_anthropic(p, u);
		if (u != NULL && usage_metered(p))
			p->u.complete = 1;
	} else if (strcmp(type, "content_block_start") == 0) {
		p->saw_content = 1;
	} else if (strcmp(type, "content_block_delta") == 0) {
		p->saw_content = p->saw_delta = 1;
	} else if (strcmp(type, "message") == 0) {
		/* non-streaming Anthropic body */
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
		if (cJSON_GetArraySize(content) > 0)
			p->saw_content = p->saw_delta = 1;
		usage_anthropic_message(p, root);
		usage_copy_str(p->u.stop_reason, sizeof(p->u.stop_reason),
		    usage_json_str(root, "stop_reason"));
		if (usage_json_obj(root, "usage") != NULL && usage_metered(p))
			p->u.complete = 1;
	} else if (strcmp(type, "error") == 0) {
		usage_read_error(p, root);
	} else if (strcmp(type, "response") == 0 || strncmp(type, "response.", 9) == 0) {
		usage_responses_event(p, type, root);
	}
	/* ping, message_stop, content_block_stop, unknown: nothing to read */
}

/* ---- SSE ---- */

/* Event names whose data need not be parsed: they only mark content and
 * are by far the most frequent. */
static int
usage_fast_event(usage_parser_t *p, const char *name)
{
	if (strcmp(name, "content_block_delta") == 0) {
		p->saw_content = p->saw_delta = 1;
		return 1;
	}
	if (strcmp(name, "ping") == 0)
		return 1;
	size_t n = strlen(name);
	if (strncmp(name, "response.", 9) == 0 && n > 6 && strcmp(name + n - 6, ".delta") == 0) {
		p->saw_content = p->saw_delta = 1;
		return 1;
	}
	return 0;
}

static void
usage_sse_event(void *user, const struct sse_event *ev)
{
	usage_parser_t *p = user;
	if (!ev->has_data || ev->overflow || usage_fast_event(p, ev->name))
		return;
	if (ev->len == 6 && memcmp(ev->data, "[DONE]", 6) == 0)
		return;         /* end of an OpenAI chat stream: nothing to read */
	cJSON *root = cJSON_ParseWithLength(ev->data, ev->len);
	if (root != NULL)
		usage_handle_json(p, root);
	else
		log_debug("usage: unparseable SSE data (%zu bytes)", ev->len);
	cJSON_Delete(root);
}

/* ---- JSON body ---- */

static void
usage_json_feed(usage_parser_t *p, const char *data, size_t len)
{
	if (p->body_overflow)
		return;
	if (p->body.len + len > USAGE_JSON_CAP) {
		p->body_overflow = 1;
		log_debug("usage: JSON body over %u bytes, not parsed", USAGE_JSON_CAP);
		return;
	}
	buf_append(&p->body, data, len);
	p->body_dirty = 1;
}

static void
usage_json_parse_body(usage_parser_t *p)
{
	if (!p->body_dirty || p->body_overflow)
		return;
	p->body_dirty = 0;
	cJSON *root = cJSON_ParseWithLength(p->body.data, p->body.len);
	if (root != NULL)
		usage_handle_json(p, root);
	cJSON_Delete(root);
}

void
usage_parser_feed(usage_parser_t *p, const char *data, size_t len)
{
	if (p == NULL || data == NULL || len == 0)
		return;
	if (p->streaming && !p->sniffed) {
		/* A streaming request can still get a JSON body (an error
		 * status): if the first non-blank byte is '{', read it as JSON. */
		size_t i = 0;
		while (i < len && (data[i] == ' ' || data[i] == '\t' ||
		    data[i] == '\r' || data[i] == '\n'))
			i++;
		if (i < len) {
			p->sniffed = 1;
			if (data[i] == '{')
				p->streaming = 0;
		}
	}
	if (p->streaming)
		sse_feed(&p->sse, data, len);
	else
		usage_json_feed(p, data, len);
}

void
usage_parser_result(usage_parser_t *p, struct usage *out)
{
	usage_json_parse_body(p);
	*out = p->u;
	int64_t total = p->cache_write_total;
	if (p->split_5m < 0) {
		out->cache_write_5m_tokens = total;
		out->cache_write_1h_tokens = 0;
	} else if (p->split_5m + p->split_1h == total) {
		out->cache_write_5m_tokens = p->split_5m;
		out->cache_write_1h_tokens = p->split_1h;
	} else {
		out->cache_write_1h_tokens = UTIL_MIN(p->split_1h, total);
		out->cache_write_5m_tokens = total - out->cache_write_1h_tokens;
	}
	if (out->reasoning_tokens > out->output_tokens && p->u.complete)
		out->reasoning_tokens = out->output_tokens;
}

int
usage_parser_saw_content(const usage_parser_t *p)
{
	return p != NULL && p->saw_content;
}

/* ---- paths ---- */

static int
usage_path_is(const char *path, size_t n, const char *what)
{
	size_t w = strlen(what);
	if (n == w && memcmp(path, what, w) == 0)
		return 1;
	/* with /v1 */
	return n == w + 3 && memcmp(path, "/v1", 3) == 0 && memcmp(path + 3, what, w) == 0;
}

enum api_kind
usage_api_for_path(const char *path)
{
	if (path == NULL)
		return API_UNKNOWN;
	size_t n = strcspn(path, "?#");
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (usage_path_is(path, n, "/messages"))
		return API_ANTHROPIC_MESSAGES;
	if (usage_path_is(path, n, "/messages/count_tokens"))
		return API_ANTHROPIC_COUNT_TOKENS;
	if (usage_path_is(path, n, "/chat/completions"))
		return API_OPENAI_CHAT;
	if (usage_path_is(path, n, "/responses"))
		return API_OPENAI_RESPONSES;
	return API_UNKNOWN;
}

enum usage_stop
usage_stop_kind(const char *s)
{
	static const struct { const char *name; enum usage_stop kind; } map[] = {
		{ "end_turn", USAGE_STOP_END }, { "stop_sequence", USAGE_STOP_END },
		{ "stop", USAGE_STOP_END }, { "completed", USAGE_STOP_END },
		{ "tool_use", USAGE_STOP_TOOL }, { "tool_calls", USAGE_STOP_TOOL },
		{ "function_call", USAGE_STOP_TOOL },
		{ "max_tokens", USAGE_STOP_LIMIT }, { "length", USAGE_STOP_LIMIT },
		{ "incomplete", USAGE_STOP_LIMIT },
		{ "model_context_window_exceeded", USAGE_STOP_LIMIT },
	};
	if (s == NULL || s[0] == '\0')
		return USAGE_STOP_NONE;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(map); i++)
		if (strcmp(s, map[i].name) == 0)
			return map[i].kind;
	return USAGE_STOP_OTHER;
}

int64_t
usage_total_tokens(const struct usage *u)
{
	return u->input_tokens + u->output_tokens + u->cache_read_tokens +
	    u->cache_write_5m_tokens + u->cache_write_1h_tokens;
}
