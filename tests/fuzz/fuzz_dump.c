/*
 * libFuzzer target: any bytes as a dump file.  Opens them through the
 * normal probe list (from a memory file, so the mapped path is used) and
 * reads every unit; also once as a forced raw image.  Nothing may crash,
 * hang, leak or read out of bounds; errors are fine.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dumpparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const char *path, const struct dp_options *o)
{
	struct dp_dump *d;
	struct dp_error err;
	if (dp_open(path, o, &d, &err))
		return;
	const struct dp_info *in = dp_get_info(d);
	struct dp_reader *r;
	if (dp_reader_open(d, &r, &err) == DP_OK) {
		struct dp_chunk c;
		volatile uint8_t sink = 0;
		size_t n = 0;
		while (dp_read_next(r, &c, &err) == DP_OK && n++ < 10000) {
			if (c.data)
				for (size_t i = 0; i < c.npages; i++)
					sink ^= c.data[i * in->page_size] ^ c.data[(i + 1) * in->page_size - 1];
			if (c.state)
				for (size_t i = 0; i < c.npages; i++)
					sink ^= c.state[i];
			if (c.pfns)
				sink ^= (uint8_t)c.pfns[c.npages - 1];
		}
		(void)sink;
		dp_reader_close(r);
	}
	dp_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct dp_options o;
	memset(&o, 0, sizeof o);
	read_all(path, &o);
	o.format = "raw";
	read_all(path, &o);
	close(fd);
	return 0;
}
