#ifndef WCP_SESSION_ACTIVATION_H
#define WCP_SESSION_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Socket activation: a service manager passes the listening socket as fd 3
 * with LISTEN_PID (our pid) and LISTEN_FDS (the count). The proxy takes one
 * listening AF_UNIX stream socket bound to a path; the name clients give in
 * WAYLAND_DISPLAY is that path's last component when the socket sits in
 * $XDG_RUNTIME_DIR, else the whole path.
 */

enum wcp_activation_result {
	WCP_ACTIVATION_NONE, // nothing was passed to this process
	WCP_ACTIVATION_SOCKET, // *fd and name are set
	WCP_ACTIVATION_ERROR, // passed, but unusable (logged)
};

/**
 * Takes the passed socket (close-on-exec, non-blocking) and its path and
 * display name, and removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from
 * the environment so that children do not see them.
 */
enum wcp_activation_result activation_take(
	int *fd, char *path, size_t path_size, char *name, size_t name_size);

#endif
