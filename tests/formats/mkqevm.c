/*
 * mkqevm — write a small QEMU migration stream ("QEVM"), optionally inside a
 * libvirt save image (with the payload compressed by the real gzip, bzip2,
 * xz or zstd libraries), from a text spec, for tests whose expected numbers
 * are known by construction.
 *
 * Usage: mkqevm SPEC OUT [--expect FILE] [--map FILE]     (SPEC '-' = stdin)
 *
 * Spec lines, applied in order (# comments):
 *   version N             stream version (default 3)
 *   machine NAME          configuration section with this machine type
 *                         ("none": no configuration section; default pc-i440fx-7.2)
 *   pagebits N            target-page-bits subsection (page size 1 << N)
 *   caps NAME,NAME        capabilities subsection
 *   command N [LEN]       a command record (3 = postcopy advise)
 *   device NAME           a device (FULL) section before the RAM section
 *   block NAME BYTES [HUGEPAGE]   a RAM block (listed in the RAM START section)
 *   ramversion N          RAM section version (default 4)
 *   start                 write the RAM START section now (implicit before the first page)
 *   page BLOCK OFFSET P   one page record; P: 0 = zero record, k = pattern k,
 *                         f<byte> = zero record with that fill byte
 *   pages BLOCK OFFSET P,P,...    consecutive pages (CONTINUE flag after the first)
 *   part                  close the section (EOS) and open a PART section
 *   word HEX              a raw be64 record word (then nothing)
 *   otherpart             a PART section of another section id
 *   nofooter              no section footers
 *   badfooter             the END section's footer names another section
 *   eof                   an EOF record where the RAM END should come (then stop)
 *   stop                  stop writing here (the stream just ends)
 *   libvirt FORMAT        wrap in a libvirt save image: raw|gzip|bzip2|xz|zstd|sparse
 *   libvirtpart           ... with the magic of an incomplete save
 *   truncate N            cut the file to N bytes at the end
 * The RAM END section (EOS, footer), a device section, EOF and a VMDESCRIPTION
 * follow the last spec line unless eof/stop was given.  Page pattern k:
 * fx_fill() of fixture.h, the generator every builder uses.
 *
 * --expect: counts of the analysis (every page of every block once; the last
 * copy of a page wins; pages never sent are zero) and the guest-physical
 * ranges for pc.ram / pc.bios on pc-* machines.  --map: "NAME OFFSET SIZE"
 * for ram.start, the block list entries (blk.N), page records (rec.N, the
 * record's be64 word) and the RAM END section (ram.end), as stream offsets
 * (libvirt images: payload offsets, and lv.hdr / lv.xml / lv.payload).
 */
#include <bzlib.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "fixture.h"

#define MAXB 32

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static struct buf out;
static FILE *mapf;
static uint32_t tps = 4096;
static int footers = 1, badfooter = 0, started = 0, in_section = 0, ended = 0, stopped = 0;
static char machine[257] = "pc-i440fx-7.2";
static int have_config = 1, config_written = 0, stream_version = 3, ram_version = 4;
static char caps[512];
static int nrec;
static long long truncate_to = -1;
static char lvfmt[16];
static int lvpart;
static int last_block = -1;

struct block {
	char name[256];
	uint64_t len, huge;
	uint64_t *content; /* per page: 0 never sent, 1 zero, 2+k pattern k, (1<<40)|fill */
};
static struct block blocks[MAXB];
static int nblocks;

static void die(const char *m, const char *a)
{
	fprintf(stderr, "mkqevm: %s%s%s\n", m, a ? ": " : "", a ? a : "");
	exit(2);
}

static void put(const void *p, size_t n)
{
	if (out.len + n > out.cap) {
		size_t c = out.cap ? out.cap : 65536;
		while (c < out.len + n)
			c *= 2;
		out.p = realloc(out.p, c);
		if (!out.p)
			die("out of memory", NULL);
		out.cap = c;
	}
	memcpy(out.p + out.len, p, n);
	out.len += n;
}

static void u8(unsigned v) { uint8_t b = (uint8_t)v; put(&b, 1); }
static void be16(unsigned v) { u8(v >> 8); u8(v); }
static void be32(uint32_t v) { be16(v >> 16); be16(v & 0xffff); }
static void be64(uint64_t v) { be32((uint32_t)(v >> 32)); be32((uint32_t)v); }
static void name(const char *s) { u8((unsigned)strlen(s)); put(s, strlen(s)); }

static void mapline(const char *n, uint64_t off, uint64_t size)
{
	if (mapf)
		fprintf(mapf, "%s %llu %llu\n", n, (unsigned long long)off, (unsigned long long)size);
}

static void footer(uint32_t id)
{
	if (!footers)
		return;
	u8(0x7E);
	be32(id);
}

static void config(void)
{
	if (config_written || !have_config)
		return;
	config_written = 1;
	u8(0x07);
	be32((uint32_t)strlen(machine));
	put(machine, strlen(machine));
	if (tps != 4096) {
		u8(0x05);
		name("configuration/target-page-bits");
		be32(1);
		be32((uint32_t)__builtin_ctz(tps));
	}
	if (caps[0]) {
		char tmp[512];
		snprintf(tmp, sizeof tmp, "%s", caps);
		uint32_t n = 1;
		for (char *c = tmp; *c; c++)
			n += *c == ',';
		u8(0x05);
		name("configuration/capabilities");
		be32(1);
		be32(n);
		for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ","))
			name(t);
	}
}

static void start(void)
{
	if (started)
		return;
	config();
	started = in_section = 1;
	mapline("ram.start", out.len, 1);
	u8(0x01);
	be32(2);
	name("ram");
	be32(0);
	be32((uint32_t)ram_version);
	uint64_t total = 0;
	for (int i = 0; i < nblocks; i++)
		total += blocks[i].len;
	be64(total | 0x4);
	for (int i = 0; i < nblocks; i++) {
		char nm[16];
		snprintf(nm, sizeof nm, "blk.%d", i);
		mapline(nm, out.len, 1 + strlen(blocks[i].name) + 8);
		name(blocks[i].name);
		be64(blocks[i].len);
		if (blocks[i].huge)
			be64(blocks[i].huge);
		if (strstr(caps, "x-ignore-shared"))
			be64(0);
	}
	be64(0x10);
	footer(2);
	in_section = 0;
}

static void open_part(void)
{
	if (in_section)
		return;
	u8(0x02);
	be32(2);
	in_section = 1;
}

static int find_block(const char *n)
{
	for (int i = 0; i < nblocks; i++)
		if (!strcmp(blocks[i].name, n))
			return i;
	die("unknown block", n);
	return -1;
}

static void page(const char *bn, uint64_t off, const char *what)
{
	start();
	open_part();
	int b = strcmp(bn, "?") ? find_block(bn) : -1;
	uint64_t flags = 0, content;
	uint8_t fill = 0;
	int is_zero = 0;
	if (what[0] == 'f') {
		fill = (uint8_t)strtoul(what + 1, NULL, 0);
		is_zero = 1;
		content = fill ? (1ull << 40) | fill : 1;
	} else if (atoi(what) == 0) {
		is_zero = 1;
		content = 1;
	} else {
		content = 2 + (uint64_t)atoi(what);
	}
	flags = is_zero ? 0x2 : 0x8;
	int cont = b >= 0 && b == last_block;
	if (cont)
		flags |= 0x20;
	char nm[16];
	snprintf(nm, sizeof nm, "rec.%d", nrec++);
	mapline(nm, out.len, 8);
	be64(off | flags);
	if (!cont)
		name(b >= 0 ? blocks[b].name : "no-such-block");
	if (b >= 0)
		last_block = b;
	if (is_zero) {
		u8(fill);
	} else {
		uint8_t *p = malloc(tps);
		fx_fill(content - 2, p, tps);
		put(p, tps);
		free(p);
	}
	if (b >= 0 && blocks[b].content && off / tps < blocks[b].len / tps)
		blocks[b].content[off / tps] = content;
}

static void finish(void)
{
	if (stopped || ended)
		return;
	start();
	if (in_section) {
		be64(0x10);
		footer(2);
		in_section = 0;
	}
	mapline("ram.end", out.len, 1);
	u8(0x03);
	be32(2);
	be64(0x10);
	footer(badfooter ? 9 : 2);
	/* a device section after RAM: never parsed */
	u8(0x04);
	be32(3);
	name("timer");
	be32(0);
	be32(2);
	be64(0x1234);
	be64(0x5678);
	footer(3);
	u8(0x00);
	const char *js = "{\"page_size\": 4096, \"devices\": []}";
	u8(0x06);
	be32((uint32_t)strlen(js));
	put(js, strlen(js));
	ended = 1;
}

static void parse(FILE *f)
{
	char line[1 << 16];
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char kw[32], a[sizeof line], b[256], c[256];
		a[0] = b[0] = c[0] = 0;
		int n = sscanf(line, "%31s %65535s %255s %255s", kw, a, b, c);
		if (n < 1)
			continue;
		if (stopped)
			break;
		if (!strcmp(kw, "version")) stream_version = atoi(a);
		else if (!strcmp(kw, "machine")) { if (!strcmp(a, "none")) have_config = 0; else snprintf(machine, sizeof machine, "%s", a); }
		else if (!strcmp(kw, "pagebits")) tps = 1u << atoi(a);
		else if (!strcmp(kw, "caps")) snprintf(caps, sizeof caps, "%s", a);
		else if (!strcmp(kw, "ramversion")) ram_version = atoi(a);
		else if (!strcmp(kw, "nofooter")) footers = 0;
		else if (!strcmp(kw, "badfooter")) badfooter = 1;
		else if (!strcmp(kw, "truncate")) truncate_to = atoll(a);
		else if (!strcmp(kw, "libvirt")) snprintf(lvfmt, sizeof lvfmt, "%s", a);
		else if (!strcmp(kw, "libvirtpart")) lvpart = 1;
		else if (!strcmp(kw, "command")) { config(); u8(0x08); be16((unsigned)atoi(a)); unsigned l = b[0] ? (unsigned)atoi(b) : 0; be16(l); for (unsigned i = 0; i < l; i++) u8(0); }
		else if (!strcmp(kw, "device")) { config(); u8(0x04); be32(7); name(a); be32(0); be32(1); be64(0); }
		else if (!strcmp(kw, "block")) {
			if (nblocks == MAXB) die("too many blocks", NULL);
			struct block *bl = &blocks[nblocks++];
			snprintf(bl->name, sizeof bl->name, "%s", a);
			bl->len = strtoull(b, NULL, 0);
			bl->huge = c[0] ? strtoull(c, NULL, 0) : 0;
			/* a huge block (a test of implausible sizes) keeps no contents */
			bl->content = bl->len / tps <= (1u << 24) ? calloc(bl->len / tps + 1, sizeof *bl->content) : NULL;
		}
		else if (!strcmp(kw, "start")) start();
		else if (!strcmp(kw, "page")) page(a, strtoull(b, NULL, 0), c);
		else if (!strcmp(kw, "pages")) {
			uint64_t off = strtoull(b, NULL, 0);
			for (char *t = strtok(c, ","); t; t = strtok(NULL, ","), off += tps)
				page(a, off, t);
		}
		else if (!strcmp(kw, "part")) { start(); if (in_section) { be64(0x10); footer(2); in_section = 0; } open_part(); }
		else if (!strcmp(kw, "word")) { start(); open_part(); char nm[16]; snprintf(nm, sizeof nm, "rec.%d", nrec++); mapline(nm, out.len, 8); be64(strtoull(a, NULL, 16)); }
		else if (!strcmp(kw, "otherpart")) { start(); if (in_section) { be64(0x10); footer(2); in_section = 0; } u8(0x02); be32(5); be64(0x10); }
		else if (!strcmp(kw, "eof")) { start(); if (in_section) { be64(0x10); footer(2); in_section = 0; } u8(0x00); stopped = 1; }
		else if (!strcmp(kw, "stop")) stopped = 1;
		else die("unknown spec keyword", kw);
	}
}

static void expect(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write", path);
	uint64_t pages = 0, zero = 0, nonzero = 0, distinct = 0;
	uint64_t *seen = calloc(1 << 16, sizeof *seen);
	size_t nseen = 0;
	for (int i = 0; i < nblocks; i++)
		for (uint64_t p = 0; p < blocks[i].len / tps; p++) {
			uint64_t c = blocks[i].content ? blocks[i].content[p] : 0;
			pages++;
			if (c <= 1) {
				zero++;
				continue;
			}
			nonzero++;
			size_t k = 0;
			while (k < nseen && seen[k] != c)
				k++;
			if (k == nseen) {
				seen[nseen++] = c;
				distinct++;
			}
		}
	fprintf(f, "pages %llu\nabsent 0\nzero %llu\nnonzero %llu\ndistinct %llu\nintra %llu\npartial 0\n",
		(unsigned long long)pages, (unsigned long long)zero, (unsigned long long)nonzero,
		(unsigned long long)distinct, (unsigned long long)(nonzero - distinct));
	/* guest-physical ranges on pc machines: pc.ram below 3.5 GiB (i440fx) / 2.75 GiB (q35), pc.bios under 4 GiB */
	uint64_t r[8][2];
	int nr = 0;
	int q35 = !strncmp(machine, "pc-q35", 6);
	if (have_config && !strncmp(machine, "pc", 2))
		for (int i = 0; i < nblocks; i++) {
			uint64_t len = blocks[i].len;
			if (!strcmp(blocks[i].name, "pc.ram")) {
				uint64_t thr = q35 ? 0xB0000000ull : 0xE0000000ull, lo = q35 ? 0x80000000ull : 0xC0000000ull;
				uint64_t below = len >= thr ? lo : len;
				r[nr][0] = 0, r[nr++][1] = below;
				if (below < len)
					r[nr][0] = 1ull << 32, r[nr++][1] = len - below;
			} else if (!strcmp(blocks[i].name, "pc.bios")) {
				r[nr][0] = (1ull << 32) - len, r[nr++][1] = len;
			}
		}
	for (int i = 0; i < nr; i++) /* sort by address */
		for (int j = i + 1; j < nr; j++)
			if (r[j][0] < r[i][0]) {
				uint64_t t0 = r[i][0], t1 = r[i][1];
				r[i][0] = r[j][0], r[i][1] = r[j][1], r[j][0] = t0, r[j][1] = t1;
			}
	for (int i = 0; i < nr; i++) {
		uint64_t a = r[i][0], len = r[i][1];
		while (i + 1 < nr && r[i + 1][0] == a + len) /* adjacent ranges are one */
			len += r[++i][1];
		fprintf(f, "range %llu %llu data\n", (unsigned long long)a, (unsigned long long)(len / tps));
	}
	free(seen);
	fclose(f);
}

static void compress_payload(const uint8_t *in, size_t n, const char *fmt, struct buf *o)
{
	size_t cap = n + n / 2 + 65536;
	o->p = malloc(cap);
	o->cap = cap;
	if (!strcmp(fmt, "gzip")) {
		z_stream z;
		memset(&z, 0, sizeof z);
		deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)n;
		z.next_out = o->p;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END)
			die("gzip failed", NULL);
		o->len = z.total_out;
		deflateEnd(&z);
	} else if (!strcmp(fmt, "bzip2")) {
		unsigned int l = (unsigned int)cap;
		if (BZ2_bzBuffToBuffCompress((char *)o->p, &l, (char *)(uintptr_t)in, (unsigned)n, 9, 0, 0) != BZ_OK)
			die("bzip2 failed", NULL);
		o->len = l;
	} else if (!strcmp(fmt, "xz")) {
		size_t pos = 0;
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, in, n, o->p, &pos, cap) != LZMA_OK)
			die("xz failed", NULL);
		o->len = pos;
	} else if (!strcmp(fmt, "zstd")) {
		size_t l = ZSTD_compress(o->p, cap, in, n, 3);
		if (ZSTD_isError(l))
			die("zstd failed", NULL);
		o->len = l;
	} else {
		die("unknown libvirt payload format", fmt);
	}
}

int main(int argc, char **argv)
{
	const char *spec = NULL, *path = NULL, *exp = NULL, *map = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			exp = argv[++i];
		else if (!strcmp(argv[i], "--map") && i + 1 < argc)
			map = argv[++i];
		else if (!spec)
			spec = argv[i];
		else if (!path)
			path = argv[i];
		else
			die("unexpected argument", argv[i]);
	}
	if (!spec || !path)
		die("usage: mkqevm SPEC OUT [--expect FILE] [--map FILE]", NULL);
	FILE *sf = strcmp(spec, "-") ? fopen(spec, "r") : stdin;
	if (!sf)
		die("cannot read", spec);
	if (map && !(mapf = fopen(map, "w")))
		die("cannot write", map);
	be32(0x5145564D);
	be32((uint32_t)stream_version);
	/* the version is known only after parsing: patch it afterwards */
	parse(sf);
	finish();
	out.p[4] = (uint8_t)(stream_version >> 24);
	out.p[5] = (uint8_t)(stream_version >> 16);
	out.p[6] = (uint8_t)(stream_version >> 8);
	out.p[7] = (uint8_t)stream_version;
	struct buf file = { 0 };
	if (lvfmt[0] || lvpart) {
		static const char *const names[] = { "raw", "gzip", "bzip2", "xz", "lzop", "zstd", "sparse" };
		uint32_t fmt = 0;
		for (uint32_t i = 0; i < 7; i++)
			if (!strcmp(lvfmt, names[i]))
				fmt = i;
		const char *xml = "<domain type='qemu'>\n  <name>fixture</name>\n  <memory unit='KiB'>131072</memory>\n"
				  "  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>\n</domain>\n";
		uint32_t xlen = (uint32_t)strlen(xml) + 1, dlen = xlen + 4096;
		struct buf pl = { 0 };
		if (fmt == 0 || fmt == 6)
			pl.p = out.p, pl.len = out.len;
		else
			compress_payload(out.p, out.len, lvfmt, &pl);
		size_t total = 92 + dlen + pl.len;
		file.p = calloc(1, total);
		file.len = total;
		memcpy(file.p, lvpart ? "LibvirtQemudPart" : "LibvirtQemudSave", 16);
		uint32_t hv[5] = { 2, dlen, 0, fmt, 0 };
		for (int i = 0; i < 5; i++)
			for (int k = 0; k < 4; k++)
				file.p[16 + 4 * i + k] = (uint8_t)(hv[i] >> (8 * k));
		memcpy(file.p + 92, xml, xlen);
		memcpy(file.p + 92 + dlen, pl.p, pl.len);
		if (mapf) {
			fprintf(mapf, "lv.hdr 0 92\nlv.xml 92 %u\nlv.payload %u %zu\n", dlen, 92 + dlen, pl.len);
		}
		if (pl.p != out.p)
			free(pl.p);
	} else {
		file = out;
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot write", path);
	size_t n = file.len;
	if (truncate_to >= 0 && (size_t)truncate_to < n)
		n = (size_t)truncate_to;
	if (fwrite(file.p, 1, n, f) != n || fclose(f))
		die("write failed", path);
	if (mapf)
		fclose(mapf);
	if (exp)
		expect(exp);
	if (file.p != out.p)
		free(file.p);
	free(out.p);
	return 0;
}
