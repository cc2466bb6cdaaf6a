#ifndef WCP_WAYLAND_FORWARD_H
#define WCP_WAYLAND_FORWARD_H

#include <stdbool.h>
#include <wayland-client-core.h>
#include <wayland-server-core.h>

#include "wayland/metadata.h"

struct wcp_client;

/** Arguments a message may have at most (libwayland's limit). */
#define WCP_MAX_ARGS 20

/**
 * One relayed object: a guest resource and the host proxy it stands for.
 * Requests on the resource are forwarded to the proxy and events on the
 * proxy to the resource, generically from the interface tables; only
 * object, new-object and fd arguments are translated.
 *
 * The struct is freed in the resource's destroy handler. When the host
 * object goes first, the resource stays, inert (proxy NULL).
 *
 * A local object has no host side at all: the proxy implements it (shm
 * pools and buffers over cross-domain). Its requests all go to
 * interceptors, and its destructor requests just destroy it.
 */
struct wcp_object {
	struct wl_resource *resource; // guest side
	struct wl_proxy *proxy; // host side; NULL once gone
	struct wcp_client *client; // NULL once the client is torn down
	const struct wcp_interface_meta *meta;
	void *data; // protocol state of an intercepted interface; may be NULL
	void (*data_destroy)(void *data); // frees `data` with the object, or when detached
	bool local; // implemented by the proxy; never has a host side
	struct wl_list link; // wcp_client.objects
	// Objects the host destroys with this one and tells the proxy of only
	// in a delete_id, which libwayland-client keeps to itself: a surface's
	// frame callbacks. They end with it.
	struct wl_list dependents; // wcp_object.dependent_link
	struct wl_list dependent_link; // an owner's dependents, or empty
};

/**
 * Pairs a new guest resource with a host proxy and starts relaying between
 * them. Takes ownership of both; NULL (resource and proxy destroyed) when
 * the interface is unknown or memory runs out.
 */
struct wcp_object *forward_create(
	struct wcp_client *client, struct wl_resource *resource, struct wl_proxy *proxy);

/**
 * Makes a new guest resource a local object (see above). Takes ownership
 * of the resource; NULL (resource destroyed) when out of memory.
 */
struct wcp_object *forward_create_local(struct wcp_client *client, struct wl_resource *resource);

/**
 * Makes a new guest resource inert from the start: its requests go
 * nowhere (a bind that crossed the global's removal). Takes ownership of
 * the resource; NULL (resource destroyed) when out of memory.
 */
struct wcp_object *forward_create_inert(struct wcp_client *client, struct wl_resource *resource);

/**
 * Forwards a guest request to the host as it is, translating its object,
 * new-object and fd arguments (interceptors call this for the part they do
 * not rewrite). Returns the object the request created, or NULL.
 */
struct wcp_object *forward_request(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

/**
 * Handles a guest request on a relayed object as its dispatcher does (a
 * request held back, wayland/hold.h).
 */
int forward_dispatch(struct wl_resource *resource, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args);

/**
 * The argument types of a message, one char each ("iufsonah"), and their
 * count; with `nullable`, which of them may be null.
 */
size_t forward_arg_types(const char *signature, char types[static WCP_MAX_ARGS], bool *nullable);

/** Closes the fds among a message's arguments (of forward_arg_types' types). */
void forward_close_fds(const char *types, size_t count, union wl_argument *args);

/**
 * True, with the request's fds closed, when the client was sent a protocol
 * error: nothing more of it is handled (libwayland may still dispatch one
 * request after an error sent outside the client's dispatch). Each
 * dispatcher of guest requests asks first.
 */
bool forward_refuse_errored(
	struct wcp_client *client, const struct wl_message *msg, union wl_argument *args);

/** Gives the object a new host proxy (the old one is the caller's to destroy). */
void forward_replace_proxy(struct wcp_object *object, struct wl_proxy *proxy);

/**
 * The relayed object of a guest resource (an argument of a request); NULL
 * for a resource that is none (a placeholder, a registry).
 */
struct wcp_object *forward_from_resource(struct wl_resource *resource);

/** Whether the proxy is one of the relay's (not the proxy's own). */
bool forward_is_relayed(struct wl_proxy *proxy);

/**
 * Detaches the object from its client (client teardown): destroys its host
 * proxy and its data, which may hold more of the host connection.
 */
void forward_detach(struct wcp_object *object);

/** The relayed object whose host proxy has this id; NULL when none. */
struct wcp_object *forward_find_host_id(struct wcp_client *client, uint32_t id);

/**
 * Logs every protocol error sent to a guest client, whoever raised it
 * (libwayland for malformed messages, the proxy, or the host through it).
 * The logger is the caller's to destroy before the display.
 */
struct wl_protocol_logger *forward_log_errors(struct wl_display *display);

/** Switches the protocol trace on from WL_CROSS_PROXY_DEBUG ("guest", "host", "all"). */
void forward_trace_init(void);

#endif
