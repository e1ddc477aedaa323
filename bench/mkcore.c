/*
 * mkcore — write a synthetic ELF64 x86-64 core of guest memory whose page
 * mix is given, so that throughput figures do not depend on one guest's
 * content.
 *
 * Usage: mkcore [--size=BYTES[K|M|G]] [--zero=PCT] [--distinct=PCT]
 *               [--shared-contents=N] [--seed=N] OUT
 * Defaults: 8G, 30 % zero pages, 60 % distinct pages (random bytes, each
 * page its own content), the rest shared: copies of N = 1024 contents.
 * Pages of the three kinds are interleaved at random.  Guest RAM is laid
 * out as QEMU lays out a large guest: below 3 GiB, then from 4 GiB.
 * Prints what it wrote: "pages P zero Z nonzero N distinct D".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u
#define CHUNK_PAGES 256u /* 1 MiB per write */
#define LOW_RAM (3ull << 30)

static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int sh = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (errno || end == s || (sh && end[1]) || (!sh && *end) || v == 0 || v > (1ull << 44) >> sh)
		return -1;
	*out = (uint64_t)v << sh;
	return 0;
}

static void usage(void)
{
	fputs("usage: mkcore [--size=BYTES[K|M|G]] [--zero=PCT] [--distinct=PCT] [--shared-contents=N] "
	      "[--seed=N] OUT\n", stderr);
	exit(2);
}

/* A page that is never all zero: content k of the shared pool or, for
 * distinct pages, random bytes that start with the page's index. */
static void fill(uint8_t *p, uint64_t tag, int random)
{
	uint64_t x = tag * 0x9E3779B97F4A7C15ull | 1;
	for (unsigned i = 0; i < PAGE; i += 8) {
		uint64_t v = random ? next() : (x += 0x632BE59BD9B4E019ull);
		memcpy(p + i, &v, 8);
	}
	put(p, tag | 1ull << 63, 8);
	if (!random)
		p[8] = 0x5a; /* shared pages differ from distinct ones */
}

int main(int argc, char **argv)
{
	uint64_t size = 8ull << 30, pool = 1024, seed = 1;
	unsigned zero = 30, distinct = 60;
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (strncmp(a, "--size=", 7) == 0) {
			if (parse_size(a + 7, &size) || size % PAGE)
				usage();
		} else if (strncmp(a, "--zero=", 7) == 0) {
			zero = (unsigned)strtoul(a + 7, &end, 10);
			if (*end || zero > 100)
				usage();
		} else if (strncmp(a, "--distinct=", 11) == 0) {
			distinct = (unsigned)strtoul(a + 11, &end, 10);
			if (*end || distinct > 100)
				usage();
		} else if (strncmp(a, "--shared-contents=", 18) == 0) {
			pool = strtoull(a + 18, &end, 10);
			if (*end || pool == 0)
				usage();
		} else if (strncmp(a, "--seed=", 7) == 0) {
			seed = strtoull(a + 7, &end, 10);
			if (*end)
				usage();
		} else if (!out && a[0] != '-')
			out = a;
		else
			usage();
	}
	if (!out || zero + distinct > 100)
		usage();
	rng = seed * 0x2545F4914F6CDD1Dull | 1;

	/* ELF header, two PT_LOADs (below 3 GiB, and the rest from 4 GiB) */
	uint64_t low = size < LOW_RAM ? size : LOW_RAM, high = size - low;
	unsigned nph = high ? 2 : 1;
	uint8_t hdr[64 + 2 * 56];
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, "\177ELF", 4);
	hdr[4] = 2, hdr[5] = 1, hdr[6] = 1;
	put(hdr + 16, 4, 2);  /* ET_CORE */
	put(hdr + 18, 62, 2); /* x86-64 */
	put(hdr + 20, 1, 4);
	put(hdr + 32, 64, 8); /* e_phoff */
	put(hdr + 52, 64, 2);
	put(hdr + 54, 56, 2);
	put(hdr + 56, nph, 2);
	uint64_t data_off = 4096;
	for (unsigned k = 0; k < nph; k++) {
		uint8_t *ph = hdr + 64 + 56 * k;
		uint64_t len = k ? high : low;
		put(ph, 1, 4);     /* PT_LOAD */
		put(ph + 4, 7, 4); /* RWX */
		put(ph + 8, data_off + (k ? low : 0), 8);
		put(ph + 24, k ? 4ull << 30 : 0, 8); /* p_paddr */
		put(ph + 32, len, 8);
		put(ph + 40, len, 8);
		put(ph + 48, PAGE, 8);
	}
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint8_t *buf = calloc(CHUNK_PAGES, PAGE);
	if (fd < 0 || !buf) {
		fprintf(stderr, "mkcore: %s: %s\n", out, strerror(errno));
		return 1;
	}
	memcpy(buf, hdr, sizeof hdr);
	int bad = write(fd, buf, PAGE) != (ssize_t)PAGE;
	memset(buf, 0, PAGE);

	uint64_t pages = size / PAGE, nzero = 0, ndistinct = 0, nshared = 0;
	uint64_t used_pool = 0;
	uint8_t *pool_seen = calloc(pool, 1);
	for (uint64_t p = 0; p < pages && !bad;) {
		unsigned n = pages - p < CHUNK_PAGES ? (unsigned)(pages - p) : CHUNK_PAGES;
		for (unsigned i = 0; i < n; i++, p++) {
			uint8_t *pg = buf + (size_t)i * PAGE;
			unsigned r = (unsigned)(next() % 100);
			if (r < zero) {
				memset(pg, 0, PAGE);
				nzero++;
			} else if (r < zero + distinct) {
				fill(pg, p, 1);
				ndistinct++;
			} else {
				uint64_t k = next() % pool;
				used_pool += !pool_seen[k];
				pool_seen[k] = 1;
				fill(pg, k, 0);
				nshared++;
			}
		}
		bad = write(fd, buf, (size_t)n * PAGE) != (ssize_t)((size_t)n * PAGE);
	}
	if (bad || close(fd)) {
		fprintf(stderr, "mkcore: %s: write failed: %s\n", out, strerror(errno));
		return 1;
	}
	printf("pages %llu zero %llu nonzero %llu distinct %llu\n", (unsigned long long)pages,
	       (unsigned long long)nzero, (unsigned long long)(ndistinct + nshared),
	       (unsigned long long)(ndistinct + used_pool));
	free(buf);
	free(pool_seen);
	return 0;
}
