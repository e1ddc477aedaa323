/*
 * Stream decompressors for compressed data *inside* a dump file or for a
 * whole file: gzip (ISA-L's igzip), bare zlib (zlib), bzip2 (libbz2), xz (liblzma), lzop (the lzop
 * container around LZO1X blocks, decoded with liblzo2) and zstd (libzstd).
 * These are the compressors libvirt pipes save images and `virsh dump`
 * output through.  One push interface for all of them: the caller hands in
 * compressed bytes as it has them and takes decoded bytes out; errors carry
 * the offset of the compressed byte where decoding failed (base + consumed).
 */
#include "dp_int.h"

#include <bzlib.h>
#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <lzo1x.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* lzop container constants (lzop's own header and block framing) */
#define LZOP_MAGIC_LEN 9
#define LZOP_F_ADLER32_D 0x0001u
#define LZOP_F_ADLER32_C 0x0002u
#define LZOP_F_H_EXTRA_FIELD 0x0040u
#define LZOP_F_CRC32_D 0x0100u
#define LZOP_F_CRC32_C 0x0200u
#define LZOP_F_MULTIPART 0x0400u
#define LZOP_F_H_FILTER 0x0800u
#define LZOP_F_H_CRC32 0x1000u
#define LZOP_F_KNOWN 0x3fffu                /* lower flag bits; the top byte names the OS */
#define LZOP_MAX_BLOCK (64u << 20)          /* lzop refuses larger blocks too */
#define LZOP_HDR_MAX (LZOP_MAGIC_LEN + 64 + 255)

static const uint8_t lzop_magic[LZOP_MAGIC_LEN] = { 0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a };

enum lzop_state { LZ_HEADER, LZ_EXTRA, LZ_BLOCK_HDR, LZ_BLOCK_DATA, LZ_OUTPUT, LZ_END };

struct lzop {
	enum lzop_state st;
	uint8_t hdr[LZOP_HDR_MAX];
	size_t nhdr;
	uint32_t flags;
	uint64_t extra_left;      /* bytes of the extra field (+ its checksum) still to skip */
	uint32_t dst_len, src_len, dcheck;
	size_t need;              /* bytes wanted for the current header piece */
	uint8_t *cbuf;            /* one compressed block */
	size_t ncbuf;
	uint8_t *obuf;            /* its decoded bytes */
	size_t nobuf, oout;
	size_t bufcap;
	uint64_t block_at;        /* input offset of the current block header */
};

struct dp_codec {
	enum dp_codec_kind kind;
	uint64_t base;            /* file offset of the first compressed byte */
	uint64_t used;            /* compressed bytes consumed */
	bool whole;               /* the data is a whole file (messages say "stream") */
	bool ended;
	struct inflate_state *gz; /* gzip: ISA-L */
	bool gz_member_done;
	z_stream zs;
	bool zs_live;
	bool z_member_done;
	bz_stream bz;
	bool bz_live;
	bool bz_member_done;
	lzma_stream xz;
	bool xz_live;
	ZSTD_DStream *zd;
	bool zd_frame_end;        /* the last zstd call finished a frame */
	struct lzop lz;
};

enum dp_codec_kind dp_codec_detect(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return DP_CODEC_GZIP;
	if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
		return DP_CODEC_BZIP2;
	if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		return DP_CODEC_XZ;
	if (n >= LZOP_MAGIC_LEN && memcmp(p, lzop_magic, LZOP_MAGIC_LEN) == 0)
		return DP_CODEC_LZOP;
	if (n >= 4 && dp_le32(p) == 0xFD2FB528u)
		return DP_CODEC_ZSTD;
	return DP_CODEC_NONE;
}

bool dp_codec_zlib_header(const uint8_t *p, size_t n)
{
	/* RFC 1950: deflate, window <= 32 KiB, check bits, no preset dictionary */
	return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((unsigned)p[0] << 8 | p[1]) % 31 == 0 &&
	       !(p[1] & 0x20);
}

const char *dp_codec_name(enum dp_codec_kind k)
{
	switch (k) {
	case DP_CODEC_NONE: return "none";
	case DP_CODEC_GZIP: return "gzip";
	case DP_CODEC_BZIP2: return "bzip2";
	case DP_CODEC_XZ: return "xz";
	case DP_CODEC_LZOP: return "lzop";
	case DP_CODEC_ZSTD: return "zstd";
	case DP_CODEC_ZLIB: return "zlib";
	}
	return "?";
}

void dp_codec_free(struct dp_codec *c)
{
	if (!c)
		return;
	if (c->zs_live)
		inflateEnd(&c->zs);
	free(c->gz);
	if (c->bz_live)
		BZ2_bzDecompressEnd(&c->bz);
	if (c->xz_live)
		lzma_end(&c->xz);
	ZSTD_freeDStream(c->zd);
	free(c->lz.cbuf);
	free(c->lz.obuf);
	free(c);
}

int dp_codec_new(enum dp_codec_kind kind, uint64_t base, bool whole, struct dp_codec **out, struct dp_error *err)
{
	struct dp_codec *c = calloc(1, sizeof *c);
	*out = NULL;
	if (!c)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	c->kind = kind;
	c->base = base;
	c->whole = whole;
	int ok = 1;
	switch (kind) {
	case DP_CODEC_GZIP:
		c->gz = malloc(sizeof *c->gz);
		ok = c->gz != NULL;
		if (ok) {
			isal_inflate_init(c->gz);
			c->gz->crc_flag = ISAL_GZIP;
		}
		break;
	case DP_CODEC_ZLIB:
		ok = inflateInit2(&c->zs, 15) == Z_OK;
		c->zs_live = ok;
		break;
	case DP_CODEC_BZIP2:
		ok = BZ2_bzDecompressInit(&c->bz, 0, 0) == BZ_OK;
		c->bz_live = ok;
		break;
	case DP_CODEC_XZ: {
		lzma_stream init = LZMA_STREAM_INIT;
		c->xz = init;
		ok = lzma_stream_decoder(&c->xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
		c->xz_live = ok;
		break;
	}
	case DP_CODEC_LZOP:
		ok = lzo_init() == LZO_E_OK;
		c->lz.need = LZOP_MAGIC_LEN + 16;
		break;
	case DP_CODEC_ZSTD:
		c->zd = ZSTD_createDStream();
		ok = c->zd != NULL;
		break;
	default:
		ok = 0;
	}
	if (!ok) {
		dp_codec_free(c);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "%s: cannot set up the decoder",
			       dp_codec_name(kind));
	}
	*out = c;
	return DP_OK;
}

static int corrupt(struct dp_codec *c, uint64_t at, struct dp_error *err, const char *fmt, const char *why)
{
	return dp_fail(err, DP_E_CORRUPT, (int64_t)(c->base + at), fmt, dp_codec_name(c->kind), why);
}

/* ---- lzop ---- */

/* Parse the lzop file header in hdr[0..n); 0 = need more bytes (set *need),
 * 1 = complete (*len = bytes it takes), -1 = error (message in err). */
static int lzop_header(struct dp_codec *c, const uint8_t *h, size_t n, size_t *need, size_t *len,
		       struct dp_error *err)
{
	struct lzop *l = &c->lz;
	size_t p = LZOP_MAGIC_LEN;
#define NEED(k)                                \
	do {                                   \
		if (p + (k) > n) {             \
			*need = p + (k);       \
			return 0;              \
		}                              \
	} while (0)
	NEED(4);
	if (memcmp(h, lzop_magic, LZOP_MAGIC_LEN) != 0) {
		corrupt(c, 0, err, "%s: %s", "the lzop magic is missing");
		return -1;
	}
	uint16_t version = dp_be16(h + p);
	p += 4; /* version, library version */
	if (version < 0x0900) {
		dp_fail(err, DP_E_UNSUPPORTED, (int64_t)c->base + LZOP_MAGIC_LEN,
			"lzop: file format version 0x%04x is too old to read", version);
		return -1;
	}
	if (version >= 0x0940) {
		NEED(2);
		p += 2; /* version needed to extract */
	}
	NEED(1);
	uint8_t method = h[p++];
	if (version >= 0x0940) {
		NEED(1);
		p++; /* level */
	}
	NEED(4);
	l->flags = dp_be32(h + p);
	p += 4;
	if (method < 1 || method > 3) {
		dp_fail(err, DP_E_UNSUPPORTED, (int64_t)(c->base + p - 5),
			"lzop: compression method %u is not LZO1X (1..3)", method);
		return -1;
	}
	if ((l->flags & LZOP_F_H_FILTER) || (l->flags & LZOP_F_MULTIPART)) {
		dp_fail(err, DP_E_UNSUPPORTED, (int64_t)(c->base + p - 4),
			"lzop: filtered or multi-part files (flags 0x%x) are not supported", l->flags);
		return -1;
	}
	NEED(8); /* mode, mtime low */
	p += 8;
	if (version >= 0x0940) {
		NEED(4);
		p += 4;
	}
	NEED(1);
	uint8_t namelen = h[p++];
	NEED((size_t)namelen + 4);
	p += namelen;
	uint32_t want = dp_be32(h + p);
	uint32_t got = (l->flags & LZOP_F_H_CRC32)
			       ? (uint32_t)crc32(0, h + LZOP_MAGIC_LEN, (uInt)(p - LZOP_MAGIC_LEN))
			       : (uint32_t)adler32(1, h + LZOP_MAGIC_LEN, (uInt)(p - LZOP_MAGIC_LEN));
	if (want != got) {
		dp_fail(err, DP_E_CORRUPT, (int64_t)(c->base + p),
			"lzop: header checksum 0x%08x does not match its contents (0x%08x)", want, got);
		return -1;
	}
	p += 4;
	*len = p;
	return 1;
#undef NEED
}

static int lzop_grow(struct lzop *l, size_t n)
{
	if (n <= l->bufcap)
		return 0;
	uint8_t *a = realloc(l->cbuf, n), *b;
	if (!a)
		return -1;
	l->cbuf = a;
	b = realloc(l->obuf, n);
	if (!b)
		return -1;
	l->obuf = b;
	l->bufcap = n;
	return 0;
}

#define STARVE (-1)

/* A block header (decoded and compressed sizes, checksums): DP_OK when the
 * state moved on, STARVE when more input is needed, or an error. */
static int lzop_block_header(struct dp_codec *c, const uint8_t *in, size_t inlen, size_t *ipp,
			     struct dp_error *err)
{
	struct lzop *l = &c->lz;
	if (l->nhdr == 0)
		l->block_at = c->used;
	size_t take = l->need - l->nhdr;
	if (take > inlen - *ipp)
		take = inlen - *ipp;
	memcpy(l->hdr + l->nhdr, in + *ipp, take);
	l->nhdr += take;
	*ipp += take;
	c->used += take;
	if (l->nhdr < l->need)
		return STARVE;
	uint32_t dst = dp_be32(l->hdr);
	if (dst == 0) {
		l->st = LZ_END;
		return DP_OK;
	}
	if (l->need == 4) {
		size_t k = 8;
		if (l->flags & LZOP_F_ADLER32_D)
			k += 4;
		if (l->flags & LZOP_F_CRC32_D)
			k += 4;
		l->need = k; /* the compressed-data checksums follow only when compressed */
		return DP_OK;
	}
	uint32_t src = dp_be32(l->hdr + 4);
	size_t k = 8 + ((l->flags & LZOP_F_ADLER32_D) ? 4 : 0) + ((l->flags & LZOP_F_CRC32_D) ? 4 : 0);
	if (src < dst && l->need == k) {
		size_t extra = ((l->flags & LZOP_F_ADLER32_C) ? 4 : 0) + ((l->flags & LZOP_F_CRC32_C) ? 4 : 0);
		if (extra) {
			l->need = k + extra;
			return DP_OK;
		}
	}
	if (dst > LZOP_MAX_BLOCK)
		return corrupt(c, l->block_at, err, "%s: %s",
			       "block of more than 64 MiB (lzop writes at most that)");
	if (src > dst || src == 0)
		return corrupt(c, l->block_at, err, "%s: %s",
			       "block whose compressed size is 0 or exceeds its decoded size");
	l->dst_len = dst;
	l->src_len = src;
	/* the decoded-data checksum is the one lzop writes by default */
	l->dcheck = (l->flags & (LZOP_F_ADLER32_D | LZOP_F_CRC32_D)) ? dp_be32(l->hdr + 8) : 0;
	if (lzop_grow(l, dst))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	l->ncbuf = 0;
	l->nhdr = 0;
	l->st = LZ_BLOCK_DATA;
	return DP_OK;
}

static int lzop_run(struct dp_codec *c, const uint8_t *in, size_t inlen, bool in_end, size_t *inused,
		    uint8_t *out, size_t outcap, size_t *outlen, struct dp_error *err)
{
	struct lzop *l = &c->lz;
	size_t ip = 0, op = 0;

	while (op < outcap) {
		switch (l->st) {
		case LZ_HEADER: {
			size_t take = l->need - l->nhdr;
			if (take > inlen - ip)
				take = inlen - ip;
			memcpy(l->hdr + l->nhdr, in + ip, take);
			l->nhdr += take;
			ip += take;
			if (l->nhdr < l->need)
				goto starve;
			size_t need = 0, len = 0;
			int r = lzop_header(c, l->hdr, l->nhdr, &need, &len, err);
			if (r < 0)
				return err->status;
			if (r == 0) {
				if (need > sizeof l->hdr)
					return corrupt(c, 0, err, "%s: %s", "the header is too long");
				l->need = need;
				break;
			}
			/* the header may have been read past its end: give the rest back */
			ip -= l->nhdr - len;
			c->used += len;
			l->nhdr = 0;
			if (l->flags & LZOP_F_H_EXTRA_FIELD) {
				l->st = LZ_EXTRA;
				l->need = 4;
			} else {
				l->st = LZ_BLOCK_HDR;
				l->need = 4;
			}
			break;
		}
		case LZ_EXTRA: {
			if (l->need) { /* its length */
				size_t take = l->need - l->nhdr;
				if (take > inlen - ip)
					take = inlen - ip;
				memcpy(l->hdr + l->nhdr, in + ip, take);
				l->nhdr += take;
				ip += take;
				c->used += take;
				if (l->nhdr < l->need)
					goto starve;
				l->extra_left = (uint64_t)dp_be32(l->hdr) + 4;
				l->need = 0;
				l->nhdr = 0;
			}
			size_t take = inlen - ip;
			if (take > l->extra_left)
				take = (size_t)l->extra_left;
			ip += take;
			c->used += take;
			l->extra_left -= take;
			if (l->extra_left)
				goto starve;
			l->st = LZ_BLOCK_HDR;
			l->need = 4;
			break;
		}
		case LZ_BLOCK_HDR: {
			int r = lzop_block_header(c, in, inlen, &ip, err);
			if (r == STARVE)
				goto starve;
			if (r)
				return r;
			break;
		}
		case LZ_BLOCK_DATA: {
			size_t take = l->src_len - l->ncbuf;
			if (take > inlen - ip)
				take = inlen - ip;
			memcpy(l->cbuf + l->ncbuf, in + ip, take);
			l->ncbuf += take;
			ip += take;
			c->used += take;
			if (l->ncbuf < l->src_len)
				goto starve;
			if (l->src_len == l->dst_len) {
				memcpy(l->obuf, l->cbuf, l->dst_len);
			} else {
				lzo_uint n = l->dst_len;
				int r = lzo1x_decompress_safe(l->cbuf, l->src_len, l->obuf, &n, NULL);
				if (r != LZO_E_OK || n != l->dst_len)
					return corrupt(c, l->block_at, err, "%s: %s",
						       "an LZO1X block does not decode to its stated size");
			}
			if (l->flags & (LZOP_F_ADLER32_D | LZOP_F_CRC32_D)) {
				uint32_t got = (l->flags & LZOP_F_ADLER32_D)
						       ? (uint32_t)adler32(1, l->obuf, l->dst_len)
						       : (uint32_t)crc32(0, l->obuf, l->dst_len);
				if (got != l->dcheck)
					return corrupt(c, l->block_at, err, "%s: %s",
						       "a block's checksum does not match its decoded bytes");
			}
			l->nobuf = l->dst_len;
			l->oout = 0;
			l->st = LZ_OUTPUT;
			break;
		}
		case LZ_OUTPUT: {
			size_t n = l->nobuf - l->oout;
			if (n > outcap - op)
				n = outcap - op;
			memcpy(out + op, l->obuf + l->oout, n);
			op += n;
			l->oout += n;
			if (l->oout == l->nobuf) {
				l->st = LZ_BLOCK_HDR;
				l->need = 4;
				l->nhdr = 0;
			}
			break;
		}
		case LZ_END:
			c->ended = true;
			goto done;
		}
		continue;
	starve:
		if (in_end && ip == inlen && l->st != LZ_END)
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)(c->base + c->used),
				       "lzop: compressed data ends inside a %s",
				       l->st == LZ_BLOCK_DATA ? "block" : "header");
		break;
	}
done:
	*inused = ip;
	*outlen = op;
	return c->ended && op == 0 ? DP_END : DP_OK;
}

/* ---- one step of each codec ---- */

/* One call of a codec's decoder: in[0..avail) is what the caller has left,
 * out[0..ocap) the room left; *ic and *oc say what the step consumed and
 * produced.  Returns DP_OK, STEP_STARVE (nothing can happen until more
 * input comes) or an error status. */
#define STEP_STARVE (-1)

struct step {
	const uint8_t *in;
	size_t avail;
	bool in_end;
	uint8_t *out;
	size_t ocap;
	size_t ic, oc;
};

/* What an ISA-L inflate error means, in the words zlib uses for it */
static const char *isal_why(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK: return "invalid block type or lengths";
	case ISAL_INVALID_SYMBOL: return "invalid code";
	case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER: return "incorrect header check";
	case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
	}
	return "inflate failed";
}

static int gzip_step(struct dp_codec *c, struct step *s, struct dp_error *err)
{
	struct inflate_state *g = c->gz;
	if (c->gz_member_done) {
		/* concatenated members; anything else after a member ends the data */
		if (s->avail < 2) {
			if (!s->in_end)
				return STEP_STARVE;
			c->ended = true;
			return DP_OK;
		}
		if (s->in[0] != 0x1f || s->in[1] != 0x8b) {
			c->ended = true;
			return DP_OK;
		}
		isal_inflate_reset(g);
		g->crc_flag = ISAL_GZIP;
		c->gz_member_done = false;
	}
	if (s->avail == 0)
		return STEP_STARVE;
	g->next_in = (uint8_t *)(uintptr_t)s->in;
	g->avail_in = (uint32_t)(s->avail > UINT32_MAX ? UINT32_MAX : s->avail);
	g->next_out = s->out;
	g->avail_out = (uint32_t)(s->ocap > UINT32_MAX ? UINT32_MAX : s->ocap);
	uint32_t ai = g->avail_in, ao = g->avail_out;
	int r = isal_inflate(g);
	s->ic = ai - g->avail_in;
	s->oc = ao - g->avail_out;
	if (r < 0)
		return corrupt(c, c->used + s->ic, err, "%s data is corrupt: %s", isal_why(r));
	if (g->block_state == ISAL_BLOCK_FINISH)
		c->gz_member_done = true;
	return DP_OK;
}

/* bare zlib (RFC 1950): one stream; bytes after it are not read */
static int zlib_step(struct dp_codec *c, struct step *s, struct dp_error *err)
{
	if (c->z_member_done) {
		c->ended = true;
		return DP_OK;
	}
	if (s->avail == 0)
		return STEP_STARVE;
	c->zs.next_in = (Bytef *)(uintptr_t)s->in;
	c->zs.avail_in = (uInt)(s->avail > UINT32_MAX ? UINT32_MAX : s->avail);
	c->zs.next_out = s->out;
	c->zs.avail_out = (uInt)(s->ocap > UINT32_MAX ? UINT32_MAX : s->ocap);
	uInt ai = c->zs.avail_in, ao = c->zs.avail_out;
	int zr = inflate(&c->zs, Z_NO_FLUSH);
	s->ic = ai - c->zs.avail_in;
	s->oc = ao - c->zs.avail_out;
	if (zr == Z_STREAM_END)
		c->z_member_done = true;
	else if (zr != Z_OK && zr != Z_BUF_ERROR)
		return corrupt(c, c->used + s->ic, err, "%s data is corrupt: %s",
			       c->zs.msg ? c->zs.msg : "inflate failed");
	return DP_OK;
}

static int bzip2_step(struct dp_codec *c, struct step *s, struct dp_error *err)
{
	if (c->bz_member_done) {
		if (s->avail < 3) {
			if (!s->in_end)
				return STEP_STARVE;
			c->ended = true;
			return DP_OK;
		}
		if (s->in[0] != 'B' || s->in[1] != 'Z' || s->in[2] != 'h') {
			c->ended = true;
			return DP_OK;
		}
		BZ2_bzDecompressEnd(&c->bz);
		c->bz_live = false;
		memset(&c->bz, 0, sizeof c->bz);
		if (BZ2_bzDecompressInit(&c->bz, 0, 0) != BZ_OK)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "bzip2: cannot restart");
		c->bz_live = true;
		c->bz_member_done = false;
	}
	if (s->avail == 0)
		return STEP_STARVE;
	c->bz.next_in = (char *)(uintptr_t)s->in;
	c->bz.avail_in = (unsigned)(s->avail > UINT32_MAX ? UINT32_MAX : s->avail);
	c->bz.next_out = (char *)s->out;
	c->bz.avail_out = (unsigned)(s->ocap > UINT32_MAX ? UINT32_MAX : s->ocap);
	unsigned ai = c->bz.avail_in, ao = c->bz.avail_out;
	int br = BZ2_bzDecompress(&c->bz);
	s->ic = ai - c->bz.avail_in;
	s->oc = ao - c->bz.avail_out;
	if (br == BZ_STREAM_END)
		c->bz_member_done = true;
	else if (br != BZ_OK)
		return corrupt(c, c->used + s->ic, err, "%s data is corrupt: %s",
			       br == BZ_DATA_ERROR_MAGIC ? "bad magic" : "BZ2_bzDecompress failed");
	return DP_OK;
}

static int xz_step(struct dp_codec *c, struct step *s, struct dp_error *err)
{
	c->xz.next_in = s->in;
	c->xz.avail_in = s->avail;
	c->xz.next_out = s->out;
	c->xz.avail_out = s->ocap;
	lzma_ret xr = lzma_code(&c->xz, s->in_end ? LZMA_FINISH : LZMA_RUN);
	s->ic = s->avail - c->xz.avail_in;
	s->oc = s->ocap - c->xz.avail_out;
	if (xr == LZMA_STREAM_END)
		c->ended = true;
	else if (xr == LZMA_BUF_ERROR && s->in_end)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)(c->base + c->used + s->ic),
			       "xz: compressed data ends inside a block");
	else if (xr != LZMA_OK && xr != LZMA_BUF_ERROR)
		return corrupt(c, c->used + s->ic, err, "%s data is corrupt: %s",
			       xr == LZMA_DATA_ERROR ? "data error"
			       : xr == LZMA_FORMAT_ERROR ? "not xz"
			       : xr == LZMA_MEM_ERROR ? "out of memory"
						      : "lzma_code failed");
	return DP_OK;
}

static int zstd_step(struct dp_codec *c, struct step *s, struct dp_error *err)
{
	if (s->avail == 0 && c->zd_frame_end) {
		/* between frames: the end of the input ends the data */
		if (!s->in_end)
			return STEP_STARVE;
		c->ended = true;
		return DP_OK;
	}
	ZSTD_inBuffer zin = { s->in, s->avail, 0 };
	ZSTD_outBuffer zout = { s->out, s->ocap, 0 };
	size_t zr = ZSTD_decompressStream(c->zd, &zout, &zin);
	s->ic = zin.pos;
	s->oc = zout.pos;
	if (ZSTD_isError(zr))
		return corrupt(c, c->used + s->ic, err, "%s data is corrupt: %s", ZSTD_getErrorName(zr));
	c->zd_frame_end = zr == 0;
	if (zr == 0 && s->ic == s->avail && s->in_end)
		c->ended = true;
	return DP_OK;
}

/* ---- the push interface ---- */

int dp_codec_run(struct dp_codec *c, const uint8_t *in, size_t inlen, bool in_end, size_t *inused,
		 uint8_t *out, size_t outcap, size_t *outlen, struct dp_error *err)
{
	*inused = 0;
	*outlen = 0;
	if (c->ended)
		return DP_END;
	if (c->kind == DP_CODEC_LZOP)
		return lzop_run(c, in, inlen, in_end, inused, out, outcap, outlen, err);

	size_t ip = 0, op = 0;
	while (op < outcap && !c->ended) {
		struct step s = { in + ip, inlen - ip, in_end, out + op, outcap - op, 0, 0 };
		int r;
		switch (c->kind) {
		case DP_CODEC_GZIP: r = gzip_step(c, &s, err); break;
		case DP_CODEC_ZLIB: r = zlib_step(c, &s, err); break;
		case DP_CODEC_BZIP2: r = bzip2_step(c, &s, err); break;
		case DP_CODEC_XZ: r = xz_step(c, &s, err); break;
		case DP_CODEC_ZSTD: r = zstd_step(c, &s, err); break;
		default: return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "no decoder");
		}
		if (r != DP_OK && r != STEP_STARVE)
			return r;
		ip += s.ic;
		op += s.oc;
		c->used += s.ic;
		if (r == STEP_STARVE || (s.ic == 0 && s.oc == 0 && !c->ended)) {
			if (in_end && ip == inlen)
				return dp_fail(err, DP_E_TRUNCATED, (int64_t)(c->base + c->used),
					       c->whole ? "%s stream ends before its end marker"
							: "%s: compressed data ends before its end marker",
					       dp_codec_name(c->kind));
			break;
		}
		if (s.ic == 0 && s.oc == 0)
			break;
	}
	*inused = ip;
	*outlen = op;
	return c->ended && op == 0 ? DP_END : DP_OK;
}
