/*
 * Baseline for bench/run: the best existing library, used the plain way.
 * A single-threaded reader built on libkdumpfile that walks every frame a
 * dump stores, skips zero pages and SHA1s the others (OpenSSL), counting
 * distinct contents in a simple open-addressing table.  Prints the totals,
 * which must equal dedup-analyze's.
 *
 * Usage: kdf_reader DUMP...
 */
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct slot {
	uint8_t d[20];
	uint32_t used;
};

static struct slot *tab;
static uint64_t cap = 1 << 20, used;

static int insert(const uint8_t *d)
{
	if ((used + 1) * 2 > cap) {
		struct slot *o = tab;
		uint64_t oc = cap;
		cap *= 2;
		tab = calloc(cap, sizeof *tab);
		for (uint64_t i = 0; i < oc; i++)
			if (o[i].used) {
				uint64_t h;
				memcpy(&h, o[i].d, 8);
				for (h &= cap - 1; tab[h].used; h = (h + 1) & (cap - 1))
					;
				tab[h] = o[i];
			}
		free(o);
	}
	uint64_t h;
	memcpy(&h, d, 8);
	for (h &= cap - 1; tab[h].used; h = (h + 1) & (cap - 1))
		if (memcmp(tab[h].d, d, 20) == 0)
			return 0;
	memcpy(tab[h].d, d, 20);
	tab[h].used = 1;
	used++;
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t zero[4096], buf[4096];
	unsigned long long pages = 0, zeros = 0, nonzero = 0;
	tab = calloc(cap, sizeof *tab);
	for (int a = 1; a < argc; a++) {
		int fd = open(argv[a], O_RDONLY);
		kdump_ctx_t *ctx = kdump_new();
		if (fd < 0 || !ctx || kdump_open_fd(ctx, fd) != KDUMP_OK) {
			fprintf(stderr, "kdf_reader: %s: %s\n", argv[a], ctx ? kdump_get_err(ctx) : "no context");
			return 1;
		}
		kdump_attr_t attr;
		attr.type = KDUMP_BITMAP;
		if (kdump_get_typed_attr(ctx, KDUMP_ATTR_FILE_PAGEMAP, &attr) != KDUMP_OK) {
			fprintf(stderr, "kdf_reader: %s: no page map: %s\n", argv[a], kdump_get_err(ctx));
			return 1;
		}
		kdump_bmp_t *bmp = attr.val.bitmap;
		kdump_bmp_incref(bmp);
		kdump_addr_t pfn = 0;
		while (kdump_bmp_find_set(bmp, &pfn) == KDUMP_OK) {
			size_t len = sizeof buf;
			if (kdump_read(ctx, KDUMP_MACHPHYSADDR, pfn * 4096, buf, &len) == KDUMP_OK && len == sizeof buf) {
				pages++;
				if (memcmp(buf, zero, sizeof buf) == 0)
					zeros++;
				else {
					uint8_t d[20];
					unsigned int dl;
					EVP_Digest(buf, sizeof buf, d, &dl, EVP_sha1(), NULL);
					nonzero++;
					insert(d);
				}
			}
			pfn++;
		}
		kdump_bmp_decref(bmp);
		kdump_free(ctx);
		close(fd);
	}
	printf("pages %llu zero %llu nonzero %llu distinct %llu\n", pages, zeros, nonzero, (unsigned long long)used);
	free(tab);
	return 0;
}
