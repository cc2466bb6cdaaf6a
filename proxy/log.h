#ifndef WCP_LOG_H
#define WCP_LOG_H

#include <stdbool.h>
#include <stdio.h>

/**
 * The one log facility of the proxy and the emulator: lines go to stderr
 * with a level, the program's name and the [file:line] they come from.
 */

enum wcp_log_level {
	WCP_SILENT = 0,
	WCP_ERROR = 1,
	WCP_INFO = 2,
	WCP_DEBUG = 3,
};

/** Sets the program name printed on each line and the most verbose level shown. */
void log_init(const char *program, enum wcp_log_level level);

/** Parses "silent", "error", "info" or "debug"; false for anything else. */
bool log_level_parse(const char *name, enum wcp_log_level *level);

/**
 * Receives each message (without program or location) instead of stderr
 * while set, whatever the level set by log_init; NULL restores stderr. For
 * callers that report the messages of what they call in their own form, as
 * --check does.
 */
typedef void (*wcp_log_handler)(enum wcp_log_level level, const char *message, void *data);

void log_set_handler(wcp_log_handler handler, void *data);

/** Whether lines of this level are printed. */
bool log_enabled(enum wcp_log_level level);

__attribute__((format(printf, 4, 5))) void log_line(
	enum wcp_log_level level, const char *file, int line, const char *fmt, ...);

#define wcp_log(level, ...) log_line(level, __FILE__, __LINE__, __VA_ARGS__)

/** As log_line, followed by ": " and strerror(errno). */
__attribute__((format(printf, 4, 5))) void log_line_errno(
	enum wcp_log_level level, const char *file, int line, const char *fmt, ...);

#define wcp_log_errno(level, ...) log_line_errno(level, __FILE__, __LINE__, __VA_ARGS__)

#endif
