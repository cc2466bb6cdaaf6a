#ifndef WCP_TESTS_VIRTGPU_CAPTURE_H
#define WCP_TESTS_VIRTGPU_CAPTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

/**
 * Captures what the code under test writes to stderr (where wcp_log
 * writes) into a memfd, so that a test can check its diagnostics. stderr
 * is restored by capture_end before anything is asserted, so that a
 * failure is still printed.
 */

struct wcp_capture {
	int saved_fd;
	int mem_fd;
	char text[8192];
};

static inline void capture_begin(struct wcp_capture *capture) {
	fflush(stderr);
	capture->text[0] = '\0';
	capture->mem_fd = memfd_create("wcp-stderr", MFD_CLOEXEC);
	capture->saved_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (capture->mem_fd < 0 || capture->saved_fd < 0 ||
		dup2(capture->mem_fd, STDERR_FILENO) < 0) {
		test_error("cannot redirect stderr");
	}
}

/** Restores stderr, fills capture->text and echoes it, tagged, to the real stderr. */
static inline const char *capture_end(struct wcp_capture *capture) {
	fflush(stderr);
	dup2(capture->saved_fd, STDERR_FILENO);
	close(capture->saved_fd);
	ssize_t n = pread(capture->mem_fd, capture->text, sizeof(capture->text) - 1, 0);
	close(capture->mem_fd);
	capture->text[n > 0 ? n : 0] = '\0';
	if (capture->text[0] != '\0') {
		test_log("captured stderr:\n%s", capture->text);
	}
	return capture->text;
}

/** How many lines of the captured text contain needle. */
static inline size_t capture_count_lines(const struct wcp_capture *capture, const char *needle) {
	size_t count = 0;
	const char *line = capture->text;
	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		const char *hit = strstr(line, needle);
		if (hit != NULL && hit < line + len) {
			count++;
		}
		line += len + (end != NULL ? 1 : 0);
	}
	return count;
}

#endif
