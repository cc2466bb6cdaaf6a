#include "util/copy.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

void *copy_stream(void *dst, const void *src, size_t size) {
	uint8_t *d = dst;
	const uint8_t *s = src;
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
		s += 64;
		d += 64;
		size -= 64;
	}
	memcpy(d, s, size);
	// Streaming stores are weakly ordered: they are visible before whatever
	// tells the host the buffer is ready.
	_mm_sfence();
	return dst;
}

#else

void *copy_stream(void *dst, const void *src, size_t size) {
	return memcpy(dst, src, size);
}

#endif
