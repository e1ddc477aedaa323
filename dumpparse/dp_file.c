/*
 * The file layer, the bottom of the byte stack: a path or standard input,
 * opened, mapped when it is a regular file, read with read/pread.
 */
#include "dp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

/* ---- reading around the page cache ----
 *
 * A file that is not in the page cache is read faster with O_DIRECT: the
 * disk's data lands in the reader's buffer, and the kernel neither fills the
 * page cache nor copies out of it (on this kind of virtual disk a direct
 * `dd` with 1 MiB blocks read 2-3 times faster than `cat`).  A file that
 * is cached is read through the cache, which is then the fastest.  Which
 * pages are cached is asked with cachestat(2) (Linux 6.5), else with
 * mincore(2) on the file's mapping. */

#define PROBE_SPAN (1u << 20)           /* bytes asked about at once */
#define PROBE_SAMPLES 16u               /* spans sampled to judge a file */
#define DIRECT_MIN_FILE (16ull << 20)   /* smaller files: never direct */

#if !defined(SYS_cachestat) && defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define SYS_cachestat 451 /* the same number on both; headers older than the call lack it */
#endif

/* pages of [off, off+len) (len <= PROBE_SPAN) in the page cache, -1 when
 * no call can tell.  Without cachestat and without a mapping, a read of the
 * range's last byte that must not wait tells all or none. */
static int64_t cached_pages(int fd, const uint8_t *map, uint64_t off, uint64_t len)
{
#ifdef SYS_cachestat
	struct {
		uint64_t off, len;
	} range = { off, len };
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
	} cs;
	if (syscall(SYS_cachestat, fd, &range, &cs, 0) == 0)
		return (int64_t)cs.nr_cache;
#else
	(void)fd;
#endif
	uint64_t first = off / 4096, last = (off + len - 1) / 4096;
	if (!map) {
		char c;
		struct iovec v = { &c, 1 };
		ssize_t n = preadv2(fd, &v, 1, (off_t)(off + len - 1), RWF_NOWAIT);
		return n == 1 ? (int64_t)(last - first + 1) : n < 0 && errno == EAGAIN ? 0 : -1;
	}
	unsigned char vec[PROBE_SPAN / 4096 + 1];
	uint64_t a = off & ~4095ull;
	size_t n = (size_t)((off + len - a + 4095) / 4096);
	if (mincore((void *)(uintptr_t)(map + a), (size_t)(off + len - a), vec) != 0)
		return -1;
	int64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += vec[i] & 1;
	return c;
}

int dp_file_cached(int fd, const uint8_t *map, uint64_t off, uint64_t len)
{
	int rc = 1;
	for (uint64_t done = 0; done < len; done += PROBE_SPAN) {
		uint64_t n = len - done < PROBE_SPAN ? len - done : PROBE_SPAN;
		uint64_t first = (off + done) / 4096, last = (off + done + n - 1) / 4096;
		int64_t c = cached_pages(fd, map, off + done, n);
		if (c < 0)
			rc = -1;
		else if ((uint64_t)c < last - first + 1)
			return 0;
	}
	return rc;
}

int dp_file_direct(int fd, const uint8_t *map, uint64_t size, enum dp_direct mode)
{
	if (fd < 0 || mode == DP_DIRECT_NEVER || (mode == DP_DIRECT_AUTO && size < DIRECT_MIN_FILE))
		return -1;
	if (mode == DP_DIRECT_AUTO) {
		/* spans spread over the file: mostly cached -> read through the cache */
		uint64_t pages = 0, cached = 0;
		for (unsigned i = 0; i < PROBE_SAMPLES; i++) {
			uint64_t off = (size - PROBE_SPAN) / (PROBE_SAMPLES - 1) * i & ~4095ull;
			int64_t c = cached_pages(fd, map, off, PROBE_SPAN);
			if (c < 0)
				return -1;
			cached += (uint64_t)c;
			pages += PROBE_SPAN / 4096;
		}
		if (cached * 2 >= pages)
			return -1;
	}
	/* a second open file description: O_DIRECT set on a duplicate would
	 * change the first one too */
	char name[40];
	struct stat a, b;
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	int dfd = open(name, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (fstat(fd, &a) || fstat(dfd, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(dfd);
		return -1;
	}
	return dfd;
}

bool dp_file_pread_direct(int dfd, uint64_t off, size_t len, uint8_t *buf)
{
	/* the disk's blocks: whole aligned blocks, into an aligned buffer */
	uint64_t a = off & ~(uint64_t)(DP_DIRECT_ALIGN - 1);
	size_t need = (size_t)(off + len - a);
	size_t want = (need + DP_DIRECT_ALIGN - 1) & ~(size_t)(DP_DIRECT_ALIGN - 1);
	size_t done = 0;
	while (done < need) {
		ssize_t n = pread(dfd, buf + done, want - done, (off_t)(a + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (done + (size_t)n < need && (size_t)n % DP_DIRECT_ALIGN))
			return false; /* refused, or the file ends early: the caller reads it through the cache */
		done += (size_t)n;
	}
	return true;
}
