/*
 * Shared between the files of the kdump-compressed reader:
 *   kdump_hdr.c    main and sub header, bitmaps, page descriptors
 *   kdump_split.c  the files of a split dump (makedumpfile --split)
 *   kdump.c        open (frame index, --info), reading units, the ops
 * Not used outside them.
 */
#ifndef KDUMP_INT_H
#define KDUMP_INT_H

#include "dp_int.h"

#include <string.h>

#define KD_SIG "KDUMP   "
#define DISKDUMP_SIG "DISKDUMP"
#define KD_HDR_LEN 0x1D0u      /* main header bytes of the 64-bit layout */
#define KD_HDR32_LEN 0x1C4u    /* ... of the 32-bit layout */
#define DESC_SIZE 24u           /* page_desc: u64 offset, u32 size, u32 flags, u64 page_flags */

/* page and header flags */
#define F_ZLIB 0x01u
#define F_LZO 0x02u
#define F_SNAPPY 0x04u
#define F_INCOMPLETE 0x08u      /* header status only */
#define F_VMEMMAP 0x10u         /* header status only */
#define F_ZSTD 0x20u
#define F_CODECS (F_ZLIB | F_LZO | F_SNAPPY | F_ZSTD)

#define MAX_PARTS 256

/* one file of the dump */
struct part {
	struct dp_view v;
	uint64_t start_pfn, end_pfn;  /* blocks this file has descriptors for */
	uint64_t desc_off, ndesc;     /* descriptor table (logical offsets) */
	uint64_t zero_off;            /* the shared zero page, UINT64_MAX if none */
	char *path;                   /* owned (parts other than the first) */
};

struct unit {
	uint32_t part;
	uint64_t pfn;           /* first block of the unit (a set bit) */
	uint64_t desc;          /* descriptor index of the first 2nd-bitmap bit at or after pfn */
	uint32_t nblocks;       /* frames of interest (1st or 2nd bitmap set) */
};

struct kd {
	/* header */
	bool be, is64, pad32, diskdump;
	uint32_t version, status, bs, sub_blocks, bitmap_blocks, nr_cpus;
	uint64_t max_mapnr;
	uint32_t hdr_mapnr;     /* the main header's (32-bit, obsolete from v6) */
	char sysname[66], nodename[66], release[66], utsversion[66], machine[66], domainname[66];
	/* sub header */
	uint64_t phys_base;
	uint32_t dump_level, split;
	uint64_t start_pfn, end_pfn;
	uint64_t off_vmcoreinfo, size_vmcoreinfo, off_note, size_note, off_erase, size_erase;
	/* bitmaps (owned copies or pointers into the first file) */
	bool two_bitmaps;
	uint64_t bm_len;        /* bytes of one bitmap */
	const uint8_t *bm1, *bm2;
	uint8_t *own_bm;
	/* files */
	struct part *parts;
	size_t nparts;
	char rejected[600];     /* split files beside it that are parts of another dump, and why */
	/* delivery */
	uint32_t ps, ratio;     /* frame size; frames per block */
	struct unit *units;
	size_t nunits;
	uint64_t n_zero, n_raw, n_zlib, n_lzo, n_snappy, n_zstd, n_missing, n_filtered, n_orphan;
};

enum kstate { K_DATA, K_ZERO, K_MISSING, K_FILTERED };

/* a page descriptor: where the block's bytes are, how many, how compressed */
struct desc {
	uint64_t off;
	uint32_t size, flags;
};

/* one frame of a unit, between the two passes of kdump_read_unit */
struct kdesc {
	struct desc ds;
	uint64_t idx;
	int64_t foff;           /* stored-file offset of the data when it lies together, else DP_NO_OFFSET */
	int state;              /* enum kstate */
};

struct kreader {
	struct kdesc *descs;
	size_t ndesc_cap;
	struct dp_pagedec *dec; /* per-page decoders */
	bool zlib_inflate;      /* the dump's options: zlib pages through zlib's inflate */
	uint8_t *scratch;       /* compressed bytes that straddle flattened records */
	size_t scratch_cap;
};


static inline uint32_t kd32(const struct kd *k, const uint8_t *p) { return dp_get32(k->be, p); }
static inline uint64_t kd64(const struct kd *k, const uint8_t *p) { return dp_get64(k->be, p); }
static inline uint64_t kdword(const struct kd *k, const uint8_t *p) { return k->is64 ? kd64(k, p) : kd32(k, p); }
static inline bool kd_mul_overflows(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline bool kd_bit(const uint8_t *bm, uint64_t i) { return bm[i >> 3] >> (i & 7) & 1; }

/* kdump_hdr.c */
/* the main header of view v into k (layout, sizes, utsname) */
int kdump_parse_header(struct dp_dump *d, struct kd *k, const struct dp_view *v, struct dp_error *err);
/* the sub header of part p: phys_base, dump level, split range, note offsets */
int kdump_parse_sub_header(struct kd *k, const struct part *p, struct dp_error *err);
/* the page classes a dump level filters out, in words */
const char *kdump_level_words(uint32_t l, char *buf, size_t n);
int kdump_load_bitmaps(struct kd *k, const struct dp_view *v, struct dp_error *err);
/* set bits of the 2nd bitmap in [a, b) */
uint64_t kdump_count2(const struct kd *k, uint64_t a, uint64_t b);
/* next frame >= i below end with a bit set in either bitmap; end if none */
uint64_t kdump_next_frame(const struct kd *k, uint64_t i, uint64_t end);
/* descriptor idx of part p; cur: the record the last one was in */
int kdump_get_desc(const struct kd *k, const struct part *p, uint64_t idx, struct dp_cursor *cur, struct desc *out,
		   struct dp_error *err);
/* classify and check one descriptor against its file */
int kdump_check_desc(const struct kd *k, const struct part *p, uint64_t idx, const struct desc *ds,
		     enum kstate *st, struct dp_error *err);

/* kdump_split.c */
/* every part of the split dump k->parts[0] belongs to: given (d->parts),
 * and found beside it; sorted by frames, checked to tile the dump */
int kdump_setup_parts(struct dp_dump *d, struct kd *k, struct dp_error *err);
/* What identifies the dump a file of a split dump belongs to: the header
 * fields every part of one dump shares.  Left out: the timestamp (each
 * file may be stamped when it is written), the status flags (a part may
 * be incomplete on its own), the per-file counters and offsets, nr_cpus,
 * and each part's own frame range (kdump_setup_parts checks that the
 * ranges tile the dump without overlap, and that the bitmaps agree). */
struct kdump_split_id {
	bool is64, be;
	uint32_t version, bs, sub_blocks, bitmap_blocks, dump_level;
	uint64_t max_mapnr, phys_base;
	char uts[6][66];          /* sysname, nodename, release, version, machine, domainname */
	uint64_t start_pfn, end_pfn;  /* this part's frames (not compared) */
};
void kdump_split_id_of(const struct kd *k, struct kdump_split_id *id);
/* 1 when path is one file of a split kdump dump (id filled), else 0 */
int kdump_split_identify(const char *path, struct kdump_split_id *id);
/* NULL when a and b may be parts of one dump; else the first field that
 * differs, with both values, in buf ("utsname release differs (X, Y)") */
const char *kdump_split_differs(const struct kdump_split_id *a, const struct kdump_split_id *b, char *buf,
				size_t n);

#endif
