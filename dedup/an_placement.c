/* Placement on K hosts of SIZE memory each (0: no limit), at most
 * ceil(V / K) dumps each: the sharing-aware plan against first fit in the
 * given order, and the lower bound (docs/analyses.md, "Placement"; the
 * search itself: place.c). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "place.h"

/* list steps the local search may take (a few seconds at most) */
#define PLACE_BUDGET 2000000000ull

enum { SHARED, FIRST_FIT, NPLANS };

struct placement {
	/* settings */
	size_t hosts;
	uint64_t cap_bytes;
	/* results */
	size_t max_dumps;
	uint64_t lower_bytes; /* all dumps on one host: minimum RAM */
	struct dd_place_out plan[NPLANS];
};

static const char *const plan_key[NPLANS] = { "greedy", "first_fit" };

static const char *place_option(void *st, size_t i, const char *arg)
{
	(void)i;
	struct placement *p = st;
	static const char *const bad_k = "invalid --hosts '%s': K, the number of hosts, must be 1..100000 "
					 "(K or K:SIZE, e.g. 4:16G)";
	static const char *const bad_size = "invalid --hosts '%s': SIZE after the colon must be a memory size "
					    "such as 512M or 16G (K or K:SIZE)";
	const char *colon = strchr(arg, ':');
	char k[32];
	size_t klen = colon ? (size_t)(colon - arg) : strlen(arg);
	uint64_t v;
	if (klen >= sizeof k)
		return bad_k;
	memcpy(k, arg, klen);
	k[klen] = 0;
	if (!cm_parse_u64(k, &v) || v == 0 || v > 100000)
		return bad_k;
	if (colon && !cm_parse_size(colon + 1, &p->cap_bytes))
		return bad_size;
	p->hosts = (size_t)v;
	return NULL;
}

/* per dump: contents some other dump holds too (an order of the search) */
static uint64_t *shared_counts(const struct dd_engine *e, size_t nd)
{
	uint64_t *sh = calloc(nd ? nd : 1, sizeof *sh);
	const struct dd_table *t = dd_engine_table(e);
	for (size_t i = 0; sh && i < nd; i++) {
		const struct dd_dump_data *dd = dd_engine_dump(e, i);
		for (uint64_t k = 0; k < dd->nids; k++)
			sh[i] += dd_table_get(t, dd->ids[k])->ndumps > 1;
	}
	return sh;
}

static int place_compute(void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct placement *p = st;
	size_t nd = dd_engine_ndumps(in->e), hosts = p->hosts;
	uint32_t ps = in->page_size;
	if (hosts == 0)
		return -1;
	struct dd_totals t;
	char why[8];
	dd_engine_totals(in->e, &t, why, sizeof why);
	p->lower_bytes = t.distinct_pages * (uint64_t)ps;
	p->max_dumps = (nd + hosts - 1) / hosts;
	const uint32_t **ids = malloc((nd ? nd : 1) * sizeof *ids);
	uint64_t *nids = malloc((nd ? nd : 1) * sizeof *nids), *shared = shared_counts(in->e, nd);
	int rc = ids && nids && shared ? 0 : -1;
	for (size_t i = 0; !rc && i < nd; i++) {
		ids[i] = dd_engine_dump(in->e, i)->ids;
		nids[i] = dd_engine_dump(in->e, i)->nids;
	}
	struct dd_place_in pin = { .ids = ids, .nids = nids, .shared = shared, .n = nd, .hosts = hosts,
				   .max_dumps = p->max_dumps, .cap = p->cap_bytes / ps, .budget = PLACE_BUDGET };
	if (p->cap_bytes && !pin.cap)
		pin.cap = 1;
	for (int g = 0; g < NPLANS && !rc; g++) {
		p->plan[g].host = calloc(nd ? nd : 1, sizeof *p->plan[g].host);
		p->plan[g].pages = calloc(hosts, sizeof *p->plan[g].pages);
		if (!p->plan[g].host || !p->plan[g].pages)
			rc = -1;
	}
	if (!rc)
		rc = dd_place_first_fit(&pin, &p->plan[FIRST_FIT]) || dd_place_shared(&pin, &p->plan[SHARED]) ? -1 : 0;
	free(ids);
	free(nids);
	free(shared);
	return rc;
}

static uint64_t host_bytes(const struct dd_place_out *o, size_t h, uint32_t ps)
{
	return o->pages[h] * (uint64_t)ps;
}

static int host_fits(const struct placement *p, const struct dd_place_out *o, size_t h, uint32_t ps)
{
	return !p->cap_bytes || host_bytes(o, h, ps) <= p->cap_bytes;
}

/* memory above the lower bound, "+X MiB (Y %)" */
static void above_text(FILE *f, const struct placement *p, uint64_t total)
{
	fprintf(f, "+%.1f MiB (%.1f%%) over the lower bound", cm_mib(total - p->lower_bytes),
		p->lower_bytes ? 100.0 * (double)(total - p->lower_bytes) / (double)p->lower_bytes : 0.0);
}

static void plan_text(FILE *f, const struct placement *p, int g, const struct dd_an_input *in)
{
	const struct dd_place_out *o = &p->plan[g];
	uint64_t total = o->total * in->page_size;
	fprintf(f, "  %s: %.1f MiB (%llu pages), ", g == SHARED ? "sharing-aware" : "first fit in given order",
		cm_mib(total), (unsigned long long)o->total);
	above_text(f, p, total);
	if (o->overflow)
		fprintf(f, "; does not fit: %.1f MiB over capacity", cm_mib(o->overflow * in->page_size));
	fprintf(f, "\n");
	if (g == SHARED)
		fprintf(f, "    (greedy from %s, %.1f MiB; local search: %llu moves, %llu swaps%s)\n",
			dd_place_start_name(o->start), cm_mib(o->start_total * in->page_size),
			(unsigned long long)o->moves, (unsigned long long)o->swaps,
			o->complete ? "" : ", stopped at its step budget");
	for (size_t h = 0; h < p->hosts; h++) {
		fprintf(f, "    host %zu: %8.1f MiB%s:", h, cm_mib(host_bytes(o, h, in->page_size)),
			host_fits(p, o, h, in->page_size) ? "" : " (over capacity)");
		for (size_t i = 0; i < in->n; i++)
			if (o->host[i] == h)
				fprintf(f, " %s", cm_base_name(in->names[i]));
		fprintf(f, "\n");
	}
}

static void place_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	fprintf(f, "\nPlacement on %zu host%s", p->hosts, p->hosts == 1 ? "" : "s");
	if (p->cap_bytes)
		fprintf(f, " of %.1f MiB", cm_mib(p->cap_bytes));
	fprintf(f, ", at most %zu dump%s each (memory = distinct non-zero contents per host):\n", p->max_dumps,
		p->max_dumps == 1 ? "" : "s");
	fprintf(f, "  lower bound: %.1f MiB (%llu pages; all dumps on one host = minimum RAM)\n", cm_mib(p->lower_bytes),
		(unsigned long long)(p->lower_bytes / in->page_size));
	for (int g = 0; g < NPLANS; g++)
		plan_text(f, p, g, in);
	int64_t saved = (int64_t)p->plan[FIRST_FIT].total - (int64_t)p->plan[SHARED].total;
	fprintf(f, "  sharing-aware saves %.1f MiB (%lld pages) against first fit\n",
		(double)saved * in->page_size / 1048576.0, (long long)saved);
}

static void plan_json(FILE *f, const struct placement *p, int g, const struct dd_an_input *in)
{
	const struct dd_place_out *o = &p->plan[g];
	uint32_t ps = in->page_size;
	fprintf(f, ", \"%s\": {\"memory_bytes\": %llu, \"fits\": %s, \"above_lower_bound_bytes\": %llu, "
		   "\"over_capacity_bytes\": %llu", plan_key[g], (unsigned long long)(o->total * ps),
		o->overflow ? "false" : "true", (unsigned long long)(o->total * ps - p->lower_bytes),
		(unsigned long long)(o->overflow * ps));
	if (g == SHARED)
		fprintf(f, ", \"start\": \"%s\", \"start_memory_bytes\": %llu, \"moves\": %llu, \"swaps\": %llu, "
			   "\"local_search_complete\": %s", dd_place_start_name(o->start),
			(unsigned long long)(o->start_total * ps), (unsigned long long)o->moves,
			(unsigned long long)o->swaps, o->complete ? "true" : "false");
	fprintf(f, ", \"hosts\": [");
	for (size_t h = 0; h < p->hosts; h++) {
		fprintf(f, "%s{\"memory_bytes\": %llu, \"fits\": %s, \"dumps\": [", h ? ", " : "",
			(unsigned long long)host_bytes(o, h, ps), host_fits(p, o, h, ps) ? "true" : "false");
		int first = 1;
		for (size_t i = 0; i < in->n; i++)
			if (o->host[i] == h) {
				fprintf(f, "%s", first ? "" : ", ");
				cm_json_string(f, in->names[i]);
				first = 0;
			}
		fprintf(f, "]}");
	}
	fprintf(f, "]}");
}

static void place_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	fprintf(f, ",\n  \"placement\": {\"hosts\": %zu, \"capacity_bytes\": %llu, \"max_dumps_per_host\": %zu, "
		   "\"lower_bound_bytes\": %llu", p->hosts, (unsigned long long)p->cap_bytes, p->max_dumps,
		(unsigned long long)p->lower_bytes);
	for (int g = 0; g < NPLANS; g++)
		plan_json(f, p, g, in);
	fprintf(f, "}");
}

static void place_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	uint32_t ps = in->page_size;
	fprintf(f, "\nanalysis,strategy,dump,host,host_memory_bytes,capacity_bytes,host_fits,strategy_memory_bytes,"
		   "strategy_fits,lower_bound_bytes\n");
	for (int g = 0; g < NPLANS; g++) {
		const struct dd_place_out *o = &p->plan[g];
		for (size_t i = 0; i < in->n; i++) {
			size_t h = o->host[i];
			fprintf(f, "placement,%s,", plan_key[g]);
			cm_csv_field(f, in->names[i]);
			fprintf(f, ",%zu,%llu,%llu,%d,%llu,%d,%llu\n", h, (unsigned long long)host_bytes(o, h, ps),
				(unsigned long long)p->cap_bytes, host_fits(p, o, h, ps), (unsigned long long)(o->total * ps),
				o->overflow == 0, (unsigned long long)p->lower_bytes);
		}
	}
}

static void place_free(void *st)
{
	struct placement *p = st;
	for (int g = 0; g < NPLANS; g++) {
		free(p->plan[g].host);
		free(p->plan[g].pages);
		p->plan[g].host = NULL;
		p->plan[g].pages = NULL;
	}
}

static const struct dd_an_option place_opts[] = { { "hosts", DD_AN_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_placement = {
	.name = "placement", .opts = place_opts, .size = sizeof(struct placement),
	.collect = DD_COLLECT_IDS,
	.option = place_option, .compute = place_compute, .text = place_text, .json = place_json,
	.csv = place_csv, .free = place_free,
	.help = "      --hosts=K[:SIZE]  place the dumps on K hosts of SIZE memory each: sharing-aware\n"
		"                        plan, first fit and the lower bound\n",
};
