/*
 * mkqevm — write a small QEMU migration stream ("QEVM"), optionally inside a
 * libvirt save image (with the payload compressed by the real gzip, bzip2,
 * xz or zstd libraries), from a fixture spec (fixture.h's language), for
 * tests whose expected numbers are known by construction.
 *
 * Usage: mkqevm SPEC OUT [--expect FILE] [--map FILE]     (SPEC '-' = stdin)
 *
 * Model lines:
 *   block NAME BYTES [huge=N]   a RAM block, listed in the RAM START section
 *                         (huge=N: its postcopy host page size); a name may
 *                         be listed twice
 *   frame N               target page size (default 4096; other than 4096:
 *                         a target-page-bits subsection)
 *   ram PFN N CONTENT in=BLOCK   N page records, in spec order, for pages PFN..
 *                         of BLOCK (a block no line declares: the record
 *                         names it all the same); consecutive records of one
 *                         block carry the CONTINUE flag.  A zero or fill:B
 *                         page is a zero record with that fill byte, any
 *                         other a full page.
 * Stream lines, applied in spec order with the ram lines:
 *   command N [LEN]       a command record (3 = postcopy advise)
 *   device NAME           a device (FULL) section before the RAM section
 *   start                 write the RAM START section now (implicit before the first page)
 *   part                  close the section (EOS) and open a PART section
 *   word HEX              a raw be64 record word (then nothing)
 *   otherpart             a PART section of another section id
 *   eof                   an EOF record where the RAM END should come (then stop)
 *   stop                  stop writing here (the stream just ends)
 * Options (anywhere):
 *   version N             stream version (default 3)
 *   machine NAME          configuration section with this machine type
 *                         ("none": no configuration section; default pc-i440fx-7.2)
 *   caps NAME,NAME        capabilities subsection
 *   ramversion N          RAM section version (default 4)
 *   nofooter              no section footers
 *   badfooter             the END section's footer names another section
 *   libvirt FORMAT        wrap in a libvirt save image: raw|gzip|bzip2|xz|zstd|sparse
 *   libvirtpart           ... with the magic of an incomplete save
 *   truncate N            cut the file to N bytes at the end
 * The RAM END section (EOS, footer), a device section, EOF and a VMDESCRIPTION
 * follow the last spec line unless eof/stop was given.  Page contents:
 * fx_fill() of fixture.h, the generator every builder uses.
 *
 * --expect: fixture.h's expectation of the model (every page of every block
 * once; the last copy of a page wins; pages never sent are zero), then the
 * guest-physical ranges of pc.ram / pc.bios on pc-* machines.  --map:
 * "NAME OFFSET SIZE" for ram.start, the block list entries (blk.N), page
 * records (rec.N, the record's be64 word) and the RAM END section (ram.end),
 * as stream offsets (libvirt images: payload offsets, and lv.hdr / lv.xml /
 * lv.payload).
 */
#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "fixture.h"

static const struct fx_model *M;
static struct fx_buf out;
static uint32_t tps = 4096;
static int footers = 1, badfooter = 0, started = 0, in_section = 0, ended = 0, stopped = 0;
static const char *machine = "pc-i440fx-7.2", *caps = "";
static int have_config = 1, config_written = 0, ram_version = 4;
static int nrec;
static int last_block = -1;

static void put(const void *p, size_t n) { fx_put(&out, p, n); }
static void u8(unsigned v) { uint8_t b = (uint8_t)v; put(&b, 1); }
static void be16(unsigned v) { u8(v >> 8); u8(v); }
static void be32(uint32_t v) { be16(v >> 16); be16(v & 0xffff); }
static void be64(uint64_t v) { be32((uint32_t)(v >> 32)); be32((uint32_t)v); }
static void name(const char *s) { u8((unsigned)strlen(s)); put(s, strlen(s)); }

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
		for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
			name(t);
	}
}

static void start(void)
{
	if (started)
		return;
	config();
	started = in_section = 1;
	fx_field(&out, "ram.start", out.len, 1);
	u8(0x01);
	be32(2);
	name("ram");
	be32(0);
	be32((uint32_t)ram_version);
	uint64_t total = 0;
	for (size_t i = 0; i < M->nblk; i++)
		total += M->blk[i].len;
	be64(total | 0x4);
	for (size_t i = 0; i < M->nblk; i++) {
		const struct fx_block *b = &M->blk[i];
		char nm[32], huge[32];
		snprintf(nm, sizeof nm, "blk.%zu", i);
		fx_field(&out, nm, out.len, 1 + strlen(b->name) + 8);
		name(b->name);
		be64(b->len);
		if (fx_attr(b->attr, "huge", huge, sizeof huge))
			be64(fx_num(huge));
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

static void close_section(void)
{
	start();
	if (in_section) {
		be64(0x10);
		footer(2);
		in_section = 0;
	}
}

static void record_word(uint64_t w)
{
	char nm[16];
	snprintf(nm, sizeof nm, "rec.%d", nrec++);
	fx_field(&out, nm, out.len, 8);
	be64(w);
}

/* the page records of a ram line */
static void pages(const struct fx_seg *s)
{
	start();
	open_part();
	uint64_t n = s->len / tps;
	uint8_t *p = fx_alloc(tps);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t id = fx_content_id(s->content, i, n);
		bool zero = id == 0 || (id >> 63);
		bool cont = s->block >= 0 && s->block == last_block;
		record_word((s->addr + i * tps) | (zero ? 0x2 : 0x8) | (cont ? 0x20 : 0));
		if (!cont)
			name(s->in);
		if (s->block >= 0)
			last_block = s->block;
		if (zero) {
			u8((unsigned)(id & 0xff));
		} else {
			fx_fill(id, p, tps);
			put(p, tps);
		}
	}
	free(p);
}

static void finish(void)
{
	if (stopped || ended)
		return;
	close_section();
	fx_field(&out, "ram.end", out.len, 1);
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

/* one stream line (an option that writes something where it stands) */
static void stream_line(const struct fx_opt *o)
{
	const char *k = o->key;
	char a[64] = "", b[64] = "";
	sscanf(o->rest, "%63s %63s", a, b);
	if (!strcmp(k, "command")) {
		config();
		u8(0x08);
		be16((unsigned)fx_num(a));
		unsigned l = b[0] ? (unsigned)fx_num(b) : 0;
		be16(l);
		for (unsigned i = 0; i < l; i++)
			u8(0);
	} else if (!strcmp(k, "device")) {
		config();
		u8(0x04);
		be32(7);
		name(a);
		be32(0);
		be32(1);
		be64(0);
	} else if (!strcmp(k, "start")) {
		start();
	} else if (!strcmp(k, "part")) {
		close_section();
		open_part();
	} else if (!strcmp(k, "word")) {
		start();
		open_part();
		record_word(strtoull(a, NULL, 16));
	} else if (!strcmp(k, "otherpart")) {
		close_section();
		u8(0x02);
		be32(5);
		be64(0x10);
	} else if (!strcmp(k, "eof")) {
		close_section();
		u8(0x00);
		stopped = 1;
	} else if (!strcmp(k, "stop")) {
		stopped = 1;
	}
}

/* guest-physical ranges on pc machines: pc.ram below 3.5 GiB (i440fx) /
 * 2.75 GiB (q35) and the rest above 4 GiB, pc.bios right under 4 GiB */
static void expect_ranges(const char *path)
{
	FILE *f = fopen(path, "a");
	if (!f)
		fx_die("%s: %s", path, strerror(errno));
	uint64_t r[8][2];
	int nr = 0;
	int q35 = !strncmp(machine, "pc-q35", 6);
	if (have_config && !strncmp(machine, "pc", 2))
		for (size_t i = 0; i < M->nblk && nr < 6; i++) {
			uint64_t len = M->blk[i].len;
			if (!strcmp(M->blk[i].name, "pc.ram")) {
				uint64_t thr = q35 ? 0xB0000000ull : 0xE0000000ull, lo = q35 ? 0x80000000ull : 0xC0000000ull;
				uint64_t below = len >= thr ? lo : len;
				r[nr][0] = 0, r[nr++][1] = below;
				if (below < len)
					r[nr][0] = 1ull << 32, r[nr++][1] = len - below;
			} else if (!strcmp(M->blk[i].name, "pc.bios")) {
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
	fclose(f);
}

static void compress_payload(const uint8_t *in, size_t n, const char *fmt, struct fx_buf *o)
{
	size_t cap = n + n / 2 + 65536;
	fx_reserve(o, cap);
	if (!strcmp(fmt, "gzip")) {
		z_stream z;
		memset(&z, 0, sizeof z);
		deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)n;
		z.next_out = o->p;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END)
			fx_die("mkqevm: gzip failed");
		o->len = z.total_out;
		deflateEnd(&z);
	} else if (!strcmp(fmt, "bzip2")) {
		unsigned int l = (unsigned int)cap;
		if (BZ2_bzBuffToBuffCompress((char *)o->p, &l, (char *)(uintptr_t)in, (unsigned)n, 9, 0, 0) != BZ_OK)
			fx_die("mkqevm: bzip2 failed");
		o->len = l;
	} else if (!strcmp(fmt, "xz")) {
		size_t pos = 0;
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, in, n, o->p, &pos, cap) != LZMA_OK)
			fx_die("mkqevm: xz failed");
		o->len = pos;
	} else if (!strcmp(fmt, "zstd")) {
		size_t l = ZSTD_compress(o->p, cap, in, n, 3);
		if (ZSTD_isError(l))
			fx_die("mkqevm: zstd failed");
		o->len = l;
	} else {
		fx_die("mkqevm: unknown libvirt payload format '%s'", fmt);
	}
}

/* the stream inside a libvirt save image */
static void libvirt(const char *lvfmt, bool lvpart, struct fx_buf *file, FILE *map)
{
	static const char *const names[] = { "raw", "gzip", "bzip2", "xz", "lzop", "zstd", "sparse" };
	uint32_t fmt = 0;
	for (uint32_t i = 0; i < 7; i++)
		if (!strcmp(lvfmt, names[i]))
			fmt = i;
	const char *xml = "<domain type='qemu'>\n  <name>fixture</name>\n  <memory unit='KiB'>131072</memory>\n"
			  "  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>\n</domain>\n";
	uint32_t xlen = (uint32_t)strlen(xml) + 1, dlen = xlen + 4096;
	struct fx_buf pl = { 0 };
	if (fmt != 0 && fmt != 6)
		compress_payload(out.p, out.len, lvfmt, &pl);
	const uint8_t *payload = pl.p ? pl.p : out.p;
	size_t plen = pl.p ? pl.len : out.len;
	fx_put(file, lvpart ? "LibvirtQemudPart" : "LibvirtQemudSave", 16);
	uint32_t hv[5] = { 2, dlen, 0, fmt, 0 };
	for (int i = 0; i < 5; i++)
		fx_le(file, hv[i], 4);
	fx_put_at(file, 92, xml, xlen);
	fx_put_at(file, 92 + dlen, payload, plen);
	if (map)
		fprintf(map, "lv.hdr 0 92\nlv.xml 92 %u\nlv.payload %u %zu\n", dlen, 92 + dlen, plen);
	fx_buf_free(&pl);
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	M = &m;
	tps = m.ps;
	machine = fx_opt(&m, "machine", machine);
	have_config = strcmp(machine, "none") != 0;
	caps = fx_opt(&m, "caps", "");
	ram_version = (int)fx_optn(&m, "ramversion", 4);
	footers = !fx_opt(&m, "nofooter", NULL);
	badfooter = fx_opt(&m, "badfooter", NULL) != NULL;
	out.map = fx_open_map(&a);
	be32(0x5145564D);
	be32((uint32_t)fx_optn(&m, "version", 3));
	for (size_t i = 0; i < m.nitem && !stopped; i++) {
		const struct fx_item *it = &m.item[i];
		if (it->type == FX_ITEM_SEG) {
			if (m.seg[it->i].kind != FX_DATA)
				fx_die("mkqevm: a migration stream has only ram lines");
			pages(&m.seg[it->i]);
		} else if (it->type == FX_ITEM_OPT) {
			stream_line(&m.opt[it->i]);
		}
	}
	finish();
	struct fx_buf file = { 0 };
	const char *lvfmt = fx_opt(&m, "libvirt", NULL);
	bool lvpart = fx_opt(&m, "libvirtpart", NULL) != NULL;
	if (lvfmt || lvpart)
		libvirt(lvfmt ? lvfmt : "", lvpart, &file, out.map);
	const struct fx_buf *w = file.p ? &file : &out;
	uint64_t cut = fx_optn(&m, "truncate", UINT64_MAX);
	fx_write_file(a.out, w->p, cut < w->len ? (size_t)cut : w->len);
	if (out.map)
		fclose(out.map);
	if (a.expect) {
		fx_write_expect(&m, a.expect);
		expect_ranges(a.expect);
	}
	fx_buf_free(&file);
	fx_buf_free(&out);
	fx_free_model(&m);
	return 0;
}
