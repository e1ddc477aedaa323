/*
 * Split kdump dumps (makedumpfile --split): one dump in several files, each
 * with the full headers and bitmaps and the descriptors and pages of its
 * own frame range (sub header: split, start_pfn, end_pfn).  Opening any of
 * them reads all of them: the files given with it (dp_group) and those
 * beside it that identify the same dump (struct kdump_split_id: the header
 * fields every part shares, timestamps left out).  Which of several given
 * files opens the dump is dp_group's decision (dp_group.c), made with
 * kdump_split_identify and kdump_split_differs.
 */
#include "kdump_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int add_part(struct kd *k, const char *path, enum dp_direct direct, struct dp_error *err)
{
	if (k->nparts >= MAX_PARTS)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "more than %d split parts", MAX_PARTS);
	struct part *p = &k->parts[k->nparts];
	memset(p, 0, sizeof *p);
	p->zero_off = UINT64_MAX;
	p->path = strdup(path);
	if (!p->path)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	k->nparts++;
	int rc = dp_view_open(p->path, &p->v, direct, err);
	p->v.inner = "kdump";
	return rc ? dp_err_context(err, "split part %s: ", path) : DP_OK;
}

static int cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	return x->start_pfn < y->start_pfn ? -1 : x->start_pfn > y->start_pfn;
}

/* Whether path names the file st describes. */
static bool same_file(const char *path, const struct stat *st)
{
	struct stat x;
	return path && stat(path, &x) == 0 && x.st_ino == st->st_ino && x.st_dev == st->st_dev;
}

/* The first bytes of path are a plain kdump file's (makedumpfile --split writes plain files). */
static bool kdump_file(const char *path, uint64_t min_size)
{
	struct stat st;
	uint8_t m[8];
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < min_size)
		return false;
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	bool ok = fread(m, 1, sizeof m, f) == sizeof m && memcmp(m, KD_SIG, 8) == 0;
	fclose(f);
	return ok;
}

/* The identity of the split dump in view v; 0 when v is no split part. */
static int view_id(const struct dp_view *v, struct kdump_split_id *id)
{
	struct kd k;
	struct part p;
	struct dp_error e;
	memset(&k, 0, sizeof k);
	memset(&p, 0, sizeof p);
	p.v = *v;
	if (kdump_parse_header(NULL, &k, v, &e) || kdump_parse_sub_header(&k, &p, &e) || !k.split)
		return 0;
	kdump_split_id_of(&k, id);
	return 1;
}

/* Note a split file that belongs to another dump (for the error that
 * follows when a part is missing). */
static void reject(struct kd *k, const char *path, const char *why)
{
	size_t l = strlen(k->rejected);
	if (l + 8 < sizeof k->rejected)
		snprintf(k->rejected + l, sizeof k->rejected - l, "; %s is a split file of another dump: its %s", path,
			 why);
}

/* Take path as a part when it is a plain kdump file of the same dump, not
 * yet among the parts. */
static int try_part(struct dp_dump *d, struct kd *k, const char *path, struct dp_error *err)
{
	struct stat st;
	if (!kdump_file(path, 4096) || stat(path, &st) < 0)
		return DP_OK;
	for (size_t i = 0; i < k->nparts; i++)
		if (same_file(k->parts[i].path ? k->parts[i].path : d->path, &st))
			return DP_OK;
	struct dp_view v;
	struct dp_error e;
	struct kdump_split_id mine, theirs;
	char why[300];
	int rc = DP_OK;
	if (dp_view_open(path, &v, DP_DIRECT_NEVER, &e) == DP_OK && view_id(&v, &theirs)) {
		kdump_split_id_of(k, &mine);
		const char *diff = kdump_split_differs(&mine, &theirs, why, sizeof why);
		if (diff)
			reject(k, path, diff);
		else
			rc = add_part(k, path, d->opt.direct, err);
	}
	dp_view_free(&v);
	return rc;
}

/* The files given with this one (wherever they are) and those beside it
 * that look like parts of the same dump. */
static int find_parts(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	int rc = DP_OK;
	for (size_t i = 0; i < d->nparts && !rc; i++)
		if (d->parts[i])
			rc = try_part(d, k, d->parts[i], err);
	char *dir = strdup(d->path);
	if (!dir)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	char *slash = strrchr(dir, '/');
	const char *dname = ".";
	if (slash) {
		*slash = 0;
		dname = slash == dir ? "/" : dir;
	}
	DIR *dh = opendir(dname);
	struct dirent *de;
	while (dh && !rc && (de = readdir(dh))) {
		char full[4096];
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(full, sizeof full, "%s/%s", dname, de->d_name) >= sizeof full)
			continue;
		rc = try_part(d, k, full, err);
	}
	if (dh)
		closedir(dh);
	free(dir);
	return rc;
}

/* every part's own frame range, from its sub header */
static int part_ranges(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	for (size_t i = 0; i < k->nparts; i++) {
		struct kd tmp = *k;
		tmp.own_bm = NULL;
		if (kdump_parse_sub_header(&tmp, &k->parts[i], err))
			return dp_err_context(err, "%s: ", k->parts[i].path ? k->parts[i].path : d->path);
		k->parts[i].start_pfn = tmp.start_pfn;
		k->parts[i].end_pfn = tmp.end_pfn;
	}
	return DP_OK;
}

/* the frames are read through the first file's bitmaps: every part must have the same */
static int same_bitmaps(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	uint64_t bm_off = (uint64_t)(1 + k->sub_blocks) * k->bs;
	uint64_t full = k->two_bitmaps ? (uint64_t)(k->bitmap_blocks / 2) * k->bs : (uint64_t)k->bitmap_blocks * k->bs;
	uint8_t *tmpb = malloc(k->bm_len ? (size_t)k->bm_len : 1);
	int rc = DP_OK;
	if (!tmpb)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t i = 1; i < k->nparts && !rc; i++) {
		const struct dp_view *pv = &k->parts[i].v;
		for (int b = 0; b < (k->two_bitmaps ? 2 : 1) && !rc; b++) {
			rc = dp_view_read(pv, bm_off + (uint64_t)b * full, tmpb, (size_t)k->bm_len, "split part bitmap", err);
			if (!rc && memcmp(tmpb, b ? k->bm2 : k->bm1, (size_t)k->bm_len) != 0)
				rc = dp_fail(err, DP_E_CORRUPT, dp_view_file_off(pv, bm_off + (uint64_t)b * full),
					     "split part %s: its %s bitmap differs from the one of %s", k->parts[i].path,
					     b ? "2nd" : "1st", d->path);
		}
	}
	free(tmpb);
	return rc;
}

static int gap(struct dp_dump *d, const struct kd *k, int64_t at, uint64_t from, uint64_t to, struct dp_error *err)
{
	return dp_fail(err, DP_E_USAGE, at,
		       "split dump: no part holds frames %llu..%llu (found %zu part(s)%s%s); give every file of the dump",
		       (unsigned long long)from, (unsigned long long)to, k->nparts,
		       d->parts ? " beside this file or given with it" : " beside this file", k->rejected);
}

int kdump_setup_parts(struct dp_dump *d, struct kd *k, struct dp_error *err)
{
	/* where this file says it is one part (sub header: split, start/end frame) */
	const int64_t at = dp_view_file_off(&k->parts[0].v, (uint64_t)k->bs + (k->is64 ? 0x0C : 0x08));
	int rc;
	if (strcmp(d->path, "-") != 0 && (rc = find_parts(d, k, err)))
		return rc;
	if ((rc = part_ranges(d, k, err)) || (rc = same_bitmaps(d, k, err)))
		return rc;
	qsort(k->parts, k->nparts, sizeof *k->parts, cmp_part);
	/* the ranges must tile [0, max_mapnr) without overlap */
	uint64_t pos = 0;
	for (size_t i = 0; i < k->nparts; i++) {
		struct part *p = &k->parts[i];
		if (p->end_pfn > k->max_mapnr)
			p->end_pfn = k->max_mapnr;
		if (p->start_pfn > pos)
			return gap(d, k, at, pos, p->start_pfn, err);
		if (p->start_pfn < pos)
			return dp_fail(err, DP_E_CORRUPT, at, "split dump: parts overlap at frame %llu (%s)",
				       (unsigned long long)p->start_pfn, p->path ? p->path : d->path);
		pos = p->end_pfn > pos ? p->end_pfn : pos;
	}
	if (pos < k->max_mapnr)
		return gap(d, k, at, pos, k->max_mapnr, err);
	return DP_OK;
}

void kdump_split_id_of(const struct kd *k, struct kdump_split_id *id)
{
	memset(id, 0, sizeof *id);
	id->is64 = k->is64;
	id->be = k->be;
	id->version = k->version;
	id->bs = k->bs;
	id->sub_blocks = k->sub_blocks;
	id->bitmap_blocks = k->bitmap_blocks;
	id->dump_level = k->dump_level;
	id->max_mapnr = k->max_mapnr;
	id->phys_base = k->phys_base;
	const char *u[6] = { k->sysname, k->nodename, k->release, k->utsversion, k->machine, k->domainname };
	for (int i = 0; i < 6; i++)
		snprintf(id->uts[i], sizeof id->uts[i], "%s", u[i]);
	id->start_pfn = k->start_pfn;
	id->end_pfn = k->end_pfn;
}

int kdump_split_identify(const char *path, struct kdump_split_id *id)
{
	if (!kdump_file(path, 4096))
		return 0;
	struct dp_view v;
	struct dp_error e;
	if (dp_view_open(path, &v, DP_DIRECT_NEVER, &e))
		return 0;
	int yes = view_id(&v, id);
	dp_view_free(&v);
	return yes;
}

static const char *differs_num(char *buf, size_t n, const char *what, uint64_t a, uint64_t b)
{
	snprintf(buf, n, "%s differs (%llu, this dump %llu)", what, (unsigned long long)b, (unsigned long long)a);
	return buf;
}

const char *kdump_split_differs(const struct kdump_split_id *a, const struct kdump_split_id *b, char *buf, size_t n)
{
	static const char *const uts[6] = { "sysname", "nodename", "release", "version", "machine", "domainname" };
	if (a->is64 != b->is64 || a->be != b->be) {
		snprintf(buf, n, "header layout differs (%d-bit %s-endian, this dump %d-bit %s-endian)", b->is64 ? 64 : 32,
			 b->be ? "big" : "little", a->is64 ? 64 : 32, a->be ? "big" : "little");
		return buf;
	}
	for (int i = 0; i < 6; i++)
		if (strcmp(a->uts[i], b->uts[i]) != 0) {
			snprintf(buf, n, "utsname %s differs ('%.64s', this dump '%.64s')", uts[i], b->uts[i], a->uts[i]);
			return buf;
		}
	if (a->version != b->version)
		return differs_num(buf, n, "header version", a->version, b->version);
	if (a->bs != b->bs)
		return differs_num(buf, n, "block size", a->bs, b->bs);
	if (a->sub_blocks != b->sub_blocks)
		return differs_num(buf, n, "sub-header size (blocks)", a->sub_blocks, b->sub_blocks);
	if (a->bitmap_blocks != b->bitmap_blocks)
		return differs_num(buf, n, "bitmap size (blocks)", a->bitmap_blocks, b->bitmap_blocks);
	if (a->max_mapnr != b->max_mapnr)
		return differs_num(buf, n, "max_mapnr", a->max_mapnr, b->max_mapnr);
	if (a->phys_base != b->phys_base)
		return differs_num(buf, n, "phys_base", a->phys_base, b->phys_base);
	if (a->dump_level != b->dump_level)
		return differs_num(buf, n, "dump level", a->dump_level, b->dump_level);
	return NULL;
}
