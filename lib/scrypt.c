/*
 * scrypt.c: scrypt (RFC 7914), the passphrase KDF of age.
 *
 * libgcrypt has scrypt, but takes its 128 * r * N bytes of scratch memory
 * (256 MiB at age's work factor 18) from malloc in 4 KiB pages: on a
 * virtual machine the page faults alone cost as much as the hashing.
 * Here the scratch area is one mapping asking for transparent huge pages,
 * kept out of core dumps and wiped before it is returned.  The mixing
 * follows the RFC; on x86-64 Salsa20/8 runs on SSE2 vectors, with each
 * 64-byte block's words stored in the diagonal order those vectors want
 * (Colin Percival's layout), else on plain 32-bit words.  Tested against
 * the RFC 7914 vectors and the age test vectors.
 */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* An AVX-512VL ROMix too, chosen at run time, where the compiler can
 * build one (COFFER_SCRYPT_NO_AVX512: not, to test the SSE2 one). */
#if defined(__SSE2__) && defined(__x86_64__) && defined(__GNUC__) && \
    !defined(COFFER_SCRYPT_NO_AVX512)
#define SCRYPT_AVX512 1
#include <immintrin.h>
#endif

#include "crypto.h"
#include "scrypt.h"
#include "warnp.h"

static inline uint32_t
le32dec(const uint8_t *p)
{

	return ((uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

static inline void
le32enc(uint8_t *p, uint32_t x)
{

	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
}

/*
 * PBKDF2-HMAC-SHA-256 with one iteration (all scrypt needs):
 * T_i = HMAC(pw, salt || INT(i)).  buf holds saltlen + 4 bytes.
 */
static int
pbkdf2_1(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
    uint8_t *buf, uint8_t *out, size_t outlen)
{
	uint8_t t[CRYPTO_SHA256_LEN];
	uint32_t i;
	size_t n;

	if (saltlen > 0)
		memcpy(buf, salt, saltlen);
	for (i = 1; outlen > 0; i++) {
		buf[saltlen] = (uint8_t)(i >> 24);
		buf[saltlen + 1] = (uint8_t)(i >> 16);
		buf[saltlen + 2] = (uint8_t)(i >> 8);
		buf[saltlen + 3] = (uint8_t)i;
		if (crypto_hmac_sha256(pw, pwlen, buf, saltlen + 4, t) != 0) {
			explicit_bzero(t, sizeof(t));
			return (-1);
		}
		n = outlen < sizeof(t) ? outlen : sizeof(t);
		memcpy(out, t, n);
		out += n;
		outlen -= n;
	}
	explicit_bzero(t, sizeof(t));
	return (0);
}

/* Which word of a 64-byte block is kept at position i: diagonal order
 * for the SSE2 Salsa20/8 (position i holds word 5i mod 16), natural
 * order for the portable one. */
#if defined(__SSE2__)
#define WORD_AT(i) (((i) * 5) & 15)
#else
#define WORD_AT(i) (i)
#endif

#if defined(__SSE2__)
typedef __m128i block_t[4];
#define BLOCK_XOR_COPY(d, s) do {					\
	(d)[0] = _mm_xor_si128((d)[0], (s)[0]);				\
	(d)[1] = _mm_xor_si128((d)[1], (s)[1]);				\
	(d)[2] = _mm_xor_si128((d)[2], (s)[2]);				\
	(d)[3] = _mm_xor_si128((d)[3], (s)[3]);				\
} while (0)
#else
#define ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))

/* Salsa20/8 of B xor X into B (16 words each, natural order). */
static inline void
salsa20_8_xor_port(uint32_t B[16], const uint32_t X[16])
{
	uint32_t x[16];
	int i;

	for (i = 0; i < 16; i++)
		x[i] = B[i] ^= X[i];
	for (i = 0; i < 8; i += 2) {
		x[4] ^= ROTL(x[0] + x[12], 7);  x[8] ^= ROTL(x[4] + x[0], 9);
		x[12] ^= ROTL(x[8] + x[4], 13); x[0] ^= ROTL(x[12] + x[8], 18);
		x[9] ^= ROTL(x[5] + x[1], 7);   x[13] ^= ROTL(x[9] + x[5], 9);
		x[1] ^= ROTL(x[13] + x[9], 13); x[5] ^= ROTL(x[1] + x[13], 18);
		x[14] ^= ROTL(x[10] + x[6], 7); x[2] ^= ROTL(x[14] + x[10], 9);
		x[6] ^= ROTL(x[2] + x[14], 13); x[10] ^= ROTL(x[6] + x[2], 18);
		x[3] ^= ROTL(x[15] + x[11], 7); x[7] ^= ROTL(x[3] + x[15], 9);
		x[11] ^= ROTL(x[7] + x[3], 13); x[15] ^= ROTL(x[11] + x[7], 18);
		x[1] ^= ROTL(x[0] + x[3], 7);   x[2] ^= ROTL(x[1] + x[0], 9);
		x[3] ^= ROTL(x[2] + x[1], 13);  x[0] ^= ROTL(x[3] + x[2], 18);
		x[6] ^= ROTL(x[5] + x[4], 7);   x[7] ^= ROTL(x[6] + x[5], 9);
		x[4] ^= ROTL(x[7] + x[6], 13);  x[5] ^= ROTL(x[4] + x[7], 18);
		x[11] ^= ROTL(x[10] + x[9], 7); x[8] ^= ROTL(x[11] + x[10], 9);
		x[9] ^= ROTL(x[8] + x[11], 13); x[10] ^= ROTL(x[9] + x[8], 18);
		x[12] ^= ROTL(x[15] + x[14], 7); x[13] ^= ROTL(x[12] + x[15], 9);
		x[14] ^= ROTL(x[13] + x[12], 13); x[15] ^= ROTL(x[14] + x[13], 18);
	}
	for (i = 0; i < 16; i++)
		B[i] += x[i];
}

typedef uint32_t block_t[16];
#define BLOCK_XOR_COPY(d, s) do {					\
	int k_;								\
	for (k_ = 0; k_ < 16; k_++)					\
		(d)[k_] ^= (s)[k_];					\
} while (0)
#endif

/* Integerify: the low 32 bits of the last block's first word (word 0
 * stays in place in either order). */
static inline uint32_t
integerify(const block_t *b, size_t r)
{

	return (((const uint32_t *)b[2 * r - 1])[0]);
}

/* The 128 * r bytes at buf into the words of X, in the mixing's order. */
static inline void
romix_load(block_t *X, const uint8_t *buf, size_t r)
{
	uint32_t *w;
	size_t b, k;

	for (b = 0; b < 2 * r; b++) {
		w = (uint32_t *)X[b];
		for (k = 0; k < 16; k++)
			w[k] = le32dec(buf + (b * 16 + WORD_AT(k)) * 4);
	}
}

/* The words of X back into the 128 * r bytes at buf. */
static inline void
romix_store(uint8_t *buf, const block_t *X, size_t r)
{
	const uint32_t *w;
	size_t b, k;

	for (b = 0; b < 2 * r; b++) {
		w = (const uint32_t *)X[b];
		for (k = 0; k < 16; k++)
			le32enc(buf + (b * 16 + WORD_AT(k)) * 4, w[k]);
	}
}

typedef void romix_fn(uint8_t *, size_t, uint32_t, block_t *, block_t *);

/*
 * ROMix keeps blocks of its state in locals (BlockMix's X and T), which a
 * wipe of the scratch mapping does not reach: after it, this overwrites
 * the stack below the caller's frame, where they were.
 */
static void __attribute__((noinline))
stack_wipe(void)
{
	volatile uint8_t buf[16384];

	explicit_bzero((void *)(uintptr_t)buf, sizeof(buf));
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

#define MIX_ATTR
#if defined(__SSE2__)
/* SSE2: a rotation is two shifts. */
#define MIX_NAME(f) f##_sse2
#define MIX_ROTXOR(a, t, s)						\
	a = _mm_xor_si128(a, _mm_slli_epi32(t, s));			\
	a = _mm_xor_si128(a, _mm_srli_epi32(t, 32 - (s)))
#else
#define MIX_NAME(f) f##_port
#endif
#include "scrypt-mix.h"
#undef MIX_NAME
#undef MIX_ATTR
#undef MIX_ROTXOR

#if defined(SCRYPT_AVX512)
/* AVX-512VL: one rotate instruction, a quarter less latency on the
 * Salsa20/8 chain, which is all scrypt's time. */
#define MIX_NAME(f) f##_avx512
#define MIX_ATTR __attribute__((target("avx512f,avx512vl")))
#define MIX_ROTXOR(a, t, s)						\
	a = _mm_xor_si128(a, _mm_rol_epi32(t, s))
#include "scrypt-mix.h"
#undef MIX_NAME
#undef MIX_ATTR
#undef MIX_ROTXOR
#endif

/* The ROMix for this processor. */
static romix_fn *
romix_pick(const char **name)
{

#if defined(SCRYPT_AVX512)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl")) {
		*name = "avx512";
		return (romix_avx512);
	}
#endif
#if defined(__SSE2__)
	*name = "sse2";
	return (romix_sse2);
#else
	*name = "portable";
	return (romix_port);
#endif
}

const char *
scrypt_impl(void)
{
	const char *name;

	(void)romix_pick(&name);
	return (name);
}

/*
 * Populating the scratch area.  A fresh huge page costs its zeroing, and
 * on a virtual machine whose host takes back freed memory the first touch
 * of each page costs far more (0.4-0.6 s for 256 MiB on the development
 * VMs, as much as the mixing).  ROMix's first loop writes V from the
 * bottom up, so while it faults in the pages it reaches, another thread
 * populates from the top down, in 2 MiB steps (MADV_POPULATE_WRITE holds
 * the mmap lock for its whole range, and would stall every other thread's
 * malloc).  The two meet near the middle; nothing is shared but the
 * mapping, and the helper is joined before the area is wiped.
 */
#define POPULATE_STEP ((size_t)2 << 20)
#define POPULATE_MIN ((size_t)16 << 20)

struct populate {
	uint8_t *base;
	size_t len;
};

static void *
populate_down(void *cookie)
{
#ifdef MADV_POPULATE_WRITE
	const struct populate *p = cookie;
	size_t end, off;

	/* Offsets at multiples of the step, so page aligned (base is). */
	for (end = p->len; end > 0; end = off) {
		off = (end - 1) / POPULATE_STEP * POPULATE_STEP;
		if (madvise(p->base + off, end - off,
		    MADV_POPULATE_WRITE) != 0)
			break;
	}
#else
	(void)cookie;
#endif
	return (NULL);
}

/* The processors this thread may run on (taskset, cpusets), at least 1. */
static long
populate_ncpu(void)
{
#ifdef CPU_COUNT
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return (CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1);
#endif
	return (sysconf(_SC_NPROCESSORS_ONLN));
}

/* 1 when a helper was started on *tid (join it), else 0 (populated on
 * this thread, in the same steps). */
static int
populate_start(pthread_t *tid, struct populate *p, uint8_t *area,
    size_t total)
{

	p->base = area;
	p->len = total;
	if (total >= POPULATE_MIN && populate_ncpu() > 1 &&
	    pthread_create(tid, NULL, populate_down, p) == 0)
		return (1);
	(void)populate_down(p);
	return (0);
}

int
scrypt_derive(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
    uint64_t n, unsigned r, unsigned p, void *out, size_t outlen)
{
	size_t blen, vlen, xylen, slen, total;
	uint8_t *area, *B, *S;
	block_t *V, *XY;
	romix_fn *romix;
	const char *impl;
	struct populate pop;
	pthread_t pop_tid;
	unsigned i;
	int rc = -1, pop_running;

	if (n < 2 || (n & (n - 1)) != 0 || n > ((uint64_t)1 << 22) ||
	    r < 1 || r > 32 || p < 1 || p > 1024 || outlen == 0 ||
	    outlen > 1024 || saltlen > 4096) {
		warn0("scrypt: parameters out of range");
		return (-1);
	}
	/* The mapping, at most 128 * r * (n + 2p + 2) + saltlen + 4 bytes,
	 * must fit a size_t (4 GiB does not on a 32-bit system). */
	if ((uint64_t)n + 2 * (uint64_t)p + 2 > (SIZE_MAX - saltlen - 4) /
	    (128 * (size_t)r)) {
		warn0("scrypt: %llu bytes of memory cannot be addressed here",
		    (unsigned long long)n * 128 * r);
		return (-1);
	}
	blen = (size_t)p * 128 * r;
	vlen = (size_t)n * 128 * r;
	xylen = (size_t)256 * r;
	slen = (saltlen > blen ? saltlen : blen) + 4;
	/* V first: the mapping is page aligned, and so is every block. */
	total = vlen + xylen + blen + slen;
	/*
	 * Huge pages are asked for before the first touch (afterwards only
	 * khugepaged would merge the 4 KiB pages): a tenth of the page
	 * faults' cost, and no TLB miss on most of ROMix's random reads of
	 * V.  Then the pages are populated (see populate_down), rather than
	 * one fault each.
	 */
	area = mmap(NULL, total, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		warnp("scrypt: cannot map %zu MiB", total >> 20);
		return (-1);
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(area, total, MADV_HUGEPAGE);
#endif
#ifdef MADV_DONTDUMP
	(void)madvise(area, total, MADV_DONTDUMP);
#endif
	pop_running = populate_start(&pop_tid, &pop, area, total);
	V = (block_t *)(void *)area;
	XY = (block_t *)(void *)(area + vlen);
	B = area + vlen + xylen;
	S = B + blen;

	if (pbkdf2_1(pw, pwlen, salt, saltlen, S, B, blen) != 0)
		goto done;
	romix = romix_pick(&impl);
	for (i = 0; i < p; i++)
		romix(B + (size_t)i * 128 * r, r, (uint32_t)n, V, XY);
	stack_wipe();
	if (pbkdf2_1(pw, pwlen, B, blen, S, out, outlen) != 0)
		goto done;
	rc = 0;
done:
	if (pop_running)
		pthread_join(pop_tid, NULL);
	if (rc != 0)
		explicit_bzero(out, outlen);
	explicit_bzero(area, total);
	munmap(area, total);
	return (rc);
}
