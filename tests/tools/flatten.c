/*
 * flatten: write a file in makedumpfile's flattened framing, as
 * `makedumpfile -F` writes its output to a pipe: a 4096-byte header
 * ("makedumpfile" signature, type 1, version 1, big-endian), then records
 * (be64 offset, be64 size, the bytes), ended by a record of two -1.
 *
 *   flatten [--chunk=N] [--reverse] [--rewrite] [--no-end] IN OUT
 *
 * --chunk=N   bytes per record (default 4096)
 * --reverse   records from the end of IN to its start
 * --rewrite   the first record is first written with garbage, and written
 *             again correctly at the end (a later record wins, as when
 *             makedumpfile rewrites its headers)
 * --no-end    no end marker
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void record(FILE *o, uint64_t off, const uint8_t *data, uint64_t len)
{
	uint8_t h[16];
	be64(h, off);
	be64(h + 8, len);
	if (fwrite(h, 1, 16, o) != 16 || (len && fwrite(data, 1, len, o) != len)) {
		perror("flatten: write");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint64_t chunk = 4096;
	int reverse = 0, rewrite = 0, noend = 0, a = 1;
	for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
		if (!strncmp(argv[a], "--chunk=", 8))
			chunk = strtoull(argv[a] + 8, NULL, 0);
		else if (!strcmp(argv[a], "--reverse"))
			reverse = 1;
		else if (!strcmp(argv[a], "--rewrite"))
			rewrite = 1;
		else if (!strcmp(argv[a], "--no-end"))
			noend = 1;
		else
			break;
	}
	if (argc - a != 2 || chunk == 0) {
		fprintf(stderr, "usage: flatten [--chunk=N] [--reverse] [--rewrite] [--no-end] IN OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[a], "rb");
	if (!in) {
		perror(argv[a]);
		return 1;
	}
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 1 << 20))) {
			perror("flatten");
			return 1;
		}
		size_t k = fread(buf + n, 1, cap - n, in);
		if (k == 0)
			break;
		n += k;
	}
	fclose(in);
	FILE *o = fopen(argv[a + 1], "wb");
	if (!o) {
		perror(argv[a + 1]);
		return 1;
	}
	uint8_t hdr[4096] = { 0 };
	memcpy(hdr, "makedumpfile", 12);
	be64(hdr + 16, 1);
	be64(hdr + 24, 1);
	if (fwrite(hdr, 1, sizeof hdr, o) != sizeof hdr) {
		perror("flatten: write");
		return 1;
	}
	uint64_t nrec = (n + chunk - 1) / chunk;
	uint8_t *junk = malloc(chunk);
	memset(junk, 0xa5, chunk);
	for (uint64_t i = 0; i < nrec; i++) {
		uint64_t r = reverse ? nrec - 1 - i : i;
		uint64_t off = r * chunk, len = n - off < chunk ? n - off : chunk;
		record(o, off, rewrite && r == 0 ? junk : buf + off, len);
	}
	if (rewrite && nrec)
		record(o, 0, buf, n < chunk ? n : chunk);
	if (!noend) {
		uint8_t e[16];
		memset(e, 0xff, sizeof e);
		if (fwrite(e, 1, 16, o) != 16) {
			perror("flatten: write");
			return 1;
		}
	}
	free(junk);
	free(buf);
	return fclose(o) ? 1 : 0;
}
