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

/**
 * The same copy as the proxy makes it: another process has just drawn the
 * whole source, as a client fills its buffer before committing, and the
 * copies go to three destinations in turn, as to a surface's host buffers;
 * all of it shared memory. The source comes from the other core's caches or
 * from memory. Best of several copies; 0 when it cannot be measured.
 */
double bandwidth_memcpy_fresh(size_t bytes);

#endif
