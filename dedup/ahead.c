/*
 * Read-ahead for cold dumps.  Workers take units at once from several
 * threads, so the kernel's own read-ahead sees reads that are only roughly
 * in order and keeps its window small: reading a dump that is not in the
 * page cache ran at a fraction of `cat`'s speed.  A thread of the engine
 * asks the kernel (POSIX_FADV_WILLNEED) for the file in steps of AHEAD_STEP,
 * at most AHEAD_WINDOW in front of the workers, so that the disk always has
 * requests queued; steps already in the page cache are skipped.  Files that are not regular (pipes) get no thread.
 */
#include "dedup.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AHEAD_STEP (8ull << 20)
#define AHEAD_WINDOW (256ull << 20)

struct dd_ahead {
	int fd;
	uint64_t size, total;
	const atomic_uint_fast64_t *done;
	atomic_bool stop;
	pthread_t tid;
};

static void *ahead_loop(void *arg)
{
	struct dd_ahead *a = arg;
	uint64_t pos = 0;
	while (!atomic_load(&a->stop) && pos < a->size) {
		/* where the workers are, as a file offset */
		uint64_t done = atomic_load(a->done);
		uint64_t at = a->total ? (uint64_t)((double)done / (double)a->total * (double)a->size) : 0;
		if (pos < at)
			pos = at - at % AHEAD_STEP;
		if (pos >= at + AHEAD_WINDOW) {
			struct timespec ts = { 0, 4000000 }; /* 4 ms: the window lasts far longer */
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t len = a->size - pos < AHEAD_STEP ? a->size - pos : AHEAD_STEP;
		/* a step whose last page is cached is taken as cached, so a
		 * warm file costs one call per step */
		if (dp_file_cached(a->fd, NULL, pos + len - 1, 1) != 1)
			posix_fadvise(a->fd, (off_t)pos, (off_t)len, POSIX_FADV_WILLNEED);
		pos += len;
	}
	return NULL;
}

struct dd_ahead *dd_ahead_start(const char *path, const atomic_uint_fast64_t *done, uint64_t total)
{
	struct stat st;
	/* never open a FIFO (that could wait for a writer): regular files only */
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct dd_ahead *a = calloc(1, sizeof *a);
	if (!a || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		free(a);
		return NULL;
	}
	a->fd = fd;
	a->size = (uint64_t)st.st_size;
	a->done = done;
	a->total = total;
	if (pthread_create(&a->tid, NULL, ahead_loop, a) != 0) {
		close(fd);
		free(a);
		return NULL;
	}
	return a;
}

void dd_ahead_stop(struct dd_ahead *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, true);
	pthread_join(a->tid, NULL);
	close(a->fd);
	free(a);
}
