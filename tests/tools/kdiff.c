/*
 * kdiff [--ref=FILE]... [--space=kphys] DUMP [MORE-PARTS...] — differential
 * check of libdumpparse against libkdumpfile, an independent reader of ELF,
 * kdump, Xen and VirtualBox cores (the one tool the tests compare with it).
 * --ref gives libkdumpfile other files holding the same dump (e.g.
 * `makedumpfile -R` output for a flattened file, which it cannot read).
 * --space=kphys reads libkdumpfile's kernel-physical address space instead
 * of machine-physical (Xen guests: guest frames, not machine frames).
 *
 * Every frame libdumpparse delivers is read through libkdumpfile at the same
 * guest-physical address: stored frames (data or marked zero) must have the
 * same bytes, absent frames (filtered out by the dump level) must be
 * "no data" there.  Then every frame in libkdumpfile's page map of the file
 * must have been delivered as stored, and the frame after each run of
 * delivered frames must not be readable there either.  Extra arguments are the other files of
 * a split dump (given to both readers).  Prints one summary line; exit 0 when
 * everything agrees, 1 when something differs, 77 when libkdumpfile cannot
 * open the dump at all.
 */
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dumpparse.h"

#define MAXP 64

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return *x < *y ? -1 : *x > *y;
}

int main(int argc, char **argv)
{
	const char *refs[MAXP], *files[MAXP];
	int nref = 0, nf = 0, fds[MAXP];
	kdump_addrspace_t space = KDUMP_MACHPHYSADDR;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--ref=", 6) == 0 && nref < MAXP)
			refs[nref++] = argv[i] + 6;
		else if (strcmp(argv[i], "--space=kphys") == 0)
			space = KDUMP_KPHYSADDR;
		else if (nf < MAXP)
			files[nf++] = argv[i];
	}
	if (nf == 0) {
		fprintf(stderr, "usage: kdiff [--ref=FILE]... [--space=kphys] DUMP [MORE-PARTS...]\n");
		return 2;
	}
	const char *const *kf = nref ? refs : files;
	int nk = nref ? nref : nf;
	for (int i = 0; i < nk; i++) {
		fds[i] = open(kf[i], O_RDONLY);
		if (fds[i] < 0) {
			perror(kf[i]);
			return 2;
		}
	}
	kdump_ctx_t *ctx = kdump_new();
	if (!ctx || kdump_open_fdset(ctx, (unsigned)nk, fds) != KDUMP_OK) {
		printf("kdiff: libkdumpfile cannot open %s: %s\n", kf[0], ctx ? kdump_get_err(ctx) : "no context");
		return 77;
	}
	struct dp_options o;
	memset(&o, 0, sizeof o);
	struct dp_dump *d = NULL;
	struct dp_reader *r;
	struct dp_error err;
	char msg[700];
	/* the files of a split dump, given together: one dump */
	struct dp_group *g = NULL;
	if (dp_group_new(files, (size_t)nf, &g, &err) ||
	    dp_group_open(g, dp_group_reader(g, 0), &o, &d, &err) || dp_reader_open(d, &r, &err)) {
		printf("kdiff: libdumpparse: %s\n", dp_error_text(&err, files[0], msg, sizeof msg));
		return 1;
	}
	const uint32_t ps = dp_get_info(d)->page_size;
	kdump_num_t kps = 0;
	kdump_get_number_attr(ctx, KDUMP_ATTR_PAGE_SIZE, &kps);
	uint8_t *buf = malloc(ps), *zero = calloc(1, ps);
	size_t cap = 1 << 16, nseen = 0;
	uint64_t *seen = malloc(cap * sizeof *seen);
	unsigned long long data = 0, zeros = 0, absent = 0, differ = 0, unreadable = 0, absent_read = 0,
			   other_space = 0;
	struct dp_chunk c;
	int rc;
	while ((rc = dp_read_next(r, &c, &err)) == DP_OK) {
		for (size_t i = 0; i < c.npages; i++) {
			enum dp_page_state st = c.state ? (enum dp_page_state)c.state[i] : c.uniform;
			uint64_t pfn = c.pfns ? c.pfns[i] : c.pfn + i;
			if (c.space) {
				other_space++;
				continue;
			}
			size_t len = ps;
			kdump_status ks = kdump_read(ctx, space, pfn * ps, buf, &len);
			if (nseen == cap) {
				cap *= 2;
				seen = realloc(seen, cap * sizeof *seen);
			}
			seen[nseen++] = pfn;
			if (st == DP_PAGE_ABSENT) {
				absent++;
				if (ks == KDUMP_OK) {
					if (absent_read++ < 5)
						printf("# frame 0x%llx: absent here, libkdumpfile reads it\n",
						       (unsigned long long)pfn);
				}
				continue;
			}
			const uint8_t *mine = st == DP_PAGE_ZERO ? zero : c.data + i * (size_t)ps;
			st == DP_PAGE_ZERO ? zeros++ : data++;
			if (ks != KDUMP_OK) {
				if (unreadable++ < 5)
					printf("# frame 0x%llx: libkdumpfile: %s\n", (unsigned long long)pfn, kdump_get_err(ctx));
				continue;
			}
			if (memcmp(buf, mine, ps) != 0 && differ++ < 5)
				printf("# frame 0x%llx: bytes differ\n", (unsigned long long)pfn);
		}
	}
	if (rc != DP_END) {
		printf("kdiff: libdumpparse: %s\n", dp_error_text(&err, files[0], msg, sizeof msg));
		return 1;
	}
	/* the frame after each run of frames delivered: libkdumpfile must not
	 * read it either (unless the format keeps it, e.g. a frame past the
	 * dump that its page map holds, which the map check below reports) */
	qsort(seen, nseen, sizeof *seen, cmp_u64);
	unsigned long long after = 0, after_read = 0;
	for (size_t i = 0; i < nseen; i++) {
		uint64_t next = seen[i] + 1;
		if ((i + 1 < nseen && seen[i + 1] <= next) || next == 0)
			continue;
		size_t len = ps;
		after++;
		if (kdump_read(ctx, space, next * ps, buf, &len) == KDUMP_OK && len == ps && after_read++ < 5)
			printf("# frame 0x%llx: not delivered, read by libkdumpfile\n", (unsigned long long)next);
	}
	/* frames in libkdumpfile's page map that we did not deliver at all (absent
	 * ones were checked above: libkdumpfile must not read them either) */
	unsigned long long theirs = 0, missed = 0;
	kdump_attr_t attr;
	attr.type = KDUMP_BITMAP;
	if (kps == ps && kdump_get_typed_attr(ctx, KDUMP_ATTR_FILE_PAGEMAP, &attr) == KDUMP_OK) {
		kdump_bmp_t *bmp = attr.val.bitmap;
		kdump_bmp_incref(bmp);
		kdump_addr_t idx = 0;
		size_t k = 0;
		while (kdump_bmp_find_set(bmp, &idx) == KDUMP_OK) {
			theirs++;
			while (k < nseen && seen[k] < idx)
				k++;
			if (k >= nseen || seen[k] != idx) {
				if (missed++ < 5)
					printf("# frame 0x%llx: in libkdumpfile's page map, not delivered\n",
					       (unsigned long long)idx);
			}
			idx++;
		}
		kdump_bmp_decref(bmp);
	} else {
		printf("# libkdumpfile page map not compared (page size %llu vs %u)\n", (unsigned long long)kps, ps);
	}
	printf("kdiff: %s: %llu data + %llu zero frames compared, %llu differ, %llu unreadable there; "
	       "%llu absent (%llu readable there); %llu of %llu frames after a run readable there; libkdumpfile page map %llu frames, %llu not delivered; "
	       "%llu frames outside guest-physical space\n",
	       files[0], data, zeros, differ, unreadable, absent, absent_read, after_read, after, theirs, missed, other_space);
	dp_reader_close(r);
	dp_group_free(g);
	dp_close(d);
	kdump_free(ctx);
	free(buf);
	free(zero);
	free(seen);
	return differ || unreadable || absent_read || after_read || missed ? 1 : 0;
}
