#include "bandwidth.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COPIES 12

/* Host buffers a surface keeps (swapchain.c), which the copies rotate through. */
#define FRESH_DESTINATIONS 3

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

/* The writer: draws the shared source as a client does, a pixel at a time, then answers. */
static void writer(unsigned char *src, size_t bytes, int in, int out) {
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
	unsigned char *dsts[FRESH_DESTINATIONS];
	bool mapped = src != MAP_FAILED;
	for (int i = 0; i < FRESH_DESTINATIONS; i++) {
		dsts[i] = mmap(
			NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		mapped = mapped && dsts[i] != MAP_FAILED;
	}
	int to_writer[2] = {-1, -1}, from_writer[2] = {-1, -1};
	double best = 0.0;
	pid_t pid = -1;
	if (!mapped || pipe(to_writer) < 0 || pipe(from_writer) < 0) {
		goto out;
	}
	for (int i = 0; i < FRESH_DESTINATIONS; i++) {
		memset(dsts[i], 0xa5, bytes);
	}
	pid = fork();
	if (pid == 0) {
		close(to_writer[1]);
		close(from_writer[0]);
		writer(src, bytes, to_writer[0], from_writer[1]);
	}
	if (pid < 0) {
		goto out;
	}
	for (int i = 0; i < COPIES; i++) {
		unsigned char value = (unsigned char)(i + 1), done;
		if (write(to_writer[1], &value, 1) != 1 || read(from_writer[0], &done, 1) != 1) {
			best = 0.0;
			break;
		}
		unsigned char *dst = dsts[i % FRESH_DESTINATIONS];
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
	for (int i = 0; i < 2; i++) {
		if (to_writer[i] >= 0) {
			close(to_writer[i]);
		}
		if (from_writer[i] >= 0) {
			close(from_writer[i]);
		}
	}
	if (pid > 0) {
		// The writer ends at the closed pipe.
		waitpid(pid, NULL, 0);
	}
	if (src != MAP_FAILED) {
		munmap(src, bytes);
	}
	for (int i = 0; i < FRESH_DESTINATIONS; i++) {
		if (dsts[i] != MAP_FAILED) {
			munmap(dsts[i], bytes);
		}
	}
	return best;
}
