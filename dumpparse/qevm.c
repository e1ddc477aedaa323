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
#include "dp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QEVM_MAGIC 0x5145564Du
#define LV_HDR 92u               /* libvirt save header: magic[16], 5 x u32, unused[14] */
#define IN_CHUNK (1u << 20)
#define MAX_TPS (1u << 16)

/* section types */
#define S_EOF 0x00
#define S_START 0x01
#define S_PART 0x02
#define S_END 0x03
#define S_FULL 0x04
#define S_SUBSECTION 0x05
#define S_VMDESC 0x06
#define S_CONFIG 0x07
#define S_COMMAND 0x08
#define S_FOOTER 0x7E

/* RAM record flags (low bits of a page-aligned be64) */
#define R_FULL 0x001
#define R_ZERO 0x002
#define R_MEM_SIZE 0x004
#define R_PAGE 0x008
#define R_EOS 0x010
#define R_CONTINUE 0x020
#define R_XBZRLE 0x040
#define R_HOOK 0x080
#define R_COMPRESS_PAGE 0x100
#define R_MULTIFD_FLUSH 0x200

/* page table values (mapped mode) */
#define LOC_NONE 0u              /* never sent */
#define LOC_ZERO 1u
#define LOC_FILL (1ull << 63)    /* | fill byte: page filled with one non-zero byte */

struct block {
	char id[256];
	uint64_t len;             /* used_length */
	uint64_t npages;          /* target pages */
	uint64_t first;           /* index of its first page in the page table */
	bool mapped;              /* has guest-physical frames */
	uint64_t gpa;             /* of offset 0 (or of the first piece) */
	uint64_t below;           /* split machine RAM: bytes at gpa, the rest at above */
	uint64_t above;
	uint32_t space;           /* 0 when mapped */
	uint64_t sent, zeros, resent;
};

struct unit {
	uint32_t block;
	uint64_t page, npages;
};

struct qin {
	struct dp_dump *d;
	/* mapped, uncompressed stream */
	const uint8_t *map;
	uint64_t maplen;
	/* file offset of stream byte 0 (uncompressed input) */
	uint64_t base;
	const char *codec_name;   /* payload decompressed by us: positions are in its output */
	/* sequential input: the byte stack's decoded stream of the payload */
	struct dp_stream *stream;
	uint64_t src_off;         /* next raw byte from a sequential source */
	struct dp_view_pull vpull; /* or from the mapped source */
	uint8_t *buf;
	size_t buf_len, buf_pos, buf_cap;
	bool eof;
	struct dp_error cut;      /* the decoder's "compressed data ends early", kept for when it matters */
	bool have_cut;
	uint64_t pos;             /* stream bytes consumed */
};

struct qv {
	struct qin in;
	bool sequential;
	uint32_t tps;             /* target page size */
	uint32_t ps, ratio;       /* delivered frame size; frames per target page */
	char machine[257];
	bool footers, footers_known;
	bool postcopy, ignore_shared, mapped_ram;
	char caps[512];
	uint32_t ram_id;
	struct block *blocks;
	size_t nblocks, cap_blocks;
	uint64_t total_pages;
	uint64_t *loc;            /* mapped mode: one per target page */
	uint8_t *seen;            /* sequential mode: bitmap, grown as pages arrive ... */
	size_t seen_len;          /* ... to this many bytes */
	struct unit *units;
	size_t nunits;
	/* record parser state */
	bool in_section, section_is_end, done;
	int64_t last_block;
	uint64_t nsections, nrecords, nsent, nzero, nresent, nnever;
	/* sequential: a record of another address space waits for the next chunk */
	struct rec *pending;
	uint8_t *pending_data;
	/* sequential: after the RAM END, never-sent pages are delivered */
	uint64_t never_cursor;
	char **space_names;
	size_t nspaces;
	char rule[512];
	/* libvirt */
	bool libvirt;
	uint32_t lv_version, lv_format, lv_running;
	char domain[128];
};

struct rec {
	uint32_t type;            /* R_ZERO or R_PAGE */
	int64_t block;
	uint64_t addr;
	uint8_t fill;
	uint64_t data_pos;        /* stream position of the page bytes */
	const uint8_t *data;      /* sequential: valid until the next read */
	uint64_t at;              /* stream position of the record */
};

/* ---- input ---- */

static int qfail(const struct qin *q, enum dp_status st, uint64_t pos, struct dp_error *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int qfail(const struct qin *q, enum dp_status st, uint64_t pos, struct dp_error *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (q->codec_name)
		return dp_fail(err, st, (int64_t)pos, "%s (offset in the %s-decompressed stream)", msg, q->codec_name);
	return dp_fail(err, st, (int64_t)(q->base + pos), "%s", msg);
}

/* Raw bytes of the payload from a sequential source; 0 at the end. */
static ssize_t pull_raw(void *ctx, uint8_t *dst, size_t cap, struct dp_error *err)
{
	struct qin *q = ctx;
	struct dp_dump *d = q->d;
	if (d->src.size != UINT64_MAX && q->src_off >= d->src.size)
		return 0;
	int rc = dp_src_read(d, q->src_off, dst, cap, "migration stream", err);
	size_t got = cap;
	if (rc == DP_E_TRUNCATED && d->src.size != UINT64_MAX && d->src.size >= q->src_off)
		got = (size_t)(d->src.size - q->src_off);
	else if (rc)
		return -1;
	q->src_off += got;
	return (ssize_t)got;
}

/* Make at least need bytes available in buf (sequential).  DP_OK, DP_END
 * when the stream ends first, or an error. */
static int q_fill(struct qin *q, size_t need, struct dp_error *err)
{
	if (q->buf_len - q->buf_pos >= need)
		return DP_OK;
	if (q->buf_pos) {
		memmove(q->buf, q->buf + q->buf_pos, q->buf_len - q->buf_pos);
		q->buf_len -= q->buf_pos;
		q->buf_pos = 0;
	}
	while (q->buf_len < need) {
		if (q->eof && q->have_cut) {
			*err = q->cut;
			return DP_E_TRUNCATED;
		}
		if (q->eof)
			return DP_END;
		ssize_t n = dp_stream_read(q->stream, q->buf + q->buf_len, q->buf_cap - q->buf_len, err);
		if (n < 0 && err->status == DP_E_TRUNCATED && q->codec_name) {
			/* what was decoded before the cut is still good */
			q->eof = true;
			q->cut = *err;
			q->have_cut = true;
		} else if (n < 0) {
			return err->status;
		} else if (n == 0) {
			q->eof = true;
		} else {
			q->buf_len += (size_t)n;
		}
	}
	return DP_OK;
}

/* Pointer to the next n bytes, consumed; truncation is an error naming what. */
static int q_get(struct qin *q, size_t n, const uint8_t **p, const char *what, struct dp_error *err)
{
	if (q->map) {
		if (q->maplen - q->pos < n)
			return qfail(q, DP_E_TRUNCATED, q->pos, err,
				     "%s: the stream ends %llu bytes further, %zu bytes are needed", what,
				     (unsigned long long)(q->maplen - q->pos), n);
		*p = q->map + q->pos;
		q->pos += n;
		return DP_OK;
	}
	int rc = q_fill(q, n, err);
	if (rc == DP_END)
		return qfail(q, DP_E_TRUNCATED, q->pos, err,
			     "%s: the stream ends %zu bytes further, %zu bytes are needed", what,
			     q->buf_len - q->buf_pos, n);
	if (rc)
		return rc;
	*p = q->buf + q->buf_pos;
	q->buf_pos += n;
	q->pos += n;
	return DP_OK;
}

/* Next byte without consuming it; DP_END at the end of the stream. */
static int q_peek(struct qin *q, uint8_t *b, struct dp_error *err)
{
	if (q->map) {
		if (q->pos >= q->maplen)
			return DP_END;
		*b = q->map[q->pos];
		return DP_OK;
	}
	int rc = q_fill(q, 1, err);
	if (rc)
		return rc;
	*b = q->buf[q->buf_pos];
	return DP_OK;
}

static int q_u8(struct qin *q, uint8_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 1, &p, what, err);
	if (!rc)
		*v = p[0];
	return rc;
}

static int q_be16(struct qin *q, uint16_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 2, &p, what, err);
	if (!rc)
		*v = dp_be16(p);
	return rc;
}

static int q_be32(struct qin *q, uint32_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 4, &p, what, err);
	if (!rc)
		*v = dp_be32(p);
	return rc;
}

static int q_be64(struct qin *q, uint64_t *v, const char *what, struct dp_error *err)
{
	const uint8_t *p;
	int rc = q_get(q, 8, &p, what, err);
	if (!rc)
		*v = dp_be64(p);
	return rc;
}

/* u8 length + that many bytes, as a C string */
static int q_name(struct qin *q, char *out, const char *what, struct dp_error *err)
{
	uint8_t n;
	const uint8_t *p;
	int rc = q_u8(q, &n, what, err);
	if (!rc)
		rc = q_get(q, n, &p, what, err);
	if (rc)
		return rc;
	memcpy(out, p, n);
	out[n] = 0;
	return DP_OK;
}

static int q_skip(struct qin *q, uint64_t n, const char *what, struct dp_error *err)
{
	while (n) {
		size_t k = n > 65536 ? 65536 : (size_t)n;
		const uint8_t *p;
		int rc = q_get(q, k, &p, what, err);
		if (rc)
			return rc;
		n -= k;
	}
	return DP_OK;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

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
	if (!printable(v->machine))
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
static uint64_t page_pfn(const struct qv *v, const struct block *b, uint64_t page)
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
static int parse_head(struct dp_dump *d, struct qv *v, struct dp_error *err)
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
					     printable(name) ? name : "?", id);
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
static int next_record(struct qv *v, struct rec *r, struct dp_error *err)
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
					     printable(name) ? name : "?", id);
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
						     "the block list", printable(id) ? id : "?");
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
	free(v);
}

static void qevm_close(struct dp_dump *d)
{
	qv_free(d->priv);
	d->priv = NULL;
}

static int add_range(struct dp_dump *d, uint64_t pfn, uint64_t n, struct dp_error *err)
{
	if (dp_grow((void **)&d->ranges, &d->cap_ranges, d->nranges + 1, sizeof *d->ranges))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, DP_PAGE_DATA, UINT64_MAX };
	return DP_OK;
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
		const struct block *b = &v->blocks[i];
		if (!b->mapped)
			continue;
		if ((rc = add_range(d, b->gpa / v->ps, b->below / v->ps, err)))
			return rc;
		if (b->below < b->len && (rc = add_range(d, b->above / v->ps, (b->len - b->below) / v->ps, err)))
			return rc;
	}
	if (d->nranges)
		qsort(d->ranges, d->nranges, sizeof *d->ranges, cmp_range);
	size_t w = 0;
	for (size_t i = 0; i < d->nranges; i++) {
		if (w && d->ranges[w - 1].pfn + d->ranges[w - 1].npages == d->ranges[i].pfn)
			d->ranges[w - 1].npages += d->ranges[i].npages;
		else
			d->ranges[w++] = d->ranges[i];
	}
	d->nranges = w;
	v->space_names = calloc(v->nblocks ? v->nblocks : 1, sizeof(char *));
	if (!v->space_names)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < v->nblocks; i++)
		if (!v->blocks[i].mapped) {
			if (asprintf(&v->space_names[v->nspaces], "QEMU RAM block %s", v->blocks[i].id) < 0)
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			v->nspaces++;
		}
	d->info.spaces = (const char *const *)v->space_names;
	d->info.nspaces = v->nspaces;
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
		if (v->sequential)
			dp_add_detail(d, "ram block", "%s: %llu pages (%llu KiB), %s", b->id,
				      (unsigned long long)b->npages, (unsigned long long)(b->len >> 10), where);
		else
			dp_add_detail(d, "ram block", "%s: %llu pages (%llu KiB), %s; %llu sent as data, %llu as zero%s",
				      b->id, (unsigned long long)b->npages, (unsigned long long)(b->len >> 10), where,
				      (unsigned long long)b->sent, (unsigned long long)b->zeros,
				      b->resent ? " (some more than once, last copy used)" : "");
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
		if ((rc = next_record(v, &r, err)) != DP_OK)
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
	if ((rc = parse_head(d, v, err)))
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

static int setup_input(struct dp_dump *d, struct qv *v, uint64_t start, enum dp_codec_kind codec,
		       struct dp_error *err)
{
	struct qin *q = &v->in;
	q->d = d;
	if (codec == DP_CODEC_NONE && dp_src_random(d)) {
		q->map = d->src.map + start;
		q->maplen = d->src.size - start;
		q->base = start;
		return DP_OK;
	}
	v->sequential = true;
	q->base = start;
	q->src_off = start;
	q->buf_cap = IN_CHUNK + MAX_TPS + 4096;
	q->buf = malloc(q->buf_cap);
	if (!q->buf)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	if (codec != DP_CODEC_NONE) {
		q->codec_name = dp_codec_name(codec);
		q->base = 0;
	}
	if (dp_src_random(d)) {
		q->vpull = (struct dp_view_pull){ &d->src.view, start, UINT64_MAX };
		return dp_stream_new(codec, start, false, dp_view_pull, &q->vpull, &q->stream, err);
	}
	return dp_stream_new(codec, start, false, pull_raw, q, &q->stream, err);
}

static int qevm_open(struct dp_dump *d, struct dp_error *err)
{
	struct qv *v = calloc(1, sizeof *v);
	if (!v)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->priv = v;
	int rc = setup_input(d, v, 0, DP_CODEC_NONE, err);
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
	if ((rc = setup_input(d, v, start, codec, err)))
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
	/* page records follow each other in the file: map the unit's span at once */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint64_t i = 0; i < u->npages; i++) {
		uint64_t loc = v->loc[b->first + u->page + i];
		if (loc > LOC_ZERO && !(loc & LOC_FILL)) {
			lo = loc < lo ? loc : lo;
			hi = loc + v->tps > hi ? loc + v->tps : hi;
		}
	}
	if (hi > lo && hi - lo <= u->npages * (uint64_t)(v->tps + 512) && v->in.base + hi <= d->src.size)
		dp_src_prefault(d->src.map + v->in.base + lo, (size_t)(hi - lo));
	for (uint64_t i = 0; i < u->npages; i++) {
		uint64_t loc = v->loc[b->first + u->page + i];
		uint8_t *dst = buf + i * v->tps;
		uint8_t s = DP_PAGE_DATA;
		if (loc == LOC_NONE || loc == LOC_ZERO) {
			s = DP_PAGE_ZERO;
		} else if (loc & LOC_FILL) {
			memset(dst, (int)(loc & 0xff), v->tps);
		} else {
			const uint8_t *p = dp_src_ptr(d, v->in.base + loc, v->tps, "page data", err);
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
	/* copied out: do not keep the span mapped */
	if (hi > lo && hi - lo <= u->npages * (uint64_t)(v->tps + 512) && v->in.base + hi <= d->src.size)
		dp_src_release(d->src.map + v->in.base + lo, (size_t)(hi - lo));
	c->pfn = page_pfn(v, b, u->page);
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
			if ((rc = next_record(v, &rr, err)) == DP_END)
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
			pfns[n] = page_pfn(v, b, page) + k;
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
				pfns[n] = page_pfn(v, b, i - b->first) + j;
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
