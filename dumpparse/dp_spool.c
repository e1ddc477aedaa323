/*
 * The spool layer: bytes that can only be read front to back (a pipe, a
 * whole-file-compressed file) or only through a record map (a flattened
 * file), copied to an unlinked temporary file in $TMPDIR and mapped, for
 * the formats that must read their layout out of order.
 */
#include "dp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_CHUNK (1u << 20)

static const char *tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

static int tmp_file(int *fdp, struct dp_error *err)
{
	const char *tmp = tmp_dir();
	int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char name[4096];
		snprintf(name, sizeof name, "%s/samepage-spool.XXXXXX", tmp);
		fd = mkstemp(name);
		if (fd >= 0)
			unlink(name);
	}
	*fdp = fd;
	if (fd < 0)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot create a temporary file in %s: %s", tmp,
			       strerror(errno));
	return DP_OK;
}

static int write_at(int fd, const uint8_t *buf, size_t len, uint64_t off, struct dp_error *err)
{
	size_t w = 0;
	while (w < len) {
		ssize_t n = pwrite(fd, buf + w, len - w, (off_t)(off + w));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "writing the temporary copy in %s: %s", tmp_dir(),
				       strerror(n < 0 ? errno : ENOSPC));
		w += (size_t)n;
	}
	return DP_OK;
}

/* the temporary file of size bytes becomes the view's own mapping */
static int finish(int fd, uint64_t size, struct dp_view *out, struct dp_error *err)
{
	const uint8_t *m;
	int rc = DP_OK;
	if (size == 0)
		rc = dp_fail(err, DP_E_CORRUPT, 0, "input is empty");
	else if (size > SIZE_MAX)
		rc = dp_fail(err, DP_E_IO, DP_NO_OFFSET, "input too large to map");
	else if (dp_file_map(fd, size, &m, err))
		rc = dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot map the temporary copy: %s", strerror(errno));
	if (rc) {
		close(fd);
		return rc;
	}
	dp_view_plain(out, NULL, m, size, fd);
	out->own_map = (void *)(uintptr_t)m;
	out->own_len = (size_t)size;
	out->own_fd = fd;
	return DP_OK;
}

int dp_spool(dp_pull_fn pull, void *ctx, struct dp_view *out, struct dp_error *err)
{
	int fd, rc;
	if ((rc = tmp_file(&fd, err)))
		return rc;
	uint8_t *buf = malloc(SPOOL_CHUNK);
	if (!buf) {
		close(fd);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pull(ctx, buf, SPOOL_CHUNK, err);
		if (n < 0) {
			rc = err->status;
			break;
		}
		if (n == 0)
			break;
		if ((rc = write_at(fd, buf, (size_t)n, off, err)))
			break;
		off += (uint64_t)n;
	}
	free(buf);
	if (rc) {
		close(fd);
		return rc;
	}
	return finish(fd, off, out, err);
}

/* bytes of a flattened file's logical size that no record holds, at most:
 * producers leave small holes (a header's padding); a logical size far
 * beyond the records is damage, and would be read as that many zero bytes */
#define FLAT_HOLES_MAX (64u << 20)

int dp_spool_flat(const struct dp_view *flat, struct dp_view *out, struct dp_error *err)
{
	int fd, rc;
	uint64_t held = 0;
	for (size_t i = 0; i < flat->nsegs; i++)
		held += flat->segs[i].len;
	if (flat->vsize - held > FLAT_HOLES_MAX)
		return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET,
			       "flattened file: its records describe %llu bytes but hold only %llu",
			       (unsigned long long)flat->vsize, (unsigned long long)held);
	if ((rc = tmp_file(&fd, err)))
		return rc;
	/* the records at their offsets; bytes no record holds read as zero */
	for (size_t i = 0; i < flat->nsegs; i++) {
		const struct dp_seg *s = &flat->segs[i];
		if ((rc = write_at(fd, flat->map + s->foff, (size_t)s->len, s->voff, err))) {
			close(fd);
			return rc;
		}
	}
	if (ftruncate(fd, (off_t)flat->vsize) < 0) {
		close(fd);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "writing the temporary copy in %s: %s", tmp_dir(),
			       strerror(errno));
	}
	return finish(fd, flat->vsize, out, err);
}
