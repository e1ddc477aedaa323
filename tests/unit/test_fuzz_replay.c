/* Replays the fuzz corpus (tests/fuzz/corpus/) through the fuzz target, so
 * that every saved input — seeds and past crashes — runs in every test
 * build, sanitizers included, and checks each outcome against the one
 * recorded in tests/fuzz/corpus.expect.
 *
 * corpus.expect has two lines per corpus file ('#' starts a comment):
 *   NAME auto OUTCOME    read through the probe list
 *   NAME raw OUTCOME     read as a forced raw image
 * and may have more, one per format back end the file is also read with
 * alone (an input a per-format fuzz target found):
 *   NAME FORMAT OUTCOME  read with dp_options.format = FORMAT
 * OUTCOME is what fz_run() (tests/fuzz/fuzz_dump.c) prints: "accepted
 * FORMAT pages=N absent=N zero=N digest=X", "refused STATUS: NAME: what
 * (at offset N)", "read-error STATUS after N pages: NAME: what ...".
 * A corpus file without lines, a line without a file, a file that cannot
 * be read whole, a read stopped by the unit limit: each is a failure.
 *
 *   test_fuzz_replay [CORPUS [EXPECT]]      the test
 *   test_fuzz_replay --print FILE...        the lines for FILEs, to review
 *                                           and add to corpus.expect
 *   test_fuzz_replay --print-as FORMAT FILE...  the FORMAT lines
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../fuzz/fuzz_dump.c"
#include "tap.h"

#define OUTLEN 1024

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole file, or NULL with a reason. */
static uint8_t *slurp(const char *path, size_t *n, const char **why)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = f ? "not a regular file" : strerror(errno);
		if (f)
			fclose(f);
		return NULL;
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	*n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	int extra = fgetc(f);
	fclose(f);
	if (!buf || *n != (size_t)st.st_size || extra != EOF) {
		*why = "could not be read whole";
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* format NULL: the auto and raw lines; else the FORMAT line */
static int print_lines(int argc, char **argv, int first, const char *format)
{
	int rc = 0;
	for (int i = first; i < argc; i++) {
		size_t n = 0;
		const char *why = NULL;
		uint8_t *buf = slurp(argv[i], &n, &why);
		char a[OUTLEN], r[OUTLEN];
		int bad = !buf || (format ? fz_read_as(buf, n, base(argv[i]), format, a, OUTLEN)
					  : fz_run(buf, n, base(argv[i]), a, r, OUTLEN)) != 0;
		if (bad) {
			fprintf(stderr, "%s: %s\n", argv[i], buf ? "no memory file" : why);
			rc = 1;
		} else if (format) {
			printf("%s %s %s\n", base(argv[i]), format, a);
		} else {
			printf("%s auto %s\n%s raw %s\n", base(argv[i]), a, base(argv[i]), r);
		}
		free(buf);
	}
	return rc;
}

/* a mode of corpus.expect: auto, raw, or a format name */
static int known_mode(const char *m)
{
	if (strcmp(m, "auto") == 0)
		return 1;
	for (size_t i = 0; i < dp_format_count(); i++)
		if (strcmp(m, dp_format_name(i)) == 0)
			return 1;
	return 0;
}

struct want {
	char name[256], mode[32], outcome[OUTLEN];
	int used;
};

static struct want *read_expect(const char *path, size_t *nw)
{
	FILE *f = fopen(path, "r");
	ok(f != NULL, "outcome list %s opened", path);
	if (!f)
		return NULL;
	size_t cap = 256, n = 0;
	struct want *w = calloc(cap, sizeof *w);
	char line[OUTLEN + 300];
	int bad = 0;
	while (w && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		if (n == cap) {
			cap *= 2;
			w = realloc(w, cap * sizeof *w);
			if (!w)
				break;
		}
		int used = 0;
		if (sscanf(line, "%255s %31s %n", w[n].name, w[n].mode, &used) != 2 || !used ||
		    !known_mode(w[n].mode)) {
			printf("#   malformed line: %s\n", line);
			bad++;
			continue;
		}
		snprintf(w[n].outcome, sizeof w[n].outcome, "%s", line + used);
		w[n].used = 0;
		n++;
	}
	fclose(f);
	ok(w && bad == 0, "outcome list: %zu lines, %d malformed", n, bad);
	*nw = n;
	return w;
}

static struct want *find(struct want *w, size_t n, const char *name, const char *mode)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i].name, name) == 0 && strcmp(w[i].mode, mode) == 0)
			return &w[i];
	return NULL;
}

static void check(struct want *w, size_t nw, const char *name, const char *mode, const char *got)
{
	struct want *x = find(w, nw, name, mode);
	if (!x) {
		ok(0, "%s (%s): an outcome is recorded", name, mode);
		printf("#   got: %s\n#   add it with: test_fuzz_replay --print CORPUS/%s\n", got, name);
		return;
	}
	x->used++;
	is_str(got, x->outcome, "%s (%s): %.60s", name, mode, x->outcome);
}

/* the lines of name for single back ends: read with that format alone */
static void replay_formats(struct want *w, size_t nw, const char *name, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < nw; i++) {
		if (strcmp(w[i].name, name) || !strcmp(w[i].mode, "auto") || !strcmp(w[i].mode, "raw") || w[i].used)
			continue;
		char got[OUTLEN];
		if (fz_read_as(buf, n, name, w[i].mode, got, OUTLEN) != 0)
			ok(0, "%s (%s): replayed (no memory file)", name, w[i].mode);
		else
			check(w, nw, name, w[i].mode, got);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print") == 0)
		return print_lines(argc, argv, 2, NULL);
	if (argc > 2 && strcmp(argv[1], "--print-as") == 0)
		return print_lines(argc, argv, 3, argv[2]);
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	const char *exp = argc > 2 ? argv[2] : "tests/fuzz/corpus.expect";
	size_t nw = 0;
	struct want *w = read_expect(exp, &nw);
	DIR *dp = opendir(dir);
	ok(dp != NULL, "corpus folder %s", dir);
	if (!dp || !w) {
		free(w);
		if (dp)
			closedir(dp);
		return tap_done();
	}
	char **names = NULL;
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (nn + 1) * sizeof *names);
		if (!names || !(names[nn] = strdup(de->d_name)))
			return 2;
		nn++;
	}
	closedir(dp);
	qsort(names, nn, sizeof *names, cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char path[4096], a[OUTLEN], r[OUTLEN];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t n = 0;
		const char *why = NULL;
		uint8_t *buf = slurp(path, &n, &why);
		int rc = buf ? fz_run(buf, n, names[i], a, r, OUTLEN) : -1;
		if (!buf) {
			ok(0, "%s: read whole (%s)", names[i], why);
		} else if (rc != 0) {
			ok(0, "%s: replayed (no memory file)", names[i]);
		} else {
			check(w, nw, names[i], "auto", a);
			check(w, nw, names[i], "raw", r);
			replay_formats(w, nw, names[i], buf, n);
		}
		free(buf);
		free(names[i]);
	}
	free(names);
	int stale = 0;
	for (size_t i = 0; i < nw; i++)
		if (w[i].used != 1) {
			printf("#   %s (%s): %s\n", w[i].name, w[i].mode,
			       w[i].used ? "listed more than once" : "listed, but no such corpus file");
			stale++;
		}
	ok(stale == 0, "every line of the outcome list belongs to one corpus file (%d do not)", stale);
	ok(nn >= 10, "%zu corpus files replayed", nn);
	free(w);
	return tap_done();
}
