#ifndef WCP_WAYLAND_INTERCEPTORS_H
#define WCP_WAYLAND_INTERCEPTORS_H

#include <stdint.h>
#include <wayland-util.h>

struct wcp_object;

/**
 * A guest request that needs meaning over cross-domain. The handler takes
 * over the request entirely (forward_request() for the part it passes on)
 * and owns its fds.
 */
typedef void (*wcp_interceptor_func_t)(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

/** The handler of a request, NULL when it is relayed as it is. */
wcp_interceptor_func_t interceptor_find(const struct wl_interface *interface, uint32_t opcode);

/**
 * A host event the proxy needs to know of over cross-domain. The observer
 * only reads it; the event is relayed as it is afterwards.
 */
typedef void (*wcp_observer_func_t)(struct wcp_object *object, const union wl_argument *args);

/** The observer of an event, NULL when there is none. */
wcp_observer_func_t observer_find(const struct wl_interface *interface, uint32_t opcode);

#endif
