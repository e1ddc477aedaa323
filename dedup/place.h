/* Placement of dumps on hosts so that each host's distinct contents are
 * few (docs/analyses.md, "Placement"): first fit, and the sharing-aware
 * plan (greedy from several orders, then local search with moves and
 * swaps).  Works on ascending content-id lists only. */
#ifndef DEDUP_PLACE_H
#define DEDUP_PLACE_H

#include <stddef.h>
#include <stdint.h>

struct dd_place_in {
	const uint32_t *const *ids; /* per dump: its distinct contents, ascending */
	const uint64_t *nids;
	const uint64_t *shared;     /* per dump: its contents another dump holds too */
	size_t n;                   /* dumps */
	size_t hosts, max_dumps;    /* at most max_dumps dumps on each of hosts hosts */
	uint64_t cap;               /* contents a host holds at most; 0: no limit */
	uint64_t budget;            /* list steps the local search may take */
};

/* The sharing-aware plan starts from the best greedy order (or first fit) */
enum dd_place_start { DD_START_GIVEN, DD_START_LARGEST, DD_START_SMALLEST, DD_START_SHARED, DD_START_FIRST_FIT,
		      DD_NSTARTS };

struct dd_place_out {
	size_t *host;      /* per dump; the caller allocates n */
	uint64_t *pages;   /* per host, distinct contents; the caller allocates hosts */
	uint64_t total;    /* sum of pages */
	uint64_t overflow; /* contents over cap, summed over hosts (0: the plan fits) */
	/* sharing-aware plan only */
	enum dd_place_start start;
	uint64_t start_total, moves, swaps;
	int complete;      /* the local search ended on its own, not on the budget */
};

const char *dd_place_start_name(enum dd_place_start s);

/* 0, or -1 when out of memory. */
int dd_place_first_fit(const struct dd_place_in *in, struct dd_place_out *out);
/* Never worse than first fit: fewer contents over cap, else no more total. */
int dd_place_shared(const struct dd_place_in *in, struct dd_place_out *out);

#endif
