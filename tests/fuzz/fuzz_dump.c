/*
 * libFuzzer target: any bytes as a dump file.  Opens them through the
 * normal probe list (from a memory file, so the mapped path is used) and
 * reads every unit; also once as a forced raw image.  Nothing may crash,
 * hang, leak or read out of bounds; errors are fine.
 *
 * Built with -DFZ_FORMAT='"NAME"' it is the target of one format back end:
 * the bytes are opened with dp_options.format = NAME only, so the fuzzer
 * spends its time inside that parser (mk/fuzz.mk builds one per format).
 *
 * fz_run() and fz_read_as() also describe what happened (accepted with
 * these counts, or refused with this message), for the corpus replay
 * (tests/unit/test_fuzz_replay.c), which compares it with the outcome
 * recorded for each corpus file.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dumpparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reader that delivers more units than this is stopped (a hang guard). */
#define FZ_MAX_UNITS 10000

/* Frame states of a read, by content: a data page of zero bytes counts as
 * zero, like a page the format marks zero.  The digest is the sum of a hash
 * of (address space, frame, state, bytes of non-zero pages) over every
 * frame, so it does not depend on the order or grouping of the units. */
struct fz_counts {
	uint64_t pages, absent, zero, digest;
};

static uint64_t fz_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void fz_count(struct fz_counts *k, const struct dp_chunk *c, size_t i, uint32_t ps)
{
	static const uint8_t zpage[1 << 16];
	enum dp_page_state st = c->state ? (enum dp_page_state)c->state[i] : c->uniform;
	const uint8_t *p = c->data ? c->data + i * (size_t)ps : NULL;
	uint64_t pfn = c->pfns ? c->pfns[i] : c->pfn + i;
	uint8_t tag = st == DP_PAGE_ABSENT ? 2 : 1;
	if (st == DP_PAGE_ZERO || (st == DP_PAGE_DATA && p && ps <= sizeof zpage && memcmp(p, zpage, ps) == 0))
		tag = 0;
	uint64_t h = fz_hash(0xcbf29ce484222325ull, &tag, 1);
	h = fz_hash(h, &c->space, sizeof c->space);
	h = fz_hash(h, &pfn, sizeof pfn);
	if (tag == 1 && st == DP_PAGE_DATA && p)
		h = fz_hash(h, p, ps);
	k->digest += h;
	if (tag == 2)
		k->absent++;
	else
		k->pages++;
	if (tag == 0)
		k->zero++;
}

/* Opens and reads PATH; writes one line describing the outcome into
 * out (may be NULL): "accepted FORMAT pages=N absent=N zero=N digest=X",
 * "refused STATUS: TEXT" (dp_open failed), "read-error STATUS after N
 * pages: TEXT" (a unit failed) or "cut after N units" (FZ_MAX_UNITS).
 * name is the file name errors are given under. */
static void read_all(const char *path, const char *name, const struct dp_options *o, char *out, size_t outlen)
{
	struct dp_dump *d;
	struct dp_error err;
	char text[700];
	if (dp_open(path, o, &d, &err)) {
		if (out)
			snprintf(out, outlen, "refused %s: %s", dp_status_name(err.status),
				 dp_error_text(&err, name, text, sizeof text));
		return;
	}
	const struct dp_info *in = dp_get_info(d);
	struct dp_reader *r;
	struct fz_counts k = {0, 0, 0, 0};
	int rc = dp_reader_open(d, &r, &err);
	size_t n = 0;
	if (rc == DP_OK) {
		struct dp_chunk c;
		volatile uint8_t sink = 0;
		while (n < FZ_MAX_UNITS && (rc = dp_read_next(r, &c, &err)) == DP_OK) {
			n++;
			if (c.data)
				for (size_t i = 0; i < c.npages; i++)
					sink ^= c.data[i * in->page_size] ^ c.data[(i + 1) * in->page_size - 1];
			if (c.state)
				for (size_t i = 0; i < c.npages; i++)
					sink ^= c.state[i];
			if (c.pfns)
				sink ^= (uint8_t)c.pfns[c.npages - 1];
			if (out)
				for (size_t i = 0; i < c.npages; i++)
					fz_count(&k, &c, i, in->page_size);
		}
		(void)sink;
		dp_reader_close(r);
	}
	if (out) {
		if (rc == DP_OK)
			snprintf(out, outlen, "cut after %zu units", n);
		else if (rc == DP_END)
			snprintf(out, outlen, "accepted %s pages=%llu absent=%llu zero=%llu digest=%016llx", in->format,
				 (unsigned long long)k.pages, (unsigned long long)k.absent, (unsigned long long)k.zero,
				 (unsigned long long)k.digest);
		else
			snprintf(out, outlen, "read-error %s after %llu pages: %s", dp_status_name(err.status),
				 (unsigned long long)(k.pages + k.absent), dp_error_text(&err, name, text, sizeof text));
	}
	dp_close(d);
}

/* The bytes as a memory file; its /proc path in path.  Returns the file
 * descriptor, or -1 when no memory file could be made. */
static int fz_memfile(const uint8_t *data, size_t size, char *path, size_t plen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t done = 0; done < size;) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

/* The bytes read with one back end (format: its dp_format_name(); NULL:
 * the probe list); the outcome goes to out when not NULL.  Returns -1 when
 * no memory file could be made. */
static int fz_read_as(const uint8_t *data, size_t size, const char *name, const char *format, char *out,
		      size_t outlen)
{
	char path[64];
	int fd = fz_memfile(data, size, path, sizeof path);
	if (fd < 0)
		return -1;
	struct dp_options o;
	memset(&o, 0, sizeof o);
	o.format = format;
	read_all(path, name, &o, out, outlen);
	close(fd);
	return 0;
}

/* The bytes as a file, read through the probe list (auto) and as a forced
 * raw image; the outcomes go to out_auto and out_raw when not NULL.
 * Returns -1 when no memory file could be made. */
static int fz_run(const uint8_t *data, size_t size, const char *name, char *out_auto, char *out_raw, size_t outlen)
{
	if (fz_read_as(data, size, name, NULL, out_auto, outlen))
		return -1;
	return fz_read_as(data, size, name, "raw", out_raw, outlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FZ_FORMAT
	fz_read_as(data, size, "input", FZ_FORMAT, NULL, 0);
#else
	fz_run(data, size, "input", NULL, NULL, 0);
#endif
	return 0;
}
