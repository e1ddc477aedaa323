/*
 * mklime SPEC OUT [--expect FILE] [--map FILE]: a LiME or AVML image.
 * mklime --zlib IN OUT: compress IN the way LiME compress=1 does (one zlib
 * stream, 2 KiB window), e.g. after a test damaged IN.
 *
 * Each "ram PFN N CONTENT" or "bytes ADDR LEN CONTENT" line is one range,
 * written in spec order.  Options:
 *   kind lime|avml      LiME version 1, or AVML version 2 (snappy framed)
 *   endian le|be        LiME byte order (the dumping host's)
 *   compress none|zlib  LiME compress=1: the whole file is one zlib stream
 *   chunk N             AVML: uncompressed bytes per snappy chunk (<= 65536)
 *   skippable 1         AVML: a skippable and a padding chunk in each stream
 *   reserved V          the reserved header field of every range
 */
#include <snappy-c.h>
#include <zlib.h>

#include "fixture.h"

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static uint32_t masked(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

static void chunk_head(struct fx_buf *b, unsigned type, size_t len)
{
	uint8_t h[4] = { (uint8_t)type, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16) };
	fx_put(b, h, 4);
}

static void zlib_file(const char *in, const char *out)
{
	FILE *f = fopen(in, "rb");
	if (!f)
		fx_die("%s: %s", in, strerror(errno));
	struct fx_buf src = { 0 };
	uint8_t t[65536];
	size_t n;
	while ((n = fread(t, 1, sizeof t, f)) > 0)
		fx_put(&src, t, n);
	fclose(f);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 11, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		fx_die("deflateInit2");
	uLong cap = deflateBound(&z, src.len);
	uint8_t *dst = fx_alloc(cap);
	z.next_in = src.p;
	z.avail_in = (uInt)src.len;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		fx_die("deflate");
	fx_write_file(out, dst, z.total_out);
	deflateEnd(&z);
	free(dst);
	fx_buf_free(&src);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--zlib") == 0) {
		zlib_file(argv[2], argv[3]);
		return 0;
	}
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	bool avml = strcmp(fx_opt(&m, "kind", "lime"), "avml") == 0;
	bool be = strcmp(fx_opt(&m, "endian", "le"), "be") == 0;
	bool zl = strcmp(fx_opt(&m, "compress", "none"), "zlib") == 0;
	size_t chunk = (size_t)fx_optn(&m, "chunk", 65536);
	bool skippable = fx_optn(&m, "skippable", 0) != 0;
	uint64_t reserved = fx_optn(&m, "reserved", 0);
	if (chunk == 0 || chunk > 65536)
		fx_die("chunk must be 1..65536");

	struct fx_buf b = { .map = fx_open_map(&a) };
	for (size_t i = 0; i < m.nseg; i++) {
		const struct fx_seg *s = &m.seg[i];
		if (s->kind != FX_DATA || s->len == 0)
			fx_die("LiME images only have non-empty ram/bytes lines");
		char n[64];
		size_t h = fx_put(&b, NULL, 32);
		uint64_t v[4] = { s->addr, s->addr + s->len - 1, reserved, 0 };
		if (avml) {
			fx_set_le(b.p + h, 0x4C4D5641u, 4);
			fx_set_le(b.p + h + 4, 2, 4);
		} else if (be) {
			fx_set_be(b.p + h, 0x4C694D45u, 4);
			fx_set_be(b.p + h + 4, 1, 4);
		} else {
			fx_set_le(b.p + h, 0x4C694D45u, 4);
			fx_set_le(b.p + h + 4, 1, 4);
		}
		for (int k = 0; k < 3; k++) {
			if (be && !avml)
				fx_set_be(b.p + h + 8 + 8 * k, v[k], 8);
			else
				fx_set_le(b.p + h + 8 + 8 * k, v[k], 8);
		}
		snprintf(n, sizeof n, "hdr%zu", i);
		fx_field(&b, n, h, 32);
		snprintf(n, sizeof n, "hdr%zu.s", i);
		fx_field(&b, n, h + 8, 8);
		snprintf(n, sizeof n, "hdr%zu.e", i);
		fx_field(&b, n, h + 16, 8);
		if (!avml) {
			size_t at = fx_put(&b, NULL, s->len);
			fx_seg_bytes(s, 0, b.p + at, (size_t)s->len);
			snprintf(n, sizeof n, "data%zu", i);
			fx_field(&b, n, at, s->len);
			continue;
		}
		uint8_t *data = fx_alloc(s->len);
		fx_seg_bytes(s, 0, data, (size_t)s->len);
		size_t start = b.len;
		chunk_head(&b, 0xff, 6);
		fx_put(&b, "sNaPpY", 6);
		if (skippable) {
			chunk_head(&b, 0x80, 5);
			fx_put(&b, "hello", 5);
			chunk_head(&b, 0xfe, 3);
			fx_put(&b, NULL, 3);
		}
		size_t cmax = snappy_max_compressed_length(chunk);
		char *cbuf = fx_alloc(cmax);
		unsigned k = 0;
		for (size_t o = 0; o < s->len; o += chunk, k++) {
			size_t ul = s->len - o < chunk ? (size_t)(s->len - o) : chunk, cl = cmax;
			if (snappy_compress((const char *)data + o, ul, cbuf, &cl) != SNAPPY_OK)
				fx_die("snappy_compress");
			uint32_t crc = masked(crc32c(data + o, ul));
			size_t at = b.len;
			if (cl < ul - ul / 8) {
				chunk_head(&b, 0x00, cl + 4);
				fx_le(&b, crc, 4);
				fx_put(&b, cbuf, cl);
			} else {
				chunk_head(&b, 0x01, ul + 4);
				fx_le(&b, crc, 4);
				fx_put(&b, data + o, ul);
			}
			snprintf(n, sizeof n, "chunk%zu.%u", i, k);
			fx_field(&b, n, at, b.len - at);
		}
		snprintf(n, sizeof n, "trailer%zu", i);
		fx_field(&b, n, fx_le(&b, b.len - start, 8), 8);
		free(cbuf);
		free(data);
	}
	fx_field(&b, "file.end", b.len, 0);
	fx_write_file(a.out, b.p, b.len);
	if (zl) {
		char tmp[4200];
		snprintf(tmp, sizeof tmp, "%s.plain", a.out);
		fx_write_file(tmp, b.p, b.len);
		zlib_file(tmp, a.out);
		remove(tmp);
	}
	if (b.map)
		fclose(b.map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_buf_free(&b);
	fx_free_model(&m);
	return 0;
}
