#ifndef WCP_TESTS_SHM_CLIENT_H
#define WCP_TESTS_SHM_CLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "proc.h"

/**
 * Runs the test client wcp-shm-client (its path comes from $WCP_SHM_CLIENT)
 * with --hold and --ready-file, so that a test can wait until its frames are
 * all acknowledged, look at the screen, and then stop it.
 */

struct wcp_shm_client {
	struct wcp_proc *proc;
	char ready_path[PATH_MAX];
	uint32_t frames, acked; // from the ready file
};

/**
 * Starts the client on the compositor named by `display_env`
 * ("WAYLAND_DISPLAY=..."), with `args` (NULL-terminated) added to its
 * command line. Ends the test with an error when it cannot start.
 */
struct wcp_shm_client *shm_client_start(const char *display_env, const char *const args[]);

/**
 * Waits until the client has drawn all its frames and had them all
 * acknowledged. False (with a log line) when it exits first or timeout_ms
 * passes.
 */
bool shm_client_wait_ready(struct wcp_shm_client *client, int timeout_ms);

/** Stops the client (SIGTERM) and returns its exit code; frees it. */
int shm_client_stop(struct wcp_shm_client *client);

#endif
