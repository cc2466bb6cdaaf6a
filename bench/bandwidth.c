#include "bandwidth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
