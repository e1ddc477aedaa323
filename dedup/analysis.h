/* Analyses beyond Table I, computed from the engine's content table and the
 * per-dump data it kept.  Definitions: docs/analyses.md. */
#ifndef DEDUP_ANALYSIS_H
#define DEDUP_ANALYSIS_H

#include "dedup.h"

/* KSM at steady state for these guests (DESIGN.md's rule). */
struct dd_ksm {
	uint32_t max_page_sharing;
	int use_zero_pages;
	uint64_t pages_shared, pages_sharing, pages_unshared;
	uint64_t stable_node_chains, stable_node_dups, ksm_zero_pages;
	uint64_t saved_bytes, rmap_items;
	int64_t general_profit;
};
void dd_ksm_predict(const struct dd_engine *e, uint32_t max_page_sharing, int use_zero_pages, struct dd_ksm *k);
/* the rule for one content of k copies: stable pages and sharing pages */
void dd_ksm_content(uint64_t k, uint32_t max_page_sharing, uint64_t *stable, uint64_t *sharing, uint64_t *unshared);

/* Sharing degree: contents and pages by copies (1, 2, 3-4, 5-8, ...). */
struct dd_degree_bucket {
	uint64_t lo, hi, contents, pages;
};
struct dd_top {
	uint8_t key[DD_KEY];
	uint64_t copies, dumps;
	enum dd_class cls;
	int zero; /* the all-zero content (not in the table) */
};
struct dd_degree {
	struct dd_degree_bucket b[33];
	size_t nb;
	struct dd_top *top;
	size_t ntop;
};
int dd_degree_compute(const struct dd_engine *e, size_t top_n, struct dd_degree *d);
void dd_degree_free(struct dd_degree *d);

/* TPS salting: pages saved with full inter-VM sharing, inside salt groups,
 * and inside each VM only.  group[i] = group number of dump i. */
struct dd_tps {
	uint64_t nonzero, zero;
	uint64_t full_saved, salted_saved, intra_saved;
	uint64_t full_distinct, salted_distinct, intra_distinct;
	size_t ngroups;
};
int dd_tps_compute(const struct dd_engine *e, const size_t *group, size_t ngroups, struct dd_tps *t);

/* Pairwise similarity. */
struct dd_pair {
	size_t a, b;
	uint64_t common, a_pages, b_pages, unioned, saved_together;
	double jaccard;
};
int dd_pairs_compute(const struct dd_engine *e, struct dd_pair **out, size_t *n);

/* Sharing-aware placement on `hosts` hosts of `cap_bytes` (0: no memory
 * limit) with at most ceil(V / hosts) dumps each, against first-fit in the
 * given order. */
struct dd_placement {
	size_t hosts;
	uint64_t cap_bytes;
	size_t *greedy_host, *naive_host;   /* per dump */
	uint64_t *greedy_mem, *naive_mem;   /* per host, bytes of distinct non-zero contents */
	uint64_t greedy_total, naive_total;
	int greedy_fits, naive_fits;
};
int dd_place_compute(const struct dd_engine *e, size_t hosts, uint64_t cap_bytes, struct dd_placement *p);
void dd_place_free(struct dd_placement *p);

/* Huge pages: guest memory in regions of `huge` bytes that share nothing
 * until split. */
struct dd_huge {
	uint64_t huge_bytes, regions, regions_shareable;
	uint64_t saved_4k;            /* non-zero pages 4 KiB sharing saves (intra + inter) */
	uint64_t split_for[3];        /* regions to split for 50 %, 90 %, 100 % of saved_4k */
	uint64_t identical_saved;     /* pages saved by sharing whole identical regions unsplit */
};
int dd_huge_compute(const struct dd_engine *e, uint64_t huge_bytes, struct dd_huge *h);

/* Page-level difference of dump 0 (before) and dump 1 (after). */
struct dd_diff {
	uint64_t unchanged, changed, added, gone;
	uint64_t unchanged_zero;
	uint64_t before_pages, after_pages;
	uint64_t contents_kept;       /* distinct non-zero contents of "after" also in "before" */
	uint64_t after_contents;
};
int dd_diff_compute(const struct dd_engine *e, struct dd_diff *d);

#endif
