#ifndef WCP_VIRTGPU_CHANNEL_H
#define WCP_VIRTGPU_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "virtgpu/cross_domain.h"
#include "virtgpu/device.h"

/**
 * The guest end of one cross-domain channel: one virtio-gpu context with
 * its query and channel rings, connected by INIT to one host socket.
 *
 * Host events arrive one per POLL: the channel keeps at most one POLL in
 * flight. On each fence event it reads the channel ring and hands the event
 * to its listener; the next POLL goes out with channel_flush, which the
 * owner calls before its event loop sleeps, after passing the event on (the
 * POLL's submission is then off the path of the event's reply).
 */

/** An identifier that came with a RECEIVE. */
struct wcp_cd_item {
	uint32_t id;
	uint32_t type; // WCP_CD_ID_*
	uint32_t size; // of memory items
};

struct wcp_cd_channel_listener {
	/** Bytes and identifiers from the host (one RECEIVE). */
	void (*receive)(void *data, const uint8_t *bytes, size_t len,
		const struct wcp_cd_item *items, size_t count);
	/** Data for a read pipe; hang_up once the host's writer is gone. */
	void (*read)(void *data, uint32_t pipe_id, const uint8_t *bytes, size_t len, bool hang_up);
	/** The host closed its socket; nothing more will arrive. */
	void (*eof)(void *data);
};

struct wcp_cd_image_cache_entry;

struct wcp_cd_channel {
	struct wcp_virtgpu_device *device; // owned
	struct wl_event_source *event_source; // the device's event fd
	const struct wcp_cd_channel_listener *listener;
	void *listener_data;

	uint32_t query_bo, query_res;
	uint32_t channel_bo, channel_res;
	uint8_t *query_ring; // WCP_CD_RING_SIZE bytes, mapped
	uint8_t *channel_ring; // WCP_CD_RING_SIZE bytes, mapped

	uint32_t last_read_pipe_id; // the host's counter, predicted
	bool poll_pending; // a POLL is in flight
	bool poll_owed; // an event was handled; channel_flush submits the next POLL
	bool eof; // the host reported EOF
	bool failed; // a device request failed; the channel is unusable
	bool blank_logged; // a POLL answered with no event was logged

	struct wl_list image_cache; // wcp_cd_image_cache_entry.link
};

/**
 * Creates the context on `device` (taking ownership of it), maps the two
 * rings, sends INIT for `channel_type` and the first POLL, and watches the
 * device's events on `loop`. NULL (logged, device destroyed) on failure.
 */
struct wcp_cd_channel *channel_create(struct wl_event_loop *loop, struct wcp_virtgpu_device *device,
	uint32_t channel_type, const struct wcp_cd_channel_listener *listener, void *data);

/**
 * Submits the POLL that the last host event left owed, if any: no further
 * host event arrives until it is called. To be called before the owner's
 * event loop sleeps.
 */
void channel_flush(struct wcp_cd_channel *channel);

/** Destroys the channel and its device. NULL is a no-op. */
void channel_destroy(struct wcp_cd_channel *channel);

/**
 * Sends bytes and identifiers in one SEND. At most WCP_CD_MAX_SEND_DATA
 * bytes and WCP_CD_MAX_IDENTIFIERS identifiers; false (logged) otherwise.
 */
bool channel_send(struct wcp_cd_channel *channel, const void *bytes, size_t len,
	const uint32_t *ids, const uint32_t *types, size_t count);

/**
 * The id the host will give the next read pipe it is sent; it must be used
 * in the next SEND that carries a read pipe, one read pipe per SEND.
 */
uint32_t channel_predict_read_pipe_id(struct wcp_cd_channel *channel);

/** Sends data (at most WCP_CD_MAX_WRITE_DATA bytes) into a host write pipe. */
bool channel_write(struct wcp_cd_channel *channel, uint32_t pipe_id, const void *bytes, size_t len,
	bool hang_up);

/**
 * The host's layout for an image, from the query ring or the cache (each
 * query creates a host template that lives as long as the context).
 */
bool channel_image_requirements(struct wcp_cd_channel *channel, uint32_t width, uint32_t height,
	uint32_t drm_format, uint32_t flags, struct wcp_cd_image_requirements *out);

/**
 * Turns a host item (a received blob, or an image template) into a guest
 * fd of `size` bytes; -1 (logged) on failure.
 */
int channel_blob_fd(struct wcp_cd_channel *channel, uint32_t blob_id, uint64_t size);

/**
 * Imports a guest buffer fd into this context: *bo_handle must be closed
 * (virtgpu_gem_close) only after the SEND naming *res_id was submitted.
 */
bool channel_import_fd(
	struct wcp_cd_channel *channel, int fd, uint32_t *res_id, uint32_t *bo_handle);

#endif
