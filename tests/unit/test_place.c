/* Placement search (dedup/place.c) on small random instances checked by
 * trying every plan: the sharing-aware plan is never worse than first fit,
 * never better than the optimum, no single move or swap improves it, and
 * it reaches the optimum on nearly all; the local search is seen at work;
 * a spent step budget is reported. */
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "tap.h"

#define MAXV 7
#define MAXK 3
#define UNIVERSE 40

struct inst {
	uint32_t ids[MAXV][UNIVERSE];
	uint64_t nids[MAXV], shared[MAXV];
	const uint32_t *idp[MAXV];
	struct dd_place_in in;
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n) { return (uint32_t)(tap_xorshift(&rng) % n); }

/* dumps drawn from a few overlapping families, contents ascending */
static void make(struct inst *t, size_t v, size_t k, uint64_t cap)
{
	memset(t, 0, sizeof *t);
	int held[UNIVERSE] = { 0 };
	for (size_t i = 0; i < v; i++) {
		uint32_t fam = rnd(3);
		for (uint32_t c = 0; c < UNIVERSE; c++) {
			int in_fam = c / 12 == fam;
			if (rnd(100) < (in_fam ? 70u : 12u)) {
				t->ids[i][t->nids[i]++] = c;
				held[c]++;
			}
		}
		t->idp[i] = t->ids[i];
	}
	for (size_t i = 0; i < v; i++)
		for (uint64_t c = 0; c < t->nids[i]; c++)
			t->shared[i] += held[t->ids[i][c]] > 1;
	t->in = (struct dd_place_in){ .ids = t->idp, .nids = t->nids, .shared = t->shared, .n = v, .hosts = k,
				      .max_dumps = (v + k - 1) / k, .cap = cap, .budget = 1000000000 };
}

/* (contents over cap, total contents) of an assignment, by brute force;
 * -1 when a host holds more than max_dumps */
static int cost(const struct inst *t, const size_t *a, uint64_t *over, uint64_t *total)
{
	*over = *total = 0;
	for (size_t h = 0; h < t->in.hosts; h++) {
		int have[UNIVERSE] = { 0 };
		size_t dumps = 0;
		uint64_t n = 0;
		for (size_t i = 0; i < t->in.n; i++)
			if (a[i] == h) {
				dumps++;
				for (uint64_t c = 0; c < t->nids[i]; c++)
					n += !have[t->ids[i][c]]++;
			}
		if (dumps > t->in.max_dumps)
			return -1;
		*total += n;
		*over += t->in.cap && n > t->in.cap ? n - t->in.cap : 0;
	}
	return 0;
}

static int less(uint64_t o1, uint64_t t1, uint64_t o2, uint64_t t2)
{
	return o1 < o2 || (o1 == o2 && t1 < t2);
}

/* the least (over, total) of every plan */
static void optimum(const struct inst *t, uint64_t *bo, uint64_t *bt)
{
	size_t a[MAXV] = { 0 }, n = t->in.n, k = t->in.hosts;
	*bo = *bt = UINT64_MAX;
	for (;;) {
		uint64_t o, tt;
		if (cost(t, a, &o, &tt) == 0 && less(o, tt, *bo, *bt)) {
			*bo = o;
			*bt = tt;
		}
		size_t i = 0;
		while (i < n && ++a[i] == k)
			a[i++] = 0;
		if (i == n)
			return;
	}
}

/* does a single move or swap lower the cost of plan a? */
static int improvable(const struct inst *t, const size_t *plan)
{
	size_t a[MAXV];
	uint64_t o0, t0, o, tt;
	cost(t, plan, &o0, &t0);
	for (size_t i = 0; i < t->in.n; i++)
		for (size_t h = 0; h < t->in.hosts; h++) {
			memcpy(a, plan, sizeof a);
			a[i] = h;
			if (cost(t, a, &o, &tt) == 0 && less(o, tt, o0, t0))
				return 1;
			for (size_t j = i + 1; j < t->in.n; j++) {
				memcpy(a, plan, sizeof a);
				a[i] = plan[j];
				a[j] = plan[i];
				if (cost(t, a, &o, &tt) == 0 && less(o, tt, o0, t0))
					return 1;
			}
		}
	return 0;
}

int main(void)
{
	enum { N = 400 };
	int worse_than_ff = 0, below_opt = 0, local_not_min = 0, optimal = 0, searched = 0, improved_by_search = 0,
	    wrong_sums = 0, fails = 0;
	for (int r = 0; r < N; r++) {
		struct inst t;
		size_t v = 3 + rnd(MAXV - 2), k = 2 + rnd(MAXK - 1);
		make(&t, v, k, r % 4 == 3 ? 10 + rnd(12) : 0);
		size_t hs[MAXV], hf[MAXV];
		uint64_t ps[MAXK], pf[MAXK];
		struct dd_place_out s = { .host = hs, .pages = ps }, f = { .host = hf, .pages = pf };
		if (dd_place_first_fit(&t.in, &f) || dd_place_shared(&t.in, &s)) {
			fails++;
			continue;
		}
		uint64_t so, st, fo, ft, oo, ot;
		cost(&t, hs, &so, &st);
		cost(&t, hf, &fo, &ft);
		optimum(&t, &oo, &ot);
		wrong_sums += so != s.overflow || st != s.total || fo != f.overflow || ft != f.total;
		worse_than_ff += less(fo, ft, so, st);
		below_opt += less(so, st, oo, ot);
		local_not_min += improvable(&t, hs);
		optimal += so == oo && st == ot;
		searched += s.moves + s.swaps > 0;
		improved_by_search += s.total < s.start_total;
	}
	is_u64(fails, 0, "%d instances placed", N);
	is_u64(wrong_sums, 0, "reported totals and contents over capacity equal a recount of the plans");
	is_u64(worse_than_ff, 0, "the sharing-aware plan is never worse than first fit");
	is_u64(below_opt, 0, "and never better than the optimum (a check of the counting)");
	is_u64(local_not_min, 0, "no single move or swap improves the sharing-aware plan");
	ok(optimal >= N * 95 / 100, "optimal on %d of %d instances", optimal, N);
	ok(improved_by_search > 0, "the local search improved %d of %d starts (%d searched)", improved_by_search, N,
	   searched);

	/* a step budget of 1: the best start, reported as not searched to the end */
	struct inst t;
	make(&t, 7, 3, 0);
	t.in.budget = 1;
	size_t hs[MAXV], hf[MAXV];
	uint64_t ps[MAXK], pf[MAXK];
	struct dd_place_out s = { .host = hs, .pages = ps }, f = { .host = hf, .pages = pf };
	ok(dd_place_shared(&t.in, &s) == 0 && dd_place_first_fit(&t.in, &f) == 0, "placed with a budget of 1 step");
	ok(!s.complete && s.moves == 0 && s.swaps == 0 && s.total == s.start_total,
	   "a spent budget: no local search, reported incomplete");
	ok(s.total <= f.total, "still no worse than first fit (%llu <= %llu)", (unsigned long long)s.total,
	   (unsigned long long)f.total);
	return tap_done();
}
