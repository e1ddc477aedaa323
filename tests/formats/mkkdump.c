/*
 * mkkdump — write a small kdump-compressed dump (or its makedumpfile
 * flattened form, or a split set) from a fixture spec (fixture.h's
 * language), with page compression by the real codec libraries (zlib,
 * liblzo2, libsnappy, libzstd), for tests whose expected numbers are known
 * by construction.
 *
 * Usage: mkkdump SPEC OUT [--expect FILE] [--map FILE]     (SPEC '-' = stdin)
 *
 * Frames are blocks: "frame N" is the block size (default 4096).
 *   ram PFN N CONTENT      frames with a page descriptor (1st and 2nd bitmap);
 *                          all-zero pages point at the shared zero page
 *   absent PFN N           RAM filtered out by the dump level (1st bitmap only)
 *   absent PFN N unwritten a descriptor that was never written (offset 0; the
 *                          header's incomplete flag is set)
 *   frames no line names   not RAM (in neither bitmap)
 * Segment attributes: codec=zlib|lzo|snappy|zstd|raw (how its pages are
 * stored; default: the codec option; raw = uncompressed).
 * Options:
 *   bits 32|64            header layout (default 64)
 *   endian le|be          (default le)
 *   version N             header_version (default 6)
 *   sub pack|pad          32-bit sub header: packed (i386, QEMU) or padded (ARM, MIPS)
 *   machine NAME          utsname.machine (default x86_64 / s390x / i686 / ppc)
 *   sysname NAME          utsname.sysname (default Linux; "" = QEMU style)
 *   level N               dump_level (default 1)
 *   codec C               zlib | lzo | snappy | zstd | raw (default zlib)
 *   mapnr N               max_mapnr (default: the end of the last segment;
 *                         0 = an empty dump, with no bitmap blocks)
 *   subblocks N           sub_hdr_size in blocks (default 1)
 *   nozeropage            store zero pages like any other page (no shared zero page)
 *   flat [blocks|writes]  write the flattened format: records of one block for
 *                         the first 4 blocks and 3000 bytes after (blocks), or
 *                         one record per structure written, each exactly its
 *                         size, as makedumpfile -F writes them (writes)
 *   shuffle               flattened records in reverse order, the header written twice
 *                         (a bogus copy first, the real one last)
 *   split N               N files OUT.1 .. OUT.N (frame ranges of equal size)
 *   stampstep N           split part P's timestamp is P * N microseconds later
 *   diskdump              "DISKDUMP" signature and one bitmap
 *   badpage N short|long|garbage   descriptor N: compressed data that decodes to
 *                         block-1 / block+1 bytes, or is not valid for the codec
 *   truncate N            cut the (first) file to N bytes
 * Page contents: fx_fill() of fixture.h, the generator every builder uses.
 *
 * --expect: fixture.h's expectation of the model; --map writes "NAME OFFSET
 * SIZE" lines for the structures of the (first, unflattened) file: hdr,
 * hdr.timestamp, hdr.block_size, hdr.sub_hdr_size, hdr.bitmap_blocks,
 * hdr.max_mapnr, sub, sub.max_mapnr, bitmap1, bitmap2, desc, desc.N, data.N,
 * zero; for a flattened dump only flat.rec.N (the N-th record header in the
 * flattened file) and flat.end.
 */
#include <lzo1x.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "fixture.h"

static int bits = 64, be = 0, version = 6, subpad = 0, level = 1, shuffle = 0, nsplit = 0;
static int zeropage = 1, incomplete = 0, diskdump = 0, badidx = -1, flat_writes = 0;
static const char *flat = NULL;
static char badkind[16];
static uint32_t bs = 4096, sub_blocks = 1;
static char machine[66] = "", sysname[66] = "Linux";
static const char *codec = "zlib";
static uint64_t mapnr = 0, stampstep = 0;

/* frame kinds */
enum { F_HOLE, F_FILTERED, F_UNWRITTEN, F_ZERO, F_PAGE };
struct kframe {
	int kind;
	const uint8_t *data;      /* bs bytes (F_ZERO, F_PAGE) */
	char codec[8];            /* how it is stored */
};
static struct kframe *fr;
static uint64_t nframes;

static void putn(struct fx_buf *b, size_t off, uint64_t v, int n)
{
	uint8_t t[8];
	if (be)
		fx_set_be(t, v, (unsigned)n);
	else
		fx_set_le(t, v, (unsigned)n);
	fx_put_at(b, off, t, (size_t)n);
}

/* the structures written, for the flattened "writes" records */
struct writes {
	struct fx_rec *r;
	size_t n, cap;
};

static void wrote(struct writes *w, uint64_t off, uint64_t len)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->r = realloc(w->r, w->cap * sizeof *w->r);
		if (!w->r)
			fx_die("out of memory");
	}
	w->r[w->n++] = (struct fx_rec){ off, len };
}

static uint32_t codec_flag(const char *c)
{
	return !strcmp(c, "zlib") ? 1 : !strcmp(c, "lzo") ? 2 : !strcmp(c, "snappy") ? 4 : !strcmp(c, "zstd") ? 0x20 : 0;
}

/* compress one block with codec c; returns size and flags */
static size_t compress_block(const char *c, const uint8_t *in, size_t inlen, uint8_t *out, size_t cap, uint32_t *flags)
{
	*flags = codec_flag(c);
	if (!strcmp(c, "zlib")) {
		uLongf n = cap;
		if (compress2(out, &n, in, inlen, 1) != Z_OK)
			fx_die("mkkdump: zlib failed");
		return n;
	}
	if (!strcmp(c, "lzo")) {
		static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
		lzo_uint n = cap;
		if (lzo1x_1_compress(in, inlen, out, &n, wrk) != LZO_E_OK)
			fx_die("mkkdump: lzo failed");
		return n;
	}
	if (!strcmp(c, "snappy")) {
		size_t n = cap;
		if (snappy_compress((const char *)in, inlen, (char *)out, &n) != SNAPPY_OK)
			fx_die("mkkdump: snappy failed");
		return n;
	}
	if (!strcmp(c, "zstd")) {
		size_t n = ZSTD_compress(out, cap, in, inlen, 1);
		if (ZSTD_isError(n))
			fx_die("mkkdump: zstd failed");
		return n;
	}
	if (strcmp(c, "raw"))
		fx_die("mkkdump: unknown codec '%s'", c);
	memcpy(out, in, inlen);
	return inlen;
}

static void read_options(const struct fx_model *m)
{
	bits = (int)fx_optn(m, "bits", 64);
	be = !strcmp(fx_opt(m, "endian", "le"), "be");
	version = (int)fx_optn(m, "version", 6);
	bs = m->ps;
	subpad = !strcmp(fx_opt(m, "sub", "pack"), "pad");
	snprintf(machine, sizeof machine, "%s", fx_opt(m, "machine", ""));
	const char *sn = fx_opt(m, "sysname", "Linux");
	snprintf(sysname, sizeof sysname, "%s", strcmp(sn, "\"\"") ? sn : "");
	level = (int)fx_optn(m, "level", 1);
	codec = fx_opt(m, "codec", "zlib");
	zeropage = !fx_opt(m, "nozeropage", NULL);
	flat = fx_opt(m, "flat", NULL);
	flat_writes = flat && !strcmp(flat, "writes");
	shuffle = fx_opt(m, "shuffle", NULL) != NULL;
	nsplit = (int)fx_optn(m, "split", 0);
	stampstep = fx_optn(m, "stampstep", 0);
	sub_blocks = (uint32_t)fx_optn(m, "subblocks", 1);
	diskdump = fx_opt(m, "diskdump", NULL) != NULL;
	const char *bad = fx_opt(m, "badpage", NULL);
	if (bad) {
		badidx = (int)fx_num(bad);
		for (size_t i = 0; i < m->nopt; i++)
			if (!strcmp(m->opt[i].key, "badpage"))
				fx_rest(m->opt[i].rest, 1, badkind, sizeof badkind);
	}
	if (!machine[0])
		snprintf(machine, sizeof machine, "%s", bits == 64 ? (be ? "s390x" : "x86_64") : (be ? "ppc" : "i686"));
}

/* The frames of the model, by frame number. */
static void make_frames(const struct fx_model *m, struct fx_frame *f, size_t n)
{
	nframes = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].pfn + 1 > nframes)
			nframes = f[i].pfn + 1;
	mapnr = fx_optn(m, "mapnr", nframes);
	if (nframes > mapnr)
		fx_die("mkkdump: frame %llu is past max_mapnr %llu", (unsigned long long)nframes - 1,
		       (unsigned long long)mapnr);
	fr = fx_alloc((nframes ? nframes : 1) * sizeof *fr);
	static const uint8_t *zero; /* the data of a zero frame (fx_frames keeps none) */
	if (!zero)
		zero = fx_alloc(bs);
	for (size_t i = 0; i < n; i++) {
		if (f[i].block >= 0)
			fx_die("mkkdump: a kdump dump has no blocks");
		struct kframe *k = &fr[f[i].pfn];
		bool has_codec = fx_attr(f[i].seg->attr, "codec", k->codec, sizeof k->codec);
		if (!has_codec)
			snprintf(k->codec, sizeof k->codec, "%s", codec);
		if (f[i].absent) {
			k->kind = fx_attr(f[i].seg->attr, "unwritten", NULL, 0) ? F_UNWRITTEN : F_FILTERED;
			incomplete |= k->kind == F_UNWRITTEN;
			continue;
		}
		k->data = f[i].data ? f[i].data : zero;
		k->kind = !has_codec && !f[i].data ? F_ZERO : F_PAGE;
	}
}

/* bytes of the sub header the producer writes: its struct for the version */
static size_t sub_size(void)
{
	static const uint8_t s64[7] = { 0, 0x10, 0x20, 0x30, 0x40, 0x50, 0x68 };
	static const uint8_t pack[7] = { 0, 0x08, 0x14, 0x20, 0x2C, 0x38, 0x50 };
	static const uint8_t pad[7] = { 0, 0x08, 0x14, 0x28, 0x38, 0x48, 0x60 };
	int v = version > 6 ? 6 : version;
	return bits == 64 ? s64[v] : subpad ? pad[v] : pack[v];
}

static void main_header(struct fx_buf *o, int part, bool first)
{
	const int w = bits == 64 ? 8 : 4;
	fx_put_at(o, 0, diskdump ? "DISKDUMP" : "KDUMP   ", 8);
	putn(o, 8, (uint64_t)version, 4);
	fx_put_at(o, 0x0C, sysname, strlen(sysname));
	fx_put_at(o, 0x0C + 65, "fixture", 7);
	fx_put_at(o, 0x0C + 130, "6.1.0-test", 10);
	fx_put_at(o, 0x0C + 260, machine, strlen(machine));
	size_t ts = bits == 64 ? 0x198 : 0x194, t = ts + 2 * (size_t)w;
	putn(o, ts, 1700000000, w);
	putn(o, ts + (size_t)w, (uint64_t)part * stampstep, w);
	uint32_t status = codec_flag(codec) | (incomplete ? 8u : 0u);
	uint64_t bm_blocks = ((mapnr + 7) / 8 + bs - 1) / bs;
	putn(o, t, status, 4);
	putn(o, t + 4, bs, 4);
	putn(o, t + 8, version >= 1 && !diskdump ? sub_blocks : 0, 4);
	putn(o, t + 12, diskdump ? bm_blocks : 2 * bm_blocks, 4);
	putn(o, t + 16, mapnr > 0xffffffffu ? 0xffffffffu : mapnr, 4);
	putn(o, bits == 64 ? 0x1CC : 0x1C0, 1, 4); /* nr_cpus */
	if (first) {
		fx_field(o, "hdr", 0, bits == 64 ? 0x1D0 : 0x1C4);
		fx_field(o, "hdr.timestamp", ts, 2 * (size_t)w);
		fx_field(o, "hdr.block_size", t + 4, 4);
		fx_field(o, "hdr.sub_hdr_size", t + 8, 4);
		fx_field(o, "hdr.bitmap_blocks", t + 12, 4);
		fx_field(o, "hdr.max_mapnr", t + 16, 4);
	}
}

static void sub_header(struct fx_buf *o, uint64_t lo, uint64_t hi, bool first, struct writes *wr)
{
	const size_t s = bs;
	const char *vmci = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
	const size_t vi = s + 0x100, vl = strlen(vmci);
	putn(o, s, 0, bits == 64 ? 8 : 4); /* phys_base */
	wrote(wr, s, sub_size());
	const bool vmcoreinfo = version >= 3 && sub_blocks > 0;
	if (vmcoreinfo) {
		fx_put_at(o, vi, vmci, vl);
		wrote(wr, vi, vl);
	}
	size_t mx; /* where max_mapnr_64 goes */
	if (bits == 64) {
		putn(o, s + 0x08, (uint64_t)level, 4);
		putn(o, s + 0x0C, nsplit ? 1 : 0, 4);
		putn(o, s + 0x10, lo, 8);
		putn(o, s + 0x18, hi, 8);
		putn(o, s + 0x20, vmcoreinfo ? vi : 0, 8);
		putn(o, s + 0x28, vmcoreinfo ? vl : 0, 8);
		mx = s + 0x60;
	} else {
		putn(o, s + 0x04, (uint64_t)level, 4);
		putn(o, s + 0x08, nsplit ? 1 : 0, 4);
		putn(o, s + 0x0C, lo, 4);
		putn(o, s + 0x10, hi, 4);
		size_t q = s + (subpad ? 0x18 : 0x14);
		if (vmcoreinfo) {
			putn(o, q, vi, 8);
			putn(o, q + 8, vl, 4);
		}
		/* past vmcoreinfo, notes and eraseinfo to the 64-bit frame numbers */
		mx = q + 3 * (subpad ? 0x10 : 0x0C) + 16;
	}
	if (version >= 6) {
		putn(o, mx - 16, lo, 8);
		putn(o, mx - 8, hi, 8);
		putn(o, mx, mapnr, 8);
		if (first)
			fx_field(o, "sub.max_mapnr", mx, 8);
	}
	if (first)
		fx_field(o, "sub", s, bs);
}

/* the stored bytes of frame f's page (descriptor k); returns their size */
static size_t page_bytes(const struct kframe *kf, uint64_t k, bool first, uint8_t *cbuf, uint32_t *flags)
{
	if ((int64_t)k == badidx && first) {
		if (!strcmp(badkind, "garbage")) {
			size_t n = bs / 2;
			for (size_t i = 0; i < n; i++)
				cbuf[i] = (uint8_t)(0xA5 ^ i);
			compress_block(kf->codec, kf->data, bs, cbuf + bs, 2 * bs + 128, flags);
			return n;
		}
		uint8_t *big = fx_alloc(bs + 2);
		memcpy(big, kf->data, bs);
		big[bs] = 7;
		size_t n = compress_block(kf->codec, big, !strcmp(badkind, "short") ? bs - 1 : bs + 1, cbuf, 2 * bs + 64,
					  flags);
		free(big);
		return n;
	}
	size_t n = compress_block(kf->codec, kf->data, bs, cbuf, 2 * bs + 64, flags);
	if (n >= bs && *flags) { /* as makedumpfile: store raw when it does not shrink */
		memcpy(cbuf, kf->data, bs);
		n = bs;
		*flags = 0;
	}
	return n;
}

/* One kdump file holding descriptors for frames [lo, hi). */
static void build(struct fx_buf *o, uint64_t lo, uint64_t hi, int part, struct writes *wr)
{
	const bool first = part == 0;
	main_header(o, part, first);
	wrote(wr, 0, bits == 64 ? 0x1D0 : 0x1C4);
	bool has_sub = version >= 1 && !diskdump;
	if (has_sub)
		sub_header(o, lo, hi, first, wr);
	/* bitmaps */
	size_t bm = (size_t)(((mapnr + 7) / 8 + bs - 1) / bs) * bs;
	size_t b1 = (size_t)(1 + (has_sub ? sub_blocks : 0)) * bs;
	size_t b2 = diskdump ? b1 : b1 + bm;
	size_t desc = b2 + bm;
	if (o->len < desc)
		fx_put_at(o, o->len, NULL, desc - o->len);
	for (uint64_t f = 0; f < nframes; f++) {
		if (fr[f].kind != F_HOLE)
			o->p[b1 + f / 8] |= (uint8_t)(1u << (f % 8));
		if (fr[f].kind != F_HOLE && fr[f].kind != F_FILTERED)
			o->p[b2 + f / 8] |= (uint8_t)(1u << (f % 8));
	}
	wrote(wr, b1, bm);
	if (!diskdump)
		wrote(wr, b2, bm);
	if (first) {
		fx_field(o, "bitmap1", b1, bm);
		fx_field(o, "bitmap2", b2, bm);
	}
	/* descriptors for this file's frames, then the page data */
	uint64_t nd = 0;
	for (uint64_t f = lo; f < hi && f < nframes; f++)
		nd += fr[f].kind != F_HOLE && fr[f].kind != F_FILTERED;
	if (first)
		fx_field(o, "desc", desc, nd * 24);
	fx_put_at(o, desc, NULL, nd * 24);
	wrote(wr, desc, nd * 24);
	size_t data = desc + nd * 24, zero_off = 0;
	if (data < o->len) /* a sub header past its blocks (subblocks 0) */
		data = o->len;
	if (zeropage && mapnr) { /* an empty dump has no page data at all */
		zero_off = data;
		fx_put_at(o, data, NULL, bs);
		wrote(wr, data, bs);
		data += bs;
		if (first)
			fx_field(o, "zero", zero_off, bs);
	}
	uint8_t *cbuf = fx_alloc(3 * bs + 128);
	uint64_t k = 0;
	for (uint64_t f = lo; f < hi && f < nframes; f++) {
		const struct kframe *kf = &fr[f];
		if (kf->kind == F_HOLE || kf->kind == F_FILTERED)
			continue;
		size_t dpos = desc + k * 24;
		uint64_t off = 0;
		uint32_t size = 0, flags = 0;
		if (kf->kind == F_ZERO && zeropage) {
			off = zero_off;
			size = bs;
		} else if (kf->kind != F_UNWRITTEN) {
			size_t n = page_bytes(kf, k, first, cbuf, &flags);
			off = data;
			size = (uint32_t)n;
			if (!fx_is_zero(cbuf, n)) /* zero bytes (raw zero pages): the gap is zero filled */
				fx_put_at(o, data, cbuf, n);
			wrote(wr, data, n);
			if (first) {
				char nm[32];
				snprintf(nm, sizeof nm, "data.%llu", (unsigned long long)k);
				fx_field(o, nm, off, n);
			}
			data += n;
		}
		putn(o, dpos, off, 8);
		putn(o, dpos + 8, size, 4);
		putn(o, dpos + 12, flags, 4);
		putn(o, dpos + 16, 0, 8);
		if (first) {
			char nm[32];
			snprintf(nm, sizeof nm, "desc.%llu", (unsigned long long)k);
			fx_field(o, nm, dpos, 24);
		}
		k++;
	}
	if (o->len < data) /* zero page data at the end */
		fx_put_at(o, data, NULL, 0);
	free(cbuf);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct fx_rec *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* the flattened form of a plain kdump image */
static void flatten(const struct fx_buf *in, struct writes *wr, struct fx_buf *out)
{
	if (!flat_writes) { /* one block each for the first part, 3000-byte pieces after */
		wr->n = 0;
		for (size_t off = 0; off < in->len;) {
			size_t len = off < 4 * bs ? bs : 3000;
			if (off + len > in->len)
				len = in->len - off;
			wrote(wr, off, len);
			off += len;
		}
	} else {
		qsort(wr->r, wr->n, sizeof *wr->r, cmp_rec);
	}
	fx_flatten(in->p, wr->r, wr->n, shuffle ? FX_FLAT_REVERSE | FX_FLAT_JUNK : 0, out);
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	read_options(&m);
	size_t nf;
	struct fx_frame *f = fx_frames(&m, &nf);
	make_frames(&m, f, nf);
	if (lzo_init() != LZO_E_OK)
		fx_die("mkkdump: lzo_init failed");
	FILE *map = fx_open_map(&a);
	uint64_t cut = fx_optn(&m, "truncate", UINT64_MAX);
	static struct writes wr;
	int parts = nsplit ? nsplit : 1;
	for (int p = 0; p < parts; p++) {
		uint64_t lo = mapnr * (uint64_t)p / (uint64_t)parts, hi = mapnr * (uint64_t)(p + 1) / (uint64_t)parts;
		/* the map describes the first file, or the records of its flattened form */
		struct fx_buf b = { .map = p == 0 && !flat ? map : NULL };
		wr.n = 0;
		build(&b, nsplit ? lo : 0, nsplit ? hi : mapnr, p, &wr);
		char path[4096];
		snprintf(path, sizeof path, nsplit ? "%s.%d" : "%s", a.out, p + 1);
		if (flat) {
			struct fx_buf fl = { .map = p == 0 ? map : NULL };
			flatten(&b, &wr, &fl);
			fx_buf_free(&b);
			b = fl;
		}
		fx_write_file(path, b.p, p == 0 && cut < b.len ? (size_t)cut : b.len);
		fx_buf_free(&b);
	}
	if (map)
		fclose(map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_free_frames(f, nf);
	free(wr.r);
	free(fr);
	fx_free_model(&m);
	return 0;
}
