/*
 * Internal interface between the dumpparse core and its format back ends.
 * Not installed, not used outside dumpparse/.
 */
#ifndef DP_INT_H
#define DP_INT_H

#include "dumpparse.h"

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#define DP_PROBE_BYTES 4096u          /* bytes of the file every probe sees */
#define DP_UNIT_PAGES 256u            /* frames per work unit: 1 MiB of 4 KiB pages, cache-sized */
#define DP_STREAM_KEEP (4u << 20)     /* first bytes of a stream kept for header re-reads */

enum dp_probe {
	DP_PROBE_NO = 0,   /* not mine */
	DP_PROBE_YES,      /* mine: open it */
};

struct dp_dump;
struct dp_reader;

/*
 * One back end.  Conventions: a format is one .c file (or a few, sharing a
 * <name>_int.h) with everything static but its `const struct dp_format_ops
 * <name>_ops`, listed once in dp_formats.c (the probe order).
 *
 * Life of a dump: dp_open opens the byte stack (d->src), gives every probe
 * the first DP_PROBE_BYTES decoded bytes, spools the input when the chosen
 * back end needs random access, then calls open.  Readers (one per thread)
 * are opened with reader_open and read with read_unit or read_next.  On any
 * failure, and at dp_close, close is called (also after a failed open), so
 * open may leave half-built state in d->priv for close to free.
 *
 * Errors: every member that can fail returns DP_OK or a dp_status and fills
 * err (dp_fail: status, file offset or DP_NO_OFFSET, message without the file
 * name).  Context ("kdump sub header: ...") is added with dp_err_context.
 */
struct dp_format_ops {
	/* Short name (dp_info.format, --format=NAME) and one line for --help.
	 * Static strings. */
	const char *name;
	const char *description;
	/* Whether head (len bytes, len <= DP_PROBE_BYTES, len > 0: the start
	 * of the decoded, unflattened input) is this format; path is the name
	 * given (may be "-"), for formats that need a companion file.  Must
	 * not read anything else, allocate or fail.  NULL: never probed
	 * (recognise-only entries, or entries chosen only by name). */
	enum dp_probe (*probe)(const uint8_t *head, size_t len, const char *path);
	/* Parse the headers of d->src and describe the dump: set d->info
	 * (variant, page_size, counts; format and compression are preset) and
	 * add details and warnings (dp_add_detail/dp_add_warning, which copy).
	 * Then either lay out the pages with dp_map_add* + dp_map_finish (read_unit
	 * and read_next may stay NULL: dp_map_read_unit serves them), or set
	 * d->info.nunits (random access) / d->info.sequential and provide
	 * read_unit / read_next.  Back-end state goes in d->priv, owned by the
	 * back end until close.  NULL: recognised only ("not supported yet"). */
	int (*open)(struct dp_dump *d, struct dp_error *err);
	/* Free d->priv (may be half built after a failed open; may be NULL).
	 * Must not fail.  NULL: nothing to free. */
	void (*close)(struct dp_dump *d);
	/* Per-reader state in r->priv (scratch buffers, decoder contexts),
	 * owned by the back end until reader_close; never shared between
	 * threads.  NULL: none needed.  reader_close is called only after a
	 * successful reader_open, and must free r->priv. */
	int (*reader_open)(struct dp_reader *r, struct dp_error *err);
	void (*reader_close)(struct dp_reader *r);
	/* Random access: fill c with unit `unit` (< d->info.nunits), from any
	 * thread on its own reader.  c->data/state/pfns point into the reader's
	 * scratch (dp_reader_buf/states/pfns) or the mapping, valid until the
	 * next read on r.  Returns DP_OK or an error.  NULL: dp_map_read_unit. */
	int (*read_unit)(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err);
	/* Sequential: the next unit in dump order into c (same ownership as
	 * read_unit); DP_END after the last.  The caller serialises calls on a
	 * dump; after an error the core repeats it without calling again.
	 * NULL: read_unit (or dp_map_read_unit) in unit order. */
	int (*read_next)(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err);
	/* The layout must be read out of order: a stream (pipe, whole-file
	 * compression) is first copied to a temporary file by the spool layer. */
	bool random_only;
	/* Reads a flattened input in place through d->src.view (its own record
	 * map); otherwise a flattened input is spooled into a plain copy first. */
	bool flat_in_place;
};

extern const struct dp_format_ops *const dp_formats[];
extern const size_t dp_nformats;

/* A raw-byte supplier: up to cap bytes into buf; the count (0 at the end)
 * or -1 with err set. */
typedef ssize_t (*dp_pull_fn)(void *ctx, uint8_t *buf, size_t cap, struct dp_error *err);

/* ---- the codec layer (dp_codec.c): compressed data, a whole file or inside one ----
 * One decoder per codec, used for whole files (dp_stream.c) and for
 * compressed payloads inside a format (libvirt save images). */
enum dp_codec_kind {
	DP_CODEC_NONE = 0, DP_CODEC_GZIP, DP_CODEC_BZIP2, DP_CODEC_XZ, DP_CODEC_LZOP, DP_CODEC_ZSTD,
	DP_CODEC_ZLIB,    /* a bare RFC 1950 stream: never detected by magic (two bytes are too weak) */
};
struct dp_codec;
/* by magic; DP_CODEC_NONE when none matches */
enum dp_codec_kind dp_codec_detect(const uint8_t *p, size_t n);
/* whether p can start a bare zlib stream (header check bits, no preset dictionary) */
bool dp_codec_zlib_header(const uint8_t *p, size_t n);
const char *dp_codec_name(enum dp_codec_kind k);
/* base: file offset of the first compressed byte (for error offsets);
 * whole: the compressed data is the whole file (a cut reads "<codec>
 * stream ends before its end marker" rather than naming a payload) */
int dp_codec_new(enum dp_codec_kind kind, uint64_t base, bool whole, struct dp_codec **out, struct dp_error *err);
void dp_codec_free(struct dp_codec *c);
/* Decode from in[0, inlen) into out[0, outcap); *inused and *outlen say how
 * much was consumed and produced.  in_end: no more input follows.  Returns
 * DP_OK, DP_END when the compressed data has ended and nothing more comes
 * out, or an error (truncation only when in_end). */
int dp_codec_run(struct dp_codec *c, const uint8_t *in, size_t inlen, bool in_end, size_t *inused,
		 uint8_t *out, size_t outcap, size_t *outlen, struct dp_error *err);

/* a decoded stream (dp_stream.c): raw bytes from pull, through a codec
 * (DP_CODEC_NONE: passed through) */
struct dp_stream;
int dp_stream_new(enum dp_codec_kind kind, uint64_t base, bool whole, dp_pull_fn pull, void *ctx,
		  struct dp_stream **out, struct dp_error *err);
/* up to len decoded bytes; the count (0 at the end) or -1 with err */
ssize_t dp_stream_read(struct dp_stream *s, uint8_t *buf, size_t len, struct dp_error *err);
void dp_stream_free(struct dp_stream *s);

/* ---- the byte stack: file -> container -> codec -> spool ----
 *
 * file (dp_file.c): a path or standard input; regular files are mapped.
 * container (dp_flat.c): a view of the mapped bytes; makedumpfile's
 *   flattened framing is resolved here into a map of its records, so any
 *   format can sit inside it.
 * codec (dp_codec.c, dp_stream.c): whole-file compression, decoded front
 *   to back by a stream that pulls raw bytes from a file, view or caller.
 * spool (dp_spool.c): a stream or a flattened view copied to an unlinked
 *   temporary file and mapped, for formats that need random access.
 * dp_source.c assembles them into the dump's source (d->src). */

/* the file layer */
int dp_file_open(const char *path, int *fd, uint64_t *size, bool *regular, struct dp_error *err);
/* map [0, size) of fd read-only; size > 0 */
int dp_file_map(int fd, uint64_t size, const uint8_t **map, struct dp_error *err);
/* read up to len bytes at the file position (EINTR retried); -1 with err */
ssize_t dp_file_read(int fd, uint8_t *buf, size_t len, struct dp_error *err);
/* len bytes at off with pread (thread-safe); size bounds the file */
int dp_file_pread(int fd, uint64_t size, uint64_t off, uint8_t *buf, size_t len, struct dp_error *err);
/* Reading around the page cache (O_DIRECT).  dp_file_direct: a second
 * descriptor of fd opened with O_DIRECT when mode says so (AUTO: a file of
 * 16 MiB or more whose sampled pages are mostly not in the page cache), else
 * -1.  dp_file_cached: dumpparse.h.  dp_file_pread_direct: bytes [off, off+len) read
 * through dfd into buf, which is DP_DIRECT_ALIGN-aligned and holds len +
 * 2 * DP_DIRECT_ALIGN bytes; the bytes start at buf + off % DP_DIRECT_ALIGN;
 * false when the read was refused or came up short. */
#define DP_DIRECT_ALIGN 4096u
int dp_file_direct(int fd, const uint8_t *map, uint64_t size, enum dp_direct mode);
bool dp_file_pread_direct(int dfd, uint64_t off, size_t len, uint8_t *buf);
/* mapped input: make [p, p+len) resident before it is read */
void dp_src_prefault(const uint8_t *p, size_t len);
/* mapped input: drop [p, p+len) from this process (the page cache keeps it) */
void dp_src_release(const uint8_t *p, size_t len);

/* the container layer: bytes [voff, voff+len) of the logical file are at
 * foff of the stored one */
struct dp_seg {
	uint64_t voff, len, foff;
};

struct dp_view {
	const char *path;         /* for messages (borrowed) */
	const char *inner;        /* what the logical bytes are called in messages ("kdump") */
	const uint8_t *map;       /* the file as stored */
	uint64_t size;            /* its size */
	int fd;                   /* >= 0: flattened record headers are read with pread */
	bool flat;                /* flattened: the logical bytes are in segs */
	bool flat_end;            /* the end marker was found ... */
	uint64_t flat_end_at;     /* ... at this offset */
	struct dp_seg *segs;      /* sorted by voff, disjoint */
	size_t nsegs;
	size_t nrecords;
	uint64_t vsize;           /* logical size (flattened: end of the last record) */
	void *own_map;            /* a mapping the view owns (dp_view_free unmaps it) */
	size_t own_len;
	int own_fd;               /* a descriptor it owns, or -1 */
	int dfd;                  /* the file opened with O_DIRECT (owned), or -1: dp_view_direct */
	bool dall;                /* every span read with dfd, cached or not (DP_DIRECT_ALWAYS) */
};

#define DP_FLAT_MAGIC_LEN 16
bool dp_flat_magic(const uint8_t *p, size_t n);
/* v->map, size (and fd) set: index the records; logical size in vsize */
int dp_flat_parse(struct dp_view *v, struct dp_error *err);
/* a plain view of a mapping (borrowed) */
void dp_view_plain(struct dp_view *v, const char *path, const uint8_t *map, uint64_t size, int fd);
/* map a regular, non-empty file and index it when it is flattened; the view
 * owns the mapping and the descriptor (page data is read with pread); on
 * failure it holds nothing */
int dp_view_open(const char *path, struct dp_view *v, enum dp_direct direct, struct dp_error *err);
/* a plain or flattened view of a regular file: read its spans around the
 * page cache as mode says (dfd, dall) */
void dp_view_direct(struct dp_view *v, enum dp_direct mode);
void dp_view_free(struct dp_view *v);
uint64_t dp_view_size(const struct dp_view *v);
/* stored-file offset of logical [off, off+len) when it lies together in the
 * stored file (plain, or one flattened record); DP_NO_OFFSET when not.  The
 * cursor (may be NULL) is tried first: the record (or plain file) found
 * last, logical [lo, hi) at stored offset foff; start with DP_CURSOR_NONE */
struct dp_cursor {
	uint64_t lo, hi, foff;
};
#define DP_CURSOR_NONE ((struct dp_cursor){ 1, 0, 0 })
int64_t dp_view_span_at(const struct dp_view *v, uint64_t off, uint64_t len, struct dp_cursor *c);
/* Pointer to len logical bytes at off; scratch (len bytes, may be NULL)
 * receives them when they straddle flattened records. */
const uint8_t *dp_view_get(const struct dp_view *v, uint64_t off, uint64_t len, uint8_t *scratch,
			   const char *what, struct dp_error *err);
int dp_view_read(const struct dp_view *v, uint64_t off, void *buf, size_t len, const char *what,
		 struct dp_error *err);
/* every logical byte of [off, off+len) is in the view (nothing is read) */
int dp_view_check(const struct dp_view *v, uint64_t off, uint64_t len, const char *what, struct dp_error *err);
/* stored-file offset of logical offset off (for messages); DP_NO_OFFSET when in no record */
int64_t dp_view_file_off(const struct dp_view *v, uint64_t off);
/* the error for logical bytes [off, off+len) that are not in the view */
int dp_view_missing(const struct dp_view *v, uint64_t off, uint64_t len, const char *what, struct dp_error *err);
/* the first len logical bytes (len <= dp_view_size) for probing: bytes no
 * record holds read as zero */
void dp_view_head(const struct dp_view *v, uint8_t *buf, size_t len);
/* a pull over the logical bytes of a view from *pos */
struct dp_view_pull {
	const struct dp_view *v;
	uint64_t pos, end;
};
ssize_t dp_view_pull(void *ctx, uint8_t *buf, size_t cap, struct dp_error *err);

/* the spool layer: pull until the end into an unlinked temporary file
 * (in $TMPDIR) and map it into out (owned) */
int dp_spool(dp_pull_fn pull, void *ctx, struct dp_view *out, struct dp_error *err);
/* a flattened view's logical bytes into a mapped temporary file */
int dp_spool_flat(const struct dp_view *flat, struct dp_view *out, struct dp_error *err);

/* ---- per-page codecs (dp_page.c): one block that decodes to exactly one page ---- */
enum dp_page_codec { DP_PAGE_ZLIB, DP_PAGE_LZO, DP_PAGE_SNAPPY, DP_PAGE_ZSTD };
struct dp_pagedec;            /* one per reader: decoder contexts, created on first use */
/* decode n bytes at src into exactly want bytes at dst (zlib_inflate: zlib
 * pages with zlib's inflate, not libdeflate): NULL, or why not
 * ("too short", "too long", "corrupt ...", "out of memory") */
const char *dp_page_decode(struct dp_pagedec **pd, bool zlib_inflate, enum dp_page_codec codec,
			   const uint8_t *src, size_t n, uint8_t *dst, size_t want);
void dp_pagedec_free(struct dp_pagedec *pd);
const char *dp_page_codec_name(enum dp_page_codec codec);

/* the dump's source, assembled by dp_source.c */
struct dp_stream;

struct dp_src {
	int fd;                   /* the opened file (or the spool file) */
	uint64_t size;            /* logical size; streams: the decoded size once known, else UINT64_MAX */
	uint64_t stored_size;     /* size of the file on disk */
	const uint8_t *map;       /* random access to plain bytes: the mapping */
	struct dp_view view;      /* mapped (plain or flattened) input; flattened: map is NULL */
	struct dp_stream *stream; /* else: sequential */
	enum dp_codec_kind codec; /* whole-file compression */
	uint8_t *keep;            /* streams: decoded bytes [0, nkeep) */
	size_t nkeep;
	uint64_t pos;             /* streams: decoded bytes consumed */
	bool eof;
	bool spooled;             /* read through a temporary copy */
	uint64_t spool_size;
	size_t flat_records;      /* the input was flattened: its records, ... */
	bool flat_input, flat_end; /* ... and whether it had its end marker */
	uint8_t *prefix;          /* pipes: the first bytes, taken to pick a decoder, given again */
	size_t nprefix, prefix_pos;
	struct dp_view_pull vpull; /* streams over the view */
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

	/* the other files of a split dump, from dp_group_open (borrowed until
	 * dp_open returns) */
	const char *const *parts;
	size_t nparts;

	/* dp_read_next position, and its first error (returned again after it) */
	size_t next_unit;
	bool next_failed;
	struct dp_error next_err;
};

/* A reader's buffers, each grown once to a unit's size; a dp_scratch keeps
 * them from one reader to the next. */
struct dp_scratch {
	uint8_t *buf;             /* dp_reader_buf */
	size_t bufcap;
	uint8_t *state;           /* dp_reader_states */
	size_t statecap;
	uint64_t *pfns;           /* dp_reader_pfns */
	size_t pfncap;
	uint8_t *win;             /* dp_reader_span */
	size_t wincap;
	uint8_t *dwin;            /* dp_reader_span, read around the page cache (aligned) */
	size_t dwincap;
	uint8_t *dwin2;           /* the same, the bytes asked for ahead */
	size_t dwin2cap;
};

/* bytes [off, end) of view v's file, in a reader's buffer from its
 * DP_DIRECT_ALIGN-aligned start (v NULL: none) */
struct dp_dwin {
	const struct dp_view *v;
	uint64_t off, end;
};

struct dp_reader {
	struct dp_dump *d;
	struct dp_scratch mem;
	struct dp_scratch *scratch; /* where mem goes back at close, or NULL: freed */
	uint64_t direct_bytes;    /* read into dwin */
	/* dp_reader_ahead: units up to ahead come next, in order, then
	 * [next, next_end); next_asked once the latter's bytes were asked for */
	size_t ahead, next, next_end;
	bool next_asked;
	struct dp_dwin cur;       /* bytes in mem.dwin (read around the page cache) */
	struct dp_dwin pend;      /* bytes on their way into mem.dwin2 (dp_reader_prefetch) */
	struct dp_fetcher *fetcher; /* the thread that reads them, NULL: none yet */
	bool fetch_failed;        /* none to be had: no prefetching */
	void *priv;               /* the back end's */
};

/* growable arrays: 0 on success, -1 when out of memory */
int dp_grow(void **p, size_t *cap, size_t need, size_t elem);
/* Put context before the message of err ("kdump sub header: " + msg), the
 * one way errors are chained; status and offset stay.  Returns err->status. */
int dp_err_context(struct dp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* reading the input; both check bounds and report truncation with offsets */
int dp_src_read(struct dp_dump *d, uint64_t off, void *buf, size_t len, const char *what,
		struct dp_error *err);
/* random access only: pointer into the mapping, NULL (with err) if out of bounds */
const uint8_t *dp_src_ptr(struct dp_dump *d, uint64_t off, uint64_t len, const char *what,
			  struct dp_error *err);
bool dp_src_random(const struct dp_dump *d);
/* Replace the input by another file (a companion that holds the memory, such
 * as a VMware .vmem): the old source is closed, offsets then refer to the new
 * file, and d->info.compression / file_size / sequential are updated. */
int dp_src_switch(struct dp_dump *d, const char *path, struct dp_error *err);

/* ELF files (dp_elfhdr.c): the header of either class and byte order */
struct dp_ehdr {
	bool is64, be;
	uint8_t version;
	uint16_t type, machine;
	uint64_t phoff, shoff;
	uint32_t flags, phnum;
	uint16_t phentsize, shentsize, shnum, shstrndx;
};
/* h: 64 bytes (52 for ELF32) whose class (h[4]) and encoding (h[5]) are 1 or 2 */
void dp_ehdr_decode(const uint8_t *h, struct dp_ehdr *e);
/* read d's ELF header: class and encoding are checked ("ELF class ...") */
int dp_ehdr_read(struct dp_dump *d, struct dp_ehdr *e, struct dp_error *err);

/* info helpers */
int dp_add_detail(struct dp_dump *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dp_add_warning(struct dp_dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dp_set_variant(struct dp_dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* reader scratch space */
uint8_t *dp_reader_buf(struct dp_reader *r, size_t len, struct dp_error *err);
/* the buffer of dp_reader_span (dp_direct.c), at least len bytes */
uint8_t *dp_reader_win(struct dp_reader *r, size_t len, struct dp_error *err);
/* the aligned buffers of dp_reader_span's reads around the page cache:
 * the current one, or (second) the one read ahead into */
uint8_t *dp_reader_dwin(struct dp_reader *r, size_t len, bool second, struct dp_error *err);
uint8_t *dp_reader_states(struct dp_reader *r, size_t n, struct dp_error *err);
uint64_t *dp_reader_pfns(struct dp_reader *r, size_t n, struct dp_error *err);
/* bytes [off, off+len) of the file of view v (stored offsets) in one
 * pread, into a second buffer of the reader, for a unit's stored bytes that
 * are then decoded or copied out: a back end that maps them instead, and
 * drops the mapping after each unit so that the process does not grow to
 * the size of the file, pays more than the copy, and every drop makes the
 * other workers' processors flush their TLBs.  When the view has an
 * O_DIRECT descriptor and the bytes are not all in the page cache, they
 * are read around it; upto (>= off + len) is where the bytes this reader
 * will ask for next, in order, end: a read around the cache fetches up to
 * DP_DIRECT_WINDOW of them at once and serves the next spans from it.
 * NULL and err on failure */
#define DP_DIRECT_WINDOW (4u << 20)
const uint8_t *dp_reader_span(struct dp_reader *r, const struct dp_view *v, uint64_t off, size_t len,
			      uint64_t upto, struct dp_error *err);
/* The bytes [off, upto) of view v's file come after the current ones
 * (dp_reader_ahead's next batch): when they would be read around the page
 * cache, the reader's fetcher thread reads one window of them now, and
 * dp_reader_span takes them when they are asked for.  When anything fails
 * nothing happens (they are read when asked for). */
void dp_reader_prefetch(struct dp_reader *r, const struct dp_view *v, uint64_t off, uint64_t upto);
/* the reader's pending read ahead finished (or never started), its thread gone */
void dp_reader_prefetch_end(struct dp_reader *r);

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

/* Guest RAM and device memory (dp_kind.c).  Mark frames [pfn, pfn + n) of
 * the ranges as kind k, splitting ranges at the edges (after the ranges are
 * complete, e.g. after dp_map_finish). */
int dp_mark_kind(struct dp_dump *d, uint64_t pfn, uint64_t n, enum dp_mem_kind k, struct dp_error *err);
/* present frames of device memory in the ranges */
uint64_t dp_range_device_pages(const struct dp_dump *d);
/* x86 PC (QEMU pc/q35) memory map: mark the ranges that are not guest RAM
 * as device memory, set info.device_pages and info.kind_rule. */
int dp_kind_pc(struct dp_dump *d, struct dp_error *err);

/* dp_open with the other files of a split dump (dp_group_open) */
int dp_open_parts(const char *path, const struct dp_options *opt, const char *const *parts, size_t nparts,
		  struct dp_dump **out, struct dp_error *err);

/* the source, for dp_core.c: open the stack for d->path (file, container,
 * whole-file codec by magic); close it */
int dp_src_open(struct dp_dump *d, struct dp_error *err);
void dp_src_close(struct dp_dump *d);
/* the first len decoded bytes (fewer at the end); (size_t)-1 with err */
size_t dp_src_head(struct dp_dump *d, uint8_t *buf, size_t len, struct dp_error *err);
const char *dp_src_compression(const struct dp_dump *d);
/* no probe matched: read the input again as a bare zlib stream (when its
 * first bytes can start one); DP_E_UNKNOWN when they cannot */
int dp_src_retry_zlib(struct dp_dump *d, struct dp_error *err);
/* make the source random access: a stream, or a flattened view when
 * in_place is false, goes through the spool layer */
int dp_src_make_random(struct dp_dump *d, bool in_place, struct dp_error *err);
void dp_map_free(struct dp_dump *d);
/* Unit `unit` of a finished layout (unit < nunits): its extent, and the
 * frames [first, first + npages) of that extent it covers. */
const struct dp_extent *dp_map_unit(const struct dp_dump *d, size_t unit, uint64_t *first, uint64_t *npages);
int dp_map_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err);

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
/* fields of a file whose byte order is known only at run time */
static inline uint16_t dp_get16(bool be, const uint8_t *p) { return be ? dp_be16(p) : dp_le16(p); }
static inline uint32_t dp_get32(bool be, const uint8_t *p) { return be ? dp_be32(p) : dp_le32(p); }
static inline uint64_t dp_get64(bool be, const uint8_t *p) { return be ? dp_be64(p) : dp_le64(p); }

#endif
