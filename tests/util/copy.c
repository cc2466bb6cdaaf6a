/*
 * The shm copy: copy_stream and copy_stream_evict against memcpy at every
 * alignment, and sigbus_copy_rows on its paths (cached, streaming, and
 * streaming with eviction), including a client memory that shrinks under
 * a large copy, after which no vector register's upper half is left in
 * use; all of it with every block copy the CPU has (SSE2, AVX2), and the
 * evicting copies with every line flush it has (CLFLUSH, CLFLUSHOPT).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "test.h"
#include "util/copy.h"
#include "util/sigbus.h"

static void fill(uint8_t *p, size_t size, uint32_t seed) {
	for (size_t i = 0; i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void check_alignments(void *(*copy)(void *, const void *, size_t)) {
	const size_t max = 300, span = max + 64;
	uint8_t *src = malloc(span), *dst = malloc(span), *want = malloc(span);
	test_assert(src != NULL && dst != NULL && want != NULL);
	fill(src, span, 1);
	for (size_t s_off = 0; s_off < 32; s_off++) {
		for (size_t d_off = 0; d_off < 32; d_off++) {
			for (size_t size = 0; size <= max; size += (size < 140 ? 1 : 37)) {
				memset(dst, 0xa5, span);
				memset(want, 0xa5, span);
				memcpy(want + d_off, src + s_off, size);
				test_assert(copy(dst + d_off, src + s_off, size) == dst + d_off);
				if (memcmp(dst, want, span) != 0) {
					test_fail("%zu bytes from offset %zu to offset %zu differ",
						size, s_off, d_off);
				}
			}
		}
	}
	free(src);
	free(dst);
	free(want);
}

/*
 * Runs check with each block copy this CPU has (SSE2, AVX2), or once with
 * whatever copy_stream is where it has neither.
 */
static void for_each_isa(void (*check)(void)) {
	static const enum wcp_copy_isa isas[] = {WCP_COPY_SSE2, WCP_COPY_AVX2};
	static const char *const names[] = {"SSE2", "AVX2"};
	int ran = 0;
#if defined(__SSE2__)
	// Every x86 build has the SSE2 copy.
	test_assert(copy_select(WCP_COPY_SSE2));
#endif
	for (size_t i = 0; i < 2; i++) {
		if (!copy_select(isas[i])) {
			test_log("this build or CPU has no %s copy: it is not run here", names[i]);
			continue;
		}
		check();
		ran++;
	}
	if (ran == 0) {
		check();
	}
}

static void (*each_flush_check)(void);

/*
 * Runs each_flush_check with each line flush this CPU has (CLFLUSH,
 * CLFLUSHOPT), or once with the copy's own choice where it has neither.
 */
static void each_flush(void) {
	static const enum wcp_copy_flush flushes[] = {WCP_COPY_CLFLUSH, WCP_COPY_CLFLUSHOPT};
	static const char *const names[] = {"CLFLUSH", "CLFLUSHOPT"};
	int ran = 0;
	for (size_t i = 0; i < 2; i++) {
		if (!copy_select_flush(flushes[i])) {
			test_log("this build or CPU has no %s: it is not run here", names[i]);
			continue;
		}
		each_flush_check();
		ran++;
	}
	if (ran == 0) {
		each_flush_check();
	}
}

/* for_each_isa, and within it each line flush: for the evicting copies. */
static void for_each_isa_and_flush(void (*check)(void)) {
	each_flush_check = check;
	for_each_isa(each_flush);
}

static void check_stream_alignments(void) {
	check_alignments(copy_stream);
}

static void check_evict_alignments(void) {
	check_alignments(copy_stream_evict);
}

TEST(stream_copy_matches_memcpy_at_every_alignment) {
	for_each_isa(check_stream_alignments);
}

TEST(evicting_copy_matches_memcpy_at_every_alignment) {
	for_each_isa_and_flush(check_evict_alignments);
}

/*
 * Copies a w x h window of 4-byte pixels between two strided images, with
 * or without eviction, and checks what was reported evicted.
 */
static void check_rows_evicting(
	size_t width, size_t height, size_t x, size_t y, size_t w, size_t h, bool evict) {
	size_t stride = width * 4;
	size_t size = stride * height;
	uint8_t *src = malloc(size), *dst = malloc(size), *want = malloc(size);
	test_assert(src != NULL && dst != NULL && want != NULL);
	fill(src, size, (uint32_t)(width + h));
	memset(dst, 0x5a, size);
	memset(want, 0x5a, size);
	for (size_t row = y; row < y + h; row++) {
		memcpy(want + row * stride + x * 4, src + row * stride + x * 4, w * 4);
	}
	struct wcp_copy_rows rows = {
		.dst = dst + y * stride + x * 4,
		.src = src + y * stride + x * 4,
		.dst_stride = stride,
		.src_stride = stride,
		.row_bytes = w * 4,
		.rows = h,
	};
	size_t evicted = 1;
	test_assert(sigbus_copy_rows(&rows, 1, evict, &evicted));
	test_assert(memcmp(dst, want, size) == 0);
	// Only a streaming copy evicts, and only when asked.
	bool streamed = w * 4 * h >= WCP_COPY_STREAM_MIN;
	test_assert(evicted == 1 + (evict && streamed ? w * 4 * h : 0));
	free(src);
	free(dst);
	free(want);
}

static void check_rows(size_t width, size_t height, size_t x, size_t y, size_t w, size_t h) {
	check_rows_evicting(width, height, x, y, w, h, false);
	check_rows_evicting(width, height, x, y, w, h, true);
}

static void check_all_rows(void) {
	// Small damage (cached stores), a band over the streaming threshold, whole
	// frames (one block), and odd widths that leave unaligned row starts.
	check_rows(64, 64, 3, 5, 17, 9);
	check_rows(1920, 1080, 0, 100, 1920, 200);
	check_rows(1920, 1080, 0, 0, 1920, 1080);
	check_rows(1921, 700, 1, 1, 1919, 698);
	test_assert(1920u * 200u * 4u >= WCP_COPY_STREAM_MIN);
}

TEST(rows_are_copied_and_nothing_else) {
	test_assert(sigbus_init());
	for_each_isa_and_flush(check_all_rows);
}

/*
 * Whether the upper halves of the vector registers are in use (XINUSE bit
 * 2, from XGETBV 1); false where the CPU or the kernel cannot tell.
 */
static bool vector_upper_in_use(void) {
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;
	// CPUID 1 ECX bit 27: the kernel enabled XGETBV (OSXSAVE); CPUID 0xD.1
	// EAX bit 2: XGETBV takes ECX = 1.
	if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & (1u << 27)) == 0 ||
		__get_cpuid_count(0xd, 1, &a, &b, &c, &d) == 0 || (a & (1u << 2)) == 0) {
		return false;
	}
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1u));
	return (lo & (1u << 2)) != 0;
#else
	return false;
#endif
}

/* A pool shrinking under a large copy, with or without eviction. */
static void check_shrinking(bool evict) {
	const size_t size = 4u * WCP_COPY_STREAM_MIN;
	int fd = memfd_create("copy-test", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	uint8_t *src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	test_assert(src != MAP_FAILED);
	fill(src, size, 7);
	uint8_t *dst = malloc(size);
	test_assert(dst != NULL);
	struct wcp_copy_rows all = {.dst = dst, .src = src, .row_bytes = size, .rows = 1};
	test_assert(sigbus_copy_rows(&all, 1, evict, NULL));
	test_assert(memcmp(dst, src, size) == 0);
	// As a client that shrinks its pool: the mapping's end is gone.
	test_assert(ftruncate(fd, (off_t)(size / 2)) == 0);
	test_assert(!sigbus_copy_rows(&all, 1, evict, NULL));
	// The jump out of the vector loop skipped its VZEROUPPER; the kernel
	// ran the handler with the registers in their initial state.
	test_assert(!vector_upper_in_use());
	// And the process carries on: the first half still copies.
	all.row_bytes = size / 2;
	test_assert(sigbus_copy_rows(&all, 1, evict, NULL));
	test_assert(memcmp(dst, src, size / 2) == 0);
	munmap(src, size);
	close(fd);
	free(dst);
}

static void check_shrinking_both(void) {
	check_shrinking(false);
	check_shrinking(true);
}

TEST(memory_that_shrinks_under_a_large_copy_fails_it) {
	test_assert(sigbus_init());
	for_each_isa_and_flush(check_shrinking_both);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
