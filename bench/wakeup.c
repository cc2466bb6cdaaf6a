#include "wakeup.h"

#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "sample.h"
#include "util/cpu.h"

const uint32_t wcp_wakeup_gap_us[WCP_WAKEUP_GAPS] = {20, 50, 100, 200, 500, 1000};

/* Unmeasured wake-ups before each timed series. */
#define WARMUP (WCP_WAKEUP_COUNT / 10)

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The reader's answer to each byte. */
struct answer {
	int64_t ran_ns; // when it ran: CLOCK_MONOTONIC, the same clock on every CPU
	int32_t cpu; // where it ran
	int32_t unused;
};

/*
 * The reader, in its own process on the CPU `context` points to: answers
 * each byte from `in`, then sleeps in read() again.
 */
static void reader(const void *context, int in, int out) {
	if (!wcp_pin_to(*(const int *)context)) {
		_exit(1);
	}
	unsigned char byte;
	while (read(in, &byte, 1) == 1) {
		struct answer answer = {.ran_ns = now_ns(), .cpu = sched_getcpu()};
		if (write(out, &answer, sizeof(answer)) != (ssize_t)sizeof(answer)) {
			break;
		}
	}
	_exit(0);
}

/* Reads the reader's answer; false if there is none or it ran elsewhere. */
static bool read_answer(int fd, int cpu, int64_t *ran_ns) {
	struct answer answer;
	if (read(fd, &answer, sizeof(answer)) != (ssize_t)sizeof(answer) || answer.cpu != cpu) {
		return false;
	}
	*ran_ns = answer.ran_ns;
	return true;
}

/*
 * Wakes a reader on `reader_cpu` WCP_WAKEUP_COUNT times from `writer_cpu`,
 * each time `gap_us` after its last answer came back, into *out. False when
 * a step failed or either process ran elsewhere.
 */
static bool wake_series(
	int writer_cpu, int reader_cpu, uint32_t gap_us, struct wcp_wake_series *out) {
	struct wcp_helper helper = WCP_HELPER_NONE;
	double writes[WCP_WAKEUP_COUNT], latencies[WCP_WAKEUP_COUNT];
	bool ok = false;
	if (!wcp_pin_to(writer_cpu) || !wcp_helper_start(&helper, reader, &reader_cpu)) {
		goto out;
	}
	unsigned char byte = 1;
	int64_t ran;
	if (write(helper.to[1], &byte, 1) != 1 || !read_answer(helper.from[0], reader_cpu, &ran)) {
		goto out;
	}
	int64_t answered = now_ns();
	for (int i = 0; i < WARMUP + WCP_WAKEUP_COUNT; i++) {
		// Spinning keeps this CPU busy, so only the reader's one is idle.
		while (now_ns() - answered < (int64_t)gap_us * 1000) {
		}
		if (sched_getcpu() != writer_cpu) {
			goto out;
		}
		int64_t start = now_ns();
		if (write(helper.to[1], &byte, 1) != 1) {
			goto out;
		}
		int64_t written = now_ns();
		if (!read_answer(helper.from[0], reader_cpu, &ran)) {
			goto out;
		}
		answered = now_ns();
		if (i >= WARMUP) {
			writes[i - WARMUP] = (double)(written - start) / 1e3;
			latencies[i - WARMUP] = (double)(ran - start) / 1e3;
		}
	}
	*out = (struct wcp_wake_series){
		.writer_cpu = writer_cpu,
		.reader_cpu = reader_cpu,
		.write_us = sample_median(writes, WCP_WAKEUP_COUNT),
		.latency_us = sample_median(latencies, WCP_WAKEUP_COUNT),
	};
	ok = true;

out:
	wcp_helper_finish(&helper);
	return ok;
}

void wakeup_measure(struct wcp_wakeup *out) {
	const struct wcp_wake_series none = {-1, -1, 0.0, 0.0};
	out->same = none;
	for (int i = 0; i < WCP_WAKEUP_GAPS; i++) {
		out->apart[i] = none;
	}
	cpu_set_t allowed;
	int cpus[2];
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0 || !cpu_first_allowed(cpus)) {
		return;
	}
	struct wcp_wakeup w = *out;
	// On one CPU the writer spins while the reader sleeps: no gap idles it.
	bool ok = wake_series(cpus[0], cpus[0], wcp_wakeup_gap_us[0], &w.same);
	for (int i = 0; ok && cpus[1] >= 0 && i < WCP_WAKEUP_GAPS; i++) {
		ok = wake_series(cpus[0], cpus[1], wcp_wakeup_gap_us[i], &w.apart[i]);
	}
	if (ok) {
		*out = w;
	}
	if (sched_setaffinity(0, sizeof(allowed), &allowed) < 0) {
		fprintf(stderr, "wcp-bench: cannot restore the CPU affinity\n");
	}
}
