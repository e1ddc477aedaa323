/* The salt groups file of the TPS what-if (docs/analyses.md, "TPS salting
 * what-if"): its syntax, and which of its lines names an input. */
#ifndef DEDUP_SALT_H
#define DEDUP_SALT_H

#include <stddef.h>

struct dd_salt_line {
	char *dump;   /* the DUMP field, unquoted */
	char *real;   /* realpath of dump, NULL when it names no file here */
	size_t group; /* index into groups */
	size_t lineno;
};

struct dd_salt {
	struct dd_salt_line *lines;
	size_t nlines;
	char **groups; /* names, in the order they first appear */
	size_t ngroups;
};

/* Read and check the whole file: two fields a line, no DUMP twice.  0, or
 * -1 with err set to "line N: what is wrong" or "cannot open: why" (the
 * caller names the file); *s is then empty. */
int dd_salt_read(const char *file, struct dd_salt *s, char *err, size_t errlen);
void dd_salt_free(struct dd_salt *s);

/* The line naming an input: its path as given, or (a fingerprint) origin,
 * the path of the dump it was made from, may be NULL.  A line names it when
 * DUMP is that path, its file name, or another path to the same file.
 * Returns the number of lines naming it (0, 1 or 2: the search stops at the
 * second); first and second are their indexes. */
int dd_salt_match(const struct dd_salt *s, const char *path, const char *origin, size_t *first, size_t *second);

#endif
