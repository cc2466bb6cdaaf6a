#ifndef WCP_SESSION_NOTIFY_H
#define WCP_SESSION_NOTIFY_H

#include <stdbool.h>

/**
 * Service readiness for systemd (sd_notify): "READY=1", "STATUS=...",
 * "STOPPING=1" to the datagram socket named by $NOTIFY_SOCKET. Through
 * libsystemd when the build found it, else the plain protocol below.
 * Without $NOTIFY_SOCKET nothing is sent and nothing fails.
 */

/** Sends `state` (newline-separated assignments); false (logged) on failure. */
bool notify_send(const char *state);

/**
 * The plain protocol: one datagram holding `state` to the AF_UNIX socket
 * `address`, a path, or an abstract name when it starts with '@'. NULL or
 * empty address: nothing to do (true). False (logged) on failure.
 */
bool notify_datagram(const char *address, const char *state);

#endif
