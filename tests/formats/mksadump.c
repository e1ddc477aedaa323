/*
 * mksadump — write a small sadump file (Fujitsu stand-alone dump) from a
 * fixture spec (fixture.h's language), for tests whose expected numbers are
 * known by construction.
 *
 * Usage: mksadump SPEC OUT [--expect FILE] [--map FILE]    (SPEC '-' = stdin)
 *
 * Segments: ram PFN N CONTENT (RAM, stored), absent PFN N (RAM, not
 * stored); 4 KiB blocks, one per frame.
 * Options:
 *   layout single|media|diskset   (default single)
 *   disk N                 set_disk_set of a disk set (default 1)
 *   disks N                disk_num of the disk set header (default 1)
 *   seqnum N               media backup: sequential number (default 1)
 *   media_id same|other    media backup: UUIDs as the partition's (default same)
 *   version N              dump header version (default 1: 64-bit max_mapnr)
 *   block_size N           block_size field of the dump header (default 4096)
 *   max_mapnr N            (default: the last frame + 1)
 *   bitmap_blocks N        both bitmaps' size (default: what the frames need;
 *                          frames past a smaller bitmap are left out)
 *   sub_blocks N           sub header blocks (default 1)
 *   used_device N          (default: the end of the page data)
 *   magic_break N          spoil the check sequence at entry N
 *   truncate N             cut the file to N bytes
 * Map fields: part_sig, magicnum, set_disk_set, used_device, disk_num,
 * seqnum, hdr_sig, version, block_size, sub_hdr_size, bitmap_blocks,
 * dumpable_bitmap_blocks, max_mapnr, max_mapnr_64, bitmap, dumpable_bitmap,
 * data.
 */
#include "fixture.h"

#define BS 4096u

static void part_header(struct fx_buf *b, const struct fx_model *m, uint32_t set, uint64_t *used_at)
{
	size_t at = b->len;
	fx_put(b, NULL, BS);
	uint8_t *p = b->p + at;
	fx_set_le(p, 0x75646173u, 4);
	fx_set_le(p + 4, 0x706du, 4);
	fx_set_le(p + 8, 1, 4);                     /* enable */
	for (int i = 0; i < 16; i++) {
		p[88 + i] = (uint8_t)(0x10 + i);    /* system UUID */
		p[104 + i] = (uint8_t)(0x40 + i);   /* disk set UUID */
		p[120 + i] = (uint8_t)(0x70 + i);   /* volume UUID */
	}
	fx_set_le(p + 136, 2026, 2);
	p[138] = 12, p[139] = 2, p[140] = 10, p[141] = 15;
	fx_set_le(p + 152, set, 4);
	uint32_t v = 0x1234567u;
	for (size_t o = 168; o + 4 <= BS; o += 4) {
		fx_set_le(p + o, v, 4);
		v = 11u * (v + 7u);
	}
	uint64_t brk = fx_optn(m, "magic_break", 0);
	if (brk)
		p[168 + 4 * brk] ^= 0x5a;
	fx_field(b, "part_sig", at, 8);
	fx_field(b, "magicnum", at + 168, BS - 168);
	fx_field(b, "set_disk_set", at + 152, 4);
	fx_field(b, "used_device", at + 160, 8);
	*used_at = at + 160;
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	size_t nf;
	struct fx_frame *f = fx_frames(&m, &nf);
	const char *layout = fx_opt(&m, "layout", "single");
	uint64_t last = nf ? f[nf - 1].pfn + 1 : 0;
	uint64_t maxmap = fx_optn(&m, "max_mapnr", last);
	uint64_t need = (last + BS * 8 - 1) / (BS * 8);
	uint32_t bmb = (uint32_t)fx_optn(&m, "bitmap_blocks", need ? need : 1);
	uint32_t sub = (uint32_t)fx_optn(&m, "sub_blocks", 1);
	uint32_t version = (uint32_t)fx_optn(&m, "version", 1);
	struct fx_buf b = {.map = fx_open_map(&a)};
	uint64_t used_at;

	if (strcmp(layout, "media") == 0) {
		fx_put(&b, NULL, BS);
		bool other = strcmp(fx_opt(&m, "media_id", "same"), "other") == 0;
		for (int i = 0; i < 16; i++) {
			b.p[i] = (uint8_t)(0x10 + i + (other ? 1 : 0));
			b.p[16 + i] = (uint8_t)(0x40 + i);
		}
		b.p[48] = (uint8_t)fx_optn(&m, "seqnum", 1);
		fx_field(&b, "seqnum", 48, 1);
		part_header(&b, &m, 0, &used_at);
	} else if (strcmp(layout, "diskset") == 0) {
		part_header(&b, &m, (uint32_t)fx_optn(&m, "disk", 1), &used_at);
		size_t at = fx_put(&b, NULL, BS);
		fx_set_le(b.p + at, 1, 4);
		fx_set_le(b.p + at + 4, fx_optn(&m, "disks", 1), 4);
		fx_field(&b, "disk_num", at + 4, 4);
	} else {
		part_header(&b, &m, 0, &used_at);
	}
	size_t h = fx_put(&b, NULL, BS);
	memcpy(b.p + h, "sadump\0\0", 8);
	fx_set_le(b.p + h + 8, version, 4);
	memcpy(b.p + h + 16, b.p + (strcmp(layout, "media") == 0 ? BS : 0) + 136, 16); /* the time */
	fx_set_le(b.p + h + 40, fx_optn(&m, "block_size", BS), 4);
	fx_set_le(b.p + h + 48, sub, 4);
	fx_set_le(b.p + h + 52, bmb, 4);
	fx_set_le(b.p + h + 56, bmb, 4);
	fx_set_le(b.p + h + 60, version >= 1 ? (uint32_t)maxmap : maxmap, 4);
	fx_set_le(b.p + h + 80, 1, 4);
	if (version >= 1)
		fx_set_le(b.p + h + 88, maxmap, 8);
	fx_field(&b, "hdr_sig", h, 8);
	fx_field(&b, "version", h + 8, 4);
	fx_field(&b, "block_size", h + 40, 4);
	fx_field(&b, "sub_hdr_size", h + 48, 4);
	fx_field(&b, "bitmap_blocks", h + 52, 4);
	fx_field(&b, "dumpable_bitmap_blocks", h + 56, 4);
	fx_field(&b, "max_mapnr", h + 60, 4);
	fx_field(&b, "max_mapnr_64", h + 88, 8);
	size_t s = fx_put(&b, NULL, (size_t)sub * BS);
	if (sub)
		fx_set_le(b.p + s, 0x400, 4);             /* size of the CPU states */
	size_t bm = fx_put(&b, NULL, (size_t)bmb * BS), dbm = fx_put(&b, NULL, (size_t)bmb * BS);
	fx_field(&b, "bitmap", bm, (size_t)bmb * BS);
	fx_field(&b, "dumpable_bitmap", dbm, (size_t)bmb * BS);
	size_t data = b.len;
	for (size_t i = 0; i < nf; i++) {
		if (f[i].pfn / 8 >= (uint64_t)bmb * BS)
			continue; /* bitmap_blocks made too small on purpose */
		b.p[bm + f[i].pfn / 8] |= (uint8_t)(0x80u >> (f[i].pfn % 8));
		if (!f[i].absent) {
			b.p[dbm + f[i].pfn / 8] |= (uint8_t)(0x80u >> (f[i].pfn % 8));
			fx_put(&b, f[i].data, BS);
		}
	}
	fx_field(&b, "data", data, b.len - data);
	fx_set_le(b.p + used_at, fx_optn(&m, "used_device", b.len), 8);
	size_t total = (size_t)fx_optn(&m, "truncate", b.len);
	fx_write_file(a.out, b.p, total < b.len ? total : b.len);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	if (b.map)
		fclose(b.map);
	for (size_t i = 0; i < nf; i++)
		free(f[i].data);
	free(f);
	fx_buf_free(&b);
	fx_free_model(&m);
	return 0;
}
