/*
 * meter: owns turning a finished request into its cost and records: the
 * model it is billed as, the price, the one-line error, the stats result,
 * the /metrics request count, the ledger record and the policy's settle.
 * Called once per metered request by the connection thread that served it.
 */
#include "meter.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *
meter_api_name(enum api_kind api)
{
	switch (api) {
	case API_ANTHROPIC_MESSAGES:
	case API_ANTHROPIC_COUNT_TOKENS:
		return "anthropic";
	case API_OPENAI_CHAT:
		return "openai-chat";
	case API_OPENAI_RESPONSES:
		return "openai-responses";
	default:
		return "other";
	}
}

void
meter_begin_agent(const struct meter *m, int stats_route, int64_t reserved_micros,
    const char *subagent)
{
	if (m->stats != NULL && stats_route >= 0)
		stats_begin_agent(m->stats, stats_route, reserved_micros, subagent);
}

void
meter_begin(const struct meter *m, int stats_route, int64_t reserved_micros)
{
	meter_begin_agent(m, stats_route, reserved_micros, NULL);
}

/* "" as NULL: the ledger leaves the field out. */
static const char *
meter_opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* What one finished request comes to. */
struct meter_bill {
	const char *model;          /* billed as: the response's model, else the asked one */
	int64_t cost_micros;
	int priced;
	const char *request_id;
	const char *error;          /* NULL if none */
};

static void
meter_bill(const struct meter *m, const struct meter_request *q, struct meter_bill *b)
{
	const struct usage *u = q->usage;
	b->model = u->model[0] ? u->model : q->model_asked;
	b->cost_micros = 0;
	b->priced = 1;
	if (u->has_usage && q->api != API_ANTHROPIC_COUNT_TOKENS)
		b->priced = m->pricing != NULL &&
		    pricing_cost(m->pricing, b->model, u, &b->cost_micros) == 0;
	b->request_id = q->request_id[0] ? q->request_id : u->request_id;
	/* An overloaded_error inside a 200 stream: stats counts it as a 529
	 * from usage.error_type; n529 stays the count of HTTP 529s. */
	b->error = q->error[0] ? q->error : u->error_type[0] ? u->error_type :
	    q->cut[0] ? q->cut : NULL;
}

static void
meter_stats(const struct meter *m, const struct meter_request *q, const struct meter_bill *b)
{
	const struct gateway_call *call = q->call;
	if (m->stats == NULL || q->stats_route < 0)
		return;
	const struct gateway_call *c = q->call;
	struct stats_result sr = {
		.route = q->stats_route, .status = q->status, .model_used = b->model,
		.usage = *q->usage, .cost_micros = b->cost_micros, .priced = b->priced,
		.n429 = c->n429, .n529 = c->n529, .retries = c->attempt, .fallbacks = c->fallbacks,
		.refused = q->refused, .error = b->error, .model_asked = q->model_asked,
		.stop_reason = q->usage->stop_reason, .session = meter_opt(q->agent_session),
		.subagent = meter_opt(q->subagent), .key_hash = q->key_hash,
		.out_limit = call->out_limit, .clamped_from = call->clamped_from,
		.helper = q->helper,
	};
	stats_end(m->stats, &sr, c->reserved_micros);
}

static void
meter_ledger(const struct meter *m, const struct meter_request *q, const struct meter_bill *b,
    int64_t charged)
{
	if (m->ledger == NULL)
		return;
	const struct gateway_call *c = q->call;
	struct ledger_record lr = {
		.time = util_wall(), .pane = q->route + 1, .pane_name = q->route_name,
		.agent = q->agent, .branch = q->branch, .worktree = q->worktree, .key_hash = q->key_hash, .api = meter_api_name(q->api),
		.model_asked = q->model_asked, .model_used = b->model, .usage = *q->usage,
		.cost_micros = b->cost_micros, .priced = b->priced, .status = q->status,
		.retries = c->attempt, .fallbacks = c->fallbacks, .n429 = c->n429, .n529 = c->n529,
		.latency_ms = util_now_ms() - q->started_ms, .request_id = b->request_id,
		.error = b->error, .circuit = c->circuit, .session = m->session,
		.refused = q->refused, .agent_session = meter_opt(q->agent_session),
		.subagent = meter_opt(q->subagent), .stop_reason = meter_opt(q->usage->stop_reason),
		.reserved_micros = q->refused ? 0 : c->reserved_micros, .charged_micros = charged,
		.max_tokens = q->refused ? 0 : c->out_limit,
		.clamped_from = q->refused ? 0 : c->clamped_from,
		.id = q->id != NULL && q->id[0] != '\0' ? q->id : NULL,
	};
	if (ledger_append(m->ledger, &lr) != 0)
		log_debug("meter: ledger append failed");
}

void
meter_intent(const struct meter *m, const struct meter_request *q, char id[LEDGER_ID_LEN + 1])
{
	id[0] = '\0';
	if (m->ledger == NULL)
		return;
	const struct gateway_call *c = q->call;
	struct ledger_record lr = {
		.time = util_wall(), .pane = q->route + 1, .pane_name = q->route_name,
		.agent = q->agent, .branch = q->branch, .worktree = q->worktree,
		.key_hash = q->key_hash, .api = meter_api_name(q->api),
		.model_asked = q->model_asked, .session = m->session,
		.agent_session = meter_opt(q->agent_session), .subagent = meter_opt(q->subagent),
		.reserved_micros = c->reserved_micros, .max_tokens = c->out_limit,
		.clamped_from = c->clamped_from,
	};
	if (ledger_intent(m->ledger, &lr, id) != 0)
		log_debug("meter: ledger intent held");
}

void
meter_finish(const struct meter *m, const struct meter_request *q)
{
	struct meter_bill b;
	meter_bill(m, q, &b);
	struct gateway_outcome o = {
		.status = q->status, .model_used = b.model, .usage = q->usage,
		.cost_micros = b.cost_micros, .priced = b.priced, .client_gone = q->client_gone,
		.no_reply = q->no_reply, .charged_micros = b.cost_micros,
	};
	const struct gateway_policy *pol = m->policy;
	if (q->refused)
		o.charged_micros = 0;
	else if (pol != NULL && pol->charge != NULL)
		o.charged_micros = pol->charge(pol->user, q->call, &o);
	meter_stats(m, q, &b);
	if (m->metrics != NULL) {
		struct metrics_request mr = {
			.route = q->route, .model = b.model, .refused = q->refused, .usage = q->usage,
			.cost_micros = b.cost_micros, .added_us = q->added_us, .ttfb_us = q->ttfb_us,
		};
		metrics_count(m->metrics, &mr);
	}
	meter_ledger(m, q, &b, o.charged_micros);
	/* Last, so that when the policy hears of it everything is recorded. */
	if (!q->refused && pol != NULL && pol->settle != NULL)
		pol->settle(pol->user, q->call, &o);
}
