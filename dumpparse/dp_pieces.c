/*
 * Overlapping (guest-physical or logical) byte ranges resolved into disjoint
 * ones, earlier pieces winning: used by the linear layouts (dp_map.c) and
 * by the flattened container (dp_flat.c), whose later records win.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define NO_OFF UINT64_MAX

static int cmp_paddr(const void *a, const void *b)
{
	const struct dp_map_piece *x = a, *y = b;
	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

int dp_disjoint(const struct dp_map_piece *in, size_t n, struct dp_map_piece **outp, size_t *nout,
		uint64_t *dropped, struct dp_error *err)
{
	struct dp_map_piece *s = malloc((n ? n : 1) * sizeof *s);
	if (!s)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	if (n)
		memcpy(s, in, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_paddr);
	bool overlap = false;
	for (size_t i = 1; i < n && !overlap; i++)
		overlap = s[i].paddr < s[i - 1].paddr + s[i - 1].len;
	*dropped = 0;
	if (!overlap) {
		*outp = s;
		*nout = n;
		return DP_OK;
	}

	/* Slow path: insert input pieces in priority order into a sorted set. */
	size_t cnt = 0, cap = n;
	for (size_t k = 0; k < n; k++) {
		struct dp_map_piece p = in[k];
		uint64_t a = p.paddr, b = p.paddr + p.len;
		/* first existing piece that ends after a */
		size_t lo = 0, hi = cnt;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (s[mid].paddr + s[mid].len <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t i = lo;
		uint64_t pos = a;
		while (pos < b) {
			uint64_t gap_end = (i < cnt && s[i].paddr < b) ? s[i].paddr : b;
			if (gap_end > pos) {
				if (cnt + 1 > cap) {
					cap = cap * 2 + 8;
					struct dp_map_piece *t = realloc(s, cap * sizeof *s);
					if (!t) {
						free(s);
						return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
					}
					s = t;
				}
				memmove(s + i + 1, s + i, (cnt - i) * sizeof *s);
				s[i] = (struct dp_map_piece){
					pos, gap_end - pos, p.off == NO_OFF ? NO_OFF : p.off + (pos - a)
				};
				cnt++;
				i++;
				pos = gap_end;
			}
			if (pos >= b)
				break;
			/* s[i] covers pos */
			uint64_t cov_end = s[i].paddr + s[i].len;
			uint64_t stop = cov_end < b ? cov_end : b;
			*dropped += stop - pos;
			pos = stop;
			i++;
		}
	}
	*outp = s;
	*nout = cnt;
	return DP_OK;
}
