/* Huge page what-if: guest memory in regions of SIZE bytes shares nothing
 * until a region is split; how many splits buy the 4 KiB saving
 * (docs/analyses.md, "Huge page what-if"). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define DEFAULT_HUGE (2u << 20)
#define MIN_HUGE (1u << 10)      /* two pages of the smallest --page-size */
#define MAX_HUGE (16ull << 30)   /* the largest huge page of any architecture */
#define MIN_DUMP_PAGE 4096u      /* no dump format records smaller pages */

struct huge {
	uint64_t huge_bytes;          /* setting */
	uint64_t regions, regions_shareable;
	uint64_t saved_4k;            /* non-zero pages 4 KiB sharing saves (intra + inter) */
	uint64_t split_for[3];        /* regions to split for 50 %, 90 %, 100 % of saved_4k */
	uint64_t identical_saved;     /* pages saved by sharing whole identical regions unsplit */
};

static const char *huge_option(void *st, size_t i, const char *arg)
{
	(void)i;
	struct huge *h = st;
	h->huge_bytes = DEFAULT_HUGE;
	if (arg && (!cm_parse_size(arg, &h->huge_bytes) || h->huge_bytes < MIN_HUGE || h->huge_bytes > MAX_HUGE ||
		    (h->huge_bytes & (h->huge_bytes - 1))))
		return "invalid huge page size '%s' (a power of two of at least two pages, up to 16G: "
		       "e.g. 64K, 2M, 1G)";
	return NULL;
}

/* a huge page holds at least two pages; before the inputs tell their page
 * size, pages are at least 4 KiB unless --page-size says otherwise */
static int huge_check(const void *st, uint32_t page_size, char *msg, size_t len)
{
	const struct huge *h = st;
	uint32_t ps = page_size ? page_size : MIN_DUMP_PAGE;
	if (h->huge_bytes >= 2ull * ps)
		return 0;
	char a[32], b[32], c[32];
	snprintf(msg, len, "--huge: %s holds fewer than two %s pages; give a power of two from %s up to 16G",
		 cm_size_text(h->huge_bytes, a, sizeof a), cm_size_text(ps, b, sizeof b),
		 cm_size_text(2ull * ps, c, sizeof c));
	return -1;
}

struct region {
	uint64_t dump, first; /* index into the dump's page map */
	uint32_t n;           /* present pages in the region */
	uint32_t score;       /* pages whose content has another copy */
	uint64_t sig;         /* content sequence of a complete region */
	int complete;
};

static int by_score_desc(const void *x, const void *y)
{
	const struct region *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->dump != b->dump)
		return a->dump < b->dump ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

static int by_sig(const void *x, const void *y)
{
	const struct region *a = x, *b = y;
	if (a->complete != b->complete)
		return a->complete > b->complete ? -1 : 1;
	return a->sig < b->sig ? -1 : a->sig > b->sig;
}

/* Cut every dump's page map into regions of `per` frames (*out NULL when
 * there are none); -1 when out of memory. */
static int cut_regions(const struct dd_engine *e, uint64_t per, struct region **out, size_t *count)
{
	const struct dd_table *t = dd_engine_table(e);
	struct region *r = NULL;
	size_t nr = 0, cap = 0;
	for (size_t i = 0; i < dd_engine_ndumps(e); i++) {
		const struct dd_dump_data *dd = dd_engine_dump(e, i);
		for (uint64_t k = 0; k < dd->npages;) {
			uint64_t reg = dd->pfn[k] / per, s = k;
			while (k < dd->npages && dd->pfn[k] / per == reg)
				k++;
			if (nr == cap) {
				cap = cap ? cap * 2 : 1024;
				struct region *nrr = realloc(r, cap * sizeof *nrr);
				if (!nrr) {
					free(r);
					return -1;
				}
				r = nrr;
			}
			struct region *g = &r[nr++];
			memset(g, 0, sizeof *g);
			g->dump = i;
			g->first = s;
			g->n = (uint32_t)(k - s);
			g->complete = g->n == per;
			uint64_t sig = 1469598103934665603ull;
			for (uint64_t p = s; p < k; p++) {
				uint32_t id = dd->pid[p];
				sig = (sig ^ id) * 1099511628211ull;
				if (id != DD_ID_ZERO && dd_table_get(t, id)->count > 1)
					g->score++;
			}
			g->sig = sig;
		}
	}
	*out = r;
	*count = nr;
	return 0;
}

/* whole identical regions shared as huge pages, nothing split: equal
 * signatures, then equal id sequences */
static uint64_t identical_saved(const struct dd_engine *e, struct region *r, size_t nr, uint64_t per)
{
	uint64_t saved = 0;
	if (nr)
		qsort(r, nr, sizeof *r, by_sig);
	for (size_t i = 1; i < nr; i++) {
		if (!r[i].complete || r[i].sig != r[i - 1].sig)
			continue;
		/* compare with the first region of this signature run */
		size_t f = i - 1;
		while (f > 0 && r[f - 1].complete && r[f - 1].sig == r[i].sig)
			f--;
		const struct dd_dump_data *a = dd_engine_dump(e, r[f].dump), *b = dd_engine_dump(e, r[i].dump);
		if (memcmp(a->pid + r[f].first, b->pid + r[i].first, per * sizeof *a->pid) == 0) {
			uint64_t nonzero = 0;
			for (uint64_t p = 0; p < per; p++)
				nonzero += b->pid[r[i].first + p] != DD_ID_ZERO;
			saved += nonzero;
		}
	}
	return saved;
}

/* split in order of score; count what 4 KiB sharing then saves */
static int split_order(const struct dd_engine *e, struct region *r, size_t nr, struct huge *h)
{
	const struct dd_table *t = dd_engine_table(e);
	/* dense numbering of contents for the split simulation */
	uint64_t base[257];
	base[0] = 0;
	for (int s = 0; s < 256; s++) {
		uint32_t k = 0;
		while (dd_table_get(t, (uint32_t)s << 24 | k))
			k++;
		base[s + 1] = base[s] + k;
	}
	uint64_t ncontents = base[256];
	if (nr)
		qsort(r, nr, sizeof *r, by_score_desc);
	uint32_t *in_split = calloc(ncontents ? ncontents : 1, sizeof *in_split);
	if (!in_split)
		return -1;
	uint64_t saved = 0, targets[3] = { (h->saved_4k + 1) / 2, (h->saved_4k * 9 + 9) / 10, h->saved_4k };
	int next = 0;
	while (next < 3 && targets[next] == 0)
		h->split_for[next++] = 0;
	for (size_t i = 0; i < nr && next < 3; i++) {
		const struct dd_dump_data *dd = dd_engine_dump(e, r[i].dump);
		for (uint64_t p = r[i].first; p < r[i].first + r[i].n; p++) {
			uint32_t id = dd->pid[p];
			if (id == DD_ID_ZERO)
				continue;
			uint64_t dense = base[id >> 24] + (id & 0xffffff);
			if (in_split[dense]++)
				saved++;
		}
		while (next < 3 && saved >= targets[next])
			h->split_for[next++] = i + 1;
	}
	free(in_split);
	return 0;
}

static int huge_compute(void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	struct huge *h = st;
	uint64_t per = h->huge_bytes / in->page_size;
	if (per < 2) {
		snprintf(err, errlen, "--huge: size must be at least two pages");
		return -1;
	}
	size_t nr;
	struct region *r;
	if (cut_regions(in->e, per, &r, &nr))
		return -1;
	h->regions = nr;
	struct dd_totals tot;
	char why[8];
	dd_engine_totals(in->e, &tot, why, sizeof why);
	h->saved_4k = tot.nonzero_pages - tot.distinct_pages;
	h->identical_saved = identical_saved(in->e, r, nr, per);
	int rc = split_order(in->e, r, nr, h);
	for (size_t i = 0; i < nr; i++)
		h->regions_shareable += r[i].score > 0;
	free(r);
	return rc;
}

static void huge_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct huge *h = st;
	const uint32_t ps = in->page_size;
	char hs[32], pss[32], label[64];
	fprintf(f, "\n%s pages what-if (%llu region%s; shared only once split):\n",
		cm_size_text(h->huge_bytes, hs, sizeof hs), (unsigned long long)h->regions, h->regions == 1 ? "" : "s");
	snprintf(label, sizeof label, "%s sharing saves", cm_size_text(ps, pss, sizeof pss));
	fprintf(f, "  %-29s%10.1f MiB (%llu pages)\n", label, cm_mib(h->saved_4k * ps),
		(unsigned long long)h->saved_4k);
	fprintf(f, "  without splitting            %10.1f MiB (whole identical regions)\n",
		cm_mib(h->identical_saved * ps));
	fprintf(f, "  regions holding shareable pages: %llu (%.1f%%)\n",
		(unsigned long long)h->regions_shareable, cm_pct(h->regions_shareable, h->regions));
	static const char *const tl[3] = { "50%", "90%", "100%" };
	for (int i = 0; i < 3; i++)
		fprintf(f, "  split for %-4s of the saving: %10llu region%s (%.1f%%)\n", tl[i],
			(unsigned long long)h->split_for[i], h->split_for[i] == 1 ? "" : "s",
			cm_pct(h->split_for[i], h->regions));
}

static void huge_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct huge *h = st;
	fprintf(f,
		",\n  \"huge\": {\"huge_page_bytes\": %llu, \"regions\": %llu, \"regions_shareable\": %llu, "
		"\"saved_4k_pages\": %llu, \"identical_saved_pages\": %llu, \"split_for_50\": %llu, "
		"\"split_for_90\": %llu, \"split_for_100\": %llu}",
		(unsigned long long)h->huge_bytes, (unsigned long long)h->regions,
		(unsigned long long)h->regions_shareable, (unsigned long long)h->saved_4k,
		(unsigned long long)h->identical_saved, (unsigned long long)h->split_for[0],
		(unsigned long long)h->split_for[1], (unsigned long long)h->split_for[2]);
}

static void huge_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct huge *h = st;
	fprintf(f, "\nanalysis,huge_page_bytes,regions,regions_shareable,saved_4k_pages,identical_saved_pages,"
		   "split_for_50,split_for_90,split_for_100\n");
	fprintf(f, "huge,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", (unsigned long long)h->huge_bytes,
		(unsigned long long)h->regions, (unsigned long long)h->regions_shareable,
		(unsigned long long)h->saved_4k, (unsigned long long)h->identical_saved,
		(unsigned long long)h->split_for[0], (unsigned long long)h->split_for[1],
		(unsigned long long)h->split_for[2]);
}

static const struct dd_an_option huge_opts[] = { { "huge", DD_AN_OPT_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_huge = {
	.name = "huge", .opts = huge_opts, .size = sizeof(struct huge),
	.flags = DD_AN_IN_ALL, .collect = DD_COLLECT_PAGES,
	.option = huge_option, .check = huge_check, .compute = huge_compute, .text = huge_text, .json = huge_json,
	.csv = huge_csv,
	.help = "      --huge[=SIZE]     huge page what-if (default 2M): splits needed for the savings;\n"
		"                        SIZE a power of two of at least two pages, up to 16G\n",
};
