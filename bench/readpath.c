/*
 * readpath — ways of getting a dump's pages to the hash, measured on one
 * file with the engine's own hashers: each thread takes 1 MiB units from an
 * atomic counter (as the engine does), checks every 4 KiB page for zero
 * and hashes the others in batches.
 *   pread      pread each unit into the thread's buffer (a copy)
 *   mmap       the file mapped once, MADV_SEQUENTIAL; each unit mapped in
 *              with MADV_POPULATE_READ, hashed in place, then MADV_DONTNEED
 *   mmap-huge  64 MiB units, each mapped with MAP_POPULATE and unmapped after
 *   mmap-keep  the file mapped afresh for each run (MADV_HUGEPAGE), every
 *              unit hashed in place as it faults in, nothing dropped before
 *              the end (large page-cache folios map many pages a fault)
 *   digest     as pread, but without the zero check: every page is hashed
 *              and zero pages are known by their digest (fused detection)
 *   pread-ahead  as pread, with the engine's read-ahead thread (dd_ahead)
 *              asking the kernel for the file ahead of the workers
 * Usage: readpath [-j THREADS] [-r REPS] [--hash=sha1|xxh128] FILE [METHOD...]
 * Prints per method the median wall and CPU seconds of REPS runs and GB/s.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dedup.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define PS 4096
#define UNIT (1u << 20)
#define HUGE_UNIT (64u << 20)

enum method { M_PREAD, M_MMAP, M_HUGE, M_DIGEST, M_AHEAD, M_KEEP, NMETHODS };
static const char *const mnames[] = { "pread", "mmap", "mmap-huge", "digest", "pread-ahead", "mmap-keep" };

struct run {
	int fd;
	uint64_t size;
	enum method m;
	enum dd_hash hash;
	uint8_t *map;
	atomic_uint_fast64_t next;
	atomic_uint_fast64_t zero, nonzero, done;
	struct dd_ahead *ahead;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* zero check and hash of the pages in [p, p+len) */
static void pages(struct run *r, struct dd_hasher *hs, const uint8_t *p, size_t len, const uint8_t *zero,
		  const uint8_t *zdig)
{
	const uint8_t *batch[DD_HASH_BATCH];
	uint8_t dig[DD_HASH_BATCH][DD_DIGEST];
	uint64_t z = 0, nz = 0;
	for (size_t off = 0; off < len;) {
		size_t n = 0;
		for (; n < DD_HASH_BATCH && off < len; off += PS) {
			if (r->m != M_DIGEST && memcmp(p + off, zero, PS) == 0)
				z++;
			else
				batch[n++] = p + off;
		}
		dd_hasher_pages(hs, batch, n, PS, dig);
		for (size_t i = 0; i < n; i++) {
			int isz = r->m == M_DIGEST && memcmp(dig[i], zdig, DD_DIGEST) == 0;
			z += isz;
			nz += !isz;
		}
	}
	atomic_fetch_add(&r->zero, z);
	atomic_fetch_add(&r->nonzero, nz);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	struct dd_hasher *hs = dd_hasher_new(r->hash);
	uint8_t *buf = aligned_alloc(PS, UNIT), *zero = calloc(1, PS), zdig[DD_DIGEST];
	if (!hs || !buf || !zero)
		abort();
	dd_hasher_page(hs, zero, PS, zdig);
	size_t unit = r->m == M_HUGE ? HUGE_UNIT : UNIT;
	for (;;) {
		uint64_t u = atomic_fetch_add(&r->next, 1), off = u * unit;
		if (off >= r->size)
			break;
		size_t len = r->size - off < unit ? (size_t)(r->size - off) : unit;
		len -= len % PS;
		if (r->m == M_PREAD || r->m == M_DIGEST || r->m == M_AHEAD) {
			if (pread(r->fd, buf, len, (off_t)off) != (ssize_t)len)
				abort();
			pages(r, hs, buf, len, zero, zdig);
		} else if (r->m == M_KEEP) {
			pages(r, hs, r->map + off, len, zero, zdig);
		} else if (r->m == M_MMAP) {
			uint8_t *p = r->map + off;
			madvise(p, len, MADV_POPULATE_READ);
			pages(r, hs, p, len, zero, zdig);
			madvise(p, len, MADV_DONTNEED);
		} else {
			void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd, (off_t)off);
			if (p == MAP_FAILED)
				abort();
			pages(r, hs, p, len, zero, zdig);
			munmap(p, len);
		}
		atomic_fetch_add(&r->done, len);
	}
	dd_hasher_free(hs);
	free(buf);
	free(zero);
	return NULL;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned threads = 2, reps = 3;
	enum dd_hash hash = DD_HASH_SHA1;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
			threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			reps = (unsigned)atoi(argv[++i]);
		else if (strncmp(argv[i], "--hash=", 7) == 0 && dd_hash_parse(argv[i] + 7, &hash) == 0)
			;
		else
			break;
	}
	if (i >= argc || threads < 1 || threads > 64 || reps < 1 || reps > 99) {
		fputs("usage: readpath [-j THREADS] [-r REPS] [--hash=sha1|xxh128] FILE [pread|mmap|mmap-huge|digest|pread-ahead|mmap-keep...]\n",
		      stderr);
		return 2;
	}
	const char *path = argv[i++];
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		return 1;
	}
	uint8_t *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	int all = i >= argc;
	for (int m = 0; m < NMETHODS; m++) {
		int want = all;
		for (int k = i; k < argc; k++)
			want |= strcmp(argv[k], mnames[m]) == 0;
		if (!want)
			continue;
		double wall[99], cpus[99];
		uint64_t z = 0, nz = 0;
		for (unsigned rep = 0; rep < reps; rep++) {
			struct run r = { .fd = fd, .size = (uint64_t)st.st_size, .m = (enum method)m, .hash = hash, .map = map };
			pthread_t t[64];
			double c0 = cpu(), t0 = now();
			if (m == M_AHEAD)
				r.ahead = dd_ahead_start(path, &r.done, (uint64_t)st.st_size);
			if (m == M_KEEP) {
				r.map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
				if (r.map == MAP_FAILED)
					abort();
#ifdef MADV_HUGEPAGE
				madvise(r.map, (size_t)st.st_size, MADV_HUGEPAGE);
#endif
			}
			for (unsigned k = 0; k < threads; k++)
				pthread_create(&t[k], NULL, worker, &r);
			for (unsigned k = 0; k < threads; k++)
				pthread_join(t[k], NULL);
			dd_ahead_stop(r.ahead);
			if (m == M_KEEP)
				munmap(r.map, (size_t)st.st_size);
			wall[rep] = now() - t0;
			cpus[rep] = cpu() - c0;
			z = r.zero, nz = r.nonzero;
		}
		qsort(wall, reps, sizeof *wall, cmpd);
		qsort(cpus, reps, sizeof *cpus, cmpd);
		printf("%-10s wall %.3f s (%.3f-%.3f) %.2f GB/s  cpu %.3f s  zero %llu nonzero %llu\n", mnames[m],
		       wall[reps / 2], wall[0], wall[reps - 1], (double)st.st_size / wall[reps / 2] / 1e9, cpus[reps / 2],
		       (unsigned long long)z, (unsigned long long)nz);
	}
	return 0;
}
