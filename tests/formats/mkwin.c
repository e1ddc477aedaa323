/*
 * mkwin SPEC OUT [--expect FILE] [--map FILE]: a Windows crash dump.
 * Each "ram PFN N CONTENT" line is one physical memory run (full dumps) or
 * sets N bits of the bitmap (bitmap dumps).  Options:
 *   bits 64|32          PAGEDU64 (0x2000-byte header) or PAGEDUMP (0x1000)
 *   type full|bitmap    DumpType 1, or 5 with a summary header
 *   sig FDMP|SDMP       bitmap dumps: full or kernel
 *   dumptype N          override the DumpType field (e.g. 6, or a refused one)
 *   extrabits N         bitmap bits past the last frame (default 5)
 * Unused header bytes hold the "PAGE" fill Windows uses.
 */
#include "fixture.h"

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	bool is64 = fx_optn(&m, "bits", 64) == 64;
	bool bitmap = strcmp(fx_opt(&m, "type", "full"), "bitmap") == 0;
	const char *sig = fx_opt(&m, "sig", "FDMP");
	uint32_t dumptype = (uint32_t)fx_optn(&m, "dumptype", bitmap ? 5 : 1);
	uint64_t extrabits = fx_optn(&m, "extrabits", 5);
	size_t hsz = is64 ? 0x2000 : 0x1000;

	struct fx_buf b = { .map = fx_open_map(&a) };
	fx_put(&b, NULL, hsz);
	for (size_t i = 0; i < hsz; i += 4)
		memcpy(b.p + i, "PAGE", 4);
	memcpy(b.p, is64 ? "PAGEDU64" : "PAGEDUMP", 8);
	fx_field(&b, "hdr.signature", 0, 8);
	fx_set_le(b.p + 8, 15, 4);      /* MajorVersion: free build */
	fx_set_le(b.p + 12, 19041, 4);  /* MinorVersion: build number */
	fx_set_le(b.p + (is64 ? 0x30 : 0x20), is64 ? 0x8664 : 0x14c, 4);
	fx_set_le(b.p + (is64 ? 0x34 : 0x24), 2, 4);
	fx_set_le(b.p + (is64 ? 0x38 : 0x28), 0x161, 4);
	if (!is64)
		b.p[0x5c] = 1; /* PaeEnabled */
	size_t dt = is64 ? 0xF98 : 0xF88;
	fx_set_le(b.p + dt, dumptype, 4);
	fx_field(&b, "hdr.dumptype", dt, 4);
	fx_field(&b, "hdr.required", 0xFA0, 8);

	/* runs, in spec order */
	uint64_t total = 0, maxpfn = 0;
	for (size_t i = 0; i < m.nseg; i++) {
		if (m.seg[i].kind != FX_DATA)
			fx_die("Windows dumps only have ram lines");
		total += m.seg[i].len / FX_PS;
		uint64_t e = (m.seg[i].addr + m.seg[i].len) / FX_PS;
		if (e > maxpfn)
			maxpfn = e;
	}
	if (!bitmap) {
		size_t pmb = is64 ? 0x88 : 0x64, runs = is64 ? 0x98 : 0x6C, rs = is64 ? 16 : 8;
		fx_set_le(b.p + pmb, m.nseg, 4);
		fx_field(&b, "pmb.nruns", pmb, 4);
		if (is64) {
			fx_set_le(b.p + pmb + 4, 0, 4);
			fx_set_le(b.p + pmb + 8, total, 8);
			fx_field(&b, "pmb.npages", pmb + 8, 8);
		} else {
			fx_set_le(b.p + pmb + 4, total, 4);
			fx_field(&b, "pmb.npages", pmb + 4, 4);
		}
		for (size_t i = 0; i < m.nseg; i++) {
			char n[64];
			size_t at = runs + i * rs;
			fx_set_le(b.p + at, m.seg[i].addr / FX_PS, rs / 2);
			fx_set_le(b.p + at + rs / 2, m.seg[i].len / FX_PS, rs / 2);
			snprintf(n, sizeof n, "run%zu.base", i);
			fx_field(&b, n, at, rs / 2);
			snprintf(n, sizeof n, "run%zu.count", i);
			fx_field(&b, n, at + rs / 2, rs / 2);
		}
		for (size_t i = 0; i < m.nseg; i++) {
			char n[64];
			size_t at = fx_put(&b, NULL, m.seg[i].len);
			fx_seg_bytes(&m.seg[i], 0, b.p + at, m.seg[i].len);
			snprintf(n, sizeof n, "run%zu.data", i);
			fx_field(&b, n, at, m.seg[i].len);
		}
	} else {
		uint64_t bits = maxpfn + extrabits;
		size_t bmbytes = (size_t)((bits + 7) / 8);
		size_t s = fx_put(&b, NULL, 0x38 + bmbytes);
		memcpy(b.p + s, sig, 4);
		memcpy(b.p + s + 4, "DUMP", 4);
		fx_field(&b, "sum.sig", s, 8);
		fx_align(&b, FX_PS);
		size_t first = b.len;
		fx_set_le(b.p + s + 0x20, first, 8);
		fx_set_le(b.p + s + 0x28, total, 8);
		fx_set_le(b.p + s + 0x30, bits, 8);
		fx_field(&b, "sum.firstpage", s + 0x20, 8);
		fx_field(&b, "sum.pages", s + 0x28, 8);
		fx_field(&b, "sum.bits", s + 0x30, 8);
		fx_field(&b, "sum.bitmap", s + 0x38, bmbytes);
		/* pages in frame order, whatever the spec order */
		uint8_t *set = fx_alloc(bits);
		size_t *seg_of = fx_alloc(bits * sizeof *seg_of);
		for (size_t i = 0; i < m.nseg; i++)
			for (uint64_t p = m.seg[i].addr / FX_PS; p < (m.seg[i].addr + m.seg[i].len) / FX_PS; p++) {
				if (set[p])
					fx_die("frame 0x%llx given twice", (unsigned long long)p);
				set[p] = 1;
				seg_of[p] = i;
			}
		for (uint64_t p = 0; p < bits; p++) {
			if (!set[p])
				continue;
			b.p[s + 0x38 + p / 8] |= (uint8_t)(1u << (p % 8));
			const struct fx_seg *sg = &m.seg[seg_of[p]];
			size_t at = fx_put(&b, NULL, FX_PS);
			fx_seg_bytes(sg, p * FX_PS - sg->addr, b.p + at, FX_PS);
		}
		fx_field(&b, "data", first, b.len - first);
		free(set);
		free(seg_of);
	}
	fx_set_le(b.p + 0xFA0, b.len, 8);
	fx_field(&b, "file.end", b.len, 0);
	fx_write_file(a.out, b.p, b.len);
	if (b.map)
		fclose(b.map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_buf_free(&b);
	fx_free_model(&m);
	return 0;
}
