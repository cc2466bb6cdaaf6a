#ifndef WCP_TESTS_WESTON_H
#define WCP_TESTS_WESTON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "proc.h"

/**
 * A headless weston 10 for one test: pixman renderer (the headless default
 * draws nothing), --debug (screenshots and scene graph), a deterministic
 * weston.ini and a private XDG_RUNTIME_DIR.
 */

struct wcp_weston_opts {
	int32_t width, height; // output size; 0 = 640x480
	const char *socket; // socket name; NULL = derived from the test's name
};

struct wcp_weston {
	struct wcp_proc *proc;
	int32_t width, height;
	char socket[64];
	char runtime_dir[PATH_MAX]; // also exported as XDG_RUNTIME_DIR
	char log_path[PATH_MAX];
	char env_display[96]; // "WAYLAND_DISPLAY=<socket>", for proc_opts.env
};

/**
 * Starts weston and waits until it offers xdg_wm_base. Skips the test when
 * weston is not installed; ends it with an error (printing weston's log)
 * when weston does not come up.
 */
struct wcp_weston *weston_start(const struct wcp_weston_opts *opts);

/** Stops weston, reaps it and removes its runtime dir. NULL is a no-op. */
void weston_stop(struct wcp_weston *weston);

/** Whether a Wayland compositor at `socket` answers and offers `global`. */
bool weston_has_global(const char *socket, const char *global);

/** Prints the last lines of weston's log to stderr. */
void weston_dump_log(const struct wcp_weston *weston);

#endif
