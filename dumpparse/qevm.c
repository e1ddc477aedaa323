/*
 * QEMU migration streams ("QEVM": plain `virsh dump`, QMP migrate to a
 * file) and libvirt save images ("LibvirtQemudSave": virsh save /
 * managedsave), which are a header, the domain XML and the same stream,
 * possibly piped through gzip/bzip2/xz/lzop/zstd.  Both ops live here;
 * the file exports qevm_ops and libvirt_save_ops.
 *
 * Only the "ram" section is read: its START holds the RAM block list, its
 * START/PART/END payloads hold page records (PAGE: the bytes, ZERO: one
 * fill byte), each payload ends with EOS.  Reading stops at the EOS of the
 * RAM END section; device sections after it are never parsed (they have no
 * length field).  What this reader cannot decode (XBZRLE, compressed pages,
 * multifd, RDMA hooks, postcopy packages, other iterable sections before
 * RAM ends, mapped-ram) is refused with its offset.
 *
 * Page identity is (RAM block, offset).  The machine's RAM block and the
 * x86 BIOS are mapped to guest-physical frames where the board's rule is
 * known (from the machine type in the configuration section); other blocks
 * (option ROMs, ACPI blobs, VRAM ...) are numbered in address spaces of
 * their own (dp_info.spaces).
 *
 * Mapped uncompressed files are indexed once (offset of the last copy of
 * every page: a page sent again wins over its earlier copies) and then read
 * at random by all workers.  Streams (pipes, compressed files or payloads)
 * are read once in order; there a page sent twice cannot be undone and is
 * refused.
 */
#include "qevm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- open ---- */

static void qv_free(struct qv *v)
{
	if (!v)
		return;
	dp_stream_free(v->in.stream);
	free(v->in.buf);
	free(v->blocks);
	free(v->loc);
	free(v->seen);
	free(v->pending);
	free(v->pending_data);
	free(v->units);
	for (size_t i = 0; i < v->nspaces; i++)
		free(v->space_names[i]);
	free(v->space_names);
	free(v->space_kinds);
	free(v);
}

static void qevm_close(struct dp_dump *d)
{
	qv_free(d->priv);
	d->priv = NULL;
}

static int add_range(struct dp_dump *d, uint64_t pfn, uint64_t n, enum dp_mem_kind k, struct dp_error *err)
{
	if (dp_grow((void **)&d->ranges, &d->cap_ranges, d->nranges + 1, sizeof *d->ranges))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, DP_PAGE_DATA, UINT64_MAX, k };
	return DP_OK;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* A RAM block's kind from its id: QEMU names device and firmware memory
 * after the device ("vga.vram", "0000:00:02.0/qxl.vram", "pc.bios",
 * "pc.rom", option ROMs "*.rom", pflash, fw_cfg blobs "/rom@etc/...");
 * machine RAM, NUMA nodes and memory backends (DIMMs, virtio-mem) are
 * guest RAM. */
static enum dp_mem_kind block_kind(const char *id)
{
	if (strncmp(id, "/rom@", 5) == 0 || strstr(id, "vram") || strstr(id, "vga.") || strstr(id, "pflash") ||
	    ends_with(id, ".rom") || ends_with(id, "bios") || ends_with(id, ".flash"))
		return DP_MEM_DEVICE;
	return DP_MEM_RAM;
}

static int cmp_range(const void *a, const void *b)
{
	const struct dp_range *x = a, *y = b;
	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static int describe(struct dp_dump *d, struct qv *v, struct dp_error *err)
{
	int rc;
	/* guest-physical ranges, spaces */
	for (size_t i = 0; i < v->nblocks; i++) {
		struct block *b = &v->blocks[i];
		b->kind = block_kind(b->id);
		if (b->kind == DP_MEM_DEVICE)
			d->info.device_pages += b->npages * v->ratio;
		if (!b->mapped)
			continue;
		if ((rc = add_range(d, b->gpa / v->ps, b->below / v->ps, b->kind, err)))
			return rc;
		if (b->below < b->len &&
		    (rc = add_range(d, b->above / v->ps, (b->len - b->below) / v->ps, b->kind, err)))
			return rc;
	}
	if (d->nranges)
		qsort(d->ranges, d->nranges, sizeof *d->ranges, cmp_range);
	size_t w = 0;
	for (size_t i = 0; i < d->nranges; i++) {
		if (w && d->ranges[w - 1].pfn + d->ranges[w - 1].npages == d->ranges[i].pfn &&
		    d->ranges[w - 1].kind == d->ranges[i].kind)
			d->ranges[w - 1].npages += d->ranges[i].npages;
		else
			d->ranges[w++] = d->ranges[i];
	}
	d->nranges = w;
	v->space_names = calloc(v->nblocks ? v->nblocks : 1, sizeof(char *));
	v->space_kinds = calloc(v->nblocks ? v->nblocks : 1, 1);
	if (!v->space_names || !v->space_kinds)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < v->nblocks; i++)
		if (!v->blocks[i].mapped) {
			if (asprintf(&v->space_names[v->nspaces], "QEMU RAM block %s", v->blocks[i].id) < 0)
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			v->space_kinds[v->nspaces++] = (uint8_t)v->blocks[i].kind;
		}
	d->info.spaces = (const char *const *)v->space_names;
	d->info.space_kinds = v->space_kinds;
	d->info.nspaces = v->nspaces;
	d->info.kind_rule = "QEMU RAM block names: video RAM, BIOS, ROMs, flash and firmware blobs (*vram*, *bios, "
			    "*.rom, pflash, /rom@...) are device memory, the others guest RAM";
	d->info.pages = v->total_pages * v->ratio;
	d->info.native_page_size = v->tps;
	d->info.page_size = v->ps;
	return DP_OK;
}

static void add_details(struct dp_dump *d, struct qv *v)
{
	const char *wrap = v->libvirt ? "libvirt save image v" : "";
	char lv[96] = "";
	if (v->libvirt)
		snprintf(lv, sizeof lv, "%s%u (%s), ", wrap, v->lv_version,
			 v->in.codec_name ? v->in.codec_name : "uncompressed");
	dp_set_variant(d, "%sQEMU migration stream v3, machine %s, RAM section v4, %u-byte pages", lv,
		       v->machine[0] ? v->machine : "(not recorded)", v->tps);
	if (v->libvirt) {
		dp_add_detail(d, "libvirt", "save image version %u, payload %s, domain %s, was %s", v->lv_version,
			      v->in.codec_name ? v->in.codec_name : "uncompressed", v->domain[0] ? v->domain : "?",
			      v->lv_running ? "running" : "paused");
	}
	dp_add_detail(d, "machine", "%s", v->machine[0] ? v->machine : "(no configuration section)");
	dp_add_detail(d, "target page", "%u bytes", v->tps);
	if (v->caps[0])
		dp_add_detail(d, "capabilities", "%s", v->caps);
	dp_add_detail(d, "guest-physical", "%s", v->rule);
	for (size_t i = 0; i < v->nblocks; i++) {
		const struct block *b = &v->blocks[i];
		char where[160];
		if (b->mapped && b->below < b->len)
			snprintf(where, sizeof where, "guest-physical 0x%llx-0x%llx and 0x%llx-0x%llx",
				 (unsigned long long)b->gpa, (unsigned long long)(b->gpa + b->below - 1),
				 (unsigned long long)b->above, (unsigned long long)(b->above + b->len - b->below - 1));
		else if (b->mapped)
			snprintf(where, sizeof where, "guest-physical 0x%llx-0x%llx", (unsigned long long)b->gpa,
				 (unsigned long long)(b->gpa + b->len - 1));
		else
			snprintf(where, sizeof where, "no guest-physical address: address space %u", b->space);
		const char *kind = b->kind == DP_MEM_DEVICE ? "device memory" : "guest RAM";
		if (v->sequential)
			dp_add_detail(d, "ram block", "%s: %llu pages (%llu KiB), %s; %s", b->id,
				      (unsigned long long)b->npages, (unsigned long long)(b->len >> 10), where, kind);
		else
			dp_add_detail(d, "ram block", "%s: %llu pages (%llu KiB), %s; %llu sent as data, %llu as zero%s; %s",
				      b->id, (unsigned long long)b->npages, (unsigned long long)(b->len >> 10), where,
				      (unsigned long long)b->sent, (unsigned long long)b->zeros,
				      b->resent ? " (some more than once, last copy used)" : "", kind);
	}
	if (!v->sequential)
		dp_add_detail(d, "ram sections", "%llu (START, PART..., END), %llu page records",
			      (unsigned long long)v->nsections, (unsigned long long)v->nrecords);
	else
		dp_add_detail(d, "input", "read once in order (compressed or piped); a page sent twice is refused");
	if (v->nspaces)
		dp_add_detail(d, "other blocks", "%zu RAM block(s) have no guest-physical address (ROMs, firmware "
			      "blobs, VRAM ...): their pages are counted, numbered per block", v->nspaces);
	if (v->nnever)
		dp_add_warning(d, "%llu page(s) were never sent in the stream; they read as zero (as on the "
			       "destination of a migration)", (unsigned long long)v->nnever);
	if (v->nresent)
		dp_add_warning(d, "%llu page record(s) re-send a page (the guest ran while it was saved): the last "
			       "copy of each page is used", (unsigned long long)v->nresent);
}

/* Mapped input: walk every record once, remember the last copy of each page. */
static int index_stream(struct qv *v, struct dp_error *err)
{
	v->loc = calloc(v->total_pages ? v->total_pages : 1, sizeof *v->loc);
	if (!v->loc)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for %llu page entries",
			       (unsigned long long)v->total_pages);
	struct rec r;
	int rc;
	/* Only the record headers are read here, one in every page of the file:
	 * map the file ahead in large steps (one call instead of a fault every
	 * few pages) and drop what was walked, so that the process does not
	 * grow to the size of the file. */
	const uint64_t step = 32u << 20;
	uint64_t mapped_to = v->in.pos, dropped_to = v->in.pos;
	while (1) {
		struct qin *q = &v->in;
		if (q->pos + 65536 > mapped_to && mapped_to < q->maplen) {
			uint64_t n = q->maplen - mapped_to < step ? q->maplen - mapped_to : step;
			dp_src_prefault(q->map + mapped_to, (size_t)n);
			mapped_to += n;
		}
		if (q->pos > dropped_to + 2 * step) {
			dp_src_release(q->map + dropped_to, (size_t)(q->pos - step - dropped_to));
			dropped_to = q->pos - step;
		}
		if ((rc = qevm_next_record(v, &r, err)) != DP_OK)
			break;
		struct block *b = &v->blocks[r.block];
		uint64_t i = b->first + r.addr / v->tps;
		if (v->loc[i] != LOC_NONE) {
			v->nresent++;
			b->resent++;
		}
		if (r.type == R_ZERO)
			v->loc[i] = r.fill ? (LOC_FILL | r.fill) : LOC_ZERO;
		else
			v->loc[i] = r.data_pos;
	}
	if (v->in.pos > dropped_to)
		dp_src_release(v->in.map + dropped_to, (size_t)(v->in.pos - dropped_to));
	if (rc != DP_END)
		return rc;
	for (size_t k = 0; k < v->nblocks; k++) {
		struct block *b = &v->blocks[k];
		for (uint64_t p = 0; p < b->npages; p++) {
			uint64_t l = v->loc[b->first + p];
			if (l == LOC_NONE)
				v->nnever++;
			else if (l == LOC_ZERO)
				b->zeros++;
			else
				b->sent++;
		}
	}
	return DP_OK;
}

static int build_units(struct qv *v, struct dp_error *err)
{
	size_t cap = 0;
	uint64_t per = DP_UNIT_PAGES / v->ratio ? DP_UNIT_PAGES / v->ratio : 1;
	for (size_t k = 0; k < v->nblocks; k++) {
		const struct block *b = &v->blocks[k];
		uint64_t split = b->mapped && b->below < b->len ? b->below / v->tps : b->npages;
		for (uint64_t p = 0; p < b->npages;) {
			uint64_t end = p < split ? split : b->npages;
			uint64_t n = end - p < per ? end - p : per;
			if (dp_grow((void **)&v->units, &cap, v->nunits + 1, sizeof *v->units))
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			v->units[v->nunits++] = (struct unit){ (uint32_t)k, p, n };
			p += n;
		}
	}
	return DP_OK;
}

/* Common part of both formats once the stream's position is set up. */
static int open_stream(struct dp_dump *d, struct qv *v, struct dp_error *err)
{
	int rc;
	v->tps = 4096;
	if ((rc = qevm_parse_head(d, v, err)))
		return rc;
	uint32_t ps = d->opt.page_size ? d->opt.page_size : v->tps;
	if (ps > v->tps)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			       "page size %u is larger than the stream's target page size %u", ps, v->tps);
	v->ps = ps;
	v->ratio = v->tps / ps;
	if (!v->sequential) {
		if ((rc = index_stream(v, err)) || (rc = build_units(v, err)))
			return rc;
		d->info.nunits = v->nunits;
		d->info.sequential = 0;
		d->info.data_bytes = 0;
		for (size_t k = 0; k < v->nblocks; k++)
			d->info.data_bytes += v->blocks[k].sent * (uint64_t)v->tps;
	} else {
		/* the seen bitmap grows with the pages that arrive: the size the
		 * stream declares is only checked against its length at the end */
		d->info.nunits = 0;
		d->info.sequential = 1;
		d->info.data_bytes = v->total_pages * (uint64_t)v->tps;
	}
	if ((rc = describe(d, v, err)))
		return rc;
	add_details(d, v);
	return DP_OK;
}

static int qevm_open(struct dp_dump *d, struct dp_error *err)
{
	struct qv *v = calloc(1, sizeof *v);
	if (!v)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->priv = v;
	int rc = qevm_setup_input(d, v, 0, DP_CODEC_NONE, err);
	return rc ? rc : open_stream(d, v, err);
}

/* A few facts from the domain XML for --info. */
static void xml_facts(struct qv *v, const char *x, size_t n)
{
	const char *s = memmem(x, n, "<name>", 6);
	if (s) {
		s += 6;
		const char *e = memmem(s, n - (size_t)(s - x), "</name>", 7);
		if (e && e - s < (long)sizeof v->domain)
			snprintf(v->domain, sizeof v->domain, "%.*s", (int)(e - s), s);
	}
}

static int libvirt_open(struct dp_dump *d, struct dp_error *err)
{
	struct qv *v = calloc(1, sizeof *v);
	if (!v)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->priv = v;
	v->libvirt = true;
	uint8_t h[LV_HDR];
	int rc = dp_src_read(d, 0, h, sizeof h, "libvirt save header", err);
	if (rc)
		return rc;
	if (memcmp(h, "LibvirtQemudPart", 16) == 0)
		return dp_fail(err, DP_E_CORRUPT, 0,
			       "libvirt save image is incomplete (magic LibvirtQemudPart: the save was still "
			       "running or failed)");
	if (memcmp(h, "LibvirtQemudSave", 16) != 0)
		return dp_fail(err, DP_E_CORRUPT, 0, "libvirt save header: magic is not LibvirtQemudSave");
	uint32_t f[5];
	for (int i = 0; i < 5; i++)
		f[i] = dp_le32(h + 16 + 4 * i);
	if (f[0] > 2) /* written on a host of the other byte order */
		for (int i = 0; i < 5; i++)
			f[i] = __builtin_bswap32(f[i]);
	v->lv_version = f[0];
	uint32_t data_len = f[1], cookie = f[4];
	v->lv_running = f[2];
	v->lv_format = f[3];
	if (v->lv_version < 1 || v->lv_version > 2)
		return dp_fail(err, DP_E_UNSUPPORTED, 16, "libvirt save header: version %u (1 or 2 expected)",
			       v->lv_version);
	if (v->lv_version == 1)
		v->lv_format = 0;
	uint64_t start = LV_HDR + (uint64_t)data_len;
	if (data_len == 0)
		return dp_fail(err, DP_E_CORRUPT, 20, "libvirt save header: no domain XML (data length 0)");
	if (d->src.size != UINT64_MAX && start > d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, 20,
			       "libvirt save header: domain XML of %u bytes runs past the end of the file (%llu bytes)",
			       data_len, (unsigned long long)d->src.size);
	if (cookie && cookie >= data_len)
		return dp_fail(err, DP_E_CORRUPT, 32, "libvirt save header: cookie offset %u lies outside the XML "
			       "area (%u bytes)", cookie, data_len);
	static const enum dp_codec_kind fmt[] = { DP_CODEC_NONE, DP_CODEC_GZIP, DP_CODEC_BZIP2,
						  DP_CODEC_XZ,   DP_CODEC_LZOP, DP_CODEC_ZSTD };
	if (v->lv_format == 6)
		return dp_fail(err, DP_E_UNSUPPORTED, 28,
			       "libvirt 'sparse' save image (a mapped-ram stream): not supported yet");
	if (v->lv_format > 6)
		return dp_fail(err, DP_E_CORRUPT, 28, "libvirt save header: unknown image format %u", v->lv_format);
	/* the XML: only what --info shows */
	size_t xn = data_len < 65536 ? data_len : 65536;
	char *x = malloc(xn);
	if (!x)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	if ((rc = dp_src_read(d, LV_HDR, x, xn, "libvirt domain XML", err))) {
		free(x);
		return rc;
	}
	xml_facts(v, x, xn);
	free(x);
	enum dp_codec_kind codec = fmt[v->lv_format];
	if (codec != DP_CODEC_NONE) {
		uint8_t m[16];
		size_t avail = 16;
		if (d->src.size != UINT64_MAX && d->src.size - start < avail)
			avail = (size_t)(d->src.size - start);
		if ((rc = dp_src_read(d, start, m, avail, "compressed payload", err)))
			return rc;
		if (dp_codec_detect(m, avail) != codec)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)start,
				       "libvirt save header says the payload is %s-compressed, but it does not start "
				       "with that format's magic",
				       dp_codec_name(codec));
	}
	if ((rc = qevm_setup_input(d, v, start, codec, err)))
		return rc;
	return open_stream(d, v, err);
}

/* ---- reading ---- */

static int qevm_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	struct qv *v = d->priv;
	const struct unit *u = &v->units[unit];
	const struct block *b = &v->blocks[u->block];
	size_t nframes = (size_t)(u->npages * v->ratio);
	uint8_t *buf = dp_reader_buf(r, nframes * v->ps, err);
	uint8_t *st = dp_reader_states(r, nframes, err);
	if (!buf || !st)
		return err->status;
	bool uniform = true;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint64_t i = 0; i < u->npages; i++) {
		uint64_t loc = v->loc[b->first + u->page + i];
		if (loc > LOC_ZERO && !(loc & LOC_FILL)) {
			lo = loc < lo ? loc : lo;
			hi = loc + v->tps > hi ? loc + v->tps : hi;
		}
	}
	/* page records follow each other in the file: the unit's span in one
	 * pread (a flattened view is read in place by kdump only, never here) */
	const uint8_t *win = NULL;
	if (hi > lo && hi - lo <= u->npages * (uint64_t)(v->tps + 512) && v->in.base + hi <= d->src.size &&
	    !d->src.view.flat &&
	    !(win = dp_reader_span(r, &d->src.view, v->in.base + lo, (size_t)(hi - lo), v->in.base + hi, err)))
		return err->status;
	for (uint64_t i = 0; i < u->npages; i++) {
		uint64_t loc = v->loc[b->first + u->page + i];
		uint8_t *dst = buf + i * v->tps;
		uint8_t s = DP_PAGE_DATA;
		if (loc == LOC_NONE || loc == LOC_ZERO) {
			s = DP_PAGE_ZERO;
		} else if (loc & LOC_FILL) {
			memset(dst, (int)(loc & 0xff), v->tps);
		} else {
			const uint8_t *p = win && loc >= lo && loc + v->tps <= hi
						   ? win + (loc - lo)
						   : dp_src_ptr(d, v->in.base + loc, v->tps, "page data", err);
			if (!p)
				return err->status;
			memcpy(dst, p, v->tps);
			c->bytes += v->tps;
		}
		for (uint32_t k = 0; k < v->ratio; k++) {
			size_t j = (size_t)(i * v->ratio + k);
			st[j] = s;
			if (st[j] != st[0])
				uniform = false;
		}
	}
	c->pfn = qevm_page_pfn(v, b, u->page);
	c->npages = nframes;
	c->data = buf;
	c->state = uniform ? NULL : st;
	c->uniform = (enum dp_page_state)st[0];
	c->space = b->space;
	return DP_OK;
}

/* Streams: up to DP_UNIT_PAGES frames of one address space per call. */
/* Make the sequential seen bitmap at least n bytes long (doubling, within
 * the declared RAM). */
static int grow_seen(struct qv *v, uint64_t n, struct dp_error *err)
{
	uint64_t full = v->total_pages / 8 + 1, want = v->seen_len ? 2 * (uint64_t)v->seen_len : 4096;
	if (want < n)
		want = n;
	if (want > full)
		want = full;
	uint8_t *p = realloc(v->seen, (size_t)want);
	if (!p)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	memset(p + v->seen_len, 0, (size_t)want - v->seen_len);
	v->seen = p;
	v->seen_len = (size_t)want;
	return DP_OK;
}

static int qevm_read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	struct qv *v = d->priv;
	if (!v->sequential) {
		if (d->next_unit >= v->nunits)
			return DP_END;
		return qevm_read_unit(r, d->next_unit++, c, err);
	}
	size_t maxf = DP_UNIT_PAGES > v->ratio ? DP_UNIT_PAGES : v->ratio;
	uint8_t *buf = dp_reader_buf(r, maxf * v->ps, err);
	uint8_t *st = dp_reader_states(r, maxf, err);
	uint64_t *pfns = dp_reader_pfns(r, maxf, err);
	if (!buf || !st || !pfns)
		return err->status;
	size_t n = 0;
	int64_t space = -1;
	int rc = DP_OK;
	while (n + v->ratio <= maxf) {
		struct rec rr;
		if (v->pending) {
			rr = *v->pending;
			rr.data = v->pending_data;
			free(v->pending);
			v->pending = NULL;
		} else {
			if (v->done)
				break;
			if ((rc = qevm_next_record(v, &rr, err)) == DP_END)
				break;
			if (rc)
				return rc;
			uint64_t i = v->blocks[rr.block].first + rr.addr / v->tps;
			if (i / 8 >= v->seen_len && (rc = grow_seen(v, i / 8 + 1, err)))
				return rc;
			if (v->seen[i / 8] >> (i % 8) & 1)
				return qfail(&v->in, DP_E_UNSUPPORTED, rr.at, err,
					     "page 0x%llx of RAM block '%s' is sent a second time (the guest ran while "
					     "it was saved); only a regular uncompressed file can be read so that its "
					     "last copy wins",
					     (unsigned long long)rr.addr, v->blocks[rr.block].id);
			v->seen[i / 8] |= (uint8_t)(1u << (i % 8));
		}
		struct block *b = &v->blocks[rr.block];
		uint64_t page = rr.addr / v->tps;
		if (space >= 0 && (uint32_t)space != b->space) {
			/* another address space: this record starts the next chunk */
			v->pending = malloc(sizeof *v->pending);
			if (!v->pending)
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			*v->pending = rr;
			if (rr.data) {
				if (!v->pending_data && !(v->pending_data = malloc(v->tps)))
					return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
				memcpy(v->pending_data, rr.data, v->tps);
			}
			break;
		}
		space = b->space;
		uint8_t s = DP_PAGE_DATA;
		if (rr.type == R_ZERO && rr.fill == 0) {
			s = DP_PAGE_ZERO;
			b->zeros++;
		} else if (rr.type == R_ZERO) {
			memset(buf + n * v->ps, rr.fill, v->tps);
			b->sent++;
		} else {
			memcpy(buf + n * v->ps, rr.data, v->tps);
			c->bytes += v->tps;
			b->sent++;
		}
		for (uint32_t k = 0; k < v->ratio; k++, n++) {
			st[n] = s;
			pfns[n] = qevm_page_pfn(v, b, page) + k;
		}
	}
	if (n == 0 && v->done && !v->pending) {
		/* pages never sent read as zero, like RAM on a migration's destination;
		 * the same plausibility bound as for a mapped stream, now that its
		 * length is known */
		if (v->never_cursor == 0 && v->total_pages > v->in.pos * 8 + (1ull << 20))
			return qfail(&v->in, DP_E_CORRUPT, v->in.pos, err,
				     "the RAM block list declares %llu pages, too many for a %llu-byte stream "
				     "(most of them were never sent)",
				     (unsigned long long)v->total_pages, (unsigned long long)v->in.pos);
		while (v->never_cursor < v->total_pages && n + v->ratio <= maxf) {
			uint64_t i = v->never_cursor++;
			if (i / 8 < v->seen_len && (v->seen[i / 8] >> (i % 8) & 1))
				continue;
			size_t k = 0;
			while (k + 1 < v->nblocks && v->blocks[k + 1].first <= i)
				k++;
			const struct block *b = &v->blocks[k];
			if (space >= 0 && (uint32_t)space != b->space) {
				v->never_cursor--;
				break;
			}
			space = b->space;
			v->nnever++;
			for (uint32_t j = 0; j < v->ratio; j++, n++) {
				st[n] = DP_PAGE_ZERO;
				pfns[n] = qevm_page_pfn(v, b, i - b->first) + j;
			}
		}
		if (n == 0)
			return DP_END;
	}
	c->pfn = pfns[0];
	c->npages = n;
	c->data = buf;
	c->state = st;
	c->pfns = pfns;
	c->space = space < 0 ? 0 : (uint32_t)space;
	return DP_OK;
}

static enum dp_probe qevm_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 4 && dp_be32(h) == QEVM_MAGIC ? DP_PROBE_YES : DP_PROBE_NO;
}

static enum dp_probe libvirt_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 16 && (memcmp(h, "LibvirtQemudSave", 16) == 0 || memcmp(h, "LibvirtQemudPart", 16) == 0)
		       ? DP_PROBE_YES
		       : DP_PROBE_NO;
}

const struct dp_format_ops qevm_ops = {
	.name = "qemu-migration",
	.description = "QEMU migration stream (virsh dump, migrate to file)",
	.probe = qevm_probe,
	.open = qevm_open,
	.close = qevm_close,
	.read_unit = qevm_read_unit,
	.read_next = qevm_read_next,
};

const struct dp_format_ops libvirt_save_ops = {
	.name = "libvirt-save",
	.description = "libvirt save image (virsh save / managedsave)",
	.probe = libvirt_probe,
	.open = libvirt_open,
	.close = qevm_close,
	.read_unit = qevm_read_unit,
	.read_next = qevm_read_next,
};
