#ifndef WCP_TESTS_RELAY_H
#define WCP_TESTS_RELAY_H

#include <limits.h>
#include <stdbool.h>

#include "proc.h"
#include "weston.h"

/**
 * wl-cross-proxy ($WCP_PROXY) in front of a test's host compositor (weston
 * or sway): straight to it (--device=none) or through wl-cross-emu
 * ($WCP_EMU).
 */

enum wcp_relay_mode {
	WCP_RELAY_DIRECT,
	WCP_RELAY_EMU,
};

/** The host compositor a relay fronts. */
struct wcp_relay_host {
	const char *display; // socket name or absolute path, as libwayland takes it
	const char *runtime_dir; // the proxy's XDG_RUNTIME_DIR: its socket and log go here
	const char *const *emu_args; // more options for wl-cross-emu (NULL-terminated), or NULL
};

struct wcp_relay {
	enum wcp_relay_mode mode;
	struct wcp_proc *proxy; // or the wrapper that runs it
	bool wrapped; // the proxy runs under a wrapper command
	struct wcp_proc *emu; // NULL in direct mode
	char socket[64];
	char env_display[96]; // "WAYLAND_DISPLAY=<socket>", for proc_opts.env
	char env_runtime_dir[PATH_MAX + 32]; // "XDG_RUNTIME_DIR=<runtime dir>"
	char log_path[PATH_MAX];
};

/** Starts the proxy (and emulator) in front of `host` and waits for its socket. */
struct wcp_relay *relay_start_on(const struct wcp_relay_host *host, enum wcp_relay_mode mode);

/** relay_start_on for a test's weston. */
struct wcp_relay *relay_start(struct wcp_weston *weston, enum wcp_relay_mode mode);

/** Most words a proxy wrapper may have. */
#define WCP_RELAY_MAX_WRAPPER 16

/**
 * relay_start, with the proxy run under a wrapper command (NULL-terminated,
 * e.g. valgrind and its options); NULL for none.
 */
struct wcp_relay *relay_start_wrapped(
	struct wcp_weston *weston, enum wcp_relay_mode mode, const char *const *wrapper);

/** Stops them; fails the test when the proxy did not exit cleanly. NULL is a no-op. */
void relay_stop(struct wcp_relay *relay);

/** "direct" or "emu", for log lines. */
const char *relay_mode_name(enum wcp_relay_mode mode);

#endif
