/* Page hashing back ends: SHA1 (the study's method) through libipsec-mb's
 * multi-buffer job API (sha1_mb.c) or OpenSSL EVP, and XXH128 through
 * libxxhash.  Every SHA1 back end gives the same digests; which one runs
 * is chosen once per engine: the fastest this machine has, unless the
 * caller or the environment (DD_SHA1_ENV) names one. */
#include "dedup.h"
#include "sha1_mb.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* libxxhash built for x86 carries XXH3 for SSE2, AVX2 and AVX-512 and picks
 * one at run time through its _dispatch entry points (the build finds out
 * whether the library has them: HAVE_XXH_DISPATCH).  The plain entry point
 * runs what the library was compiled for, SSE2 on x86-64: 4 KiB pages in
 * cache hash about 4 times slower. */
#ifdef HAVE_XXH_DISPATCH
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#define page_xxh128 XXH3_128bits_dispatch
#else
#define page_xxh128 XXH3_128bits
#endif

struct dd_hasher {
	enum dd_hash kind;
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	struct dd_mb *mb; /* multi-buffer SHA1, or NULL: OpenSSL */
};

const char *dd_hash_name(enum dd_hash h) { return h == DD_HASH_XXH128 ? "xxh128" : "sha1"; }

int dd_hash_parse(const char *s, enum dd_hash *out)
{
	if (strcmp(s, "sha1") == 0)
		*out = DD_HASH_SHA1;
	else if (strcmp(s, "xxh128") == 0)
		*out = DD_HASH_XXH128;
	else
		return -1;
	return 0;
}

static const char *const impl_names[] = {
	[DD_SHA1_AUTO] = "auto",
	[DD_SHA1_OPENSSL] = "openssl",
	[DD_SHA1_MB] = "ipsec-mb",
	[DD_SHA1_MB_AVX512] = "ipsec-mb-avx512",
	[DD_SHA1_MB_AVX2] = "ipsec-mb-avx2",
	[DD_SHA1_MB_SSE] = "ipsec-mb-sse",
};

const char *dd_sha1_impl_name(enum dd_sha1_impl impl) { return impl_names[impl]; }

int dd_sha1_impl_parse(const char *s, enum dd_sha1_impl *out)
{
	for (size_t i = 0; i < sizeof impl_names / sizeof *impl_names; i++)
		if (strcmp(s, impl_names[i]) == 0) {
			*out = (enum dd_sha1_impl)i;
			return 0;
		}
	return -1;
}

int dd_sha1_resolve(enum dd_sha1_impl want, enum dd_sha1_impl *out, char *why, size_t whylen)
{
	static const enum dd_sha1_impl best[] = { DD_SHA1_MB_AVX512, DD_SHA1_MB_AVX2, DD_SHA1_MB_SSE };
	const char *env = getenv(DD_SHA1_ENV);
	if (want == DD_SHA1_AUTO && env && *env && dd_sha1_impl_parse(env, &want)) {
		snprintf(why, whylen, "%s=%s: unknown SHA1 back end (auto, openssl, ipsec-mb, ipsec-mb-avx512, "
			 "ipsec-mb-avx2, ipsec-mb-sse)", DD_SHA1_ENV, env);
		return -1;
	}
	switch (want) {
	case DD_SHA1_OPENSSL:
		*out = want;
		return 0;
	case DD_SHA1_AUTO:
	case DD_SHA1_MB:
		for (size_t i = 0; i < sizeof best / sizeof *best; i++)
			if (dd_mb_supported(best[i])) {
				*out = best[i];
				return 0;
			}
		if (want == DD_SHA1_AUTO) {
			*out = DD_SHA1_OPENSSL;
			return 0;
		}
		break;
	default:
		if (dd_mb_supported(want)) {
			*out = want;
			return 0;
		}
	}
	snprintf(why, whylen, "SHA1 back end %s is not available here (%s)", impl_names[want],
#ifdef HAVE_IPSEC_MB
		 "this CPU lacks the instructions it needs"
#else
		 "built without libipsec-mb"
#endif
	);
	return -1;
}

/* The code path libxxhash's dispatch takes on this CPU (it asks the CPU and
 * the kernel the same questions), or NULL where it does not dispatch. */
static const char *xxh_vector(void)
{
#ifdef HAVE_XXH_DISPATCH
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return "avx512";
	if (__builtin_cpu_supports("avx2"))
		return "avx2";
	return "sse2";
#else
	return NULL;
#endif
}

const char *dd_hash_describe(enum dd_hash h, enum dd_sha1_impl impl, char *buf, size_t len)
{
	if (h == DD_HASH_XXH128) {
		const char *v = xxh_vector();
		snprintf(buf, len, "xxh128: libxxhash%s%s", v ? " " : "", v ? v : "");
	} else if (impl == DD_SHA1_OPENSSL || impl == DD_SHA1_AUTO || impl == DD_SHA1_MB)
		snprintf(buf, len, "sha1: openssl");
	else {
		const char *d = dd_mb_detail(impl);
		snprintf(buf, len, "sha1: ipsec-mb %s%s%s, %u lanes", impl_names[impl] + strlen("ipsec-mb-"),
			 d ? " " : "", d ? d : "", dd_mb_lanes(impl));
	}
	return buf;
}

/* 0 when OpenSSL's SHA1 is ready in hs */
static int openssl_setup(struct dd_hasher *hs)
{
	if (!hs->md)
		hs->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (!hs->ctx)
		hs->ctx = EVP_MD_CTX_new();
	return hs->md && hs->ctx ? 0 : -1;
}

struct dd_hasher *dd_hasher_new_impl(enum dd_hash h, enum dd_sha1_impl impl)
{
	struct dd_hasher *hs = calloc(1, sizeof *hs);
	if (!hs)
		return NULL;
	hs->kind = h;
	if (h == DD_HASH_SHA1) {
		/* OpenSSL is set up here for its own back end; with libipsec-mb
		 * only when a page too long for the job API comes (openssl_sha1):
		 * setting up its provider costs a few milliseconds */
		if (impl == DD_SHA1_OPENSSL ? openssl_setup(hs) : !(hs->mb = dd_mb_new(impl))) {
			dd_hasher_free(hs);
			return NULL;
		}
	}
	return hs;
}

struct dd_hasher *dd_hasher_new(enum dd_hash h)
{
	enum dd_sha1_impl impl = DD_SHA1_OPENSSL;
	char why[160];
	if (h == DD_HASH_SHA1 && dd_sha1_resolve(DD_SHA1_AUTO, &impl, why, sizeof why))
		return NULL;
	return dd_hasher_new_impl(h, impl);
}

void dd_hasher_free(struct dd_hasher *hs)
{
	if (!hs)
		return;
	dd_mb_free(hs->mb);
	EVP_MD_CTX_free(hs->ctx);
	EVP_MD_free(hs->md);
	free(hs);
}

static void openssl_sha1(struct dd_hasher *hs, const uint8_t *data, size_t len, uint8_t out[DD_DIGEST])
{
	unsigned int n = 0;
	/* EVP fails here only on a programming error (bad context) or when
	 * OpenSSL has no SHA1 at all: stop rather than count pages under a
	 * made-up digest. */
	if (openssl_setup(hs) || EVP_DigestInit_ex2(hs->ctx, hs->md, NULL) != 1 || EVP_DigestUpdate(hs->ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(hs->ctx, out, &n) != 1 || n != DD_DIGEST) {
		fputs("dedup: OpenSSL SHA1 failed\n", stderr);
		abort();
	}
}

void dd_hasher_page(struct dd_hasher *hs, const uint8_t *data, size_t len, uint8_t out[DD_DIGEST])
{
	dd_hasher_pages(hs, &data, 1, len, (uint8_t(*)[DD_DIGEST])out);
}

void dd_hasher_pages(struct dd_hasher *hs, const uint8_t *const *pages, size_t n, size_t len,
		     uint8_t (*out)[DD_DIGEST])
{
	if (hs->kind == DD_HASH_XXH128) {
		for (size_t i = 0; i < n; i++) {
			XXH128_canonical_t c;
			XXH128_canonicalFromHash(&c, page_xxh128(pages[i], len));
			memcpy(out[i], c.digest, 16);
			memset(out[i] + 16, 0, DD_DIGEST - 16);
		}
		return;
	}
	if (hs->mb && len <= DD_MB_MAX_LEN) {
		if (dd_mb_hash(hs->mb, pages, n, len, out) == 0)
			return;
		/* as with EVP above: a failed job is a programming error */
		fputs("dedup: libipsec-mb SHA1 failed\n", stderr);
		abort();
	}
	for (size_t i = 0; i < n; i++)
		openssl_sha1(hs, pages[i], len, out[i]);
}
