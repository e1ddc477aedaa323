/*
 * flatten: write a file in makedumpfile's flattened framing, as
 * `makedumpfile -F` writes its output to a pipe (fixture.h's fx_flatten:
 * a 4096-byte header, records of be64 offset, be64 size and the bytes, an
 * end marker of two -1).
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
#include "formats/fixture.h"

int main(int argc, char **argv)
{
	uint64_t chunk = 4096;
	unsigned flags = 0;
	int a = 1;
	for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
		if (!strncmp(argv[a], "--chunk=", 8))
			chunk = strtoull(argv[a] + 8, NULL, 0);
		else if (!strcmp(argv[a], "--reverse"))
			flags |= FX_FLAT_REVERSE;
		else if (!strcmp(argv[a], "--rewrite"))
			flags |= FX_FLAT_REWRITE;
		else if (!strcmp(argv[a], "--no-end"))
			flags |= FX_FLAT_NO_END;
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
	struct fx_buf buf = { 0 }, out = { 0 };
	for (;;) {
		fx_reserve(&buf, 1 << 20);
		size_t k = fread(buf.p + buf.len, 1, buf.cap - buf.len, in);
		if (k == 0)
			break;
		buf.len += k;
	}
	fclose(in);
	size_t nrec = (size_t)((buf.len + chunk - 1) / chunk);
	struct fx_rec *rec = fx_alloc(nrec * sizeof *rec);
	for (size_t i = 0; i < nrec; i++) {
		rec[i].off = i * chunk;
		rec[i].len = buf.len - rec[i].off < chunk ? buf.len - rec[i].off : chunk;
	}
	fx_flatten(buf.p, rec, nrec, flags, &out);
	fx_write_file(argv[a + 1], out.p, out.len);
	free(rec);
	fx_buf_free(&buf);
	fx_buf_free(&out);
	return 0;
}
