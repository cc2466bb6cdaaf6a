#ifndef WCP_UTIL_COPY_H
#define WCP_UTIL_COPY_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Below this many bytes in one go, a copy's destination is best left in the
 * caches (the compositor reads a small update soon). From it on, the copy
 * writes around them: a frame of several MiB only evicts what the client
 * and the proxy are about to use, and writing whole lines straight to
 * memory spares reading each destination line first.
 */
#define WCP_COPY_STREAM_MIN (1u << 20)

/**
 * memcpy whose stores bypass the caches where the CPU can: on x86, with
 * 32-byte moves where the CPU has AVX2 and 16-byte ones (SSE2) otherwise;
 * memcpy elsewhere.
 */
void *copy_stream(void *dst, const void *src, size_t size);

/**
 * copy_stream that also drops each source line from every cache once it is
 * read (CLFLUSHOPT, or CLFLUSH where the CPU lacks it; a plain memcpy
 * outside x86). For a source that a
 * process on a CPU sharing none of our caches is about to write again: our
 * copies of its lines would have to be taken back one by one as it writes
 * (coherence traffic that, measured, costs the writer more than fetching
 * the lines from memory), so they go back to memory with the copy instead.
 */
void *copy_stream_evict(void *dst, const void *src, size_t size);

/** The instruction sets copy_stream can move blocks with. */
enum wcp_copy_isa {
	WCP_COPY_SSE2,
	WCP_COPY_AVX2,
};

/**
 * Makes copy_stream and copy_stream_evict use `isa` from now on; false,
 * changing nothing, where the CPU lacks it (or outside x86). Without it
 * they take the widest the CPU has; the tests use it to run both.
 */
bool copy_select(enum wcp_copy_isa isa);

/** The instructions copy_stream_evict can drop a line with. */
enum wcp_copy_flush {
	WCP_COPY_CLFLUSH,
	WCP_COPY_CLFLUSHOPT,
};

/**
 * Makes copy_stream_evict drop lines with `flush` from now on; false,
 * changing nothing, where the CPU lacks it (or outside x86). Without it
 * the copy takes CLFLUSHOPT where the CPU has it; the tests use it to run
 * both.
 */
bool copy_select_flush(enum wcp_copy_flush flush);

/** When a large copy from a client's memory evicts what it reads. */
enum wcp_copy_evict {
	WCP_COPY_EVICT_AUTO = 0, // the client ran on a CPU not known to share our last-level cache
	WCP_COPY_EVICT_OTHER_CPU, // the client ran on any CPU but ours
	WCP_COPY_EVICT_NEVER,
};

/** Whether copy_stream_evict evicts here (1) or is a plain memcpy (0). */
#if defined(__SSE2__)
#define WCP_COPY_EVICTS 1
#else
#define WCP_COPY_EVICTS 0
#endif

#endif
