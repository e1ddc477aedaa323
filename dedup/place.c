/* Placement of dumps on hosts (place.h; docs/analyses.md, "Placement").
 * A plan keeps, per host, its distinct contents with how many of its dumps
 * hold each, so that the change of a move or a swap is counted exactly by
 * walking sorted lists.  A plan's cost is (contents over the capacity,
 * total contents), compared in that order; every step below is taken in a
 * fixed order and only when it lowers the cost, so the result depends on
 * the input alone. */
#include "place.h"

#include <stdlib.h>
#include <string.h>

struct hset {
	uint32_t *id, *cnt; /* ascending ids; cnt: dumps of the host holding each */
	uint64_t n;
	size_t dumps;
};

struct plan {
	const struct dd_place_in *in;
	struct hset *h;
	size_t *host;  /* per dump, SIZE_MAX while unplaced */
	uint64_t work; /* list steps so far */
	int cut;       /* a pass stopped on the budget */
};

struct cost {
	int64_t over, total;
};

static int cost_less(struct cost a, struct cost b)
{
	return a.over < b.over || (a.over == b.over && a.total < b.total);
}

static uint64_t over(uint64_t n, uint64_t cap)
{
	return cap && n > cap ? n - cap : 0;
}

static void plan_free(struct plan *p)
{
	for (size_t k = 0; p->h && k < p->in->hosts; k++) {
		free(p->h[k].id);
		free(p->h[k].cnt);
	}
	free(p->h);
	free(p->host);
	p->h = NULL;
	p->host = NULL;
}

static int plan_init(struct plan *p, const struct dd_place_in *in)
{
	*p = (struct plan){ .in = in };
	p->h = calloc(in->hosts ? in->hosts : 1, sizeof *p->h);
	p->host = malloc((in->n ? in->n : 1) * sizeof *p->host);
	if (!p->h || !p->host) {
		plan_free(p);
		return -1;
	}
	for (size_t i = 0; i < in->n; i++)
		p->host[i] = SIZE_MAX;
	return 0;
}

static struct cost plan_cost(const struct plan *p)
{
	struct cost c = { 0, 0 };
	for (size_t k = 0; k < p->in->hosts; k++) {
		c.over += (int64_t)over(p->h[k].n, p->in->cap);
		c.total += (int64_t)p->h[k].n;
	}
	return c;
}

/* ids of h that ids[0..n) holds too */
static uint64_t hs_common(struct plan *p, const struct hset *h, const uint32_t *ids, uint64_t n)
{
	uint64_t a = 0, b = 0, c = 0;
	p->work += h->n + n;
	while (a < h->n && b < n) {
		if (h->id[a] < ids[b])
			a++;
		else if (h->id[a] > ids[b])
			b++;
		else {
			c++;
			a++;
			b++;
		}
	}
	return c;
}

/* contents of h that only the dump with ids[0..n) (one of h's) holds */
static uint64_t hs_uniq(struct plan *p, const struct hset *h, const uint32_t *ids, uint64_t n)
{
	uint64_t a = 0, c = 0;
	p->work += h->n + n;
	for (uint64_t b = 0; b < n; b++) {
		while (h->id[a] < ids[b])
			a++;
		c += h->cnt[a] == 1;
	}
	return c;
}

/* contents of j[0..nj) that h still holds once the dump with i[0..ni)
 * (one of h's) leaves it */
static uint64_t hs_common_without(struct plan *p, const struct hset *h, const uint32_t *j, uint64_t nj,
				  const uint32_t *i, uint64_t ni)
{
	uint64_t a = 0, x = 0, c = 0;
	p->work += h->n + nj + ni;
	for (uint64_t b = 0; b < nj; b++) {
		while (a < h->n && h->id[a] < j[b])
			a++;
		if (a == h->n)
			break;
		if (h->id[a] != j[b])
			continue;
		if (h->cnt[a] >= 2)
			c++;
		else {
			while (x < ni && i[x] < j[b])
				x++;
			c += x == ni || i[x] != j[b];
		}
	}
	return c;
}

static int hs_add(struct plan *p, struct hset *h, const uint32_t *ids, uint64_t n)
{
	uint64_t cap = h->n + n;
	uint32_t *id = malloc((cap ? cap : 1) * sizeof *id), *cnt = malloc((cap ? cap : 1) * sizeof *cnt);
	if (!id || !cnt) {
		free(id);
		free(cnt);
		return -1;
	}
	uint64_t a = 0, b = 0, k = 0;
	p->work += cap;
	while (a < h->n || b < n) {
		if (b == n || (a < h->n && h->id[a] < ids[b])) {
			id[k] = h->id[a];
			cnt[k++] = h->cnt[a++];
		} else if (a == h->n || ids[b] < h->id[a]) {
			id[k] = ids[b++];
			cnt[k++] = 1;
		} else {
			id[k] = h->id[a];
			cnt[k++] = h->cnt[a++] + 1;
			b++;
		}
	}
	free(h->id);
	free(h->cnt);
	h->id = id;
	h->cnt = cnt;
	h->n = k;
	h->dumps++;
	return 0;
}

static void hs_remove(struct plan *p, struct hset *h, const uint32_t *ids, uint64_t n)
{
	uint64_t w = 0, b = 0;
	p->work += h->n + n;
	for (uint64_t a = 0; a < h->n; a++) {
		if (b < n && ids[b] == h->id[a]) {
			b++;
			if (--h->cnt[a] == 0)
				continue;
		}
		h->id[w] = h->id[a];
		h->cnt[w++] = h->cnt[a];
	}
	h->n = w;
	h->dumps--;
}

static int place_dump(struct plan *p, size_t i, size_t k)
{
	if (hs_add(p, &p->h[k], p->in->ids[i], p->in->nids[i]))
		return -1;
	p->host[i] = k;
	return 0;
}

/* First fit in the given order: the first host with room for one more dump
 * and its new contents; when none has, the host with the fewest dumps, then
 * the fewest contents (the plan then does not fit). */
static int first_fit(struct plan *p)
{
	const struct dd_place_in *in = p->in;
	for (size_t i = 0; i < in->n; i++) {
		size_t best = in->hosts, least = in->hosts;
		for (size_t k = 0; k < in->hosts && best == in->hosts; k++) {
			const struct hset *h = &p->h[k];
			if (h->dumps >= in->max_dumps)
				continue;
			if (least == in->hosts || h->dumps < p->h[least].dumps ||
			    (h->dumps == p->h[least].dumps && h->n < p->h[least].n))
				least = k;
			uint64_t added = in->nids[i] - hs_common(p, h, in->ids[i], in->nids[i]);
			if (!in->cap || h->n + added <= in->cap)
				best = k;
		}
		if (place_dump(p, i, best < in->hosts ? best : least))
			return -1;
	}
	return 0;
}

/* Greedy in order ord: each dump to the host with room for one more dump
 * where it adds the least (contents over the capacity, then contents);
 * ties to the host with fewer contents, then the lower number.  Empty hosts
 * are all alike: only the first is tried. */
static int greedy(struct plan *p, const size_t *ord)
{
	const struct dd_place_in *in = p->in;
	for (size_t oi = 0; oi < in->n; oi++) {
		size_t i = ord[oi], best = in->hosts;
		struct cost bc = { 0, 0 };
		int empty_seen = 0;
		for (size_t k = 0; k < in->hosts; k++) {
			const struct hset *h = &p->h[k];
			if (h->dumps >= in->max_dumps || (h->dumps == 0 && empty_seen++))
				continue;
			uint64_t added = in->nids[i] - hs_common(p, h, in->ids[i], in->nids[i]);
			struct cost c = { (int64_t)(over(h->n + added, in->cap) - over(h->n, in->cap)), (int64_t)added };
			if (best == in->hosts || cost_less(c, bc) ||
			    (!cost_less(bc, c) && h->n < p->h[best].n)) {
				best = k;
				bc = c;
			}
		}
		if (place_dump(p, i, best))
			return -1;
	}
	return 0;
}

/* the change of cost when a host of n contents ends with n2 */
static void host_change(struct cost *c, uint64_t n, uint64_t n2, uint64_t cap)
{
	c->over += (int64_t)over(n2, cap) - (int64_t)over(n, cap);
	c->total += (int64_t)n2 - (int64_t)n;
}

static int move(struct plan *p, size_t i, size_t to)
{
	hs_remove(p, &p->h[p->host[i]], p->in->ids[i], p->in->nids[i]);
	return place_dump(p, i, to);
}

/* Each dump in turn to the host where the cost drops most (lowest number
 * among equals), when it drops.  Returns moves made, -1 out of memory. */
static long move_pass(struct plan *p)
{
	const struct dd_place_in *in = p->in;
	long made = 0;
	for (size_t i = 0; i < in->n && !(p->cut = p->work >= in->budget); i++) {
		size_t a = p->host[i], best = in->hosts;
		const struct hset *ha = &p->h[a];
		uint64_t ua = hs_uniq(p, ha, in->ids[i], in->nids[i]);
		struct cost bc = { 0, 0 };
		int empty_seen = 0;
		for (size_t k = 0; k < in->hosts; k++) {
			const struct hset *hb = &p->h[k];
			if (k == a || hb->dumps >= in->max_dumps || (hb->dumps == 0 && empty_seen++))
				continue;
			struct cost c = { 0, 0 };
			host_change(&c, ha->n, ha->n - ua, in->cap);
			host_change(&c, hb->n, hb->n + in->nids[i] - hs_common(p, hb, in->ids[i], in->nids[i]), in->cap);
			if (cost_less(c, bc)) {
				best = k;
				bc = c;
			}
		}
		if (best < in->hosts) {
			if (move(p, i, best))
				return -1;
			made++;
		}
	}
	return made;
}

/* Every pair of dumps on two hosts, in order, swapped when the cost drops.
 * Returns swaps made, -1 out of memory. */
static long swap_pass(struct plan *p)
{
	const struct dd_place_in *in = p->in;
	long made = 0;
	for (size_t i = 0; i < in->n; i++)
		for (size_t j = i + 1; j < in->n && !(p->cut = p->work >= in->budget); j++) {
			size_t a = p->host[i], b = p->host[j];
			if (a == b)
				continue;
			const struct hset *ha = &p->h[a], *hb = &p->h[b];
			const uint32_t *ii = in->ids[i], *jj = in->ids[j];
			uint64_t ni = in->nids[i], nj = in->nids[j];
			uint64_t na = ha->n - hs_uniq(p, ha, ii, ni) + nj - hs_common_without(p, ha, jj, nj, ii, ni);
			uint64_t nb = hb->n - hs_uniq(p, hb, jj, nj) + ni - hs_common_without(p, hb, ii, ni, jj, nj);
			struct cost c = { 0, 0 }, zero = { 0, 0 };
			host_change(&c, ha->n, na, in->cap);
			host_change(&c, hb->n, nb, in->cap);
			if (!cost_less(c, zero))
				continue;
			if (move(p, i, b) || move(p, j, a))
				return -1;
			made++;
		}
	return made;
}

/* Moves, then swaps, until neither lowers the cost or the budget is spent. */
static int local_search(struct plan *p, struct dd_place_out *out)
{
	long m = 1, s = 1;
	while ((m > 0 || s > 0) && !p->cut) {
		if ((m = move_pass(p)) < 0 || (s = swap_pass(p)) < 0)
			return -1;
		out->moves += (uint64_t)m;
		out->swaps += (uint64_t)s;
	}
	out->complete = !p->cut;
	return 0;
}

static void plan_out(const struct plan *p, struct dd_place_out *out)
{
	memcpy(out->host, p->host, p->in->n * sizeof *out->host);
	struct cost c = plan_cost(p);
	for (size_t k = 0; k < p->in->hosts; k++)
		out->pages[k] = p->h[k].n;
	out->total = (uint64_t)c.total;
	out->overflow = (uint64_t)c.over;
}

int dd_place_first_fit(const struct dd_place_in *in, struct dd_place_out *out)
{
	struct plan p;
	if (plan_init(&p, in))
		return -1;
	int rc = first_fit(&p);
	if (!rc)
		plan_out(&p, out);
	plan_free(&p);
	return rc;
}

/* orders of the greedy starts: a key per dump, larger first, ties in the given order */
static int by_key_desc(const void *x, const void *y, void *arg)
{
	const int64_t *key = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	if (key[a] != key[b])
		return key[a] > key[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int start_order(const struct dd_place_in *in, enum dd_place_start s, size_t *ord)
{
	int64_t *key = malloc((in->n ? in->n : 1) * sizeof *key);
	if (!key)
		return -1;
	for (size_t i = 0; i < in->n; i++) {
		ord[i] = i;
		switch (s) {
		case DD_START_LARGEST: key[i] = (int64_t)in->nids[i]; break;
		case DD_START_SMALLEST: key[i] = -(int64_t)in->nids[i]; break;
		case DD_START_SHARED: key[i] = (int64_t)in->shared[i]; break;
		default: key[i] = 0; break;
		}
	}
	qsort_r(ord, in->n, sizeof *ord, by_key_desc, key);
	free(key);
	return 0;
}

/* plan number s of the starts */
static int start_plan(const struct dd_place_in *in, enum dd_place_start s, size_t *ord, struct plan *p)
{
	if (plan_init(p, in))
		return -1;
	int rc = s == DD_START_FIRST_FIT ? first_fit(p) : start_order(in, s, ord) ? -1 : greedy(p, ord);
	if (rc)
		plan_free(p);
	return rc;
}

int dd_place_shared(const struct dd_place_in *in, struct dd_place_out *out)
{
	size_t *ord = malloc((in->n ? in->n : 1) * sizeof *ord);
	if (!ord)
		return -1;
	struct plan best = { 0 };
	struct cost bc = { 0, 0 };
	uint64_t work = 0;
	int rc = 0;
	for (int s = 0; s < DD_NSTARTS && !rc; s++) {
		struct plan p;
		if ((rc = start_plan(in, (enum dd_place_start)s, ord, &p)))
			break;
		work += p.work;
		struct cost c = plan_cost(&p);
		if (!best.h || cost_less(c, bc)) {
			plan_free(&best);
			best = p;
			bc = c;
			out->start = (enum dd_place_start)s;
		} else
			plan_free(&p);
	}
	free(ord);
	if (!rc) {
		out->start_total = (uint64_t)bc.total;
		out->moves = out->swaps = 0;
		best.work = work;
		rc = local_search(&best, out);
	}
	if (!rc)
		plan_out(&best, out);
	plan_free(&best);
	return rc;
}

const char *dd_place_start_name(enum dd_place_start s)
{
	static const char *const names[] = { "given order", "largest first", "smallest first",
					      "most shared first", "first fit" };
	return s < DD_NSTARTS ? names[s] : "?";
}
