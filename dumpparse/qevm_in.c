/*
 * The bytes of a QEMU migration stream: a mapped uncompressed file is read
 * in place; anything else (a pipe, whole-file compression, a compressed
 * libvirt payload) through a dp_stream of the byte stack, into a buffer
 * that keeps a record's bytes together.  Offsets in messages are file
 * offsets, or positions in the decoded stream of a compressed payload.
 */
#include "qevm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- input ---- */

int qfail(const struct qin *q, enum dp_status st, uint64_t pos, struct dp_error *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (q->codec_name)
		return dp_fail(err, st, (int64_t)pos, "%s (offset in the %s-decompressed stream)", msg, q->codec_name);
	return dp_fail(err, st, (int64_t)(q->base + pos), "%s", msg);
}

/* Raw bytes of the payload from a sequential source; 0 at the end. */
static ssize_t pull_raw(void *ctx, uint8_t *dst, size_t cap, struct dp_error *err)
{
	struct qin *q = ctx;
	struct dp_dump *d = q->d;
	if (d->src.size != UINT64_MAX && q->src_off >= d->src.size)
		return 0;
	int rc = dp_src_read(d, q->src_off, dst, cap, "migration stream", err);
	size_t got = cap;
	if (rc == DP_E_TRUNCATED && d->src.size != UINT64_MAX && d->src.size >= q->src_off)
		got = (size_t)(d->src.size - q->src_off);
	else if (rc)
		return -1;
	q->src_off += got;
	return (ssize_t)got;
}

/* Make at least need bytes available in buf (sequential).  DP_OK, DP_END
 * when the stream ends first, or an error. */
int q_fill(struct qin *q, size_t need, struct dp_error *err)
{
	if (q->buf_len - q->buf_pos >= need)
		return DP_OK;
	if (q->buf_pos) {
		memmove(q->buf, q->buf + q->buf_pos, q->buf_len - q->buf_pos);
		q->buf_len -= q->buf_pos;
		q->buf_pos = 0;
	}
	while (q->buf_len < need) {
		if (q->eof && q->have_cut) {
			*err = q->cut;
			return DP_E_TRUNCATED;
		}
		if (q->eof)
			return DP_END;
		ssize_t n = dp_stream_read(q->stream, q->buf + q->buf_len, q->buf_cap - q->buf_len, err);
		if (n < 0 && err->status == DP_E_TRUNCATED && q->codec_name) {
			/* what was decoded before the cut is still good */
			q->eof = true;
			q->cut = *err;
			q->have_cut = true;
		} else if (n < 0) {
			return err->status;
		} else if (n == 0) {
			q->eof = true;
		} else {
			q->buf_len += (size_t)n;
		}
	}
	return DP_OK;
}

/* Pointer to the next n bytes, consumed; truncation is an error naming what. */
int q_get(struct qin *q, size_t n, const uint8_t **p, const char *what, struct dp_error *err)
{
	if (q->map) {
		if (q->maplen - q->pos < n)
			return qfail(q, DP_E_TRUNCATED, q->pos, err,
				     "%s: the stream ends %llu bytes further, %zu bytes are needed", what,
				     (unsigned long long)(q->maplen - q->pos), n);
		*p = q->map + q->pos;
		q->pos += n;
		return DP_OK;
	}
	int rc = q_fill(q, n, err);
	if (rc == DP_END)
		return qfail(q, DP_E_TRUNCATED, q->pos, err,
			     "%s: the stream ends %zu bytes further, %zu bytes are needed", what,
			     q->buf_len - q->buf_pos, n);
	if (rc)
		return rc;
	*p = q->buf + q->buf_pos;
	q->buf_pos += n;
	q->pos += n;
	return DP_OK;
}

/* Next byte without consuming it; DP_END at the end of the stream. */
int q_peek(struct qin *q, uint8_t *b, struct dp_error *err)
{
	if (q->map) {
		if (q->pos >= q->maplen)
			return DP_END;
		*b = q->map[q->pos];
		return DP_OK;
	}
	int rc = q_fill(q, 1, err);
	if (rc)
		return rc;
	*b = q->buf[q->buf_pos];
	return DP_OK;
}

int q_u8(struct qin *q, uint8_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 1, &p, what, err);
	if (!rc)
		*v = p[0];
	return rc;
}

int q_be16(struct qin *q, uint16_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 2, &p, what, err);
	if (!rc)
		*v = dp_be16(p);
	return rc;
}

int q_be32(struct qin *q, uint32_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 4, &p, what, err);
	if (!rc)
		*v = dp_be32(p);
	return rc;
}

int q_be64(struct qin *q, uint64_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 8, &p, what, err);
	if (!rc)
		*v = dp_be64(p);
	return rc;
}

/* u8 length + that many bytes, as a C string */
int q_name(struct qin *q, char *out, const char *what, struct dp_error *err)
{
	uint8_t n;
	const uint8_t *p;
	int rc = q_u8(q, &n, what, err);
	if (!rc)
		rc = q_get(q, n, &p, what, err);
	if (rc)
		return rc;
	memcpy(out, p, n);
	out[n] = 0;
	return DP_OK;
}

int q_skip(struct qin *q, uint64_t n, const char *what, struct dp_error *err)
{
	while (n) {
		size_t k = n > 65536 ? 65536 : (size_t)n;
		const uint8_t *p;
		int rc = q_get(q, k, &p, what, err);
		if (rc)
			return rc;
		n -= k;
	}
	return DP_OK;
}

bool qevm_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int qevm_setup_input(struct dp_dump *d, struct qv *v, uint64_t start, enum dp_codec_kind codec,
		       struct dp_error *err)
{
	struct qin *q = &v->in;
	q->d = d;
	if (codec == DP_CODEC_NONE && dp_src_random(d)) {
		q->map = d->src.map + start;
		q->maplen = d->src.size - start;
		q->base = start;
		return DP_OK;
	}
	v->sequential = true;
	q->base = start;
	q->src_off = start;
	q->buf_cap = IN_CHUNK + MAX_TPS + 4096;
	q->buf = malloc(q->buf_cap);
	if (!q->buf)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	if (codec != DP_CODEC_NONE) {
		q->codec_name = dp_codec_name(codec);
		q->base = 0;
	}
	if (dp_src_random(d)) {
		q->vpull = (struct dp_view_pull){ &d->src.view, start, UINT64_MAX };
		return dp_stream_new(codec, start, false, dp_view_pull, &q->vpull, &q->stream, err);
	}
	return dp_stream_new(codec, start, false, pull_raw, q, &q->stream, err);
}
