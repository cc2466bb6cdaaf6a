#include "util/copy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <cpuid.h>
#include <immintrin.h>

#define CACHE_LINE 64

/* CPUID leaf 7, subleaf 0: EBX bit 23 says the CPU has CLFLUSHOPT. */
#define CPUID_EBX_CLFLUSHOPT (1u << 23)

/*
 * Whether the CPU has CLFLUSHOPT, which unlike CLFLUSH is not ordered
 * against the streaming stores around it (the copy's closing SFENCE
 * orders both). Asked once.
 */
static bool has_clflushopt(void) {
	static int known = -1;
	if (known < 0) {
		unsigned int a, b, c, d;
		known = __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 &&
			(b & CPUID_EBX_CLFLUSHOPT) != 0;
	}
	return known == 1;
}

static int chosen_flush = -1; // a wcp_copy_flush, or -1 for the CPU's best

/* Whether copy_stream_evict drops lines with CLFLUSHOPT. */
static bool use_clflushopt(void) {
	if (chosen_flush >= 0) {
		return chosen_flush == WCP_COPY_CLFLUSHOPT;
	}
	return has_clflushopt();
}

/* Writes the line holding p back to memory and drops it from every cache. */
static inline void evict_line(const uint8_t *p, bool opt) {
	if (opt) {
		// The assembler knows the instruction whatever the compiler targets.
		__asm__ volatile("clflushopt %0" : : "m"(*(const volatile uint8_t *)p) : "memory");
	} else {
		_mm_clflush(p);
	}
}

/* evict_line for each line of [from, to). */
static void evict_lines(const uint8_t *from, const uint8_t *to, bool opt) {
	const uint8_t *line = (const uint8_t *)((uintptr_t)from & ~(uintptr_t)(CACHE_LINE - 1));
	for (; line < to; line += CACHE_LINE) {
		evict_line(line, opt);
	}
}

/*
 * Copies `blocks` blocks of 64 bytes to a 32-byte aligned d with streaming
 * stores; with `evict`, drops each source line once it has been read whole
 * (the one that s starts in: the line after it is the next block's first).
 */
typedef void copy_blocks_fn(uint8_t *d, const uint8_t *s, size_t blocks, bool evict, bool opt);

static void blocks_sse2(uint8_t *d, const uint8_t *s, size_t blocks, bool evict, bool opt) {
	for (size_t i = 0; i < blocks; i++, s += 64, d += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
		_mm_stream_si128((__m128i *)(void *)d, a);
		_mm_stream_si128((__m128i *)(void *)(d + 16), b);
		_mm_stream_si128((__m128i *)(void *)(d + 32), c);
		_mm_stream_si128((__m128i *)(void *)(d + 48), e);
		if (evict) {
			evict_line(s, opt);
		}
	}
}

__attribute__((target("avx2"))) static void blocks_avx2(
	uint8_t *d, const uint8_t *s, size_t blocks, bool evict, bool opt) {
	for (size_t i = 0; i < blocks; i++, s += 64, d += 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
		_mm256_stream_si256((__m256i *)(void *)d, a);
		_mm256_stream_si256((__m256i *)(void *)(d + 32), b);
		if (evict) {
			evict_line(s, opt);
		}
	}
}

static copy_blocks_fn *chosen_blocks;

static bool has_avx2(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

/*
 * The block copy this CPU runs best: 32-byte moves where it has AVX2 (the
 * moves are AVX, but CPUs with AVX alone split them in two), 16-byte ones
 * otherwise. Chosen once.
 */
static copy_blocks_fn *pick_blocks(void) {
	if (chosen_blocks == NULL) {
		chosen_blocks = has_avx2() ? blocks_avx2 : blocks_sse2;
	}
	return chosen_blocks;
}

bool copy_select(enum wcp_copy_isa isa) {
	if (isa == WCP_COPY_AVX2 && !has_avx2()) {
		return false;
	}
	chosen_blocks = isa == WCP_COPY_AVX2 ? blocks_avx2 : blocks_sse2;
	return true;
}

bool copy_select_flush(enum wcp_copy_flush flush) {
	if (flush == WCP_COPY_CLFLUSHOPT && !has_clflushopt()) {
		return false;
	}
	chosen_flush = (int)flush;
	return true;
}

static void *stream(void *dst, const void *src, size_t size, bool evict) {
	uint8_t *d = dst;
	const uint8_t *s = src;
	const uint8_t *end = s + size;
	bool opt = evict && use_clflushopt();
	// Streaming stores need aligned destinations: 32 bytes for AVX2's.
	size_t head = (32 - ((uintptr_t)d & 31)) & 31;
	if (head > size) {
		head = size;
	}
	memcpy(d, s, head);
	d += head;
	s += head;
	size -= head;
	size_t blocks = size / 64;
	pick_blocks()(d, s, blocks, evict, opt);
	d += blocks * 64;
	s += blocks * 64;
	size -= blocks * 64;
	memcpy(d, s, size);
	if (evict) {
		// The tail, and the head last: its line is usually the first
		// block's, which would otherwise be fetched again.
		evict_lines(s, end, opt);
		if (head > 0) {
			evict_lines(src, (const uint8_t *)src + head, opt);
		}
	}
	// Streaming stores are weakly ordered: they are visible before whatever
	// tells the host the buffer is ready.
	_mm_sfence();
	return dst;
}

void *copy_stream(void *dst, const void *src, size_t size) {
	return stream(dst, src, size, false);
}

void *copy_stream_evict(void *dst, const void *src, size_t size) {
	return stream(dst, src, size, true);
}

#else

bool copy_select(enum wcp_copy_isa isa) {
	(void)isa;
	return false;
}

bool copy_select_flush(enum wcp_copy_flush flush) {
	(void)flush;
	return false;
}

void *copy_stream(void *dst, const void *src, size_t size) {
	return memcpy(dst, src, size);
}

void *copy_stream_evict(void *dst, const void *src, size_t size) {
	return memcpy(dst, src, size);
}

#endif
