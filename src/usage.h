/*
 * usage: reads token usage out of a copy of a provider response, fed in
 * arbitrary chunks as they stream past: Anthropic Messages (SSE and JSON),
 * OpenAI Chat Completions and Responses (SSE and JSON). Also spots error
 * events inside a 200 stream (e.g. overloaded_error).
 *
 * Normalised counts: input_tokens is always the UNCACHED input. For OpenAI,
 * where cached tokens are a subset of prompt/input tokens, the parser
 * subtracts them so that input + cache_read is the provider's total.
 */
#ifndef TOKMUX_USAGE_H
#define TOKMUX_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum api_kind {
	API_UNKNOWN = 0,
	API_ANTHROPIC_MESSAGES,       /* POST /v1/messages */
	API_ANTHROPIC_COUNT_TOKENS,   /* POST /v1/messages/count_tokens: never metered */
	API_OPENAI_CHAT,              /* POST /v1/chat/completions */
	API_OPENAI_RESPONSES,         /* POST /v1/responses */
};

#define USAGE_BAD_INPUT 1   /* input, cache or tool figures */
#define USAGE_BAD_OUTPUT 2  /* output (reasoning, thinking) figures */

struct usage {
	int64_t input_tokens;          /* uncached input */
	int64_t output_tokens;         /* incl. thinking/reasoning */
	int64_t cache_read_tokens;
	int64_t cache_write_5m_tokens;
	int64_t cache_write_1h_tokens;
	int64_t reasoning_tokens;      /* informational, already in output */
	int64_t web_search_requests;
	char model[MODEL_ID_MAX];      /* model the provider reported, "" if none */
	char request_id[96];           /* id from the body (msg_..., chatcmpl-..., resp_...) */
	int has_usage;                 /* any usage seen */
	int complete;                  /* final usage seen (message_delta / response.completed / final chunk) */
	char error_type[48];           /* error inside the body/stream, e.g. "overloaded_error"; "" if none */
	int error_before_content;      /* that error came before any content event */
	char stop_reason[24];          /* why the model stopped, as the provider says it
	                                * (end_turn, tool_use, stop, tool_calls, length...);
	                                * Responses: "tool_calls" when a client tool call was
	                                * output, else "completed" / "incomplete"; "" unknown */
	int malformed;                 /* USAGE_BAD_*: a figure was there but not a token
	                                * count (a string, negative, fractional); it reads 0 */
};

/* What a stop reason means for the agent's turn. */
enum usage_stop {
	USAGE_STOP_NONE,     /* unknown, or the response did not finish */
	USAGE_STOP_END,      /* the model ended its turn: end_turn, stop_sequence, stop, completed */
	USAGE_STOP_TOOL,     /* it asked for a tool call the agent runs: tool_use, tool_calls */
	USAGE_STOP_LIMIT,    /* cut by the output limit: max_tokens, length, incomplete */
	USAGE_STOP_OTHER,    /* anything else (pause_turn, refusal, content_filter...) */
};
enum usage_stop usage_stop_kind(const char *stop_reason);

typedef struct usage_parser usage_parser_t;

/* streaming: 1 if the response is text/event-stream, 0 for a JSON body. */
usage_parser_t *usage_parser_new(enum api_kind kind, int streaming);
void usage_parser_free(usage_parser_t *p);
/* Feed response body bytes in any chunking. Never fails; malformed input is ignored. */
void usage_parser_feed(usage_parser_t *p, const char *data, size_t len);
/* Usage so far (call at any time; after the last feed for the final figure). */
void usage_parser_result(usage_parser_t *p, struct usage *out);
/* 1 once any content (text/tool delta, choice delta, output item) was seen. */
int usage_parser_saw_content(const usage_parser_t *p);

/* Classify a request path (after the /p/<token> prefix, with or without
 * /v1) into an api_kind. */
enum api_kind usage_api_for_path(const char *path);

/* Total tokens of a usage (input + output + cache read + cache writes). */
int64_t usage_total_tokens(const struct usage *u);

#endif
