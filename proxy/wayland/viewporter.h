#ifndef WCP_WAYLAND_VIEWPORTER_H
#define WCP_WAYLAND_VIEWPORTER_H

#include <stdint.h>
#include <wayland-util.h>

struct wcp_object;

/** wp_viewporter over cross-domain: marks the surface for whole-buffer copies. */
void wp_viewporter_req_get_viewport(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

#endif
