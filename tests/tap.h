/* Minimal TAP producer for the C unit tests (run by tests/run). */
#ifndef SAMEPAGE_TAP_H
#define SAMEPAGE_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...)                                                                              \
	do {                                                                                       \
		int ok_ = !!(cond);                                                                \
		printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_) {                                                                        \
			tap_fail++;                                                                \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
		}                                                                                  \
	} while (0)

#define is_u64(got, want, ...)                                                                     \
	do {                                                                                       \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                              \
		ok(g_ == w_, __VA_ARGS__);                                                         \
		if (g_ != w_)                                                                      \
			printf("#   got %" PRIu64 ", want %" PRIu64 "\n", g_, w_);                     \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		int e_ = g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_;                                \
		ok(e_, __VA_ARGS__);                                                               \
		if (!e_)                                                                           \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");   \
	} while (0)

/* the tests' pseudo-random numbers: xorshift64 on the caller's state */
static inline uint64_t tap_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
