/*
 * hashspeed — single-core hashing limit of each back end on 4 KiB pages
 * that sit in the CPU cache (no reading, no table): SHA1 through OpenSSL
 * and through every libipsec-mb back end this CPU runs, and XXH128.
 * Usage: hashspeed [SECONDS per back end, default 1]
 * Prints one line per back end: "NAME GB/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dedup.h"

#define PS 4096
#define NP 512 /* 2 MiB of pages: stays in L2/L3 */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double speed(struct dd_hasher *hs, const uint8_t *const *pages, double secs)
{
	uint8_t out[DD_HASH_BATCH][DD_DIGEST];
	uint64_t bytes = 0;
	double t0 = now(), t;
	do {
		for (size_t i = 0; i < NP; i += DD_HASH_BATCH)
			dd_hasher_pages(hs, pages + i, DD_HASH_BATCH, PS, out);
		bytes += (uint64_t)NP * PS;
	} while ((t = now() - t0) < secs);
	return (double)bytes / t / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	uint8_t *buf = malloc((size_t)NP * PS);
	const uint8_t *pages[NP];
	if (!buf || secs <= 0)
		return 2;
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < (size_t)NP * PS; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	for (size_t i = 0; i < NP; i++)
		pages[i] = buf + i * PS;
	static const enum dd_sha1_impl impls[] = { DD_SHA1_OPENSSL, DD_SHA1_MB_AVX512, DD_SHA1_MB_AVX2,
						   DD_SHA1_MB_SSE };
	for (size_t k = 0; k < sizeof impls / sizeof *impls; k++) {
		enum dd_sha1_impl got;
		char why[200];
		if (dd_sha1_resolve(impls[k], &got, why, sizeof why))
			continue;
		struct dd_hasher *hs = dd_hasher_new_impl(DD_HASH_SHA1, got);
		if (!hs)
			continue;
		printf("%s %.3f\n", dd_sha1_impl_name(got), speed(hs, pages, secs));
		dd_hasher_free(hs);
	}
	struct dd_hasher *hx = dd_hasher_new(DD_HASH_XXH128);
	if (hx)
		printf("xxh128 %.3f\n", speed(hx, pages, secs));
	dd_hasher_free(hx);
	free(buf);
	return 0;
}
