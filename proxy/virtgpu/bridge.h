#ifndef WCP_VIRTGPU_BRIDGE_H
#define WCP_VIRTGPU_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "virtgpu/channel.h"

/**
 * Makes one cross-domain channel look like a local stream socket that
 * passes fds, so that libwayland-client can talk to the host through it
 * unchanged (wl_display_connect_to_fd on the other end).
 *
 * Outgoing fds become identifiers: a buffer of this device becomes its
 * resource id, the write end of a pipe that the host is to fill becomes a
 * read pipe (at most one per flush of the socket). Incoming identifiers
 * become fds: a host blob becomes a mappable fd, a host write pipe becomes
 * the write end of a local pipe whose data is forwarded with WRITE. An fd
 * the channel cannot carry is an error: the bridge logs its kind, tells its
 * listener, and closes the socket.
 *
 * Data for a read pipe whose reader has gone fails with EPIPE, which the
 * process must see as an error rather than die of: SIGPIPE is to be ignored.
 */

struct wcp_cd_bridge;

struct wcp_cd_bridge_listener {
	/**
	 * The bridge has closed its end (host EOF or an error); `reason` says
	 * why. It is called from inside the bridge's own handlers: it must not
	 * destroy the bridge (the peer sees EOF; destroy the bridge from there).
	 */
	void (*closed)(void *data, const char *reason);
	/**
	 * Bytes from the host were written to the socket: the peer can read
	 * them now, without waiting for the event loop to say so. Called from
	 * inside the bridge's handlers: the listener is to note it and read
	 * once they have returned. May be NULL.
	 */
	void (*delivered)(void *data);
};

/**
 * Creates a channel of `channel_type` on `device` (taking ownership) and a
 * socket pair; *peer_fd is the other end, for the caller to own and use.
 */
struct wcp_cd_bridge *bridge_create(struct wl_event_loop *loop, struct wcp_virtgpu_device *device,
	uint32_t channel_type, const struct wcp_cd_bridge_listener *listener, void *data,
	int *peer_fd);

/**
 * Takes what the peer has written to the socket and sends it to the host
 * now, rather than when the event loop sees it: to be called right after
 * the peer flushed. What one read does not take is left to the loop.
 */
void bridge_pump(struct wcp_cd_bridge *bridge);

/**
 * Lets the next host event come (channel_flush); to be called before the
 * event loop sleeps, once what the bridge delivered was passed on.
 */
void bridge_flush(struct wcp_cd_bridge *bridge);

/** Destroys the bridge, its channel, pipes and device. NULL is a no-op. */
void bridge_destroy(struct wcp_cd_bridge *bridge);

/** The channel under the bridge. */
struct wcp_cd_channel *bridge_channel(struct wcp_cd_bridge *bridge);

/** The kinds of fd, as the bridge names them in errors. */
enum wcp_fd_kind {
	WCP_FD_DEVICE_BUFFER, // a buffer of this virtio-gpu device
	WCP_FD_PIPE_WRITE_END,
	WCP_FD_PIPE_READ_END,
	WCP_FD_MEMORY, // memfd, shm or regular file: not shareable with the host
	WCP_FD_SOCKET,
	WCP_FD_OTHER,
};

/** Classifies an fd (without the device: a device buffer shows as OTHER or MEMORY). */
enum wcp_fd_kind bridge_fd_kind(int fd);

/** "memfd or shared memory", "pipe (read end)", ... */
const char *bridge_fd_kind_name(enum wcp_fd_kind kind);

#endif
