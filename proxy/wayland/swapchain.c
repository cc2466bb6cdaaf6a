#include "wayland/swapchain.h"

#include <drm_fourcc.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "server.h"
#include "virtgpu/bridge.h"
#include "virtgpu/channel.h"
#include "wayland/shm.h"

/** Host buffers a surface keeps once the host has released them. */
#define KEEP 3

/**
 * Host buffers one surface may have at once. The host holds one or two;
 * more are made only while commits run ahead of the host's releases.
 */
#define MAX 4

/** ... and when the host has kept them all too long (wayland/hold.h). */
#define MAX_OVERDUE 8

/** Held by the host at most, for the guest's buffers to be released early. */
#define EARLY 2

static void set_guest_release(struct wcp_host_buffer *host, struct wl_resource *guest) {
	if (host->guest_release != NULL) {
		wl_list_remove(&host->guest_release_destroy.link);
	}
	host->guest_release = guest;
	if (guest != NULL) {
		wl_resource_add_destroy_listener(guest, &host->guest_release_destroy);
	}
}

static void handle_guest_release_destroy(struct wl_listener *listener, void *data) {
	struct wcp_host_buffer *host = wl_container_of(listener, host, guest_release_destroy);
	wl_list_remove(&listener->link);
	host->guest_release = NULL;
}

static void host_buffer_destroy(struct wcp_host_buffer *host) {
	if (host->guest_release != NULL) {
		// Its surface is gone: the guest may have its buffer back.
		wl_buffer_send_release(host->guest_release);
		set_guest_release(host, NULL);
	}
	wl_list_remove(&host->link);
	if (host->chain->latest == host) {
		host->chain->latest = NULL;
	}
	host->chain->count--;
	host->chain->busy -= host->busy ? 1 : 0;
	struct wcp_server *server = host->chain->client->server;
	server->host_buffers--;
	server->host_buffer_bytes -= host->map_size;
	wl_buffer_destroy(host->buffer);
	munmap(host->data, host->map_size);
	free(host);
}

static bool same_layout(const struct wcp_host_buffer *host, const struct wcp_shm_buffer *guest) {
	return host->width == guest->width && host->height == guest->height &&
		host->stride == shm_buffer_host_stride(guest) && host->format == guest->format &&
		host->map_size >= shm_buffer_size(guest);
}

static void handle_release(void *data, struct wl_buffer *buffer) {
	struct wcp_host_buffer *host = data;
	struct wcp_swapchain *chain = host->chain;
	if (!host->busy) {
		return;
	}
	host->busy = false;
	chain->busy--;
	if (host->guest_release != NULL) {
		wl_buffer_send_release(host->guest_release);
		set_guest_release(host, NULL);
	}
	if (chain->count > KEEP) {
		host_buffer_destroy(host);
	}
	chain->freed(chain->data);
}

static const struct wl_buffer_listener host_buffer_listener = {
	.release = handle_release,
};

/** Host-visible memory of at least `size` bytes, mapped; its fd in *fd. */
static uint8_t *host_memory(struct wcp_client *client, size_t size, size_t *map_size, int *fd) {
	struct wcp_cd_channel *channel = bridge_channel(client->bridge);
	// A 1-row R8 image is plain bytes; page multiples keep the host's
	// per-size templates few.
	uint32_t width = (uint32_t)((size + 4095u) & ~(size_t)4095u);
	struct wcp_cd_image_requirements reqs;
	if (!channel_image_requirements(channel, width, 1, DRM_FORMAT_R8,
		    WCP_CD_FLAG_LINEAR | WCP_CD_FLAG_SW_WRITE_OFTEN, &reqs)) {
		return NULL;
	}
	if (reqs.size < width) {
		// Writing the image would run past the host's memory.
		wcp_log(WCP_ERROR,
			"the host offers %" PRIu64 " bytes for an image of %" PRIu32 " bytes",
			reqs.size, width);
		return NULL;
	}
	*fd = channel_blob_fd(channel, reqs.blob_id, reqs.size);
	if (*fd < 0) {
		return NULL;
	}
	uint8_t *data = mmap(NULL, reqs.size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (data == MAP_FAILED) {
		wcp_log_errno(WCP_ERROR, "cannot map %" PRIu64 " bytes of host memory", reqs.size);
		close(*fd);
		return NULL;
	}
	*map_size = reqs.size;
	return data;
}

static struct wcp_host_buffer *host_buffer_create(
	struct wcp_swapchain *chain, const struct wcp_shm_buffer *guest) {
	struct wcp_host_buffer *host = calloc(1, sizeof(*host));
	if (host == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	size_t size = shm_buffer_size(guest);
	int fd;
	host->data = host_memory(chain->client, size, &host->map_size, &fd);
	if (host->data == NULL) {
		free(host);
		return NULL;
	}
	// The pool is only a way to name the memory: the buffer keeps it.
	struct wl_shm_pool *pool = wl_shm_create_pool(guest->host_shm, fd, (int32_t)size);
	close(fd);
	host->stride = shm_buffer_host_stride(guest);
	host->buffer = wl_shm_pool_create_buffer(
		pool, 0, guest->width, guest->height, host->stride, guest->format);
	wl_shm_pool_destroy(pool);
	if (host->buffer == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		munmap(host->data, host->map_size);
		free(host);
		return NULL;
	}
	wl_buffer_add_listener(host->buffer, &host_buffer_listener, host);
	host->guest_release_destroy.notify = handle_guest_release_destroy;
	host->chain = chain;
	host->width = guest->width;
	host->height = guest->height;
	host->format = guest->format;
	wl_list_insert(&chain->buffers, &host->link);
	chain->count++;
	chain->client->server->host_buffers++;
	chain->client->server->host_buffer_bytes += host->map_size;
	return host;
}

void swapchain_init(struct wcp_swapchain *chain, struct wcp_client *client,
	void (*freed)(void *data), void *data) {
	*chain = (struct wcp_swapchain){.client = client, .freed = freed, .data = data};
	wl_list_init(&chain->buffers);
}

void swapchain_finish(struct wcp_swapchain *chain) {
	struct wcp_host_buffer *host, *tmp;
	wl_list_for_each_safe(host, tmp, &chain->buffers, link) {
		host_buffer_destroy(host);
	}
}

bool swapchain_full(const struct wcp_swapchain *chain, bool overdue) {
	return chain->busy >= (overdue ? MAX_OVERDUE : MAX);
}

struct wcp_host_buffer *swapchain_cached(
	const struct wcp_swapchain *chain, const struct wcp_shm_buffer *guest, uint64_t epoch) {
	struct wcp_host_buffer *host = chain->latest;
	return epoch != 0 && host != NULL && host->busy && host->cached_epoch == epoch &&
			same_layout(host, guest)
		? host
		: NULL;
}

struct wcp_host_buffer *swapchain_acquire(struct wcp_swapchain *chain,
	const struct wcp_shm_buffer *guest, bool overdue, uint64_t epoch) {
	struct wcp_host_buffer *best = swapchain_cached(chain, guest, epoch), *host, *tmp;
	if (best != NULL) {
		return best;
	}
	wl_list_for_each_safe(host, tmp, &chain->buffers, link) {
		if (host->busy) {
			continue;
		}
		if (!same_layout(host, guest)) {
			// The surface's buffers changed size or format: free ones
			// of the old layout will not be used again.
			host_buffer_destroy(host);
		} else if (best == NULL || host->synced_seq > best->synced_seq) {
			best = host;
		}
	}
	if (best != NULL) {
		return best;
	}
	if (swapchain_full(chain, overdue)) {
		wcp_log(WCP_ERROR, "a commit found every host buffer of its surface in use");
		return NULL;
	}
	return host_buffer_create(chain, guest);
}

void swapchain_attached(struct wcp_host_buffer *host, uint64_t epoch) {
	if (!host->busy) {
		host->busy = true;
		host->chain->busy++;
		host->cached_epoch = epoch;
	}
	// Attached again while busy only as swapchain_cached allows: its
	// epoch stands.
	host->chain->latest = host;
}

void swapchain_attached_other(struct wcp_swapchain *chain) {
	chain->latest = NULL;
}

void swapchain_release_guest(struct wcp_host_buffer *host, struct wl_resource *guest) {
	// A buffer attached again is released once, as a compositor does,
	// when its last use ends: an older host buffer no longer answers for it.
	struct wcp_host_buffer *other;
	wl_list_for_each(other, &host->chain->buffers, link) {
		if (other != host && other->guest_release == guest) {
			set_guest_release(other, NULL);
		}
	}
	if (host->guest_release != NULL && host->guest_release != guest) {
		// Written again (a cached commit's): nothing waits on that guest
		// buffer's content any more.
		wl_buffer_send_release(host->guest_release);
	}
	set_guest_release(host, NULL);
	if (host->chain->busy <= EARLY) {
		wl_buffer_send_release(guest);
	} else {
		// Commits run ahead of the host: hold the guest back.
		set_guest_release(host, guest);
	}
}
