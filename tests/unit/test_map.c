/* Linear layouts (dp_map): random piece lists against a byte-by-byte
 * reference painter.  Checks overlap resolution (first piece wins, data
 * before absent as the caller orders it), frame splitting, partial frames
 * and absent frames. */
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "tap.h"

#define SPAN (64 * 1024) /* guest bytes covered by the test */
#define PS 4096

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(uint64_t n) { return tap_xorshift(&rng) % n; }

int main(void)
{
	int bad = 0;
	for (int round = 0; round < 2000; round++) {
		struct dp_dump d;
		memset(&d, 0, sizeof d);
		d.src.fd = -1;
		d.src.size = UINT64_MAX; /* a stream: no file-size checks */
		d.info.page_size = PS;
		/* reference: per byte 0 = nothing, 1 = absent, 2 = data */
		static uint8_t ref[SPAN];
		memset(ref, 0, sizeof ref);
		int n = 1 + (int)rnd(8);
		struct dp_error err;
		int rc = 0;
		for (int i = 0; i < n && !rc; i++) {
			uint64_t a = rnd(SPAN - 1), len = 1 + rnd(SPAN - a);
			if (rnd(4) == 0) { /* page-aligned pieces are the common case */
				a &= ~(uint64_t)(PS - 1);
				len = (len + PS - 1) & ~(uint64_t)(PS - 1);
				if (a + len > SPAN)
					len = SPAN - a;
			}
			int absent = rnd(3) == 0;
			rc = absent ? dp_map_add_absent(&d, a, len, &err) : dp_map_add(&d, a, len, 1000 + a, &err);
			for (uint64_t b = a; b < a + len; b++)
				if (!ref[b])
					ref[b] = absent ? 1 : 2;
		}
		rc = rc ? rc : dp_map_finish(&d, &err);
		if (rc) {
			bad++;
			printf("# round %d: %s\n", round, err.msg);
			dp_map_free(&d);
			continue;
		}
		/* expected frame states */
		uint64_t pages = 0, absent = 0, partial = 0;
		for (int f = 0; f < SPAN / PS; f++) {
			int data = 0, abs = 0;
			for (int b = f * PS; b < (f + 1) * PS; b++) {
				data += ref[b] == 2;
				abs += ref[b] == 1;
			}
			if (data) {
				pages++;
				/* partial: fewer bytes stored than the frame has, the
				 * rest absent or not described at all */
				partial += data < PS;
			} else if (abs)
				absent++;
		}
		/* what the map says, from its ranges */
		uint64_t rp = 0, ra = 0;
		for (size_t i = 0; i < d.nranges; i++) {
			if (d.ranges[i].state == DP_PAGE_DATA)
				rp += d.ranges[i].npages;
			else
				ra += d.ranges[i].npages;
			if (i && d.ranges[i].pfn < d.ranges[i - 1].pfn + d.ranges[i - 1].npages)
				bad++;
		}
		uint64_t units = 0;
		for (size_t i = 0; i < d.nunits; i++) {
			uint64_t first, un;
			const struct dp_extent *e = dp_map_unit(&d, i, &first, &un);
			units += un;
			if (un == 0 || first + un > e->npages || (e->kind != DP_EXT_ABSENT && un > DP_UNIT_PAGES))
				bad++;
		}
		if (d.info.pages != pages || d.info.absent_pages != absent || d.info.partial_pages != partial ||
		    rp != pages || ra != absent || units != pages + absent) {
			bad++;
			if (bad < 5)
				printf("# round %d: pages %llu/%llu absent %llu/%llu partial %llu/%llu units %llu\n",
				       round, (unsigned long long)d.info.pages, (unsigned long long)pages,
				       (unsigned long long)d.info.absent_pages, (unsigned long long)absent,
				       (unsigned long long)d.info.partial_pages, (unsigned long long)partial,
				       (unsigned long long)units);
		}
		free(d.ranges);
		for (size_t i = 0; i < d.ndetails; i++)
			free((void *)(uintptr_t)d.details[i].value);
		free(d.details);
		dp_map_free(&d);
	}
	is_u64(bad, 0, "2000 random layouts match the byte-by-byte reference");

	/* dp_disjoint: a piece cut in the middle by an earlier one gives more
	 * pieces than went in, each with its own file offset */
	struct dp_map_piece in2[2] = { { 40, 20, 5000 }, { 0, 100, 1000 } }, *out2 = NULL;
	size_t n2 = 0;
	uint64_t dropped2 = 0;
	struct dp_error e2;
	ok(dp_disjoint(in2, 2, &out2, &n2, &dropped2, &e2) == DP_OK && n2 == 3, "three pieces out of two");
	ok(out2 && out2[0].paddr == 0 && out2[0].len == 40 && out2[0].off == 1000 && out2[1].paddr == 40 &&
		   out2[1].len == 20 && out2[1].off == 5000 && out2[2].paddr == 60 && out2[2].len == 40 &&
		   out2[2].off == 1060,
	   "ranges and offsets of the cut pieces");
	is_u64(dropped2, 20, "bytes described twice");
	free(out2);

	/* a data piece past the end of a mapped file is truncation */
	struct dp_dump d;
	struct dp_error err;
	static const uint8_t file[8192];
	memset(&d, 0, sizeof d);
	d.src.map = file;
	d.src.size = sizeof file;
	d.info.page_size = PS;
	dp_map_add(&d, 0, 8192, 4096, &err);
	is_u64(dp_map_finish(&d, &err), DP_E_TRUNCATED, "piece past the end: truncated");
	ok(strstr(err.msg, "4096 bytes missing") != NULL, "and says how much is missing: %s", err.msg);
	free(d.ranges);
	dp_map_free(&d);

	/* a stream (size unknown) declaring 1 PiB: units are derived, not stored,
	 * and come in file order */
	memset(&d, 0, sizeof d);
	d.src.size = UINT64_MAX;
	d.info.page_size = PS;
	dp_map_add(&d, 0, 1ull << 50, 1ull << 40, &err);
	dp_map_add(&d, 1ull << 51, 3 * PS, 4096, &err);
	is_u64(dp_map_finish(&d, &err), DP_OK, "stream declaring 1 PiB: layout built");
	is_u64(d.nunits, 1 + (1ull << 50) / PS / DP_UNIT_PAGES, "stream declaring 1 PiB: units counted");
	uint64_t f0, n0, f1, n1, fl, nl;
	const struct dp_extent *e0 = dp_map_unit(&d, 0, &f0, &n0), *e1 = dp_map_unit(&d, 1, &f1, &n1),
			       *el = dp_map_unit(&d, d.nunits - 1, &fl, &nl);
	ok(e0->pfn == (1ull << 51) / PS && f0 == 0 && n0 == 3, "stream: the piece first in the file is read first");
	ok(e1->pfn == 0 && f1 == 0 && n1 == DP_UNIT_PAGES, "stream: then the large one, a unit at a time");
	ok(el == e1 && fl == (1ull << 50) / PS - DP_UNIT_PAGES && nl == DP_UNIT_PAGES, "stream: its last unit");
	free(d.ranges);
	dp_map_free(&d);

	memset(&d, 0, sizeof d);
	d.info.page_size = PS;
	is_u64(dp_map_add(&d, UINT64_MAX - 10, 100, 0, &err), DP_E_CORRUPT, "range wrapping the address space");
	is_u64(dp_map_add(&d, 0, 100, UINT64_MAX - 10, &err), DP_E_CORRUPT, "file range overflowing");
	dp_map_free(&d);
	return tap_done();
}
