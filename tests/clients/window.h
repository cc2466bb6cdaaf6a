#ifndef WCP_TESTS_WINDOW_H
#define WCP_TESTS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-client.h>

/**
 * What the test and benchmark clients share: a connection with wl_compositor,
 * wl_shm and xdg_wm_base bound, and one xdg_toplevel whose configure events
 * are acknowledged. Each client runs its own event loop over `display`.
 */
struct wcp_window {
	const char *prog; // names the client in messages
	uint32_t format; // the wl_shm format the client draws
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor; // may be NULL until the globals arrive
	uint32_t compositor_version; // at most 4
	struct wl_shm *shm; // may be NULL
	struct xdg_wm_base *wm_base; // may be NULL
	struct wl_surface *surface; // NULL before window_create_toplevel
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	bool format_offered;
	uint32_t configures; // xdg_surface.configure events acknowledged
	int32_t configure_width, configure_height; // of the latest one; 0 = the client's choice
	int32_t pending_width, pending_height; // xdg_toplevel.configure, until xdg_surface's
	bool closed; // xdg_toplevel.close arrived
};

enum wcp_window_globals {
	WCP_WINDOW_GLOBALS_OK,
	WCP_WINDOW_GLOBALS_MISSING, // wl_compositor, wl_shm or xdg_wm_base
	WCP_WINDOW_FORMAT_MISSING, // wl_shm does not offer `format`
};

/**
 * Connects to $WAYLAND_DISPLAY and asks for the globals. Two round trips
 * later the globals, then wl_shm's formats, have arrived. False (with a
 * message on stderr) when there is no compositor.
 */
bool window_connect(struct wcp_window *window, const char *prog, uint32_t format);

/** After those round trips: whether all is there, with a message on stderr if not. */
enum wcp_window_globals window_check_globals(const struct wcp_window *window);

/** Creates the surface and its xdg_toplevel and commits it, to get the first configure. */
void window_create_toplevel(
	struct wcp_window *window, const char *title, const char *app_id, bool fullscreen);

/** Prints why the connection broke: the protocol error and its object, or errno. */
void window_report_error(const struct wcp_window *window);

/**
 * Clears the bool that is its data on wl_buffer.release: a client's "busy"
 * flag, set when it attaches the buffer.
 */
extern const struct wl_buffer_listener window_buffer_listener;

/** Destroys what exists, flushes and disconnects. Safe on a zeroed window. */
void window_finish(struct wcp_window *window);

#endif
