/*
 * Windows crash dumps: "PAGEDU64" (64-bit, 0x2000-byte header) and
 * "PAGEDUMP" (32-bit, 0x1000-byte header), as written by Windows itself,
 * QEMU dump-guest-memory -w / virsh dump --format win-dmp, QEMU elf2dmp
 * and VMware vmss2core -W / -W8.  Little-endian, 4 KiB pages.
 *
 * DumpType 1 (full/complete): the header's PhysicalMemoryBlock lists runs
 * {BasePage, PageCount}; their pages follow the header back to back.
 * DumpType 5 (bitmap; "FDMP" full or "SDMP" kernel) and 6 (live kernel
 * bitmap): a summary header after the main header carries a bitmap of the
 * frames stored; they follow densely from its FirstPage offset in frame
 * order.  Other types (kernel summary 2, triage/minidump 4, RDMP 8-10) are
 * recognised and refused: either they hold no full memory map or their
 * layout is not publicly described well enough to read exactly.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define WPAGE 4096u

struct layout {
	bool is64;
	uint64_t hdr;             /* header size = offset of the first page (full) or the summary */
	uint64_t dumptype_at;
	uint64_t pmb_at;          /* PhysicalMemoryBlock */
	uint64_t runs_at;
	unsigned run_size, max_runs;
};

static const struct layout l64 = { true, 0x2000, 0xF98, 0x88, 0x98, 16, 43 };
static const struct layout l32 = { false, 0x1000, 0xF88, 0x64, 0x6C, 8, 86 };

static enum dp_probe windows_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 8 && (memcmp(h, "PAGEDU64", 8) == 0 || memcmp(h, "PAGEDUMP", 8) == 0) ? DP_PROBE_YES
											  : DP_PROBE_NO;
}

static const char *machine(uint32_t m)
{
	switch (m) {
	case 0x8664: return "x64";
	case 0x14c: return "x86";
	case 0xaa64: return "ARM64";
	case 0x1c4: return "ARM";
	}
	return "unknown machine";
}

static int open_full(struct dp_dump *d, const struct layout *L, const uint8_t *h, struct dp_error *err)
{
	uint32_t nruns = dp_le32(h + L->pmb_at);
	uint64_t npages = L->is64 ? dp_le64(h + L->pmb_at + 8) : dp_le32(h + L->pmb_at + 4);
	if (nruns > L->max_runs)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)L->pmb_at,
			       "physical memory run list: %u runs, the header has room for %u", nruns,
			       L->max_runs);
	if (nruns == 0)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)L->pmb_at,
			       "full dump with an empty physical memory run list");
	uint64_t sum = 0, prev_end = 0, off = L->hdr;
	int rc;
	for (uint32_t i = 0; i < nruns; i++) {
		uint64_t at = L->runs_at + (uint64_t)i * L->run_size;
		const uint8_t *p = h + at;
		uint64_t base = L->is64 ? dp_le64(p) : dp_le32(p);
		uint64_t cnt = L->is64 ? dp_le64(p + 8) : dp_le32(p + 4);
		uint64_t end;
		if (dp_add_overflows(base, cnt, &end) || end > (UINT64_MAX / WPAGE))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
				       "physical memory run %u (base page 0x%llx, %llu pages) overflows", i,
				       (unsigned long long)base, (unsigned long long)cnt);
		if (i && base < prev_end)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
				       "physical memory run %u (base page 0x%llx) overlaps or precedes run %u "
				       "(ending at page 0x%llx)",
				       i, (unsigned long long)base, i - 1, (unsigned long long)prev_end);
		prev_end = end;
		sum += cnt; /* cannot wrap: each count < 2^52, at most 86 runs */
		if (cnt == 0)
			continue;
		uint64_t len = cnt * WPAGE, fend;
		if (dp_add_overflows(off, len, &fend))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "physical memory run %u overflows", i);
		if (d->src.size != UINT64_MAX && fend > d->src.size)
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)(off < d->src.size ? d->src.size : off),
				       "physical memory run %u (guest 0x%llx, %llu pages) is stored at offset "
				       "%llu..%llu, past the end of the file (%llu bytes; %llu missing)",
				       i, (unsigned long long)(base * WPAGE), (unsigned long long)cnt,
				       (unsigned long long)off, (unsigned long long)fend,
				       (unsigned long long)d->src.size,
				       (unsigned long long)(fend - (off > d->src.size ? off : d->src.size)));
		if ((rc = dp_map_add(d, base * WPAGE, len, off, err)))
			return rc;
		off = fend;
	}
	if (sum != npages)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)L->pmb_at + (L->is64 ? 8 : 4),
			       "physical memory block says %llu pages but its runs hold %llu",
			       (unsigned long long)npages, (unsigned long long)sum);
	dp_add_detail(d, "runs", "%u, %llu pages", nruns, (unsigned long long)npages);
	if (d->src.size != UINT64_MAX && d->src.size > off)
		dp_add_detail(d, "trailing data", "%llu bytes after the last page (secondary dump data)",
			      (unsigned long long)(d->src.size - off));
	return DP_OK;
}

/* Bitmap dumps: summary header at L->hdr. */
static int open_bitmap(struct dp_dump *d, const struct layout *L, const char **sig_out, struct dp_error *err)
{
	uint8_t s[0x38];
	int rc = dp_src_read(d, L->hdr, s, sizeof s, "bitmap dump summary header", err);
	if (rc)
		return rc;
	bool full = memcmp(s, "FDMP", 4) == 0, kernel = memcmp(s, "SDMP", 4) == 0;
	if ((!full && !kernel) || memcmp(s + 4, "DUMP", 4) != 0)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)L->hdr,
			       "bitmap dump summary header signature is %02x %02x %02x %02x %02x %02x %02x "
			       "%02x, not \"FDMP\"/\"SDMP\" + \"DUMP\"",
			       s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
	*sig_out = full ? "FDMP" : "SDMP";
	uint64_t first = dp_le64(s + 0x20), present = dp_le64(s + 0x28), bits = dp_le64(s + 0x30);
	uint64_t bm_at = L->hdr + 0x38;
	if (bits == 0 || bits > (1ull << 40))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(L->hdr + 0x30),
			       "bitmap dump covers %llu frames (1..2^40 expected)", (unsigned long long)bits);
	uint64_t bm_bytes = (bits + 7) / 8, bm_end = bm_at + bm_bytes;
	if (d->src.size != UINT64_MAX && bm_end > d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)(bm_at < d->src.size ? d->src.size : bm_at),
			       "bitmap of %llu frames (%llu bytes at offset %llu) runs past the end of the "
			       "file (%llu bytes)",
			       (unsigned long long)bits, (unsigned long long)bm_bytes, (unsigned long long)bm_at,
			       (unsigned long long)d->src.size);
	if (first < bm_end)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(L->hdr + 0x20),
			       "first page offset %llu lies inside the headers and bitmap (which end at %llu)",
			       (unsigned long long)first, (unsigned long long)bm_end);
	if (present > bits)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(L->hdr + 0x28),
			       "bitmap dump says %llu pages are present, more than the %llu frames it covers",
			       (unsigned long long)present, (unsigned long long)bits);
	uint64_t data_end;
	if (dp_add_overflows(first, present * WPAGE, &data_end))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(L->hdr + 0x20), "page data size overflows");
	if (d->src.size != UINT64_MAX && data_end > d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)(first < d->src.size ? d->src.size : first),
			       "%llu pages at offset %llu end at byte %llu, past the end of the file (%llu "
			       "bytes; %llu missing)",
			       (unsigned long long)present, (unsigned long long)first,
			       (unsigned long long)data_end, (unsigned long long)d->src.size,
			       (unsigned long long)(data_end - (first > d->src.size ? first : d->src.size)));

	uint8_t *bm = NULL;
	const uint8_t *b;
	if (dp_src_random(d)) {
		b = dp_src_ptr(d, bm_at, bm_bytes, "bitmap", err);
		if (!b)
			return err->status;
	} else {
		if (bm_bytes > (64u << 20))
			return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)bm_at,
				       "a %llu-byte bitmap is too large to read from a stream",
				       (unsigned long long)bm_bytes);
		bm = malloc((size_t)bm_bytes);
		if (!bm)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		if ((rc = dp_src_read(d, bm_at, bm, (size_t)bm_bytes, "bitmap", err))) {
			free(bm);
			return rc;
		}
		b = bm;
	}
	/* count first, so that a wrong count is reported before any mapping */
	uint64_t set = 0;
	for (uint64_t i = 0; i < bm_bytes; i++) {
		uint8_t v = b[i];
		if (i == bm_bytes - 1 && (bits & 7))
			v &= (uint8_t)((1u << (bits & 7)) - 1);
		set += (uint64_t)__builtin_popcount(v);
	}
	if (set != present) {
		free(bm);
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(L->hdr + 0x28),
			       "bitmap dump says %llu pages are present but its bitmap has %llu bits set",
			       (unsigned long long)present, (unsigned long long)set);
	}
	uint64_t idx = 0, run_start = 0;
	bool in_run = false;
	for (uint64_t pfn = 0; pfn <= bits && !rc; pfn++) {
		if ((pfn & 7) == 0 && pfn + 8 <= bits) {
			/* whole bytes that do not change the state */
			uint8_t v = b[pfn >> 3];
			if (v == (in_run ? 0xff : 0x00)) {
				pfn += 7;
				continue;
			}
		}
		bool on = pfn < bits && (b[pfn >> 3] >> (pfn & 7) & 1);
		if (on && !in_run) {
			in_run = true;
			run_start = pfn;
		} else if (!on && in_run) {
			in_run = false;
			uint64_t n = pfn - run_start;
			rc = dp_map_add(d, run_start * WPAGE, n * WPAGE, first + idx * WPAGE, err);
			idx += n;
		}
	}
	free(bm);
	if (rc)
		return rc;
	dp_add_detail(d, "bitmap", "%llu frames covered, %llu present, pages from offset %llu",
		      (unsigned long long)bits, (unsigned long long)present, (unsigned long long)first);
	if (kernel)
		dp_add_warning(d, "kernel memory dump (\"SDMP\"): only kernel pages are stored, user-space "
				  "memory is not in the file, so the figures cover kernel memory only");
	return DP_OK;
}

static int windows_open(struct dp_dump *d, struct dp_error *err)
{
	uint8_t sig[8];
	int rc = dp_src_read(d, 0, sig, 8, "Windows dump header", err);
	if (rc)
		return rc;
	const struct layout *L = memcmp(sig, "PAGEDU64", 8) == 0   ? &l64
				 : memcmp(sig, "PAGEDUMP", 8) == 0 ? &l32
								   : NULL;
	if (!L)
		return dp_fail(err, DP_E_CORRUPT, 0, "Windows dump signature is not PAGEDU64 or PAGEDUMP");
	uint8_t *h = malloc(L->hdr);
	if (!h)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	if ((rc = dp_src_read(d, 0, h, (size_t)L->hdr, "Windows dump header", err))) {
		free(h);
		return rc;
	}
	uint32_t major = dp_le32(h + 8), minor = dp_le32(h + 12);
	uint32_t mach = dp_le32(h + (L->is64 ? 0x30 : 0x20));
	uint32_t ncpu = dp_le32(h + (L->is64 ? 0x34 : 0x24));
	uint32_t bugcheck = dp_le32(h + (L->is64 ? 0x38 : 0x28));
	uint32_t type = dp_le32(h + L->dumptype_at);
	uint64_t required = dp_le64(h + 0xFA0);
	const char *sig5 = NULL;
	const char *tname = "";

	d->info.page_size = d->opt.page_size ? d->opt.page_size : WPAGE;
	d->info.native_page_size = WPAGE;
	switch (type) {
	case 1:
		tname = "full dump (physical memory runs)";
		rc = open_full(d, L, h, err);
		break;
	case 5:
	case 6:
		rc = open_bitmap(d, L, &sig5, err);
		tname = type == 6 ? "live kernel bitmap dump" : sig5 && strcmp(sig5, "FDMP") == 0 ? "full bitmap dump" : "kernel bitmap dump";
		break;
	case 2:
		rc = dp_fail(err, DP_E_UNSUPPORTED, (int64_t)L->dumptype_at,
			     "Windows kernel summary dump (DumpType 2): it holds kernel memory only, not all "
			     "guest memory, and its layout is not documented: not supported");
		break;
	case 4:
		rc = dp_fail(err, DP_E_UNSUPPORTED, (int64_t)L->dumptype_at,
			     "Windows small memory dump / triage dump (DumpType 4): it does not contain the "
			     "guest memory: not supported");
		break;
	case 8:
	case 9:
	case 10:
		rc = dp_fail(err, DP_E_UNSUPPORTED, (int64_t)L->dumptype_at,
			     "Windows \"RDMP\" %s dump (DumpType %u, written by .dump on recent Windows)%s: "
			     "not supported yet",
			     type == 8 ? "kernel memory" : type == 9 ? "kernel and user memory" : "complete memory",
			     type, type == 10 ? "" : " — it does not contain all guest memory");
		break;
	default:
		rc = dp_fail(err, DP_E_CORRUPT, (int64_t)L->dumptype_at, "Windows DumpType %u is not known",
			     type);
		break;
	}
	free(h);
	if (rc)
		return rc;
	dp_set_variant(d, "Windows %d-bit crash dump (%s), %s, %s", L->is64 ? 64 : 32, L->is64 ? "PAGEDU64" : "PAGEDUMP",
		       tname, machine(mach));
	dp_add_detail(d, "dump type", "%u (%s%s%s)", type, tname, sig5 ? ", " : "", sig5 ? sig5 : "");
	dp_add_detail(d, "windows", "version %u.%u, machine 0x%x (%s), %u processors, bugcheck 0x%x", major,
		      minor, mach, machine(mach), ncpu, bugcheck);
	if (d->src.size != UINT64_MAX && required && required != d->src.size)
		dp_add_warning(d, "the header asks for %llu bytes (RequiredDumpSpace) but the file has %llu",
			       (unsigned long long)required, (unsigned long long)d->src.size);
	return dp_map_finish(d, err);
}

const struct dp_format_ops windows_ops = {
	.name = "windows-crashdump",
	.description = "Windows crash dump (PAGEDU64 / PAGEDUMP full and bitmap dumps; QEMU win-dmp, vmss2core -W)",
	.probe = windows_probe,
	.open = windows_open,
};
