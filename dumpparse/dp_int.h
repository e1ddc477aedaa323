/*
 * Internal interface between the dumpparse core and its format back ends.
 * Not installed, not used outside dumpparse/.
 */
#ifndef DP_INT_H
#define DP_INT_H

#include "dumpparse.h"

#include <stdarg.h>
#include <stdbool.h>

#define DP_PROBE_BYTES 4096u          /* bytes of the file every probe sees */
#define DP_UNIT_PAGES 256u            /* frames per work unit: 1 MiB of 4 KiB pages, cache-sized */
#define DP_STREAM_KEEP (4u << 20)     /* first bytes of a stream kept for header re-reads */

enum dp_probe {
	DP_PROBE_NO = 0,   /* not mine */
	DP_PROBE_YES,      /* mine: open it */
};

struct dp_dump;
struct dp_reader;

/* One back end.  Conventions: a .c file per format, everything static but
 * its `const struct dp_format_ops <name>_ops`, listed in dp_formats.c. */
struct dp_format_ops {
	const char *name;
	const char *description;
	/* NULL for recognise-only entries (open then reports "not supported yet"). */
	enum dp_probe (*probe)(const uint8_t *head, size_t len, const char *path);
	/* Parse headers, fill d->info (format, variant, counts) and either call
	 * dp_map_* (linear layouts, then read_unit/read_next may stay NULL) or set
	 * d->nunits and provide read_unit/read_next of its own. */
	int (*open)(struct dp_dump *d, struct dp_error *err);
	void (*close)(struct dp_dump *d);
	int (*reader_open)(struct dp_reader *r, struct dp_error *err);
	void (*reader_close)(struct dp_reader *r);
	int (*read_unit)(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err);
	int (*read_next)(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err);
};

extern const struct dp_format_ops *const dp_formats[];
extern const size_t dp_nformats;

/* ---- input source: a mapped file, or a stream (pipe, gzip, zstd) ---- */
struct dp_stream;

struct dp_src {
	int fd;
	uint64_t size;            /* file size; for streams: the decoded size once known, else UINT64_MAX */
	uint64_t stored_size;     /* size of the file on disk */
	const uint8_t *map;       /* whole file mapped: random access */
	struct dp_stream *stream; /* else: sequential */
};

/* ---- linear layouts: (guest-physical byte range -> file bytes) ---- */
struct dp_map_piece {
	uint64_t paddr, len;
	uint64_t off;             /* UINT64_MAX: absent */
};

struct dp_extent {
	uint64_t pfn, npages;
	uint64_t off;             /* DATA: file offset of the first frame */
	uint32_t first_piece;     /* ASSEMBLED: pieces[first_piece .. +npieces) */
	uint32_t npieces;
	uint8_t kind;             /* DP_EXT_* */
};

enum { DP_EXT_DATA, DP_EXT_ABSENT, DP_EXT_ASSEMBLED };

struct dp_dump {
	char *path;
	struct dp_options opt;
	const struct dp_format_ops *ops;
	struct dp_info info;
	struct dp_src src;
	void *priv;               /* the back end's */

	/* what dp_info points to */
	struct dp_range *ranges;
	size_t nranges, cap_ranges;
	struct dp_detail *details;
	size_t ndetails, cap_details;
	char **warnings;
	size_t nwarnings, cap_warnings;
	char variant_buf[256];

	/* linear layout (dp_map_*) */
	struct dp_map_piece *in;
	size_t nin, cap_in;
	struct dp_map_piece *pieces;      /* pieces of assembled frames, frame-relative paddr */
	size_t npieces, cap_pieces;
	struct dp_extent *ext;
	size_t next, cap_ext;
	/* units, derived rather than stored (a stream's headers may declare far
	 * more memory than it holds): extents in read order, and the number of
	 * units before each; an absent extent is one unit, a data extent one per
	 * DP_UNIT_PAGES frames */
	uint32_t *uorder;
	uint64_t *ustart;                 /* next + 1 entries */
	size_t nunits;
	bool mapped;                      /* dp_map_finish ran */

	/* dp_read_next position, and its first error (returned again after it) */
	size_t next_unit;
	bool next_failed;
	struct dp_error next_err;
};

struct dp_reader {
	struct dp_dump *d;
	uint8_t *buf;
	size_t bufcap;
	uint8_t *state;
	size_t statecap;
	uint64_t *pfns;
	size_t pfncap;
	void *priv;               /* the back end's */
};

/* growable arrays: 0 on success, -1 when out of memory */
int dp_grow(void **p, size_t *cap, size_t need, size_t elem);


/* reading the input; both check bounds and report truncation with offsets */
int dp_src_read(struct dp_dump *d, uint64_t off, void *buf, size_t len, const char *what,
		struct dp_error *err);
/* random access only: pointer into the mapping, NULL (with err) if out of bounds */
const uint8_t *dp_src_ptr(struct dp_dump *d, uint64_t off, uint64_t len, const char *what,
			  struct dp_error *err);
bool dp_src_random(const struct dp_dump *d);
/* mapped input: make [p, p+len) resident before it is read */
void dp_src_prefault(const uint8_t *p, size_t len);
/* mapped input: drop [p, p+len) from this process (the page cache keeps it) */
void dp_src_release(const uint8_t *p, size_t len);
/* regular files: read [off, off+len) with pread (thread-safe), bounds checked */
int dp_src_pread(struct dp_dump *d, uint64_t off, uint8_t *buf, size_t len, struct dp_error *err);
/* Replace the input by another file (a companion that holds the memory, such
 * as a VMware .vmem): the old source is closed, offsets then refer to the new
 * file, and d->info.compression / file_size / sequential are updated. */
int dp_src_switch(struct dp_dump *d, const char *path, struct dp_error *err);

/* info helpers */
int dp_add_detail(struct dp_dump *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dp_add_warning(struct dp_dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dp_set_variant(struct dp_dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* reader scratch space */
uint8_t *dp_reader_buf(struct dp_reader *r, size_t len, struct dp_error *err);
uint8_t *dp_reader_states(struct dp_reader *r, size_t n, struct dp_error *err);
uint64_t *dp_reader_pfns(struct dp_reader *r, size_t n, struct dp_error *err);

/* Linear layouts.  Add pieces in priority order: where two pieces cover the
 * same guest bytes the first one added wins (later duplicates are dropped). */
int dp_map_add(struct dp_dump *d, uint64_t paddr, uint64_t len, uint64_t off, struct dp_error *err);
int dp_map_add_absent(struct dp_dump *d, uint64_t paddr, uint64_t len, struct dp_error *err);
/* Pieces in priority order -> disjoint pieces sorted by address (*outp,
 * freed by the caller); where pieces cover the same bytes the earlier one
 * wins and *dropped counts the bytes described again.  Offsets of cut
 * pieces move with them; absent pieces (off UINT64_MAX) stay absent. */
int dp_disjoint(const struct dp_map_piece *in, size_t n, struct dp_map_piece **outp, size_t *nout,
		uint64_t *dropped, struct dp_error *err);
/* Resolve overlaps, split into frames and units, fill info counts and ranges.
 * Checks every data piece against the file size when it is known. */
int dp_map_finish(struct dp_dump *d, struct dp_error *err);

/* core internals shared between dp_core.c, dp_source.c and dp_map.c */
int dp_src_open(struct dp_dump *d, struct dp_error *err);
void dp_src_close(struct dp_dump *d);
size_t dp_src_head(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err);
const char *dp_src_compression(const struct dp_dump *d);
void dp_map_free(struct dp_dump *d);
/* Unit `unit` of a finished layout (unit < nunits): its extent, and the
 * frames [first, first + npages) of that extent it covers. */
const struct dp_extent *dp_map_unit(const struct dp_dump *d, size_t unit, uint64_t *first, uint64_t *npages);
int dp_map_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err);

/* ---- stream decompressors (dp_codec.c): compressed data inside a file ---- */
enum dp_codec_kind { DP_CODEC_NONE = 0, DP_CODEC_GZIP, DP_CODEC_BZIP2, DP_CODEC_XZ, DP_CODEC_LZOP, DP_CODEC_ZSTD };
struct dp_codec;
/* by magic; DP_CODEC_NONE when none matches */
enum dp_codec_kind dp_codec_detect(const uint8_t *p, size_t n);
const char *dp_codec_name(enum dp_codec_kind k);
/* base: file offset of the first compressed byte (for error offsets) */
int dp_codec_new(enum dp_codec_kind kind, uint64_t base, struct dp_codec **out, struct dp_error *err);
void dp_codec_free(struct dp_codec *c);
/* Decode from in[0, inlen) into out[0, outcap); *inused and *outlen say how
 * much was consumed and produced.  in_end: no more input follows.  Returns
 * DP_OK, DP_END when the compressed data has ended and nothing more comes
 * out, or an error (truncation only when in_end). */
int dp_codec_run(struct dp_codec *c, const uint8_t *in, size_t inlen, bool in_end, size_t *inused,
		 uint8_t *out, size_t outcap, size_t *outlen, struct dp_error *err);

/* overflow-safe helpers */
static inline bool dp_add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

static inline uint16_t dp_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t dp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t dp_le64(const uint8_t *p) { return dp_le32(p) | (uint64_t)dp_le32(p + 4) << 32; }
static inline uint16_t dp_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t dp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t dp_be64(const uint8_t *p) { return (uint64_t)dp_be32(p) << 32 | dp_be32(p + 4); }

#endif
