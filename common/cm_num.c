/* Numbers of common.h: the monotonic clock, sizes, numbers and durations.  Kept free of
 * other dependencies: memload links it statically for guests. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double cm_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool cm_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *cm_size_text(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;
	while (u < 3 && bytes >> (10 * (u + 2)) != 0)
		u++;
	if (u < 0)
		snprintf(buf, len, "%llu byte%s", (unsigned long long)bytes, bytes == 1 ? "" : "s");
	else if (bytes % (1ull << (10 * (u + 1))) == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes >> (10 * (u + 1))), unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)(1ull << (10 * (u + 1))), unit[u]);
	return buf;
}

bool cm_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (*s == '-' || *s == 0)
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool cm_parse_seconds(const char *s, double *out, double min)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == 0 || *end || errno || !(v >= min) || v > 1e9)
		return false;
	*out = v;
	return true;
}
