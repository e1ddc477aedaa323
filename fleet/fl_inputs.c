/* The input set of a distributed run.  Every argument is a pattern that
 * each host expands on its own files (glob(3)); the files a host finds are
 * read by its ranks in turn.  HOST:PATH names a file of one host and
 * rank=N:PATH the rank that reads it.  The run's order, that of the report,
 * is the arguments' order, then the hosts' (by their first rank), then the
 * matches' (sorted, as a shell sorts them).  A pattern that matches nothing
 * anywhere is one input of rank 0 that fails to open, as in dedup-analyze. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fleet.h"

struct hosts {
	char (*name)[MPI_MAX_PROCESSOR_NAME];
	int *first;  /* per rank: the first rank of its host */
	int *local;  /* per rank: its place among its host's ranks */
	int *nlocal; /* per rank: ranks on its host */
};

static void hosts_free(struct hosts *h)
{
	free(h->name);
	free(h->first);
	free(h->local);
	free(h->nlocal);
}

static int hosts_get(const struct fl_ctx *c, struct hosts *h, int *nhosts)
{
	char me[MPI_MAX_PROCESSOR_NAME] = { 0 };
	int len;
	MPI_Get_processor_name(me, &len);
	size_t n = (size_t)c->size;
	h->name = malloc(n * sizeof *h->name);
	h->first = calloc(n, sizeof *h->first);
	h->local = calloc(n, sizeof *h->local);
	h->nlocal = calloc(n, sizeof *h->nlocal);
	if (fl_max(!h->name || !h->first || !h->local || !h->nlocal))
		return -1;
	MPI_Allgather(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, h->name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
		      MPI_COMM_WORLD);
	*nhosts = 0;
	for (int r = 0; r < c->size; r++) {
		int f = 0;
		while (strcmp(h->name[f], h->name[r]) != 0)
			f++;
		h->first[r] = f;
		h->local[r] = h->nlocal[f]++;
		*nhosts += f == r;
	}
	for (int r = 0; r < c->size; r++)
		h->nlocal[r] = h->nlocal[h->first[r]];
	return 0;
}

/* HOST:PATH or rank=N:PATH: *path after the colon, host copied */
static bool placed(const char *arg, const char **path, char *host, size_t hostlen)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	if (!n || n >= hostlen || memchr(arg, '/', n))
		return false;
	memcpy(host, arg, n);
	host[n] = 0;
	*path = colon + 1;
	return true;
}

/* rank=N: N; HOST: its first rank (its ranks take turns).  *first: the
 * first rank of that host.  -1 when HOST is no host of the run, -2 for a
 * bad N. */
static int placed_owner(const struct fl_ctx *c, const struct hosts *h, const char *host, int *first)
{
	uint64_t v;
	if (strncmp(host, "rank=", 5) == 0) {
		if (!cm_parse_u64(host + 5, &v) || v >= (uint64_t)c->size)
			return -2;
		*first = h->first[v];
		return (int)v;
	}
	for (int r = 0; r < c->size; r++)
		if (strcmp(h->name[r], host) == 0) {
			*first = r;
			return r;
		}
	return -1;
}

struct entries {
	struct fl_buf b;
	uint64_t count; /* entries this rank's host has seen: who reads the next */
};

static void keep(struct entries *e, uint64_t arg, uint64_t host, uint64_t seq, int owner, const char *path)
{
	fl_put_u64(&e->b, arg);
	fl_put_u64(&e->b, host);
	fl_put_u64(&e->b, seq);
	fl_put_u64(&e->b, (uint64_t)owner);
	fl_put_str(&e->b, path);
}

/* This rank's entries; -1 go on, else the exit status (rank 0 says why). */
static int own_entries(const struct fl_ctx *c, const struct hosts *h, struct entries *e)
{
	const int me = c->rank, first = h->first[me];
	int rc = -1;
	for (size_t a = 0; a < c->o->n && rc < 0; a++) {
		const char *arg = c->o->paths[a], *path;
		char host[MPI_MAX_PROCESSOR_NAME + 8];
		int hf = 0;
		if (strcmp(arg, "-") == 0) {
			if (me == 0)
				cm_usage_error(PROG, "%s", "standard input ('-') cannot be read by ranks: give files");
			rc = 2;
		} else if (placed(arg, &path, host, sizeof host)) {
			int owner = placed_owner(c, h, host, &hf);
			if (owner < 0) {
				if (me == 0)
					cm_usage_error(PROG, owner == -1 ? "%s: no rank of this run is on that host"
									 : "%s: no such rank in this run", arg);
				rc = 2;
			} else if (strncmp(host, "rank=", 5) == 0) {
				if (owner == me)
					keep(e, a, (uint64_t)hf, 0, me, path);
			} else if (hf == first && (int)(e->count++ % (uint64_t)h->nlocal[me]) == h->local[me])
				keep(e, a, (uint64_t)hf, 0, me, path);
		} else {
			glob_t g;
			if (glob(arg, 0, NULL, &g) == 0)
				for (size_t k = 0; k < g.gl_pathc; k++)
					if ((int)(e->count++ % (uint64_t)h->nlocal[me]) == h->local[me])
						keep(e, a, (uint64_t)first, k, me, g.gl_pathv[k]);
			globfree(&g);
		}
	}
	if (e->b.oom && rc < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = 1;
	}
	return fl_max(rc);
}

static int by_order(const void *x, const void *y)
{
	const struct fl_input *a = x, *b = y;
	if (a->arg != b->arg)
		return a->arg < b->arg ? -1 : 1;
	if (a->host != b->host)
		return a->host < b->host ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int add(struct fl_ctx *c, const struct hosts *h, size_t *cap, uint64_t arg, uint64_t host, uint64_t seq,
	       int owner, const char *path)
{
	if (c->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct fl_input *ni = realloc(c->in, nc * sizeof *ni);
		if (!ni)
			return -1;
		c->in = ni;
		*cap = nc;
	}
	struct fl_input *in = &c->in[c->n];
	memset(in, 0, sizeof *in);
	in->arg = arg;
	in->host = host;
	in->seq = seq;
	in->owner = owner;
	in->path = strdup(path);
	if (c->nhosts > 1) {
		size_t len = strlen(h->name[owner]) + strlen(path) + 2;
		if ((in->name = malloc(len)))
			snprintf(in->name, len, "%s:%s", h->name[owner], path);
	} else
		in->name = strdup(path);
	c->n++;
	return in->path && in->name ? 0 : -1;
}

/* every rank's entries into the run's list, in order */
static int unpack(struct fl_ctx *c, const struct hosts *h, const char *all, size_t len)
{
	struct fl_rd rd = { all, all + len };
	size_t cap = 0;
	while (rd.p < rd.end) {
		uint64_t arg, host, seq, owner;
		const char *path;
		if (!fl_get_u64(&rd, &arg) || !fl_get_u64(&rd, &host) || !fl_get_u64(&rd, &seq) ||
		    !fl_get_u64(&rd, &owner) || !(path = fl_get_str(&rd)))
			return -1;
		if (add(c, h, &cap, arg, host, seq, (int)owner, path))
			return -1;
	}
	/* a pattern that matches nothing anywhere: rank 0 reports it */
	size_t nfound = c->n;
	for (size_t a = 0; a < c->o->n; a++) {
		bool found = false;
		for (size_t i = 0; i < nfound && !found; i++)
			found = c->in[i].arg == a;
		if (!found && add(c, h, &cap, a, 0, 0, 0, c->o->paths[a]))
			return -1;
	}
	if (c->n)
		qsort(c->in, c->n, sizeof *c->in, by_order);
	c->mine = calloc(c->n ? c->n : 1, sizeof *c->mine);
	if (!c->mine)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (c->in[i].owner == c->rank)
			c->mine[c->nmine++] = i;
	return 0;
}

int fl_inputs_make(struct fl_ctx *c)
{
	struct hosts h = { 0 };
	struct entries e = { 0 };
	char *all = NULL;
	size_t *off = NULL;
	int rc = -1;
	if (hosts_get(c, &h, &c->nhosts))
		rc = 1;
	if (rc < 0)
		rc = own_entries(c, &h, &e);
	if (rc < 0 && fl_allgather(e.b.b, e.b.n, &all, &off))
		rc = 1;
	if (rc < 0 && fl_max(unpack(c, &h, all, off[c->size]) != 0))
		rc = 1;
	if (rc == 1 && c->rank == 0)
		fprintf(stderr, PROG ": out of memory making the input set\n");
	free(all);
	free(off);
	free(e.b.b);
	hosts_free(&h);
	return rc;
}

void fl_inputs_free(struct fl_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->in[i].path);
		free(c->in[i].name);
	}
	free(c->in);
	free(c->mine);
	c->in = NULL;
	c->mine = NULL;
	c->n = c->nmine = 0;
}
