/* Collectives on byte strings of any length, and packing them. */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

/* MPI counts and displacements are int: long strings go in blocks of
 * 64 KiB, every rank's block k at once */
#define BLOCK (1u << 16)

static int gather(const void *buf, size_t len, char **out, size_t **off, bool all)
{
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	uint64_t mine = len, *lens = calloc((size_t)size, sizeof *lens);
	int *cnt = calloc((size_t)size, sizeof *cnt), *dsp = calloc((size_t)size, sizeof *dsp);
	*out = NULL;
	*off = calloc((size_t)size + 1, sizeof **off);
	int fail = !lens || !cnt || !dsp || !*off;
	if (fl_max(fail)) {
		free(lens);
		free(cnt);
		free(dsp);
		free(*off);
		*off = NULL;
		return -1;
	}
	MPI_Allgather(&mine, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, MPI_COMM_WORLD);
	size_t total = 0;
	for (int r = 0; r < size; r++) {
		(*off)[r] = total;
		total += lens[r];
	}
	(*off)[size] = total;
	bool here = all || rank == 0;
	char *o = here ? malloc(total ? total : 1) : NULL;
	fail = here && !o;
	if (fl_max(fail)) {
		free(o);
		free(lens);
		free(cnt);
		free(dsp);
		free(*off);
		*off = NULL;
		return -1;
	}
	/* in blocks: block k of every rank's string at once */
	uint64_t longest = 0;
	for (int r = 0; r < size; r++)
		if (lens[r] > longest)
			longest = lens[r];
	char *tmp = here ? malloc((size_t)size * BLOCK) : NULL;
	fail = here && !tmp;
	if (!fl_max(fail))
		for (uint64_t at = 0; at < longest; at += BLOCK) {
			int n = len > at ? (int)(len - at < BLOCK ? len - at : BLOCK) : 0;
			for (int r = 0; r < size; r++) {
				cnt[r] = lens[r] > at ? (int)(lens[r] - at < BLOCK ? lens[r] - at : BLOCK) : 0;
				dsp[r] = r * (int)BLOCK;
			}
			const void *src = n ? (const char *)buf + at : buf;
			if (all)
				MPI_Allgatherv(src, n, MPI_BYTE, tmp, cnt, dsp, MPI_BYTE, MPI_COMM_WORLD);
			else
				MPI_Gatherv(src, n, MPI_BYTE, tmp, cnt, dsp, MPI_BYTE, 0, MPI_COMM_WORLD);
			for (int r = 0; here && r < size; r++)
				memcpy(o + (*off)[r] + at, tmp + (size_t)r * BLOCK, (size_t)cnt[r]);
		}
	else {
		free(o);
		o = NULL;
	}
	free(tmp);
	free(lens);
	free(cnt);
	free(dsp);
	if (here && !o) {
		free(*off);
		*off = NULL;
		return -1;
	}
	*out = o;
	return 0;
}

int fl_allgather(const void *buf, size_t len, char **out, size_t **off) { return gather(buf, len, out, off, true); }

int fl_gather0(const void *buf, size_t len, char **out, size_t **off) { return gather(buf, len, out, off, false); }

int fl_max(int v)
{
	int m;
	MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	return m;
}

uint64_t fl_sum_u64(uint64_t v)
{
	uint64_t s;
	MPI_Allreduce(&v, &s, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	return s;
}

void fl_put(struct fl_buf *b, const void *p, size_t len)
{
	if (b->oom || !len)
		return;
	if (b->n + len > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->n + len)
			nc *= 2;
		char *nb = realloc(b->b, nc);
		if (!nb) {
			b->oom = true;
			return;
		}
		b->b = nb;
		b->cap = nc;
	}
	memcpy(b->b + b->n, p, len);
	b->n += len;
}

void fl_put_u64(struct fl_buf *b, uint64_t v) { fl_put(b, &v, sizeof v); }

void fl_put_str(struct fl_buf *b, const char *s) { fl_put(b, s, strlen(s) + 1); }

bool fl_get(struct fl_rd *r, void *p, size_t len)
{
	if ((size_t)(r->end - r->p) < len)
		return false;
	if (len)
		memcpy(p, r->p, len);
	r->p += len;
	return true;
}

bool fl_get_u64(struct fl_rd *r, uint64_t *v) { return fl_get(r, v, sizeof *v); }

const char *fl_get_str(struct fl_rd *r)
{
	const char *s = r->p, *z = memchr(r->p, 0, (size_t)(r->end - r->p));
	if (!z)
		return NULL;
	r->p = z + 1;
	return s;
}
