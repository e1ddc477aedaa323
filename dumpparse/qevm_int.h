/*
 * Shared between the files of the QEMU migration stream reader:
 *   qevm_in.c   the stream's bytes (mapped, or decoded through the byte stack)
 *   qevm_ram.c  the stream envelope, RAM blocks and their guest-physical
 *               mapping, page records
 *   qevm.c      open (index, units, --info), reading, the ops
 * Not used outside them.
 */
#ifndef QEVM_INT_H
#define QEVM_INT_H

#include "dp_int.h"

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
	enum dp_mem_kind kind;    /* guest RAM or device memory, from its name */
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
	uint8_t *space_kinds;
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

/* qevm_in.c: reading the stream; truncation names what was being read */
bool qevm_printable(const char *s);
int q_be16(struct qin *q, uint16_t *v, const char *what, struct dp_error *err);
int q_be32(struct qin *q, uint32_t *v, const char *what, struct dp_error *err);
int q_be64(struct qin *q, uint64_t *v, const char *what, struct dp_error *err);
int q_fill(struct qin *q, size_t need, struct dp_error *err);
int q_get(struct qin *q, size_t n, const uint8_t **p, const char *what, struct dp_error *err);
int q_name(struct qin *q, char *out, const char *what, struct dp_error *err);
int q_peek(struct qin *q, uint8_t *b, struct dp_error *err);
int q_skip(struct qin *q, uint64_t n, const char *what, struct dp_error *err);
int q_u8(struct qin *q, uint8_t *v, const char *what, struct dp_error *err);
int qevm_setup_input(struct dp_dump *d, struct qv *v, uint64_t start, enum dp_codec_kind codec,
		       struct dp_error *err);
int qfail(const struct qin *q, enum dp_status st, uint64_t pos, struct dp_error *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* qevm_ram.c */
int qevm_next_record(struct qv *v, struct rec *r, struct dp_error *err);
int qevm_parse_head(struct dp_dump *d, struct qv *v, struct dp_error *err);
uint64_t qevm_page_pfn(const struct qv *v, const struct block *b, uint64_t page);

#endif
