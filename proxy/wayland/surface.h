#ifndef WCP_WAYLAND_SURFACE_H
#define WCP_WAYLAND_SURFACE_H

#include <stdint.h>
#include <wayland-util.h>

struct wcp_object;

/*
 * wl_surface over cross-domain: the proxy follows attach, damage, scale
 * and transform, and at each commit copies the shm buffer into a free host
 * buffer of the surface (wayland/swapchain.h), exactly what changed since
 * that host buffer was last written: the surface damage of every commit in
 * between, or all of it when that is unknown. The guest's buffer is
 * released right after the copy.
 */
/**
 * Notes that a surface has a wp_viewport: its surface damage then maps to
 * buffer pixels through the viewport, which is not followed, and commits
 * copy the whole buffer.
 */
void surface_note_viewport(struct wcp_object *object);

void wl_surface_req_attach(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);
void wl_surface_req_damage(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);
void wl_surface_req_damage_buffer(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_surface_req_set_buffer_scale(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_surface_req_set_buffer_transform(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);
void wl_surface_req_commit(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);

#endif
