/*
 * kdump-compressed headers: the main header (both layouts, both byte
 * orders), the sub header, the two bitmaps and the page descriptors.  The
 * layout is described in kdump.c.
 */
#include "kdump_int.h"

#include <stdio.h>
#include <stdlib.h>

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
	k->version = kd32(k, h + 8);
	const uint8_t *t = h + (is64 ? 0x1A8 : 0x19C);
	k->status = kd32(k, t);
	k->bs = kd32(k, t + 4);
	k->sub_blocks = kd32(k, t + 8);
	k->bitmap_blocks = kd32(k, t + 12);
	k->max_mapnr = k->hdr_mapnr = kd32(k, t + 16);
	k->nr_cpus = kd32(k, h + (is64 ? 0x1CC : 0x1C0));
	if (k->version > 100)
		return -1;
	if (k->bs < 1024 || k->bs > (1u << 20) || (k->bs & (k->bs - 1)))
		return -1;
	/* an empty dump (max_mapnr 0) may have no bitmap and no sub-header
	 * blocks (libkdumpfile writes them so) */
	bool empty = k->max_mapnr == 0 && k->bitmap_blocks == 0;
	if ((k->bitmap_blocks == 0 && !empty) || k->bitmap_blocks > (1u << 30))
		return -1;
	if (k->version >= 1 && !k->diskdump && ((k->sub_blocks == 0 && !empty) || k->sub_blocks > (1u << 20)))
		return -1;
	if (k->nr_cpus > 65536)
		return -1;
	return 0;
}

/* The main header: KD_HDR_LEN bytes (64-bit layout), or only the
 * KD_HDR32_LEN of the 32-bit layout when the file (or the flattened
 * record at offset 0) holds no more; then only 32-bit layouts are tried. */
int kdump_parse_header(struct dp_dump *d, struct kd *k, const struct dp_view *v, struct dp_error *err)
{
	uint8_t h[KD_HDR_LEN];
	struct dp_error full_err;
	memset(h, 0, sizeof h);
	bool full = dp_view_read(v, 0, h, sizeof h, "kdump main header", &full_err) == DP_OK;
	if (!full && dp_view_read(v, 0, h, KD_HDR32_LEN, "kdump main header", err) != DP_OK) {
		*err = full_err; /* the whole header is missing: say so */
		return err->status;
	}
	k->diskdump = memcmp(h, DISKDUMP_SIG, 8) == 0;
	if (!k->diskdump && memcmp(h, KD_SIG, 8) != 0)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, 0), "kdump main header: signature is not \"KDUMP   \"");
	/* utsname: sysname, nodename, release, version, machine, domainname (65 bytes each) */
	copy_str(k->sysname, h + 0x0C, 65);
	copy_str(k->nodename, h + 0x0C + 65, 65);
	copy_str(k->release, h + 0x0C + 130, 65);
	copy_str(k->utsversion, h + 0x0C + 195, 65);
	copy_str(k->machine, h + 0x0C + 260, 65);
	copy_str(k->domainname, h + 0x0C + 325, 65);
	bool first64 = is_64bit_machine(k->machine) || !is_32bit_machine(k->machine);
	static const bool order_be[2] = { false, true };
	for (int pass = 0; pass < 2; pass++) {
		bool is64 = pass == 0 ? first64 : !first64;
		for (int e = 0; e < 2 && (full || !is64); e++)
			if (try_layout(k, h, is64, order_be[e]) == 0)
				goto found;
	}
	if (!full) {
		*err = full_err;
		return err->status;
	}
	return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, 8),
		       "kdump main header: no 32- or 64-bit layout gives a plausible header version, "
		       "block size (a power of two), sub-header size and bitmap size");
found:
	if (k->version > 6 && d)
		dp_add_warning(d, "kdump header version %u is newer than 6 (the newest known); read as 6",
			       k->version);
	return DP_OK;
}

/* Bytes of the sub header that header version v defines, up to the end of
 * its last field: 64-bit, 32-bit packed (i386, QEMU) and 32-bit with the
 * 64-bit fields 8-aligned (ARM, MIPS).  Versions past 6 are read as 6. */
static size_t sub_size(uint32_t v, bool is64, bool pad32)
{
	static const uint8_t s64[7] = { 0, 0x0C, 0x20, 0x30, 0x40, 0x50, 0x68 };
	static const uint8_t pack[7] = { 0, 0x08, 0x14, 0x20, 0x2C, 0x38, 0x50 };
	static const uint8_t pad[7] = { 0, 0x08, 0x14, 0x24, 0x34, 0x44, 0x60 };
	uint32_t i = v > 6 ? 6 : v;
	return is64 ? s64[i] : pad32 ? pad[i] : pack[i];
}

/* The sub header at block 1 (64-bit offsets): phys_base, dump_level (v1),
 * split, start_pfn, end_pfn (v2), offset/size of VMCOREINFO (v3), of the ELF
 * notes (v4), of the eraseinfo log (v5), start_pfn_64, end_pfn_64,
 * max_mapnr_64 (v6).  32-bit: longs are 4 bytes and the 64-bit fields are
 * packed (i386, QEMU) or 8-aligned (ARM, MIPS). */
int kdump_parse_sub_header(struct kd *k, const struct part *p, struct dp_error *err)
{
	const struct dp_view *v = &p->v;
	uint8_t s[0x68];
	memset(s, 0, sizeof s);
	k->start_pfn = 0;
	k->end_pfn = UINT64_MAX;
	if (k->version == 0 || k->diskdump) {
		k->dump_level = 0;
		return DP_OK;
	}
	/* exactly the fields of this version: a flattened file may hold no
	 * byte more (a 32-bit sub header is read as packed first; the padded
	 * layout is longer, and taken only when all of it is there) */
	size_t need = sub_size(k->version, k->is64, false), most = sub_size(k->version, k->is64, !k->is64);
	if (k->sub_blocks && (uint64_t)k->sub_blocks * k->bs < need)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, k->bs),
			       "kdump sub header: %u block(s) of %u bytes cannot hold the %zu bytes of a "
			       "version-%u sub header",
			       k->sub_blocks, k->bs, need, k->version);
	struct dp_error e2;
	bool have_most = (!k->sub_blocks || (uint64_t)k->sub_blocks * k->bs >= most) &&
			 dp_view_read(v, k->bs, s, most, "kdump sub header", &e2) == DP_OK;
	if (!have_most) {
		memset(s, 0, sizeof s);
		int rc = dp_view_read(v, k->bs, s, need, "kdump sub header", err);
		if (rc)
			return rc;
	}
	k->phys_base = kdword(k, s);
	if (k->is64) {
		k->dump_level = kd32(k, s + 0x08);
		k->split = kd32(k, s + 0x0C);
		k->start_pfn = kd64(k, s + 0x10);
		k->end_pfn = kd64(k, s + 0x18);
		k->off_vmcoreinfo = kd64(k, s + 0x20);
		k->size_vmcoreinfo = kd64(k, s + 0x28);
		k->off_note = kd64(k, s + 0x30);
		k->size_note = kd64(k, s + 0x38);
		k->off_erase = kd64(k, s + 0x40);
		k->size_erase = kd64(k, s + 0x48);
		if (k->version >= 6) {
			k->start_pfn = kd64(k, s + 0x50);
			k->end_pfn = kd64(k, s + 0x58);
			k->max_mapnr = kd64(k, s + 0x60);
		}
	} else {
		k->dump_level = kd32(k, s + 0x04);
		k->split = kd32(k, s + 0x08);
		k->start_pfn = kd32(k, s + 0x0C);
		k->end_pfn = kd32(k, s + 0x10);
		/* "pack" (i386, QEMU) or "pad" (64-bit fields 8-aligned: ARM, MIPS) */
		uint64_t lo = k->bs, hi = (uint64_t)(1 + k->sub_blocks) * k->bs;
		uint64_t o = kd64(k, s + 0x14), z = kd32(k, s + 0x1C);
		bool pack_ok = o >= lo && o < hi && z <= hi - o;
		uint64_t o2 = kd64(k, s + 0x18), z2 = kd32(k, s + 0x20);
		bool pad_ok = have_most && o2 >= lo && o2 < hi && z2 <= hi - o2;
		k->pad32 = k->version >= 3 && !pack_ok && pad_ok;
		const uint8_t *q = s + (k->pad32 ? 0x18 : 0x14);
		k->off_vmcoreinfo = kd64(k, q);
		k->size_vmcoreinfo = kd32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		k->off_note = kd64(k, q);
		k->size_note = kd32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		k->off_erase = kd64(k, q);
		k->size_erase = kd32(k, q + 8);
		q += k->pad32 ? 0x10 : 0x0C;
		if (k->version >= 6) {
			k->start_pfn = kd64(k, q);
			k->end_pfn = kd64(k, q + 8);
			k->max_mapnr = kd64(k, q + 16);
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
const char *kdump_level_words(uint32_t l, char *buf, size_t n)
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


int kdump_load_bitmaps(struct kd *k, const struct dp_view *v, struct dp_error *err)
{
	uint64_t bm_off, total, end;
	if (kd_mul_overflows((uint64_t)1 + k->sub_blocks, k->bs, &bm_off) ||
	    kd_mul_overflows(k->bitmap_blocks, k->bs, &total) || dp_add_overflows(bm_off, total, &end))
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, 0x1A8),
			       "kdump main header: sub-header and bitmap sizes overflow");
	if (k->max_mapnr == 0) { /* an empty dump: no frame, whatever bitmaps it has */
		static const uint8_t none[8];
		k->two_bitmaps = !k->diskdump;
		k->bm_len = 0;
		k->bm1 = k->bm2 = none;
		return DP_OK;
	}
	/* two bitmaps when half of them still covers every frame (crash's test) */
	uint64_t half_bits = (uint64_t)(k->bitmap_blocks / 2) * k->bs * 8;
	k->two_bitmaps = k->bitmap_blocks >= 2 && k->bitmap_blocks % 2 == 0 && half_bits >= k->max_mapnr;
	if (!k->two_bitmaps && !k->diskdump)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, k->is64 ? 0x1B4 : 0x1A8),
			       "kdump bitmaps: %u bitmap block(s) of %u bytes cannot hold two bitmaps of "
			       "%llu frames",
			       k->bitmap_blocks, k->bs, (unsigned long long)k->max_mapnr);
	uint64_t lim = v->flat ? v->vsize : v->size;
	if (end > lim)
		return dp_view_missing(v, bm_off, total, "kdump bitmaps", err);
	k->bm_len = k->two_bitmaps ? total / 2 : total;
	if (k->bm_len * 8 < k->max_mapnr)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(v, k->is64 ? 0x1B4 : 0x1A8),
			       "kdump bitmaps: %llu bytes cannot cover %llu frames",
			       (unsigned long long)k->bm_len, (unsigned long long)k->max_mapnr);
	if (k->bm_len > SIZE_MAX / 2)
		return dp_fail(err, DP_E_UNSUPPORTED, dp_view_file_off(v, bm_off), "kdump bitmaps too large");
	/* only the bits below max_mapnr matter */
	uint64_t use = (k->max_mapnr + 7) / 8;
	if (!v->flat) {
		const uint8_t *p = dp_view_get(v, bm_off, total, NULL, "kdump bitmaps", err);
		if (!p)
			return err->status;
		k->bm1 = p;
		k->bm2 = k->two_bitmaps ? p + k->bm_len : p;
	} else {
		/* the bitmaps must be in the records before memory is set aside for them */
		int rc = dp_view_check(v, bm_off, use, "kdump 1st bitmap", err);
		if (!rc && k->two_bitmaps)
			rc = dp_view_check(v, bm_off + k->bm_len, use, "kdump 2nd bitmap", err);
		if (rc)
			return rc;
		k->own_bm = malloc(use ? (size_t)use * 2 : 1);
		if (!k->own_bm)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the bitmaps");
		rc = dp_view_read(v, bm_off, k->own_bm, (size_t)use, "kdump 1st bitmap", err);
		if (!rc && k->two_bitmaps)
			rc = dp_view_read(v, bm_off + k->bm_len, k->own_bm + use, (size_t)use, "kdump 2nd bitmap", err);
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
uint64_t kdump_count2(const struct kd *k, uint64_t a, uint64_t b)
{
	uint64_t n = 0;
	if (b > k->max_mapnr)
		b = k->max_mapnr;
	uint64_t i = a;
	while (i < b && (i & 63)) {
		n += kd_bit(k->bm2, i);
		i++;
	}
	for (; i + 64 <= b; i += 64)
		n += (uint64_t)__builtin_popcountll(word_at(k->bm2, k->bm_len, i / 64));
	for (; i < b; i++)
		n += kd_bit(k->bm2, i);
	return n;
}

/* Next frame >= i below end with a bit set in either bitmap; end if none. */
uint64_t kdump_next_frame(const struct kd *k, uint64_t i, uint64_t end)
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

int kdump_get_desc(const struct kd *k, const struct part *p, uint64_t idx, struct dp_cursor *cur, struct desc *out,
		   struct dp_error *err)
{
	uint8_t buf[DESC_SIZE];
	uint64_t off = p->desc_off + idx * DESC_SIZE;
	int64_t fo = dp_view_span_at(&p->v, off, DESC_SIZE, cur);
	const uint8_t *q = fo >= 0 ? p->v.map + fo : dp_view_get(&p->v, off, DESC_SIZE, buf, "kdump page descriptor", err);
	if (!q)
		return err->status;
	out->off = kd64(k, q);
	out->size = kd32(k, q + 8);
	out->flags = kd32(k, q + 12);
	return DP_OK;
}

/* Classify and check one descriptor against its file. */
int kdump_check_desc(const struct kd *k, const struct part *p, uint64_t idx, const struct desc *ds,
		      enum kstate *st, struct dp_error *err)
{
	uint64_t at = p->desc_off + idx * DESC_SIZE;
	if (ds->off == 0) {
		*st = K_MISSING;
		return DP_OK;
	}
	if (ds->flags & ~F_CODECS)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at + 12),
			       "kdump page descriptor %llu: unknown flags 0x%x", (unsigned long long)idx,
			       ds->flags);
	uint32_t codec = ds->flags & F_CODECS;
	if (codec & (codec - 1))
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at + 12),
			       "kdump page descriptor %llu: several compression flags (0x%x)",
			       (unsigned long long)idx, ds->flags);
	if (codec == 0 && ds->size != k->bs)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at + 8),
			       "kdump page descriptor %llu: uncompressed page of %u bytes, the block size is %u",
			       (unsigned long long)idx, ds->size, k->bs);
	if (codec && (ds->size == 0 || ds->size > 2 * k->bs))
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at + 8),
			       "kdump page descriptor %llu: compressed size %u is 0 or more than twice the "
			       "block size %u",
			       (unsigned long long)idx, ds->size, k->bs);
	if (ds->off < p->desc_off + p->ndesc * DESC_SIZE)
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at),
			       "kdump page descriptor %llu: page data at offset %llu lies inside the headers, "
			       "bitmaps or descriptor table (which end at %llu): the bitmaps do not match the "
			       "descriptors",
			       (unsigned long long)idx, (unsigned long long)ds->off,
			       (unsigned long long)(p->desc_off + p->ndesc * DESC_SIZE));
	uint64_t end;
	if (dp_add_overflows(ds->off, ds->size, &end))
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at),
			       "kdump page descriptor %llu: offset %llu + size %u overflows",
			       (unsigned long long)idx, (unsigned long long)ds->off, ds->size);
	uint64_t lim = p->v.flat ? p->v.vsize : p->v.size;
	if (end > lim) {
		if (p->v.flat && p->v.flat_end)
			return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, at),
				       "kdump page descriptor %llu: page data at kdump offset %llu..%llu lies "
				       "past the end of the dump (%llu bytes)",
				       (unsigned long long)idx, (unsigned long long)ds->off,
				       (unsigned long long)end, (unsigned long long)lim);
		return dp_fail(err, DP_E_TRUNCATED, dp_view_file_off(&p->v, at),
			       "kdump page descriptor %llu: page data at offset %llu..%llu lies past the end "
			       "of the file (%llu bytes)",
			       (unsigned long long)idx, (unsigned long long)ds->off, (unsigned long long)end,
			       (unsigned long long)lim);
	}
	if (p->v.flat && dp_view_file_off(&p->v, ds->off) < 0)
		return dp_view_missing(&p->v, ds->off, ds->size, "kdump page data", err);
	*st = (codec == 0 && ds->off == p->zero_off) ? K_ZERO : K_DATA;
	return DP_OK;
}

