/*
 * kdump-compressed dumps ("KDUMP   ", old "DISKDUMP") as makedumpfile and
 * QEMU write them, also inside the makedumpfile *flattened* framing (what
 * QEMU dump-guest-memory kdump-* and `makedumpfile -F` write), which the
 * container layer (dp_flat.c) resolves; such a dump is reported as
 * kdump-flattened.  Exports kdump_ops and flattened_ops.
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
 * whole-file-compressed input is first copied to a temporary file by the
 * spool layer (the layout has to be read out of order); a flattened file is
 * read in place through the container layer's view.  Split dumps
 * (makedumpfile --split) are one dump in several files (kdump_split.c).
 * Headers, bitmaps and descriptors: kdump_hdr.c.
 */
#include "kdump_int.h"

#include <stdio.h>
#include <stdlib.h>

static void kd_free(struct kd *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nparts; i++) {
		if (k->parts[i].path) /* the opened file's view is the source's */
			dp_view_free(&k->parts[i].v);
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
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, st, UINT64_MAX, DP_MEM_RAM };
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
		struct dp_cursor dc = DP_CURSOR_NONE;
		bool open_unit = false;
		for (uint64_t f = kdump_next_frame(k, p->start_pfn, end); f < end; f = kdump_next_frame(k, f + 1, end)) {
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
			bool in1 = kd_bit(k->bm1, f), in2 = kd_bit(k->bm2, f);
			if (in2) {
				if (idx >= p->ndesc)
					return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "kdump bitmaps changed");
				struct desc ds;
				int rc = kdump_get_desc(k, p, idx, &dc, &ds, err);
				if (!rc)
					rc = kdump_check_desc(k, p, idx, &ds, &st, err);
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
	p0->v = d->src.view; /* borrowed: not freed with the parts */
	p0->v.path = d->path;
	p0->v.inner = "kdump";
	int rc;
	if (want_flat && !p0->v.flat)
		return dp_fail(err, DP_E_CORRUPT, 0, "flattened header: the file does not start with \"makedumpfile\"");
	if ((rc = kdump_parse_header(d, k, &p0->v, err)))
		return rc;
	if ((rc = kdump_parse_sub_header(k, p0, err)))
		return rc;
	if (k->max_mapnr != k->hdr_mapnr && (k->max_mapnr < UINT32_MAX || k->hdr_mapnr != UINT32_MAX))
		dp_add_warning(d, "kdump headers disagree: max_mapnr is %u in the main header, %llu in the sub "
			       "header (read with %llu frames)",
			       k->hdr_mapnr, (unsigned long long)k->max_mapnr, (unsigned long long)k->max_mapnr);
	if ((rc = kdump_load_bitmaps(k, &p0->v, err)))
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
		if ((rc = kdump_setup_parts(d, k, err)))
			return rc;
	} else {
		p0->start_pfn = 0;
		p0->end_pfn = k->max_mapnr;
	}
	/* descriptor tables; the shared zero page follows each one */
	uint64_t desc_off;
	if (kd_mul_overflows((uint64_t)1 + k->sub_blocks + k->bitmap_blocks, k->bs, &desc_off))
		return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p0->v, 0x1A8), "kdump main header: sizes overflow");
	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];
		p->desc_off = desc_off;
		p->ndesc = kdump_count2(k, p->start_pfn, p->end_pfn);
		uint64_t len, end;
		if (kd_mul_overflows(p->ndesc, DESC_SIZE, &len) || dp_add_overflows(desc_off, len, &end))
			return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, 0x1A8), "kdump descriptor table size overflows");
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
		const uint8_t *z = end + k->bs <= lim ? dp_view_get(&p->v, end, k->bs, zb, "", &e2) : NULL;
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
			    : k->n_zstd ? "zstd" : k->max_mapnr ? "uncompressed" : "no";
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
			      kdump_level_words(k->dump_level, lw, sizeof lw),
			      (k->dump_level & 1) ? "; zero pages stored once and shared" : "");
	dp_add_detail(d, "max_mapnr", "%llu frames of %u bytes%s", (unsigned long long)k->max_mapnr, k->bs,
		      k->max_mapnr ? "" : " (an empty dump: no frame at all)");
	dp_add_detail(d, "pages stored", "%llu zlib, %llu lzo, %llu snappy, %llu zstd, %llu uncompressed, "
		      "%llu shared zero page",
		      (unsigned long long)k->n_zlib, (unsigned long long)k->n_lzo, (unsigned long long)k->n_snappy,
		      (unsigned long long)k->n_zstd, (unsigned long long)k->n_raw, (unsigned long long)k->n_zero);
	if (k->n_filtered)
		dp_add_detail(d, "filtered", "%llu frame(s) in the 1st bitmap only: excluded by the dump level "
			      "(absent)", (unsigned long long)k->n_filtered);
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
			       k->dump_level, kdump_level_words(k->dump_level, lw, sizeof lw),
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
	bool flat = d->src.view.flat;
	if (flat)
		d->info.format = "kdump-flattened";
	return open_common(d, flat, err);
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
	kr->zlib_inflate = r->d->opt.zlib_inflate;
	r->priv = kr;
	return DP_OK;
}

static void kdump_reader_close(struct dp_reader *r)
{
	struct kreader *kr = r->priv;
	if (!kr)
		return;
	dp_pagedec_free(kr->dec);
	free(kr->scratch);
	free(kr->descs);
	free(kr);
	r->priv = NULL;
}

static int bad_page(const struct part *p, uint64_t idx, const char *codec, const char *why, struct dp_error *err)
{
	return dp_fail(err, DP_E_CORRUPT, dp_view_file_off(&p->v, p->desc_off + idx * DESC_SIZE),
		       "kdump page descriptor %llu: %s page does not decompress to exactly one block (%s)",
		       (unsigned long long)idx, codec, why);
}

static int decompress(struct kreader *kr, const struct kd *k, const struct part *p, uint64_t idx,
		      const struct desc *ds, const uint8_t *src, uint8_t *dst, struct dp_error *err)
{
	enum dp_page_codec codec;
	switch (ds->flags & F_CODECS) {
	case 0:
		memcpy(dst, src, k->bs);
		return DP_OK;
	case F_ZLIB: codec = DP_PAGE_ZLIB; break;
	case F_LZO: codec = DP_PAGE_LZO; break;
	case F_SNAPPY: codec = DP_PAGE_SNAPPY; break;
	case F_ZSTD: codec = DP_PAGE_ZSTD; break;
	default: return bad_page(p, idx, "?", "unknown flags", err);
	}
	const char *why = dp_page_decode(&kr->dec, kr->zlib_inflate, codec, src, ds->size, dst, k->bs);
	return why ? bad_page(p, idx, dp_page_codec_name(codec), why, err) : DP_OK;
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
	struct dp_cursor dc = DP_CURSOR_NONE, pc = DP_CURSOR_NONE; /* descriptors, page data */
	bool contiguous = true, uniform = true;
	for (uint32_t b = 0; b < u->nblocks; b++) {
		if (b)
			f = kdump_next_frame(k, f + 1, p->end_pfn);
		if (f >= p->end_pfn)
			return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "kdump unit %zu runs past its part", unit);
		struct kdesc *kd = &kr->descs[b];
		kd->state = K_FILTERED;
		kd->idx = UINT64_MAX;
		if (kd_bit(k->bm2, f)) {
			enum kstate ks;
			int rc = kdump_get_desc(k, p, idx, &dc, &kd->ds, err);
			if (!rc)
				rc = kdump_check_desc(k, p, idx, &kd->ds, &ks, err);
			if (rc)
				return rc;
			kd->state = ks;
			kd->idx = idx++;
			if (ks == K_DATA) {
				int64_t fo = kd->foff = dp_view_span_at(&p->v, kd->ds.off, kd->ds.size, &pc);
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
	/* the unit's compressed bytes in one pread when they lie together in
	 * the file (as producers write them) */
	const uint8_t *win = NULL;
	if (hi > lo && hi <= p->v.size && hi - lo <= 2 * sum + 65536 &&
	    !(win = dp_reader_span(r, &p->v, lo, (size_t)(hi - lo), hi, err)))
		return err->status;
	/* pass 2: decompress */
	for (uint32_t b = 0; b < u->nblocks; b++) {
		const struct kdesc *kd = &kr->descs[b];
		if (kd->state != K_DATA)
			continue;
		const uint8_t *src;
		if (win && kd->foff >= 0)
			src = win + ((uint64_t)kd->foff - lo);
		else if (!(src = dp_view_get(&p->v, kd->ds.off, kd->ds.size, kr->scratch, "kdump page data", err)))
			return err->status;
		int rc = decompress(kr, k, p, kd->idx, &kd->ds, src, buf + (size_t)b * k->ratio * k->ps, err);
		if (rc)
			return rc;
		c->bytes += kd->ds.size;
	}
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

const struct dp_format_ops flattened_ops = {
	.name = "kdump-flattened",
	.description = "makedumpfile flattened kdump (QEMU/virsh kdump-zlib, makedumpfile -F)",
	.open = flattened_open, /* by name only: a flattened kdump file probes as kdump */
	.close = kdump_close,
	.reader_open = kdump_reader_open,
	.reader_close = kdump_reader_close,
	.read_unit = kdump_read_unit,
	.random_only = true,
	.flat_in_place = true,
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
	.random_only = true,
	.flat_in_place = true,
};
