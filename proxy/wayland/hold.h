#ifndef WCP_WAYLAND_HOLD_H
#define WCP_WAYLAND_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

struct wcp_client;

/*
 * A client's requests held back, in their order, while one of its commits
 * waits for a host buffer to come free (wayland/surface.c). A commit
 * applies on the host everything the guest sent before it, on any object
 * (an xdg_surface's ack_configure, a subsurface's position, frame
 * callbacks): for the host to see what the guest committed, the commit
 * must go out in its place, and every request after it must wait too.
 * They are handled as they would have been once the commit has gone out.
 *
 * Objects the held requests create exist at once, as placeholders, so
 * that the guest may use them meanwhile; the request that creates one
 * takes its placeholder when it is handled (hold_resource_create).
 *
 * A host that keeps every host buffer until the client sends more would
 * keep the client waiting for ever: past a deadline the commit goes out
 * into a host buffer beyond the usual few (swapchain_full). The commonest
 * such host, wlroots caching a synchronized subsurface's commits with
 * their buffers until the parent's, never gets there: those commits write
 * the host buffer of the one before (wayland/subsurface.h).
 */

struct wcp_hold {
	struct wl_list requests; // wcp_held_request.link, oldest first
	bool waiting; // the first of them is a commit waiting for a host buffer
	bool resume; // a host buffer came free since
	bool overdue; // the waiting commit may take a host buffer beyond the usual
	bool spent; // it waits on with every one of those taken: only a release helps
	bool replaying;
	long long since; // CLOCK_MONOTONIC ms at which the commit began to wait
	size_t bytes, fds; // held
};

void hold_init(struct wcp_hold *hold);

/** Drops every held request (the client is torn down), closing their fds. */
void hold_finish(struct wcp_hold *hold);

/**
 * Takes a guest request into the queue when requests are held; false when
 * it is to be handled now. `interface` is the target's. The queue owns the
 * request's fds from then on.
 */
bool hold_request(struct wcp_client *client, const struct wl_interface *interface,
	struct wl_resource *target, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);

/**
 * The commit being handled cannot go out before a host buffer comes free:
 * it is held, first of all, and so is everything after it.
 */
void hold_wait(struct wcp_client *client, const struct wl_interface *interface,
	struct wl_resource *target, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);

/** A host buffer of the client came free: its held requests go on at the loop's top. */
void hold_resume(struct wcp_client *client);

/**
 * Handles held requests, at the top of the loop, once a host buffer came
 * free or the wait is over; until another commit waits. Returns the ms
 * until the client's wait is over, -1 when it waits for nothing.
 */
int hold_step(struct wcp_client *client);

/**
 * A resource for a new guest object of id `id`: the placeholder a held
 * request made for it, or a new one.
 */
struct wl_resource *hold_resource_create(
	struct wl_client *client, const struct wl_interface *interface, int version, uint32_t id);

#endif
