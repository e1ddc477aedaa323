/* Multi-buffer SHA1 through libipsec-mb (see sha1_mb.h).
 *
 * Facts this relies on (libipsec-mb 1.x): a job with hash_alg
 * IMB_AUTH_SHA_1 and cipher_mode IMB_CIPHER_NULL is a plain SHA1 (not HMAC)
 * of msg_len_to_hash_in_bytes bytes from src, written in full (20 bytes)
 * to auth_tag_output.  Such jobs go to the manager's out-of-order SHA1
 * lanes: 16 with AVX-512, 8 with AVX2, and with the SSE manager 2 SHA-NI
 * lanes (4 SSE lanes on CPUs without SHA-NI).  A lane only runs when the
 * manager holds as many jobs as it has lanes, or when it is flushed, so
 * pages are submitted in batches.  The job checks refuse messages longer
 * than 65534 bytes. */
#include "sha1_mb.h"

#include <stdlib.h>

#ifdef HAVE_IPSEC_MB
#include <pthread.h>
#include <intel-ipsec-mb.h>

struct dd_mb {
	IMB_MGR *mgr;
};

static uint64_t required(enum dd_sha1_impl impl)
{
	switch (impl) {
	case DD_SHA1_MB_AVX512: return IMB_CPUFLAGS_AVX512;
	case DD_SHA1_MB_AVX2: return IMB_CPUFLAGS_AVX2;
	case DD_SHA1_MB_SSE: return IMB_CPUFLAGS_SSE;
	default: return 0;
	}
}

/* What the CPU offers, asked once: each manager libipsec-mb allocates is
 * a large structure it clears, which cost a few milliseconds a call. */
static uint64_t cpu_features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static void features_init(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	cpu_features = m ? m->features : 0;
	free_mb_mgr(m);
}

static uint64_t features(void)
{
	pthread_once(&features_once, features_init);
	return cpu_features;
}

int dd_mb_supported(enum dd_sha1_impl impl)
{
	uint64_t need = required(impl);
	return need && (features() & need) == need;
}

unsigned dd_mb_lanes(enum dd_sha1_impl impl)
{
	switch (impl) {
	case DD_SHA1_MB_AVX512: return 16;
	case DD_SHA1_MB_AVX2: return 8;
	case DD_SHA1_MB_SSE: return (features() & IMB_FEATURE_SHANI) ? 2 : 4;
	default: return 0;
	}
}

const char *dd_mb_detail(enum dd_sha1_impl impl)
{
	if (impl == DD_SHA1_MB_SSE && (features() & IMB_FEATURE_SHANI))
		return "sha-ni";
	return NULL;
}

struct dd_mb *dd_mb_new(enum dd_sha1_impl impl)
{
	if (!dd_mb_supported(impl))
		return NULL;
	struct dd_mb *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->mgr = alloc_mb_mgr(0);
	if (!m->mgr) {
		free(m);
		return NULL;
	}
	switch (impl) {
	case DD_SHA1_MB_AVX512: init_mb_mgr_avx512(m->mgr); break;
	case DD_SHA1_MB_AVX2: init_mb_mgr_avx2(m->mgr); break;
	default: init_mb_mgr_sse(m->mgr); break;
	}
	if (imb_get_errno(m->mgr) != 0) {
		dd_mb_free(m);
		return NULL;
	}
	return m;
}

void dd_mb_free(struct dd_mb *m)
{
	if (!m)
		return;
	free_mb_mgr(m->mgr);
	free(m);
}

/* A job the manager hands back: 1 if it completed, 0 if it failed. */
static int done_ok(const IMB_JOB *job) { return job->status == IMB_STATUS_COMPLETED; }

int dd_mb_hash(struct dd_mb *m, const uint8_t *const *bufs, size_t n, size_t len, uint8_t (*out)[DD_DIGEST])
{
	IMB_MGR *mgr = m->mgr;
	size_t done = 0;
	int bad = len > DD_MB_MAX_LEN;
	for (size_t i = 0; i < n && !bad; i++) {
		IMB_JOB *job = IMB_GET_NEXT_JOB(mgr);
		job->cipher_mode = IMB_CIPHER_NULL;
		job->cipher_direction = IMB_DIR_ENCRYPT;
		job->chain_order = IMB_ORDER_HASH_CIPHER;
		job->hash_alg = IMB_AUTH_SHA_1;
		job->src = bufs[i];
		job->dst = NULL;
		job->cipher_start_src_offset_in_bytes = 0;
		job->msg_len_to_cipher_in_bytes = 0;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = len;
		job->auth_tag_output = out[i];
		job->auth_tag_output_len_in_bytes = DD_DIGEST;
		for (job = IMB_SUBMIT_JOB(mgr); job; job = IMB_GET_COMPLETED_JOB(mgr)) {
			bad |= !done_ok(job);
			done++;
		}
	}
	IMB_JOB *job;
	while ((job = IMB_FLUSH_JOB(mgr)) != NULL) {
		bad |= !done_ok(job);
		done++;
	}
	return bad || done != n ? -1 : 0;
}

#else /* no libipsec-mb in this build */

int dd_mb_supported(enum dd_sha1_impl impl)
{
	(void)impl;
	return 0;
}
unsigned dd_mb_lanes(enum dd_sha1_impl impl)
{
	(void)impl;
	return 0;
}
const char *dd_mb_detail(enum dd_sha1_impl impl)
{
	(void)impl;
	return NULL;
}
struct dd_mb *dd_mb_new(enum dd_sha1_impl impl)
{
	(void)impl;
	return NULL;
}
void dd_mb_free(struct dd_mb *m) { (void)m; }
int dd_mb_hash(struct dd_mb *m, const uint8_t *const *bufs, size_t n, size_t len, uint8_t (*out)[DD_DIGEST])
{
	(void)m, (void)bufs, (void)n, (void)len, (void)out;
	return -1;
}
#endif
