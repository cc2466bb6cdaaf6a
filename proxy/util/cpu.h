#ifndef WCP_UTIL_CPU_H
#define WCP_UTIL_CPU_H

#include <stdbool.h>

/**
 * Where processes run: which CPU a process last ran on, and which CPUs
 * share their last-level cache. A large copy from a client's buffer
 * depends on both (copy.h, copy_stream_evict).
 */

/** Which CPUs share a last-level cache, as sysfs describes it. */
struct wcp_cpu_caches {
	int count; // entries in group
	int *group; // per CPU: the lowest CPU sharing its last-level cache; -1 unknown
};

/**
 * Reads `cpu_dir` (/sys/devices/system/cpu: cpuN/cache/indexM/{level,
 * shared_cpu_list}). CPUs without a description are unknown; a machine
 * that describes none (some VMs) gives an empty table. False only when out
 * of memory.
 */
bool cpu_caches_init(struct wcp_cpu_caches *caches, const char *cpu_dir);

/** Frees the table; it is then empty. */
void cpu_caches_finish(struct wcp_cpu_caches *caches);

/** Whether a and b are known to share their last-level cache (the same CPU does). */
bool cpu_caches_shared(const struct wcp_cpu_caches *caches, int a, int b);

/**
 * The CPU a task last ran on, read from its /proc/PID/stat (an open fd,
 * read again each time); -1 when that fails.
 */
int cpu_of_task(int stat_fd);

/**
 * The two lowest CPUs this process may run on (its affinity), into cpus[0]
 * and cpus[1]; -1 for each it does not have. False if the affinity cannot
 * be read.
 */
bool cpu_first_allowed(int cpus[2]);

/** The "processor" field of the text of a /proc/PID/stat; -1 when it has none. */
int cpu_parse_stat(const char *text);

#endif
