/* A worker's copies on their way into the content table (copies.c): two
 * workers' hot slots and stages, small and large stages in dumps one after
 * the other with the same copies objects, and contents added one at a time
 * with their ids.  Every count is checked against a plain count of the
 * keys that went in. */
#include <stdlib.h>
#include <string.h>

#include "copies.h"
#include "tap.h"

#define POOL 60000     /* distinct contents to draw from */
#define COPIES 250000  /* copies added per dump */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { return tap_xorshift(&rng); }

/* content k's key: spread like a hash, with k itself in bytes 8..11 */
static void key_of(uint32_t k, uint8_t key[DD_DIGEST])
{
	uint64_t x = k * 0xBF58476D1CE4E5B9ull + 7;
	for (int i = 0; i < DD_DIGEST; i++) {
		x ^= x >> 31;
		x *= 0x94D049BB133111EBull;
		key[i] = (uint8_t)(x >> 56);
	}
	memcpy(key + 8, &k, sizeof k);
}

struct check {
	const uint32_t *want; /* committed copies of content k so far */
	uint64_t entries, wrong;
};

static int check_entry(const struct dd_entry *e, void *arg)
{
	struct check *c = arg;
	uint32_t k;
	memcpy(&k, e->key + 8, sizeof k);
	c->entries++;
	if (k >= POOL || e->count != c->want[k])
		c->wrong++;
	return 0;
}

/* One dump of COPIES copies drawn from the first `span` contents (some
 * drawn many times in a row, as zero-like pages are), given to two workers
 * in turns of a few copies each. */
static void one_dump(struct dd_table *t, struct dd_copies cp[2], bool staged, uint64_t pages, uint32_t span,
		     uint32_t *want, const char *what)
{
	static uint32_t in_dump[POOL];
	memset(in_dump, 0, sizeof in_dump);
	int bad_init = dd_copies_init(&cp[0], t, staged, pages) || dd_copies_init(&cp[1], t, staged, pages);
	ok(!bad_init, "%s: set up", what);
	unsigned expect_cap = pages >= DD_STAGE_LARGE_FROM ? DD_STAGE_LARGE : DD_STAGE_SMALL;
	is_u64(cp[0].cap, expect_cap, "%s: stages of %u contents", what, expect_cap);
	uint64_t bad_ids = 0, errors = 0;
	uint32_t k = 0;
	for (uint32_t i = 0; i < COPIES; i++) {
		if (next() % 4)
			k = (uint32_t)(next() % span);
		uint8_t key[DD_DIGEST];
		key_of(k, key);
		uint32_t id = UINT32_MAX;
		struct dd_copies *c = &cp[(i / 3) % 2];
		if (dd_copies_add(c, key, NULL, 4096, &id))
			errors++;
		if (!staged) {
			const struct dd_entry *e = dd_table_get(t, id);
			if (!e || memcmp(e->key, key, DD_KEY) != 0)
				bad_ids++;
		}
		in_dump[k]++;
	}
	errors += (uint64_t)(dd_copies_flush(&cp[0]) != 0) + (uint64_t)(dd_copies_flush(&cp[1]) != 0);
	is_u64(errors, 0, "%s: every copy added", what);
	if (!staged)
		is_u64(bad_ids, 0, "%s: every copy's id names its content", what);
	uint64_t first = 0;
	for (uint32_t j = 0; j < POOL; j++) {
		first += in_dump[j] != 0;
		want[j] += in_dump[j];
	}
	is_u64(cp[0].distinct + cp[1].distinct, first, "%s: %llu contents new to this dump, counted once", what,
	       (unsigned long long)first);
	ok(dd_table_commit(t, NULL, NULL) == 0, "%s: committed", what);
	struct check c = { want, 0, 0 };
	dd_table_each(t, check_entry, &c);
	is_u64(c.wrong, 0, "%s: every content's count is the number of its copies so far", what);
}

int main(void)
{
	static uint32_t want[POOL];
	struct dd_copies cp[2];
	memset(cp, 0, sizeof cp);
	struct dd_table *t = dd_table_new();
	if (!t)
		return 1;
	/* small stages, then large ones (the stage arrays grow), then small
	 * again in the larger arrays; each dump reaches further into the pool */
	one_dump(t, cp, true, 1000, POOL / 3, want, "staged, small dump");
	one_dump(t, cp, true, DD_STAGE_LARGE_FROM, POOL / 2, want, "staged, large dump");
	is_u64(cp[0].room, DD_STAGE_LARGE, "the stage arrays kept room for large stages");
	one_dump(t, cp, true, 5000, POOL, want, "staged, small dump after a large one");
	one_dump(t, cp, false, DD_STAGE_LARGE_FROM, POOL, want, "one at a time, with ids");
	uint64_t n = 0;
	for (uint32_t j = 0; j < POOL; j++)
		n += want[j] != 0;
	is_u64(dd_table_size(t), n, "the table holds every content drawn (%llu)", (unsigned long long)n);
	dd_copies_free(&cp[0]);
	dd_copies_free(&cp[1]);
	dd_table_free(t);
	return tap_done();
}
