/* Whole small files (sysfs, /proc) read in one go: the lowest layer of
 * ksm-sample, used by the KSM, /proc and libvirt modules alike. */
#include "ks.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

ssize_t ks_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got + 1 < size) {
		ssize_t r = read(fd, buf + got, size - 1 - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}
