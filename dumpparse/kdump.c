/*
 * kdump-compressed dumps ("KDUMP   ", old "DISKDUMP") as makedumpfile and
 * QEMU write them, and the makedumpfile *flattened* framing of the same
 * format (what QEMU dump-guest-memory kdump-* and `makedumpfile -F` write).
 * The flattened framing is read in place through a map of its records, so
 * both ops live in this file; it exports kdump_ops and flattened_ops.
 *
 * Layout (offsets in blocks of block_size, the dumped kernel's page size):
 * block 0 main header, blocks 1..S sub header (+ notes), then two bitmaps
 * of B/2 blocks each (1st: frame is RAM, 2nd: frame has a page descriptor),
 * then one 24-byte descriptor per set bit of the 2nd bitmap, then the page
 * data.  A frame in the 1st bitmap but not in the 2nd was filtered out by
 * the dump level: it is ABSENT, never zero.  Every zero page may point at
 * one shared all-zero page: those frames are ZERO without being read.
 *
 * Random access: units are runs of frames with their first descriptor
 * index, so every worker thread decompresses its own pages.  Piped or
 * whole-file-compressed input is first copied to an unlinked temporary file
 * (the layout has to be read out of order).  Split dumps (makedumpfile
 * --split) are one dump in several files; the files are taken from
 * dp_options.parts or found beside the first part.
 */
#include "dp_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lzo1x.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define KD_SIG "KDUMP   "
#define DISKDUMP_SIG "DISKDUMP"
#define FLAT_SIG "makedumpfile\0\0\0\0"
#define FLAT_HDR 4096u          /* flattened header block */
#define FLAT_REC 16u            /* be64 offset, be64 size */
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
#define SPOOL_CHUNK (1u << 20)

/* ---- the bytes of one kdump file: mapped plain file, or flattened records ---- */

struct seg {
	uint64_t voff, len;     /* bytes [voff, voff+len) of the kdump file ... */
	uint64_t foff;          /* ... are at this offset of the flattened file */
};

struct kview {
	const char *path;       /* for messages (borrowed) */
	const uint8_t *map;     /* the file as stored */
	uint64_t size;
	int fd;                 /* when >= 0: read the flattened record headers with pread (no page faults) */
	bool flat;
	bool flat_end;          /* the end marker was found ... */
	uint64_t flat_end_at;   /* ... at this offset */
	struct seg *segs;       /* sorted by voff, disjoint */
	size_t nsegs;
	uint64_t vsize;         /* logical size (flattened: end of the last record) */
	size_t nrecords;
	void *own_map;          /* mapping we made (parts, spool) */
	size_t own_len;
};

/* one file of the dump */
struct part {
	struct kview v;
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
	char sysname[66], nodename[66], release[66], machine[66];
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
	int state;              /* enum kstate */
};

struct kreader {
	struct kdesc *descs;
	size_t ndesc_cap;
	z_stream zs;
	bool zs_live;
	ZSTD_DCtx *zd;
	uint8_t *scratch;       /* compressed bytes that straddle flattened records */
	size_t scratch_cap;
};

/* ---- small helpers ---- */

static uint32_t g32(const struct kd *k, const uint8_t *p) { return k->be ? dp_be32(p) : dp_le32(p); }
static uint64_t g64(const struct kd *k, const uint8_t *p) { return k->be ? dp_be64(p) : dp_le64(p); }
static uint64_t gword(const struct kd *k, const uint8_t *p) { return k->is64 ? g64(k, p) : g32(k, p); }

static bool mul_overflows(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }

static bool bit(const uint8_t *bm, uint64_t i) { return bm[i >> 3] >> (i & 7) & 1; }

static uint64_t word_at(const uint8_t *bm, uint64_t bm_len, uint64_t w)
{
	uint64_t off = w * 8;
	if (off + 8 <= bm_len)
		return dp_le64(bm + off);
	uint8_t tmp[8] = { 0 };
	if (off < bm_len)
		memcpy(tmp, bm + off, (size_t)(bm_len - off));
	return dp_le64(tmp);
}

/* ---- view access ---- */

static void view_free(struct kview *v)
{
	if (v->own_map)
		munmap(v->own_map, v->own_len);
	free(v->segs);
	memset(v, 0, sizeof *v);
}

/* first segment whose end is after off */
static size_t seg_find(const struct kview *v, uint64_t off)
{
	size_t lo = 0, hi = v->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->segs[mid].voff + v->segs[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int missing(const struct kview *v, uint64_t off, uint64_t len, const char *what,
		   struct dp_error *err)
{
	if (!v->flat || !v->flat_end)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
			       "%s: %llu bytes at kdump offset %llu are missing: the %s ends at byte %llu",
			       what, (unsigned long long)len, (unsigned long long)off,
			       v->flat ? "flattened file (no end marker)" : "file", (unsigned long long)v->size);
	return dp_fail(err, DP_E_CORRUPT, (int64_t)v->flat_end_at,
		       "%s: kdump bytes %llu..%llu are in no record of the flattened file (its end marker)", what,
		       (unsigned long long)off, (unsigned long long)(off + len));
}

/* File offset of logical offset off (for messages). */
static int64_t file_off(const struct kview *v, uint64_t off)
{
	if (!v->flat)
		return (int64_t)off;
	size_t i = seg_find(v, off);
	if (i < v->nsegs && v->segs[i].voff <= off)
		return (int64_t)(v->segs[i].foff + (off - v->segs[i].voff));
	return DP_NO_OFFSET;
}

/* Pointer to len logical bytes at off; scratch (len bytes, may be NULL)
 * receives them when they straddle flattened records. */
static const uint8_t *kv_get(const struct kview *v, uint64_t off, uint64_t len, uint8_t *scratch,
			     const char *what, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end)) {
		dp_fail(err, DP_E_CORRUPT, (int64_t)v->size, "%s: offset %llu + %llu bytes overflows", what,
			(unsigned long long)off, (unsigned long long)len);
		return NULL;
	}
	if (!v->flat) {
		if (end > v->size) {
			missing(v, off, len, what, err);
			return NULL;
		}
		return v->map + off;
	}
	size_t i = seg_find(v, off);
	if (i < v->nsegs && v->segs[i].voff <= off && end <= v->segs[i].voff + v->segs[i].len)
		return v->map + v->segs[i].foff + (off - v->segs[i].voff);
	if (!scratch) {
		if (i >= v->nsegs || v->segs[i].voff > off)
			missing(v, off, len, what, err);
		else
			dp_fail(err, DP_E_UNSUPPORTED, file_off(v, off),
				"%s: %llu bytes at kdump offset %llu straddle flattened records", what,
				(unsigned long long)len, (unsigned long long)off);
		return NULL;
	}
	uint64_t pos = off;
	while (pos < end) {
		if (i >= v->nsegs || v->segs[i].voff > pos) {
			missing(v, pos, end - pos, what, err);
			return NULL;
		}
		uint64_t se = v->segs[i].voff + v->segs[i].len;
		uint64_t n = (se < end ? se : end) - pos;
		memcpy(scratch + (pos - off), v->map + v->segs[i].foff + (pos - v->segs[i].voff), (size_t)n);
		pos += n;
		i++;
	}
	return scratch;
}

/* Whether every logical byte of [off, off+len) is in the view, without
 * reading it; on failure err says which bytes are missing.  Lets a size
 * read from the header be checked before memory is set aside for it. */
static int kv_check(const struct kview *v, uint64_t off, uint64_t len, const char *what, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)v->size, "%s: offset %llu + %llu bytes overflows", what,
			       (unsigned long long)off, (unsigned long long)len);
	if (!v->flat)
		return end > v->size ? missing(v, off, len, what, err) : DP_OK;
	uint64_t pos = off;
	for (size_t i = seg_find(v, off); pos < end; i++) {
		if (i >= v->nsegs || v->segs[i].voff > pos)
			return missing(v, pos, end - pos, what, err);
		pos = v->segs[i].voff + v->segs[i].len;
	}
	return DP_OK;
}

static int kv_read(const struct kview *v, uint64_t off, void *buf, size_t len, const char *what,
		   struct dp_error *err)
{
	const uint8_t *p = kv_get(v, off, len, buf, what, err);
	if (!p)
		return err->status;
	if (p != buf)
		memcpy(buf, p, len);
	return DP_OK;
}

/* ---- flattened framing ---- */

/* Later records overwrite earlier ones: the newest record has priority. */
static int resolve_overlaps(struct kview *v, struct dp_error *err)
{
	size_t n = v->nsegs;
	struct dp_map_piece *in = malloc((n ? n : 1) * sizeof *in), *out = NULL;
	size_t cnt = 0;
	uint64_t dropped;
	if (!in)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t k = 0; k < n; k++) /* newest first */
		in[k] = (struct dp_map_piece){ v->segs[n - 1 - k].voff, v->segs[n - 1 - k].len,
					       v->segs[n - 1 - k].foff };
	int rc = dp_disjoint(in, n, &out, &cnt, &dropped, err);
	free(in);
	if (rc)
		return rc;
	/* cutting records can give more pieces than there were records */
	struct seg *segs = malloc((cnt ? cnt : 1) * sizeof *segs);
	if (!segs) {
		free(out);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	for (size_t k = 0; k < cnt; k++)
		segs[k] = (struct seg){ out[k].paddr, out[k].len, out[k].off };
	free(out);
	free(v->segs);
	v->segs = segs;
	v->nsegs = cnt;
	return DP_OK;
}

static int flat_parse(struct kview *v, struct dp_error *err)
{
	if (v->size < FLAT_HDR)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
			       "flattened header: the file has %llu bytes, the header block needs %u",
			       (unsigned long long)v->size, FLAT_HDR);
	int64_t type = (int64_t)dp_be64(v->map + 16), version = (int64_t)dp_be64(v->map + 24);
	if (type != 1)
		return dp_fail(err, DP_E_UNSUPPORTED, 16, "flattened header: type %lld, only 1 is known",
			       (long long)type);
	if (version != 1)
		return dp_fail(err, DP_E_UNSUPPORTED, 24, "flattened header: version %lld, only 1 is known",
			       (long long)version);
	v->flat = true;
	size_t cap = 0;
	uint64_t pos = FLAT_HDR;
	bool sorted = true;
	for (;;) {
		if (pos == v->size)
			break; /* no end marker: truncated, reported when bytes are missing */
		if (v->size - pos < FLAT_REC) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)pos,
				       "flattened record header: %llu bytes left, 16 needed",
				       (unsigned long long)(v->size - pos));
		}
		/* a record header in (nearly) every page of the file: pread them
		 * rather than fault every page in on this one thread */
		uint8_t rh[FLAT_REC];
		if (v->fd < 0 || pread(v->fd, rh, sizeof rh, (off_t)pos) != (ssize_t)sizeof rh)
			memcpy(rh, v->map + pos, sizeof rh);
		int64_t off = (int64_t)dp_be64(rh), len = (int64_t)dp_be64(rh + 8);
		if (off == -1 && len == -1) {
			v->flat_end = true;
			v->flat_end_at = pos;
			break;
		}
		if (off < 0 || len <= 0) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
				       "flattened record: offset %lld, size %lld (offset must be >= 0, size > 0)",
				       (long long)off, (long long)len);
		}
		uint64_t end;
		if (dp_add_overflows((uint64_t)off, (uint64_t)len, &end)) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
				       "flattened record: offset %lld + size %lld overflows", (long long)off,
				       (long long)len);
		}
		if ((uint64_t)len > v->size - pos - FLAT_REC) {
			/* keep what is there: the records before are usable for a message */
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
				       "flattened record at offset %llu: %lld bytes of data, only %llu in the file",
				       (unsigned long long)pos, (long long)len,
				       (unsigned long long)(v->size - pos - FLAT_REC));
		}
		if (dp_grow((void **)&v->segs, &cap, v->nsegs + 1, sizeof *v->segs))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		if (v->nsegs && (uint64_t)off < v->segs[v->nsegs - 1].voff + v->segs[v->nsegs - 1].len)
			sorted = false;
		v->segs[v->nsegs++] = (struct seg){ (uint64_t)off, (uint64_t)len, pos + FLAT_REC };
		if (end > v->vsize)
			v->vsize = end;
		pos += FLAT_REC + (uint64_t)len;
	}
	v->nrecords = v->nsegs;
	if (v->nsegs == 0)
		return dp_fail(err, v->flat_end ? DP_E_CORRUPT : DP_E_TRUNCATED, (int64_t)pos,
			       "flattened file holds no records");
	if (!sorted) {
		/* out of order or overlapping: resolve in write order */
		int rc = resolve_overlaps(v, err);
		if (rc)
			return rc;
	}
	/* merge records that continue each other in both files */
	size_t w = 0;
	for (size_t i = 0; i < v->nsegs; i++) {
		if (w && v->segs[w - 1].voff + v->segs[w - 1].len == v->segs[i].voff &&
		    v->segs[w - 1].foff + v->segs[w - 1].len == v->segs[i].foff)
			v->segs[w - 1].len += v->segs[i].len;
		else
			v->segs[w++] = v->segs[i];
	}
	v->nsegs = w;
	return DP_OK;
}

/* ---- headers ---- */

static bool is_64bit_machine(const char *m)
{
	static const char *const l[] = { "x86_64", "aarch64", "arm64", "ppc64", "ppc64le", "s390x",
					 "riscv64", "loongarch64", "mips64", "sparc64", "ia64", "alpha" };
	for (size_t i = 0; i < sizeof l / sizeof *l; i++)
		if (strcmp(m, l[i]) == 0)
			return true;
	return false;
}

static bool is_32bit_machine(const char *m)
{
	return strcmp(m, "i386") == 0 || strcmp(m, "i686") == 0 || strncmp(m, "arm", 3) == 0 ||
	       strcmp(m, "ppc") == 0 || strcmp(m, "mips") == 0 || strcmp(m, "s390") == 0 ||
	       strcmp(m, "riscv32") == 0;
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = 0;
}

/* Try one layout of the main header; 0 when plausible.  Both layouts:
 * signature[8], header_version (int), utsname (6 x 65 chars); then 64-bit:
 * timestamp (2 longs) at 0x198, status 0x1A8, block_size 0x1AC, sub_hdr_size
 * 0x1B0 (blocks), bitmap_blocks 0x1B4 (both bitmaps), max_mapnr 0x1B8 (u32,
 * obsolete from v6), total_ram/device/written blocks, current_cpu, nr_cpus
 * 0x1CC; 32-bit: the same fields from status at 0x19C, nr_cpus at 0x1C0. */
static int try_layout(struct kd *k, const uint8_t *h, bool is64, bool be)
{
	k->is64 = is64;
	k->be = be;
	k->version = g32(k, h + 8);
	const uint8_t *t = h + (is64 ? 0x1A8 : 0x19C);
	k->status = g32(k, t);
	k->bs = g32(k, t + 4);
	k->sub_blocks = g32(k, t + 8);
	k->bitmap_blocks = g32(k, t + 12);
	k->max_mapnr = g32(k, t + 16);
	k->nr_cpus = g32(k, h + (is64 ? 0x1CC : 0x1C0));
	if (k->version > 100)
		return -1;
	if (k->bs < 1024 || k->bs > (1u << 20) || (k->bs & (k->bs - 1)))
		return -1;
	if (k->bitmap_blocks == 0 || k->bitmap_blocks > (1u << 30))
		return -1;
	if (k->version >= 1 && !k->diskdump && (k->sub_blocks == 0 || k->sub_blocks > (1u << 20)))
		return -1;
	if (k->nr_cpus > 65536)
		return -1;
	return 0;
}

static int parse_header(struct dp_dump *d, struct kd *k, const struct kview *v, struct dp_error *err)
{
	uint8_t h[0x1D0];
	int rc = kv_read(v, 0, h, sizeof h, "kdump main header", err);
	if (rc)
		return rc;
	k->diskdump = memcmp(h, DISKDUMP_SIG, 8) == 0;
	if (!k->diskdump && memcmp(h, KD_SIG, 8) != 0)
		return dp_fail(err, DP_E_CORRUPT, file_off(v, 0), "kdump main header: signature is not \"KDUMP   \"");
	/* utsname: sysname, nodename, release, version, machine, domainname (65 bytes each) */
	copy_str(k->sysname, h + 0x0C, 65);
	copy_str(k->nodename, h + 0x0C + 65, 65);
	copy_str(k->release, h + 0x0C + 130, 65);
	copy_str(k->machine, h + 0x0C + 260, 65);
	bool first64 = is_64bit_machine(k->machine) || !is_32bit_machine(k->machine);
	static const bool order_be[2] = { false, true };
	for (int pass = 0; pass < 2; pass++) {
		bool is64 = pass == 0 ? first64 : !first64;
		for (int e = 0; e < 2; e++)
			if (try_layout(k, h, is64, order_be[e]) == 0)
				goto found;
	}
	return dp_fail(err, DP_E_CORRUPT, file_off(v, 8),
		       "kdump main header: no 32- or 64-bit layout gives a plausible header version, "
		       "block size (a power of two), sub-header size and bitmap size");
found:
	if (k->version > 6)
		dp_add_warning(d, "kdump header version %u is newer than 6 (the newest known); read as 6",
			       k->version);
	return DP_OK;
}

/* The sub header at block 1 (64-bit offsets): phys_base, dump_level (v1),
 * split, start_pfn, end_pfn (v2), offset/size of VMCOREINFO (v3), of the ELF
 * notes (v4), of the eraseinfo log (v5), start_pfn_64, end_pfn_64,
 * max_mapnr_64 (v6).  32-bit: longs are 4 bytes and the 64-bit fields are
 * packed (i386, QEMU) or 8-aligned (ARM, MIPS). */
static int parse_sub_header(struct kd *k, const struct part *p, struct dp_error *err)
{
	const struct kview *v = &p->v;
	uint8_t s[0x70];
	memset(s, 0, sizeof s);
	k->start_pfn = 0;
	k->end_pfn = UINT64_MAX;
	if (k->version == 0 || k->diskdump) {
		k->dump_level = 0;
		return DP_OK;
	}
	uint64_t need = k->is64 ? 0x68 : 0x60;
	if ((uint64_t)k->sub_blocks * k->bs < need && k->version >= 6)
		return dp_fail(err, DP_E_CORRUPT, file_off(v, k->bs),
			       "kdump sub header: %u block(s) cannot hold the version-%u fields",
			       k->sub_blocks, k->version);
	uint64_t avail = (uint64_t)k->sub_blocks * k->bs;
	size_t n = (size_t)(avail < sizeof s ? avail : sizeof s);
	int rc = kv_read(v, k->bs, s, n, "kdump sub header", err);
	if (rc)
		return rc;
	k->phys_base = gword(k, s);
	if (k->is64) {
		k->dump_level = g32(k, s + 0x08);
		k->split = g32(k, s + 0x0C);
		k->start_pfn = g64(k, s + 0x10);
		k->end_pfn = g64(k, s + 0x18);
		k->off_vmcoreinfo = g64(k, s + 0x20);
		k->size_vmcoreinfo = g64(k, s + 0x28);
		k->off_note = g64(k, s + 0x30);
		k->size_note = g64(k, s + 0x38);
		k->off_erase = g64(k, s + 0x40);
		k->size_erase = g64(k, s + 0x48);
		if (k->version >= 6) {
			k->start_pfn = g64(k, s + 0x50);
			k->end_pfn = g64(k, s + 0x58);
			k->max_mapnr = g64(k, s + 0x60);
		}
	} else {
		k->dump_level = g32(k, s + 0x04);
		k->split = g32(k, s + 0x08);
		k->start_pfn = g32(k, s + 0x0C);
		k->end_pfn = g32(k, s + 0x10);
		/* "pack" (i386, QEMU) or "pad" (64-bit fields 8-aligned: ARM, MIPS) */
		uint64_t lo = k->bs, hi = (uint64_t)(1 + k->sub_blocks) * k->bs;
		uint64_t o = g64(k, s + 0x14), z = g32(k, s + 0x1C);
		bool pack_ok = o >= lo && o < hi && z <= hi - o;
		uint64_t o2 = g64(k, s + 0x18), z2 = g32(k, s + 0x20);
		bool pad_ok = o2 >= lo && o2 < hi && z2 <= hi - o2;
		k->pad32 = k->version >= 3 && !pack_ok && pad_ok;
		const uint8_t *q = s + (k->pad32 ? 0x18 : 0x14);
		k->off_vmcoreinfo = g64(k, q);
		k->size_vmcoreinfo = g32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		k->off_note = g64(k, q);
		k->size_note = g32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		k->off_erase = g64(k, q);
		k->size_erase = g32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		if (k->version >= 6) {
			k->start_pfn = g64(k, q);
			k->end_pfn = g64(k, q + 8);
			k->max_mapnr = g64(k, q + 16);
		}
	}
	if (k->version < 2)
		k->split = 0;
	if (k->version < 3)
		k->off_vmcoreinfo = k->size_vmcoreinfo = 0;
	if (k->version < 4)
		k->off_note = k->size_note = 0;
	if (k->version < 5)
		k->off_erase = k->size_erase = 0;
	if (!k->split) {
		k->start_pfn = 0;
		k->end_pfn = UINT64_MAX;
	}
	return DP_OK;
}

/* The page classes a dump level filters out.  Bit 0 (zero pages) is not
 * among them: in this format zero pages keep a descriptor of the shared
 * zero page, so they are still counted, as zero. */
static const char *level_words(uint32_t l, char *buf, size_t n)
{
	static const char *const w[] = { "zero", "cache", "cache-private", "user", "free" };
	buf[0] = 0;
	for (int i = 1; i < 5; i++)
		if (l & (1u << i)) {
			size_t len = strlen(buf);
			snprintf(buf + len, n - len, "%s%s", len ? ", " : "", w[i]);
		}
	if (!buf[0])
		snprintf(buf, n, "nothing");
	return buf;
}

/* ---- bitmaps, descriptors ---- */

static int load_bitmaps(struct kd *k, const struct kview *v, struct dp_error *err)
{
	uint64_t bm_off, total, end;
	if (mul_overflows((uint64_t)1 + k->sub_blocks, k->bs, &bm_off) ||
	    mul_overflows(k->bitmap_blocks, k->bs, &total) || dp_add_overflows(bm_off, total, &end))
		return dp_fail(err, DP_E_CORRUPT, file_off(v, 0x1A8),
			       "kdump main header: sub-header and bitmap sizes overflow");
	/* two bitmaps when half of them still covers every frame (crash's test) */
	uint64_t half_bits = (uint64_t)(k->bitmap_blocks / 2) * k->bs * 8;
	k->two_bitmaps = k->bitmap_blocks >= 2 && k->bitmap_blocks % 2 == 0 && half_bits >= k->max_mapnr;
	if (!k->two_bitmaps && !k->diskdump)
		return dp_fail(err, DP_E_CORRUPT, file_off(v, k->is64 ? 0x1B4 : 0x1A8),
			       "kdump bitmaps: %u bitmap block(s) of %u bytes cannot hold two bitmaps of "
			       "%llu frames",
			       k->bitmap_blocks, k->bs, (unsigned long long)k->max_mapnr);
	uint64_t lim = v->flat ? v->vsize : v->size;
	if (end > lim)
		return missing(v, bm_off, total, "kdump bitmaps", err);
	k->bm_len = k->two_bitmaps ? total / 2 : total;
	if (k->bm_len * 8 < k->max_mapnr)
		return dp_fail(err, DP_E_CORRUPT, file_off(v, k->is64 ? 0x1B4 : 0x1A8),
			       "kdump bitmaps: %llu bytes cannot cover %llu frames",
			       (unsigned long long)k->bm_len, (unsigned long long)k->max_mapnr);
	if (k->bm_len > SIZE_MAX / 2)
		return dp_fail(err, DP_E_UNSUPPORTED, file_off(v, bm_off), "kdump bitmaps too large");
	/* only the bits below max_mapnr matter */
	uint64_t use = (k->max_mapnr + 7) / 8;
	if (!v->flat) {
		const uint8_t *p = kv_get(v, bm_off, total, NULL, "kdump bitmaps", err);
		if (!p)
			return err->status;
		k->bm1 = p;
		k->bm2 = k->two_bitmaps ? p + k->bm_len : p;
	} else {
		/* the bitmaps must be in the records before memory is set aside for them */
		int rc = kv_check(v, bm_off, use, "kdump 1st bitmap", err);
		if (!rc && k->two_bitmaps)
			rc = kv_check(v, bm_off + k->bm_len, use, "kdump 2nd bitmap", err);
		if (rc)
			return rc;
		k->own_bm = malloc(use ? (size_t)use * 2 : 1);
		if (!k->own_bm)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the bitmaps");
		rc = kv_read(v, bm_off, k->own_bm, (size_t)use, "kdump 1st bitmap", err);
		if (!rc && k->two_bitmaps)
			rc = kv_read(v, bm_off + k->bm_len, k->own_bm + use, (size_t)use, "kdump 2nd bitmap", err);
		if (rc)
			return rc;
		k->bm1 = k->own_bm;
		k->bm2 = k->two_bitmaps ? k->own_bm + use : k->own_bm;
	}
	if (!v->flat)
		use = k->bm_len;
	k->bm_len = use;
	return DP_OK;
}

/* Number of set bits of the 2nd bitmap in [a, b). */
static uint64_t count2(const struct kd *k, uint64_t a, uint64_t b)
{
	uint64_t n = 0;
	if (b > k->max_mapnr)
		b = k->max_mapnr;
	uint64_t i = a;
	while (i < b && (i & 63)) {
		n += bit(k->bm2, i);
		i++;
	}
	for (; i + 64 <= b; i += 64)
		n += (uint64_t)__builtin_popcountll(word_at(k->bm2, k->bm_len, i / 64));
	for (; i < b; i++)
		n += bit(k->bm2, i);
	return n;
}

/* Next frame >= i below end with a bit set in either bitmap; end if none. */
static uint64_t next_frame(const struct kd *k, uint64_t i, uint64_t end)
{
	while (i < end) {
		uint64_t w = i / 64;
		uint64_t bits = word_at(k->bm1, k->bm_len, w) | word_at(k->bm2, k->bm_len, w);
		bits >>= (i & 63);
		if (bits)
			return i + (uint64_t)__builtin_ctzll(bits) < end ? i + (uint64_t)__builtin_ctzll(bits) : end;
		i = (w + 1) * 64;
	}
	return end;
}

static int get_desc(const struct kd *k, const struct part *p, uint64_t idx, struct desc *out,
		    struct dp_error *err)
{
	uint8_t buf[DESC_SIZE];
	const uint8_t *q = kv_get(&p->v, p->desc_off + idx * DESC_SIZE, DESC_SIZE, buf, "kdump page descriptor", err);
	if (!q)
		return err->status;
	out->off = g64(k, q);
	out->size = g32(k, q + 8);
	out->flags = g32(k, q + 12);
	return DP_OK;
}

/* Classify and check one descriptor against its file. */
static int check_desc(const struct kd *k, const struct part *p, uint64_t idx, const struct desc *ds,
		      enum kstate *st, struct dp_error *err)
{
	uint64_t at = p->desc_off + idx * DESC_SIZE;
	if (ds->off == 0) {
		*st = K_MISSING;
		return DP_OK;
	}
	if (ds->flags & ~F_CODECS)
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at + 12),
			       "kdump page descriptor %llu: unknown flags 0x%x", (unsigned long long)idx,
			       ds->flags);
	uint32_t codec = ds->flags & F_CODECS;
	if (codec & (codec - 1))
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at + 12),
			       "kdump page descriptor %llu: several compression flags (0x%x)",
			       (unsigned long long)idx, ds->flags);
	if (codec == 0 && ds->size != k->bs)
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at + 8),
			       "kdump page descriptor %llu: uncompressed page of %u bytes, the block size is %u",
			       (unsigned long long)idx, ds->size, k->bs);
	if (codec && (ds->size == 0 || ds->size > 2 * k->bs))
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at + 8),
			       "kdump page descriptor %llu: compressed size %u is 0 or more than twice the "
			       "block size %u",
			       (unsigned long long)idx, ds->size, k->bs);
	if (ds->off < p->desc_off + p->ndesc * DESC_SIZE)
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at),
			       "kdump page descriptor %llu: page data at offset %llu lies inside the headers, "
			       "bitmaps or descriptor table (which end at %llu): the bitmaps do not match the "
			       "descriptors",
			       (unsigned long long)idx, (unsigned long long)ds->off,
			       (unsigned long long)(p->desc_off + p->ndesc * DESC_SIZE));
	uint64_t end;
	if (dp_add_overflows(ds->off, ds->size, &end))
		return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at),
			       "kdump page descriptor %llu: offset %llu + size %u overflows",
			       (unsigned long long)idx, (unsigned long long)ds->off, ds->size);
	uint64_t lim = p->v.flat ? p->v.vsize : p->v.size;
	if (end > lim) {
		if (p->v.flat && p->v.flat_end)
			return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, at),
				       "kdump page descriptor %llu: page data at kdump offset %llu..%llu lies "
				       "past the end of the dump (%llu bytes)",
				       (unsigned long long)idx, (unsigned long long)ds->off,
				       (unsigned long long)end, (unsigned long long)lim);
		return dp_fail(err, DP_E_TRUNCATED, file_off(&p->v, at),
			       "kdump page descriptor %llu: page data at offset %llu..%llu lies past the end "
			       "of the file (%llu bytes)",
			       (unsigned long long)idx, (unsigned long long)ds->off, (unsigned long long)end,
			       (unsigned long long)lim);
	}
	if (p->v.flat) {
		size_t i = seg_find(&p->v, ds->off);
		if (i >= p->v.nsegs || p->v.segs[i].voff > ds->off) {
			return missing(&p->v, ds->off, ds->size, "kdump page data", err);
		}
	}
	*st = (codec == 0 && ds->off == p->zero_off) ? K_ZERO : K_DATA;
	return DP_OK;
}

/* ---- split parts ---- */

static int map_file(const char *path, struct kview *v, struct dp_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "split part %s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "split part %s: not a regular, non-empty file", path);
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "split part %s: cannot map: %s", path, strerror(errno));
	}
	v->map = m;
	v->size = (uint64_t)st.st_size;
	v->own_map = m;
	v->own_len = (size_t)st.st_size;
	v->path = path;
	v->fd = fd;
	int rc = DP_OK;
	if (v->size >= 16 && memcmp(m, FLAT_SIG, 16) == 0)
		rc = flat_parse(v, err);
	else
		v->vsize = v->size;
	close(fd);
	v->fd = -1;
	return rc;
}

/* Header fields that must agree between parts of one split dump: the main
 * header, and phys_base, dump_level and split of the sub header. */
static bool same_dump(const struct kview *a, const struct kview *b, uint32_t bs, bool is64)
{
	uint8_t x[0x1D0], y[0x1D0], sx[16], sy[16];
	struct dp_error e;
	if (kv_read(a, 0, x, sizeof x, "", &e) || kv_read(b, 0, y, sizeof y, "", &e))
		return false;
	if (memcmp(x, y, sizeof x) != 0)
		return false;
	/* phys_base, dump_level, split */
	if (kv_read(a, bs, sx, sizeof sx, "", &e) || kv_read(b, bs, sy, sizeof sy, "", &e))
		return false;
	return memcmp(sx, sy, is64 ? 16 : 12) == 0;
}

static int add_part(struct kd *k, const char *path, struct dp_error *err)
{
	if (k->nparts >= MAX_PARTS)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "more than %d split parts", MAX_PARTS);
	struct part *p = &k->parts[k->nparts];
	memset(p, 0, sizeof *p);
	p->zero_off = UINT64_MAX;
	p->v.fd = -1;
	p->path = strdup(path);
	if (!p->path)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	k->nparts++;
	return map_file(p->path, &p->v, err);
}

static int cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	return x->start_pfn < y->start_pfn ? -1 : x->start_pfn > y->start_pfn;
}

/* Whether path names the file st describes. */
static bool same_file(const char *path, const struct stat *st)
{
	struct stat x;
	return path && stat(path, &x) == 0 && x.st_ino == st->st_ino && x.st_dev == st->st_dev;
}

/* Take path as a part when it is a plain kdump file with the same headers,
 * not yet among the parts. */
static int try_part(struct dp_dump *d, struct kd *k, const char *path, struct dp_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 4096)
		return DP_OK;
	for (size_t i = 0; i < k->nparts; i++)
		if (same_file(k->parts[i].path ? k->parts[i].path : d->path, &st))
			return DP_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return DP_OK;
	uint8_t m[16];
	ssize_t n = pread(fd, m, sizeof m, 0);
	close(fd);
	if (n != 16 || memcmp(m, KD_SIG, 8) != 0) /* makedumpfile --split writes plain files */
		return DP_OK;
	struct kview v = { .fd = -1 };
	struct dp_error e;
	int rc = DP_OK;
	if (map_file(path, &v, &e) == DP_OK && same_dump(&k->parts[0].v, &v, k->bs, k->is64))
		rc = add_part(k, path, err);
	view_free(&v);
	return rc;
}

/* Whether part p is one of the files the caller gave (the opened file always is). */
static bool part_given(const struct dp_dump *d, const struct part *p)
{
	if (!p->path)
		return true;
	struct stat st;
	if (stat(p->path, &st) < 0)
		return false;
	for (size_t i = 0; i < d->opt.ngiven; i++)
		if (same_file(d->opt.given[i], &st))
			return true;
	return false;
}

/* Candidate files beside `path` (and given with it) that look like parts of the same dump. */
static int find_parts(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	char *dir = strdup(d->path);
	if (!dir)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	char *slash = strrchr(dir, '/');
	const char *dname = ".";
	if (slash) {
		*slash = 0;
		dname = slash == dir ? "/" : dir;
	}
	struct stat self;
	if (stat(d->path, &self) < 0) {
		free(dir);
		return DP_OK;
	}
	DIR *dh = opendir(dname);
	struct dirent *de;
	int rc = DP_OK;
	while (dh && !rc && (de = readdir(dh))) {
		char full[4096];
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(full, sizeof full, "%s/%s", dname, de->d_name) >= sizeof full)
			continue;
		rc = try_part(d, k, full, err);
	}
	if (dh)
		closedir(dh);
	/* the files given with this one, wherever they are */
	for (size_t i = 0; i < d->opt.ngiven && !rc; i++)
		if (d->opt.given[i])
			rc = try_part(d, k, d->opt.given[i], err);
	free(dir);
	return rc;
}

static int setup_parts(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	const struct dp_options *o = &d->opt;
	/* where this file says it is one part (sub header: split, start/end frame) */
	const int64_t at = file_off(&k->parts[0].v, (uint64_t)k->bs + (k->is64 ? 0x0C : 0x08));
	int rc;
	if (o->parts && o->nparts) {
		for (size_t i = 0; i < o->nparts && i < MAX_PARTS; i++) {
			struct stat self;
			if (stat(d->path, &self) == 0 && same_file(o->parts[i], &self))
				continue; /* the file being opened */
			if ((rc = add_part(k, o->parts[i], err)))
				return rc;
			if (!same_dump(&k->parts[0].v, &k->parts[k->nparts - 1].v, k->bs, k->is64))
				return dp_fail(err, DP_E_USAGE, at,
					       "%s is not a part of the same split dump (headers differ)",
					       o->parts[i]);
		}
	} else if (strcmp(d->path, "-") != 0) {
		if ((rc = find_parts(d, k, err)))
			return rc;
	}
	/* every part's own range */
	for (size_t i = 0; i < k->nparts; i++) {
		struct kd tmp = *k;
		tmp.own_bm = NULL;
		if ((rc = parse_sub_header(&tmp, &k->parts[i], err))) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "%s", err->msg);
			dp_fail(err, err->status, err->offset, "%s: %s", k->parts[i].path ? k->parts[i].path : d->path,
				msg);
			return rc;
		}
		k->parts[i].start_pfn = tmp.start_pfn;
		k->parts[i].end_pfn = tmp.end_pfn;
	}
	/* the frames are read through the first file's bitmaps: every part must have the same */
	uint64_t bm_off = (uint64_t)(1 + k->sub_blocks) * k->bs;
	uint8_t *tmpb = malloc(k->bm_len ? (size_t)k->bm_len : 1);
	if (!tmpb)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t i = 1; i < k->nparts; i++) {
		const struct kview *pv = &k->parts[i].v;
		for (int b = 0; b < (k->two_bitmaps ? 2 : 1); b++) {
			uint64_t full = k->two_bitmaps ? (uint64_t)(k->bitmap_blocks / 2) * k->bs
							: (uint64_t)k->bitmap_blocks * k->bs;
			rc = kv_read(pv, bm_off + (uint64_t)b * full, tmpb, (size_t)k->bm_len, "split part bitmap", err);
			if (!rc && memcmp(tmpb, b ? k->bm2 : k->bm1, (size_t)k->bm_len) != 0)
				rc = dp_fail(err, DP_E_CORRUPT, file_off(pv, bm_off + (uint64_t)b * full),
					     "split part %s: its %s bitmap differs from the one of %s", k->parts[i].path,
					     b ? "2nd" : "1st", d->path);
			if (rc) {
				free(tmpb);
				return rc;
			}
		}
	}
	free(tmpb);
	struct part first = k->parts[0];
	qsort(k->parts, k->nparts, sizeof *k->parts, cmp_part);
	/* the ranges must tile [0, max_mapnr) without overlap */
	uint64_t pos = 0;
	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];
		if (p->end_pfn > k->max_mapnr)
			p->end_pfn = k->max_mapnr;
		if (p->start_pfn > pos)
			return dp_fail(err, DP_E_USAGE, at,
				       "split dump: no part holds frames %llu..%llu (found %zu part(s)%s); "
				       "give every file of the dump",
				       (unsigned long long)pos, (unsigned long long)p->start_pfn, k->nparts,
				       o->parts ? "" : o->given ? " beside this file or given with it" : " beside this file");
		if (p->start_pfn < pos)
			return dp_fail(err, DP_E_CORRUPT, at,
				       "split dump: parts overlap at frame %llu (%s)", (unsigned long long)p->start_pfn,
				       p->path ? p->path : d->path);
		pos = p->end_pfn > pos ? p->end_pfn : pos;
	}
	if (pos < k->max_mapnr)
		return dp_fail(err, DP_E_USAGE, at,
			       "split dump: no part holds frames %llu..%llu (found %zu part(s)%s); give every "
			       "file of the dump",
			       (unsigned long long)pos, (unsigned long long)k->max_mapnr, k->nparts,
			       o->parts ? "" : o->given ? " beside this file or given with it" : " beside this file");
	/* one file reads the dump, so that giving every part as a dump of its
	 * own does not count it twice: the first part, or with the list of
	 * files given together, the given part with the lowest frames */
	if (o->parts)
		return DP_OK;
	size_t reader = 0;
	if (o->given)
		while (reader < k->nparts && !part_given(d, &k->parts[reader]))
			reader++;
	if (reader < k->nparts && k->parts[reader].v.map == first.v.map)
		return DP_OK;
	const char *by = reader < k->nparts && k->parts[reader].path ? k->parts[reader].path : "?";
	if (o->given)
		return dp_fail(err, DP_E_SPLIT_PART, DP_NO_OFFSET,
			       "part %llu..%llu of a split dump, read with %s", (unsigned long long)first.start_pfn,
			       (unsigned long long)first.end_pfn, by);
	return dp_fail(err, DP_E_USAGE, at,
		       "part %llu..%llu of a split dump: its first part %s reads all parts; give only that one",
		       (unsigned long long)first.start_pfn, (unsigned long long)first.end_pfn, by);
}

/* ---- input ---- */

/* A pipe or a compressed file: copy it to an unlinked temporary file. */
static int spool(struct dp_dump *d, struct kview *v, struct dp_error *err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char name[4096];
		snprintf(name, sizeof name, "%s/samepage-kdump.XXXXXX", tmp);
		fd = mkstemp(name);
		if (fd >= 0)
			unlink(name);
	}
	if (fd < 0)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot create a temporary file in %s: %s", tmp,
			       strerror(errno));
	uint8_t *buf = malloc(SPOOL_CHUNK);
	if (!buf) {
		close(fd);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	uint64_t off = 0;
	int rc = DP_OK;
	for (;;) {
		size_t got = SPOOL_CHUNK;
		rc = dp_src_read(d, off, buf, SPOOL_CHUNK, "input", err);
		if (rc == DP_E_TRUNCATED && d->src.size != UINT64_MAX && d->src.size >= off) {
			got = (size_t)(d->src.size - off);
			rc = DP_OK;
		} else if (rc) {
			break;
		}
		size_t w = 0;
		while (w < got) {
			ssize_t n = write(fd, buf + w, got - w);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = dp_fail(err, DP_E_IO, DP_NO_OFFSET, "writing the temporary copy in %s: %s", tmp,
					     strerror(n < 0 ? errno : ENOSPC));
				break;
			}
			w += (size_t)n;
		}
		off += got;
		if (rc || got < SPOOL_CHUNK)
			break;
	}
	free(buf);
	if (!rc && off == 0)
		rc = dp_fail(err, DP_E_CORRUPT, 0, "input is empty");
	if (!rc && off > SIZE_MAX)
		rc = dp_fail(err, DP_E_IO, DP_NO_OFFSET, "input too large to map");
	if (rc) {
		close(fd);
		return rc;
	}
	void *m = mmap(NULL, (size_t)off, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot map the temporary copy: %s", strerror(errno));
	v->map = m;
	v->size = off;
	v->own_map = m;
	v->own_len = (size_t)off;
	return DP_OK;
}

/* ---- open ---- */

static void kd_free(struct kd *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nparts; i++) {
		view_free(&k->parts[i].v);
		free(k->parts[i].path);
	}
	free(k->parts);
	free(k->own_bm);
	free(k->units);
	free(k);
}

static void kdump_close(struct dp_dump *d)
{
	kd_free(d->priv);
	d->priv = NULL;
}

static int add_range(struct dp_dump *d, uint64_t pfn, uint64_t n, enum dp_page_state st, struct dp_error *err)
{
	if (d->nranges) {
		struct dp_range *l = &d->ranges[d->nranges - 1];
		if (l->state == st && l->pfn + l->npages == pfn) {
			l->npages += n;
			return DP_OK;
		}
	}
	if (dp_grow((void **)&d->ranges, &d->cap_ranges, d->nranges + 1, sizeof *d->ranges))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, st, UINT64_MAX };
	return DP_OK;
}

static int add_unit(struct kd *k, size_t *cap, struct unit u, struct dp_error *err)
{
	if (dp_grow((void **)&k->units, cap, k->nunits + 1, sizeof *k->units))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	k->units[k->nunits++] = u;
	return DP_OK;
}

/* Walk every frame once: check every descriptor, count, build ranges and units. */
static int index_frames(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	size_t cap = 0;
	uint32_t per_unit = DP_UNIT_PAGES / k->ratio ? DP_UNIT_PAGES / k->ratio : 1;
	for (size_t pi = 0; pi < k->nparts; pi++) {
		struct part *p = &k->parts[pi];
		uint64_t idx = 0, end = p->end_pfn;
		struct unit cur = { 0 };
		bool open_unit = false;
		for (uint64_t f = next_frame(k, p->start_pfn, end); f < end; f = next_frame(k, f + 1, end)) {
			if (!open_unit || cur.nblocks == per_unit) {
				if (open_unit) {
					int rc = add_unit(k, &cap, cur, err);
					if (rc)
						return rc;
				}
				cur = (struct unit){ (uint32_t)pi, f, idx, 0 };
				open_unit = true;
			}
			cur.nblocks++;
			enum kstate st = K_FILTERED;
			bool in1 = bit(k->bm1, f), in2 = bit(k->bm2, f);
			if (in2) {
				if (idx >= p->ndesc)
					return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "kdump bitmaps changed");
				struct desc ds;
				int rc = get_desc(k, p, idx, &ds, err);
				if (!rc)
					rc = check_desc(k, p, idx, &ds, &st, err);
				if (rc)
					return rc;
				idx++;
				if (!in1)
					k->n_orphan++;
				switch (st) {
				case K_ZERO: k->n_zero++; break;
				case K_MISSING: k->n_missing++; break;
				default:
					d->info.data_bytes += ds.size;
					switch (ds.flags & F_CODECS) {
					case F_ZLIB: k->n_zlib++; break;
					case F_LZO: k->n_lzo++; break;
					case F_SNAPPY: k->n_snappy++; break;
					case F_ZSTD: k->n_zstd++; break;
					default: k->n_raw++;
					}
				}
			} else {
				k->n_filtered++;
			}
			bool absent = st == K_FILTERED || st == K_MISSING;
			if (absent)
				d->info.absent_pages += k->ratio;
			else
				d->info.pages += k->ratio;
			int rc = add_range(d, f * k->ratio, k->ratio, absent ? DP_PAGE_ABSENT : DP_PAGE_DATA, err);
			if (rc)
				return rc;
		}
		if (open_unit) {
			int rc = add_unit(k, &cap, cur, err);
			if (rc)
				return rc;
		}
	}
	return DP_OK;
}

static int open_common(struct dp_dump *d, bool want_flat, struct dp_error *err)
{
	struct kd *k = calloc(1, sizeof *k);
	if (!k)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->priv = k;
	k->parts = calloc(MAX_PARTS, sizeof *k->parts);
	if (!k->parts)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	k->nparts = 1;
	struct part *p0 = &k->parts[0];
	p0->zero_off = UINT64_MAX;
	p0->v.path = d->path;
	p0->v.fd = -1;
	int rc;
	bool spooled = false;
	if (dp_src_random(d)) {
		p0->v.map = d->src.map;
		p0->v.size = d->src.size;
		p0->v.fd = d->src.fd;
	} else {
		if ((rc = spool(d, &p0->v, err)))
			return rc;
		spooled = true;
	}
	if (want_flat) {
		if ((rc = flat_parse(&p0->v, err)))
			return rc;
	} else {
		p0->v.vsize = p0->v.size;
	}
	if ((rc = parse_header(d, k, &p0->v, err)))
		return rc;
	if ((rc = parse_sub_header(k, p0, err)))
		return rc;
	if (k->max_mapnr == 0)
		return dp_fail(err, DP_E_CORRUPT,
			       file_off(&p0->v, k->version >= 6 ? k->bs : (uint64_t)(k->is64 ? 0x1B8 : 0x1AC)),
			       "kdump %s: max_mapnr is 0 (no frames)", k->version >= 6 ? "sub header" : "main header");
	if ((rc = load_bitmaps(k, &p0->v, err)))
		return rc;

	/* frame size */
	uint32_t ps = d->opt.page_size ? d->opt.page_size : k->bs;
	if (ps > k->bs)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			       "page size %u is larger than this dump's block size %u: analyze with %u or less",
			       ps, k->bs, k->bs);
	k->ps = ps;
	k->ratio = k->bs / ps;
	d->info.page_size = ps;
	d->info.native_page_size = k->bs;

	if (k->split) {
		if ((rc = setup_parts(d, k, err)))
			return rc;
	} else {
		p0->start_pfn = 0;
		p0->end_pfn = k->max_mapnr;
	}
	/* descriptor tables; the shared zero page follows each one */
	uint64_t desc_off;
	if (mul_overflows((uint64_t)1 + k->sub_blocks + k->bitmap_blocks, k->bs, &desc_off))
		return dp_fail(err, DP_E_CORRUPT, file_off(&p0->v, 0x1A8), "kdump main header: sizes overflow");
	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];
		p->desc_off = desc_off;
		p->ndesc = count2(k, p->start_pfn, p->end_pfn);
		uint64_t len, end;
		if (mul_overflows(p->ndesc, DESC_SIZE, &len) || dp_add_overflows(desc_off, len, &end))
			return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, 0x1A8), "kdump descriptor table size overflows");
		uint64_t lim = p->v.flat ? p->v.vsize : p->v.size;
		if (end > lim)
			return dp_fail(err, p->v.flat && p->v.flat_end ? DP_E_CORRUPT : DP_E_TRUNCATED,
				       (int64_t)p->v.size,
				       "%s%skdump page descriptors: %llu descriptors at offset %llu end at %llu, past "
				       "the end of the %s (%llu bytes)",
				       p->path ? p->path : "", p->path ? ": " : "", (unsigned long long)p->ndesc,
				       (unsigned long long)desc_off, (unsigned long long)end,
				       p->v.flat ? "dump" : "file", (unsigned long long)lim);
		/* the shared zero page: a raw all-zero block right after the table */
		uint8_t *zb = malloc(k->bs);
		if (!zb)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		struct dp_error e2;
		const uint8_t *z = end + k->bs <= lim ? kv_get(&p->v, end, k->bs, zb, "", &e2) : NULL;
		if (z) {
			bool allzero = true;
			for (uint32_t j = 0; j < k->bs && allzero; j++)
				allzero = z[j] == 0;
			if (allzero)
				p->zero_off = end;
		}
		free(zb);
	}
	if ((rc = index_frames(d, k, err)))
		return rc;
	d->info.nunits = k->nunits;
	d->info.sequential = 0; /* mapped, or copied to a mapped temporary file */

	/* what --info says */
	const char *producer = !k->sysname[0] && !k->release[0] ? "QEMU dump-guest-memory"
			       : "makedumpfile";
	const char *codec = k->n_zlib ? "zlib" : k->n_lzo ? "lzo" : k->n_snappy ? "snappy"
			    : k->n_zstd ? "zstd" : "uncompressed";
	dp_set_variant(d, "%s%s v%u, %d-bit %s-endian %s, %s pages (%s)", want_flat ? "flattened " : "",
		       k->diskdump ? "diskdump" : "kdump-compressed", k->version, k->is64 ? 64 : 32,
		       k->be ? "big" : "little", k->machine[0] ? k->machine : "unknown machine", codec, producer);
	dp_add_detail(d, "header version", "%u%s", k->version, k->version > 6 ? " (newer than 6)" : "");
	dp_add_detail(d, "header layout", "%d-bit %s-endian%s", k->is64 ? 64 : 32, k->be ? "big" : "little",
		      k->is64 ? "" : k->pad32 ? ", padded sub header" : ", packed sub header");
	dp_add_detail(d, "block size", "%u", k->bs);
	if (k->release[0] || k->nodename[0])
		dp_add_detail(d, "kernel", "%s %s on %s", k->sysname, k->release, k->nodename);
	dp_add_detail(d, "machine", "%s, %u cpu(s)", k->machine[0] ? k->machine : "unknown", k->nr_cpus);
	char lw[96];
	if (k->version >= 1)
		dp_add_detail(d, "dump level", "%u (filtered out: %s%s)", k->dump_level,
			      level_words(k->dump_level, lw, sizeof lw),
			      (k->dump_level & 1) ? "; zero pages stored once and shared" : "");
	dp_add_detail(d, "max_mapnr", "%llu frames of %u bytes", (unsigned long long)k->max_mapnr, k->bs);
	dp_add_detail(d, "pages stored", "%llu zlib, %llu lzo, %llu snappy, %llu zstd, %llu uncompressed, "
		      "%llu shared zero page",
		      (unsigned long long)k->n_zlib, (unsigned long long)k->n_lzo, (unsigned long long)k->n_snappy,
		      (unsigned long long)k->n_zstd, (unsigned long long)k->n_raw, (unsigned long long)k->n_zero);
	if (k->n_filtered)
		dp_add_detail(d, "filtered", "%llu frame(s) in the 1st bitmap only: excluded by the dump level "
			      "(absent)", (unsigned long long)k->n_filtered);
	if (want_flat)
		dp_add_detail(d, "flattened", "format version 1, %zu record(s)%s", p0->v.nrecords,
			      p0->v.flat_end ? "" : ", no end marker");
	if (spooled)
		dp_add_detail(d, "input", "read through a temporary copy (%llu bytes)",
			      (unsigned long long)p0->v.size);
	if (k->split) {
		for (size_t i = 0; i < k->nparts; i++)
			dp_add_detail(d, "split part", "%s: frames %llu..%llu, %llu descriptors",
				      k->parts[i].path ? k->parts[i].path : d->path,
				      (unsigned long long)k->parts[i].start_pfn,
				      (unsigned long long)k->parts[i].end_pfn, (unsigned long long)k->parts[i].ndesc);
	}
	if (k->n_filtered || k->dump_level > 1)
		dp_add_warning(d, "dump level %u (filtered out: %s): %llu frame(s) of RAM are not in the file and "
			       "are counted as absent, so the zero and absent page numbers (and every other "
			       "number) are biased against a full dump of the same memory",
			       k->dump_level, level_words(k->dump_level, lw, sizeof lw),
			       (unsigned long long)k->n_filtered * k->ratio);
	else if (k->dump_level == 1)
		dp_add_detail(d, "zero pages", "dump level 1 keeps every zero page as a descriptor of the "
			      "shared zero page: counts are not biased");
	if (k->n_missing || (k->status & F_INCOMPLETE))
		dp_add_warning(d, "incomplete dump%s: %llu page descriptor(s) were never written (counted as "
			       "absent)",
			       (k->status & F_INCOMPLETE) ? " (header says so)" : "",
			       (unsigned long long)k->n_missing);
	if (k->n_orphan)
		dp_add_warning(d, "%llu frame(s) have a page descriptor but are not in the 1st bitmap (read "
			       "anyway)", (unsigned long long)k->n_orphan);
	if (k->size_erase)
		dp_add_warning(d, "the dump has an eraseinfo log: makedumpfile overwrote some kernel data, page "
			       "contents may differ from guest memory");
	if (k->status & F_VMEMMAP)
		dp_add_detail(d, "vmemmap", "unused vmemmap pages excluded (makedumpfile -e)");
	return DP_OK;
}

static int kdump_open(struct dp_dump *d, struct dp_error *err)
{
	return open_common(d, false, err);
}

static int flattened_open(struct dp_dump *d, struct dp_error *err)
{
	return open_common(d, true, err);
}

/* ---- reading ---- */

static int kdump_reader_open(struct dp_reader *r, struct dp_error *err)
{
	struct kreader *kr = calloc(1, sizeof *kr);
	if (!kr)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	r->priv = kr;
	return DP_OK;
}

static void kdump_reader_close(struct dp_reader *r)
{
	struct kreader *kr = r->priv;
	if (!kr)
		return;
	if (kr->zs_live)
		inflateEnd(&kr->zs);
	ZSTD_freeDCtx(kr->zd);
	free(kr->scratch);
	free(kr->descs);
	free(kr);
	r->priv = NULL;
}

static int bad_page(const struct part *p, uint64_t idx, const char *codec, const char *why, struct dp_error *err)
{
	return dp_fail(err, DP_E_CORRUPT, file_off(&p->v, p->desc_off + idx * DESC_SIZE),
		       "kdump page descriptor %llu: %s page does not decompress to exactly one block (%s)",
		       (unsigned long long)idx, codec, why);
}

static int decompress(struct kreader *kr, const struct kd *k, const struct part *p, uint64_t idx,
		      const struct desc *ds, const uint8_t *src, uint8_t *dst, struct dp_error *err)
{
	switch (ds->flags & F_CODECS) {
	case 0:
		memcpy(dst, src, k->bs);
		return DP_OK;
	case F_ZLIB: {
		if (!kr->zs_live) {
			if (inflateInit(&kr->zs) != Z_OK)
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "zlib: cannot initialise");
			kr->zs_live = true;
		} else {
			inflateReset(&kr->zs);
		}
		kr->zs.next_in = (Bytef *)(uintptr_t)src;
		kr->zs.avail_in = ds->size;
		kr->zs.next_out = dst;
		kr->zs.avail_out = k->bs;
		int zr = inflate(&kr->zs, Z_FINISH);
		if (zr == Z_STREAM_END && kr->zs.avail_out == 0)
			return DP_OK;
		if (zr == Z_STREAM_END)
			return bad_page(p, idx, "zlib", "too short", err);
		if (zr == Z_BUF_ERROR && kr->zs.avail_out == 0)
			return bad_page(p, idx, "zlib", "too long", err);
		return bad_page(p, idx, "zlib", kr->zs.msg ? kr->zs.msg : "corrupt or cut short", err);
	}
	case F_LZO: {
		lzo_uint n = k->bs;
		int lr = lzo1x_decompress_safe(src, ds->size, dst, &n, NULL);
		if (lr == LZO_E_OK && n == k->bs)
			return DP_OK;
		return bad_page(p, idx, "lzo",
				lr == LZO_E_OK ? "too short" : lr == LZO_E_OUTPUT_OVERRUN ? "too long"
				: lr == LZO_E_INPUT_NOT_CONSUMED ? "bytes left over" : "corrupt",
				err);
	}
	case F_SNAPPY: {
		size_t n = 0;
		if (snappy_uncompressed_length((const char *)src, ds->size, &n) != SNAPPY_OK)
			return bad_page(p, idx, "snappy", "corrupt length", err);
		if (n != k->bs)
			return bad_page(p, idx, "snappy", n < k->bs ? "too short" : "too long", err);
		if (snappy_uncompress((const char *)src, ds->size, (char *)dst, &n) != SNAPPY_OK || n != k->bs)
			return bad_page(p, idx, "snappy", "corrupt", err);
		return DP_OK;
	}
	case F_ZSTD: {
		if (!kr->zd && !(kr->zd = ZSTD_createDCtx()))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "zstd: cannot initialise");
		size_t n = ZSTD_decompressDCtx(kr->zd, dst, k->bs, src, ds->size);
		if (ZSTD_isError(n))
			return bad_page(p, idx, "zstd",
					ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? "too long"
											      : ZSTD_getErrorName(n),
					err);
		if (n != k->bs)
			return bad_page(p, idx, "zstd", "too short", err);
		return DP_OK;
	}
	}
	return bad_page(p, idx, "?", "unknown flags", err);
}

static int kdump_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	struct kd *k = d->priv;
	struct kreader *kr = r->priv;
	const struct unit *u = &k->units[unit];
	const struct part *p = &k->parts[u->part];
	size_t nframes = (size_t)u->nblocks * k->ratio;
	uint8_t *buf = dp_reader_buf(r, nframes * k->ps, err);
	uint8_t *st = dp_reader_states(r, nframes, err);
	uint64_t *pfns = dp_reader_pfns(r, nframes, err);
	if (!buf || !st || !pfns)
		return err->status;
	if (kr->ndesc_cap < u->nblocks) {
		free(kr->descs);
		kr->descs = malloc(u->nblocks * sizeof *kr->descs);
		kr->ndesc_cap = kr->descs ? u->nblocks : 0;
		if (!kr->descs)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	if (p->v.flat && kr->scratch_cap < 2u * k->bs) {
		free(kr->scratch);
		kr->scratch = malloc(2u * k->bs);
		if (!kr->scratch) {
			kr->scratch_cap = 0;
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		}
		kr->scratch_cap = 2u * k->bs;
	}
	/* pass 1: frames, states, descriptors, and the span of the file the
	 * compressed data lies in */
	uint64_t idx = u->desc, f = u->pfn;
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
	size_t out = 0;
	bool contiguous = true, uniform = true;
	for (uint32_t b = 0; b < u->nblocks; b++) {
		if (b)
			f = next_frame(k, f + 1, p->end_pfn);
		if (f >= p->end_pfn)
			return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "kdump unit %zu runs past its part", unit);
		struct kdesc *kd = &kr->descs[b];
		kd->state = K_FILTERED;
		kd->idx = UINT64_MAX;
		if (bit(k->bm2, f)) {
			enum kstate ks;
			int rc = get_desc(k, p, idx, &kd->ds, err);
			if (!rc)
				rc = check_desc(k, p, idx, &kd->ds, &ks, err);
			if (rc)
				return rc;
			kd->state = ks;
			kd->idx = idx++;
			if (ks == K_DATA) {
				int64_t fo = file_off(&p->v, kd->ds.off);
				if (fo >= 0) {
					lo = (uint64_t)fo < lo ? (uint64_t)fo : lo;
					hi = (uint64_t)fo + kd->ds.size > hi ? (uint64_t)fo + kd->ds.size : hi;
				}
				sum += kd->ds.size;
			}
		}
		uint8_t s = kd->state == K_DATA ? DP_PAGE_DATA : kd->state == K_ZERO ? DP_PAGE_ZERO : DP_PAGE_ABSENT;
		for (uint32_t i = 0; i < k->ratio; i++, out++) {
			st[out] = s;
			pfns[out] = f * k->ratio + i;
			if (out && pfns[out] != pfns[out - 1] + 1)
				contiguous = false;
			if (out && st[out] != st[0])
				uniform = false;
		}
	}
	/* map the unit's compressed bytes in one call rather than a page fault
	 * every few pages (when they lie together, as producers write them) */
	if (hi > lo && hi <= p->v.size && hi - lo <= 2 * sum + 65536)
		dp_src_prefault(p->v.map + lo, (size_t)(hi - lo));
	/* pass 2: decompress */
	for (uint32_t b = 0; b < u->nblocks; b++) {
		const struct kdesc *kd = &kr->descs[b];
		if (kd->state != K_DATA)
			continue;
		const uint8_t *src = kv_get(&p->v, kd->ds.off, kd->ds.size, kr->scratch, "kdump page data", err);
		if (!src)
			return err->status;
		int rc = decompress(kr, k, p, kd->idx, &kd->ds, src, buf + (size_t)b * k->ratio * k->ps, err);
		if (rc)
			return rc;
		c->bytes += kd->ds.size;
	}
	/* the compressed bytes were copied out: do not keep them mapped (the
	 * process would grow to the size of the file) */
	if (hi > lo && hi <= p->v.size && hi - lo <= 2 * sum + 65536)
		dp_src_release(p->v.map + lo, (size_t)(hi - lo));
	c->pfn = pfns[0];
	c->npages = out;
	c->data = buf;
	c->state = uniform ? NULL : st;
	c->uniform = (enum dp_page_state)st[0];
	c->pfns = contiguous ? NULL : pfns;
	return DP_OK;
}

static enum dp_probe kdump_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 8 && (memcmp(h, KD_SIG, 8) == 0 || memcmp(h, DISKDUMP_SIG, 8) == 0) ? DP_PROBE_YES
											  : DP_PROBE_NO;
}

static enum dp_probe flattened_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 16 && memcmp(h, FLAT_SIG, 16) == 0 ? DP_PROBE_YES : DP_PROBE_NO;
}

const struct dp_format_ops flattened_ops = {
	.name = "kdump-flattened",
	.description = "makedumpfile flattened kdump (QEMU/virsh kdump-zlib, makedumpfile -F)",
	.probe = flattened_probe,
	.open = flattened_open,
	.close = kdump_close,
	.reader_open = kdump_reader_open,
	.reader_close = kdump_reader_close,
	.read_unit = kdump_read_unit,
};

const struct dp_format_ops kdump_ops = {
	.name = "kdump",
	.description = "kdump-compressed dump (makedumpfile -c/-l/-p/-z, QEMU kdump-raw-*)",
	.probe = kdump_probe,
	.open = kdump_open,
	.close = kdump_close,
	.reader_open = kdump_reader_open,
	.reader_close = kdump_reader_close,
	.read_unit = kdump_read_unit,
};
