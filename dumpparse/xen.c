/*
 * Xen domain cores written by `xl dump-core` (and `xm dump-core`): ELF64
 * ET_CORE files with no program headers, only sections (the Xen document
 * "dump-core format", version 0.1).
 *
 *   .note.Xen     notes named "Xen"; HEADER {magic, vcpus, nr_pages, page_size}
 *                 and FORMAT_VERSION (major << 32 | minor) are required
 *   .xen_pages    nr_pages pages of page_size bytes
 *   .xen_pfn      u64 guest frame per page (HVM and other auto-translated guests)
 *   .xen_p2m      {u64 pfn, u64 gmfn} per page (PV guests; pfn is the guest frame)
 *
 * The table order is unspecified.  An entry whose frame is all ones marks a
 * padding page (written when the domain shrank during a live dump): not a
 * guest page, counted in a detail.  Two entries for one frame are corrupt.
 * All fields follow the byte order of e_ident (the dumping host's).
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define ET_CORE 4
#define SHT_NOTE 7
#define SHDR64 64u
#define XEN_NOTE_HEADER 0x2000001u
#define XEN_NOTE_FORMAT 0x2000003u
#define XC_CORE_MAGIC_PV 0xF00FEBEDu
#define XC_CORE_MAGIC_HVM 0xF00FEBEEu
#define INVALID_FRAME UINT64_MAX


/* ELF core, no program headers, some sections: a Xen dump-core.  Anything
 * else that is ELF is left to the ELF back end after this one. */
static enum dp_probe xen_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	if (n < 64 || memcmp(h, "\177ELF", 4) != 0 || (h[5] != 1 && h[5] != 2))
		return DP_PROBE_NO;
	if (h[4] != 1 && h[4] != 2)
		return DP_PROBE_NO;
	struct dp_ehdr x;
	dp_ehdr_decode(h, &x);
	if (x.type != ET_CORE)
		return DP_PROBE_NO;
	uint32_t phnum = x.phnum;
	uint16_t shnum = x.shnum;
	return phnum == 0 && shnum != 0 ? DP_PROBE_YES : DP_PROBE_NO;
}

struct section {
	uint64_t off, size, at;
	uint32_t type;
	bool found;
};

struct pfn_at {
	uint64_t pfn, index;
};

static int cmp_pfn(const void *a, const void *b)
{
	const struct pfn_at *x = a, *y = b;
	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int section_in_file(struct dp_dump *d, const struct section *s, const char *name, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(s->off, s->size, &end))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)s->at, "section %s: offset %llu + size %llu overflows",
			       name, (unsigned long long)s->off, (unsigned long long)s->size);
	if (d->src.size != UINT64_MAX && end > d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)s->at,
			       "section %s (%llu bytes at offset %llu) runs past the end of the file (%llu bytes; "
			       "%llu missing)",
			       name, (unsigned long long)s->size, (unsigned long long)s->off,
			       (unsigned long long)d->src.size,
			       (unsigned long long)(end - (s->off > d->src.size ? s->off : d->src.size)));
	return DP_OK;
}

/* Borrowed (mapped) or owned (*own) bytes of a section. */
static const uint8_t *section_bytes(struct dp_dump *d, const struct section *s, const char *name,
				    uint8_t **own, struct dp_error *err)
{
	*own = NULL;
	if (dp_src_random(d))
		return dp_src_ptr(d, s->off, s->size, name, err);
	if (s->size > (512u << 20)) {
		dp_fail(err, DP_E_UNSUPPORTED, (int64_t)s->off, "section %s (%llu bytes) is too large to read from a stream",
			name, (unsigned long long)s->size);
		return NULL;
	}
	*own = malloc(s->size ? (size_t)s->size : 1);
	if (!*own) {
		dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		return NULL;
	}
	if (dp_src_read(d, s->off, *own, (size_t)s->size, name, err)) {
		free(*own);
		*own = NULL;
		return NULL;
	}
	return *own;
}

enum { S_NOTE, S_PAGES, S_PFN, S_P2M, S_N };
static const char *const want[S_N] = { ".note.Xen", ".xen_pages", ".xen_pfn", ".xen_p2m" };

/* What xen_open has learnt so far, step by step. */
struct xopen {
	struct dp_ehdr x;
	const uint8_t *sh;          /* the section header table */
	struct section sec[S_N];
	uint64_t magic, nvcpu, npages, psz, fmt;
	bool have_fmt;
	struct pfn_at *pa;          /* the stored frames, in file order */
	uint64_t n, padding;
};

/* The ELF header of a dump-core and its section header table. */
static int xen_header(struct dp_dump *d, struct xopen *o, struct dp_error *err)
{
	struct dp_ehdr x;
	uint8_t h[64];
	int rc = dp_src_read(d, 0, h, 16, "ELF header", err);
	if (rc)
		return rc;
	if (memcmp(h, "\177ELF", 4) != 0)
		return dp_fail(err, DP_E_CORRUPT, 0, "not an ELF file");
	if (h[5] != 1 && h[5] != 2)
		return dp_fail(err, DP_E_CORRUPT, 5, "ELF data encoding %u is neither little- nor big-endian", h[5]);
	if (h[4] != 2)
		return dp_fail(err, DP_E_UNSUPPORTED, 4,
			       "ELF class %u core without program headers: a Xen dump-core is always ELF64", h[4]);
	if ((rc = dp_ehdr_read(d, &x, err)))
		return rc;
	if (x.type != ET_CORE)
		return dp_fail(err, DP_E_UNSUPPORTED, 16, "ELF file is not a core dump (e_type %u)", x.type);
	if (x.phnum != 0)
		return dp_fail(err, DP_E_CORRUPT, 0x38, "a Xen dump-core has no program headers, this one has %u",
			       x.phnum);
	if (x.shnum == 0)
		return dp_fail(err, DP_E_CORRUPT, 0x3c, "ELF core has neither program headers nor sections");
	if (x.shentsize != SHDR64)
		return dp_fail(err, DP_E_CORRUPT, 0x3a, "section header size %u, expected %u", x.shentsize, SHDR64);
	if (x.shstrndx >= x.shnum)
		return dp_fail(err, DP_E_CORRUPT, 0x3e, "section name table index %u is not below the %u sections",
			       x.shstrndx, x.shnum);
	if (x.shoff < 64)
		return dp_fail(err, DP_E_CORRUPT, 0x28, "section headers at offset %llu overlap the ELF header",
			       (unsigned long long)x.shoff);
	uint64_t tbl = (uint64_t)x.shnum * SHDR64, tend;
	if (dp_add_overflows(x.shoff, tbl, &tend) || (d->src.size != UINT64_MAX && tend > d->src.size))
		return dp_fail(err, DP_E_TRUNCATED, 0x28,
			       "section header table (%u entries at offset %llu) runs past the end of the file "
			       "(%llu bytes)",
			       x.shnum, (unsigned long long)x.shoff, (unsigned long long)d->src.size);
	if (!dp_src_random(d))
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			       "a Xen dump-core keeps its section table at the end of the file, which a compressed "
			       "or piped input cannot reach before the pages: decompress it first");
	o->x = x;
	o->sh = dp_src_ptr(d, x.shoff, tbl, "section headers", err);
	return o->sh ? DP_OK : err->status;
}

/* The sections a dump-core must have, found by name. */
static int xen_sections(struct dp_dump *d, struct xopen *o, struct dp_error *err)
{
	const struct dp_ehdr x = o->x;
	const uint8_t *sh = o->sh;
	struct section *sec = o->sec;
	int rc;
	const uint8_t *ss = sh + (size_t)x.shstrndx * SHDR64;
	struct section strtab = { dp_get64(x.be, ss + 24), dp_get64(x.be, ss + 32), x.shoff + (uint64_t)x.shstrndx * SHDR64,
				  dp_get32(x.be, ss + 4), true };
	if ((rc = section_in_file(d, &strtab, "section name table", err)))
		return rc;
	const uint8_t *names = dp_src_ptr(d, strtab.off, strtab.size, "section name table", err);
	if (!names && strtab.size)
		return err->status;

	for (uint16_t i = 0; i < x.shnum; i++) {
		const uint8_t *p = sh + (size_t)i * SHDR64;
		uint64_t at = x.shoff + (uint64_t)i * SHDR64;
		uint32_t nm = dp_get32(x.be, p);
		if (i == 0 || nm == 0)
			continue;
		if (nm >= strtab.size)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
				       "section %u: name offset %u lies outside the name table (%llu bytes)", i, nm,
				       (unsigned long long)strtab.size);
		const char *name = (const char *)names + nm;
		size_t maxlen = (size_t)(strtab.size - nm);
		if (!memchr(name, 0, maxlen))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "section %u: name is not terminated", i);
		for (int k = 0; k < S_N; k++) {
			if (strcmp(name, want[k]) != 0)
				continue;
			if (sec[k].found)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "two %s sections", want[k]);
			sec[k] = (struct section){ dp_get64(x.be, p + 24), dp_get64(x.be, p + 32), at, dp_get32(x.be, p + 4), true };
			if ((rc = section_in_file(d, &sec[k], want[k], err)))
				return rc;
		}
	}
	if (!sec[S_NOTE].found || !sec[S_PAGES].found)
		return dp_fail(err, DP_E_CORRUPT, 0x28,
			       "ELF core without program headers lacks the %s section of a Xen dump-core",
			       !sec[S_NOTE].found ? ".note.Xen" : ".xen_pages");
	if (sec[S_PFN].found == sec[S_P2M].found)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(sec[S_PFN].found ? sec[S_P2M].at : 0x28),
			       "a Xen dump-core has exactly one of .xen_pfn and .xen_p2m; this one has %s",
			       sec[S_PFN].found ? "both" : "neither");
	if (sec[S_NOTE].type != SHT_NOTE)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)sec[S_NOTE].at, ".note.Xen section has type %u, not SHT_NOTE",
			       sec[S_NOTE].type);
	return DP_OK;
}

/* The Xen notes: header (magic, vcpus, pages, page size) and format version. */
static int xen_notes(struct dp_dump *d, struct xopen *o, struct dp_error *err)
{
	const struct dp_ehdr x = o->x;
	const struct section *sec = o->sec;
	const uint8_t *nb = dp_src_ptr(d, sec[S_NOTE].off, sec[S_NOTE].size, ".note.Xen", err);
	if (!nb && sec[S_NOTE].size)
		return err->status;
	uint64_t magic = 0, nvcpu = 0, npages = 0, psz = 0, fmt = 0;
	bool have_hdr = false, have_fmt = false;
	uint64_t pos = 0, nsize = sec[S_NOTE].size;
	while (pos + 12 <= nsize) {
		uint64_t at = sec[S_NOTE].off + pos;
		uint32_t namesz = dp_get32(x.be, nb + pos), descsz = dp_get32(x.be, nb + pos + 4), type = dp_get32(x.be, nb + pos + 8);
		uint64_t desc_at = pos + 12 + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_at + descsz > nsize)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
				       "Xen note (name %u bytes, data %u bytes) runs past the .note.Xen section", namesz,
				       descsz);
		bool xen = namesz == 4 && memcmp(nb + pos + 12, "Xen", 4) == 0;
		if (xen && type == XEN_NOTE_HEADER) {
			if (descsz < 32)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "Xen header note has %u bytes, expected 32",
					       descsz);
			const uint8_t *q = nb + desc_at;
			magic = dp_get64(x.be, q);
			nvcpu = dp_get64(x.be, q + 8);
			npages = dp_get64(x.be, q + 16);
			psz = dp_get64(x.be, q + 24);
			have_hdr = true;
		} else if (xen && type == XEN_NOTE_FORMAT) {
			if (descsz < 8)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
					       "Xen format-version note has %u bytes, expected 8", descsz);
			fmt = dp_get64(x.be, nb + desc_at);
			have_fmt = true;
		}
		pos = next;
	}
	uint64_t note_at = sec[S_NOTE].off;
	if (!have_hdr)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)note_at, ".note.Xen has no Xen header note");
	if (magic != XC_CORE_MAGIC_PV && magic != XC_CORE_MAGIC_HVM)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)note_at, "Xen header magic 0x%llx is neither 0x%x (PV) nor 0x%x (HVM)",
			       (unsigned long long)magic, XC_CORE_MAGIC_PV, XC_CORE_MAGIC_HVM);
	if (psz < 4096 || psz > (1u << 30) || (psz & (psz - 1)))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)note_at,
			       "Xen header page size %llu is not a power of two between 4096 and 1 GiB",
			       (unsigned long long)psz);
	if (!have_fmt)
		dp_add_warning(d, ".note.Xen has no format-version note; read as version 0.1");
	else if ((fmt >> 32) != 0)
		return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)note_at, "Xen dump-core format version %llu.%llu: only 0.x is known",
			       (unsigned long long)(fmt >> 32), (unsigned long long)(fmt & 0xffffffffu));
	o->magic = magic;
	o->nvcpu = nvcpu;
	o->npages = npages;
	o->psz = psz;
	o->fmt = fmt;
	o->have_fmt = have_fmt;
	return DP_OK;
}

/* The frame table (.xen_pfn or .xen_p2m): every stored frame, checked for
 * range and duplicates; o->pa is allocated (freed by the caller). */
static int xen_frames(struct dp_dump *d, struct xopen *o, struct dp_error *err)
{
	const struct dp_ehdr x = o->x;
	const struct section *sec = o->sec;
	uint64_t npages = o->npages, psz = o->psz;
	int rc;
	bool p2m = sec[S_P2M].found;
	const struct section *ts = &sec[p2m ? S_P2M : S_PFN];
	unsigned esz = p2m ? 16 : 8;
	if (npages > sec[S_PAGES].size / psz || npages * psz != sec[S_PAGES].size)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)sec[S_PAGES].at,
			       ".xen_pages holds %llu bytes, the header promises %llu pages of %llu bytes",
			       (unsigned long long)sec[S_PAGES].size, (unsigned long long)npages,
			       (unsigned long long)psz);
	if (ts->size != npages * esz)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)ts->at, "%s holds %llu bytes, expected %llu entries of %u bytes",
			       want[p2m ? S_P2M : S_PFN], (unsigned long long)ts->size, (unsigned long long)npages, esz);

	uint8_t *own;
	const uint8_t *tb = section_bytes(d, ts, want[p2m ? S_P2M : S_PFN], &own, err);
	if (!tb && npages)
		return err->status;
	struct pfn_at *pa = malloc((npages ? npages : 1) * sizeof *pa);
	if (!pa) {
		free(own);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for %llu frame entries",
			       (unsigned long long)npages);
	}
	uint64_t n = 0, padding = 0, max_pfn = UINT64_MAX / psz;
	rc = DP_OK;
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t pfn = dp_get64(x.be, tb + i * esz);
		if (pfn == INVALID_FRAME) {
			padding++;
			continue;
		}
		if (pfn >= max_pfn) {
			rc = dp_fail(err, DP_E_CORRUPT, (int64_t)(ts->off + i * esz),
				     "%s entry %llu: frame 0x%llx lies beyond the 64-bit address space",
				     want[p2m ? S_P2M : S_PFN], (unsigned long long)i, (unsigned long long)pfn);
			break;
		}
		pa[n++] = (struct pfn_at){ pfn, i };
	}
	free(own);
	if (rc) {
		free(pa);
		return rc;
	}
	/* duplicates: sort a copy by frame */
	struct pfn_at *sorted = malloc((n ? n : 1) * sizeof *sorted);
	if (!sorted) {
		free(pa);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	memcpy(sorted, pa, n * sizeof *pa);
	qsort(sorted, n, sizeof *sorted, cmp_pfn);
	for (uint64_t i = 1; i < n; i++)
		if (sorted[i].pfn == sorted[i - 1].pfn) {
			rc = dp_fail(err, DP_E_CORRUPT, (int64_t)(ts->off + sorted[i].index * esz),
				     "%s entries %llu and %llu both hold frame 0x%llx", want[p2m ? S_P2M : S_PFN],
				     (unsigned long long)sorted[i - 1].index, (unsigned long long)sorted[i].index,
				     (unsigned long long)sorted[i].pfn);
			break;
		}
	free(sorted);
	o->pa = pa;
	o->n = n;
	o->padding = padding;
	return rc;
}

static int xen_open(struct dp_dump *d, struct dp_error *err)
{
	struct xopen o;
	memset(&o, 0, sizeof o);
	int rc;
	if ((rc = xen_header(d, &o, err)) || (rc = xen_sections(d, &o, err)) || (rc = xen_notes(d, &o, err)))
		return rc;
	if ((rc = xen_frames(d, &o, err))) {
		free(o.pa);
		return rc;
	}
	const struct dp_ehdr x = o.x;
	const struct section *sec = o.sec;
	const struct pfn_at *pa = o.pa;
	uint64_t psz = o.psz, n = o.n, magic = o.magic, fmt = o.fmt;
	bool p2m = sec[S_P2M].found;
	d->info.native_page_size = (uint32_t)psz;
	d->info.page_size = d->opt.page_size ? d->opt.page_size : (uint32_t)psz;
	/* one map piece per run of consecutive frames stored consecutively */
	for (uint64_t i = 0; i < n && !rc;) {
		uint64_t j = i + 1;
		while (j < n && pa[j].pfn == pa[j - 1].pfn + 1 && pa[j].index == pa[j - 1].index + 1)
			j++;
		rc = dp_map_add(d, pa[i].pfn * psz, (j - i) * psz, sec[S_PAGES].off + pa[i].index * psz, err);
		i = j;
	}
	free(o.pa);
	if (rc)
		return rc;

	const char *kind = magic == XC_CORE_MAGIC_HVM ? "HVM" : "PV";
	dp_set_variant(d, "Xen dump-core (xl/xm dump-core), ELF64 %s-endian, %s guest, frames in %s", x.be ? "big" : "little",
		       kind, want[p2m ? S_P2M : S_PFN]);
	dp_add_detail(d, "xen header", "magic 0x%llx (%s), %llu vcpus, %llu pages of %llu bytes",
		      (unsigned long long)magic, kind, (unsigned long long)o.nvcpu, (unsigned long long)o.npages,
		      (unsigned long long)psz);
	if (o.have_fmt)
		dp_add_detail(d, "format version", "%llu.%llu", (unsigned long long)(fmt >> 32),
			      (unsigned long long)(fmt & 0xffffffffu));
	dp_add_detail(d, "xen_pages", "%llu bytes at offset %llu", (unsigned long long)sec[S_PAGES].size,
		      (unsigned long long)sec[S_PAGES].off);
	if (o.padding)
		dp_add_detail(d, "padding", "%llu entries with the invalid-frame marker (all ones): not guest pages",
			      (unsigned long long)o.padding);
	return dp_map_finish(d, err);
}

const struct dp_format_ops xen_ops = {
	.name = "xen-xc-core",
	.description = "Xen domain core (xl dump-core / xm dump-core ELF with .xen_pages)",
	.probe = xen_probe,
	.open = xen_open,
};
