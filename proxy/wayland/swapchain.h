#ifndef WCP_WAYLAND_SWAPCHAIN_H
#define WCP_WAYLAND_SWAPCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <wayland-util.h>

struct wcp_client;
struct wcp_shm_buffer;

/**
 * The host buffers of one surface over cross-domain. A commit copies the
 * guest's shm buffer into one of them and releases the guest's buffer at
 * once; the host shows the copy and releases it when it is done. A host
 * buffer the host holds is never written: the next commit goes into a free
 * one, made when there is none, up to a few. The caller marks a host
 * buffer busy once it has attached it.
 *
 * A guest that commits faster than the host releases is held back: past a
 * few host buffers in use, the guest's release waits for the host's
 * (swapchain_release_guest), and when the host holds all of them the
 * commit waits (wayland/hold.h) until one comes free (`freed`).
 *
 * The one exception: the host buffer of the surface's latest attach, when
 * the host holds it only for commits it has cached and not applied (a
 * synchronized subsurface's, wayland/subsurface.h), shows nothing, and the
 * surface's next commit that is only cached as well writes it again rather
 * than take another. Being in the host's newest state, it cannot have been
 * released meanwhile, so that one release still answers for every use.
 */

struct wcp_host_buffer {
	struct wcp_swapchain *chain;
	struct wl_buffer *buffer; // host proxy
	uint8_t *data; // its host-visible memory, mapped
	size_t map_size;
	int32_t width, height, stride;
	uint32_t format;
	bool busy; // attached on the host and not released yet
	uint64_t cached_epoch; // busy for cached commits alone, of this cache epoch; 0 = not
	uint64_t synced_seq; // the surface commit whose content it holds; 0 = none
	struct wl_resource *guest_release; // a guest wl_buffer released with this one
	struct wl_listener guest_release_destroy;
	struct wl_list link; // wcp_swapchain.buffers
};

struct wcp_swapchain {
	struct wcp_client *client;
	struct wl_list buffers; // wcp_host_buffer.link
	int count, busy;
	struct wcp_host_buffer
		*latest; // of the surface's latest attach; NULL: another buffer, none
	void (*freed)(void *data); // a host buffer came free
	void *data;
};

void swapchain_init(struct wcp_swapchain *chain, struct wcp_client *client,
	void (*freed)(void *data), void *data);

/** Destroys every host buffer (the host may still hold some: it keeps its copy). */
void swapchain_finish(struct wcp_swapchain *chain);

/**
 * Whether the host holds every host buffer the chain may have: a commit
 * must wait for `freed`. With `overdue` (the host has kept them too long)
 * the chain may have a few more.
 */
bool swapchain_full(const struct wcp_swapchain *chain, bool overdue);

/**
 * For a commit the host will only cache (`epoch`, the client's cache
 * epoch, is nonzero): the host buffer of the surface's latest attach when
 * it has the guest buffer's layout and the host holds it for cached
 * commits of that epoch alone; NULL otherwise.
 */
struct wcp_host_buffer *swapchain_cached(
	const struct wcp_swapchain *chain, const struct wcp_shm_buffer *guest, uint64_t epoch);

/**
 * A host buffer for a commit, with the guest buffer's size and format
 * and its host stride (shm_buffer_host_stride): the cached one of swapchain_cached, else a free one, the one
 * holding the newest content when several are, else a new one. NULL
 * (logged) when none can be had: the host gave no memory, or the chain is
 * full, which the caller checks first.
 */
struct wcp_host_buffer *swapchain_acquire(struct wcp_swapchain *chain,
	const struct wcp_shm_buffer *guest, bool overdue, uint64_t epoch);

/**
 * Marks a host buffer attached on the host, by a commit the host will only
 * cache when `epoch` is nonzero (as for swapchain_cached).
 */
void swapchain_attached(struct wcp_host_buffer *host, uint64_t epoch);

/** The surface's commit attached a buffer of another kind, or none. */
void swapchain_attached_other(struct wcp_swapchain *chain);

/**
 * Releases the guest's buffer now when the host holds few of the chain's
 * buffers, else with `host` once the host releases it. A guest buffer
 * that was to be released with `host` before it was written again is
 * released now.
 */
void swapchain_release_guest(struct wcp_host_buffer *host, struct wl_resource *guest);

#endif
