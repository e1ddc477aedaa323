/*
 * The migration stream's structure: its envelope (configuration, command
 * and footer sections), the RAM section's block list, the mapping of RAM
 * blocks to guest-physical frames, and the page records.
 */
#include "qevm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stream envelope ---- */

static int parse_config(struct qv *v, struct dp_error *err)
{
	struct qin *q = &v->in;
	uint64_t at = q->pos;
	uint32_t len;
	const uint8_t *p;
	int rc = q_be32(q, &len, "configuration section", err);
	if (rc)
		return rc;
	if (len > 256)
		return qfail(q, DP_E_CORRUPT, at, err, "configuration section: machine name of %u bytes (at most 256)", len);
	if ((rc = q_get(q, len, &p, "configuration section: machine name", err)))
		return rc;
	memcpy(v->machine, p, len);
	v->machine[len] = 0;
	if (!qevm_printable(v->machine))
		return qfail(q, DP_E_CORRUPT, at, err, "configuration section: machine name is not text");
	for (;;) {
		uint8_t b;
		rc = q_peek(q, &b, err);
		if (rc == DP_END)
			return DP_OK;
		if (rc)
			return rc;
		if (b != S_SUBSECTION)
			return DP_OK;
		uint64_t sat = q->pos;
		char name[257];
		uint32_t ver;
		if ((rc = q_get(q, 1, &p, "configuration subsection", err)) ||
		    (rc = q_name(q, name, "configuration subsection name", err)) ||
		    (rc = q_be32(q, &ver, "configuration subsection version", err)))
			return rc;
		if (strcmp(name, "configuration/target-page-bits") == 0) {
			uint32_t bits;
			if ((rc = q_be32(q, &bits, "target-page-bits", err)))
				return rc;
			if (bits < 10 || bits > 16)
				return qfail(q, DP_E_CORRUPT, sat, err, "configuration: target page bits %u (10..16 expected)", bits);
			v->tps = 1u << bits;
		} else if (strcmp(name, "configuration/capabilities") == 0) {
			uint32_t n;
			if ((rc = q_be32(q, &n, "capability count", err)))
				return rc;
			if (n > 64)
				return qfail(q, DP_E_CORRUPT, sat, err, "configuration: %u capabilities (at most 64 expected)", n);
			for (uint32_t i = 0; i < n; i++) {
				char cap[257];
				if ((rc = q_name(q, cap, "capability name", err)))
					return rc;
				size_t l = strlen(v->caps);
				snprintf(v->caps + l, sizeof v->caps - l, "%s%s", l ? " " : "", cap);
				if (strcmp(cap, "mapped-ram") == 0)
					v->mapped_ram = true;
				else if (strcmp(cap, "x-ignore-shared") == 0)
					v->ignore_shared = true;
			}
		} else if (strcmp(name, "configuration/uuid") == 0) {
			if ((rc = q_skip(q, 16, "configuration uuid", err)))
				return rc;
		} else {
			return qfail(q, DP_E_UNSUPPORTED, sat, err,
				     "configuration subsection '%s' is unknown and has no length to skip it", name);
		}
	}
}

/* A command record outside sections. */
static int parse_command(struct qv *v, struct dp_error *err)
{
	struct qin *q = &v->in;
	uint64_t at = q->pos - 1;
	uint16_t cmd, len;
	int rc;
	if ((rc = q_be16(q, &cmd, "command record", err)) || (rc = q_be16(q, &len, "command record", err)))
		return rc;
	if (cmd == 7)
		return qfail(q, DP_E_UNSUPPORTED, at, err,
			     "command 7 (packaged postcopy stream): postcopy streams are not supported");
	if (cmd == 0 || cmd > 11)
		return qfail(q, DP_E_CORRUPT, at, err, "command record: unknown command %u", cmd);
	if (cmd == 3)
		v->postcopy = true;
	return q_skip(q, len, "command record", err);
}

/* Optional section footer after a payload. */
static int parse_footer(struct qv *v, uint32_t id, struct dp_error *err)
{
	struct qin *q = &v->in;
	uint8_t b;
	int rc = q_peek(q, &b, err);
	if (rc == DP_END) {
		v->footers_known = true;
		return DP_OK;
	}
	if (rc)
		return rc;
	if (b != S_FOOTER) {
		if (v->footers_known && v->footers)
			return qfail(q, DP_E_CORRUPT, q->pos, err, "section %u: footer expected, found byte 0x%02x", id, b);
		v->footers_known = true;
		return DP_OK;
	}
	uint64_t at = q->pos;
	const uint8_t *p;
	uint32_t fid;
	if ((rc = q_get(q, 1, &p, "section footer", err)) || (rc = q_be32(q, &fid, "section footer", err)))
		return rc;
	if (fid != id)
		return qfail(q, DP_E_CORRUPT, at, err, "section footer names section %u, the section is %u", fid, id);
	v->footers = v->footers_known = true;
	return DP_OK;
}

/* ---- RAM blocks and guest-physical mapping ---- */

static int64_t find_block(const struct qv *v, const char *id)
{
	for (size_t i = 0; i < v->nblocks; i++)
		if (strcmp(v->blocks[i].id, id) == 0)
			return (int64_t)i;
	return -1;
}

static bool prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Machine-type version "X.Y" after prefix; 0 if none. */
static unsigned mt_version(const char *s)
{
	unsigned a = 0, b = 0;
	if (sscanf(s, "%u.%u", &a, &b) < 1)
		return 0;
	return a * 100 + b;
}

static void map_blocks(struct dp_dump *d, struct qv *v)
{
	const char *m = v->machine;
	const char *ramid = NULL;
	uint64_t base = 0, thr = 0, lo = 0;
	bool x86 = false, split = false;
	const char *rule = NULL;
	char rulebuf[256];

	if (prefix(m, "pc-q35-") || strcmp(m, "q35") == 0) {
		x86 = split = true;
		ramid = "pc.ram";
		thr = 0xB0000000ull;
		lo = 0x80000000ull;
		rule = "q35: RAM below 4 GiB up to 2.75 GiB, else 2 GiB below and the rest from 4 GiB";
	} else if (prefix(m, "pc-i440fx-") || prefix(m, "pc-") || strcmp(m, "pc") == 0) {
		x86 = split = true;
		ramid = "pc.ram";
		unsigned ver = prefix(m, "pc-i440fx-") ? mt_version(m + 10) : mt_version(m + 3);
		thr = 0xE0000000ull;
		lo = (ver && ver < 200) ? 0xE0000000ull : 0xC0000000ull;
		rule = ver && ver < 200 ? "i440fx (1.x): RAM below 4 GiB up to 3.5 GiB, the rest from 4 GiB"
					: "i440fx: RAM below 4 GiB up to 3.5 GiB, else 3 GiB below and the rest from 4 GiB";
	} else if (prefix(m, "microvm")) {
		x86 = split = true;
		ramid = "microvm.ram";
		thr = lo = 0xC0000000ull;
		rule = "microvm: RAM below 4 GiB up to 3 GiB, the rest from 4 GiB";
	} else if (find_block(v, "mach-virt.ram") >= 0) {
		ramid = "mach-virt.ram";
		base = 0x40000000ull;
		rule = "Arm virt: RAM at 1 GiB";
	} else if (find_block(v, "riscv_virt_board.ram") >= 0) {
		ramid = "riscv_virt_board.ram";
		base = 0x80000000ull;
		rule = "RISC-V virt: RAM at 2 GiB";
	} else if (find_block(v, "s390.ram") >= 0) {
		ramid = "s390.ram";
		rule = "s390x: RAM at 0";
	} else if (find_block(v, "ppc_spapr.ram") >= 0) {
		ramid = "ppc_spapr.ram";
		rule = "pseries: RAM at 0";
	}
	/* machine RAM: the default block, or NUMA node blocks in node order */
	size_t idx[64];
	size_t nram = 0;
	int64_t one = ramid ? find_block(v, ramid) : -1;
	if (one >= 0) {
		idx[nram++] = (size_t)one;
	} else if (rule) {
		for (unsigned n = 0; n < 64; n++) {
			char nm[32];
			snprintf(nm, sizeof nm, "ram-node%u", n);
			int64_t b = find_block(v, nm);
			if (b < 0)
				break;
			idx[nram++] = (size_t)b;
		}
	}
	if (!rule || nram == 0) {
		snprintf(v->rule, sizeof v->rule,
			 "unknown for machine '%s': every RAM block is numbered in a space of its own", m[0] ? m : "?");
		dp_add_warning(d, "no guest-physical mapping is known for machine type '%s': frames are numbered "
				  "per RAM block, not by guest-physical address",
			       m[0] ? m : "(none recorded)");
	} else {
		uint64_t size = 0;
		for (size_t i = 0; i < nram; i++)
			size += v->blocks[idx[i]].len;
		uint64_t below = size;
		if (split && size >= thr)
			below = lo;
		bool ok = true;
		if (split && size > below && 0x100000000ull + (size - below) > 0xFD00000000ull) {
			/* AMD hosts may move high RAM to 1 TiB for such sizes: ambiguous */
			ok = false;
		}
		if (ok) {
			uint64_t off = 0;
			for (size_t i = 0; i < nram; i++) {
				struct block *b = &v->blocks[idx[i]];
				b->mapped = true;
				/* this block covers machine-RAM offsets [off, off + len) */
				if (!split || off + b->len <= below) {
					b->gpa = base + off;
					b->below = b->len;
				} else if (off >= below) {
					b->gpa = 0x100000000ull + (off - below);
					b->below = b->len;
				} else {
					b->gpa = base + off;
					b->below = below - off;
					b->above = 0x100000000ull;
				}
				off += b->len;
			}
			snprintf(rulebuf, sizeof rulebuf, "%s (0x%llx bytes below 4 GiB; max-ram-below-4g is not "
				 "recorded in the stream, the default is assumed)",
				 rule, (unsigned long long)below);
			snprintf(v->rule, sizeof v->rule, "%s", split ? rulebuf : rule);
		} else {
			snprintf(v->rule, sizeof v->rule, "ambiguous for %llu MiB on '%s' (high RAM at 4 GiB or 1 TiB)",
				 (unsigned long long)(size >> 20), m);
			dp_add_warning(d, "guest-physical mapping ambiguous for this RAM size: frames are numbered per "
					  "RAM block");
		}
		if (ok && x86) {
			int64_t bios = find_block(v, "pc.bios");
			if (bios >= 0 && v->blocks[bios].len <= 0x1000000ull) {
				struct block *b = &v->blocks[bios];
				b->mapped = true;
				b->gpa = 0x100000000ull - b->len;
				b->below = b->len;
			}
		}
	}
	uint32_t space = 0;
	for (size_t i = 0; i < v->nblocks; i++)
		if (!v->blocks[i].mapped)
			v->blocks[i].space = ++space;
}

/* GPA of byte offset off in block b (mapped blocks only). */
static uint64_t block_gpa(const struct block *b, uint64_t off)
{
	if (off < b->below)
		return b->gpa + off;
	return b->above + (off - b->below);
}

/* Frame number of the first frame of target page `page` of block b. */
uint64_t qevm_page_pfn(const struct qv *v, const struct block *b, uint64_t page)
{
	uint64_t off = page * v->tps;
	return (b->mapped ? block_gpa(b, off) : off) / v->ps;
}

static int parse_block_list(struct qv *v, uint64_t total, uint64_t at, struct dp_error *err)
{
	struct qin *q = &v->in;
	uint64_t sum = 0;
	int rc;
	if (total == 0)
		return qfail(q, DP_E_CORRUPT, at, err, "RAM block list: total RAM size is 0");
	/* every page the list declares costs at least a record of 9 bytes in a
	 * complete stream; allow for pages never sent (free-page hinting), but
	 * not for a few bytes declaring terabytes */
	uint64_t pages = total / v->tps, known = q->map ? q->maplen : 0;
	if (pages > (1ull << 36) || (known && pages > known * 8 + (1ull << 20)))
		return qfail(q, DP_E_CORRUPT, at, err,
			     "RAM block list: %llu bytes of RAM is implausible for a %llu-byte stream",
			     (unsigned long long)total, (unsigned long long)known);
	while (sum < total) {
		uint64_t bat = q->pos;
		struct block b;
		memset(&b, 0, sizeof b);
		if ((rc = q_name(q, b.id, "RAM block name", err)))
			return rc;
		if (!b.id[0])
			return qfail(q, DP_E_CORRUPT, bat, err, "RAM block list: empty block name");
		if ((rc = q_be64(q, &b.len, "RAM block length", err)))
			return rc;
		if (b.len == 0 || b.len % v->tps)
			return qfail(q, DP_E_CORRUPT, bat, err,
				     "RAM block '%s': length %llu is not a positive multiple of the page size %u", b.id,
				     (unsigned long long)b.len, v->tps);
		if (b.len > total - sum)
			return qfail(q, DP_E_CORRUPT, bat, err,
				     "RAM block '%s': length %llu runs past the total RAM size %llu", b.id,
				     (unsigned long long)b.len, (unsigned long long)total);
		if (find_block(v, b.id) >= 0)
			return qfail(q, DP_E_CORRUPT, bat, err, "RAM block '%s' is listed twice", b.id);
		if (v->postcopy) {
			/* a hugepage block announces its page size: a be64 power of two
			 * where otherwise the next name length (non-zero) or a record follows */
			const uint8_t *p;
			if (q->map ? q->maplen - q->pos >= 8 : q_fill(q, 8, err) == DP_OK) {
				p = q->map ? q->map + q->pos : q->buf + q->buf_pos;
				uint64_t ps = dp_be64(p);
				if (p[0] == 0 && ps >= v->tps && (ps & (ps - 1)) == 0 && ps <= (1ull << 40))
					if ((rc = q_get(q, 8, &p, "RAM block page size", err)))
						return rc;
			}
		}
		if (v->ignore_shared && (rc = q_skip(q, 8, "RAM block address (x-ignore-shared)", err)))
			return rc;
		b.npages = b.len / v->tps;
		b.first = v->total_pages;
		v->total_pages += b.npages;
		if (dp_grow((void **)&v->blocks, &v->cap_blocks, v->nblocks + 1, sizeof *v->blocks))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		v->blocks[v->nblocks++] = b;
		sum += b.len;
	}
	return DP_OK;
}

/* Everything up to and including the RAM block list. */
int qevm_parse_head(struct dp_dump *d, struct qv *v, struct dp_error *err)
{
	struct qin *q = &v->in;
	uint32_t magic, ver;
	int rc;
	if ((rc = q_be32(q, &magic, "stream header", err)) || (rc = q_be32(q, &ver, "stream header", err)))
		return rc;
	if (magic != QEVM_MAGIC)
		return qfail(q, DP_E_CORRUPT, 0, err, "migration stream: magic is not \"QEVM\"");
	if (ver == 2)
		return qfail(q, DP_E_UNSUPPORTED, 4, err, "migration stream version 2 is obsolete (QEMU reads only 3)");
	if (ver != 3)
		return qfail(q, DP_E_UNSUPPORTED, 4, err, "migration stream version %u (only 3 is known)", ver);
	for (;;) {
		uint64_t at = q->pos;
		uint8_t type;
		if ((rc = q_u8(q, &type, "section type", err)))
			return rc;
		switch (type) {
		case S_CONFIG:
			if ((rc = parse_config(v, err)))
				return rc;
			if (v->mapped_ram)
				return qfail(q, DP_E_UNSUPPORTED, at, err,
					     "mapped-ram stream (capability 'mapped-ram', libvirt's 'sparse' save "
					     "format): not supported yet");
			continue;
		case S_COMMAND:
			if ((rc = parse_command(v, err)))
				return rc;
			continue;
		case S_START:
		case S_FULL: {
			uint32_t id, inst, sver;
			char name[257];
			if ((rc = q_be32(q, &id, "section header", err)) || (rc = q_name(q, name, "section name", err)) ||
			    (rc = q_be32(q, &inst, "section header", err)) || (rc = q_be32(q, &sver, "section header", err)))
				return rc;
			if (type == S_FULL || strcmp(name, "ram") != 0)
				return qfail(q, DP_E_UNSUPPORTED, at, err,
					     "section '%s' (id %u) comes before the RAM section and cannot be skipped "
					     "(device state has no length field)",
					     qevm_printable(name) ? name : "?", id);
			if (inst != 0 || sver != 4)
				return qfail(q, DP_E_UNSUPPORTED, at, err,
					     "RAM section instance %u version %u: only instance 0 version 4 is known", inst, sver);
			v->ram_id = id;
			uint64_t w, rat = q->pos;
			if ((rc = q_be64(q, &w, "RAM size record", err)))
				return rc;
			uint64_t flags = w & (v->tps - 1);
			if (flags != R_MEM_SIZE)
				return qfail(q, DP_E_CORRUPT, rat, err,
					     "RAM section START: first record has flags 0x%llx, the RAM size (0x4) "
					     "was expected",
					     (unsigned long long)flags);
			if ((rc = parse_block_list(v, w & ~(uint64_t)(v->tps - 1), rat, err)))
				return rc;
			v->in_section = true;
			v->section_is_end = false;
			v->nsections = 1;
			v->last_block = -1;
			map_blocks(d, v);
			return DP_OK;
		}
		case S_EOF:
			return qfail(q, DP_E_CORRUPT, at, err, "the stream ends (EOF record) without a RAM section");
		case S_PART:
		case S_END:
			return qfail(q, DP_E_CORRUPT, at, err, "section continuation (type %u) before any section start", type);
		default:
			return qfail(q, DP_E_CORRUPT, at, err, "unknown section type 0x%02x", type);
		}
	}
}

/* ---- page records ---- */

/* The next ZERO or PAGE record of the RAM section; DP_END after the EOS of
 * its END section.  Sequential: r->data points at the page bytes. */
int qevm_next_record(struct qv *v, struct rec *r, struct dp_error *err)
{
	struct qin *q = &v->in;
	int rc;
	while (!v->done) {
		if (!v->in_section) {
			uint64_t at = q->pos;
			uint8_t type;
			rc = q_peek(q, &type, err);
			if (rc == DP_END)
				return qfail(q, DP_E_TRUNCATED, at, err,
					     "the stream ends inside the RAM section (%llu pages read, its END section "
					     "never came)",
					     (unsigned long long)v->nrecords);
			if (rc)
				return rc;
			if ((rc = q_u8(q, &type, "section type", err)))
				return rc;
			switch (type) {
			case S_PART:
			case S_END: {
				uint32_t id;
				if ((rc = q_be32(q, &id, "section header", err)))
					return rc;
				if (id != v->ram_id)
					return qfail(q, DP_E_UNSUPPORTED, at, err,
						     "section %u (not RAM) continues inside the RAM data: other iterable "
						     "sections (block, dirty-bitmap, vfio) are not supported", id);
				v->in_section = true;
				v->section_is_end = type == S_END;
				v->nsections++;
				continue;
			}
			case S_COMMAND:
				if ((rc = parse_command(v, err)))
					return rc;
				continue;
			case S_START:
			case S_FULL: {
				uint32_t id;
				char name[257];
				if ((rc = q_be32(q, &id, "section header", err)) || (rc = q_name(q, name, "section name", err)))
					return rc;
				return qfail(q, DP_E_UNSUPPORTED, at, err,
					     "section '%s' (id %u) starts before the RAM section ended: not supported",
					     qevm_printable(name) ? name : "?", id);
			}
			case S_EOF:
				return qfail(q, DP_E_CORRUPT, at, err,
					     "EOF record before the RAM section's END (%llu pages read)",
					     (unsigned long long)v->nrecords);
			default:
				return qfail(q, DP_E_CORRUPT, at, err, "unknown section type 0x%02x inside the RAM data", type);
			}
		}
		uint64_t at = q->pos, w;
		uint8_t b0;
		rc = q_peek(q, &b0, err);
		if (rc == DP_END)
			return qfail(q, DP_E_TRUNCATED, at, err,
				     "the stream ends inside a RAM section (%llu pages read, its END section never came)",
				     (unsigned long long)v->nrecords);
		if (rc)
			return rc;
		if ((rc = q_be64(q, &w, "RAM record", err)))
			return rc;
		uint64_t flags = w & (v->tps - 1), addr = w & ~(uint64_t)(v->tps - 1);
		uint64_t kind = flags & ~(uint64_t)R_CONTINUE;
		switch (kind) {
		case R_EOS:
			if (flags != R_EOS)
				return qfail(q, DP_E_CORRUPT, at, err, "RAM record: end-of-section with flags 0x%llx",
					     (unsigned long long)flags);
			if ((rc = parse_footer(v, v->ram_id, err)))
				return rc;
			v->in_section = false;
			if (v->section_is_end)
				v->done = true;
			continue;
		case R_ZERO:
		case R_PAGE: {
			int64_t b = v->last_block;
			if (!(flags & R_CONTINUE)) {
				char id[257];
				if ((rc = q_name(q, id, "RAM record block name", err)))
					return rc;
				b = find_block(v, id);
				if (b < 0)
					return qfail(q, DP_E_CORRUPT, at, err, "RAM record names block '%s', which is not in "
						     "the block list", qevm_printable(id) ? id : "?");
			} else if (b < 0) {
				return qfail(q, DP_E_CORRUPT, at, err,
					     "RAM record continues a block but no block was named before");
			}
			const struct block *bl = &v->blocks[b];
			if (addr >= bl->len)
				return qfail(q, DP_E_CORRUPT, at, err,
					     "RAM record: offset 0x%llx lies past the end of block '%s' (%llu bytes)",
					     (unsigned long long)addr, bl->id, (unsigned long long)bl->len);
			v->last_block = b;
			r->block = b;
			r->addr = addr;
			r->at = at;
			r->type = (uint32_t)kind;
			if (kind == R_ZERO) {
				if ((rc = q_u8(q, &r->fill, "zero-page record", err)))
					return rc;
				r->data = NULL;
			} else {
				r->data_pos = q->pos;
				if ((rc = q_get(q, v->tps, &r->data, "page data", err)))
					return rc;
			}
			v->nrecords++;
			return DP_OK;
		}
		case R_XBZRLE:
			return qfail(q, DP_E_UNSUPPORTED, at, err,
				     "XBZRLE-encoded page record (live migration with the xbzrle capability): not supported");
		case R_COMPRESS_PAGE:
			return qfail(q, DP_E_UNSUPPORTED, at, err,
				     "compressed page record (the 'compress' migration capability): not supported");
		case R_MULTIFD_FLUSH:
			return qfail(q, DP_E_UNSUPPORTED, at, err,
				     "multifd flush record: pages of a multifd stream travel on other channels: not supported");
		case R_HOOK:
			return qfail(q, DP_E_UNSUPPORTED, at, err, "RDMA hook record: not supported in a file");
		case R_MEM_SIZE:
			return qfail(q, DP_E_CORRUPT, at, err, "RAM size record outside the RAM section's start");
		default:
			return qfail(q, DP_E_CORRUPT, at, err, "RAM record with unknown flags 0x%llx",
				     (unsigned long long)flags);
		}
	}
	return DP_END;
}
