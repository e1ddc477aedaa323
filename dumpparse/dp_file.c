/*
 * The file layer, the bottom of the byte stack: a path or standard input,
 * opened, mapped when it is a regular file, read with read/pread.
 */
#include "dp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int dp_file_open(const char *path, int *fdp, uint64_t *size, bool *regular, struct dp_error *err)
{
	struct stat st;
	int fd;
	*fdp = -1;
	if (strcmp(path, "-") == 0) {
		fd = dup(0);
		if (fd < 0)
			return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "standard input: %s", strerror(errno));
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot open: %s", strerror(errno));
	}
	*fdp = fd;
	if (fstat(fd, &st) < 0)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "stat: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "is a directory, not a dump file");
	*regular = S_ISREG(st.st_mode);
	*size = *regular ? (uint64_t)st.st_size : 0;
	return DP_OK;
}

int dp_file_map(int fd, uint64_t size, const uint8_t **map, struct dp_error *err)
{
	if (size > SIZE_MAX)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "file too large to map");
	void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot map: %s", strerror(errno));
	madvise(p, (size_t)size, MADV_SEQUENTIAL);
	*map = p;
	return DP_OK;
}

ssize_t dp_file_read(int fd, uint8_t *buf, size_t len, struct dp_error *err)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			dp_fail(err, DP_E_IO, DP_NO_OFFSET, "read: %s", strerror(errno));
		return n;
	}
}

int dp_file_pread(int fd, uint64_t size, uint64_t off, uint8_t *buf, size_t len, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end) || end > size)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)off, "page data: %zu bytes at offset %llu lie past the end",
			       len, (unsigned long long)off);
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dp_fail(err, n < 0 ? DP_E_IO : DP_E_TRUNCATED, (int64_t)(off + done), "page data: %s",
				       n < 0 ? strerror(errno) : "the file shrank while it was read");
		done += (size_t)n;
	}
	return DP_OK;
}

void dp_src_prefault(const uint8_t *p, size_t len)
{
	/* Map a range's page-cache pages in one call instead of taking a
	 * fault every few pages; older kernels refuse the advice, and then
	 * the faults happen as before. */
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	size_t l = len + (size_t)((uintptr_t)p - a);
	madvise((void *)a, l, MADV_POPULATE_READ);
}

void dp_src_release(const uint8_t *p, size_t len)
{
	/* Once read, mapped pages need not stay mapped: without this a
	 * process that read a 64 GiB dump would show 64 GiB resident.  Only
	 * whole pages inside the range are dropped (neighbours may be in use). */
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t b = ((uintptr_t)p + len) & ~(uintptr_t)4095;
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}
