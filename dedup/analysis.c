/* Analyses beyond Table I (definitions in docs/analyses.md). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#define RMAP_ITEM_BYTES 64 /* sizeof(struct ksm_rmap_item) on 64-bit Linux */

/* ---- KSM ---- */

void dd_ksm_content(uint64_t k, uint32_t m, uint64_t *stable, uint64_t *sharing, uint64_t *unshared)
{
	/* q full stable pages of m mappings each, one more for a remainder of
	 * at least two; a remainder of one stays unshared */
	uint64_t q = k / m, r = k % m;
	*stable = q + (r >= 2);
	*unshared = r == 1;
	*sharing = k - *stable - *unshared;
}

struct ksm_acc {
	uint32_t m;
	struct dd_ksm *k;
};

static void ksm_add(struct dd_ksm *k, uint64_t copies, uint32_t m)
{
	uint64_t st, sh, un;
	dd_ksm_content(copies, m, &st, &sh, &un);
	k->pages_shared += st;
	k->pages_sharing += sh;
	k->pages_unshared += un;
	if (copies > m) {
		k->stable_node_chains++;
		k->stable_node_dups += st;
	}
}

static int ksm_fn(const struct dd_entry *e, void *arg)
{
	struct ksm_acc *a = arg;
	ksm_add(a->k, e->count, a->m);
	return 0;
}

void dd_ksm_predict(const struct dd_engine *e, uint32_t m, int use_zero_pages, struct dd_ksm *k)
{
	struct dd_totals t;
	char why[8];
	memset(k, 0, sizeof *k);
	if (m < 2)
		m = 2;
	k->max_page_sharing = m;
	k->use_zero_pages = use_zero_pages;
	dd_engine_totals(e, &t, why, sizeof why);
	struct ksm_acc a = { m, k };
	dd_table_each(dd_engine_table(e), ksm_fn, &a);
	if (use_zero_pages)
		k->ksm_zero_pages = t.zero_pages;
	else if (t.zero_pages)
		ksm_add(k, t.zero_pages, m);
	k->rmap_items = t.pages;
	k->saved_bytes = (k->pages_sharing + k->ksm_zero_pages) * (uint64_t)t.page_size;
	k->general_profit = (int64_t)k->saved_bytes - (int64_t)(k->rmap_items * RMAP_ITEM_BYTES);
}

/* ---- sharing degree ---- */

static size_t bucket_of(uint64_t k)
{
	/* 1 | 2 | 3-4 | 5-8 | ... : bucket b holds (2^(b-1), 2^b] */
	size_t b = 0;
	while (((uint64_t)1 << b) < k)
		b++;
	return b;
}

struct degree_acc {
	struct dd_degree *d;
	struct dd_top *heap; /* min-heap on copies of the best top_n */
	size_t n, cap;
};

static int top_less(const struct dd_top *a, const struct dd_top *b)
{
	if (a->copies != b->copies)
		return a->copies < b->copies;
	return memcmp(a->key, b->key, DD_KEY) > 0;
}

static void heap_down(struct dd_top *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && top_less(&h[l], &h[m]))
			m = l;
		if (r < n && top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct dd_top t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_up(struct dd_top *h, size_t i)
{
	while (i && top_less(&h[i], &h[(i - 1) / 2])) {
		struct dd_top t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void top_offer(struct degree_acc *a, const struct dd_top *c)
{
	if (!a->cap)
		return;
	if (a->n < a->cap) {
		a->heap[a->n] = *c;
		heap_up(a->heap, a->n++);
	} else if (top_less(&a->heap[0], c)) {
		a->heap[0] = *c;
		heap_down(a->heap, a->n, 0);
	}
}

static void degree_add(struct dd_degree *d, uint64_t copies)
{
	size_t b = bucket_of(copies);
	d->b[b].contents++;
	d->b[b].pages += copies;
}

static int degree_fn(const struct dd_entry *e, void *arg)
{
	struct degree_acc *a = arg;
	degree_add(a->d, e->count);
	struct dd_top t;
	memset(&t, 0, sizeof t);
	memcpy(t.key, e->key, DD_KEY);
	t.copies = e->count;
	t.dumps = e->ndumps;
	t.cls = (enum dd_class)e->cls;
	top_offer(a, &t);
	return 0;
}

static int top_cmp(const void *x, const void *y)
{
	const struct dd_top *a = x, *b = y;
	return top_less(a, b) ? 1 : top_less(b, a) ? -1 : 0;
}

int dd_degree_compute(const struct dd_engine *e, size_t top_n, struct dd_degree *d)
{
	memset(d, 0, sizeof *d);
	for (size_t b = 0; b < 33; b++) {
		d->b[b].lo = b == 0 ? 1 : ((uint64_t)1 << (b - 1)) + 1;
		d->b[b].hi = (uint64_t)1 << b;
	}
	struct degree_acc a = { d, NULL, 0, top_n };
	if (top_n && !(a.heap = calloc(top_n, sizeof *a.heap)))
		return -1;
	dd_table_each(dd_engine_table(e), degree_fn, &a);
	/* the zero content: every zero page of every dump */
	struct dd_top z;
	memset(&z, 0, sizeof z);
	z.zero = 1;
	z.cls = DD_CLASS_ZERO;
	for (size_t i = 0; i < dd_engine_ndumps(e); i++) {
		uint64_t zp = dd_engine_dump(e, i)->st.zero_pages;
		z.copies += zp;
		z.dumps += zp > 0;
	}
	if (z.copies)
		top_offer(&a, &z);
	qsort(a.heap, a.n, sizeof *a.heap, top_cmp);
	d->top = a.heap;
	d->ntop = a.n;
	d->nb = 0;
	for (size_t b = 0; b < 33; b++)
		if (d->b[b].contents)
			d->nb = b + 1;
	return 0;
}

void dd_degree_free(struct dd_degree *d)
{
	free(d->top);
	d->top = NULL;
}

/* ---- set operations on sorted id lists ---- */

static uint64_t count_common(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb)
{
	uint64_t i = 0, j = 0, c = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else {
			c++;
			i++;
			j++;
		}
	}
	return c;
}

/* union of a and b into a new array; NULL when out of memory */
static uint32_t *merge_union(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb, uint64_t *n)
{
	uint32_t *o = malloc((na + nb ? na + nb : 1) * sizeof *o);
	if (!o)
		return NULL;
	uint64_t i = 0, j = 0, k = 0;
	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i] < b[j]))
			o[k++] = a[i++];
		else if (i == na || b[j] < a[i])
			o[k++] = b[j++];
		else {
			o[k++] = a[i++];
			j++;
		}
	}
	*n = k;
	return o;
}

/* ---- TPS salting ---- */

int dd_tps_compute(const struct dd_engine *e, const size_t *group, size_t ngroups, struct dd_tps *t)
{
	struct dd_totals tot;
	char why[8];
	memset(t, 0, sizeof *t);
	dd_engine_totals(e, &tot, why, sizeof why);
	t->nonzero = tot.nonzero_pages;
	t->zero = tot.zero_pages;
	t->full_distinct = tot.distinct_pages;
	t->intra_distinct = tot.sum_distinct;
	t->ngroups = ngroups;
	size_t nd = dd_engine_ndumps(e);
	for (size_t g = 0; g < ngroups; g++) {
		uint32_t *u = NULL;
		uint64_t nu = 0;
		for (size_t i = 0; i < nd; i++) {
			if (group[i] != g)
				continue;
			const struct dd_dump_data *dd = dd_engine_dump(e, i);
			uint64_t n2;
			uint32_t *m = merge_union(u, nu, dd->ids, dd->nids, &n2);
			free(u);
			if (!m)
				return -1;
			u = m;
			nu = n2;
		}
		t->salted_distinct += nu;
		free(u);
	}
	t->full_saved = t->nonzero - t->full_distinct;
	t->salted_saved = t->nonzero - t->salted_distinct;
	t->intra_saved = t->nonzero - t->intra_distinct;
	return 0;
}

/* ---- pairs ---- */

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

int dd_pairs_compute(const struct dd_engine *e, struct dd_pair **out, size_t *n)
{
	size_t nd = dd_engine_ndumps(e), np = nd * (nd - (nd > 0)) / 2, k = 0;
	struct dd_pair *p = calloc(np ? np : 1, sizeof *p);
	if (!p)
		return -1;
	for (size_t a = 0; a < nd; a++)
		for (size_t b = a + 1; b < nd; b++, k++) {
			const struct dd_dump_data *x = dd_engine_dump(e, a), *y = dd_engine_dump(e, b);
			struct dd_pair *q = &p[k];
			q->a = a;
			q->b = b;
			q->common = count_common(x->ids, x->nids, y->ids, y->nids);
			q->a_pages = pages_in_common(x, y);
			q->b_pages = pages_in_common(y, x);
			q->unioned = x->nids + y->nids - q->common;
			q->jaccard = q->unioned ? (double)q->common / (double)q->unioned : 0;
			q->saved_together = x->st.nonzero_pages + y->st.nonzero_pages - q->unioned;
		}
	*out = p;
	*n = np;
	return 0;
}

/* ---- placement ---- */

struct host {
	uint32_t *ids;
	uint64_t n;
	size_t dumps;
};

static const struct dd_engine *sort_engine;
static int by_distinct_desc(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	uint64_t na = dd_engine_dump(sort_engine, a)->nids, nb = dd_engine_dump(sort_engine, b)->nids;
	if (na != nb)
		return na > nb ? -1 : 1;
	return a < b ? -1 : a > b;
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
	if (greedy) {
		sort_engine = e;
		qsort(ord, nd, sizeof *ord, by_distinct_desc);
	}
	*fits = 1;
	int rc = 0;
	for (size_t oi = 0; oi < nd && !rc; oi++) {
		size_t i = ord[oi];
		const struct dd_dump_data *dd = dd_engine_dump(e, i);
		size_t best = hosts;
		uint64_t best_new = UINT64_MAX;
		for (size_t k = 0; k < hosts; k++) {
			if (h[k].dumps >= max_dumps)
				continue;
			uint64_t common = count_common(h[k].ids, h[k].n, dd->ids, dd->nids);
			uint64_t added = dd->nids - common;
			if (cap_pages && h[k].n + added > cap_pages)
				continue;
			if (!greedy) { /* first fit */
				best = k;
				break;
			}
			if (added < best_new || (added == best_new && h[k].n < h[best].n)) {
				best = k;
				best_new = added;
			}
		}
		if (best == hosts) {
			/* nothing has room: the least loaded host takes it, and the plan does not fit */
			*fits = 0;
			best = 0;
			for (size_t k = 1; k < hosts; k++)
				if (h[k].dumps < h[best].dumps || (h[k].dumps == h[best].dumps && h[k].n < h[best].n))
					best = k;
		}
		uint64_t n2;
		uint32_t *u = merge_union(h[best].ids, h[best].n, dd->ids, dd->nids, &n2);
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

int dd_place_compute(const struct dd_engine *e, size_t hosts, uint64_t cap_bytes, struct dd_placement *p)
{
	memset(p, 0, sizeof *p);
	size_t nd = dd_engine_ndumps(e);
	uint32_t ps = dd_engine_page_size(e);
	if (hosts == 0)
		return -1;
	p->hosts = hosts;
	p->cap_bytes = cap_bytes;
	p->greedy_host = calloc(nd ? nd : 1, sizeof *p->greedy_host);
	p->naive_host = calloc(nd ? nd : 1, sizeof *p->naive_host);
	p->greedy_mem = calloc(hosts, sizeof *p->greedy_mem);
	p->naive_mem = calloc(hosts, sizeof *p->naive_mem);
	if (!p->greedy_host || !p->naive_host || !p->greedy_mem || !p->naive_mem)
		return -1;
	size_t max_dumps = (nd + hosts - 1) / hosts;
	uint64_t cap_pages = cap_bytes / ps;
	if (cap_bytes && !cap_pages)
		cap_pages = 1;
	if (place(e, hosts, cap_pages, max_dumps, 1, p->greedy_host, p->greedy_mem, &p->greedy_fits) ||
	    place(e, hosts, cap_pages, max_dumps, 0, p->naive_host, p->naive_mem, &p->naive_fits))
		return -1;
	for (size_t k = 0; k < hosts; k++) {
		p->greedy_mem[k] *= ps;
		p->naive_mem[k] *= ps;
		p->greedy_total += p->greedy_mem[k];
		p->naive_total += p->naive_mem[k];
	}
	return 0;
}

void dd_place_free(struct dd_placement *p)
{
	free(p->greedy_host);
	free(p->naive_host);
	free(p->greedy_mem);
	free(p->naive_mem);
	memset(p, 0, sizeof *p);
}

/* ---- huge pages ---- */

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

int dd_huge_compute(const struct dd_engine *e, uint64_t huge_bytes, struct dd_huge *h)
{
	const struct dd_table *t = dd_engine_table(e);
	uint32_t ps = dd_engine_page_size(e);
	size_t nd = dd_engine_ndumps(e);
	memset(h, 0, sizeof *h);
	h->huge_bytes = huge_bytes;
	uint64_t per = huge_bytes / ps;
	if (per < 2)
		return -1;
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
	struct region *r = NULL;
	size_t nr = 0, cap = 0;
	for (size_t i = 0; i < nd; i++) {
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
	h->regions = nr;
	struct dd_totals tot;
	char why[8];
	dd_engine_totals(e, &tot, why, sizeof why);
	h->saved_4k = tot.nonzero_pages - tot.distinct_pages;

	/* whole identical regions shared as huge pages, nothing split: equal
	 * signatures, then equal id sequences */
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
			h->identical_saved += nonzero;
		}
	}

	/* split in order of score; count what 4 KiB sharing then saves */
	qsort(r, nr, sizeof *r, by_score_desc);
	uint32_t *in_split = calloc(ncontents ? ncontents : 1, sizeof *in_split);
	if (!in_split) {
		free(r);
		return -1;
	}
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
	for (size_t i = 0; i < nr; i++)
		h->regions_shareable += r[i].score > 0;
	free(in_split);
	free(r);
	return 0;
}

/* ---- diff ---- */

int dd_diff_compute(const struct dd_engine *e, struct dd_diff *d)
{
	memset(d, 0, sizeof *d);
	if (dd_engine_ndumps(e) != 2)
		return -1;
	const struct dd_dump_data *a = dd_engine_dump(e, 0), *b = dd_engine_dump(e, 1);
	d->before_pages = a->npages;
	d->after_pages = b->npages;
	uint64_t i = 0, j = 0;
	while (i < a->npages || j < b->npages) {
		if (j == b->npages || (i < a->npages && a->pfn[i] < b->pfn[j])) {
			d->gone++;
			i++;
		} else if (i == a->npages || b->pfn[j] < a->pfn[i]) {
			d->added++;
			j++;
		} else {
			if (a->pid[i] == b->pid[j]) {
				d->unchanged++;
				d->unchanged_zero += a->pid[i] == DD_ID_ZERO;
			} else
				d->changed++;
			i++;
			j++;
		}
	}
	d->after_contents = b->nids;
	d->contents_kept = count_common(a->ids, a->nids, b->ids, b->nids);
	return 0;
}
