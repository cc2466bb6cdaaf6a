#include "util/copy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

#define CACHE_LINE 64

/* Writes each line of [from, to) back to memory and drops it from every cache. */
static void evict_lines(const uint8_t *from, const uint8_t *to) {
	const uint8_t *line = (const uint8_t *)((uintptr_t)from & ~(uintptr_t)(CACHE_LINE - 1));
	for (; line < to; line += CACHE_LINE) {
		_mm_clflush(line);
	}
}

static void *stream(void *dst, const void *src, size_t size, bool evict) {
	uint8_t *d = dst;
	const uint8_t *s = src;
	const uint8_t *end = s + size;
	// Streaming stores need 16-byte aligned destinations.
	size_t head = (16 - ((uintptr_t)d & 15)) & 15;
	if (head > size) {
		head = size;
	}
	memcpy(d, s, head);
	d += head;
	s += head;
	size -= head;
	while (size >= 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
		_mm_stream_si128((__m128i *)(void *)d, a);
		_mm_stream_si128((__m128i *)(void *)(d + 16), b);
		_mm_stream_si128((__m128i *)(void *)(d + 32), c);
		_mm_stream_si128((__m128i *)(void *)(d + 48), e);
		if (evict) {
			// The line s starts in has been read whole; the one after it
			// is next round's first.
			_mm_clflush(s);
		}
		s += 64;
		d += 64;
		size -= 64;
	}
	memcpy(d, s, size);
	if (evict) {
		// The tail, and the head last: its line is usually the loop's
		// first, which would otherwise be fetched again.
		evict_lines(s, end);
		evict_lines(src, (const uint8_t *)src + head);
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

void *copy_stream(void *dst, const void *src, size_t size) {
	return memcpy(dst, src, size);
}

void *copy_stream_evict(void *dst, const void *src, size_t size) {
	return memcpy(dst, src, size);
}

#endif
