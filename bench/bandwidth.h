#ifndef WCP_BENCH_BANDWIDTH_H
#define WCP_BENCH_BANDWIDTH_H

#include <stddef.h>

/**
 * This machine's single-core memcpy bandwidth in bytes per second, copying
 * `bytes` between two buffers that were written beforehand (so no page
 * faults are timed): the best of several copies. 0 when the buffers cannot
 * be allocated.
 */
double bandwidth_memcpy(size_t bytes);

#endif
