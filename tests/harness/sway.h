#ifndef WCP_TESTS_SWAY_H
#define WCP_TESTS_SWAY_H

#include <limits.h>
#include <stdint.h>

#include "proc.h"
#include "relay.h"

/**
 * A headless sway for one test, the host compositor of tests that need a
 * seat (keyboard focus, input, selections): wlroots' headless backend and
 * pixman renderer, no input devices of its own, Xwayland off, and a private
 * XDG_RUNTIME_DIR. sway refuses to run as root; under root it runs as nobody
 * (uid 65534), which then owns the runtime dir. Clients running as root may
 * still connect to it.
 *
 * Its seat starts with no capabilities: a virtual keyboard (wtype) gives it
 * one, and takes it away again when it goes.
 */

struct wcp_sway {
	struct wcp_proc *proc;
	char socket[64]; // the name sway chose: wayland-N
	char socket_path[PATH_MAX]; // the same, absolute
	char runtime_dir[PATH_MAX]; // also exported as XDG_RUNTIME_DIR
	char log_path[PATH_MAX];
	char env_display[96]; // "WAYLAND_DISPLAY=<socket>", for proc_opts.env
};

/**
 * Starts sway with one 1024x768 output and waits until its socket answers.
 * Skips the test when sway is not installed; ends it with an error (printing
 * sway's log) when sway does not come up.
 */
struct wcp_sway *sway_start(void);

/** Stops sway, reaps it and removes its runtime dir. NULL is a no-op. */
void sway_stop(struct wcp_sway *sway);

/** What a relay needs to front this sway. */
struct wcp_relay_host sway_relay_host(const struct wcp_sway *sway);

/** The seat's capabilities now (enum wl_seat_capability); ends the test if sway is gone. */
uint32_t sway_seat_capabilities(const struct wcp_sway *sway);

/**
 * Starts a virtual keyboard that stays until stopped (wtype sleeping) and
 * waits until the seat has the keyboard capability. Skips the test when
 * wtype is not installed.
 */
struct wcp_proc *sway_keyboard_start(const struct wcp_sway *sway);

/**
 * What sway shows on its output now, taken with grim (wlr-screencopy).
 * Skips the test when grim is not installed; ends it with an error when
 * grim fails.
 */
struct wcp_image *sway_screenshot(const struct wcp_sway *sway);

/** Prints the last lines of sway's log to stderr. */
void sway_dump_log(const struct wcp_sway *sway);

#endif
