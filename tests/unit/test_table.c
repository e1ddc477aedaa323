/* Content table: counts, commit and rollback, memory per distinct content,
 * classification of page contents.  Numbers known by construction. */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "tap.h"

static void key_of(uint32_t k, uint8_t d[DD_KEY])
{
	/* spread k over the key like a real hash would */
	uint64_t x = k * 0x9E3779B97F4A7C15ull + 1;
	for (int i = 0; i < DD_KEY; i++) {
		x ^= x >> 29;
		x *= 0xBF58476D1CE4E5B9ull;
		d[i] = (uint8_t)(x >> 56);
	}
}

struct seen_ids {
	uint32_t id[8], copies[8];
	int n;
};

static void collect_cb(uint32_t id, uint32_t copies, void *arg)
{
	struct seen_ids *s = arg;
	if (s->n < 8) {
		s->id[s->n] = id;
		s->copies[s->n++] = copies;
	}
}

struct sums {
	uint64_t count, ndumps, entries, cur;
};

static int sum_fn(const struct dd_entry *e, void *arg)
{
	struct sums *s = arg;
	s->count += e->count;
	s->ndumps += e->ndumps;
	s->cur += e->cur;
	s->entries++;
	return 0;
}

static struct sums sums(const struct dd_table *t)
{
	struct sums s = { 0, 0, 0, 0 };
	dd_table_each(t, sum_fn, &s);
	return s;
}

int main(void)
{
	uint8_t d[DD_KEY];

	/* one dump: 1,000,000 contents, content k added k % 7 + 1 times */
	struct dd_table *t = dd_table_new();
	uint64_t added = 0, firsts = 0;
	const uint32_t N = 1000000;
	for (uint32_t k = 0; k < N; k++) {
		key_of(k, d);
		for (uint32_t c = 0; c < k % 7 + 1; c++) {
			firsts += dd_table_add(t, d, NULL, 0, NULL) == 1;
			added++;
		}
	}
	is_u64(dd_table_size(t), N, "1e6 distinct contents");
	is_u64(firsts, N, "first copy in the dump reported once per content");
	ok(dd_table_commit(t, NULL, NULL) == 0, "commit");
	struct sums s = sums(t);
	is_u64(s.count, added, "copies add up");
	is_u64(s.ndumps, N, "each content in one dump");
	is_u64(s.cur, 0, "nothing left in the current dump after commit");
	double per = (double)dd_table_bytes(t) / N;
	ok(per <= 40.0, "memory per distinct content %.1f bytes (<= 40)", per);
	/* a small table too (30,000 contents, about 117 per shard, all in
	 * the shards' first blocks) */
	struct dd_table *sm = dd_table_new();
	for (uint32_t k = 0; k < 30000; k++) {
		key_of(k, d);
		dd_table_add(sm, d, NULL, 0, NULL);
	}
	per = (double)dd_table_bytes(sm) / 30000;
	ok(per <= 40.0, "small table: memory per distinct content %.1f bytes (<= 40)", per);
	dd_table_free(sm);

	for (uint32_t k = 0; k < 1000; k++) {
		key_of(k, d);
		dd_table_add(t, d, NULL, 0, NULL); /* old contents: cur 1 */
	}
	ok(dd_table_rollback(t) == 0, "rollback of a dump that only touched old contents");
	s = sums(t);
	is_u64(s.count, added, "rollback leaves old counts alone");
	is_u64(s.cur, 0, "rollback clears the current dump");
	is_u64(dd_table_size(t), N, "and creates nothing");

	/* a second dump: contents N-500000 .. N+499999, once each, then rolled back */
	for (uint32_t k = N - 500000; k < N + 500000; k++) {
		key_of(k, d);
		dd_table_add(t, d, NULL, 0, NULL);
	}
	is_u64(dd_table_size(t), N + 500000, "second dump adds 500000 contents");
	ok(dd_table_rollback(t) == 0, "roll it back");
	is_u64(dd_table_size(t), N, "its new contents are gone");
	key_of(N + 10, d);
	is_u64(dd_table_add(t, d, NULL, 0, NULL), 1, "a dropped content can be added again");
	key_of(5, d);
	is_u64(dd_table_add(t, d, NULL, 0, NULL), 1, "an old content is new to the current dump");
	is_u64(dd_table_add(t, d, NULL, 0, NULL), 0, "then not any more");
	ok(dd_table_commit(t, NULL, NULL) == 0, "commit the third dump");
	s = sums(t);
	is_u64(s.count, added + 3, "copies of three dumps minus the rolled back one");
	is_u64(s.ndumps, N + 2, "(content, dump) pairs");
	is_u64(dd_table_size(t), N + 1, "distinct contents");
	int found_all = 1;
	for (uint32_t k = 0; k < N; k += 997) {
		key_of(k, d);
		if (dd_table_add(t, d, NULL, 0, NULL) != 1)
			found_all = 0;
	}
	ok(found_all, "every old content is found after the index was rebuilt");
	dd_table_rollback(t);

	/* ids round-trip: the id dd_table_add gives finds the same key, old
	 * contents (in the table's large blocks) and new ones alike */
	int ids = 1;
	for (uint32_t k = 0; k < N + 20000; k += 499) {
		uint32_t id;
		key_of(k, d);
		dd_table_add(t, d, NULL, 0, &id);
		const struct dd_entry *e = dd_table_get(t, id);
		if (!e || memcmp(e->key, d, DD_KEY) != 0)
			ids = 0;
	}
	ok(ids, "entry ids round-trip");
	ok(dd_table_get(t, 0xff000000u | 0xffffff) == NULL, "an id past the end is NULL");
	dd_table_rollback(t);

	/* commit reports each content of the dump once, ascending ids, with its copies */
	struct dd_table *c = dd_table_new();
	uint32_t cids[3];
	for (uint32_t k = 0; k < 3; k++) {
		key_of(k + 7, d);
		for (uint32_t n = 0; n <= k; n++)
			dd_table_add(c, d, NULL, 0, &cids[k]);
	}
	struct seen_ids sn = { .n = 0 };
	ok(dd_table_commit(c, collect_cb, &sn) == 0 && sn.n == 3, "commit reports 3 contents");
	int asc = 1, match = 0;
	for (int i = 0; i < sn.n; i++) {
		if (i && sn.id[i] <= sn.id[i - 1])
			asc = 0;
		for (uint32_t k = 0; k < 3; k++)
			match += sn.id[i] == cids[k] && sn.copies[i] == k + 1;
	}
	ok(asc, "in ascending id order");
	is_u64(match, 3, "with the ids dd_table_add gave and their copies");
	dd_table_free(c);

	/* groups of one shard's keys under one lock: the same table as one
	 * key at a time, the first copies in the dump counted */
	struct dd_table *ga = dd_table_new(), *gb = dd_table_new();
	uint8_t grp[256][12][DD_KEY];
	uint32_t gn[256][12], ng[256] = { 0 };
	uint64_t gfirst = 0, afirst = 0;
	int grc = 0;
	for (uint32_t k = 0; k < 40000; k++) {
		key_of(k % 25000, d); /* 15,000 contents twice */
		uint32_t copies = k % 3 + 1;
		afirst += dd_table_add_n(ga, d, DD_CLASS_OTHER, copies, NULL) == 1;
		uint8_t sh = d[0];
		memcpy(grp[sh][ng[sh]], d, DD_KEY);
		gn[sh][ng[sh]++] = copies;
		if (ng[sh] == 12) {
			int r = dd_table_add_group(gb, (const uint8_t (*)[DD_KEY])grp[sh], gn[sh], 12);
			grc |= r < 0;
			gfirst += r > 0 ? (uint64_t)r : 0;
			ng[sh] = 0;
		}
	}
	for (int sh = 0; sh < 256; sh++)
		if (ng[sh]) {
			int r = dd_table_add_group(gb, (const uint8_t (*)[DD_KEY])grp[sh], gn[sh], ng[sh]);
			grc |= r < 0;
			gfirst += r > 0 ? (uint64_t)r : 0;
		}
	ok(!grc, "groups added");
	is_u64(afirst, 25000, "one at a time: 25,000 first copies");
	is_u64(gfirst, 25000, "in groups: the same 25,000 first copies");
	is_u64(dd_table_size(gb), dd_table_size(ga), "the same number of contents");
	dd_table_commit(ga, NULL, NULL);
	dd_table_commit(gb, NULL, NULL);
	struct sums sa = sums(ga), sb = sums(gb);
	is_u64(sb.count, sa.count, "the same copies (%llu)", (unsigned long long)sa.count);
	is_u64(sb.ndumps, 25000, "each content in the one dump");
	dd_table_free(ga);
	dd_table_free(gb);

	/* classification */
	uint8_t page[4096];
	memset(page, 0, sizeof page);
	is_u64(dd_classify(page, 4096), DD_CLASS_ZERO, "all zero");
	memset(page, 0xa5, sizeof page);
	is_u64(dd_classify(page, 4096), DD_CLASS_BYTE, "one repeated byte");
	for (int i = 0; i < 4096; i++)
		page[i] = (uint8_t)i; /* memload's content */
	is_u64(dd_classify(page, 4096), DD_CLASS_PATTERN, "i mod 256 is a repeating pattern");
	for (int i = 0; i < 4096; i++)
		page[i] = "abcdefg hij\n"[i % 12];
	is_u64(dd_classify(page, 4096), DD_CLASS_TEXT, "text with a period that does not divide the page");
	uint32_t x = 2463534242u;
	for (int i = 0; i < 4096; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		page[i] = (uint8_t)x;
	}
	is_u64(dd_classify(page, 4096), DD_CLASS_OTHER, "other");
	is_str(dd_class_name(DD_CLASS_PATTERN), "repeating pattern", "class names");

	dd_table_free(t);
	dd_table_free(NULL);
	return tap_done();
}
