/*
 * memload — the synthetic write-rate workload of the KSM-vs-TPS study
 * (Algorithm 1): fill a buffer so that every page is identical, then every
 * interval write num_writes = pages · wr random bytes with the value they
 * already hold.  The content never changes; only how often pages are
 * written (and so un-merged by copy-on-write) does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PAGE 4096u
#define VERSION SAMEPAGE_VERSION /* from the file VERSION, through the Makefile */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: memload [OPTION]...\n"
		"Synthetic memory write-rate load (KSM-vs-TPS study, Algorithm 1).\n"
		"Fills a buffer so that all its 4 KiB pages are identical (byte i holds i mod 256),\n"
		"then every INTERVAL writes pages*RATE random bytes with the value they already hold.\n"
		"\n"
		"  -s, --size=BYTES       buffer size; suffixes K, M, G (powers of 1024); default 1G\n"
		"  -w, --wr=RATE          write rate 0..1 as a fraction (1/8) or decimal (0.125); default 0\n"
		"  -i, --interval=SECONDS time between write bursts, fractions allowed; default 10\n"
		"  -d, --duration=SECONDS stop after this long; default: run until SIGINT/SIGTERM\n"
		"      --seed=N           seed of the position generator; default: from time and pid\n"
		"  -m, --mergeable        madvise(MADV_MERGEABLE) the buffer so host KSM scans it\n"
		"  -q, --quiet            print only the fill line\n"
		"  -h, --help             this text\n"
		"  -V, --version          version\n"
		"\n"
		"Output: one line when the buffer is filled, then one line per cycle.\n"
		"Exit status: 0 done, 1 runtime failure, 2 bad usage.\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "memload: invalid %s '%s'\n", what, arg);
	fprintf(stderr, "Try 'memload --help' for more information.\n");
	return 2;
}

/* RATE as p/q (exact) or a decimal; must lie in [0, 1]. */
static bool parse_rate(const char *s, uint64_t *num, uint64_t *den)
{
	const char *slash = strchr(s, '/');
	char *end;
	if (slash) {
		if (*s < '0' || *s > '9' || slash[1] < '0' || slash[1] > '9')
			return false;
		errno = 0;
		unsigned long long p = strtoull(s, &end, 10);
		if (end != slash || errno)
			return false;
		unsigned long long q = strtoull(slash + 1, &end, 10);
		if (*end || errno || q == 0 || p > q || q > (1ull << 32))
			return false;
		*num = p;
		*den = q;
		return true;
	}
	/* decimal: digits [. digits], kept exact as a fraction of a power of ten */
	uint64_t p = 0, q = 1;
	const char *c = s;
	bool digits = false;
	while (*c >= '0' && *c <= '9') {
		p = p * 10 + (uint64_t)(*c++ - '0');
		digits = true;
		if (p > 1)
			return false;
	}
	if (*c == '.') {
		c++;
		while (*c >= '0' && *c <= '9') {
			if (q >= 1000000000000ull)
				return false;
			p = p * 10 + (uint64_t)(*c++ - '0');
			q *= 10;
			digits = true;
		}
	}
	if (*c || !digits || p > q)
		return false;
	*num = p;
	*den = q;
	return true;
}

/* xorshift64*: fast, good enough for uniform write positions */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* uniform in [0, n) without modulo bias */
static uint64_t rng_below(uint64_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	uint64_t r;
	do
		r = rng_next();
	while (r >= lim);
	return r % n;
}

static void sleep_for(double s)
{
	struct timespec ts;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (!stop_flag && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	uint64_t size = 1ull << 30, wr_num = 0, wr_den = 1, seed = 0;
	double interval = 10, duration = -1;
	bool mergeable = false, quiet = false, have_seed = false;
	const char *wr_text = "0";

	static const struct option opts[] = {
		{ "size", required_argument, 0, 's' },     { "wr", required_argument, 0, 'w' },
		{ "interval", required_argument, 0, 'i' }, { "duration", required_argument, 0, 'd' },
		{ "seed", required_argument, 0, 'S' },     { "mergeable", no_argument, 0, 'm' },
		{ "quiet", no_argument, 0, 'q' },          { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },        { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "s:w:i:d:mqhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!cm_parse_size(optarg, &size))
				return bad("size", optarg);
			break;
		case 'w':
			if (!parse_rate(optarg, &wr_num, &wr_den))
				return bad("write rate (a fraction like 1/8 or a decimal from 0 to 1)", optarg);
			wr_text = optarg;
			break;
		case 'i':
			if (!cm_parse_seconds(optarg, &interval, 0) || interval == 0)
				return bad("interval", optarg);
			break;
		case 'd':
			if (!cm_parse_seconds(optarg, &duration, 0))
				return bad("duration", optarg);
			break;
		case 'S': {
			char *end;
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (*optarg == 0 || *end || errno || *optarg == '-')
				return bad("seed", optarg);
			have_seed = true;
			break;
		}
		case 'm': mergeable = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("memload (samepage) " VERSION "\n"); return 0;
		default:
			fprintf(stderr, "Try 'memload --help' for more information.\n");
			return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (size % PAGE) {
		fprintf(stderr, "memload: size %" PRIu64 " is not a multiple of %u\n", size, PAGE);
		return 2;
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) * 6364136223846793005ULL ^ (uint64_t)getpid();
	rng_state = seed ? seed : 0x9E3779B97F4A7C15ULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	double t0 = cm_now();
	uint8_t *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "memload: cannot allocate %" PRIu64 " bytes: %s\n", size, strerror(errno));
		return 1;
	}
	if (mergeable && madvise(buf, size, MADV_MERGEABLE) < 0) {
		fprintf(stderr, "memload: madvise(MADV_MERGEABLE): %s\n", strerror(errno));
		return 1;
	}
	/* buffer[i] = i mod 256: every page gets the same 4096 bytes */
	uint8_t page[PAGE];
	for (unsigned i = 0; i < PAGE; i++)
		page[i] = (uint8_t)i;
	uint64_t pages = size / PAGE;
	for (uint64_t p = 0; p < pages && !stop_flag; p++)
		memcpy(buf + p * PAGE, page, PAGE);

	/* num_writes = pages · wr, exact for fractions */
	unsigned __int128 prod = (unsigned __int128)pages * wr_num;
	uint64_t num_writes = (uint64_t)(prod / wr_den);
	printf("memload: filled %" PRIu64 " MiB (%" PRIu64 " pages) in %.2f s; wr=%s: %" PRIu64
	       " writes every %g s; seed %" PRIu64 "%s\n",
	       size >> 20, pages, cm_now() - t0, wr_text, num_writes, interval, seed,
	       mergeable ? "; mergeable" : "");

	double start = cm_now();
	for (uint64_t cycle = 1; !stop_flag; cycle++) {
		if (duration >= 0 && cm_now() - start >= duration)
			break;
		for (uint64_t w = 0; w < num_writes; w++) {
			uint64_t pos = rng_below(size);
			((volatile uint8_t *)buf)[pos] = (uint8_t)(pos % 256);
		}
		if (!quiet)
			printf("memload: cycle %" PRIu64 ": %" PRIu64 " writes, elapsed %.1f s\n", cycle,
			       num_writes, cm_now() - start);
		double wait = interval;
		if (duration >= 0 && duration - (cm_now() - start) < wait)
			wait = duration - (cm_now() - start);
		if (wait > 0)
			sleep_for(wait);
	}
	munmap(buf, size);
	return 0;
}
