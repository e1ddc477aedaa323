/*
 * sadump: Fujitsu's stand-alone dump of x86 machines (read by crash and
 * libkdumpfile).  No official description exists; the layout below is the
 * one both readers agree on.  Little-endian, in blocks of block_size bytes
 * (4096 as written):
 *
 *   [media header]          media backup files only: one 4096-byte block
 *                           (system and disk set UUIDs, time, sequence no.)
 *   partition header        "sadu" "mp\0\0", ..., set_disk_set @152,
 *                           used_device @160, then a check sequence
 *                           m[i+1] = 11 * (m[i] + 7) to the end of the block
 *                           (whose length gives the block size)
 *   [disk set header]       disk sets only (set_disk_set >= 1), N blocks
 *   dump header             "sadump\0\0", block_size, sub_hdr_size,
 *                           bitmap_blocks, dumpable_bitmap_blocks, max_mapnr
 *                           (64-bit from header version 1)
 *   sub header              sub_hdr_size blocks (CPU states)
 *   memory bitmap           bit f (most significant bit of each byte
 *                           first): frame f is RAM
 *   dumpable bitmap         bit f: frame f is stored
 *   page data               one block per stored frame, in frame order
 *
 * RAM frames that are not stored are absent.  Read: single-partition files,
 * media backup files (first of a set; chosen with --format=sadump, their
 * first 4 KiB hold no magic) and disk sets of one disk.  A disk set spread
 * over several disks is refused by name: its later disks are separate files
 * whose volume list crash and libkdumpfile index differently, and no such
 * file was available to settle it.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define PART_SIG1 0x75646173u  /* "sadu" */
#define PART_SIG2 0x0000706du  /* "mp\0\0" */
#define MAGIC_AT 168u          /* the check sequence in the partition header */
#define MEDIA_BLOCK 4096u
#define HDR_LEN 120u           /* dump header fields read */
#define MAX_BLOCK 65536u

static bool part_magic(const uint8_t *p) { return dp_le32(p) == PART_SIG1 && dp_le32(p + 4) == PART_SIG2; }

static enum dp_probe sadump_probe(const uint8_t *head, size_t len, const char *path)
{
	(void)path;
	return len >= 8 && part_magic(head) ? DP_PROBE_YES : DP_PROBE_NO;
}

/* The check sequence from pos + MAGIC_AT: the block size is where it ends. */
static int block_size_of(struct dp_dump *d, uint64_t pos, uint32_t *bs, struct dp_error *err)
{
	uint8_t buf[MAX_BLOCK + 4];
	uint64_t avail = d->src.size - pos;
	size_t n = avail < sizeof buf ? (size_t)avail : sizeof buf;
	int rc = dp_src_read(d, pos, buf, n, "sadump partition header", err);
	if (rc)
		return rc;
	if (n < MAGIC_AT + 8)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)pos, "sadump partition header: file ends at byte %zu of it",
			       n);
	size_t at = MAGIC_AT;
	while (at + 8 <= n && dp_le32(buf + at + 4) == 11u * (dp_le32(buf + at) + 7u))
		at += 4;
	at += 4; /* the last entry of the sequence */
	if (at < 512 || (at & (at - 1)))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(pos + at),
			       "sadump partition header: check sequence breaks at byte %zu (a block size, a power "
			       "of two from 512, expected)", at);
	*bs = (uint32_t)at;
	return DP_OK;
}

struct layout {
	uint64_t part;            /* partition header offset */
	uint64_t hdr;             /* dump header offset */
	uint32_t bs;
	const char *name;
	uint64_t used_device;
};

static int media_checks(struct dp_dump *d, struct dp_error *err)
{
	uint8_t m[52], p[MAGIC_AT];
	int rc = dp_src_read(d, 0, m, sizeof m, "sadump media header", err);
	if (!rc)
		rc = dp_src_read(d, MEDIA_BLOCK, p, sizeof p, "sadump partition header", err);
	if (rc)
		return rc;
	if (memcmp(m, p + 88, 32) != 0)
		return dp_fail(err, DP_E_CORRUPT, 0,
			       "sadump media header: its system and disk set UUIDs differ from the partition header's");
	if (m[48] != 1)
		return dp_fail(err, DP_E_UNSUPPORTED, 48,
			       "sadump media backup file %u of a set: the dump starts in file 1, open that one", m[48]);
	return DP_OK;
}

static int find_layout(struct dp_dump *d, struct layout *l, struct dp_error *err)
{
	uint8_t p[MAGIC_AT];
	int rc;
	memset(l, 0, sizeof *l);
	if (d->src.size < sizeof p)
		return dp_fail(err, DP_E_TRUNCATED, 0, "sadump: file of %llu bytes is shorter than a partition header",
			       (unsigned long long)d->src.size);
	if ((rc = dp_src_read(d, 0, p, 8, "sadump partition header", err)))
		return rc;
	l->name = "single partition";
	if (!part_magic(p)) {
		if (d->src.size < MEDIA_BLOCK + sizeof p)
			return dp_fail(err, DP_E_CORRUPT, 0, "sadump: no partition header at offset 0 or 4096");
		if ((rc = dp_src_read(d, MEDIA_BLOCK, p, 8, "sadump partition header", err)))
			return rc;
		if (!part_magic(p))
			return dp_fail(err, DP_E_CORRUPT, 0, "sadump: no partition header at offset 0 or 4096");
		if ((rc = media_checks(d, err)))
			return rc;
		l->part = MEDIA_BLOCK;
		l->name = "media backup";
	}
	if ((rc = dp_src_read(d, l->part, p, sizeof p, "sadump partition header", err)) ||
	    (rc = block_size_of(d, l->part, &l->bs, err)))
		return rc;
	uint32_t set = dp_le32(p + 152);
	l->used_device = dp_le64(p + 160);
	l->hdr = l->part + l->bs;
	if (l->part == 0 && set != 0) {
		uint8_t s[8];
		if (set != 1)
			return dp_fail(err, DP_E_UNSUPPORTED, 152,
				       "sadump disk set: this file is disk %u of the set; the dump starts on disk 1", set);
		if ((rc = dp_src_read(d, l->hdr, s, sizeof s, "sadump disk set header", err)))
			return rc;
		uint32_t blocks = dp_le32(s), disks = dp_le32(s + 4);
		if (disks > 1)
			return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)l->hdr + 4,
				       "sadump disk set of %u disks: a dump spread over several disks is not supported "
				       "(only single-partition, media backup and one-disk sets are)", disks);
		if (blocks == 0 || blocks > 1024 || disks == 0)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)l->hdr,
				       "sadump disk set header: %u blocks for %u disk(s)", blocks, disks);
		l->hdr += (uint64_t)blocks * l->bs;
		l->name = "disk set of one disk";
	}
	return DP_OK;
}

struct head {
	uint32_t version, bs, sub, bm_blocks, dbm_blocks, ncpus;
	uint64_t max_mapnr;
	uint8_t time[16];
};

static int read_head(struct dp_dump *d, const struct layout *l, struct head *h, struct dp_error *err)
{
	uint8_t b[HDR_LEN];
	int rc = dp_src_read(d, l->hdr, b, sizeof b, "sadump dump header", err);
	if (rc)
		return rc;
	const int64_t at = (int64_t)l->hdr;
	if (memcmp(b, "sadump\0\0", 8) != 0)
		return dp_fail(err, DP_E_CORRUPT, at, "sadump dump header: signature is not \"sadump\"");
	h->version = dp_le32(b + 8);
	memcpy(h->time, b + 16, 16);
	h->bs = dp_le32(b + 40);
	h->sub = dp_le32(b + 48);
	h->bm_blocks = dp_le32(b + 52);
	h->dbm_blocks = dp_le32(b + 56);
	h->ncpus = dp_le32(b + 80);
	h->max_mapnr = h->version >= 1 ? dp_le64(b + 88) : dp_le32(b + 60);
	if (h->bs != l->bs)
		return dp_fail(err, DP_E_CORRUPT, at + 40,
			       "sadump dump header: block_size %u, but the partition header's block is %u bytes", h->bs,
			       l->bs);
	if (h->bm_blocks == 0 || h->dbm_blocks == 0)
		return dp_fail(err, DP_E_CORRUPT, at + (h->bm_blocks ? 56 : 52),
			       "sadump dump header: %s is 0", h->bm_blocks ? "dumpable_bitmap_blocks" : "bitmap_blocks");
	uint64_t bits = (uint64_t)(h->bm_blocks < h->dbm_blocks ? h->bm_blocks : h->dbm_blocks) * h->bs * 8;
	if (h->max_mapnr > bits)
		return dp_fail(err, DP_E_CORRUPT, at + (h->version >= 1 ? 88 : 60),
			       "sadump dump header: max_mapnr %llu is more than the bitmaps' %llu frames",
			       (unsigned long long)h->max_mapnr, (unsigned long long)bits);
	return DP_OK;
}

/* bit f of a bitmap: most significant bit first (bit 7 of byte 0 is frame 0) */
static bool bit(const uint8_t *m, uint64_t f) { return m[f >> 3] >> (7 - (f & 7)) & 1; }

/* Runs of frames with one state: stored ones at consecutive blocks from data. */
static int lay_out(struct dp_dump *d, const struct head *h, const uint8_t *ram, const uint8_t *dump, uint64_t data,
		   uint64_t *stored, uint64_t *absent, struct dp_error *err)
{
	const uint64_t bs = h->bs;
	uint64_t k = 0;
	int rc = DP_OK;
	for (uint64_t f = 0; f < h->max_mapnr && !rc;) {
		int st = bit(dump, f) ? 2 : bit(ram, f) ? 1 : 0;
		uint64_t g = f + 1;
		while (g < h->max_mapnr && (bit(dump, g) ? 2 : bit(ram, g) ? 1 : 0) == st)
			g++;
		if (st == 2) {
			rc = dp_map_add(d, f * bs, (g - f) * bs, data + k * bs, err);
			k += g - f;
		} else if (st == 1) {
			rc = dp_map_add_absent(d, f * bs, (g - f) * bs, err);
			*absent += g - f;
		}
		f = g;
	}
	*stored = k;
	return rc;
}

static int sadump_open(struct dp_dump *d, struct dp_error *err)
{
	struct layout l;
	struct head h = { 0 };
	int rc = find_layout(d, &l, err);
	if (rc || (rc = read_head(d, &l, &h, err)))
		return rc;
	uint64_t bm = l.hdr + (uint64_t)h.bs * (1 + (uint64_t)h.sub);
	uint64_t len = (uint64_t)h.bm_blocks * h.bs, dlen = (uint64_t)h.dbm_blocks * h.bs;
	uint64_t data = bm + len + dlen;
	const uint8_t *ram = dp_src_ptr(d, bm, len, "sadump memory bitmap", err);
	const uint8_t *dump = ram ? dp_src_ptr(d, bm + len, dlen, "sadump dumpable bitmap", err) : NULL;
	if (!dump)
		return err->status;
	d->info.native_page_size = h.bs;
	d->info.page_size = d->opt.page_size ? d->opt.page_size : h.bs;
	uint64_t stored = 0, absent = 0;
	if ((rc = lay_out(d, &h, ram, dump, data, &stored, &absent, err)))
		return rc;
	if (l.used_device && data + stored * h.bs > l.used_device)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)l.part + 160,
			       "sadump partition header: used_device %llu bytes, but the %llu stored frames end at %llu",
			       (unsigned long long)l.used_device, (unsigned long long)stored,
			       (unsigned long long)(data + stored * h.bs));
	dp_set_variant(d, "sadump %s, header version %u, %u-byte blocks", l.name, h.version, h.bs);
	dp_add_detail(d, "sadump", "%s; partition header at %llu, dump header at %llu", l.name,
		      (unsigned long long)l.part, (unsigned long long)l.hdr);
	dp_add_detail(d, "dump time", "%04u-%02u-%02u %02u:%02u:%02u", dp_le16(h.time), h.time[2], h.time[3],
		      h.time[4], h.time[5], h.time[6]);
	dp_add_detail(d, "max_mapnr", "%llu frames; %llu stored, %llu RAM frames not stored (absent)",
		      (unsigned long long)h.max_mapnr, (unsigned long long)stored, (unsigned long long)absent);
	dp_add_detail(d, "bitmaps", "memory %u, dumpable %u blocks from %llu; page data at %llu", h.bm_blocks,
		      h.dbm_blocks, (unsigned long long)bm, (unsigned long long)data);
	dp_add_detail(d, "cpus", "%u (sub header: %u blocks)", h.ncpus, h.sub);
	if (absent)
		dp_add_warning(d, "%llu frame(s) of RAM are not in the file (excluded when it was written): they are "
			       "counted as absent", (unsigned long long)absent);
	return dp_map_finish(d, err);
}

const struct dp_format_ops sadump_ops = {
	.name = "sadump",
	.description = "Fujitsu sadump (single partition, media backup, one-disk set)",
	.probe = sadump_probe,
	.open = sadump_open,
	.random_only = true,
};
