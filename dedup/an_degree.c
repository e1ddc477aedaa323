/* Sharing degree: non-zero contents and pages by copies over all dumps
 * (1, 2, 3-4, 5-8, ...), and the most duplicated contents
 * (docs/analyses.md, "Sharing degree"). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define NBUCKETS 33
#define DEFAULT_TOP 10

struct bucket {
	uint64_t lo, hi, contents, pages;
};

struct top {
	uint8_t key[DD_KEY];
	uint64_t copies, dumps;
	enum dd_class cls;
	int zero; /* the all-zero content (not in the table) */
};

struct degree {
	size_t top_n; /* setting */
	struct bucket b[NBUCKETS];
	size_t nb;
	struct top *top;
	size_t ntop;
};

static const char *degree_option(void *st, size_t i, const char *arg)
{
	struct degree *d = st;
	uint64_t v;
	if (i == 0) { /* --degree */
		if (!d->top_n)
			d->top_n = DEFAULT_TOP;
		return NULL;
	}
	/* --top=N */
	if (!cm_parse_u64(arg, &v) || v > 1000000)
		return "invalid --top '%s'";
	d->top_n = (size_t)v;
	return NULL;
}

static size_t bucket_of(uint64_t k)
{
	/* 1 | 2 | 3-4 | 5-8 | ... : bucket b holds (2^(b-1), 2^b] */
	size_t b = 0;
	while (((uint64_t)1 << b) < k)
		b++;
	return b;
}

struct degree_acc {
	struct degree *d;
	struct top *heap; /* min-heap on copies of the best top_n */
	size_t n, cap;
};

static int top_less(const struct top *a, const struct top *b)
{
	if (a->copies != b->copies)
		return a->copies < b->copies;
	return memcmp(a->key, b->key, DD_KEY) > 0;
}

static void heap_swap(struct top *h, size_t i, size_t j)
{
	struct top t = h[i];
	h[i] = h[j];
	h[j] = t;
}

static void heap_down(struct top *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && top_less(&h[l], &h[m]))
			m = l;
		if (r < n && top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static void heap_up(struct top *h, size_t i)
{
	while (i && top_less(&h[i], &h[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void top_offer(struct degree_acc *a, const struct top *c)
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

static int degree_fn(const struct dd_entry *e, void *arg)
{
	struct degree_acc *a = arg;
	size_t b = bucket_of(e->count);
	a->d->b[b].contents++;
	a->d->b[b].pages += e->count;
	struct top t;
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
	const struct top *a = x, *b = y;
	return top_less(a, b) ? 1 : top_less(b, a) ? -1 : 0;
}

/* counters: contents and pages of each bucket */
static size_t degree_nsum(const void *st, size_t n)
{
	(void)st;
	(void)n;
	return 2 * NBUCKETS;
}

/* the histogram of the table (a slice) and its most duplicated contents */
static int degree_part(void *st, const struct dd_an_input *in, uint64_t *sum, void **rec, size_t *nrec, char *err,
		       size_t errlen)
{
	(void)err;
	(void)errlen;
	struct degree *d = st, p;
	memset(&p, 0, sizeof p);
	struct degree_acc a = { &p, NULL, 0, d->top_n };
	if (d->top_n && !(a.heap = calloc(d->top_n, sizeof *a.heap)))
		return -1;
	dd_table_each(dd_engine_table(in->e), degree_fn, &a);
	for (size_t b = 0; b < NBUCKETS; b++) {
		sum[2 * b] += p.b[b].contents;
		sum[2 * b + 1] += p.b[b].pages;
	}
	*rec = a.heap;
	*nrec = a.n;
	return 0;
}

/* every slice's histogram and candidates, and the zero content */
static int degree_merge(void *st, const struct dd_an_input *in, const uint64_t *sum, const void *rec, size_t nrec,
			char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct degree *d = st;
	for (size_t b = 0; b < NBUCKETS; b++) {
		d->b[b].lo = b == 0 ? 1 : ((uint64_t)1 << (b - 1)) + 1;
		d->b[b].hi = (uint64_t)1 << b;
		d->b[b].contents = sum[2 * b];
		d->b[b].pages = sum[2 * b + 1];
	}
	struct degree_acc a = { d, NULL, 0, d->top_n };
	if (d->top_n && !(a.heap = calloc(d->top_n, sizeof *a.heap)))
		return -1;
	const struct top *cand = rec;
	for (size_t i = 0; i < nrec; i++)
		top_offer(&a, &cand[i]);
	/* the zero content: every zero page of every dump */
	struct top z;
	memset(&z, 0, sizeof z);
	z.zero = 1;
	z.cls = DD_CLASS_ZERO;
	for (size_t i = 0; i < in->n; i++) {
		uint64_t zp = in->rows[i].st.zero_pages;
		z.copies += zp;
		z.dumps += zp > 0;
	}
	if (z.copies)
		top_offer(&a, &z);
	if (a.n)
		qsort(a.heap, a.n, sizeof *a.heap, top_cmp);
	free(d->top);
	d->top = a.heap;
	d->ntop = a.n;
	d->nb = 0;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (d->b[b].contents)
			d->nb = b + 1;
	return 0;
}

/* the key in hex, or "zero" for the zero content */
static const char *top_key(char *buf, const struct top *t)
{
	if (t->zero)
		return "zero";
	for (int i = 0; i < DD_KEY; i++)
		sprintf(buf + 2 * i, "%02x", t->key[i]);
	return buf;
}

/* "5-8", or "2" for a bucket of one value */
static const char *bucket_label(char *r, size_t len, const struct bucket *b)
{
	if (b->lo == b->hi)
		snprintf(r, len, "%llu", (unsigned long long)b->lo);
	else
		snprintf(r, len, "%llu-%llu", (unsigned long long)b->lo, (unsigned long long)b->hi);
	return r;
}

static void degree_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct degree *d = st;
	fprintf(f, "\nSharing degree (non-zero contents by copies over all dumps):\n");
	fprintf(f, "  %-17s %12s %12s %7s\n", "copies", "contents", "pages", "pages%");
	uint64_t total = 0;
	for (size_t b = 0; b < d->nb; b++)
		total += d->b[b].pages;
	for (size_t b = 0; b < d->nb; b++) {
		if (!d->b[b].contents)
			continue;
		char r[40];
		fprintf(f, "  %-17s %12llu %12llu %6.1f%%\n", bucket_label(r, sizeof r, &d->b[b]),
			(unsigned long long)d->b[b].contents, (unsigned long long)d->b[b].pages,
			cm_pct(d->b[b].pages, total));
	}
	if (!d->ntop)
		return;
	fprintf(f, "\nMost duplicated contents:\n");
	fprintf(f, "  %4s %-32s %10s %6s  %s\n", "rank", "key", "copies", "dumps", "class");
	for (size_t i = 0; i < d->ntop; i++) {
		char k[2 * DD_KEY + 1];
		fprintf(f, "  %4zu %-32s %10llu %6llu  %s\n", i + 1, top_key(k, &d->top[i]),
			(unsigned long long)d->top[i].copies, (unsigned long long)d->top[i].dumps,
			dd_class_name(d->top[i].cls));
	}
}

static void degree_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct degree *d = st;
	fprintf(f, ",\n  \"degree\": [");
	int first = 1;
	for (size_t b = 0; b < d->nb; b++) {
		if (!d->b[b].contents)
			continue;
		fprintf(f, "%s{\"copies_min\": %llu, \"copies_max\": %llu, \"contents\": %llu, \"pages\": %llu}",
			first ? "" : ", ", (unsigned long long)d->b[b].lo, (unsigned long long)d->b[b].hi,
			(unsigned long long)d->b[b].contents, (unsigned long long)d->b[b].pages);
		first = 0;
	}
	fprintf(f, "],\n  \"top\": [");
	for (size_t i = 0; i < d->ntop; i++) {
		char k[2 * DD_KEY + 1];
		fprintf(f, "%s\n    {\"key\": \"%s\", \"copies\": %llu, \"dumps\": %llu, \"class\": \"%s\"}",
			i ? "," : "", top_key(k, &d->top[i]), (unsigned long long)d->top[i].copies,
			(unsigned long long)d->top[i].dumps, dd_class_name(d->top[i].cls));
	}
	fprintf(f, "%s]", d->ntop ? "\n  " : "");
}

static void degree_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct degree *d = st;
	fprintf(f, "\nanalysis,copies_min,copies_max,contents,pages\n");
	for (size_t b = 0; b < d->nb; b++)
		if (d->b[b].contents)
			fprintf(f, "degree,%llu,%llu,%llu,%llu\n", (unsigned long long)d->b[b].lo,
				(unsigned long long)d->b[b].hi, (unsigned long long)d->b[b].contents,
				(unsigned long long)d->b[b].pages);
	fprintf(f, "\nanalysis,rank,key,copies,dumps,class\n");
	for (size_t i = 0; i < d->ntop; i++) {
		char k[2 * DD_KEY + 1];
		fprintf(f, "top,%zu,%s,%llu,%llu,%s\n", i + 1, top_key(k, &d->top[i]),
			(unsigned long long)d->top[i].copies, (unsigned long long)d->top[i].dumps,
			dd_class_name(d->top[i].cls));
	}
}

static void degree_free(void *st)
{
	struct degree *d = st;
	free(d->top);
	d->top = NULL;
	d->ntop = 0;
}

static const struct dd_an_option degree_opts[] = { { "degree", DD_AN_NO_ARG }, { "top", DD_AN_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_degree = {
	.name = "degree", .opts = degree_opts, .size = sizeof(struct degree),
	.flags = DD_AN_IN_ALL, .collect = DD_COLLECT_CLASS,
	.option = degree_option, .rec_size = sizeof(struct top), .nsum = degree_nsum,
	.part = degree_part, .merge = degree_merge, .text = degree_text, .json = degree_json,
	.csv = degree_csv, .free = degree_free,
	.help = "      --degree          copies-per-content histogram and most duplicated contents\n"
		"      --top=N           how many most duplicated contents (default 10; implies --degree)\n",
};
