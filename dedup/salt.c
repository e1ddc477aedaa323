/* The salt groups file: lines "DUMP GROUP" (docs/analyses.md, "TPS salting
 * what-if").  Blanks (spaces, tabs) separate the two fields; a field may
 * be written in double quotes, inside which \" is a quote and \\ a
 * backslash, so that paths with blanks, '#' or quotes can be named; '#'
 * outside quotes starts a comment that runs to the end of the line. */
#include "salt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_FIELDS 3 /* two wanted; the third is kept to name it in the error */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A quoted field starting after its opening quote at *pp, unquoted in
 * place; *pp moves past the closing quote.  NULL, or what is wrong. */
static const char *unquote(char **pp)
{
	char *r = *pp, *w = *pp;
	for (;;) {
		if (*r == 0 || *r == '\n')
			return "a quote is not closed";
		if (*r == '"')
			break;
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\')
				return "inside quotes a backslash goes only before \\ or \"";
		}
		*w++ = *r++;
	}
	*w = 0;
	r++; /* the closing quote */
	if (*r && !is_blank(*r) && *r != '#')
		return "a closing quote is followed by more of the field";
	*pp = r;
	return NULL;
}

/* The fields of one line, unquoted in place: up to MAX_FIELDS of them in
 * f[], their number (which may be larger) in *n.  NULL, or what is wrong. */
static const char *split_fields(char *p, char **f, size_t *n)
{
	*n = 0;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == 0 || *p == '#')
			return NULL;
		char *start;
		if (*p == '"') {
			start = ++p;
			const char *why = unquote(&p);
			if (why)
				return why;
			if (!*start)
				return "an empty field";
		} else {
			start = p;
			while (*p && !is_blank(*p) && *p != '#') {
				if (*p == '"')
					return "a quote inside a field (quote the whole field)";
				p++;
			}
		}
		char end = *p;
		*p = 0; /* ends an unquoted field (a quoted one ended already) */
		if (*n < MAX_FIELDS)
			f[*n] = start;
		(*n)++;
		if (end == 0 || end == '#')
			return NULL;
		p++;
	}
}

/* Index of group g, added when new; SIZE_MAX when out of memory. */
static size_t group_index(struct dd_salt *s, const char *g)
{
	for (size_t i = 0; i < s->ngroups; i++)
		if (strcmp(s->groups[i], g) == 0)
			return i;
	char **ng = realloc(s->groups, (s->ngroups + 1) * sizeof *ng);
	if (!ng)
		return SIZE_MAX;
	s->groups = ng;
	if (!(ng[s->ngroups] = strdup(g)))
		return SIZE_MAX;
	return s->ngroups++;
}

/* One line's fields f[0..n) into s.  0, or -1 with err. */
static int add_line(struct dd_salt *s, char **f, size_t n, size_t lineno, char *err, size_t errlen)
{
	if (n == 1) {
		snprintf(err, errlen, "line %zu: one field; a line is DUMP GROUP", lineno);
		return -1;
	}
	if (n > 2) {
		snprintf(err, errlen, "line %zu: a third field '%.40s'; a line is DUMP GROUP (quote a path that "
			 "holds blanks)", lineno, f[2]);
		return -1;
	}
	for (size_t i = 0; i < s->nlines; i++)
		if (strcmp(s->lines[i].dump, f[0]) == 0) {
			snprintf(err, errlen, "lines %zu and %zu: '%.200s' is listed twice", s->lines[i].lineno,
				 lineno, f[0]);
			return -1;
		}
	struct dd_salt_line *nl = realloc(s->lines, (s->nlines + 1) * sizeof *nl);
	if (!nl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->lines = nl;
	struct dd_salt_line *l = &nl[s->nlines];
	*l = (struct dd_salt_line){ .lineno = lineno, .group = group_index(s, f[1]) };
	if (l->group == SIZE_MAX || !(l->dump = strdup(f[0]))) {
		free(l->dump);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->real = realpath(l->dump, NULL);
	s->nlines++;
	return 0;
}

int dd_salt_read(const char *file, struct dd_salt *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	FILE *fh = fopen(file, "r");
	if (!fh) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int rc = 0;
	while (!rc && getline(&line, &cap, fh) >= 0) {
		lineno++;
		char *f[MAX_FIELDS];
		size_t n;
		const char *why = split_fields(line, f, &n);
		if (why) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			rc = -1;
		} else if (n)
			rc = add_line(s, f, n, lineno, err, errlen);
	}
	if (!rc && ferror(fh)) {
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fh);
	if (rc)
		dd_salt_free(s);
	return rc;
}

void dd_salt_free(struct dd_salt *s)
{
	for (size_t i = 0; i < s->nlines; i++) {
		free(s->lines[i].dump);
		free(s->lines[i].real);
	}
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i]);
	free(s->lines);
	free(s->groups);
	memset(s, 0, sizeof *s);
}

/* Does line l name the file at path p (whose realpath is rp, may be NULL)? */
static int names(const struct dd_salt_line *l, const char *p, const char *rp)
{
	return strcmp(l->dump, p) == 0 || strcmp(l->dump, cm_base_name(p)) == 0 ||
	       (rp && l->real && strcmp(rp, l->real) == 0);
}

int dd_salt_match(const struct dd_salt *s, const char *path, const char *origin, size_t *first, size_t *second)
{
	char *rp = realpath(path, NULL), *ro = origin ? realpath(origin, NULL) : NULL;
	int found = 0;
	for (size_t i = 0; i < s->nlines && found < 2; i++)
		if (names(&s->lines[i], path, rp) || (origin && names(&s->lines[i], origin, ro)))
			*(found++ ? second : first) = i;
	free(rp);
	free(ro);
	return found;
}
