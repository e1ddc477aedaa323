/*
 * Input sources.  A regular, uncompressed file is mapped whole and read at
 * random.  Anything else — a pipe, standard input, a gzip, zstd, bzip2, xz or
 * lzop file (the last three through dp_codec.c) — is a
 * stream: decoded front to back, with the first DP_STREAM_KEEP bytes kept so
 * that headers can be read again.  Whole-file compression is recognised by
 * its magic, never by the file name.  A bare zlib stream (LiME compress=1)
 * has only a two-byte header that raw memory could match by chance, so it
 * is taken for compression only when its first decoded bytes are a LiME or
 * AVML range header.
 */
#include "dp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum { CODEC_NONE, CODEC_GZIP, CODEC_ZSTD, CODEC_ZLIB, CODEC_EXT /* bzip2, xz, lzop: dp_codec.c */ };

#define IN_BUF (1u << 20)

struct dp_stream {
	int codec;
	uint8_t *in;             /* raw bytes from fd */
	size_t in_len, in_pos;
	int in_eof;
	z_stream zs;
	int zs_live;
	int z_member_done;
	ZSTD_DStream *zd;
	int zd_frame_end;        /* the last zstd call finished a frame */
	struct dp_codec *ext;    /* CODEC_EXT */
	enum dp_codec_kind ext_kind;
	uint64_t pos;            /* decoded bytes consumed so far */
	uint64_t raw_read;       /* bytes read from fd */
	int eof;                 /* decoder has no more output */
	uint8_t *keep;           /* decoded bytes [0, nkeep) */
	size_t nkeep;
	uint8_t *pend;           /* decoded, not yet consumed (for plain streams: none) */
	size_t pend_len, pend_pos;
};

bool dp_src_random(const struct dp_dump *d) { return d->src.map != NULL; }

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

void dp_src_prefault(const uint8_t *p, size_t len)
{
	/* Map a range's page-cache pages in one call instead of taking a
	 * fault every few pages; older kernels refuse the advice, and then
	 * the faults happen as before. */
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	size_t l = len + (size_t)((uintptr_t)p - a);
	madvise((void *)a, l, MADV_POPULATE_READ);
}

void dp_src_release(const uint8_t *p, size_t len)
{
	/* Once read, mapped pages need not stay mapped: without this a
	 * process that read a 64 GiB dump would show 64 GiB resident.  Only
	 * whole pages inside the range are dropped (neighbours may be in use). */
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t b = ((uintptr_t)p + len) & ~(uintptr_t)4095;
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int dp_src_pread(struct dp_dump *d, uint64_t off, uint8_t *buf, size_t len, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end) || end > d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)off, "page data: %zu bytes at offset %llu lie past the end",
			       len, (unsigned long long)off);
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(d->src.fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dp_fail(err, n < 0 ? DP_E_IO : DP_E_TRUNCATED, (int64_t)(off + done), "page data: %s",
				       n < 0 ? strerror(errno) : "the file shrank while it was read");
		done += (size_t)n;
	}
	return DP_OK;
}

const char *dp_src_compression(const struct dp_dump *d)
{
	if (!d->src.stream)
		return NULL;
	switch (d->src.stream->codec) {
	case CODEC_GZIP: return "gzip";
	case CODEC_ZSTD: return "zstd";
	case CODEC_ZLIB: return "zlib";
	case CODEC_EXT: return dp_codec_name(d->src.stream->ext_kind);
	}
	return NULL;
}

static int io_fail(struct dp_dump *d, struct dp_error *err, const char *what)
{
	(void)d;
	return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "%s: %s", what, strerror(errno));
}

/* Fill the raw input buffer; 0 on success (possibly at EOF), else error. */
static int fill_in(struct dp_dump *d, struct dp_error *err)
{
	struct dp_stream *s = d->src.stream;
	if (s->in_pos < s->in_len || s->in_eof)
		return DP_OK;
	for (;;) {
		ssize_t n = read(d->src.fd, s->in, IN_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_fail(d, err, "read");
		s->in_len = (size_t)n;
		s->in_pos = 0;
		s->raw_read += (uint64_t)n;
		if (n == 0)
			s->in_eof = 1;
		return DP_OK;
	}
}

/* Decode up to len bytes into buf; returns bytes produced (0 = end), or -1. */
static ssize_t decode(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err)
{
	struct dp_stream *s = d->src.stream;
	size_t got = 0;

	while (got < len && !s->eof) {
		if (fill_in(d, err))
			return -1;
		size_t avail = s->in_len - s->in_pos;
		if (s->codec == CODEC_NONE) {
			if (avail == 0) {
				s->eof = 1;
				break;
			}
			size_t n = avail < len - got ? avail : len - got;
			memcpy(buf + got, s->in + s->in_pos, n);
			s->in_pos += n;
			got += n;
		} else if (s->codec == CODEC_EXT) {
			size_t used = 0, made = 0;
			int rc = dp_codec_run(s->ext, s->in + s->in_pos, avail, s->in_eof != 0, &used, buf + got,
					      len - got, &made, err);
			s->in_pos += used;
			got += made;
			if (rc == DP_END)
				s->eof = 1;
			else if (rc)
				return -1;
		} else if (s->codec == CODEC_GZIP || s->codec == CODEC_ZLIB) {
			const char *cn = s->codec == CODEC_GZIP ? "gzip" : "zlib";
			if (s->z_member_done && s->codec == CODEC_ZLIB) {
				s->eof = 1; /* one stream; bytes after it are not read */
				break;
			}
			if (s->z_member_done) {
				/* another gzip member may follow (concatenated .gz files) */
				if (avail == 0) {
					s->eof = 1;
					break;
				}
				if (inflateReset(&s->zs) != Z_OK)
					return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "gzip: cannot restart"), -1;
				s->z_member_done = 0;
			}
			if (avail == 0) {
				dp_fail(err, DP_E_TRUNCATED, (int64_t)s->raw_read,
					"%s stream ends before its end marker", cn);
				return -1;
			}
			s->zs.next_in = s->in + s->in_pos;
			s->zs.avail_in = (uInt)(avail > UINT32_MAX ? UINT32_MAX : avail);
			s->zs.next_out = buf + got;
			s->zs.avail_out = (uInt)(len - got > UINT32_MAX ? UINT32_MAX : len - got);
			uInt before_out = s->zs.avail_out;
			uInt before_in = s->zs.avail_in;
			int zr = inflate(&s->zs, Z_NO_FLUSH);
			s->in_pos += before_in - s->zs.avail_in;
			got += before_out - s->zs.avail_out;
			if (zr == Z_STREAM_END)
				s->z_member_done = 1;
			else if (zr != Z_OK && zr != Z_BUF_ERROR) {
				dp_fail(err, DP_E_CORRUPT,
					(int64_t)(s->raw_read - (s->in_len - s->in_pos)),
					"%s data is corrupt: %s", cn, s->zs.msg ? s->zs.msg : "inflate failed");
				return -1;
			}
		} else {
			if (avail == 0 && s->zd_frame_end) {
				/* a called-again decoder would wait for the next frame's header */
				s->eof = 1;
				break;
			}
			if (avail == 0) {
				/* ZSTD_decompressStream may still hold output */
				ZSTD_inBuffer zin = { s->in, 0, 0 };
				ZSTD_outBuffer zout = { buf + got, len - got, 0 };
				size_t zr = ZSTD_decompressStream(s->zd, &zout, &zin);
				if (ZSTD_isError(zr)) {
					dp_fail(err, DP_E_CORRUPT, (int64_t)s->raw_read, "zstd data is corrupt: %s",
						ZSTD_getErrorName(zr));
					return -1;
				}
				got += zout.pos;
				s->zd_frame_end = zr == 0;
				if (zout.pos == 0) {
					if (zr != 0) {
						dp_fail(err, DP_E_TRUNCATED, (int64_t)s->raw_read,
							"zstd stream ends inside a frame");
						return -1;
					}
					s->eof = 1;
				}
				continue;
			}
			ZSTD_inBuffer zin = { s->in + s->in_pos, avail, 0 };
			ZSTD_outBuffer zout = { buf + got, len - got, 0 };
			size_t zr = ZSTD_decompressStream(s->zd, &zout, &zin);
			if (ZSTD_isError(zr)) {
				dp_fail(err, DP_E_CORRUPT, (int64_t)(s->raw_read - (s->in_len - s->in_pos)),
					"zstd data is corrupt: %s", ZSTD_getErrorName(zr));
				return -1;
			}
			s->in_pos += zin.pos;
			got += zout.pos;
			s->zd_frame_end = zr == 0;
		}
	}
	return (ssize_t)got;
}

/* Consume len decoded bytes into buf (buf may be NULL to skip); returns the
 * number of bytes consumed (< len only at end of stream) or -1. */
static ssize_t consume(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err)
{
	struct dp_stream *s = d->src.stream;
	uint8_t scratch[65536];
	size_t done = 0;

	while (done < len) {
		size_t want = len - done;
		uint8_t *dst;
		if (buf)
			dst = buf + done;
		else {
			dst = scratch;
			if (want > sizeof scratch)
				want = sizeof scratch;
		}
		ssize_t n = decode(d, dst, want, err);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (s->pos < DP_STREAM_KEEP) {
			size_t k = DP_STREAM_KEEP - s->pos;
			if (k > (size_t)n)
				k = (size_t)n;
			memcpy(s->keep + s->nkeep, dst, k);
			s->nkeep += k;
		}
		s->pos += (uint64_t)n;
		done += (size_t)n;
	}
	if (done < len && s->eof)
		d->src.size = s->pos;
	return (ssize_t)done;
}

/* A zlib header (RFC 1950) whose stream starts with a LiME/AVML header. */
static bool zlib_lime(const uint8_t *p, size_t n)
{
	if (n < 2 || (p[0] & 0x0f) != 8 || (p[0] >> 4) > 7 || ((unsigned)p[0] << 8 | p[1]) % 31 ||
	    (p[1] & 0x20))
		return false;
	uint8_t out[8];
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return false;
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = sizeof out;
	int zr = inflate(&z, Z_SYNC_FLUSH);
	size_t got = sizeof out - z.avail_out;
	inflateEnd(&z);
	if ((zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) || got < 8)
		return false;
	uint32_t m = dp_le32(out), v = dp_le32(out + 4);
	return (m == 0x4C694D45u && v == 1) || (m == 0x4C4D5641u && v == 2) ||
	       (dp_be32(out) == 0x4C694D45u && dp_be32(out + 4) == 1);
}

#define ZLIB_PEEK 4096u

static int open_path(struct dp_dump *d, const char *path, struct dp_error *err)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = dup(0);
		if (fd < 0)
			return io_fail(d, err, "standard input");
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot open: %s", strerror(errno));
	}
	d->src.fd = fd;
	if (fstat(fd, &st) < 0)
		return io_fail(d, err, "stat");
	if (S_ISDIR(st.st_mode))
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "is a directory, not a dump file");
	d->src.size = UINT64_MAX;
	d->src.stored_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;

	if (S_ISREG(st.st_mode)) {
		uint8_t m[ZLIB_PEEK] = { 0 };
		ssize_t n = pread(fd, m, sizeof m, 0);
		if (n < 0)
			return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot read: %s", strerror(errno));
		bool gz = n >= 2 && m[0] == 0x1f && m[1] == 0x8b;
		bool zst = n >= 4 && dp_le32(m) == 0xFD2FB528u;
		bool zl = !gz && !zst && zlib_lime(m, (size_t)n);
		enum dp_codec_kind ek = dp_codec_detect(m, (size_t)n);
		bool ext = ek == DP_CODEC_BZIP2 || ek == DP_CODEC_XZ || ek == DP_CODEC_LZOP;
		if (!gz && !zst && !zl && !ext) {
			d->src.size = (uint64_t)st.st_size;
			if (st.st_size == 0)
				return DP_OK; /* empty: probing reports it */
			if ((uint64_t)st.st_size > SIZE_MAX)
				return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "file too large to map");
			void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED)
				return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot map: %s", strerror(errno));
			madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
			d->src.map = p;
			return DP_OK;
		}
	}

	struct dp_stream *s = calloc(1, sizeof *s);
	if (!s)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->src.stream = s;
	s->in = malloc(IN_BUF);
	s->keep = malloc(DP_STREAM_KEEP);
	if (!s->in || !s->keep)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");

	/* Peek at the raw magic to pick a decoder. */
	while (s->in_len < ZLIB_PEEK && !s->in_eof) {
		ssize_t n = read(fd, s->in + s->in_len, IN_BUF - s->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_fail(d, err, "read");
		if (n == 0)
			s->in_eof = 1;
		s->in_len += (size_t)n;
		s->raw_read += (uint64_t)n;
	}
	if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->codec = CODEC_GZIP;
		if (inflateInit2(&s->zs, 15 + 16) != Z_OK)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "zlib: cannot initialise");
		s->zs_live = 1;
	} else if (s->in_len >= 4 && dp_le32(s->in) == 0xFD2FB528u) {
		s->codec = CODEC_ZSTD;
		s->zd = ZSTD_createDStream();
		if (!s->zd)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "zstd: cannot initialise");
	} else if (dp_codec_detect(s->in, s->in_len) == DP_CODEC_BZIP2 ||
		   dp_codec_detect(s->in, s->in_len) == DP_CODEC_XZ ||
		   dp_codec_detect(s->in, s->in_len) == DP_CODEC_LZOP) {
		s->codec = CODEC_EXT;
		s->ext_kind = dp_codec_detect(s->in, s->in_len);
		int rc = dp_codec_new(s->ext_kind, 0, &s->ext, err);
		if (rc)
			return rc;
	} else if (zlib_lime(s->in, s->in_len)) {
		s->codec = CODEC_ZLIB;
		if (inflateInit(&s->zs) != Z_OK)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "zlib: cannot initialise");
		s->zs_live = 1;
	}
	return DP_OK;
}

int dp_src_open(struct dp_dump *d, struct dp_error *err)
{
	return open_path(d, d->path, err);
}

int dp_src_switch(struct dp_dump *d, const char *path, struct dp_error *err)
{
	dp_src_close(d);
	memset(&d->src, 0, sizeof d->src);
	d->src.fd = -1;
	int rc = open_path(d, path, err);
	if (rc)
		return rc;
	d->info.compression = dp_src_compression(d);
	d->info.file_size = d->src.stored_size;
	d->info.sequential = !dp_src_random(d);
	return DP_OK;
}

void dp_src_close(struct dp_dump *d)
{
	if (d->src.map)
		munmap((void *)(uintptr_t)d->src.map, (size_t)d->src.size);
	struct dp_stream *s = d->src.stream;
	if (s) {
		if (s->zs_live)
			inflateEnd(&s->zs);
		ZSTD_freeDStream(s->zd);
		dp_codec_free(s->ext);
		free(s->in);
		free(s->keep);
		free(s);
	}
	if (d->src.fd >= 0)
		close(d->src.fd);
}

size_t dp_src_head(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err)
{
	if (d->src.map || d->src.size == 0) {
		size_t n = d->src.size < len ? (size_t)d->src.size : len;
		if (n)
			memcpy(buf, d->src.map, n);
		return n;
	}
	struct dp_stream *s = d->src.stream;
	if (s->nkeep < len && consume(d, NULL, len - s->nkeep, err) < 0)
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
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return truncated(err, d->src.size, off, len, what);
	if (d->src.map || d->src.size == 0) {
		if (end > d->src.size)
			return truncated(err, d->src.size, off, len, what);
		memcpy(buf, d->src.map + off, len);
		return DP_OK;
	}
	struct dp_stream *s = d->src.stream;
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
		ssize_t n = consume(d, NULL, (size_t)(off - s->pos), err);
		if (n < 0)
			return err->status;
		if (s->pos < off)
			return truncated(err, s->pos, off, len, what);
	}
	ssize_t n = consume(d, buf, len, err);
	if (n < 0)
		return err->status;
	if ((size_t)n < len)
		return truncated(err, s->pos, off, len, what);
	return DP_OK;
}
