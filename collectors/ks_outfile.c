/*
 * Output files that are complete or gone: a CSV that cannot be written
 * completely (disk full, I/O error) is reported by name and removed, so no
 * truncated file is mistaken for a finished run.  Only a regular file that
 * still is the one we opened is removed (never /dev/full, a pipe or a file
 * put in its place meanwhile); standard output is never removed.
 */
#include "ks.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *shown(FILE *f, const char *path)
{
	return f == stdout || !path ? "standard output" : path;
}

/* Report error E on the output and remove PATH when it still is the regular
 * file described by FST (NULL: not known to be ours). */
static void report(const char *path, const struct stat *fst, int e, const char *name)
{
	struct stat pst;
	if (fst && S_ISREG(fst->st_mode) && stat(path, &pst) == 0 && pst.st_dev == fst->st_dev &&
	    pst.st_ino == fst->st_ino && unlink(path) == 0)
		fprintf(stderr, KS_PROG ": %s: write error: %s; removed the incomplete file\n", path,
			strerror(e));
	else
		fprintf(stderr, KS_PROG ": %s: write error: %s\n", name, strerror(e));
}

/* Close F after error E, removing the file when it is ours and regular. */
static void discard(FILE *f, const char *path, int e)
{
	struct stat fst;
	bool ours = f != stdout && path && fstat(fileno(f), &fst) == 0;
	if (f != stdout)
		fclose(f);
	report(path, ours ? &fst : NULL, e, shown(f, path));
}

int ks_out_check(FILE **fp, const char *path)
{
	FILE *f = *fp;
	errno = 0;
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	discard(f, path, errno ? errno : EIO);
	*fp = NULL;
	return -1;
}

int ks_out_close(FILE **fp, const char *path)
{
	FILE *f = *fp;
	if (!f)
		return 0;
	*fp = NULL;
	if (ks_out_check(&f, path) < 0)
		return -1;
	if (f == stdout)
		return 0;
	/* what the disk did not take shows at fsync (delayed allocation, EIO) */
	struct stat st;
	memset(&st, 0, sizeof st);
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && fsync(fileno(f)) != 0 &&
	    errno != EINVAL) {
		discard(f, path, errno);
		return -1;
	}
	if (fclose(f) != 0) {
		report(path, &st, errno, path);
		return -1;
	}
	return 0;
}
