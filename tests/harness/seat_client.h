#ifndef WCP_TESTS_SEAT_CLIENT_H
#define WCP_TESTS_SEAT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"

/**
 * Runs the test client wcp-seat-client (its path comes from
 * $WCP_SEAT_CLIENT) and reads the lines it prints, one per event it sees
 * ("capabilities 2", "keymap 23773", "focused", "selection set", ...).
 */

struct wcp_seat_client {
	struct wcp_proc *proc;
	int out; // read end of its stdout
	char pending[4096]; // read but not yet returned
	size_t pending_len;
};

/**
 * Starts the client on the compositor named by `display_env`
 * ("WAYLAND_DISPLAY=..."), with `args` (NULL-terminated) as its command
 * line. Ends the test with an error when it cannot start.
 */
struct wcp_seat_client *seat_client_start(const char *display_env, const char *const args[]);

/**
 * Reads lines until one starts with `prefix` and copies it (without its
 * newline) into `line` when that is not NULL. Lines passed over are logged.
 * False (with a log line) when the client exits first or timeout_ms passes.
 */
bool seat_client_expect(struct wcp_seat_client *client, const char *prefix, int timeout_ms,
	char *line, size_t size);

/**
 * Waits up to timeout_ms for the client to exit, then stops it (SIGTERM);
 * returns its exit code and frees it.
 */
int seat_client_finish(struct wcp_seat_client *client, int timeout_ms);

#endif
