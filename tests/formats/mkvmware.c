/*
 * mkvmware SPEC OUT [--expect FILE] [--map FILE]: a VMware checkpoint
 * (.vmss/.vmsn) and, unless the memory is embedded, its .vmem.
 *
 * Every "ram PFN N CONTENT" line is one memory region (regionPPN = PFN,
 * regionSize = N, regionPageNum = the next free image page).  Options:
 *   magic 0xBED2BED2    any of the six checkpoint magics
 *   memory vmem|embedded
 *   vmem PATH           where the .vmem goes (default: OUT with .vmem)
 *   flat 1              no region tags: the image is guest memory from 0
 *   pad N               pad bytes before a block's data (default 0)
 *   gap N               unused image pages after each region (default 0)
 *   ppnsize N           bytes of the regionPPN values (default 4)
 */
#include "fixture.h"

struct tagw {
	struct fx_buf *b;
	bool small;               /* 4-byte block sizes */
	unsigned pad;
};

static size_t tag_head(struct tagw *t, const char *name, unsigned nidx, const uint32_t *idx, unsigned vsize)
{
	size_t at = t->b->len;
	uint8_t h[2] = { (uint8_t)((nidx << 6) | vsize), (uint8_t)strlen(name) };
	fx_put(t->b, h, 2);
	fx_put(t->b, name, strlen(name));
	for (unsigned i = 0; i < nidx; i++)
		fx_le(t->b, idx[i], 4);
	return at;
}

static void tag_int(struct tagw *t, const char *name, int nidx, uint32_t i0, uint64_t v, unsigned size,
		    const char *mapname)
{
	size_t at = tag_head(t, name, (unsigned)nidx, &i0, size);
	size_t vat = fx_le(t->b, v, size);
	if (mapname) {
		char n[128];
		snprintf(n, sizeof n, "tag.%s", mapname);
		fx_field(t->b, n, at, vat - at + size);
		snprintf(n, sizeof n, "val.%s", mapname);
		fx_field(t->b, n, vat, size);
	}
}

static void tag_block(struct tagw *t, const char *name, unsigned nidx, const uint32_t *idx, const uint8_t *data,
		      size_t len, const char *mapname)
{
	size_t at = tag_head(t, name, nidx, idx, 63);
	unsigned w = t->small ? 4 : 8;
	size_t szat = fx_le(t->b, len, w);
	fx_le(t->b, len, w);
	size_t padat = fx_le(t->b, t->pad, 2);
	fx_put(t->b, NULL, t->pad);
	size_t dat = fx_put(t->b, data, len);
	if (mapname) {
		char n[128];
		snprintf(n, sizeof n, "tag.%s", mapname);
		fx_field(t->b, n, at, 2);
		snprintf(n, sizeof n, "block.%s.nbytes", mapname);
		fx_field(t->b, n, szat, w);
		snprintf(n, sizeof n, "block.%s.pad", mapname);
		fx_field(t->b, n, padat, 2);
		snprintf(n, sizeof n, "block.%s.data", mapname);
		fx_field(t->b, n, dat, len);
	}
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	uint32_t magic = (uint32_t)fx_optn(&m, "magic", 0xBED2BED2u);
	bool embedded = strcmp(fx_opt(&m, "memory", "vmem"), "embedded") == 0;
	bool flat = fx_optn(&m, "flat", 0) != 0;
	unsigned pad = (unsigned)fx_optn(&m, "pad", 0), gap = (unsigned)fx_optn(&m, "gap", 0);
	unsigned ppnsize = (unsigned)fx_optn(&m, "ppnsize", 4);

	/* memory image */
	struct fx_buf img = { 0 };
	uint64_t nreg = 0, pagenum[64];
	for (size_t i = 0; i < m.nseg; i++) {
		const struct fx_seg *s = &m.seg[i];
		if (s->kind != FX_DATA)
			fx_die("VMware checkpoints only have ram lines");
		if (flat) {
			if (s->addr != img.len)
				fx_die("flat images need contiguous ram from 0");
		} else if (nreg == 64) {
			fx_die("too many regions");
		}
		if (!flat)
			pagenum[nreg++] = img.len / FX_PS;
		size_t at = fx_put(&img, NULL, s->len);
		fx_seg_bytes(s, 0, img.p + at, s->len);
		for (unsigned g = 0; g < gap && !flat; g++) {
			size_t ga = fx_put(&img, NULL, FX_PS);
			fx_fill(900000 + g, img.p + ga, FX_PS); /* must never be read */
		}
	}

	struct fx_buf b = { .map = fx_open_map(&a) };
	struct tagw t = { &b, (magic & 0xf) == 0, pad };
	static const char *const groups[] = { "Checkpoint", "cpu", "memory" };
	const unsigned ng = 3;
	fx_field(&b, "hdr.magic", fx_le(&b, magic, 4), 4);
	fx_le(&b, 8, 4); /* version */
	fx_field(&b, "hdr.ngroups", fx_le(&b, ng, 4), 4);
	size_t gtab = b.len;
	for (unsigned g = 0; g < ng; g++) {
		char nm[64] = { 0 };
		snprintf(nm, sizeof nm, "%s", groups[g]);
		char f[64];
		size_t at = fx_put(&b, nm, 64);
		snprintf(f, sizeof f, "group.%s.name", groups[g]);
		fx_field(&b, f, at, 64);
		snprintf(f, sizeof f, "group.%s.offset", groups[g]);
		fx_field(&b, f, fx_le(&b, 0, 8), 8);
		snprintf(f, sizeof f, "group.%s.size", groups[g]);
		fx_field(&b, f, fx_le(&b, 0, 8), 8);
	}
	for (unsigned g = 0; g < ng; g++) {
		size_t start = b.len;
		if (g == 0) {
			tag_int(&t, "Version", 0, 0, 8, 4, NULL);
			tag_int(&t, "memSize", 0, 0, img.len >> 20, 4, NULL);
		} else if (g == 1) {
			tag_int(&t, "cpu:numVCPUs", 0, 0, 2, 4, NULL);
			uint8_t regs[128];
			fx_fill(77, regs, sizeof regs);
			for (uint32_t c = 0; c < 2; c++)
				tag_block(&t, "gpregs", 1, &c, regs, sizeof regs, NULL);
			tag_int(&t, "rip", 1, 0, 0xffffffff81000000ull, 8, NULL);
		} else {
			fx_field(&b, "memory.group", b.len, 0);
			tag_int(&t, "align_mask", 0, 0, 0xffff, 4, NULL);
			if (!flat) {
				tag_int(&t, "regionsCount", 0, 0, nreg, 4, "regionsCount");
				size_t r = 0;
				for (size_t i = 0; i < m.nseg; i++) {
					const struct fx_seg *s = &m.seg[i];
					char n[64];
					snprintf(n, sizeof n, "regionPPN[%zu]", r);
					tag_int(&t, "regionPPN", 1, (uint32_t)r, s->addr / FX_PS, ppnsize, n);
					snprintf(n, sizeof n, "regionPageNum[%zu]", r);
					tag_int(&t, "regionPageNum", 1, (uint32_t)r, pagenum[r], 4, n);
					snprintf(n, sizeof n, "regionSize[%zu]", r);
					tag_int(&t, "regionSize", 1, (uint32_t)r, s->len / FX_PS, 4, n);
					r++;
				}
			}
			if (embedded) {
				uint32_t idx[2] = { 0, 0 };
				tag_block(&t, "Memory", 2, idx, img.p, img.len, "Memory");
			}
			tag_int(&t, "hotSetSize", 0, 0, 0, 4, NULL);
		}
		fx_field(&b, g == 2 ? "memory.end" : "group.end", fx_put(&b, "\0\0", 2), 2);
		fx_set_le(b.p + gtab + g * 80 + 64, start, 8);
		fx_set_le(b.p + gtab + g * 80 + 72, b.len - start, 8);
	}
	fx_field(&b, "file.end", b.len, 0);
	fx_write_file(a.out, b.p, b.len);
	if (!embedded) {
		char vpath[4096];
		const char *v = fx_opt(&m, "vmem", NULL);
		if (!v) {
			size_t n = strlen(a.out);
			if (n < 5 || n >= sizeof vpath)
				fx_die("OUT needs an extension to place the .vmem");
			memcpy(vpath, a.out, n - 5);
			memcpy(vpath + n - 5, ".vmem", 6);
			v = vpath;
		}
		fx_write_file(v, img.p, img.len);
	}
	if (b.map)
		fclose(b.map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_buf_free(&b);
	fx_buf_free(&img);
	fx_free_model(&m);
	return 0;
}
