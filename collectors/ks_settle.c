/*
 * --settle: KSM has converged when pages_shared and pages_sharing stayed
 * within a relative tolerance (1 %) over the last N (2) full scans.
 *
 * A snapshot is taken at the first sample that sees a new full_scans value.
 * Convergence at snapshot n: there is an older snapshot j whose full_scans is
 * at least N lower, and every snapshot from j to n is within the tolerance of
 * snapshot n.  Comparing whole scans (not seconds) makes the test independent
 * of pages_to_scan and sleep_millisecs.
 *
 * For the "time to 90 % of the final saving" the module keeps only the
 * running maxima of saved bytes: the first time a level was reached is the
 * time of the first running maximum at or above it.
 */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

void ks_settle_init(struct ks_settle *s, double tol, long long scans)
{
	memset(s, 0, sizeof *s);
	s->tol = tol;
	s->scans = scans;
	s->t_settled = -1;
}

void ks_settle_free(struct ks_settle *s)
{
	free(s->max_t);
	free(s->max_v);
	s->max_t = NULL;
	s->max_v = NULL;
	s->nmax = s->capmax = 0;
}

static bool close_to(long long a, long long ref, double tol)
{
	long long d = a > ref ? a - ref : ref - a;
	long long m = a > ref ? a : ref;
	if (m == 0)
		return true;
	return (double)d < tol * (double)m;
}

static void note_saved(struct ks_settle *s, double t, long long saved)
{
	s->last_saved = saved;
	s->last_t = t;
	if (s->nmax && saved <= s->max_v[s->nmax - 1])
		return;
	if (s->nmax == s->capmax) {
		size_t cap = s->capmax ? 2 * s->capmax : 64;
		double *nt = realloc(s->max_t, cap * sizeof *nt);
		if (!nt)
			return;
		s->max_t = nt;
		long long *nv = realloc(s->max_v, cap * sizeof *nv);
		if (!nv)
			return;
		s->max_v = nv;
		s->capmax = cap;
	}
	s->max_t[s->nmax] = t;
	s->max_v[s->nmax] = saved;
	s->nmax++;
}

bool ks_settle_feed(struct ks_settle *s, double t, long long full_scans, long long shared,
		    long long sharing, long long saved)
{
	note_saved(s, t, saved);
	if (s->settled)
		return false;
	size_t cap = sizeof s->snap / sizeof *s->snap;
	if (s->nsnap && s->snap[s->nsnap - 1].full_scans == full_scans)
		return false;
	if (s->nsnap == cap) {
		memmove(s->snap, s->snap + 1, (cap - 1) * sizeof *s->snap);
		s->nsnap--;
	}
	struct ks_settle_snap *n = &s->snap[s->nsnap++];
	n->full_scans = full_scans;
	n->shared = shared;
	n->sharing = sharing;
	n->t = t;
	for (size_t j = s->nsnap - 1; j-- > 0;) {
		const struct ks_settle_snap *o = &s->snap[j];
		if (!close_to(o->shared, n->shared, s->tol) || !close_to(o->sharing, n->sharing, s->tol))
			return false;
		if (o->full_scans <= n->full_scans - s->scans) {
			s->settled = true;
			s->t_settled = t;
			s->final_saved = saved;
			return true;
		}
	}
	return false;
}

double ks_settle_time_to(const struct ks_settle *s, double frac, long long final)
{
	if (final <= 0)
		return -1;
	double level = frac * (double)final;
	for (size_t i = 0; i < s->nmax; i++)
		if ((double)s->max_v[i] >= level)
			return s->max_t[i];
	return -1;
}
