#ifndef WCP_BENCH_BANDWIDTH_H
#define WCP_BENCH_BANDWIDTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host buffers a surface keeps (swapchain.c), which the measured copies rotate through. */
#define WCP_BENCH_DESTINATIONS 3

/* Frames timed in each placement of a handoff, after as many unmeasured ones. */
#define WCP_HANDOFF_FRAMES 24

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

/**
 * What a frame's trip through another process costs on this machine, in ms
 * (medians): a writer draws a whole frame (as the benchmark client does),
 * then a reader copies it as the proxy does (copy_stream into one of three
 * buffers), and so on. `draw_alone_ms` is the drawing with no reader;
 * `draw_same_ms`/`copy_same_ms` with the two on one CPU, `draw_apart_ms`/
 * `copy_apart_ms` on two, and `draw_evicted_ms`/`copy_evicted_ms` on two
 * with the reader evicting each line it has read (copy_stream_evict, as the
 * proxy copies for a client on another CPU). Apart and evicted are 0 when
 * only one CPU is allowed, evicted also where copy_stream_evict cannot
 * evict; every time is 0 when nothing could be measured.
 */
struct wcp_handoff {
	int cpus[2]; // the two CPUs used
	bool cpus_share_cache; // sysfs says they share a last-level cache
	double draw_alone_ms;
	double draw_same_ms, copy_same_ms;
	double draw_apart_ms, copy_apart_ms;
	double draw_evicted_ms, copy_evicted_ms;
};

/** Measures the above for a frame of width x height 32-bit pixels. */
void bandwidth_handoff(int32_t width, int32_t height, struct wcp_handoff *out);

#endif
