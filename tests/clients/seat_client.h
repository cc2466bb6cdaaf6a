#ifndef WCP_SEAT_CLIENT_H
#define WCP_SEAT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-client.h>
#include <xkbcommon/xkbcommon.h>

#include "primary-selection-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

/**
 * wcp-seat-client: a Wayland client for the seat tests. It follows the
 * seat's keyboard capability (taking and releasing a wl_keyboard), compiles
 * every keymap it is sent with xkbcommon, maps a small xdg_toplevel when it
 * needs keyboard focus, and uses the clipboard and the primary selection.
 * It reports what it sees as lines on stdout, one event per line, for the
 * tests to read.
 */

#define SEAT_CLIENT_PROG "wcp-seat-client"

/** Exit statuses. */
enum seat_client_status {
	SEAT_CLIENT_OK = 0,
	SEAT_CLIENT_FAILED = 1,
	SEAT_CLIENT_USAGE = 2,
	SEAT_CLIENT_TIMEOUT = 3,
};

/** An offer of the selection or the primary selection, and whether it has the wanted type. */
struct seat_offer {
	struct seat_client *client;
	void *proxy; // struct wl_data_offer or struct zwp_primary_selection_offer_v1
	bool primary;
	bool has_mime;
};

struct seat_client {
	const char *mime; // copy, paste: the type to offer or ask for
	const char *path; // keymap, copy, paste: the file to write or read
	bool primary; // copy, paste: the primary selection instead of the clipboard
	bool into_file; // paste: give the host the file itself, not a pipe
	const char *read_after; // paste: read the pipe only once this file exists; may be NULL

	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_seat *seat;
	struct wl_data_device_manager *data_device_manager; // may be NULL
	struct zwp_primary_selection_device_manager_v1 *primary_manager; // may be NULL

	uint32_t capabilities; // enum wl_seat_capability
	bool capabilities_known;
	struct wl_keyboard *keyboard; // while the seat has a keyboard

	struct xkb_context *xkb;
	struct xkb_keymap *keymap; // the latest one sent
	struct xkb_state *xkb_state;
	char *keymap_text; // its bytes as sent, `keymap_size` long
	size_t keymap_size;
	bool have_keymap; // one has been sent

	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct wl_buffer *buffer;
	bool focused;
	uint32_t enter_serial;

	uint32_t presses; // keys: key presses seen while focused
	uint32_t wanted_presses; // keys: how many to wait for
	bool typed; // keys: that many have come
	char text[1024]; // keys: what they typed, as UTF-8

	struct wl_data_device *data_device;
	struct zwp_primary_selection_device_v1 *primary_device;
	struct wl_data_source *data_source; // copy
	struct zwp_primary_selection_source_v1 *primary_source; // copy
	struct seat_offer *offer; // the selection offered now, may be NULL
	bool offer_wanted; // paste: it has the type asked for
	uint8_t *content; // copy: what the source sends
	size_t content_size;
	bool cancelled; // copy: the source was replaced

	bool failed; // something went wrong; already reported on stderr
};

/** Dispatches until *flag is true; false (reported) when the connection fails or c->failed. */
bool seat_client_dispatch_until(struct seat_client *c, const bool *flag);

/** Writes `size` bytes to the file at `path`; false (errno set) on failure. */
bool seat_client_write_file(const char *path, const void *data, size_t size);

/** Reports a failure on stderr and marks the client failed. */
__attribute__((format(printf, 2, 3))) void seat_client_fail(
	struct seat_client *c, const char *fmt, ...);

/** Maps the window and waits for keyboard focus; prints "focused". */
bool seat_client_focus(struct seat_client *c);

/** copy: offers `path`'s bytes as the (primary) selection until another client takes it. */
int seat_clipboard_copy(struct seat_client *c);

/** paste: waits for a (primary) selection of type `mime` and writes its bytes to `path`. */
int seat_clipboard_paste(struct seat_client *c);

/** Destroys the clipboard's objects. */
void seat_clipboard_finish(struct seat_client *c);

#endif
