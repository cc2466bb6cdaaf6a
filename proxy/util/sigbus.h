#ifndef WCP_UTIL_SIGBUS_H
#define WCP_UTIL_SIGBUS_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Copies from memory a client shares with us (an shm pool), surviving the
 * client shrinking the file under the mapping: such a read raises SIGBUS,
 * which here makes the copy fail instead of killing the process.
 */

/** Installs the SIGBUS handler; once, at start-up. */
bool sigbus_init(void);

/** One copy of a set of rows. */
struct wcp_copy_rows {
	unsigned char *dst;
	const unsigned char *src; // in the client's memory
	size_t dst_stride, src_stride;
	size_t row_bytes, rows;
};

/**
 * Performs the copies; false when the client's memory went away under
 * them. With `evict`, copies large enough to stream also drop what they
 * read from the caches (copy_stream_evict), and *evicted (may be NULL)
 * grows by their bytes.
 */
bool sigbus_copy_rows(
	const struct wcp_copy_rows *copies, size_t count, bool evict, size_t *evicted);

#endif
