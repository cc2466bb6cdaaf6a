#ifndef WCP_BENCH_WAKEUP_H
#define WCP_BENCH_WAKEUP_H

#include <stdbool.h>
#include <stdint.h>

/* How long the reader's CPU has had nothing to run before each measured wake-up. */
#define WCP_WAKEUP_GAPS 6
extern const uint32_t wcp_wakeup_gap_us[WCP_WAKEUP_GAPS];

/* Wake-ups timed at each gap, after a tenth as many unmeasured ones. */
#define WCP_WAKEUP_COUNT 200

/**
 * What waking a process costs on this machine (medians): a writer writes one
 * byte into a pipe whose reader sleeps in read(), as each process of a relay
 * wakes the next one. `write_us` is how long that write takes the writer,
 * `latency_us` how long after the write began the reader runs, both in µs;
 * the CPUs are where the two ran (-1 when the series was not measured).
 */
struct wcp_wake_series {
	int writer_cpu, reader_cpu;
	double write_us, latency_us;
};

/**
 * `same` has the reader on the writer's CPU; `apart[i]` on the other CPU,
 * which has had nothing to run for wcp_wakeup_gap_us[i] before each write.
 * Every series is unmeasured when one failed, `apart` also when only one CPU
 * is allowed.
 */
struct wcp_wakeup {
	struct wcp_wake_series same, apart[WCP_WAKEUP_GAPS];
};

/** Measures the above. */
void wakeup_measure(struct wcp_wakeup *out);

#endif
