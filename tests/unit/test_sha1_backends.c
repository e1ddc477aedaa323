/* SHA1 back ends: every one this machine runs gives OpenSSL's digest, byte
 * for byte, on 100,000 varied pages in batches of every size up to
 * DD_HASH_BATCH, and on every page size the engine can hash (512 bytes to
 * 16 MiB); back-end choice from the environment; names for --stats.
 * XXH128, which libxxhash runs on the vector unit it picks at run time,
 * gives the digests of the library's plain (compiled-in) XXH3 on the same
 * pages. */
#include <openssl/evp.h>
#include <regex.h>
#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "tap.h"

#define NPAGES 100000
#define PS 4096
#define BLOCK 1000

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next(void) { return tap_xorshift(&rng); }

/* Page k: random bytes, a few bytes in zeros, one byte repeated, a short
 * pattern, text-like, or a copy of the previous page with one bit flipped. */
static void make_page(uint8_t *p, const uint8_t *prev, uint64_t k)
{
	switch (k % 6) {
	case 0:
		for (size_t i = 0; i < PS; i += 8) {
			uint64_t v = next();
			memcpy(p + i, &v, 8);
		}
		break;
	case 1:
		memset(p, 0, PS);
		for (int i = 0; i < 1 + (int)(k % 5); i++)
			p[next() % PS] = (uint8_t)(1 + next() % 255);
		break;
	case 2: memset(p, (int)(k % 256), PS); break;
	case 3:
		for (size_t i = 0; i < PS; i++)
			p[i] = (uint8_t)(i % (2 + k % 61) + k);
		break;
	case 4:
		for (size_t i = 0; i < PS; i++)
			p[i] = (uint8_t)(' ' + next() % 95);
		break;
	default:
		memcpy(p, prev, PS);
		p[next() % PS] ^= (uint8_t)(1u << (k % 8));
	}
}

static void reference(const uint8_t *p, size_t len, uint8_t out[DD_DIGEST])
{
	unsigned n = 0;
	EVP_Digest(p, len, out, &n, EVP_sha1(), NULL);
}

static void xxh_reference(const uint8_t *p, size_t len, uint8_t out[DD_DIGEST])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(p, len));
	memset(out, 0, DD_DIGEST);
	memcpy(out, c.digest, sizeof c.digest);
}

struct backend {
	enum dd_sha1_impl impl;
	struct dd_hasher *hs;
	uint64_t mismatches;
};

static const enum dd_sha1_impl all[] = { DD_SHA1_OPENSSL, DD_SHA1_MB_AVX512, DD_SHA1_MB_AVX2, DD_SHA1_MB_SSE };
#define NALL (sizeof all / sizeof *all)

/* Hash pages[0..n) with hs in batches of 1, 2, ... DD_HASH_BATCH pages; count
 * digests that differ from want. */
static uint64_t check_batches(struct dd_hasher *hs, const uint8_t *const *pages, size_t n, size_t len,
			      uint8_t (*want)[DD_DIGEST], size_t *bs)
{
	uint8_t got[DD_HASH_BATCH][DD_DIGEST];
	uint64_t bad = 0;
	for (size_t i = 0; i < n;) {
		size_t m = *bs < n - i ? *bs : n - i;
		dd_hasher_pages(hs, pages + i, m, len, got);
		for (size_t k = 0; k < m; k++)
			bad += memcmp(got[k], want[i + k], DD_DIGEST) != 0;
		i += m;
		*bs = *bs % DD_HASH_BATCH + 1;
	}
	return bad;
}

static void many_pages(struct backend *be, size_t nbe, struct dd_hasher *hx)
{
	uint8_t *buf = malloc((size_t)BLOCK * PS), *prev = calloc(1, PS);
	const uint8_t *ptr[BLOCK];
	uint8_t(*want)[DD_DIGEST] = malloc(BLOCK * sizeof *want);
	uint8_t(*xwant)[DD_DIGEST] = malloc(BLOCK * sizeof *xwant);
	size_t bs = 1, xbs = 1;
	uint64_t xbad = 0;
	if (!buf || !prev || !want || !xwant)
		abort();
	for (uint64_t base = 0; base < NPAGES; base += BLOCK) {
		for (size_t i = 0; i < BLOCK; i++) {
			uint8_t *p = buf + i * PS;
			make_page(p, prev, base + i);
			memcpy(prev, p, PS);
			ptr[i] = p;
			reference(p, PS, want[i]);
			xxh_reference(p, PS, xwant[i]);
		}
		for (size_t b = 0; b < nbe; b++)
			be[b].mismatches += check_batches(be[b].hs, ptr, BLOCK, PS, want, &bs);
		xbad += check_batches(hx, ptr, BLOCK, PS, xwant, &xbs);
	}
	is_u64(xbad, 0, "xxh128: %d varied 4 KiB pages, batches of 1..%d: the plain XXH3's digests", NPAGES,
	       DD_HASH_BATCH);
	for (size_t b = 0; b < nbe; b++)
		is_u64(be[b].mismatches, 0, "%s: %d varied 4 KiB pages, batches of 1..%d: OpenSSL's digests",
		       dd_sha1_impl_name(be[b].impl), NPAGES, DD_HASH_BATCH);
	free(buf);
	free(prev);
	free(want);
	free(xwant);
}

/* Every page size the engine accepts: 512 bytes .. 16 MiB (above the job
 * API's limit the multi-buffer back ends hand pages to OpenSSL). */
static void every_length(struct backend *be, size_t nbe, struct dd_hasher *hx)
{
	enum { N = 3 };
	for (size_t len = 512; len <= (16u << 20); len *= 2) {
		uint8_t *buf = malloc(N * len);
		const uint8_t *ptr[N];
		uint8_t want[N][DD_DIGEST];
		if (!buf)
			abort();
		for (size_t i = 0; i < N * len; i++)
			buf[i] = (uint8_t)(next() >> 24);
		for (size_t i = 0; i < N; i++) {
			ptr[i] = buf + i * len;
			reference(ptr[i], len, want[i]);
		}
		uint64_t bad = 0;
		for (size_t b = 0; b < nbe; b++) {
			size_t bs = N;
			bad += check_batches(be[b].hs, ptr, N, len, want, &bs);
			uint8_t one[DD_DIGEST];
			dd_hasher_page(be[b].hs, ptr[1], len, one);
			bad += memcmp(one, want[1], DD_DIGEST) != 0;
		}
		is_u64(bad, 0, "page size %zu: every back end gives OpenSSL's digests", len);
		uint8_t xwant[N][DD_DIGEST];
		for (size_t i = 0; i < N; i++)
			xxh_reference(ptr[i], len, xwant[i]);
		size_t xbs = N;
		is_u64(check_batches(hx, ptr, N, len, xwant, &xbs), 0, "page size %zu: xxh128 gives the plain XXH3's digests",
		       len);
		free(buf);
	}
}

static void known_answer(struct backend *be, size_t nbe)
{
	/* SHA1 of 4096 zero bytes, as sha1sum prints it */
	static const uint8_t zero4k[DD_DIGEST] = { 0x1c, 0xea, 0xf7, 0x3d, 0xf4, 0x0e, 0x53, 0x1d, 0xf3, 0xbf,
						   0xb2, 0x6b, 0x4f, 0xb7, 0xcd, 0x95, 0xfb, 0x7b, 0xff, 0x1d };
	uint8_t *z = calloc(1, PS), got[DD_DIGEST];
	for (size_t b = 0; b < nbe; b++) {
		dd_hasher_page(be[b].hs, z, PS, got);
		ok(memcmp(got, zero4k, DD_DIGEST) == 0, "%s: SHA1 of a zero page is 1ceaf73d...ff1d",
		   dd_sha1_impl_name(be[b].impl));
	}
	free(z);
}

static void choice(void)
{
	enum dd_sha1_impl got;
	char why[200], d[80];
	unsetenv(DD_SHA1_ENV);
	ok(dd_sha1_resolve(DD_SHA1_AUTO, &got, why, sizeof why) == 0 && got != DD_SHA1_AUTO && got != DD_SHA1_MB,
	   "auto resolves to a concrete back end (%s)", dd_sha1_impl_name(got));
	enum dd_sha1_impl best = DD_SHA1_OPENSSL;
	/* all[] lists the multi-buffer back ends widest first */
	for (size_t i = 1; i < NALL; i++)
		if (dd_sha1_resolve(all[i], &got, why, sizeof why) == 0) {
			best = all[i];
			break;
		}
	dd_sha1_resolve(DD_SHA1_AUTO, &got, why, sizeof why);
	is_str(dd_sha1_impl_name(got), dd_sha1_impl_name(best), "auto picks the widest back end this CPU runs");
	setenv(DD_SHA1_ENV, "openssl", 1);
	ok(dd_sha1_resolve(DD_SHA1_AUTO, &got, why, sizeof why) == 0 && got == DD_SHA1_OPENSSL,
	   "%s=openssl forces OpenSSL", DD_SHA1_ENV);
	ok(dd_sha1_resolve(DD_SHA1_MB_AVX2, &got, why, sizeof why) != 0 || got == DD_SHA1_MB_AVX2,
	   "an explicit choice wins over the environment");
	setenv(DD_SHA1_ENV, "md5", 1);
	ok(dd_sha1_resolve(DD_SHA1_AUTO, &got, why, sizeof why) != 0 && strstr(why, "unknown SHA1 back end"),
	   "an unknown name in %s is an error: %s", DD_SHA1_ENV, why);
	unsetenv(DD_SHA1_ENV);
	enum dd_sha1_impl p;
	ok(dd_sha1_impl_parse("ipsec-mb-avx512", &p) == 0 && p == DD_SHA1_MB_AVX512 &&
		   dd_sha1_impl_parse("sha1", &p) != 0,
	   "back end names parse");
	is_str(dd_hash_describe(DD_HASH_SHA1, DD_SHA1_OPENSSL, d, sizeof d), "sha1: openssl", "OpenSSL's name");
	regex_t re;
	regcomp(&re, "^xxh128: libxxhash( (avx512|avx2|sse2))?$", REG_EXTENDED | REG_NOSUB);
	dd_hash_describe(DD_HASH_XXH128, DD_SHA1_OPENSSL, d, sizeof d);
	ok(regexec(&re, d, 0, NULL, 0) == 0, "xxh128's name, with the vector unit where libxxhash picks one: %s", d);
	regfree(&re);
#ifdef HAVE_XXH_DISPATCH
	if (__builtin_cpu_supports("avx512f"))
		is_str(d, "xxh128: libxxhash avx512", "xxh128 on a CPU with AVX-512");
	else
		printf("ok %d # skip this CPU has no AVX-512\n", ++tap_n);
#else
	is_str(d, "xxh128: libxxhash", "xxh128 where libxxhash does not dispatch");
#endif
	if (dd_sha1_resolve(DD_SHA1_MB_AVX512, &got, why, sizeof why) == 0)
		is_str(dd_hash_describe(DD_HASH_SHA1, got, d, sizeof d), "sha1: ipsec-mb avx512, 16 lanes",
		       "AVX-512's name");
	else
		printf("ok %d # skip this CPU or build has no AVX-512 SHA1 (%s)\n", ++tap_n, why);
}

int main(void)
{
	struct backend be[NALL];
	size_t nbe = 0;
	char why[200];
	unsetenv(DD_SHA1_ENV);
	for (size_t i = 0; i < NALL; i++) {
		enum dd_sha1_impl got;
		if (dd_sha1_resolve(all[i], &got, why, sizeof why)) {
			printf("ok %d # skip %s\n", ++tap_n, why);
			continue;
		}
		be[nbe] = (struct backend){ got, dd_hasher_new_impl(DD_HASH_SHA1, got), 0 };
		ok(be[nbe].hs != NULL, "%s: hasher set up", dd_sha1_impl_name(got));
		if (be[nbe].hs)
			nbe++;
	}
	struct dd_hasher *hx = dd_hasher_new(DD_HASH_XXH128);
	ok(hx != NULL, "xxh128: hasher set up");
	if (!hx)
		return tap_done();
	known_answer(be, nbe);
	many_pages(be, nbe, hx);
	every_length(be, nbe, hx);
	choice();
	dd_hasher_free(hx);
	for (size_t b = 0; b < nbe; b++)
		dd_hasher_free(be[b].hs);
	return tap_done();
}
