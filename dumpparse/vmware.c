/*
 * VMware checkpoints: .vmss (suspend) and .vmsn (snapshot) state files of
 * Workstation, Fusion and ESXi.  The state file is a table of named groups,
 * each a list of tags; group "memory" describes guest RAM:
 *
 *   regionsCount, regionPPN[i], regionPageNum[i], regionSize[i]
 *       guest frames [PPN, PPN+Size) are image pages [PageNum, PageNum+Size)
 *   Memory (a block tag)
 *       the memory image itself, when it is embedded in the state file
 *
 * Otherwise the image is the .vmem file beside the state file (same name,
 * extension .vmem), or the file given in dp_options.vmem_path.  Without
 * regions the image is flat: image byte N is guest-physical byte N.
 *
 * Magic values (little-endian u32 at offset 0): 0xBED2BED2, 0xBED3BED3,
 * 0xBAD1BAD1, 0xBAD2BAD2 use 8-byte block sizes; 0xBED2BED0 and 0xBED0BED0
 * (low nibble 0) are the old layout with 4-byte block sizes.  Compressed
 * memory blocks are refused: no public description of their encoding exists.
 */
#include "dp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_HDR 12u            /* magic, version, group count */
#define GROUP_DESC 80u           /* name[64], u64 tags_offset, u64 size */
#define MAX_GROUPS 1024u
#define MAX_REGIONS 64u
#define VM_PAGE 4096u
#define TAG_SIZE_BLOCK 63u
#define TAG_SIZE_CBLOCK 62u

struct magic_kind {
	uint32_t magic;
	const char *what;
};

static const struct magic_kind magics[] = {
	{ 0xBED2BED2u, "checkpoint" },
	{ 0xBED3BED3u, "partial checkpoint" },
	{ 0xBAD1BAD1u, "restored checkpoint" },
	{ 0xBAD2BAD2u, "no-restore checkpoint" },
	{ 0xBED2BED0u, "version-0 checkpoint, 4-byte block sizes" },
	{ 0xBED0BED0u, "old 32-bit checkpoint, 4-byte block sizes" },
};

static const struct magic_kind *find_magic(uint32_t m)
{
	for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
		if (magics[i].magic == m)
			return &magics[i];
	return NULL;
}

static enum dp_probe vmware_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	return n >= 4 && find_magic(dp_le32(h)) ? DP_PROBE_YES : DP_PROBE_NO;
}

struct region {
	uint64_t ppn, pagenum, size;
	uint8_t have;                /* bit 0 PPN, 1 PageNum, 2 Size */
	uint64_t at;                 /* file offset of the last of its tags */
};

struct memgroup {
	bool have_count;
	uint64_t count;
	uint64_t count_at;
	struct region reg[MAX_REGIONS];
	bool have_block;
	uint64_t block_off, block_len, block_mem, block_at;
	unsigned ntags;
};

/* Little-endian unsigned value of 1..8 bytes. */
static uint64_t le_n(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int read_at(struct dp_dump *d, uint64_t off, uint64_t limit, void *buf, size_t len,
		   const char *what, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end) || end > limit) {
		if (limit < d->src.size)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)off,
				       "%s runs past the end of the \"memory\" group (which ends at byte %llu)",
				       what, (unsigned long long)limit);
	}
	return dp_src_read(d, off, buf, len, what, err);
}

/* Walk the tags of group "memory" from off up to limit. */
static int parse_memory_group(struct dp_dump *d, uint64_t off, uint64_t limit, bool small_sizes,
			      struct memgroup *mg, struct dp_error *err)
{
	int rc;
	for (;;) {
		uint8_t th[2];
		uint64_t tag_at = off;
		if ((rc = read_at(d, off, limit, th, 2, "VMware tag header", err)))
			return rc;
		off += 2;
		unsigned flags = th[0], namelen = th[1];
		if (flags == 0 && namelen == 0)
			return DP_OK; /* end of the group's tags */
		if (namelen == 0)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
				       "VMware tag with flags 0x%02x has an empty name", flags);
		if (++mg->ntags > 1000000)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
				       "more than a million tags in the \"memory\" group");
		char name[256];
		if ((rc = read_at(d, off, limit, name, namelen, "VMware tag name", err)))
			return rc;
		name[namelen] = 0;
		for (unsigned i = 0; i < namelen; i++)
			if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
				name[i] = '?'; /* it goes into messages */
		off += namelen;
		unsigned nidx = (flags >> 6) & 3, vsize = flags & 0x3f;
		uint32_t idx[3] = { 0, 0, 0 };
		for (unsigned i = 0; i < nidx; i++) {
			uint8_t b[4];
			if ((rc = read_at(d, off, limit, b, 4, "VMware tag index", err)))
				return rc;
			idx[i] = dp_le32(b);
			off += 4;
		}
		if (vsize == TAG_SIZE_BLOCK || vsize == TAG_SIZE_CBLOCK) {
			unsigned w = small_sizes ? 4 : 8;
			uint8_t b[18];
			if ((rc = read_at(d, off, limit, b, 2 * w + 2, "VMware block header", err)))
				return rc;
			uint64_t nbytes = le_n(b, w), inmem = le_n(b + w, w);
			unsigned pad = dp_le16(b + 2 * w);
			uint64_t data, end;
			if (dp_add_overflows(off, 2 * w + 2 + (uint64_t)pad, &data) ||
			    dp_add_overflows(data, nbytes, &end))
				return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
					       "VMware block \"%s\": size %llu overflows", name,
					       (unsigned long long)nbytes);
			if (end > limit && limit < d->src.size)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
					       "VMware block \"%s\" (%llu bytes at offset %llu) runs past the end "
					       "of the \"memory\" group (byte %llu)",
					       name, (unsigned long long)nbytes, (unsigned long long)data,
					       (unsigned long long)limit);
			if (d->src.size != UINT64_MAX && end > d->src.size)
				return dp_fail(err, DP_E_TRUNCATED, (int64_t)tag_at,
					       "VMware block \"%s\" (%llu bytes at offset %llu) runs past the end "
					       "of the file (%llu bytes; %llu missing)",
					       name, (unsigned long long)nbytes, (unsigned long long)data,
					       (unsigned long long)d->src.size,
					       (unsigned long long)(end - (data > d->src.size ? data : d->src.size)));
			if (strcmp(name, "Memory") == 0) {
				if (vsize == TAG_SIZE_CBLOCK)
					return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)tag_at,
						       "the embedded guest memory is a compressed block, which "
						       "no known reader can decode: not supported");
				if (mg->have_block)
					return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)tag_at,
						       "a second \"Memory\" block: memory split over several "
						       "blocks is not supported");
				mg->have_block = true;
				mg->block_off = data;
				mg->block_len = nbytes;
				mg->block_mem = inmem;
				mg->block_at = tag_at;
				if (!dp_src_random(d))
					return DP_OK; /* a stream cannot come back: the rest is memory */
			}
			off = end;
			continue;
		}
		/* inline value */
		uint8_t v[64];
		if ((rc = read_at(d, off, limit, v, vsize, "VMware tag value", err)))
			return rc;
		off += vsize;
		int which = strcmp(name, "regionPPN") == 0       ? 0
			  : strcmp(name, "regionPageNum") == 0 ? 1
			  : strcmp(name, "regionSize") == 0    ? 2
			  : strcmp(name, "regionsCount") == 0 ? 3
							       : -1;
		if (which < 0)
			continue;
		if (vsize == 0 || vsize > 8)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
				       "VMware tag \"%s\" has a %u-byte value, not an integer", name, vsize);
		uint64_t val = le_n(v, vsize);
		if (which == 3) {
			if (nidx != 0)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
					       "VMware tag regionsCount has %u indices, expected none", nidx);
			mg->have_count = true;
			mg->count = val;
			mg->count_at = tag_at;
			continue;
		}
		if (nidx != 1)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
				       "VMware tag %s has %u indices, expected one (the region number)", name, nidx);
		if (idx[0] >= MAX_REGIONS)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at,
				       "VMware tag %s[%u]: region number beyond %u", name, idx[0], MAX_REGIONS);
		struct region *r = &mg->reg[idx[0]];
		if (r->have & (1u << which))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)tag_at, "VMware tag %s[%u] appears twice",
				       name, idx[0]);
		r->have |= (uint8_t)(1u << which);
		r->at = tag_at;
		if (which == 0)
			r->ppn = val;
		else if (which == 1)
			r->pagenum = val;
		else
			r->size = val;
	}
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* X.vmss / X.vmsn -> X.vmem; NULL when the name has neither extension. */
static char *companion(const char *path)
{
	size_t n = strlen(path);
	if (n < 5 || (strcmp(path + n - 5, ".vmss") != 0 && strcmp(path + n - 5, ".vmsn") != 0))
		return NULL;
	char *s = strdup(path);
	if (s)
		memcpy(s + n - 5, ".vmem", 5);
	return s;
}

static int cmp_u64pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Regions must not overlap in guest frames nor in image pages. */
static int check_overlap(uint64_t (*iv)[3], size_t n, const char *space, struct dp_error *err)
{
	qsort(iv, n, sizeof *iv, cmp_u64pair);
	for (size_t i = 1; i < n; i++)
		if (iv[i][0] < iv[i - 1][0] + iv[i - 1][1])
			return dp_fail(err, DP_E_CORRUPT, (int64_t)iv[i][2],
				       "VMware memory regions overlap in %s (0x%llx+%llu and 0x%llx+%llu pages)",
				       space, (unsigned long long)iv[i - 1][0], (unsigned long long)iv[i - 1][1],
				       (unsigned long long)iv[i][0], (unsigned long long)iv[i][1]);
	return DP_OK;
}

/* The checkpoint header and group table: the magic, and where the "memory"
 * group lies (*limit: where it ends, or the end of the file). */
static int find_memory_group(struct dp_dump *d, uint32_t *magicp, const struct magic_kind **mkp,
			     uint64_t *mem_offp, uint64_t *limitp, struct dp_error *err)
{
	uint8_t h[GROUP_HDR];
	int rc = dp_src_read(d, 0, h, sizeof h, "VMware checkpoint header", err);
	if (rc)
		return rc;
	uint32_t magic = dp_le32(h), ngroups = dp_le32(h + 8);
	const struct magic_kind *mk = find_magic(magic);
	if (!mk)
		return dp_fail(err, DP_E_CORRUPT, 0, "VMware checkpoint magic 0x%08x is not known", magic);
	if (ngroups == 0 || ngroups > MAX_GROUPS)
		return dp_fail(err, DP_E_CORRUPT, 8, "VMware checkpoint group count %u is not 1..%u", ngroups,
			       MAX_GROUPS);

	uint64_t mem_off = 0, mem_size = 0, mem_desc_at = 0;
	bool have_mem = false;
	for (uint32_t i = 0; i < ngroups; i++) {
		uint8_t g[GROUP_DESC];
		uint64_t at = GROUP_HDR + (uint64_t)i * GROUP_DESC;
		if ((rc = dp_src_read(d, at, g, sizeof g, "VMware group table", err)))
			return rc;
		if (memchr(g, 0, 64) == NULL)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "VMware group %u: name is not terminated", i);
		if (strcmp((const char *)g, "memory") != 0)
			continue;
		if (have_mem)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)at, "two VMware groups named \"memory\"");
		have_mem = true;
		mem_off = dp_le64(g + 64);
		mem_size = dp_le64(g + 72);
		mem_desc_at = at;
	}
	uint64_t table_end = GROUP_HDR + (uint64_t)ngroups * GROUP_DESC;
	if (!have_mem)
		return dp_fail(err, DP_E_CORRUPT, GROUP_HDR,
			       "VMware checkpoint has no \"memory\" group (%u groups)", ngroups);
	if (mem_off < table_end)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)mem_desc_at + 64,
			       "VMware \"memory\" group at offset %llu lies inside the group table",
			       (unsigned long long)mem_off);
	if (d->src.size != UINT64_MAX && mem_off >= d->src.size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)mem_desc_at + 64,
			       "VMware \"memory\" group at offset %llu lies past the end of the file (%llu bytes)",
			       (unsigned long long)mem_off, (unsigned long long)d->src.size);
	uint64_t limit = d->src.size; /* UINT64_MAX for streams of unknown length */
	uint64_t gend;
	if (mem_size && !dp_add_overflows(mem_off, mem_size, &gend) && gend < limit)
		limit = gend;
	*magicp = magic;
	*mkp = mk;
	*mem_offp = mem_off;
	*limitp = limit;
	return DP_OK;
}

/* The regions the memory group describes: all there, none empty, none
 * overlapping.  *nregp: how many (0: the image is flat). */
static int check_regions(struct memgroup *mg, uint64_t *nregp, struct dp_error *err)
{
	uint64_t nreg = mg->have_count ? mg->count : 0;
	int rc;
	if (nreg > MAX_REGIONS)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)mg->count_at, "VMware regionsCount %llu exceeds %u",
			       (unsigned long long)nreg, MAX_REGIONS);
	for (uint64_t i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &mg->reg[i];
		if (i >= nreg && r->have)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)r->at,
				       "VMware region %llu is described but regionsCount is %llu",
				       (unsigned long long)i, (unsigned long long)nreg);
		if (i < nreg && r->have != 7)
			return dp_fail(err, DP_E_CORRUPT, (int64_t)(r->have ? r->at : mg->count_at),
				       "VMware region %llu lacks %s (regionsCount is %llu)", (unsigned long long)i,
				       !(r->have & 1) ? "regionPPN" : !(r->have & 2) ? "regionPageNum" : "regionSize",
				       (unsigned long long)nreg);
		if (i < nreg) {
			uint64_t e1, e2;
			if (r->size == 0 || dp_add_overflows(r->ppn, r->size, &e1) || e1 > (UINT64_MAX >> 12) ||
			    dp_add_overflows(r->pagenum, r->size, &e2) || e2 > (UINT64_MAX >> 12))
				return dp_fail(err, DP_E_CORRUPT, (int64_t)r->at,
					       "VMware region %llu (PPN 0x%llx, page %llu, %llu pages) is empty or "
					       "overflows",
					       (unsigned long long)i, (unsigned long long)r->ppn,
					       (unsigned long long)r->pagenum, (unsigned long long)r->size);
		}
	}
	*nregp = nreg;
	if (nreg > 1) {
		uint64_t iv[MAX_REGIONS][3];
		for (uint64_t i = 0; i < nreg; i++) {
			iv[i][0] = mg->reg[i].ppn;
			iv[i][1] = mg->reg[i].size;
			iv[i][2] = mg->reg[i].at;
		}
		if ((rc = check_overlap(iv, (size_t)nreg, "guest frames", err)))
			return rc;
		for (uint64_t i = 0; i < nreg; i++) {
			iv[i][0] = mg->reg[i].pagenum;
			iv[i][1] = mg->reg[i].size;
			iv[i][2] = mg->reg[i].at;
		}
		if ((rc = check_overlap(iv, (size_t)nreg, "image pages", err)))
			return rc;
	}
	return DP_OK;
}

/* Where the memory image is: embedded in the checkpoint (*basep = its
 * offset) or in a separate .vmem file (the source switches to it).
 * *imagep: its size (UINT64_MAX for a stream); where[]: said in the variant;
 * *vmemp: the companion name to free. */
static int locate_image(struct dp_dump *d, const struct memgroup *mg, uint64_t *basep, uint64_t *imagep,
			char *where, size_t wsize, char **vmemp, struct dp_error *err)
{
	uint64_t base = 0, image = 0;
	int rc;
	if (mg->have_block) {
		base = mg->block_off;
		image = mg->block_len;
		snprintf(where, wsize, "embedded (\"Memory\" block at offset %llu)", (unsigned long long)base);
		if (mg->block_mem != mg->block_len)
			dp_add_warning(d, "the \"Memory\" block stores %llu bytes but says it holds %llu in memory",
				       (unsigned long long)mg->block_len, (unsigned long long)mg->block_mem);
		if (d->opt.vmem_path)
			dp_add_warning(d, "the memory is embedded in the checkpoint; %s is not read",
				       d->opt.vmem_path);
		dp_add_detail(d, "memory file", "embedded in the checkpoint, %llu bytes at offset %llu",
			      (unsigned long long)image, (unsigned long long)base);
	} else {
		const char *vp = d->opt.vmem_path;
		if (!vp) {
			*vmemp = companion(d->path);
			if (!*vmemp)
				return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
					       "the checkpoint does not embed the guest memory, and without a "
					       ".vmss/.vmsn name the .vmem beside it cannot be found: give it with "
					       "--vmem=FILE");
			vp = *vmemp;
		}
		uint64_t meta_size = d->src.stored_size;
		struct dp_error e2;
		rc = dp_src_switch(d, vp, &e2);
		if (rc)
			return dp_fail(err, rc, DP_NO_OFFSET,
				       "the guest memory is not in the checkpoint but in a separate file; "
				       "%s: %s%s",
				       vp, e2.msg, d->opt.vmem_path ? "" : " (give the memory file with --vmem=FILE)");
		image = d->src.size; /* UINT64_MAX for a stream */
		snprintf(where, wsize, "in %s", base_name(vp));
		dp_add_detail(d, "checkpoint", "%llu bytes of metadata", (unsigned long long)meta_size);
		dp_add_detail(d, "memory file", "%s%s", vp, d->info.compression ? " (compressed)" : "");
		if (image == 0)
			return dp_fail(err, DP_E_TRUNCATED, 0, "the memory file %s is empty", vp);
	}
	*basep = base;
	*imagep = image;
	return DP_OK;
}

/* Lay out the pages: the flat image, or each region where the image holds it. */
static int map_regions(struct dp_dump *d, const struct memgroup *mg, uint64_t nreg, uint64_t base,
		       uint64_t image, struct dp_error *err)
{
	int rc = DP_OK;
	if (nreg == 0) {
		if (image == UINT64_MAX)
			/* a stream of unknown length: everything it holds, from 0 */
			return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
				       "a compressed or piped memory file without regions has no known length; "
				       "decompress it first");
		rc = dp_map_add(d, 0, image, base, err);
	}
	for (uint64_t i = 0; i < nreg && !rc; i++) {
		const struct region *r = &mg->reg[i];
		uint64_t ibeg = r->pagenum * VM_PAGE, ilen = r->size * VM_PAGE, iend = ibeg + ilen;
		dp_add_detail(d, "region", "%llu: guest 0x%llx-0x%llx = image pages %llu-%llu",
			      (unsigned long long)i, (unsigned long long)(r->ppn * VM_PAGE),
			      (unsigned long long)((r->ppn + r->size) * VM_PAGE - 1),
			      (unsigned long long)r->pagenum, (unsigned long long)(r->pagenum + r->size - 1));
		if (image != UINT64_MAX && iend > image)
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)(mg->have_block ? base + image : image),
				       "VMware region %llu needs image pages %llu-%llu but the memory %s holds only "
				       "%llu pages (%llu bytes)",
				       (unsigned long long)i, (unsigned long long)r->pagenum,
				       (unsigned long long)(r->pagenum + r->size - 1),
				       mg->have_block ? "block" : "file", (unsigned long long)(image / VM_PAGE),
				       (unsigned long long)image);
		uint64_t foff;
		if (dp_add_overflows(base, ibeg, &foff))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)r->at, "VMware region %llu: offset overflows",
				       (unsigned long long)i);
		rc = dp_map_add(d, r->ppn * VM_PAGE, ilen, foff, err);
	}
	if (rc)
		return rc;
	if (image != UINT64_MAX && nreg) {
		uint64_t used = 0;
		for (uint64_t i = 0; i < nreg; i++)
			used += mg->reg[i].size * VM_PAGE;
		if (used < image)
			dp_add_detail(d, "unmapped", "%llu bytes of the image lie in no region",
				      (unsigned long long)(image - used));
	}
	return dp_map_finish(d, err);
}

static int vmware_open(struct dp_dump *d, struct dp_error *err)
{
	uint32_t magic = 0;
	const struct magic_kind *mk = NULL;
	uint64_t mem_off = 0, limit = 0;
	int rc = find_memory_group(d, &magic, &mk, &mem_off, &limit, err);
	if (rc)
		return rc;
	bool small_sizes = (magic & 0xf) == 0;

	char *vmem = NULL;
	struct memgroup *mg = calloc(1, sizeof *mg);
	if (!mg)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	uint64_t nreg = 0, base = 0, image = 0;
	char where[300];
	if ((rc = parse_memory_group(d, mem_off, limit, small_sizes, mg, err)) ||
	    (rc = check_regions(mg, &nreg, err)) ||
	    (rc = locate_image(d, mg, &base, &image, where, sizeof where, &vmem, err)))
		goto out;

	size_t pl = strlen(d->path);
	const char *kind = pl > 5 && strcmp(d->path + pl - 5, ".vmsn") == 0   ? "snapshot (.vmsn)"
			   : pl > 5 && strcmp(d->path + pl - 5, ".vmss") == 0 ? "suspend state (.vmss)"
									       : "checkpoint";
	dp_set_variant(d, "VMware %s, magic 0x%08X (%s), memory %s, %s", kind, magic, mk->what, where,
		       nreg ? "regions" : "flat image");
	dp_add_detail(d, "magic", "0x%08X (%s)", magic, mk->what);
	if (nreg)
		dp_add_detail(d, "regions", "%llu", (unsigned long long)nreg);
	else
		dp_add_detail(d, "regions", "none: the image is flat (image byte N = guest-physical byte N)");
	d->info.page_size = d->opt.page_size ? d->opt.page_size : VM_PAGE;
	d->info.native_page_size = VM_PAGE;
	rc = map_regions(d, mg, nreg, base, image, err);
out:
	free(vmem);
	free(mg);
	return rc;
}

const struct dp_format_ops vmware_ops = {
	.name = "vmware-vmss",
	.description = "VMware checkpoint (.vmss suspend / .vmsn snapshot, memory embedded or in .vmem)",
	.probe = vmware_probe,
	.open = vmware_open,
};
