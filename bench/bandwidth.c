#include "bandwidth.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "pattern.h"
#include "sample.h"
#include "util/copy.h"
#include "util/cpu.h"

#define COPIES 12

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bandwidth_memcpy(size_t bytes) {
	unsigned char *src = malloc(bytes), *dst = malloc(bytes);
	if (src == NULL || dst == NULL || bytes == 0) {
		free(src);
		free(dst);
		return 0.0;
	}
	memset(src, 0x5a, bytes);
	memset(dst, 0xa5, bytes);
	double best = 0.0;
	for (int i = 0; i < COPIES; i++) {
		// A different byte each time, so that the copy cannot be elided.
		src[(size_t)i * 4099 % bytes] = (unsigned char)i;
		double start = now_s();
		memcpy(dst, src, bytes);
		double elapsed = now_s() - start;
		if (dst[(size_t)i * 4099 % bytes] != (unsigned char)i) {
			best = 0.0;
			break;
		}
		if (elapsed > 0 && (double)bytes / elapsed > best) {
			best = (double)bytes / elapsed;
		}
	}
	free(src);
	free(dst);
	return best;
}

struct fresh_frame {
	unsigned char *src;
	size_t bytes;
};

/* The writer: draws the shared source as a client does, a pixel at a time, then answers. */
static void writer(const void *context, int in, int out) {
	const struct fresh_frame *frame = context;
	unsigned char *src = frame->src;
	size_t bytes = frame->bytes;
	unsigned char value;
	while (read(in, &value, 1) == 1) {
		for (size_t i = 0; i + 4 <= bytes; i += 4) {
			uint32_t pixel = (uint32_t)value * 0x01010101u ^ (uint32_t)(i >> 2) << 8;
			memcpy(src + i, &pixel, 4);
		}
		src[bytes / 2] = value;
		if (write(out, &value, 1) != 1) {
			break;
		}
	}
	_exit(0);
}

double bandwidth_memcpy_fresh(size_t bytes) {
	if (bytes == 0) {
		return 0.0;
	}
	// Shared memory on both sides, as the client's pool and the host buffers
	// are, with as many destinations as a surface keeps host buffers.
	unsigned char *src =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *dsts[WCP_BENCH_DESTINATIONS];
	bool mapped = src != MAP_FAILED;
	for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
		dsts[i] = mmap(
			NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		mapped = mapped && dsts[i] != MAP_FAILED;
	}
	struct wcp_helper helper = WCP_HELPER_NONE;
	double best = 0.0;
	if (!mapped) {
		goto out;
	}
	for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
		memset(dsts[i], 0xa5, bytes);
	}
	struct fresh_frame frame = {src, bytes};
	if (!wcp_helper_start(&helper, writer, &frame)) {
		goto out;
	}
	for (int i = 0; i < COPIES; i++) {
		unsigned char value = (unsigned char)(i + 1), done;
		if (write(helper.to[1], &value, 1) != 1 || read(helper.from[0], &done, 1) != 1) {
			best = 0.0;
			break;
		}
		unsigned char *dst = dsts[i % WCP_BENCH_DESTINATIONS];
		double start = now_s();
		memcpy(dst, src, bytes);
		double elapsed = now_s() - start;
		if (dst[bytes / 2] != value) {
			best = 0.0;
			break;
		}
		if (elapsed > 0 && (double)bytes / elapsed > best) {
			best = (double)bytes / elapsed;
		}
	}

out:
	wcp_helper_finish(&helper);
	if (src != MAP_FAILED) {
		munmap(src, bytes);
	}
	for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
		if (dsts[i] != MAP_FAILED) {
			munmap(dsts[i], bytes);
		}
	}
	return best;
}

enum handoff_reader {
	READER_NONE,
	READER_COPY,
	READER_COPY_EVICT,
};

struct handoff_run {
	uint8_t *frame;
	uint8_t *dsts[WCP_BENCH_DESTINATIONS];
	size_t bytes;
	int32_t width, height;
};

struct handoff_reader_args {
	const struct handoff_run *run;
	enum handoff_reader kind;
	int cpu;
};

/*
 * The reader, in its own process: for each byte from `in`, copies the frame
 * into the next destination, evicting what it reads if asked, and answers
 * with the copy's time in ns (0 when the copy came out wrong).
 */
static void handoff_reader(const void *context, int in, int out) {
	const struct handoff_reader_args *args = context;
	const struct handoff_run *run = args->run;
	enum handoff_reader kind = args->kind;
	if (!wcp_pin_to(args->cpu)) {
		_exit(1);
	}
	unsigned char value;
	for (uint32_t i = 0; read(in, &value, 1) == 1; i++) {
		uint8_t *dst = run->dsts[i % WCP_BENCH_DESTINATIONS];
		double start = now_s();
		if (kind == READER_COPY_EVICT) {
			copy_stream_evict(dst, run->frame, run->bytes);
		} else {
			copy_stream(dst, run->frame, run->bytes);
		}
		uint64_t ns = (uint64_t)((now_s() - start) * 1e9);
		if (dst[run->bytes - 1] != value) {
			ns = 0;
		}
		if (write(out, &ns, sizeof(ns)) != (ssize_t)sizeof(ns)) {
			break;
		}
	}
	_exit(0);
}

/*
 * Draws the frame WCP_HANDOFF_FRAMES times on `writer_cpu`, each time handing
 * it to a reader on `reader_cpu` (unless READER_NONE); the medians of the
 * drawing and of the copy in ms. False when a step failed.
 */
static bool handoff_place(const struct handoff_run *run, enum handoff_reader kind, int writer_cpu,
	int reader_cpu, double *draw_ms, double *copy_ms) {
	struct wcp_helper helper = WCP_HELPER_NONE;
	bool ok = false;
	double draws[WCP_HANDOFF_FRAMES], copies[WCP_HANDOFF_FRAMES];
	if (!wcp_pin_to(writer_cpu)) {
		return false;
	}
	struct handoff_reader_args args = {run, kind, reader_cpu};
	if (kind != READER_NONE && !wcp_helper_start(&helper, handoff_reader, &args)) {
		goto out;
	}
	struct wcp_rect all = {0, 0, run->width, run->height};
	for (int i = 0; i < 2 * WCP_HANDOFF_FRAMES; i++) {
		unsigned char value = (unsigned char)(i + 1);
		double start = now_s();
		pattern_fill_solid(run->frame, (size_t)run->width * 4, &all, value * 0x01010101u);
		double drawn = now_s() - start;
		uint64_t ns = 1;
		if (kind != READER_NONE &&
			(write(helper.to[1], &value, 1) != 1 ||
				read(helper.from[0], &ns, sizeof(ns)) != (ssize_t)sizeof(ns) ||
				ns == 0)) {
			goto out;
		}
		if (i >= WCP_HANDOFF_FRAMES) {
			draws[i - WCP_HANDOFF_FRAMES] = drawn * 1000.0;
			copies[i - WCP_HANDOFF_FRAMES] = (double)ns / 1e6;
		}
	}
	*draw_ms = sample_median(draws, WCP_HANDOFF_FRAMES);
	*copy_ms = kind == READER_NONE ? 0.0 : sample_median(copies, WCP_HANDOFF_FRAMES);
	ok = true;

out:
	wcp_helper_finish(&helper);
	return ok;
}

void bandwidth_handoff(int32_t width, int32_t height, struct wcp_handoff *out) {
	*out = (struct wcp_handoff){0};
	struct handoff_run run = {
		.bytes = (size_t)width * (size_t)height * 4,
		.width = width,
		.height = height,
	};
	cpu_set_t allowed;
	int cpus[2];
	if (run.bytes == 0 || sched_getaffinity(0, sizeof(allowed), &allowed) < 0 ||
		!cpu_first_allowed(cpus)) {
		return;
	}
	// Shared memory, as the client's pool and the host buffers are.
	run.frame =
		mmap(NULL, run.bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	bool mapped = run.frame != MAP_FAILED;
	for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
		run.dsts[i] = mmap(
			NULL, run.bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		mapped = mapped && run.dsts[i] != MAP_FAILED;
	}
	if (mapped) {
		memset(run.frame, 0, run.bytes);
		for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
			memset(run.dsts[i], 0, run.bytes);
		}
		double unused;
		struct wcp_handoff h = {.cpus = {cpus[0], cpus[1]}};
		struct wcp_cpu_caches caches;
		if (cpus[1] >= 0 && cpu_caches_init(&caches, "/sys/devices/system/cpu")) {
			h.cpus_share_cache = cpu_caches_shared(&caches, cpus[0], cpus[1]);
			cpu_caches_finish(&caches);
		}
		bool ok = handoff_place(
				  &run, READER_NONE, cpus[0], cpus[0], &h.draw_alone_ms, &unused) &&
			handoff_place(&run, READER_COPY, cpus[0], cpus[0], &h.draw_same_ms,
				&h.copy_same_ms);
		bool apart = ok && cpus[1] >= 0;
		if (apart) {
			ok = handoff_place(&run, READER_COPY, cpus[0], cpus[1], &h.draw_apart_ms,
				&h.copy_apart_ms);
		}
		if (apart && ok && WCP_COPY_EVICTS) {
			ok = handoff_place(&run, READER_COPY_EVICT, cpus[0], cpus[1],
				&h.draw_evicted_ms, &h.copy_evicted_ms);
		}
		if (ok) {
			*out = h;
		}
	}
	if (sched_setaffinity(0, sizeof(allowed), &allowed) < 0) {
		fprintf(stderr, "wcp-bench: cannot restore the CPU affinity\n");
	}
	if (run.frame != MAP_FAILED) {
		munmap(run.frame, run.bytes);
	}
	for (int i = 0; i < WCP_BENCH_DESTINATIONS; i++) {
		if (run.dsts[i] != MAP_FAILED) {
			munmap(run.dsts[i], run.bytes);
		}
	}
}
