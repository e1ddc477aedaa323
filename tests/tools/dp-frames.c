/*
 * dp-frames [--format=NAME] [--page-size=N] DUMP
 * Print every frame libdumpparse delivers, one line each:
 *   SPACE PFN CONTENT
 * SPACE is 0 for guest-physical frames (else the dump's own address space),
 * PFN is in page-size units, CONTENT is "zero" (marked zero or all-zero
 * bytes), "absent", or the XXH128 of the bytes.  Tests sort and compare
 * these lists between formats.  Exit 1 with the library's message on error
 * (and the message of one more read, which must repeat it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "dumpparse.h"

int main(int argc, char **argv)
{
	struct dp_options o = { 0 };
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--format=", 9) == 0)
			o.format = argv[i] + 9;
		else if (strncmp(argv[i], "--page-size=", 12) == 0)
			o.page_size = (uint32_t)strtoul(argv[i] + 12, NULL, 0);
		else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: dp-frames [--format=NAME] [--page-size=N] DUMP\n");
		return 2;
	}
	struct dp_dump *d;
	struct dp_reader *r;
	struct dp_error err;
	char msg[700];
	if (dp_open(path, &o, &d, &err) || dp_reader_open(d, &r, &err)) {
		fprintf(stderr, "dp-frames: %s\n", dp_error_text(&err, path, msg, sizeof msg));
		return 1;
	}
	uint32_t ps = dp_get_info(d)->page_size;
	uint8_t *zero = calloc(1, ps);
	struct dp_chunk c;
	int rc;
	while ((rc = dp_read_next(r, &c, &err)) == DP_OK) {
		for (size_t i = 0; i < c.npages; i++) {
			enum dp_page_state st = c.state ? (enum dp_page_state)c.state[i] : c.uniform;
			uint64_t pfn = c.pfns ? c.pfns[i] : c.pfn + i;
			const uint8_t *p = c.data ? c.data + i * (size_t)ps : NULL;
			if (st == DP_PAGE_ABSENT)
				printf("%u %llu absent\n", c.space, (unsigned long long)pfn);
			else if (st == DP_PAGE_ZERO || memcmp(p, zero, ps) == 0)
				printf("%u %llu zero\n", c.space, (unsigned long long)pfn);
			else {
				XXH128_hash_t h = XXH3_128bits(p, ps);
				printf("%u %llu %016llx%016llx\n", c.space, (unsigned long long)pfn,
				       (unsigned long long)h.high64, (unsigned long long)h.low64);
			}
		}
	}
	int status = 0;
	if (rc != DP_END) {
		fprintf(stderr, "dp-frames: %s\n", dp_error_text(&err, path, msg, sizeof msg));
		status = 1;
		/* a failed stream must give the same error again, not read on */
		struct dp_error again;
		rc = dp_read_next(r, &c, &again);
		fprintf(stderr, "dp-frames: read again: %s\n",
			rc == DP_OK ? "more frames" : dp_error_text(&again, path, msg, sizeof msg));
	}
	free(zero);
	dp_reader_close(r);
	dp_close(d);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
