/*
 * A decoded stream: raw bytes pulled from below (a file descriptor, a view,
 * or whatever the caller supplies) go through one dp_codec decoder and come
 * out front to back.  DP_CODEC_NONE passes the raw bytes through without a
 * buffer of its own, so that nothing is held back when a caller switches
 * to another codec.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define IN_BUF (1u << 20)

struct dp_stream {
	dp_pull_fn pull;
	void *ctx;
	struct dp_codec *codec;   /* NULL: no compression */
	uint8_t *in;              /* raw bytes pulled, not yet decoded */
	size_t in_len, in_pos;
	bool in_end;              /* pull said the raw bytes ended */
	bool end;                 /* no more decoded bytes */
	bool failed;              /* the decoder failed after giving bytes: ... */
	struct dp_error err;      /* ... this error comes with the next read */
};

int dp_stream_new(enum dp_codec_kind kind, uint64_t base, bool whole, dp_pull_fn pull, void *ctx,
		  struct dp_stream **out, struct dp_error *err)
{
	struct dp_stream *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	s->pull = pull;
	s->ctx = ctx;
	if (kind != DP_CODEC_NONE) {
		int rc = dp_codec_new(kind, base, whole, &s->codec, err);
		if (!rc && !(s->in = malloc(IN_BUF)))
			rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		if (rc) {
			dp_stream_free(s);
			return rc;
		}
	}
	*out = s;
	return DP_OK;
}

void dp_stream_free(struct dp_stream *s)
{
	if (!s)
		return;
	dp_codec_free(s->codec);
	free(s->in);
	free(s);
}

static size_t read_some(struct dp_stream *s, uint8_t *buf, size_t len, struct dp_error *err);

/* move the undecoded rest to the front and append what pull gives */
static int more(struct dp_stream *s, struct dp_error *err)
{
	size_t rest = s->in_len - s->in_pos;
	memmove(s->in, s->in + s->in_pos, rest);
	s->in_pos = 0;
	s->in_len = rest;
	ssize_t n = s->pull(s->ctx, s->in + rest, IN_BUF - rest, err);
	if (n < 0)
		return -1;
	s->in_len += (size_t)n;
	s->in_end = n == 0;
	return 0;
}

ssize_t dp_stream_read(struct dp_stream *s, uint8_t *buf, size_t len, struct dp_error *err)
{
	if (s->failed) {
		*err = s->err;
		return -1;
	}
	size_t got = read_some(s, buf, len, err);
	if (s->failed && got == 0) {
		*err = s->err;
		return -1;
	}
	return (ssize_t)got;
}

/* decoded bytes into buf until len or the end; an error sets s->failed */
static size_t read_some(struct dp_stream *s, uint8_t *buf, size_t len, struct dp_error *err)
{
	size_t got = 0;
	while (got < len && !s->end) {
		if (!s->codec) {
			ssize_t n = s->pull(s->ctx, buf + got, len - got, err);
			if (n < 0)
				goto fail;
			if (n == 0)
				s->end = true;
			got += (size_t)n;
			continue;
		}
		if (s->in_pos == s->in_len && !s->in_end) {
			ssize_t n = s->pull(s->ctx, s->in, IN_BUF, err);
			if (n < 0)
				goto fail;
			s->in_len = (size_t)n;
			s->in_pos = 0;
			s->in_end = n == 0;
		}
		size_t used = 0, made = 0;
		int rc = dp_codec_run(s->codec, s->in + s->in_pos, s->in_len - s->in_pos, s->in_end, &used,
				      buf + got, len - got, &made, err);
		s->in_pos += used;
		got += made;
		if (rc == DP_END)
			s->end = true;
		else if (rc)
			goto fail;
		else if (!used && !made) {
			/* the decoder needs more than what is left: keep it, pull more after it */
			if (s->in_end)
				s->end = true;
			else if (more(s, err))
				goto fail;
		}
	}
	return got;
fail:
	s->failed = true;
	s->err = *err;
	return got;
}
