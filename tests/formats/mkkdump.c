/*
 * mkkdump — write a small kdump-compressed dump (or its makedumpfile
 * flattened form, or a split set) from a text spec, with page compression by
 * the real codec libraries (zlib, liblzo2, libsnappy, libzstd), for tests
 * whose expected numbers are known by construction.
 *
 * Usage: mkkdump SPEC OUT [--expect FILE] [--map FILE]     (SPEC '-' = stdin)
 *
 * Spec lines (# comments):
 *   bits 32|64            header layout (default 64)
 *   endian le|be          (default le)
 *   version N             header_version (default 6)
 *   block N               block size = page size (default 4096)
 *   sub pack|pad          32-bit sub header: packed (i386, QEMU) or padded (ARM, MIPS)
 *   machine NAME          utsname.machine (default x86_64 / s390x / i686 / ppc)
 *   sysname NAME          utsname.sysname (default Linux; "" = QEMU style)
 *   level N               dump_level (default 1)
 *   codec C               zlib | lzo | snappy | zstd | raw (default zlib)
 *   pages P,P,...         frames from pfn 0: 0 = zero page, k > 0 = pattern k,
 *                         u<k> = pattern k stored uncompressed, - = not RAM,
 *                         x = RAM filtered out (1st bitmap only); P*N = N frames P
 *   mapnr N               max_mapnr (default: number of frames in `pages`)
 *   nozeropage            store zero pages like any other page (no shared zero page)
 *   flat                  write the flattened format
 *   shuffle               flattened records in reverse order, the header written twice
 *                         (a bogus copy first, the real one last)
 *   split N               N files OUT.1 .. OUT.N (frame ranges of equal size)
 *   incomplete N          the last N descriptors never written (offset 0), status bit set
 *   diskdump              "DISKDUMP" signature and one bitmap
 *   badpage N short|long|garbage   descriptor N: compressed data that decodes to
 *                         block-1 / block+1 bytes, or is not valid for the codec
 *   truncate N            cut the (first) file to N bytes
 * Page pattern k: fx_fill() of fixture.h, the generator every builder uses
 * (distinct k give distinct pages, never a zero page).
 *
 * --expect writes "pages N", "absent N", "zero N", "nonzero N", "distinct N",
 * "intra N", "partial 0" and "range START PAGES STATE" lines; --map writes
 * "NAME OFFSET SIZE" lines for the structures of the (first, unflattened)
 * file: hdr, hdr.block_size, hdr.bitmap_blocks, hdr.max_mapnr, sub,
 * sub.max_mapnr, bitmap1, bitmap2, desc, desc.N, data.N, zero; flattened
 * files add flat.rec.N (the N-th record header in the flattened file).
 */
#include <lzo1x.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "fixture.h"

#define MAXF (1 << 21)

static int bits = 64, be = 0, version = 6, subpad = 0, level = 1, flat = 0, shuffle = 0, nsplit = 0;
static int zeropage = 1, incomplete = 0, diskdump = 0, badidx = -1;
static char badkind[16];
static uint32_t bs = 4096;
static char machine[66] = "", sysname[66] = "Linux";
static int have_sysname = 0;
static char codec[16] = "zlib";
static long long truncate_to = -1;
static uint64_t mapnr = 0;
/* frame kinds */
enum { F_HOLE, F_FILTERED, F_ZERO, F_PAT, F_RAWPAT };
static int fk[MAXF];
static uint32_t fpat[MAXF];
static size_t nframes;

static void die(const char *m, const char *a)
{
	fprintf(stderr, "mkkdump: %s%s%s\n", m, a ? ": " : "", a ? a : "");
	exit(2);
}

/* ---- output buffer in the dump's byte order ---- */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void need(struct buf *b, size_t n)
{
	if (n <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 65536;
	while (c < n)
		c *= 2;
	uint8_t *p = calloc(1, c); /* fresh zero memory: zero pages stay unbacked (fx_copy) */
	if (!p)
		die("out of memory", NULL);
	if (b->p)
		fx_copy(p, b->p, b->cap);
	free(b->p);
	b->p = p;
	b->cap = c;
}

static void put(struct buf *b, size_t off, const void *src, size_t n)
{
	need(b, off + n);
	fx_copy(b->p + off, src, n);
	if (off + n > b->len)
		b->len = off + n;
}

static void putn(struct buf *b, size_t off, uint64_t v, int n)
{
	uint8_t t[8];
	for (int i = 0; i < n; i++)
		t[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, off, t, (size_t)n);
}

static FILE *mapf;
static void mapline(const char *name, uint64_t off, uint64_t size)
{
	if (mapf)
		fprintf(mapf, "%s %llu %llu\n", name, (unsigned long long)off, (unsigned long long)size);
}

/* compress one block; returns size and flags */
static size_t compress_block(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap, uint32_t *flags)
{
	if (strcmp(codec, "zlib") == 0) {
		uLongf n = cap;
		if (compress2(out, &n, in, inlen, 1) != Z_OK)
			die("zlib failed", NULL);
		*flags = 1;
		return n;
	}
	if (strcmp(codec, "lzo") == 0) {
		static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
		lzo_uint n = cap;
		if (lzo1x_1_compress(in, inlen, out, &n, wrk) != LZO_E_OK)
			die("lzo failed", NULL);
		*flags = 2;
		return n;
	}
	if (strcmp(codec, "snappy") == 0) {
		size_t n = cap;
		if (snappy_compress((const char *)in, inlen, (char *)out, &n) != SNAPPY_OK)
			die("snappy failed", NULL);
		*flags = 4;
		return n;
	}
	if (strcmp(codec, "zstd") == 0) {
		size_t n = ZSTD_compress(out, cap, in, inlen, 1);
		if (ZSTD_isError(n))
			die("zstd failed", NULL);
		*flags = 0x20;
		return n;
	}
	*flags = 0;
	memcpy(out, in, inlen);
	return inlen;
}

static void parse_spec(FILE *f)
{
	char line[1 << 16];
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char kw[32], a[sizeof line], b2[32];
		a[0] = b2[0] = 0;
		int n = sscanf(line, "%31s %65535s %31s", kw, a, b2);
		if (n < 1)
			continue;
		if (!strcmp(kw, "bits")) bits = atoi(a);
		else if (!strcmp(kw, "endian")) be = !strcmp(a, "be");
		else if (!strcmp(kw, "version")) version = atoi(a);
		else if (!strcmp(kw, "block")) bs = (uint32_t)strtoul(a, NULL, 0);
		else if (!strcmp(kw, "sub")) subpad = !strcmp(a, "pad");
		else if (!strcmp(kw, "machine")) snprintf(machine, sizeof machine, "%s", a);
		else if (!strcmp(kw, "sysname")) { snprintf(sysname, sizeof sysname, "%s", strcmp(a, "\"\"") ? a : ""); have_sysname = 1; }
		else if (!strcmp(kw, "level")) level = atoi(a);
		else if (!strcmp(kw, "codec")) snprintf(codec, sizeof codec, "%s", a);
		else if (!strcmp(kw, "mapnr")) mapnr = strtoull(a, NULL, 0);
		else if (!strcmp(kw, "nozeropage")) zeropage = 0;
		else if (!strcmp(kw, "flat")) flat = 1;
		else if (!strcmp(kw, "shuffle")) shuffle = 1;
		else if (!strcmp(kw, "split")) nsplit = atoi(a);
		else if (!strcmp(kw, "incomplete")) incomplete = atoi(a);
		else if (!strcmp(kw, "diskdump")) diskdump = 1;
		else if (!strcmp(kw, "badpage")) { badidx = atoi(a); snprintf(badkind, sizeof badkind, "%s", b2); }
		else if (!strcmp(kw, "truncate")) truncate_to = atoll(a);
		else if (!strcmp(kw, "pages")) {
			for (char *t = strtok(a, ","); t; t = strtok(NULL, ",")) {
				char *star = strchr(t, '*'); /* P*N: N frames P */
				size_t times = star ? strtoul(star + 1, NULL, 0) : 1;
				if (star)
					*star = 0;
				for (size_t r = 0; r < times; r++) {
				if (nframes >= MAXF)
					die("too many frames", NULL);
				if (!strcmp(t, "-")) fk[nframes] = F_HOLE;
				else if (!strcmp(t, "x")) fk[nframes] = F_FILTERED;
				else if (t[0] == 'u') { fk[nframes] = F_RAWPAT; fpat[nframes] = (uint32_t)atoi(t + 1); }
				else if (atoi(t) == 0) fk[nframes] = F_ZERO;
				else { fk[nframes] = F_PAT; fpat[nframes] = (uint32_t)atoi(t); }
				nframes++;
				}
			}
		} else
			die("unknown spec keyword", kw);
	}
	if (!machine[0])
		snprintf(machine, sizeof machine, "%s", bits == 64 ? (be ? "s390x" : "x86_64") : (be ? "ppc" : "i686"));
	(void)have_sysname;
	if (!mapnr)
		mapnr = nframes;
}

/* One kdump file holding descriptors for frames [lo, hi). */
static void build(struct buf *o, uint64_t lo, uint64_t hi, int first, uint64_t *ndesc_out)
{
	const int w = bits == 64 ? 8 : 4;
	/* main header */
	put(o, 0, diskdump ? "DISKDUMP" : "KDUMP   ", 8);
	putn(o, 8, (uint64_t)version, 4);
	put(o, 0x0C, sysname, strlen(sysname));
	put(o, 0x0C + 65, "fixture", 7);
	put(o, 0x0C + 130, "6.1.0-test", 10);
	put(o, 0x0C + 260, machine, strlen(machine));
	size_t t = bits == 64 ? 0x1A8 : 0x19C;
	putn(o, bits == 64 ? 0x198 : 0x194, 1700000000, w); /* timestamp */
	uint32_t status = !strcmp(codec, "zlib") ? 1 : !strcmp(codec, "lzo") ? 2 : !strcmp(codec, "snappy") ? 4
			  : !strcmp(codec, "zstd") ? 0x20 : 0;
	if (incomplete)
		status |= 8;
	uint64_t bm_bytes = (mapnr + 7) / 8;
	uint32_t bm_blocks = (uint32_t)((bm_bytes + bs - 1) / bs);
	if (!bm_blocks)
		bm_blocks = 1;
	uint32_t bitmap_blocks = diskdump ? bm_blocks : 2 * bm_blocks;
	uint32_t sub_blocks = 1;
	putn(o, t, status, 4);
	putn(o, t + 4, bs, 4);
	putn(o, t + 8, version >= 1 && !diskdump ? sub_blocks : 0, 4);
	putn(o, t + 12, bitmap_blocks, 4);
	putn(o, t + 16, mapnr > 0xffffffffu ? 0xffffffffu : mapnr, 4);
	putn(o, bits == 64 ? 0x1CC : 0x1C0, 1, 4); /* nr_cpus */
	if (first) {
		mapline("hdr", 0, bits == 64 ? 0x1D0 : 0x1C4);
		mapline("hdr.block_size", t + 4, 4);
		mapline("hdr.sub_hdr_size", t + 8, 4);
		mapline("hdr.bitmap_blocks", t + 12, 4);
		mapline("hdr.max_mapnr", t + 16, 4);
	}
	/* sub header */
	size_t s = bs;
	const char *vmci = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
	if (version >= 1 && !diskdump) {
		putn(o, s, 0, w); /* phys_base */
		if (bits == 64) {
			putn(o, s + 0x08, (uint64_t)level, 4);
			putn(o, s + 0x0C, nsplit ? 1 : 0, 4);
			putn(o, s + 0x10, lo, 8);
			putn(o, s + 0x18, hi, 8);
			size_t vi = s + 0x100;
			putn(o, s + 0x20, version >= 3 ? vi : 0, 8);
			putn(o, s + 0x28, version >= 3 ? strlen(vmci) : 0, 8);
			if (version >= 3)
				put(o, vi, vmci, strlen(vmci));
			if (version >= 6) {
				putn(o, s + 0x50, lo, 8);
				putn(o, s + 0x58, hi, 8);
				putn(o, s + 0x60, mapnr, 8);
				if (first)
					mapline("sub.max_mapnr", s + 0x60, 8);
			}
		} else {
			putn(o, s + 0x04, (uint64_t)level, 4);
			putn(o, s + 0x08, nsplit ? 1 : 0, 4);
			putn(o, s + 0x0C, lo, 4);
			putn(o, s + 0x10, hi, 4);
			size_t q = s + (subpad ? 0x18 : 0x14);
			size_t vi = s + 0x100;
			if (version >= 3) {
				putn(o, q, vi, 8);
				putn(o, q + 8, strlen(vmci), 4);
				put(o, vi, vmci, strlen(vmci));
			}
			q += subpad ? 0x10 : 0x0C; /* to notes */
			q += subpad ? 0x10 : 0x0C; /* to eraseinfo */
			q += subpad ? 0x10 : 0x0C; /* to the 64-bit frame numbers */
			if (version >= 6) {
				putn(o, q, lo, 8);
				putn(o, q + 8, hi, 8);
				putn(o, q + 16, mapnr, 8);
				if (first)
					mapline("sub.max_mapnr", q + 16, 8);
			}
		}
		if (first)
			mapline("sub", s, bs);
	}
	/* bitmaps */
	size_t b1 = (size_t)(1 + (version >= 1 && !diskdump ? sub_blocks : 0)) * bs;
	size_t b2 = diskdump ? b1 : b1 + (size_t)bm_blocks * bs;
	need(o, b2 + (size_t)bm_blocks * bs);
	if (o->len < b2 + (size_t)bm_blocks * bs)
		o->len = b2 + (size_t)bm_blocks * bs;
	for (uint64_t f = 0; f < nframes && f < mapnr; f++) {
		if (fk[f] != F_HOLE)
			o->p[b1 + f / 8] |= (uint8_t)(1u << (f % 8));
		if (fk[f] != F_HOLE && fk[f] != F_FILTERED)
			o->p[b2 + f / 8] |= (uint8_t)(1u << (f % 8));
	}
	if (first) {
		mapline("bitmap1", b1, (uint64_t)bm_blocks * bs);
		mapline("bitmap2", b2, (uint64_t)bm_blocks * bs);
	}
	/* descriptors for this file's frames */
	size_t desc = b2 + (size_t)bm_blocks * bs;
	if (diskdump)
		desc = b1 + (size_t)bm_blocks * bs;
	uint64_t nd = 0;
	for (uint64_t f = lo; f < hi && f < nframes; f++)
		if (fk[f] != F_HOLE && fk[f] != F_FILTERED)
			nd++;
	*ndesc_out = nd;
	if (first)
		mapline("desc", desc, nd * 24);
	size_t data = desc + nd * 24;
	size_t zero_off = 0;
	uint8_t *page = malloc(bs), *cbuf = malloc(3 * bs + 128), *big = calloc(1, bs + 2);
	if (zeropage) {
		zero_off = data;
		memset(page, 0, bs);
		put(o, data, page, bs);
		data += bs;
		if (first)
			mapline("zero", zero_off, bs);
	}
	uint64_t k = 0;
	for (uint64_t f = lo; f < hi && f < nframes; f++) {
		if (fk[f] == F_HOLE || fk[f] == F_FILTERED)
			continue;
		size_t dpos = desc + k * 24;
		uint64_t off;
		uint32_t size, flags;
		if (fk[f] == F_ZERO && zeropage) {
			off = zero_off;
			size = bs;
			flags = 0;
		} else {
			if (fk[f] == F_ZERO)
				memset(page, 0, bs);
			else
				fx_fill(fpat[f], page, bs);
			size_t n;
			if ((int64_t)k == badidx && first) {
				if (!strcmp(badkind, "garbage")) {
					n = bs / 2;
					for (size_t i = 0; i < n; i++)
						cbuf[i] = (uint8_t)(0xA5 ^ i);
					compress_block(page, bs, cbuf + bs, 2 * bs + 128, &flags);
				} else {
					memcpy(big, page, bs);
					big[bs] = 7;
					n = compress_block(big, !strcmp(badkind, "short") ? bs - 1 : bs + 1, cbuf,
							   2 * bs + 64, &flags);
				}
			} else if (fk[f] == F_RAWPAT) {
				memcpy(cbuf, page, bs);
				n = bs;
				flags = 0;
			} else {
				n = compress_block(page, bs, cbuf, 2 * bs + 64, &flags);
				if (n >= bs && flags) { /* as makedumpfile: store raw when it does not shrink */
					memcpy(cbuf, page, bs);
					n = bs;
					flags = 0;
				}
			}
			off = data;
			size = (uint32_t)n;
			put(o, data, cbuf, n);
			if (first) {
				char nm[32];
				snprintf(nm, sizeof nm, "data.%llu", (unsigned long long)k);
				mapline(nm, off, n);
			}
			data += n;
		}
		if (incomplete && k >= nd - (uint64_t)incomplete) {
			off = 0;
			size = 0;
			flags = 0;
		}
		putn(o, dpos, off, 8);
		putn(o, dpos + 8, size, 4);
		putn(o, dpos + 12, flags, 4);
		putn(o, dpos + 16, 0, 8);
		if (first) {
			char nm[32];
			snprintf(nm, sizeof nm, "desc.%llu", (unsigned long long)k);
			mapline(nm, dpos, 24);
		}
		k++;
	}
	if (o->len < data)
		o->len = data;
	free(page);
	free(cbuf);
	free(big);
}

/* the flattened form of a plain kdump image */
static void flatten(const struct buf *in, struct buf *out)
{
	uint8_t h[4096] = { 0 };
	memcpy(h, "makedumpfile", 12);
	h[23] = 1; /* type, BE */
	h[31] = 1; /* version, BE */
	put(out, 0, h, sizeof h);
	/* records: one block each for the first part, 3000-byte pieces after */
	size_t n = 0, cap = 64;
	size_t (*rec)[2] = malloc(cap * sizeof *rec);
	for (size_t off = 0; off < in->len;) {
		size_t len = off < 4 * bs ? bs : 3000;
		if (off + len > in->len)
			len = in->len - off;
		if (n == cap)
			rec = realloc(rec, (cap *= 2) * sizeof *rec);
		rec[n][0] = off;
		rec[n][1] = len;
		n++;
		off += len;
	}
	size_t pos = out->len;
	int sbe = be;
	be = 1;
	if (shuffle) { /* a wrong header first; the real one comes last and wins */
		uint8_t junk[64];
		memset(junk, 0x5a, sizeof junk);
		putn(out, pos, 0, 8);
		putn(out, pos + 8, sizeof junk, 8);
		put(out, pos + 16, junk, sizeof junk);
		pos += 16 + sizeof junk;
	}
	for (size_t i = 0; i < n; i++) {
		size_t r = shuffle ? n - 1 - i : i;
		char nm[32];
		snprintf(nm, sizeof nm, "flat.rec.%zu", r);
		mapline(nm, pos, 16);
		putn(out, pos, rec[r][0], 8);
		putn(out, pos + 8, rec[r][1], 8);
		put(out, pos + 16, in->p + rec[r][0], rec[r][1]);
		pos += 16 + rec[r][1];
	}
	putn(out, pos, UINT64_MAX, 8);
	putn(out, pos + 8, UINT64_MAX, 8);
	mapline("flat.end", pos, 16);
	be = sbe;
	free(rec);
}

static void write_file(const char *path, const struct buf *b, long long cut)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot write", path);
	size_t n = b->len;
	if (cut >= 0 && (size_t)cut < n)
		n = (size_t)cut;
	if (fclose(f))
		die("write failed", path);
	fx_write_file(path, b->p, n); /* sparse: holes for zero blocks */
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void expect(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write", path);
	uint64_t pages = 0, absent = 0, zero = 0, nonzero = 0, distinct = 0;
	static uint32_t ids[MAXF]; /* pattern ids of the non-zero pages: distinct ids, distinct pages */
	uint64_t nd = 0, total = 0;
	for (size_t i = 0; i < nframes && i < mapnr; i++)
		if (fk[i] != F_HOLE && fk[i] != F_FILTERED)
			total++;
	for (size_t i = 0; i < nframes && i < mapnr; i++) {
		int k = fk[i];
		if (k == F_HOLE)
			continue;
		int missing = 0;
		if (k != F_FILTERED) {
			missing = incomplete && nd >= total - (uint64_t)incomplete;
			nd++;
		}
		if (k == F_FILTERED || missing) {
			absent++;
			continue;
		}
		pages++;
		if (k == F_ZERO) {
			zero++;
			continue;
		}
		ids[nonzero++] = fpat[i];
	}
	qsort(ids, nonzero, sizeof *ids, cmp_u32);
	for (uint64_t i = 0; i < nonzero; i++)
		distinct += i == 0 || ids[i] != ids[i - 1];
	fprintf(f, "pages %llu\nabsent %llu\nzero %llu\nnonzero %llu\ndistinct %llu\nintra %llu\npartial 0\n",
		(unsigned long long)pages, (unsigned long long)absent, (unsigned long long)zero,
		(unsigned long long)nonzero, (unsigned long long)distinct, (unsigned long long)(nonzero - distinct));
	/* ranges: present (data) and absent runs */
	long long start = -1;
	int state = -1;
	uint64_t run = 0;
	nd = 0;
	for (size_t i = 0; i <= nframes && i <= mapnr; i++) {
		int st = -1;
		if (i < nframes && i < mapnr && fk[i] != F_HOLE) {
			int missing = 0;
			if (fk[i] != F_FILTERED) {
				missing = incomplete && nd >= total - (uint64_t)incomplete;
				nd++;
			}
			st = (fk[i] == F_FILTERED || missing) ? 1 : 0;
		}
		if (st != state || st < 0) {
			if (state >= 0)
				fprintf(f, "range %llu %llu %s\n", (unsigned long long)start * bs, (unsigned long long)run,
					state ? "absent" : "data");
			state = st;
			start = (long long)i;
			run = 0;
		}
		if (st >= 0)
			run++;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *spec = NULL, *out = NULL, *exp = NULL, *map = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			exp = argv[++i];
		else if (!strcmp(argv[i], "--map") && i + 1 < argc)
			map = argv[++i];
		else if (!spec)
			spec = argv[i];
		else if (!out)
			out = argv[i];
		else
			die("unexpected argument", argv[i]);
	}
	if (!spec || !out)
		die("usage: mkkdump SPEC OUT [--expect FILE] [--map FILE]", NULL);
	FILE *sf = strcmp(spec, "-") ? fopen(spec, "r") : stdin;
	if (!sf)
		die("cannot read", spec);
	parse_spec(sf);
	if (lzo_init() != LZO_E_OK)
		die("lzo_init failed", NULL);
	if (map && !(mapf = fopen(map, "w")))
		die("cannot write", map);
	int parts = nsplit ? nsplit : 1;
	for (int p = 0; p < parts; p++) {
		uint64_t lo = mapnr * (uint64_t)p / (uint64_t)parts, hi = mapnr * (uint64_t)(p + 1) / (uint64_t)parts;
		struct buf b = { 0 }, fl = { 0 };
		uint64_t nd;
		FILE *keep = mapf;
		if (p && !flat)
			mapf = NULL;
		if (flat) /* the map describes the flattened file */
			mapf = NULL;
		build(&b, nsplit ? lo : 0, nsplit ? hi : mapnr, p == 0, &nd);
		mapf = keep;
		char path[4096];
		if (nsplit)
			snprintf(path, sizeof path, "%s.%d", out, p + 1);
		else
			snprintf(path, sizeof path, "%s", out);
		if (flat) {
			if (p)
				mapf = NULL;
			flatten(&b, &fl);
			mapf = keep;
			write_file(path, &fl, p == 0 ? truncate_to : -1);
			free(fl.p);
		} else {
			write_file(path, &b, p == 0 ? truncate_to : -1);
		}
		free(b.p);
	}
	if (mapf)
		fclose(mapf);
	if (exp)
		expect(exp);
	return 0;
}
