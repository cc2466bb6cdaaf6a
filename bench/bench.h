#ifndef WCP_BENCH_BENCH_H
#define WCP_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bandwidth.h"
#include "path.h"
#include "sample.h"
#include "wakeup.h"

/** What the benchmark driver measures and what it found, shared by its parts. */

enum wcp_scenario_kind {
	WCP_SCENARIO_FRAMES, // shm frames, frames/s
	WCP_SCENARIO_ROUNDTRIP, // wl_display.sync alone, round trips/s
};

struct wcp_scenario {
	const char *name; // e.g. "1080p-full-sync"
	enum wcp_scenario_kind kind;
	int32_t output_width, output_height;
	int32_t window_width, window_height; // the same as the output: fullscreen
	const char *damage; // "full", "band" or "rects"
	const char *pacing; // "sync" or "frame"
	uint32_t clients;
};

/** One measurement of one scenario on one path. */
struct wcp_sample {
	bool ok;
	uint64_t frames; // acknowledged in the measured window, all clients together
	double elapsed_s, rate;
	double relay_cpu_s, emu_cpu_s, weston_cpu_s, client_cpu_s; // in the window
	// Time each spent waiting for a CPU in the window; NAN without schedstat.
	double relay_wait_s, emu_wait_s, weston_wait_s, client_wait_s;
	uint64_t damage_bytes; // per frame, as the client accounts it
	uint64_t copy_bytes; // per commit, as the proxy over cross-domain counts it; 0 elsewhere
	double copy_ms; // the time the proxy spent copying them, per commit; NAN elsewhere
	bool has_memory;
	struct wcp_memory proxy_memory; // the proxy's, at the end of the window
};

/** The proxy's memory with idle clients. */
struct wcp_memory_result {
	bool measured;
	struct wcp_memory idle, one, many; // no client, one idle client, `many_clients`
	uint32_t many_clients;
	struct wcp_memory emu_idle; // the emulator's with no client (emu path)
};

/** Most repetitions of one measurement. */
#define WCP_BENCH_MAX_REPS 64

struct wcp_settings {
	uint32_t reps;
	uint32_t warmup_ms, duration_ms;
	uint32_t idle_clients; // extra idle clients for the memory measurement
	const char *command; // how the run was started, for the report
};

/** The machine, for the report. */
struct wcp_machine {
	char cpu[128];
	long cores;
	char kernel[128];
	char memory[64];
	char load[64]; // /proc/loadavg when the run started
	char weston[64], waypipe[64], proxy[64];
	const char *libwayland, *build_type;
};

struct wcp_results {
	struct wcp_settings settings;
	struct wcp_machine machine;
	const struct wcp_scenario *scenarios[32];
	size_t scenario_count;
	enum wcp_path_kind paths[WCP_PATH_COUNT];
	size_t path_count;
	double bandwidth[32]; // memcpy bytes/s for each scenario's window size
	double fresh_bandwidth[32]; // the same, from a source another process just wrote
	double streaming_bandwidth; // memcpy bytes/s of a buffer larger than any cache
	struct wcp_handoff handoff[32]; // a whole window's frame drawn, then copied elsewhere
	struct wcp_wakeup wakeup; // a process woken through a pipe, on either CPU
	struct wcp_sample *samples; // [scenario][path kind][rep]
	struct wcp_memory_result memory[WCP_PATH_COUNT];
	double wall_s;
};

/** The sample of scenario s (index), path kind p and repetition r. */
struct wcp_sample *results_sample(
	const struct wcp_results *results, size_t s, enum wcp_path_kind p, uint32_t r);

/** Writes the report as markdown: machine, tables per scenario, memory, targets. */
void report_markdown(const struct wcp_results *results, FILE *out);

/** Writes one key=value line per sample, per summary and per memory measurement. */
void report_raw(const struct wcp_results *results, FILE *out);

#endif
