/* Sharing-aware placement on K hosts of SIZE memory each (0: no limit),
 * at most ceil(V / K) dumps each, against first fit in the given order
 * (docs/analyses.md, "Placement"). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

struct placement {
	/* settings */
	size_t hosts;
	uint64_t cap_bytes;
	/* results */
	size_t *greedy_host, *naive_host;   /* per dump */
	uint64_t *greedy_mem, *naive_mem;   /* per host, bytes of distinct non-zero contents */
	uint64_t greedy_total, naive_total;
	int greedy_fits, naive_fits;
};

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

struct host {
	uint32_t *ids;
	uint64_t n;
	size_t dumps;
};

/* dumps with more distinct contents first, then in given order */
static int by_distinct_desc(const void *x, const void *y, void *arg)
{
	const struct dd_engine *e = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	uint64_t na = dd_engine_dump(e, a)->nids, nb = dd_engine_dump(e, b)->nids;
	if (na != nb)
		return na > nb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The host dump dd goes to: the least new contents (greedy) or the first
 * with room; `hosts` when none has room. */
static size_t pick_host(const struct host *h, size_t hosts, const struct dd_dump_data *dd, uint64_t cap_pages,
			size_t max_dumps, int greedy)
{
	size_t best = hosts;
	uint64_t best_new = UINT64_MAX;
	for (size_t k = 0; k < hosts; k++) {
		if (h[k].dumps >= max_dumps)
			continue;
		uint64_t common = dd_ids_common(h[k].ids, h[k].n, dd->ids, dd->nids);
		uint64_t added = dd->nids - common;
		if (cap_pages && h[k].n + added > cap_pages)
			continue;
		if (!greedy) /* first fit */
			return k;
		if (added < best_new || (added == best_new && h[k].n < h[best].n)) {
			best = k;
			best_new = added;
		}
	}
	return best;
}

static int place(const struct dd_engine *e, size_t hosts, uint64_t cap_pages, size_t max_dumps, int greedy,
		 size_t *assign, uint64_t *mem, int *fits)
{
	size_t nd = dd_engine_ndumps(e);
	struct host *h = calloc(hosts, sizeof *h);
	size_t *ord = malloc((nd ? nd : 1) * sizeof *ord);
	if (!h || !ord) {
		free(h);
		free(ord);
		return -1;
	}
	for (size_t i = 0; i < nd; i++)
		ord[i] = i;
	if (greedy)
		qsort_r(ord, nd, sizeof *ord, by_distinct_desc, (void *)(uintptr_t)e);
	*fits = 1;
	int rc = 0;
	for (size_t oi = 0; oi < nd && !rc; oi++) {
		size_t i = ord[oi];
		const struct dd_dump_data *dd = dd_engine_dump(e, i);
		size_t best = pick_host(h, hosts, dd, cap_pages, max_dumps, greedy);
		if (best == hosts) {
			/* nothing has room: the least loaded host takes it, and the plan does not fit */
			*fits = 0;
			best = 0;
			for (size_t k = 1; k < hosts; k++)
				if (h[k].dumps < h[best].dumps || (h[k].dumps == h[best].dumps && h[k].n < h[best].n))
					best = k;
		}
		uint64_t n2;
		uint32_t *u = dd_ids_union(h[best].ids, h[best].n, dd->ids, dd->nids, &n2);
		if (!u) {
			rc = -1;
			break;
		}
		free(h[best].ids);
		h[best].ids = u;
		h[best].n = n2;
		h[best].dumps++;
		assign[i] = best;
	}
	for (size_t k = 0; k < hosts; k++) {
		mem[k] = h[k].n;
		free(h[k].ids);
	}
	free(h);
	free(ord);
	return rc;
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
	p->greedy_host = calloc(nd ? nd : 1, sizeof *p->greedy_host);
	p->naive_host = calloc(nd ? nd : 1, sizeof *p->naive_host);
	p->greedy_mem = calloc(hosts, sizeof *p->greedy_mem);
	p->naive_mem = calloc(hosts, sizeof *p->naive_mem);
	if (!p->greedy_host || !p->naive_host || !p->greedy_mem || !p->naive_mem)
		return -1;
	size_t max_dumps = (nd + hosts - 1) / hosts;
	uint64_t cap_pages = p->cap_bytes / ps;
	if (p->cap_bytes && !cap_pages)
		cap_pages = 1;
	if (place(in->e, hosts, cap_pages, max_dumps, 1, p->greedy_host, p->greedy_mem, &p->greedy_fits) ||
	    place(in->e, hosts, cap_pages, max_dumps, 0, p->naive_host, p->naive_mem, &p->naive_fits))
		return -1;
	for (size_t k = 0; k < hosts; k++) {
		p->greedy_mem[k] *= ps;
		p->naive_mem[k] *= ps;
		p->greedy_total += p->greedy_mem[k];
		p->naive_total += p->naive_mem[k];
	}
	return 0;
}

static void place_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	fprintf(f, "\nPlacement on %zu hosts", p->hosts);
	if (p->cap_bytes)
		fprintf(f, " of %.1f MiB", cm_mib(p->cap_bytes));
	fprintf(f, " (memory = distinct non-zero contents per host):\n");
	for (int g = 0; g < 2; g++) {
		const size_t *as = g ? p->naive_host : p->greedy_host;
		const uint64_t *mem = g ? p->naive_mem : p->greedy_mem;
		fprintf(f, "  %s: %.1f MiB%s\n", g ? "first fit in given order" : "sharing-aware greedy",
			cm_mib(g ? p->naive_total : p->greedy_total),
			(g ? p->naive_fits : p->greedy_fits) ? "" : "  (does not fit the capacity)");
		for (size_t h = 0; h < p->hosts; h++) {
			fprintf(f, "    host %zu: %8.1f MiB:", h, cm_mib(mem[h]));
			for (size_t i = 0; i < in->n; i++)
				if (as[i] == h)
					fprintf(f, " %s", cm_base_name(in->names[i]));
			fprintf(f, "\n");
		}
	}
	fprintf(f, "  greedy saves %.1f MiB against first fit\n",
		(double)((int64_t)p->naive_total - (int64_t)p->greedy_total) / 1048576.0);
}

static void place_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	fprintf(f, ",\n  \"placement\": {\"hosts\": %zu, \"capacity_bytes\": %llu", p->hosts,
		(unsigned long long)p->cap_bytes);
	for (int g = 0; g < 2; g++) {
		const size_t *as = g ? p->naive_host : p->greedy_host;
		const uint64_t *mem = g ? p->naive_mem : p->greedy_mem;
		fprintf(f, ", \"%s\": {\"memory_bytes\": %llu, \"fits\": %s, \"hosts\": [", g ? "first_fit" : "greedy",
			(unsigned long long)(g ? p->naive_total : p->greedy_total),
			(g ? p->naive_fits : p->greedy_fits) ? "true" : "false");
		for (size_t h = 0; h < p->hosts; h++) {
			fprintf(f, "%s{\"memory_bytes\": %llu, \"dumps\": [", h ? ", " : "", (unsigned long long)mem[h]);
			int first = 1;
			for (size_t i = 0; i < in->n; i++)
				if (as[i] == h) {
					fprintf(f, "%s", first ? "" : ", ");
					cm_json_string(f, in->names[i]);
					first = 0;
				}
			fprintf(f, "]}");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "}");
}

static void place_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct placement *p = st;
	fprintf(f, "\nanalysis,strategy,dump,host,host_memory_bytes\n");
	for (int g = 0; g < 2; g++)
		for (size_t i = 0; i < in->n; i++) {
			size_t h = g ? p->naive_host[i] : p->greedy_host[i];
			fprintf(f, "placement,%s,", g ? "first_fit" : "greedy");
			cm_csv_field(f, in->names[i]);
			fprintf(f, ",%zu,%llu\n", h, (unsigned long long)(g ? p->naive_mem[h] : p->greedy_mem[h]));
		}
}

static void place_free(void *st)
{
	struct placement *p = st;
	free(p->greedy_host);
	free(p->naive_host);
	free(p->greedy_mem);
	free(p->naive_mem);
	p->greedy_host = p->naive_host = NULL;
	p->greedy_mem = p->naive_mem = NULL;
}

static const struct dd_an_option place_opts[] = { { "hosts", DD_AN_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_placement = {
	.name = "placement", .opts = place_opts, .size = sizeof(struct placement),
	.collect = DD_COLLECT_IDS,
	.option = place_option, .compute = place_compute, .text = place_text, .json = place_json,
	.csv = place_csv, .free = place_free,
	.help = "      --hosts=K[:SIZE]  sharing-aware placement on K hosts of SIZE memory each\n",
};
