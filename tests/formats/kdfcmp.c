/*
 * kdfcmp DUMP kphys|machphys: read every stored frame of DUMP through
 * libdumpparse and through libkdumpfile (an independent reader) and compare
 * the bytes.  Also compares the number of frames libkdumpfile's file page
 * map holds with the number libdumpparse reports.  Prints one summary line;
 * exit 0 when everything agrees, 1 otherwise, 77 when libkdumpfile cannot
 * open the file at all.
 */
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dumpparse.h"

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return *x < *y ? -1 : *x > *y;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kdfcmp DUMP kphys|machphys\n");
		return 2;
	}
	kdump_addrspace_t as = strcmp(argv[2], "kphys") == 0 ? KDUMP_KPHYSADDR : KDUMP_MACHPHYSADDR;
	int fd = open(argv[1], O_RDONLY);
	kdump_ctx_t *ctx = kdump_new();
	if (fd < 0 || !ctx || kdump_open_fd(ctx, fd) != KDUMP_OK) {
		printf("libkdumpfile cannot open %s: %s\n", argv[1], ctx ? kdump_get_err(ctx) : "no context");
		return 77;
	}
	struct dp_dump *d;
	struct dp_reader *r;
	struct dp_error err;
	if (dp_open(argv[1], NULL, &d, &err) || dp_reader_open(d, &r, &err)) {
		printf("libdumpparse: %s\n", err.msg);
		return 1;
	}
	const struct dp_info *in = dp_get_info(d);
	uint32_t ps = in->page_size;
	uint8_t *buf = malloc(ps);
	unsigned long long compared = 0, differ = 0, unreadable = 0, holes = 0, hole_read = 0;
	uint64_t *seen = NULL;
	size_t nseen = 0, capseen = 0;
	struct dp_chunk c;
	int rc;
	while ((rc = dp_read_next(r, &c, &err)) == DP_OK) {
		for (size_t i = 0; i < c.npages; i++) {
			enum dp_page_state st = c.state ? (enum dp_page_state)c.state[i] : c.uniform;
			if (st != DP_PAGE_DATA)
				continue;
			uint64_t pfn = c.pfns ? c.pfns[i] : c.pfn + i;
			if (nseen == capseen) {
				capseen = capseen ? 2 * capseen : 1024;
				seen = realloc(seen, capseen * sizeof *seen);
				if (!seen)
					return 2;
			}
			seen[nseen++] = pfn;
			size_t len = ps;
			if (kdump_read(ctx, as, pfn * ps, buf, &len) != KDUMP_OK || len != ps) {
				if (unreadable++ < 3)
					printf("frame 0x%llx: libkdumpfile: %s\n", (unsigned long long)pfn, kdump_get_err(ctx));
				continue;
			}
			compared++;
			if (memcmp(buf, c.data + i * (size_t)ps, ps) != 0 && differ++ < 3)
				printf("frame 0x%llx differs\n", (unsigned long long)pfn);
		}
	}
	if (rc != DP_END) {
		printf("libdumpparse: %s\n", err.msg);
		return 1;
	}
	/* the frame after each run of stored frames: libkdumpfile must not
	 * read it either */
	qsort(seen, nseen, sizeof *seen, cmp_u64);
	for (size_t i = 0; i < nseen; i++) {
		uint64_t next = seen[i] + 1;
		if (i + 1 < nseen && seen[i + 1] == next)
			continue;
		size_t len = ps;
		holes++;
		if (kdump_read(ctx, as, next * ps, buf, &len) == KDUMP_OK && len == ps && hole_read++ < 3)
			printf("frame 0x%llx: not in the dump for libdumpparse, read by libkdumpfile\n",
			       (unsigned long long)next);
	}
	free(seen);
	/* frames libkdumpfile knows the file holds */
	long long kd_pages = -1;
	kdump_attr_t attr;
	attr.type = KDUMP_BITMAP;
	if (kdump_get_typed_attr(ctx, KDUMP_ATTR_FILE_PAGEMAP, &attr) == KDUMP_OK) {
		kdump_bmp_t *bmp = attr.val.bitmap;
		kdump_bmp_incref(bmp);
		kdump_addr_t idx = 0;
		kd_pages = 0;
		while (kdump_bmp_find_set(bmp, &idx) == KDUMP_OK) {
			kd_pages++;
			idx++;
		}
		kdump_bmp_decref(bmp);
	}
	unsigned long long pages = in->pages;
	printf("compared %llu pages, %llu differ, %llu unreadable, %llu of %llu holes readable; "
	       "libkdumpfile page map %lld, libdumpparse %llu\n",
	       compared, differ, unreadable, hole_read, holes, kd_pages, pages);
	dp_reader_close(r);
	dp_close(d);
	kdump_free(ctx);
	close(fd);
	free(buf);
	return differ || unreadable || hole_read || compared != pages ? 1 : 0;
}
