/* Set operations on ascending content-id lists, shared by the analyses. */
#include "analysis.h"

#include <stdlib.h>

uint64_t dd_ids_common(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb)
{
	uint64_t i = 0, j = 0, c = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else {
			c++;
			i++;
			j++;
		}
	}
	return c;
}

uint32_t *dd_ids_union(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb, uint64_t *n)
{
	uint32_t *o = malloc((na + nb ? na + nb : 1) * sizeof *o);
	if (!o)
		return NULL;
	uint64_t i = 0, j = 0, k = 0;
	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i] < b[j]))
			o[k++] = a[i++];
		else if (i == na || b[j] < a[i])
			o[k++] = b[j++];
		else {
			o[k++] = a[i++];
			j++;
		}
	}
	*n = k;
	return o;
}

int dd_an_compute(const struct dd_analysis *an, void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	if (an->compute)
		return an->compute(st, in, err, errlen);
	size_t ns = an->nsum ? an->nsum(st, in->n) : 0;
	uint64_t *sum = calloc(ns ? ns : 1, sizeof *sum);
	void *rec = NULL;
	size_t nrec = 0;
	int rc = sum ? an->part(st, in, sum, &rec, &nrec, err, errlen) : -1;
	if (!rc)
		rc = an->merge(st, in, sum, rec, nrec, err, errlen);
	free(sum);
	free(rec);
	return rc;
}
