#ifndef WCP_WAYLAND_METADATA_H
#define WCP_WAYLAND_METADATA_H

#include <stddef.h>
#include <stdint.h>
#include <wayland-util.h>

/**
 * What the relay knows of an interface beyond wayland-scanner's tables:
 * which requests and events are destructors. Generated at build time from
 * the same XML (protocols/gen-metadata.py), for every interface the proxy
 * has XML for; an interface missing here is one the proxy cannot relay.
 */
struct wcp_interface_meta {
	const struct wl_interface *interface;
	uint32_t destructor_requests; // bit N: request N is a destructor
	uint32_t destructor_events; // bit N: event N destroys the object
};

/** Sorted by interface name. */
extern const struct wcp_interface_meta wcp_interfaces[];
extern const size_t wcp_interface_count;

/** The metadata of the interface with this name; NULL when the proxy has no XML for it. */
const struct wcp_interface_meta *metadata_find(const char *name);

#endif
