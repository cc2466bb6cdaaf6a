#ifndef WCP_BENCH_SAMPLE_H
#define WCP_BENCH_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * What the benchmark reads from /proc about the processes it measures: CPU
 * time (utime + stime of /proc/PID/stat) and memory (/proc/PID/status).
 */

/** Memory of one process, in KiB, as /proc/PID/status reports it. */
struct wcp_memory {
	uint64_t vm_hwm, vm_rss; // peak and current resident set
	uint64_t rss_anon, rss_file, rss_shmem; // the parts of vm_rss
};

/**
 * CPU seconds (user + system) used so far by every live process of the
 * process group `pgid`, except `exclude` (0 for none). A process that has
 * exited no longer counts.
 */
double sample_group_cpu(pid_t pgid, pid_t exclude);

/** CPU seconds (user + system) used so far by one process; 0 if it is gone. */
double sample_process_cpu(pid_t pid);

/** The median of `count` values, which it sorts; NaN when there are none. */
double sample_median(double *values, size_t count);

/** Reads the memory of `pid`; false if it is gone. */
bool sample_memory(pid_t pid, struct wcp_memory *out);

#endif
