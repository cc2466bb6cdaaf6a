#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_program = "wl-cross-proxy";
static enum wcp_log_level log_level = WCP_INFO;
static wcp_log_handler log_handler;
static void *log_handler_data;

void log_init(const char *program, enum wcp_log_level level) {
	log_program = program;
	log_level = level;
}

bool log_level_parse(const char *name, enum wcp_log_level *level) {
	static const char *const names[] = {"silent", "error", "info", "debug"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*level = (enum wcp_log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_handler(wcp_log_handler handler, void *data) {
	log_handler = handler;
	log_handler_data = data;
}

bool log_enabled(enum wcp_log_level level) {
	return level <= log_level;
}

/**
 * Rewrites control characters as \xNN: messages carry text from clients and
 * hosts (protocol error messages, interface names), which must not start
 * a line of their own or drive a terminal.
 */
static void escape_controls(char *out, size_t size, const char *in) {
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

static void log_va(enum wcp_log_level level, const char *file, int line, const char *suffix,
	const char *fmt, va_list args) {
	static const char *const tags[] = {"", "error", "info", "debug"};
	char raw[1024], message[1024];
	int len = vsnprintf(raw, sizeof(raw), fmt, args);
	if (suffix != NULL && len >= 0 && (size_t)len < sizeof(raw)) {
		snprintf(raw + len, sizeof(raw) - (size_t)len, ": %s", suffix);
	}
	escape_controls(message, sizeof(message), raw);
	if (log_handler != NULL) {
		log_handler(level, message, log_handler_data);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "%ld.%03ld %s %s [%s:%d] %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000000,
		log_program, tags[level], file, line, message);
}

void log_line(enum wcp_log_level level, const char *file, int line, const char *fmt, ...) {
	// A handler takes every message: it chooses what to keep.
	if (log_handler == NULL && !log_enabled(level)) {
		return;
	}
	int saved = errno;
	va_list args;
	va_start(args, fmt);
	log_va(level, file, line, NULL, fmt, args);
	va_end(args);
	errno = saved;
}

void log_line_errno(enum wcp_log_level level, const char *file, int line, const char *fmt, ...) {
	if (log_handler == NULL && !log_enabled(level)) {
		return;
	}
	int saved = errno;
	va_list args;
	va_start(args, fmt);
	log_va(level, file, line, strerror(saved), fmt, args);
	va_end(args);
	errno = saved;
}
