/*
 * The dump's source: the byte stack assembled for one path.
 *
 *   file (dp_file.c)      a regular file is mapped; a pipe is read
 *   container (dp_flat.c) a flattened file is indexed into a view
 *   codec (dp_stream.c)   whole-file compression, recognised by its magic,
 *                         is decoded front to back; the first
 *                         DP_STREAM_KEEP decoded bytes are kept so that
 *                         headers can be read again
 *   spool (dp_spool.c)    on demand (dp_src_make_random), and for a
 *                         flattened file that arrives as a stream
 *
 * The layers know no dump format.  A bare zlib stream has only a two-byte
 * header that raw memory could match by chance, so it is never taken by
 * magic: when no format recognises the raw bytes, the core asks
 * dp_src_retry_zlib to decode them and probes again.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEEK 4096u

bool dp_src_random(const struct dp_dump *d) { return d->src.map != NULL || d->src.view.flat; }

const char *dp_src_compression(const struct dp_dump *d)
{
	return d->src.codec != DP_CODEC_NONE ? dp_codec_name(d->src.codec) : NULL;
}

/* raw bytes of a pipe: first those already taken (prefix), then the descriptor */
static ssize_t pull_fd(void *ctx, uint8_t *buf, size_t cap, struct dp_error *err)
{
	struct dp_src *s = ctx;
	if (s->prefix_pos < s->nprefix) {
		size_t n = s->nprefix - s->prefix_pos < cap ? s->nprefix - s->prefix_pos : cap;
		memcpy(buf, s->prefix + s->prefix_pos, n);
		s->prefix_pos += n;
		return (ssize_t)n;
	}
	return dp_file_read(s->fd, buf, cap, err);
}

/* Consume len decoded bytes into buf (buf may be NULL to skip); returns the
 * number of bytes consumed (< len only at end of stream) or -1. */
static ssize_t consume(struct dp_src *s, uint8_t *buf, size_t len, struct dp_error *err)
{
	uint8_t scratch[65536];
	size_t done = 0;
	while (done < len && !s->eof) {
		size_t want = len - done;
		uint8_t *dst = buf ? buf + done : scratch;
		if (!buf && want > sizeof scratch)
			want = sizeof scratch;
		ssize_t n = dp_stream_read(s->stream, dst, want, err);
		if (n < 0)
			return -1;
		if (n == 0) {
			s->eof = true;
			s->size = s->pos;
			break;
		}
		if (s->pos < DP_STREAM_KEEP) {
			size_t k = DP_STREAM_KEEP - (size_t)s->pos;
			if (k > (size_t)n)
				k = (size_t)n;
			memcpy(s->keep + s->nkeep, dst, k);
			s->nkeep += k;
		}
		s->pos += (uint64_t)n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* decoded bytes front to back from 0, for the spool: the kept head, then the stream */
struct decoded_pull {
	struct dp_src *s;
	uint64_t off;
};

static ssize_t pull_decoded(void *ctx, uint8_t *buf, size_t cap, struct dp_error *err)
{
	struct decoded_pull *p = ctx;
	struct dp_src *s = p->s;
	ssize_t n;
	if (p->off < s->nkeep) {
		n = (ssize_t)(s->nkeep - p->off < cap ? s->nkeep - p->off : cap);
		memcpy(buf, s->keep + p->off, (size_t)n);
	} else if (p->off == s->pos) {
		n = consume(s, buf, cap, err);
	} else {
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "stream read past its kept head"), -1;
	}
	if (n > 0)
		p->off += (uint64_t)n;
	return n;
}

/* decode the source through kind, from its first byte */
static int start_stream(struct dp_src *s, enum dp_codec_kind kind, struct dp_error *err)
{
	dp_stream_free(s->stream);
	s->stream = NULL;
	dp_pull_fn pull = pull_fd;
	void *ctx = s;
	if (s->view.map) {
		s->vpull = (struct dp_view_pull){ &s->view, 0, UINT64_MAX };
		pull = dp_view_pull;
		ctx = &s->vpull;
	}
	s->codec = kind;
	s->map = NULL;
	s->size = UINT64_MAX;
	s->pos = 0;
	s->nkeep = 0;
	s->eof = false;
	if (!s->keep && !(s->keep = malloc(DP_STREAM_KEEP)))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	return dp_stream_new(kind, 0, true, pull, ctx, &s->stream, err);
}

/* the view becomes the source's random-access bytes */
static int use_view(struct dp_src *s, struct dp_error *err)
{
	if (dp_flat_magic(s->view.map, (size_t)(s->view.size < PEEK ? s->view.size : PEEK))) {
		int rc = dp_flat_parse(&s->view, err);
		if (rc)
			return rc;
		s->flat_input = true;
		s->flat_records = s->view.nrecords;
		s->flat_end = s->view.flat_end;
	}
	s->map = s->view.flat ? NULL : s->view.map;
	s->size = dp_view_size(&s->view);
	return DP_OK;
}

/* a stream copied into a mapped temporary file */
static int spool_stream(struct dp_src *s, struct dp_error *err)
{
	struct decoded_pull p = { s, 0 };
	struct dp_view v;
	int rc = dp_spool(pull_decoded, &p, &v, err);
	if (rc)
		return rc;
	dp_stream_free(s->stream);
	s->stream = NULL;
	dp_view_free(&s->view);
	if (s->fd >= 0)
		close(s->fd);
	s->view = v;
	s->fd = v.own_fd; /* the source owns it now */
	s->view.own_fd = -1;
	s->view.fd = s->fd;
	s->spooled = true;
	s->spool_size = v.size;
	return use_view(s, err);
}

static int open_path(struct dp_dump *d, const char *path, enum dp_codec_kind force, struct dp_error *err)
{
	struct dp_src *s = &d->src;
	uint64_t size;
	bool regular;
	uint8_t head[PEEK];
	size_t nhead;
	int rc = dp_file_open(path, &s->fd, &size, &regular, err);
	if (rc)
		return rc;
	s->stored_size = size;
	s->size = size;
	dp_view_plain(&s->view, d->path, NULL, 0, -1);
	if (regular && size == 0)
		return DP_OK; /* empty: probing reports it */
	if (regular) {
		const uint8_t *m;
		if ((rc = dp_file_map(s->fd, size, &m, err)))
			return rc;
		dp_view_plain(&s->view, d->path, m, size, s->fd);
		s->view.own_map = (void *)(uintptr_t)m;
		s->view.own_len = (size_t)size;
		if ((rc = use_view(s, err)))
			return rc;
		nhead = dp_view_size(&s->view) < PEEK ? (size_t)dp_view_size(&s->view) : PEEK;
		dp_view_head(&s->view, head, nhead);
	} else {
		/* a pipe: its first bytes are taken to pick a decoder, and given again */
		if (!(s->prefix = malloc(PEEK)))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		while (s->nprefix < PEEK) {
			ssize_t n = dp_file_read(s->fd, s->prefix + s->nprefix, PEEK - s->nprefix, err);
			if (n < 0)
				return err->status;
			if (n == 0)
				break;
			s->nprefix += (size_t)n;
		}
		nhead = s->nprefix;
		memcpy(head, s->prefix, nhead);
	}
	enum dp_codec_kind kind = force != DP_CODEC_NONE ? force : dp_codec_detect(head, nhead);
	if (regular && kind == DP_CODEC_NONE) {
		/* its pages are read from the file itself: around the page cache? */
		dp_view_direct(&s->view, d->opt.direct);
		return DP_OK;
	}
	if ((rc = start_stream(s, kind, err)))
		return rc;
	/* a flattened file inside the compression, or piped: its records must be indexed */
	uint8_t m[DP_FLAT_MAGIC_LEN];
	size_t n = dp_src_head(d, m, sizeof m, err);
	if (n == (size_t)-1)
		return err->status;
	if (dp_flat_magic(m, n))
		return spool_stream(s, err);
	return DP_OK;
}

int dp_src_open(struct dp_dump *d, struct dp_error *err)
{
	return open_path(d, d->path, DP_CODEC_NONE, err);
}

void dp_src_close(struct dp_dump *d)
{
	struct dp_src *s = &d->src;
	dp_stream_free(s->stream);
	dp_view_free(&s->view);
	free(s->keep);
	free(s->prefix);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->view.fd = s->view.own_fd = -1;
}

int dp_src_switch(struct dp_dump *d, const char *path, struct dp_error *err)
{
	/* the dump's own file read again keeps the codec it was found to need */
	enum dp_codec_kind force =
		strcmp(path, d->path) == 0 && d->src.codec == DP_CODEC_ZLIB ? DP_CODEC_ZLIB : DP_CODEC_NONE;
	dp_src_close(d);
	int rc = open_path(d, path, force, err);
	if (rc)
		return rc;
	d->info.compression = dp_src_compression(d);
	d->info.file_size = d->src.stored_size;
	d->info.sequential = !dp_src_random(d);
	return DP_OK;
}

int dp_src_retry_zlib(struct dp_dump *d, struct dp_error *err)
{
	struct dp_src *s = &d->src;
	uint8_t h[2];
	size_t n = dp_src_head(d, h, sizeof h, err);
	if (n == (size_t)-1 || s->codec != DP_CODEC_NONE || !dp_codec_zlib_header(h, n) || s->view.flat)
		return DP_E_UNKNOWN;
	if (!s->view.map) {
		/* a pipe: what was taken from it so far is in the kept head, the
		 * rest of the first bytes still in the prefix */
		if (s->pos != s->nkeep)
			return DP_E_UNKNOWN;
		size_t rest = s->nprefix - s->prefix_pos;
		uint8_t *p = malloc(s->nkeep + rest ? s->nkeep + rest : 1);
		if (!p)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		memcpy(p, s->keep, s->nkeep);
		memcpy(p + s->nkeep, s->prefix + s->prefix_pos, rest);
		free(s->prefix);
		s->prefix = p;
		s->nprefix = s->nkeep + rest;
		s->prefix_pos = 0;
	}
	return start_stream(s, DP_CODEC_ZLIB, err);
}

int dp_src_make_random(struct dp_dump *d, bool in_place, struct dp_error *err)
{
	struct dp_src *s = &d->src;
	if (s->stream)
		return spool_stream(s, err);
	if (!s->view.flat || in_place)
		return DP_OK;
	struct dp_view v;
	int rc = dp_spool_flat(&s->view, &v, err);
	if (rc)
		return rc;
	dp_view_free(&s->view);
	close(s->fd);
	s->view = v;
	s->fd = v.own_fd;
	s->view.own_fd = -1;
	s->view.fd = s->fd;
	s->spooled = true;
	s->spool_size = v.size;
	s->map = v.map;
	s->size = v.size;
	return DP_OK;
}

size_t dp_src_head(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err)
{
	struct dp_src *s = &d->src;
	if (!s->stream) {
		uint64_t size = s->view.map ? dp_view_size(&s->view) : 0;
		size_t n = size < len ? (size_t)size : len;
		if (n)
			dp_view_head(&s->view, buf, n);
		return n;
	}
	if (s->nkeep < len && s->pos == s->nkeep && consume(s, NULL, len - s->nkeep, err) < 0)
		return (size_t)-1;
	size_t n = s->nkeep < len ? s->nkeep : len;
	memcpy(buf, s->keep, n);
	return n;
}

static int truncated(struct dp_error *err, uint64_t size, uint64_t off, uint64_t len, const char *what)
{
	return dp_fail(err, DP_E_TRUNCATED, (int64_t)(off > size ? size : off),
		       "%s: file ends at byte %llu but %llu bytes are needed from offset %llu", what,
		       (unsigned long long)size, (unsigned long long)len, (unsigned long long)off);
}

const uint8_t *dp_src_ptr(struct dp_dump *d, uint64_t off, uint64_t len, const char *what,
			  struct dp_error *err)
{
	uint64_t end;
	if (d->src.view.flat)
		return dp_view_get(&d->src.view, off, len, NULL, what, err);
	if (!d->src.map) {
		dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "%s: input is not mapped", what);
		return NULL;
	}
	if (dp_add_overflows(off, len, &end) || end > d->src.size) {
		truncated(err, d->src.size, off, len, what);
		return NULL;
	}
	return d->src.map + off;
}

int dp_src_read(struct dp_dump *d, uint64_t off, void *buf, size_t len, const char *what,
		struct dp_error *err)
{
	struct dp_src *s = &d->src;
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return truncated(err, s->size, off, len, what);
	if (s->view.flat)
		return dp_view_read(&s->view, off, buf, len, what, err);
	if (s->map || s->size == 0) {
		if (end > s->size)
			return truncated(err, s->size, off, len, what);
		memcpy(buf, s->map + off, len);
		return DP_OK;
	}
	if (end <= s->nkeep) {
		memcpy(buf, s->keep + off, len);
		return DP_OK;
	}
	if (off < s->pos) {
		/* part of it may still be in the kept head */
		if (off < s->nkeep && s->nkeep == s->pos) {
			size_t k = s->nkeep - (size_t)off;
			memcpy(buf, s->keep + off, k);
			return dp_src_read(d, s->pos, (uint8_t *)buf + k, len - k, what, err);
		}
		return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)off,
			       "%s: this layout must be read out of order, which a compressed or piped "
			       "input cannot do; decompress it to a file first", what);
	}
	if (off > s->pos) {
		ssize_t n = consume(s, NULL, (size_t)(off - s->pos), err);
		if (n < 0)
			return err->status;
		if (s->pos < off)
			return truncated(err, s->pos, off, len, what);
	}
	ssize_t n = consume(s, buf, len, err);
	if (n < 0)
		return err->status;
	if ((size_t)n < len)
		return truncated(err, s->pos, off, len, what);
	return DP_OK;
}
