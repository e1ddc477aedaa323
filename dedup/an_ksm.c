/* KSM prediction: what /sys/kernel/mm/ksm would show at steady state for
 * these guests (docs/analyses.md, "KSM prediction"). */
#include "analysis.h"

#include <string.h>

#include "common.h"

#define RMAP_ITEM_BYTES 64 /* sizeof(struct ksm_rmap_item) on 64-bit Linux */
#define DEFAULT_MAX_PAGE_SHARING 256

struct ksm {
	/* settings */
	uint32_t max_page_sharing; /* 0: the default */
	int use_zero_pages;
	/* results */
	uint64_t pages_shared, pages_sharing, pages_unshared;
	uint64_t stable_node_chains, stable_node_dups, ksm_zero_pages;
	uint64_t saved_bytes, rmap_items;
	int64_t general_profit;
};

static const char *ksm_option(void *st, size_t i, const char *arg)
{
	struct ksm *k = st;
	uint64_t v;
	switch (i) {
	case 1: /* --max-page-sharing=N */
		if (!cm_parse_u64(arg, &v) || v < 2 || v > UINT32_MAX)
			return "invalid max_page_sharing '%s' (2 or more)";
		k->max_page_sharing = (uint32_t)v;
		break;
	case 2: k->use_zero_pages = 1; break;
	}
	return NULL;
}

/* The rule for one content of `copies` copies (docs/analyses.md, "KSM
 * prediction"; measured on the kernel): q = copies div m full KSM pages of
 * m mappings each, one more for a remainder r = copies mod m of at least
 * two.  A remainder of one is a page KSM does not merge: it is counted in
 * pages_unshared only when it is the content's only copy; beside a full KSM
 * page it is in no counter.  A content holding two KSM pages or more is a
 * stable-node chain whose dups are those KSM pages. */
static void ksm_add(struct ksm *k, uint64_t copies, uint32_t m)
{
	uint64_t q = copies / m, r = copies % m;
	uint64_t stable = q + (r >= 2), leftover = r == 1;
	k->pages_shared += stable;
	k->pages_sharing += copies - stable - leftover;
	k->pages_unshared += copies == 1;
	if (stable >= 2) {
		k->stable_node_chains++;
		k->stable_node_dups += stable;
	}
}

struct ksm_acc {
	uint32_t m;
	struct ksm *k;
};

static int ksm_fn(const struct dd_entry *e, void *arg)
{
	struct ksm_acc *a = arg;
	ksm_add(a->k, e->count, a->m);
	return 0;
}

static uint32_t ksm_m(const struct ksm *k)
{
	return k->max_page_sharing ? k->max_page_sharing : DEFAULT_MAX_PAGE_SHARING;
}

enum { S_SHARED, S_SHARING, S_UNSHARED, S_CHAINS, S_DUPS, KSM_NSUM };

static size_t ksm_nsum(const void *st, size_t n)
{
	(void)st;
	(void)n;
	return KSM_NSUM;
}

/* the non-zero contents of the table (a slice): their counters */
static int ksm_part(void *st, const struct dd_an_input *in, uint64_t *sum, void **rec, size_t *nrec, char *err,
		    size_t errlen)
{
	(void)rec;
	(void)nrec;
	(void)err;
	(void)errlen;
	struct ksm p;
	memset(&p, 0, sizeof p);
	struct ksm_acc a = { ksm_m(st), &p };
	dd_table_each(dd_engine_table(in->e), ksm_fn, &a);
	sum[S_SHARED] += p.pages_shared;
	sum[S_SHARING] += p.pages_sharing;
	sum[S_UNSHARED] += p.pages_unshared;
	sum[S_CHAINS] += p.stable_node_chains;
	sum[S_DUPS] += p.stable_node_dups;
	return 0;
}

/* every slice's counters, then the zero content and the rest from Table I */
static int ksm_merge(void *st, const struct dd_an_input *in, const uint64_t *sum, const void *rec, size_t nrec,
		     char *err, size_t errlen)
{
	(void)rec;
	(void)nrec;
	(void)err;
	(void)errlen;
	struct ksm *k = st;
	const struct dd_totals *t = in->totals;
	k->max_page_sharing = ksm_m(k);
	k->pages_shared = sum[S_SHARED];
	k->pages_sharing = sum[S_SHARING];
	k->pages_unshared = sum[S_UNSHARED];
	k->stable_node_chains = sum[S_CHAINS];
	k->stable_node_dups = sum[S_DUPS];
	if (k->use_zero_pages)
		k->ksm_zero_pages = t->zero_pages;
	else if (t->zero_pages)
		ksm_add(k, t->zero_pages, k->max_page_sharing);
	k->rmap_items = t->pages;
	k->saved_bytes = (k->pages_sharing + k->ksm_zero_pages) * (uint64_t)t->page_size;
	k->general_profit = (int64_t)k->saved_bytes - (int64_t)(k->rmap_items * RMAP_ITEM_BYTES);
	return 0;
}

static void ksm_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct ksm *k = st;
	fprintf(f, "\nKSM prediction (steady state; max_page_sharing=%u, use_zero_pages=%d):\n",
		k->max_page_sharing, k->use_zero_pages);
	fprintf(f, "  pages_shared        %12llu\n", (unsigned long long)k->pages_shared);
	fprintf(f, "  pages_sharing       %12llu\n", (unsigned long long)k->pages_sharing);
	fprintf(f, "  pages_unshared      %12llu\n", (unsigned long long)k->pages_unshared);
	fprintf(f, "  stable_node_chains  %12llu\n", (unsigned long long)k->stable_node_chains);
	fprintf(f, "  stable_node_dups    %12llu\n", (unsigned long long)k->stable_node_dups);
	fprintf(f, "  ksm_zero_pages      %12llu\n", (unsigned long long)k->ksm_zero_pages);
	fprintf(f, "  saved               %12.1f MiB  ((pages_sharing + ksm_zero_pages) x page size)\n",
		cm_mib(k->saved_bytes));
	fprintf(f, "  general_profit      %12.1f MiB  (saved - %llu rmap items x 64 bytes)\n",
		(double)k->general_profit / 1048576.0, (unsigned long long)k->rmap_items);
	if (k->use_zero_pages)
		fprintf(f, "  note: every zero page of the dumps counts as saved here; guest RAM never touched\n"
			   "  is zero in a dump but was never allocated on the host, so KSM neither sees nor\n"
			   "  saves it (compare the non-zero pages with what KSM reports)\n");
}

static void ksm_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct ksm *k = st;
	fprintf(f,
		",\n  \"ksm\": {\"max_page_sharing\": %u, \"use_zero_pages\": %d, \"pages_shared\": %llu, "
		"\"pages_sharing\": %llu, \"pages_unshared\": %llu, \"stable_node_chains\": %llu, "
		"\"stable_node_dups\": %llu, \"ksm_zero_pages\": %llu, \"saved_bytes\": %llu, "
		"\"rmap_items\": %llu, \"general_profit\": %lld}",
		k->max_page_sharing, k->use_zero_pages, (unsigned long long)k->pages_shared,
		(unsigned long long)k->pages_sharing, (unsigned long long)k->pages_unshared,
		(unsigned long long)k->stable_node_chains, (unsigned long long)k->stable_node_dups,
		(unsigned long long)k->ksm_zero_pages, (unsigned long long)k->saved_bytes,
		(unsigned long long)k->rmap_items, (long long)k->general_profit);
}

static void ksm_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct ksm *k = st;
	fprintf(f, "\nanalysis,max_page_sharing,use_zero_pages,pages_shared,pages_sharing,pages_unshared,"
		   "stable_node_chains,stable_node_dups,ksm_zero_pages,saved_bytes,rmap_items,general_profit\n");
	fprintf(f, "ksm,%u,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%lld\n", k->max_page_sharing,
		k->use_zero_pages, (unsigned long long)k->pages_shared, (unsigned long long)k->pages_sharing,
		(unsigned long long)k->pages_unshared, (unsigned long long)k->stable_node_chains,
		(unsigned long long)k->stable_node_dups, (unsigned long long)k->ksm_zero_pages,
		(unsigned long long)k->saved_bytes, (unsigned long long)k->rmap_items,
		(long long)k->general_profit);
}

static const struct dd_an_option ksm_opts[] = {
	{ "ksm", DD_AN_NO_ARG }, { "max-page-sharing", DD_AN_ARG }, { "use-zero-pages", DD_AN_NO_ARG }, { NULL, 0 },
};

const struct dd_analysis dd_an_ksm = {
	.name = "ksm", .opts = ksm_opts, .size = sizeof(struct ksm),
	.flags = DD_AN_IN_ALL,
	.option = ksm_option, .nsum = ksm_nsum, .part = ksm_part, .merge = ksm_merge, .text = ksm_text, .json = ksm_json, .csv = ksm_csv,
	.help = "      --ksm             what KSM would report at steady state for these guests\n"
		"      --max-page-sharing=N   KSM's max_page_sharing (default 256)\n"
		"      --use-zero-pages  KSM's use_zero_pages=1: zero pages go to ksm_zero_pages\n",
};
