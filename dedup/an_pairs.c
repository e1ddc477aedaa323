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

static int pairs_compute(void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct pairs *ps = st;
	const struct dd_engine *e = in->e;
	size_t nd = dd_engine_ndumps(e), np = nd * (nd - (nd > 0)) / 2, k = 0;
	struct pair *p = calloc(np ? np : 1, sizeof *p);
	if (!p)
		return -1;
	for (size_t a = 0; a < nd; a++)
		for (size_t b = a + 1; b < nd; b++, k++) {
			const struct dd_dump_data *x = dd_engine_dump(e, a), *y = dd_engine_dump(e, b);
			struct pair *q = &p[k];
			q->a = a;
			q->b = b;
			q->common = dd_ids_common(x->ids, x->nids, y->ids, y->nids);
			q->a_pages = pages_in_common(x, y);
			q->b_pages = pages_in_common(y, x);
			q->unioned = x->nids + y->nids - q->common;
			q->jaccard = q->unioned ? (double)q->common / (double)q->unioned : 0;
			q->saved_together = x->st.nonzero_pages + y->st.nonzero_pages - q->unioned;
		}
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
	.compute = pairs_compute, .text = pairs_text, .json = pairs_json, .csv = pairs_csv,
	.free = pairs_free,
	.help = "      --pairs           pairwise similarity of the dumps\n",
};
