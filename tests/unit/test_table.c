/* Content table and engine totals: counts known by construction. */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "tap.h"

static void digest_of(uint32_t k, uint8_t d[DD_DIGEST])
{
	/* spread k over the digest like a real hash would */
	uint64_t x = k * 0x9E3779B97F4A7C15ull + 1;
	for (int i = 0; i < DD_DIGEST; i++) {
		x ^= x >> 29;
		x *= 0xBF58476D1CE4E5B9ull;
		d[i] = (uint8_t)(x >> 56);
	}
}

static int sum_fn(const struct dd_entry *e, void *arg)
{
	uint64_t *s = arg;
	s[0] += e->count;
	s[1] += e->ndumps;
	s[2]++;
	return 0;
}

int main(void)
{
	uint8_t d[DD_DIGEST];

	/* one table: 100000 contents, content k added k % 7 + 1 times */
	struct dd_table *t = dd_table_new();
	uint64_t added = 0, news = 0;
	for (uint32_t k = 0; k < 100000; k++) {
		digest_of(k, d);
		for (uint32_t c = 0; c < k % 7 + 1; c++) {
			int r = dd_table_add(t, d, 1);
			news += r == 1;
			added++;
		}
	}
	is_u64(dd_table_size(t), 100000, "100000 distinct contents");
	is_u64(news, 100000, "each reported new exactly once");
	uint64_t s[3] = { 0, 0, 0 };
	dd_table_each(t, sum_fn, s);
	is_u64(s[0], added, "copies add up");
	is_u64(s[2], 100000, "iteration visits every entry once");
	ok(dd_table_bytes(t) / 100000 < 100, "memory per distinct content: %llu bytes",
	   (unsigned long long)(dd_table_bytes(t) / 100000));

	/* merging two per-dump tables into a global one */
	struct dd_table *g = dd_table_new(), *a = dd_table_new(), *b = dd_table_new();
	for (uint32_t k = 0; k < 1000; k++) { /* a: contents 0..999, twice each */
		digest_of(k, d);
		dd_table_add(a, d, 2);
	}
	for (uint32_t k = 500; k < 1500; k++) { /* b: contents 500..1499, once each */
		digest_of(k, d);
		dd_table_add(b, d, 1);
	}
	ok(dd_table_merge_dump(g, a) == 0 && dd_table_merge_dump(g, b) == 0, "merge two dumps");
	is_u64(dd_table_size(g), 1500, "global distinct = |a u b|");
	memset(s, 0, sizeof s);
	dd_table_each(g, sum_fn, s);
	is_u64(s[0], 3000, "global copies = 2000 + 1000");
	is_u64(s[1], 2000, "(content, dump) pairs = 1000 + 1000");

	/* a counter never wraps: the add is refused */
	struct dd_table *o = dd_table_new();
	digest_of(1, d);
	ok(dd_table_add(o, d, UINT32_MAX - 1) == 1, "near-full counter accepted");
	ok(dd_table_add(o, d, 1) == 0, "up to 2^32-1 copies");
	ok(dd_table_add(o, d, 1) == -1, "one more is refused, not wrapped");

	dd_table_free(t);
	dd_table_free(g);
	dd_table_free(a);
	dd_table_free(b);
	dd_table_free(o);
	dd_table_free(NULL);
	return tap_done();
}
