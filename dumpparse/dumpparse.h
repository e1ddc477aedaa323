/*
 * libdumpparse — read guest-physical memory out of VM and kernel dump files.
 *
 * A dump is opened once (dp_open), described by a dp_info, and read as a
 * set of independent *units*: each unit is a run of guest frames with their
 * bytes (dp_chunk).  Random-access dumps (dp_info.sequential == 0) can have
 * their units read in any order, from any number of threads, each thread
 * with its own dp_reader.  Sequential dumps (compressed input, pipes) are
 * read with dp_read_next by one thread at a time, in order.
 *
 * Ownership: everything returned through a pointer is borrowed.  dp_info and
 * what it points to live until dp_close; chunk contents live until the next
 * read on the same reader or dp_reader_close.  dp_close(NULL) and
 * dp_reader_close(NULL) are no-ops.  Readers must be closed before their dump.
 */
#ifndef DUMPPARSE_H
#define DUMPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dp_status {
	DP_OK = 0,
	DP_END,           /* no more units (dp_read_next) */
	DP_E_IO,          /* the operating system refused a read/open */
	DP_E_TRUNCATED,   /* data the headers promise lies past the end of the file */
	DP_E_CORRUPT,     /* a value no producer writes */
	DP_E_UNSUPPORTED, /* format recognised, this part of it is not readable */
	DP_E_UNKNOWN,     /* no format recognises the file */
	DP_E_NOMEM,
	DP_E_USAGE,       /* bad options from the caller */
};

#define DP_NO_OFFSET (-1)

struct dp_error {
	enum dp_status status;
	int64_t offset;   /* file offset where the problem was found, DP_NO_OFFSET if none */
	char msg[512];    /* what went wrong; no file name, no offset */
};

/* "PATH: MSG (at offset N)" into buf; returns buf. */
const char *dp_error_text(const struct dp_error *e, const char *path, char *buf, size_t len);
const char *dp_status_name(enum dp_status s);
/* Fill err (may be NULL) and return st: for callers that report their own
 * failures in the same shape. */
int dp_fail(struct dp_error *err, enum dp_status st, int64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* What the file says about one frame. */
enum dp_page_state {
	DP_PAGE_DATA = 0,   /* bytes are in the chunk */
	DP_PAGE_ZERO = 1,   /* present, the format says it is all zero; no bytes in the chunk */
	DP_PAGE_ABSENT = 2, /* belongs to guest RAM but is not stored (filtered, memsz tail) */
};

/* How page data of a regular, uncompressed file is read: through the page
 * cache, or around it with O_DIRECT (no copy out of the cache, and the cache
 * not filled with a dump read once).  AUTO reads around it when the file
 * was mostly not cached as it was opened, and then still reads each unit
 * that is cached through the cache. */
enum dp_direct {
	DP_DIRECT_AUTO = 0,
	DP_DIRECT_NEVER,
	DP_DIRECT_ALWAYS,  /* every unit around the cache, cached or not (where the file system allows it) */
};

/* Whether the page cache holds [off, off+len) of the regular file fd: 1 all
 * of it, 0 not all, -1 when this kernel cannot tell (cachestat(2); before
 * Linux 6.5, mincore(2) on map, the file mapped from offset 0, or with map
 * NULL a read of the last byte that must not wait). */
int dp_file_cached(int fd, const uint8_t *map, uint64_t off, uint64_t len);

struct dp_options {
	const char *format;   /* NULL: detect by content; else a name from dp_format_name() */
	uint64_t raw_base;    /* raw images: guest-physical address of the first byte */
	uint32_t page_size;   /* frame size to deliver; 0: the dump's own (4096 when it has none) */
	const char *vmem_path; /* VMware checkpoints whose memory is in a separate file: that file;
	                        * NULL: the .vmem beside the .vmss/.vmsn.  Borrowed until dp_open returns. */
	bool zlib_inflate;    /* kdump pages compressed with zlib: decoded by zlib's inflate instead of
	                       * libdeflate (the faster one here); for comparisons and benchmarks */
	enum dp_direct direct;
	/* split dumps: see dp_group below */
};

/* What a frame belongs to.  Formats that tell (QEMU migration streams and
 * libvirt save images name their RAM blocks; QEMU x86 ELF cores follow the
 * PC memory map) mark device memory; every other frame is guest RAM. */
enum dp_mem_kind {
	DP_MEM_RAM = 0,     /* guest RAM (also: the format does not tell) */
	DP_MEM_DEVICE = 1,  /* device or firmware memory: video RAM, BIOS and option ROMs, firmware tables */
};

/* One run of frames with one state and one kind, in guest-physical order. */
struct dp_range {
	uint64_t pfn;            /* first frame, in page_size units */
	uint64_t npages;
	enum dp_page_state state;
	uint64_t file_offset;    /* of the first byte of the run; UINT64_MAX when not stored contiguously */
	enum dp_mem_kind kind;
};

struct dp_detail {
	const char *key;
	const char *value;
};

struct dp_info {
	const char *format;          /* short name, e.g. "elf" */
	const char *variant;         /* one line, e.g. "ELF64 little-endian x86-64 core (QEMU)" */
	const char *compression;     /* whole-file compression of the input ("gzip", "zstd") or NULL */
	uint32_t page_size;          /* bytes per frame delivered */
	uint32_t native_page_size;   /* page size the dump records, 0 if it records none */
	int sequential;              /* read with dp_read_next only */
	bool direct;                 /* page data is read around the page cache (see enum dp_direct) */
	uint64_t pages;              /* present frames (with data or known zero) */
	uint64_t absent_pages;
	uint64_t partial_pages;      /* frames only partly covered by the file; missing bytes read as 0 */
	uint64_t file_size;          /* bytes of the file as stored (compressed size when compressed) */
	uint64_t data_bytes;         /* bytes that will be read for page data (for progress) */
	size_t nunits;               /* random access: number of units; sequential: 0 */
	size_t nranges;
	const struct dp_range *ranges;
	size_t ndetails;
	const struct dp_detail *details;
	size_t nwarnings;
	const char *const *warnings;
	/* Frames that have no guest-physical address (e.g. QEMU RAM blocks of a
	 * migration stream whose address is unknown) are numbered in address
	 * spaces of their own: space k > 0 is spaces[k-1].  Guest-physical
	 * frames are space 0; ranges lists space 0 only. */
	size_t nspaces;
	const char *const *spaces;
	/* Guest RAM and device memory: the kind of every range is in ranges,
	 * of every space in space_kinds (nspaces entries, enum dp_mem_kind
	 * values; NULL: all guest RAM).  device_pages counts the present frames
	 * of device memory (part of pages); kind_rule says in one line how the
	 * format told them apart, NULL when it does not (every frame is then
	 * guest RAM). */
	const uint8_t *space_kinds;
	uint64_t device_pages;
	const char *kind_rule;
};

/* The kind of frame pfn of address space `space` (0: guest-physical;
 * frames in no range are guest RAM); *run (may be NULL) receives how many
 * frames from pfn on have that kind (at least 1, UINT64_MAX: all). */
enum dp_mem_kind dp_frame_kind(const struct dp_info *in, uint32_t space, uint64_t pfn, uint64_t *run);
const char *dp_mem_kind_name(enum dp_mem_kind k); /* "ram", "device" */

struct dp_chunk {
	uint64_t pfn;              /* frame number of the first page */
	size_t npages;
	const uint8_t *data;       /* npages * page_size bytes (slots of non-DATA pages undefined), or NULL */
	const uint8_t *state;      /* NULL: every page is `uniform`; else one dp_page_state per page */
	enum dp_page_state uniform;
	const uint64_t *pfns;      /* NULL: pfn, pfn+1, ...; else one frame number per page */
	uint64_t bytes;            /* input bytes this unit consumed (for progress) */
	uint32_t space;            /* 0: guest-physical frames; k > 0: frames of dp_info.spaces[k-1] */
};

struct dp_dump;
struct dp_reader;

int dp_open(const char *path, const struct dp_options *opt, struct dp_dump **out, struct dp_error *err);
void dp_close(struct dp_dump *d);
const struct dp_info *dp_get_info(const struct dp_dump *d);
const char *dp_get_path(const struct dp_dump *d);

int dp_reader_open(struct dp_dump *d, struct dp_reader **out, struct dp_error *err);
void dp_reader_close(struct dp_reader *r);
/* Scratch memory of one thread's readers: a reader opened with it takes its
 * buffers over and dp_reader_close hands them back, so that a thread that
 * reads dump after dump does not fault fresh pages in for each (dear on a
 * virtual machine).  One reader at a time per scratch; NULL on no memory. */
struct dp_scratch;
struct dp_scratch *dp_scratch_new(void);
void dp_scratch_free(struct dp_scratch *s);
int dp_reader_open_with(struct dp_dump *d, struct dp_scratch *s, struct dp_reader **out, struct dp_error *err);
/* bytes this reader has read around the page cache (enum dp_direct) */
uint64_t dp_reader_direct_bytes(const struct dp_reader *r);

/* Random-access dumps only: unit 0 .. nunits-1, any order, any thread (own reader). */
int dp_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err);
/* The caller reads this reader's next units in order up to end
 * (exclusive), then the units [next, next_end) (none when equal): a reader
 * that reads around the page cache (dp_info.direct) then fetches the bytes
 * of several units in one request, which the disk delivers much faster
 * than one unit at a time, and asks for the next batch's while the caller
 * works on the current one.  DP_DIRECT_UNITS units make a good batch. */
#define DP_DIRECT_UNITS 4u
void dp_reader_ahead(struct dp_reader *r, size_t end, size_t next, size_t next_end);

/* Every dump: the next unit; DP_END after the last.  The caller serialises
 * calls on one dump (sequential dumps keep their position in the dump). */
int dp_read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err);

/*
 * Grouping: the files a caller opens together (a command line) as dumps.
 * A split kdump dump (makedumpfile --split) is several files and one dump:
 * opening any one of its files with dp_open reads all of them (the files
 * with the same headers beside it).  Given together, its files form one
 * member group: the given file with the lowest frames is the dump
 * (DP_ROLE_DUMP, opened with dp_group_open, which also takes the other
 * given files as its parts wherever they are), each other one is a part
 * (DP_ROLE_PART: not to be opened; dp_group_note says which file reads it,
 * e.g. "part 4..8 of a split dump, read with vm.1").  Every other file is a
 * DP_ROLE_DUMP of its own.  Grouping only reads headers: a file it cannot
 * read is a DP_ROLE_DUMP, and dp_group_open reports its error.
 */
enum dp_role {
	DP_ROLE_DUMP = 0,   /* open it with dp_group_open */
	DP_ROLE_PART,       /* read with another member (dp_group_reader); do not open */
};
struct dp_group;
/* paths[0..n) are borrowed until dp_group_free; fails only for lack of memory */
int dp_group_new(const char *const *paths, size_t n, struct dp_group **out, struct dp_error *err);
void dp_group_free(struct dp_group *g);
size_t dp_group_count(const struct dp_group *g);
enum dp_role dp_group_role(const struct dp_group *g, size_t i);
/* the member that reads member i (i itself for a DP_ROLE_DUMP) */
size_t dp_group_reader(const struct dp_group *g, size_t i);
/* DP_ROLE_PART: one line for the user (no file name, no newline); else NULL.  Lives until dp_group_free. */
const char *dp_group_note(const struct dp_group *g, size_t i);
/* dp_open of member i (a DP_ROLE_DUMP; DP_E_USAGE for a part) with the
 * group's other files of its dump as parts.  Threads may open different
 * members of one group at once. */
int dp_group_open(const struct dp_group *g, size_t i, const struct dp_options *opt, struct dp_dump **out,
		  struct dp_error *err);

/* The formats this library knows, in probe order. */
size_t dp_format_count(void);
const char *dp_format_name(size_t i);
const char *dp_format_description(size_t i);
int dp_format_readable(size_t i);  /* 0: recognised only ("not supported yet") */

#endif
