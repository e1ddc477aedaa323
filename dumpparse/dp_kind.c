/*
 * Guest RAM and device memory: the kind of each range and address space
 * (dp_range.kind, dp_info.space_kinds), the lookup the engine uses, and the
 * x86 PC memory map rule for dumps that name no RAM blocks (QEMU ELF cores).
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

const char *dp_mem_kind_name(enum dp_mem_kind k) { return k == DP_MEM_DEVICE ? "device" : "ram"; }

enum dp_mem_kind dp_frame_kind(const struct dp_info *in, uint32_t space, uint64_t pfn, uint64_t *run)
{
	if (run)
		*run = UINT64_MAX;
	if (space > 0)
		return in->space_kinds && space <= in->nspaces ? (enum dp_mem_kind)in->space_kinds[space - 1]
							     : DP_MEM_RAM;
	/* the last range that starts at or below pfn */
	size_t lo = 0, hi = in->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (in->ranges[mid].pfn <= pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		const struct dp_range *r = &in->ranges[lo - 1];
		if (pfn - r->pfn < r->npages) {
			if (run)
				*run = r->npages - (pfn - r->pfn);
			return r->kind;
		}
	}
	/* in no range: guest RAM up to the next range */
	if (run && lo < in->nranges)
		*run = in->ranges[lo].pfn - pfn;
	return DP_MEM_RAM;
}

int dp_mark_kind(struct dp_dump *d, uint64_t pfn, uint64_t n, enum dp_mem_kind k, struct dp_error *err)
{
	if (n == 0)
		return DP_OK;
	uint64_t end = pfn + n < pfn ? UINT64_MAX : pfn + n;
	/* every range may split in three: at most 2 more per range */
	size_t cap = d->nranges * 3;
	struct dp_range *out = calloc(cap ? cap : 1, sizeof *out);
	if (!out)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	size_t m = 0;
	for (size_t i = 0; i < d->nranges; i++) {
		struct dp_range r = d->ranges[i];
		uint64_t a = r.pfn, b = r.pfn + r.npages;
		uint64_t x = a > pfn ? a : pfn, y = b < end ? b : end;
		if (x >= y || r.kind == k) {
			out[m++] = r;
			continue;
		}
		/* [a, x) unchanged, [x, y) of kind k, [y, b) unchanged */
		uint64_t cuts[4] = { a, x, y, b };
		for (int p = 0; p < 3; p++) {
			if (cuts[p] == cuts[p + 1])
				continue;
			struct dp_range s = r;
			s.pfn = cuts[p];
			s.npages = cuts[p + 1] - cuts[p];
			if (r.file_offset != UINT64_MAX)
				s.file_offset = r.file_offset + (cuts[p] - a) * d->info.page_size;
			s.kind = p == 1 ? k : r.kind;
			out[m++] = s;
		}
	}
	free(d->ranges);
	d->ranges = out;
	d->nranges = m;
	d->cap_ranges = cap ? cap : 1;
	return DP_OK;
}

uint64_t dp_range_device_pages(const struct dp_dump *d)
{
	uint64_t n = 0;
	for (size_t i = 0; i < d->nranges; i++)
		if (d->ranges[i].kind == DP_MEM_DEVICE && d->ranges[i].state != DP_PAGE_ABSENT)
			n += d->ranges[i].npages;
	return n;
}

#define MIB1 0x100000ull
#define LOW_MAX 0xE0000000ull     /* i440fx: at most 3.5 GiB of RAM below 4 GiB (q35: 2.75 GiB) */
#define GIB4 0x100000000ull
#define TIB1 0x10000000000ull     /* AMD hosts may start high RAM at 1 TiB */

/* The end of the run of ranges from `start` (bytes; the first range may
 * begin below it), ranges in order; a range starting below `loose` joins
 * the run whatever the gap. */
static uint64_t run_end(const struct dp_dump *d, uint64_t start, uint64_t loose)
{
	const uint64_t ps = d->info.page_size;
	uint64_t end = start;
	bool found = false;
	for (size_t i = 0; i < d->nranges; i++) {
		uint64_t a = d->ranges[i].pfn * ps, b = a + d->ranges[i].npages * ps;
		if (b <= start)
			continue;
		if (a == end || a < loose || (!found && a <= start)) {
			end = b > end ? b : end;
			found = true;
		} else if (a > end) {
			break;
		}
	}
	return end;
}

/* some range holds the byte at addr (ranges merge: the BIOS ROM just
 * below 4 GiB and high RAM from 4 GiB may be one range) */
static bool covers(const struct dp_dump *d, uint64_t addr)
{
	const uint64_t ps = d->info.page_size;
	for (size_t i = 0; i < d->nranges; i++)
		if (d->ranges[i].pfn * ps <= addr && addr - d->ranges[i].pfn * ps < d->ranges[i].npages * ps)
			return true;
	return false;
}

/*
 * QEMU builds the PC memory map (pc/q35 machines) as: guest RAM from 0 up
 * to the "below 4 GiB" size (the VGA window 0xa0000-0xbffff is a hole; the
 * legacy ROM area 0xc0000-0xfffff is RAM shadowed by the firmware), the
 * rest of guest RAM from 4 GiB (1 TiB on some AMD hosts).  Everything else
 * a QEMU core holds is device memory mapped by the guest: PCI BARs (video
 * RAM), the BIOS ROM just below 4 GiB, 64-bit BARs above high RAM.
 */
int dp_kind_pc(struct dp_dump *d, struct dp_error *err)
{
	const uint64_t ps = d->info.page_size;
	uint64_t low = run_end(d, 0, MIB1 + 1);
	if (low > LOW_MAX)
		low = LOW_MAX;
	uint64_t hstart = covers(d, GIB4) ? GIB4 : covers(d, TIB1) ? TIB1 : UINT64_MAX;
	uint64_t hend = hstart == UINT64_MAX ? UINT64_MAX : run_end(d, hstart, 0);
	/* device pieces: each range minus [0, low) and [hstart, hend) */
	struct piece { uint64_t a, b; } *pc = calloc(d->nranges * 2 + 1, sizeof *pc);
	if (!pc)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < d->nranges; i++) {
		uint64_t a = d->ranges[i].pfn * ps, b = a + d->ranges[i].npages * ps;
		if (a < low)
			a = low;
		if (a >= b)
			continue;
		if (hstart == UINT64_MAX || b <= hstart || a >= hend) {
			pc[n++] = (struct piece){ a, b };
			continue;
		}
		if (a < hstart)
			pc[n++] = (struct piece){ a, hstart };
		if (b > hend)
			pc[n++] = (struct piece){ hend, b };
	}
	int rc = DP_OK;
	for (size_t i = 0; i < n && rc == DP_OK; i++) {
		uint64_t first = pc[i].a / ps, last = (pc[i].b + ps - 1) / ps;
		rc = dp_mark_kind(d, first, last - first, DP_MEM_DEVICE, err);
	}
	free(pc);
	if (rc)
		return rc;
	d->info.device_pages = dp_range_device_pages(d);
	d->info.kind_rule = "x86 PC memory map: guest RAM is the run of ranges from 0 and the one from 4 GiB; "
			    "the others (video RAM and other PCI BARs, the BIOS ROM) are device memory";
	return DP_OK;
}
