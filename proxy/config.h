#ifndef WCP_CONFIG_H
#define WCP_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "log.h"
#include "util/copy.h"

/**
 * The daemon's configuration: the command line over the environment. Each
 * setting can also come from WL_CROSS_PROXY_<OPTION> (upper case, '-' as
 * '_'), so that a systemd drop-in or a session script can set it; an empty
 * variable counts as unset. The actions (--check, --print-env, --version,
 * --help) are command-line only.
 */

enum wcp_config_action {
	WCP_ACTION_RUN = 0,
	WCP_ACTION_CHECK,
	WCP_ACTION_PRINT_ENV,
};

struct wcp_config {
	enum wcp_config_action action;
	const char *device; // NULL: search for a render node; "none": direct
	const char *host_display; // direct mode; NULL: $WAYLAND_DISPLAY
	const char *
		socket; // the Wayland socket's name in $XDG_RUNTIME_DIR; NULL: first free wayland-N
	enum wcp_log_level log_level;
	bool export_env; // tell the session manager about WAYLAND_DISPLAY
	enum wcp_copy_evict copy_evict; // when large shm copies evict what they read
	char **command; // after "--", NULL-terminated; may be NULL
};

/**
 * Fills *config from the environment and argv. Returns false when the
 * program should exit now with *exit_code: after --help or --version (0),
 * or on a bad option or variable (2, with a message on stderr).
 */
bool config_parse(int argc, char *argv[], struct wcp_config *config, int *exit_code);

/** Whether direct mode (--device=none) is configured. */
bool config_is_direct(const struct wcp_config *config);

/** Writes the --help text. */
void config_usage(FILE *out);

#endif
