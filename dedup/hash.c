/* Page hashing back ends: SHA1 through OpenSSL EVP (the study's method) and
 * XXH128 through libxxhash. */
#include "dedup.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct dd_hasher {
	enum dd_hash kind;
	EVP_MD *md;
	EVP_MD_CTX *ctx;
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

struct dd_hasher *dd_hasher_new(enum dd_hash h)
{
	struct dd_hasher *hs = calloc(1, sizeof *hs);
	if (!hs)
		return NULL;
	hs->kind = h;
	if (h == DD_HASH_SHA1) {
		hs->md = EVP_MD_fetch(NULL, "SHA1", NULL);
		hs->ctx = EVP_MD_CTX_new();
		if (!hs->md || !hs->ctx) {
			dd_hasher_free(hs);
			return NULL;
		}
	}
	return hs;
}

void dd_hasher_free(struct dd_hasher *hs)
{
	if (!hs)
		return;
	EVP_MD_CTX_free(hs->ctx);
	EVP_MD_free(hs->md);
	free(hs);
}

void dd_hasher_page(struct dd_hasher *hs, const uint8_t *data, size_t len, uint8_t out[DD_DIGEST])
{
	if (hs->kind == DD_HASH_XXH128) {
		XXH128_hash_t v = XXH3_128bits(data, len);
		XXH128_canonical_t c;
		XXH128_canonicalFromHash(&c, v);
		memcpy(out, c.digest, 16);
		memset(out + 16, 0, DD_DIGEST - 16);
		return;
	}
	unsigned int n = 0;
	/* EVP fails here only on a programming error (bad context): stop
	 * rather than count pages under a made-up digest. */
	if (EVP_DigestInit_ex2(hs->ctx, hs->md, NULL) != 1 || EVP_DigestUpdate(hs->ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(hs->ctx, out, &n) != 1 || n != DD_DIGEST) {
		fputs("dedup: OpenSSL SHA1 failed\n", stderr);
		abort();
	}
}
