#ifndef WCP_BENCH_SAMPLE_H
#define WCP_BENCH_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * What the benchmark reads about the processes it measures: CPU time (the
 * process's CPU-time clock, in nanoseconds), time spent runnable but waiting
 * for a CPU (the run-queue delay of /proc/PID/schedstat) and memory
 * (/proc/PID/status).
 */

/** Memory of one process, in KiB, as /proc/PID/status reports it. */
struct wcp_memory {
	uint64_t vm_hwm, vm_rss; // peak and current resident set
	uint64_t rss_anon, rss_file, rss_shmem; // the parts of vm_rss
};

/** A process's times so far, in seconds. */
struct wcp_times {
	double cpu; // user + system
	double wait; // woken, or preempted, and waiting for a CPU; NAN without schedstat
};

/**
 * The times of one process, all its threads together; zeroes if it is gone
 * (the wait stays NAN without schedstat).
 */
struct wcp_times sample_process_times(pid_t pid);

/**
 * The times of every live process of the process group `pgid` together,
 * except `exclude` (0 for none). A process that has exited no longer counts.
 */
struct wcp_times sample_group_times(pid_t pgid, pid_t exclude);

/** a - b, field by field. */
struct wcp_times sample_times_sub(struct wcp_times a, struct wcp_times b);

/** The median of `count` values, which it sorts; NaN when there are none. */
double sample_median(double *values, size_t count);

/** Reads the memory of `pid`; false if it is gone. */
bool sample_memory(pid_t pid, struct wcp_memory *out);

#endif
