/*
 * Per-page codecs: one compressed block that must decode to exactly one
 * page (kdump-compressed page data).  zlib pages go through libdeflate,
 * which decodes a whole buffer at once and measured faster than zlib's
 * streaming inflate here (see docs/performance.md; a dump opened with the
 * zlib_inflate option uses inflate, for that comparison); lzo through liblzo2,
 * snappy through libsnappy, zstd through libzstd.  A decoder set is per
 * reader (one thread): it keeps the libdeflate and zstd contexts.
 */
#include "dp_int.h"

#include <libdeflate.h>
#include <limits.h>
#include <lzo1x.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

struct dp_pagedec {
	struct libdeflate_decompressor *zlib;
	z_stream zs;      /* zlib_inflate: one inflate state, reset for each page */
	bool zs_live;
	ZSTD_DCtx *zstd;
};

void dp_pagedec_free(struct dp_pagedec *pd)
{
	if (!pd)
		return;
	if (pd->zlib)
		libdeflate_free_decompressor(pd->zlib);
	if (pd->zs_live)
		inflateEnd(&pd->zs);
	ZSTD_freeDCtx(pd->zstd);
	free(pd);
}

/* A page libdeflate called bad data, decoded again by zlib: only on this
 * error path, so that the message names what zlib finds wrong ("incorrect
 * header check", "invalid distance too far back"); its messages are static
 * strings.  NULL when zlib decodes exactly one page after all. */
static const char *zlib_reason(const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	z_stream z = { 0 };
	if (n > UINT_MAX || want > UINT_MAX || inflateInit(&z) != Z_OK)
		return "corrupt or cut short";
	z.next_in = (Bytef *)(uintptr_t)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)want;
	int rc = inflate(&z, Z_FINISH);
	const char *why = rc == Z_STREAM_END && z.avail_out == 0 ? NULL
			  : rc == Z_STREAM_END ? "too short"
			  : rc == Z_BUF_ERROR && z.avail_out == 0 ? "too long"
			  : z.msg ? z.msg : "corrupt or cut short";
	inflateEnd(&z);
	return why;
}

/* The same page through zlib's inflate (the zlib_inflate option). */
static const char *inflate_page(struct dp_pagedec *pd, const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	if (n > UINT_MAX || want > UINT_MAX)
		return "too long";
	if (!pd->zs_live) {
		if (inflateInit(&pd->zs) != Z_OK)
			return "out of memory";
		pd->zs_live = true;
	} else if (inflateReset(&pd->zs) != Z_OK)
		return "corrupt or cut short";
	pd->zs.next_in = (Bytef *)(uintptr_t)src;
	pd->zs.avail_in = (uInt)n;
	pd->zs.next_out = dst;
	pd->zs.avail_out = (uInt)want;
	int rc = inflate(&pd->zs, Z_FINISH);
	if (rc == Z_STREAM_END && pd->zs.avail_out == 0)
		return NULL;
	/* the message of the error path above, from a fresh state */
	const char *why = zlib_reason(src, n, dst, want);
	return why ? why : "corrupt or cut short";
}

static const char *zlib_page(struct dp_pagedec *pd, const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	if (!pd->zlib && !(pd->zlib = libdeflate_alloc_decompressor()))
		return "out of memory";
	size_t in_used = 0, got = 0;
	enum libdeflate_result r = libdeflate_zlib_decompress_ex(pd->zlib, src, n, dst, want, &in_used, &got);
	switch (r) {
	case LIBDEFLATE_SUCCESS: return got == want ? NULL : "too short";
	case LIBDEFLATE_SHORT_OUTPUT: return "too short";
	case LIBDEFLATE_INSUFFICIENT_SPACE: return "too long";
	default: return zlib_reason(src, n, dst, want);
	}
}

static const char *lzo_page(const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	lzo_uint got = want;
	int r = lzo1x_decompress_safe(src, n, dst, &got, NULL);
	if (r == LZO_E_OK && got == want)
		return NULL;
	return r == LZO_E_OK ? "too short" : r == LZO_E_OUTPUT_OVERRUN ? "too long"
	       : r == LZO_E_INPUT_NOT_CONSUMED ? "bytes left over" : "corrupt";
}

static const char *snappy_page(const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	size_t got = 0;
	if (snappy_uncompressed_length((const char *)src, n, &got) != SNAPPY_OK)
		return "corrupt length";
	if (got != want)
		return got < want ? "too short" : "too long";
	if (snappy_uncompress((const char *)src, n, (char *)dst, &got) != SNAPPY_OK || got != want)
		return "corrupt";
	return NULL;
}

static const char *zstd_page(struct dp_pagedec *pd, const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	if (!pd->zstd && !(pd->zstd = ZSTD_createDCtx()))
		return "out of memory";
	size_t got = ZSTD_decompressDCtx(pd->zstd, dst, want, src, n);
	if (ZSTD_isError(got))
		return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall ? "too long" : ZSTD_getErrorName(got);
	return got == want ? NULL : "too short";
}

const char *dp_page_decode(struct dp_pagedec **pdp, bool zlib_inflate, enum dp_page_codec codec,
			   const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	if (!*pdp && !(*pdp = calloc(1, sizeof **pdp)))
		return "out of memory";
	switch (codec) {
	case DP_PAGE_ZLIB:
		return zlib_inflate ? inflate_page(*pdp, src, n, dst, want) : zlib_page(*pdp, src, n, dst, want);
	case DP_PAGE_LZO: return lzo_page(src, n, dst, want);
	case DP_PAGE_SNAPPY: return snappy_page(src, n, dst, want);
	case DP_PAGE_ZSTD: return zstd_page(*pdp, src, n, dst, want);
	}
	return "unknown codec";
}

const char *dp_page_codec_name(enum dp_page_codec codec)
{
	switch (codec) {
	case DP_PAGE_ZLIB: return "zlib";
	case DP_PAGE_LZO: return "lzo";
	case DP_PAGE_SNAPPY: return "snappy";
	case DP_PAGE_ZSTD: return "zstd";
	}
	return "?";
}
