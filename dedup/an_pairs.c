/* Pairwise similarity of the dumps: contents in common, Jaccard index, and
 * what two VMs save on one host (docs/analyses.md, "Pairwise similarity"). */
#include "analysis.h"

#include <stdlib.h>

#include "common.h"

struct pair {
	size_t a, b;
	uint64_t common, a_pages, b_pages, unioned, saved_together;
	double jaccard;
};

struct pairs {
	struct pair *p;
	size_t n;
};

/* pages of a whose content b holds too */
static uint64_t pages_in_common(const struct dd_dump_data *a, const struct dd_dump_data *b)
{
	uint64_t i = 0, j = 0, p = 0;
	while (i < a->nids && j < b->nids) {
		if (a->ids[i] < b->ids[j])
			i++;
		else if (a->ids[i] > b->ids[j])
			j++;
		else {
			p += a->copies[i];
			i++;
			j++;
		}
	}
	return p;
}

/* counters: contents in common, pages of a and of b with them, per pair */
static size_t pairs_nsum(const void *st, size_t n)
{
	(void)st;
	return 3 * (n * (n - (n > 0)) / 2);
}

static int pairs_part(void *st, const struct dd_an_input *in, uint64_t *sum, void **rec, size_t *nrec, char *err,
		      size_t errlen)
{
	(void)st;
	(void)rec;
	(void)nrec;
	(void)err;
	(void)errlen;
	const struct dd_engine *e = in->e;
	size_t nd = dd_engine_ndumps(e), k = 0;
	for (size_t a = 0; a < nd; a++)
		for (size_t b = a + 1; b < nd; b++, k += 3) {
			const struct dd_dump_data *x = dd_engine_dump(e, a), *y = dd_engine_dump(e, b);
			sum[k] += dd_ids_common(x->ids, x->nids, y->ids, y->nids);
			sum[k + 1] += pages_in_common(x, y);
			sum[k + 2] += pages_in_common(y, x);
		}
	return 0;
}

/* the pairs from every slice's counters and each dump's distinct contents */
static int pairs_merge(void *st, const struct dd_an_input *in, const uint64_t *sum, const void *rec, size_t nrec,
		       char *err, size_t errlen)
{
	(void)rec;
	(void)nrec;
	(void)err;
	(void)errlen;
	struct pairs *ps = st;
	size_t nd = in->n, np = nd * (nd - (nd > 0)) / 2, k = 0;
	struct pair *p = calloc(np ? np : 1, sizeof *p);
	if (!p)
		return -1;
	for (size_t a = 0; a < nd; a++)
		for (size_t b = a + 1; b < nd; b++, k++) {
			const struct dd_dump_stats *x = &in->rows[a].st, *y = &in->rows[b].st;
			struct pair *q = &p[k];
			q->a = a;
			q->b = b;
			q->common = sum[3 * k];
			q->a_pages = sum[3 * k + 1];
			q->b_pages = sum[3 * k + 2];
			q->unioned = x->distinct_pages + y->distinct_pages - q->common;
			q->jaccard = q->unioned ? (double)q->common / (double)q->unioned : 0;
			q->saved_together = x->nonzero_pages + y->nonzero_pages - q->unioned;
		}
	free(ps->p);
	ps->p = p;
	ps->n = np;
	return 0;
}

static void pairs_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct pairs *ps = st;
	if (!ps->n)
		return;
	fprintf(f, "\nPairwise similarity:\n");
	fprintf(f, "  %-20s %-20s %10s %10s %10s %8s %12s\n", "a", "b", "common", "a pages", "b pages",
		"jaccard", "saved MiB");
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->p[i];
		fprintf(f, "  %-20.20s %-20.20s %10llu %10llu %10llu %8.3f %12.1f\n",
			cm_base_name(in->names[p->a]), cm_base_name(in->names[p->b]), (unsigned long long)p->common,
			(unsigned long long)p->a_pages, (unsigned long long)p->b_pages, p->jaccard,
			cm_mib(p->saved_together * in->page_size));
	}
}

static void pairs_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct pairs *ps = st;
	fprintf(f, ",\n  \"pairs\": [");
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->p[i];
		fprintf(f, "%s\n    {", i ? "," : "");
		cm_json_path(f, "a", in->names[p->a]);
		fprintf(f, ", ");
		cm_json_path(f, "b", in->names[p->b]);
		fprintf(f,
			", \"common_contents\": %llu, \"a_pages_in_common\": %llu, \"b_pages_in_common\": %llu, "
			"\"union_contents\": %llu, \"jaccard\": %.6f, \"saved_together_pages\": %llu}",
			(unsigned long long)p->common, (unsigned long long)p->a_pages, (unsigned long long)p->b_pages,
			(unsigned long long)p->unioned, p->jaccard, (unsigned long long)p->saved_together);
	}
	fprintf(f, "%s]", ps->n ? "\n  " : "");
}

static void pairs_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct pairs *ps = st;
	fprintf(f, "\nanalysis,a,b,common_contents,a_pages_in_common,b_pages_in_common,union_contents,jaccard,"
		   "saved_together_pages\n");
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->p[i];
		fprintf(f, "pairs,");
		cm_csv_field(f, in->names[p->a]);
		fputc(',', f);
		cm_csv_field(f, in->names[p->b]);
		fprintf(f, ",%llu,%llu,%llu,%llu,%.6f,%llu\n", (unsigned long long)p->common,
			(unsigned long long)p->a_pages, (unsigned long long)p->b_pages, (unsigned long long)p->unioned,
			p->jaccard, (unsigned long long)p->saved_together);
	}
}

static void pairs_free(void *st)
{
	struct pairs *ps = st;
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

static const struct dd_an_option pairs_opts[] = { { "pairs", DD_AN_NO_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_pairs = {
	.name = "pairs", .opts = pairs_opts, .size = sizeof(struct pairs),
	.flags = DD_AN_IN_ALL, .collect = DD_COLLECT_IDS,
	.nsum = pairs_nsum, .part = pairs_part, .merge = pairs_merge, .text = pairs_text, .json = pairs_json, .csv = pairs_csv,
	.free = pairs_free,
	.help = "      --pairs           pairwise similarity of the dumps\n",
};
