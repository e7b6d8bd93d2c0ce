/*
 * scrypt-mix.h: Salsa20/8 (on SSE2 vectors), BlockMix and ROMix, included
 * by scrypt.c once for each instruction set it builds them for:
 *
 *   MIX_NAME(f)          the name of function f in this set
 *   MIX_ATTR             the functions' attributes (a target, or nothing)
 *   MIX_ROTXOR(a, t, s)  a ^= t rotated left by s (SSE2 only)
 *
 * Without SSE2, scrypt.c defines MIX_NAME(salsa20_8_xor) itself (plain
 * words) and only BlockMix and ROMix come from here.
 */

#if defined(__SSE2__)
/* Salsa20/8 of B xor X into B (both 64 bytes, diagonal order). */
static MIX_ATTR inline void
MIX_NAME(salsa20_8_xor)(__m128i B[4], const __m128i X[4])
{
	__m128i X0, X1, X2, X3, T;
	int i;

	X0 = B[0] = _mm_xor_si128(B[0], X[0]);
	X1 = B[1] = _mm_xor_si128(B[1], X[1]);
	X2 = B[2] = _mm_xor_si128(B[2], X[2]);
	X3 = B[3] = _mm_xor_si128(B[3], X[3]);
#define R(a, b, c, s)							\
	T = _mm_add_epi32(b, c);					\
	MIX_ROTXOR(a, T, s)
	for (i = 0; i < 8; i += 2) {
		/* Columns. */
		R(X1, X0, X3, 7);
		R(X2, X1, X0, 9);
		R(X3, X2, X1, 13);
		R(X0, X3, X2, 18);
		X1 = _mm_shuffle_epi32(X1, 0x93);
		X2 = _mm_shuffle_epi32(X2, 0x4E);
		X3 = _mm_shuffle_epi32(X3, 0x39);
		/* Rows. */
		R(X3, X0, X1, 7);
		R(X2, X3, X0, 9);
		R(X1, X2, X3, 13);
		R(X0, X1, X2, 18);
		X1 = _mm_shuffle_epi32(X1, 0x39);
		X2 = _mm_shuffle_epi32(X2, 0x4E);
		X3 = _mm_shuffle_epi32(X3, 0x93);
	}
#undef R
	B[0] = _mm_add_epi32(B[0], X0);
	B[1] = _mm_add_epi32(B[1], X1);
	B[2] = _mm_add_epi32(B[2], X2);
	B[3] = _mm_add_epi32(B[3], X3);
}
#endif

/*
 * BlockMix (RFC 7914 section 4) of the 2r blocks of in, each first xored
 * with the same block of v when v is not NULL (ROMix's second loop), into
 * out: the even-numbered results first, then the odd ones.  out must not
 * overlap in or v.
 */
static MIX_ATTR inline void
MIX_NAME(blockmix)(const block_t *in, const block_t *v, block_t *out,
    size_t r)
{
	block_t X, T;
	size_t i;

	memcpy(X, in[2 * r - 1], sizeof(X));
	if (v != NULL)
		BLOCK_XOR_COPY(X, v[2 * r - 1]);
	for (i = 0; i < 2 * r; i++) {
		memcpy(T, in[i], sizeof(T));
		if (v != NULL)
			BLOCK_XOR_COPY(T, v[i]);
		MIX_NAME(salsa20_8_xor)(X, T);
		memcpy(out[(i & 1) * r + i / 2], X, sizeof(X));
	}
}

/*
 * ROMix (RFC 7914 section 5) of the 128 * r bytes at buf, with V (N
 * blocks of 2r) and XY (4r blocks) as scratch.
 */
static MIX_ATTR void
MIX_NAME(romix)(uint8_t *buf, size_t r, uint32_t n, block_t *V, block_t *XY)
{
	block_t *X = XY, *Y = XY + 2 * r;
	uint32_t i, j;

	romix_load(X, buf, r);
	/* V_0 = X, V_i+1 = BlockMix(V_i), X = BlockMix(V_N-1): mixed in
	 * place, without copies. */
	memcpy(V, X, 128 * r);
	for (i = 0; i < n - 1; i++)
		MIX_NAME(blockmix)(V + (size_t)i * 2 * r, NULL,
		    V + (size_t)(i + 1) * 2 * r, r);
	MIX_NAME(blockmix)(V + (size_t)(n - 1) * 2 * r, NULL, X, r);
	/* X = BlockMix(X xor V_j), j = Integerify(X) mod N. */
	for (i = 0; i < n; i += 2) {
		j = integerify(X, r) & (n - 1);
		MIX_NAME(blockmix)(X, V + (size_t)j * 2 * r, Y, r);
		j = integerify(Y, r) & (n - 1);
		MIX_NAME(blockmix)(Y, V + (size_t)j * 2 * r, X, r);
	}
	romix_store(buf, X, r);
}
