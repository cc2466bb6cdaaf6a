#include "wayland/viewporter.h"

#include "wayland/forward.h"
#include "wayland/surface.h"

void wp_viewporter_req_get_viewport(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wcp_object *surface = forward_from_resource((struct wl_resource *)args[1].o);
	if (surface != NULL) {
		surface_note_viewport(surface);
	}
	forward_request(object, opcode, msg, args);
}
