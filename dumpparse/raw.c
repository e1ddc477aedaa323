/*
 * Raw flat physical memory: QEMU pmemsave, VMware .vmem, vmss2core -M,
 * LiME padded.  The file has no header; byte 0 is guest-physical address
 * raw_base (default 0).  Chosen with --format=raw, or by the extensions
 * .raw .vmem .mem .pmem (also under .gz/.zst); never guessed from content.
 * A last page that the file covers only partly is read with zeros after
 * the end of the file and counted as partial.
 */
#include "dp_int.h"

#include <string.h>

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && strncmp(s + n - k, suf, k) == 0;
}

static enum dp_probe raw_probe(const uint8_t *head, size_t len, const char *path)
{
	(void)head;
	(void)len;
	size_t n = strlen(path);
	if (ends_with(path, n, ".gz"))
		n -= 3;
	else if (ends_with(path, n, ".zst"))
		n -= 4;
	static const char *const ext[] = { ".raw", ".vmem", ".mem", ".pmem" };
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
		if (ends_with(path, n, ext[i]))
			return DP_PROBE_YES;
	return DP_PROBE_NO;
}

static int raw_open(struct dp_dump *d, struct dp_error *err)
{
	uint32_t ps = d->opt.page_size ? d->opt.page_size : 4096;
	uint64_t base = d->opt.raw_base;
	d->info.page_size = ps;
	if (base % ps)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
			       "raw base address 0x%llx is not a multiple of the page size %u",
			       (unsigned long long)base, ps);
	dp_set_variant(d, "raw physical memory image, byte 0 = guest-physical 0x%llx",
		       (unsigned long long)base);
	dp_add_detail(d, "base", "0x%llx", (unsigned long long)base);
	if (!dp_src_random(d))
		return DP_OK; /* length unknown until the end: read_next walks it */
	if (d->src.size == 0)
		return dp_fail(err, DP_E_CORRUPT, 0, "raw image is empty");
	int rc = dp_map_add(d, base, d->src.size, 0, err);
	return rc ? rc : dp_map_finish(d, err);
}

/* Streams: consecutive units of DP_UNIT_PAGES frames until the end. */
static int raw_read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	if (d->mapped) {
		if (d->next_unit >= d->nunits)
			return DP_END;
		return dp_read_unit(r, d->next_unit++, c, err);
	}
	uint32_t ps = d->info.page_size;
	size_t want = (size_t)DP_UNIT_PAGES * ps;
	uint8_t *buf = dp_reader_buf(r, want, err);
	if (!buf)
		return err->status;
	uint64_t off = d->next_unit * (uint64_t)want;
	size_t got = 0;
	/* read page by page so that the end of the stream is found exactly */
	while (got < want) {
		int rc = dp_src_read(d, off + got, buf + got, ps, "raw image", err);
		if (rc == DP_E_TRUNCATED) {
			uint64_t end = d->src.size; /* known now */
			if (end == UINT64_MAX)
				return rc;
			size_t part = end > off + got ? (size_t)(end - (off + got)) : 0;
			if (part) {
				memset(buf + got + part, 0, ps - part);
				got += ps;
				d->info.partial_pages++;
			}
			break;
		}
		if (rc)
			return rc;
		got += ps;
	}
	if (got == 0) {
		if (off == 0)
			return dp_fail(err, DP_E_CORRUPT, 0, "raw image is empty");
		return DP_END;
	}
	d->next_unit++;
	c->pfn = d->opt.raw_base / ps + off / ps;
	c->npages = got / ps;
	c->data = buf;
	c->uniform = DP_PAGE_DATA;
	c->bytes = got;
	d->info.pages += c->npages;
	d->info.data_bytes += got;
	return DP_OK;
}

const struct dp_format_ops raw_ops = {
	.name = "raw",
	.description = "raw physical memory image (QEMU pmemsave, VMware .vmem, vmss2core -M)",
	.probe = raw_probe,
	.open = raw_open,
	.read_next = raw_read_next,
};
