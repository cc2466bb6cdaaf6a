#ifndef WCP_UTIL_COPY_H
#define WCP_UTIL_COPY_H

#include <stddef.h>

/**
 * Below this many bytes in one go, a copy's destination is best left in the
 * caches (the compositor reads a small update soon). From it on, the copy
 * writes around them: a frame of several MiB only evicts what the client
 * and the proxy are about to use, and writing whole lines straight to
 * memory spares reading each destination line first.
 */
#define WCP_COPY_STREAM_MIN (1u << 20)

/** memcpy whose stores bypass the caches where the CPU can (SSE2); memcpy elsewhere. */
void *copy_stream(void *dst, const void *src, size_t size);

#endif
