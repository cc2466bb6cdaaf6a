#include "wayland/forward.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "virtgpu/bridge.h"
#include "wayland/hold.h"
#include "wayland/interceptors.h"

// Marks the proxies the relay dispatches, as opposed to the proxy's own.
static const int relay_marker;

static bool trace_guest, trace_host;

static void log_error(void *data, enum wl_protocol_logger_type type,
	const struct wl_protocol_logger_message *message) {
	if (type != WL_PROTOCOL_LOGGER_EVENT || message->message_opcode != WL_DISPLAY_ERROR ||
		strcmp(wl_resource_get_class(message->resource), "wl_display") != 0) {
		return;
	}
	const union wl_argument *args = message->arguments;
	struct wl_resource *target = (struct wl_resource *)args[0].o;
	struct wl_client *wl_client = wl_resource_get_client(message->resource);
	struct wcp_client *client = client_from_wl(wl_client);
	pid_t pid;
	wl_client_get_credentials(wl_client, &pid, NULL, NULL);
	wcp_log(WCP_ERROR, "client (pid %d): protocol error %" PRIu32 " on %s@%" PRIu32 ": %s",
		(int)pid, args[1].u, target != NULL ? wl_resource_get_class(target) : "?",
		target != NULL ? wl_resource_get_id(target) : 0, args[2].s);
	if (client != NULL) {
		client->errored = true;
		// libwayland ends a client whose dispatch sent the error, but not
		// one whose error came from elsewhere (a held request replayed, a
		// host's error passed on) until it sends more.
		client_fail(client, "it was sent a protocol error");
	}
}

/** libwayland's own messages ("error in client communication", ...), as our lines. */
static void log_libwayland(const char *fmt, va_list args) {
	char line[512];
	vsnprintf(line, sizeof(line), fmt, args);
	line[strcspn(line, "\n")] = '\0';
	wcp_log(WCP_ERROR, "libwayland: %s", line);
}

struct wl_protocol_logger *forward_log_errors(struct wl_display *display) {
	wl_log_set_handler_server(log_libwayland);
	wl_log_set_handler_client(log_libwayland);
	return wl_display_add_protocol_logger(display, log_error, NULL);
}

void forward_trace_init(void) {
	const char *value = getenv("WL_CROSS_PROXY_DEBUG");
	if (value == NULL) {
		return;
	}
	bool all = strstr(value, "all") != NULL || strcmp(value, "1") == 0;
	trace_guest = all || strstr(value, "guest") != NULL;
	trace_host = all || strstr(value, "host") != NULL;
}

size_t forward_arg_types(const char *signature, char types[static WCP_MAX_ARGS], bool *nullable) {
	size_t count = 0;
	bool next_nullable = false;
	for (const char *p = signature; *p != '\0' && count < WCP_MAX_ARGS; p++) {
		if (*p == '?') {
			next_nullable = true;
		} else if (strchr("iufsonah", *p) != NULL) {
			if (nullable != NULL) {
				nullable[count] = next_nullable;
			}
			types[count++] = *p;
			next_nullable = false;
		}
	}
	return count;
}

static size_t parse_signature(const char *signature, char types[static WCP_MAX_ARGS]) {
	return forward_arg_types(signature, types, NULL);
}

static void trace(const char *direction, const char *interface, uint32_t id,
	const struct wl_message *msg, const union wl_argument *args, const char *types,
	size_t count) {
	char line[1024];
	int len = snprintf(
		line, sizeof(line), "%s %s@%" PRIu32 ".%s(", direction, interface, id, msg->name);
	for (size_t i = 0; i < count && len > 0 && (size_t)len < sizeof(line); i++) {
		size_t left = sizeof(line) - (size_t)len;
		const char *sep = i > 0 ? ", " : "";
		switch (types[i]) {
		case 'i':
			len += snprintf(line + len, left, "%s%" PRId32, sep, args[i].i);
			break;
		case 'u':
		case 'n':
			len += snprintf(line + len, left, "%s%" PRIu32, sep, args[i].u);
			break;
		case 'f':
			len += snprintf(
				line + len, left, "%s%f", sep, wl_fixed_to_double(args[i].f));
			break;
		case 's':
			len += snprintf(line + len, left, "%s\"%s\"", sep,
				args[i].s != NULL ? args[i].s : "(nil)");
			break;
		case 'o':
			len += snprintf(line + len, left, "%s%s", sep, args[i].o ? "obj" : "nil");
			break;
		case 'a':
			len += snprintf(line + len, left, "%sarray[%zu]", sep,
				args[i].a != NULL ? args[i].a->size : 0);
			break;
		case 'h':
			len += snprintf(line + len, left, "%sfd %" PRId32, sep, args[i].h);
			break;
		}
	}
	wcp_log(WCP_INFO, "%s)", line);
}

void forward_close_fds(const char *types, size_t count, union wl_argument *args) {
	for (size_t i = 0; i < count; i++) {
		if (types[i] == 'h' && args[i].h >= 0) {
			close(args[i].h);
		}
	}
}

static int dispatch_event(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args);

static void handle_resource_destroy(struct wl_resource *resource) {
	struct wcp_object *object = wl_resource_get_user_data(resource);
	// Dependents still here outlive the owner only as the client goes.
	struct wcp_object *dependent, *tmp;
	wl_list_for_each_safe(dependent, tmp, &object->dependents, dependent_link) {
		wl_list_remove(&dependent->dependent_link);
		wl_list_init(&dependent->dependent_link);
	}
	wl_list_remove(&object->dependent_link);
	if (object->data_destroy != NULL) {
		object->data_destroy(object->data);
	}
	if (object->proxy != NULL) {
		wl_proxy_destroy(object->proxy);
	}
	if (object->client != NULL) {
		wl_list_remove(&object->link);
	}
	free(object);
}

struct wcp_object *forward_from_resource(struct wl_resource *resource) {
	if (resource == NULL) {
		return NULL;
	}
	// Not every guest resource is one: a held request's placeholder (the
	// request that would have made it may have been refused, its error
	// lost when libwayland could not write it) has other user data.
	const struct wcp_interface_meta *meta = metadata_find(wl_resource_get_class(resource));
	return meta != NULL && wl_resource_instance_of(resource, meta->interface, &relay_marker)
		? wl_resource_get_user_data(resource)
		: NULL;
}

/** Ends both sides of an object after its host side's destructor event. */
static void end_pair(struct wcp_object *object);

/**
 * Ends what the host destroyed with `object` as the guest destroys it:
 * the host says so only in delete_ids, which libwayland-client keeps to
 * itself, and each guest resource destroyed here sends the guest its own
 * delete_id, as the host would have.
 */
static void end_dependents(struct wcp_object *object) {
	struct wcp_object *dependent, *tmp;
	wl_list_for_each_safe(dependent, tmp, &object->dependents, dependent_link) {
		wl_list_remove(&dependent->dependent_link);
		wl_list_init(&dependent->dependent_link);
		end_pair(dependent);
	}
}

bool forward_refuse_errored(
	struct wcp_client *client, const struct wl_message *msg, union wl_argument *args) {
	if (client == NULL || !client->errored) {
		return false;
	}
	char types[WCP_MAX_ARGS];
	forward_close_fds(types, parse_signature(msg->signature, types), args);
	return true;
}

/**
 * A request with nowhere to go: its object, or one it names, has no host
 * side (the host ended it, or it was bound as its global went away). The
 * guest sees what a compositor that ignores it would give: objects for its
 * new ids, inert too, and a destructor still ends its object.
 */
static void drop_request(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	char types[WCP_MAX_ARGS];
	size_t count = parse_signature(msg->signature, types);
	forward_close_fds(types, count, args);
	struct wl_client *wl_client = wl_resource_get_client(object->resource);
	for (size_t i = 0; i < count && object->client != NULL; i++) {
		if (types[i] != 'n' || msg->types[i] == NULL) {
			continue;
		}
		struct wl_resource *created = hold_resource_create(wl_client, msg->types[i],
			wl_resource_get_version(object->resource), args[i].n);
		if (created == NULL) {
			wl_client_post_no_memory(wl_client);
			return;
		}
		forward_create_inert(object->client, created);
	}
	if ((object->meta->destructor_requests >> opcode) & 1u) {
		wl_resource_destroy(object->resource);
	}
}

/**
 * Over cross-domain a guest's fd reaches the host only as a pipe's write
 * end (the host writes, the guest reads) or as a buffer of the device; the
 * relayed protocols take nothing else (shm pools are the proxy's own). A
 * request with another fd ends the client with an error naming it, where
 * the bridge would only see a failed send.
 */
static bool fds_can_cross(struct wcp_object *object, const struct wl_message *msg,
	const char *types, size_t count, const union wl_argument *args) {
	if (object->client->bridge == NULL) {
		return true;
	}
	for (size_t i = 0; i < count; i++) {
		if (types[i] != 'h') {
			continue;
		}
		enum wcp_fd_kind kind = bridge_fd_kind(args[i].h);
		if (kind == WCP_FD_PIPE_READ_END || kind == WCP_FD_SOCKET ||
			kind == WCP_FD_MEMORY) {
			const char *name = object->meta->interface->name;
			wcp_log(WCP_ERROR, "%s.%s: a %s cannot cross the cross-domain channel",
				name, msg->name, bridge_fd_kind_name(kind));
			wl_client_post_implementation_error(
				wl_resource_get_client(object->resource),
				"%s.%s: a %s cannot reach the host over cross-domain", name,
				msg->name, bridge_fd_kind_name(kind));
			return false;
		}
	}
	return true;
}

struct wcp_object *forward_request(struct wcp_object *object, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *resource = object->resource;
	char types[WCP_MAX_ARGS];
	bool nullable[WCP_MAX_ARGS];
	size_t count = forward_arg_types(msg->signature, types, nullable);
	bool destructor = (object->meta->destructor_requests >> opcode) & 1u;

	// libwayland still owns `args`: translate into a copy.
	union wl_argument out[WCP_MAX_ARGS];
	memcpy(out, args, count * sizeof(out[0]));
	const struct wl_interface *new_interface = NULL;
	bool has_new_id = false;
	uint32_t new_id = 0;
	for (size_t i = 0; i < count; i++) {
		if (types[i] == 'o' && args[i].o != NULL) {
			struct wcp_object *arg =
				forward_from_resource((struct wl_resource *)args[i].o);
			out[i].o = arg != NULL ? (struct wl_object *)arg->proxy : NULL;
			if (out[i].o == NULL && !nullable[i] && (arg == NULL || !arg->local)) {
				// Inert, or never made: the request goes nowhere, as
				// one on it would.
				drop_request(object, opcode, msg, args);
				return NULL;
			}
			if (out[i].o == NULL && !nullable[i]) {
				// A local object: the host cannot be told of it (and
				// libwayland would abort).
				const char *name = arg->meta->interface->name;
				uint32_t id = wl_resource_get_id(arg->resource);
				wl_client_post_implementation_error(
					wl_resource_get_client(resource),
					"%s.%s cannot name %s@%" PRIu32 " to the host",
					object->meta->interface->name, msg->name, name, id);
				forward_close_fds(types, count, args);
				return NULL;
			}
		} else if (types[i] == 'n') {
			new_interface = msg->types[i];
			has_new_id = true;
			new_id = args[i].n;
			out[i].o = NULL;
		}
	}
	if (!fds_can_cross(object, msg, types, count, args)) {
		forward_close_fds(types, count, args);
		return NULL;
	}
	if (has_new_id && new_interface == NULL) {
		// Untyped new_id is wl_registry.bind's alone, which the registry handles.
		wl_client_post_implementation_error(wl_resource_get_client(resource),
			"%s.%s cannot be relayed", object->meta->interface->name, msg->name);
		forward_close_fds(types, count, args);
		return NULL;
	}

	uint32_t version = wl_proxy_get_version(object->proxy);
	struct wl_proxy *new_proxy = wl_proxy_marshal_array_flags(object->proxy, opcode,
		new_interface, version, destructor ? WL_MARSHAL_FLAG_DESTROY : 0, out);
	// libwayland duplicated the fds it sent; the received ones are ours to close.
	forward_close_fds(types, count, args);
	if (destructor) {
		object->proxy = NULL;
		end_dependents(object);
		wl_resource_destroy(resource);
		return NULL;
	}
	if (new_interface == NULL) {
		return NULL;
	}
	struct wl_resource *new_resource = hold_resource_create(wl_resource_get_client(resource),
		new_interface, wl_resource_get_version(resource), new_id);
	if (new_resource == NULL) {
		wl_proxy_destroy(new_proxy);
		wl_resource_post_no_memory(resource);
		return NULL;
	}
	struct wcp_object *created = forward_create(object->client, new_resource, new_proxy);
	if (created != NULL && opcode == WL_SURFACE_FRAME &&
		strcmp(object->meta->interface->name, wl_surface_interface.name) == 0) {
		// A surface destroyed before its frame is shown takes the callback
		// with it: weston and wlroots send no done for it.
		wl_list_insert(&object->dependents, &created->dependent_link);
	}
	return created;
}

/** A request on a local object: its interceptor, or the destructor. */
static void dispatch_local(struct wcp_object *object, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	if (trace_guest) {
		char types[WCP_MAX_ARGS];
		trace("guest->proxy", object->meta->interface->name,
			wl_resource_get_id(object->resource), msg, args, types,
			parse_signature(msg->signature, types));
	}
	wcp_interceptor_func_t intercept = interceptor_find(object->meta->interface, opcode);
	if (intercept != NULL) {
		intercept(object, opcode, msg, args);
		return;
	}
	char types[WCP_MAX_ARGS];
	forward_close_fds(types, parse_signature(msg->signature, types), args);
	if ((object->meta->destructor_requests >> opcode) & 1u) {
		wl_resource_destroy(object->resource);
		return;
	}
	// Every request of a local interface has an interceptor; one without
	// is a gap in interceptors.c, reported rather than silently dropped.
	wl_client_post_implementation_error(wl_resource_get_client(object->resource),
		"%s.%s is not implemented", object->meta->interface->name, msg->name);
}

/** The size of a message on the wire, and in *fds the fds it carries. */
static size_t message_size(
	const struct wl_message *msg, const union wl_argument *args, size_t *fds) {
	char types[WCP_MAX_ARGS];
	size_t count = parse_signature(msg->signature, types);
	size_t size = 8;
	*fds = 0;
	for (size_t i = 0; i < count; i++) {
		switch (types[i]) {
		case 'h':
			(*fds)++;
			break;
		case 's':
			size += 4 +
				(args[i].s != NULL ? (strlen(args[i].s) + 1 + 3) & ~(size_t)3 : 0);
			break;
		case 'a':
			size += 4 + (args[i].a != NULL ? (args[i].a->size + 3) & ~(size_t)3 : 0);
			break;
		default:
			size += 4;
			break;
		}
	}
	return size;
}

static int dispatch_request(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *resource = target;
	struct wcp_object *object = wl_resource_get_user_data(resource);
	if (forward_refuse_errored(object->client, msg, args)) {
		return 0;
	}
	if (object->client != NULL &&
		hold_request(
			object->client, object->meta->interface, resource, opcode, msg, args)) {
		return 0;
	}
	if (object->local && object->client != NULL) {
		dispatch_local(object, opcode, msg, args);
		return 0;
	}
	if (object->proxy == NULL) {
		drop_request(object, opcode, msg, args);
		return 0;
	}
	if (trace_guest) {
		char types[WCP_MAX_ARGS];
		trace("guest->host", object->meta->interface->name, wl_proxy_get_id(object->proxy),
			msg, args, types, parse_signature(msg->signature, types));
	}
	// Over cross-domain some messages need meaning; see interceptors.c.
	wcp_interceptor_func_t intercept = object->client->bridge != NULL
		? interceptor_find(object->meta->interface, opcode)
		: NULL;
	size_t fds, size = message_size(msg, args, &fds);
	if (intercept != NULL) {
		size += WCP_HOST_INTERCEPT_BYTES;
		fds += WCP_HOST_INTERCEPT_FDS;
	}
	if (!client_host_reserve(object->client, size, fds)) {
		drop_request(object, opcode, msg, args); // the client is being ended
		return 0;
	}
	if (intercept != NULL) {
		intercept(object, opcode, msg, args);
	} else {
		forward_request(object, opcode, msg, args);
	}
	return 0;
}

int forward_dispatch(struct wl_resource *resource, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	return dispatch_request(&relay_marker, resource, opcode, msg, args);
}

static void end_pair(struct wcp_object *object) {
	if (object->proxy != NULL) {
		wl_proxy_destroy(object->proxy);
		object->proxy = NULL;
	}
	wl_resource_destroy(object->resource);
}

static int dispatch_event(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_proxy *proxy = target;
	struct wcp_object *object = wl_proxy_get_user_data(proxy);
	char types[WCP_MAX_ARGS];
	bool nullable[WCP_MAX_ARGS];
	size_t count = forward_arg_types(msg->signature, types, nullable);
	bool destructor = (object->meta->destructor_events >> opcode) & 1u;

	if (trace_host) {
		trace("host->guest", object->meta->interface->name, wl_proxy_get_id(proxy), msg,
			args, types, count);
	}
	wcp_observer_func_t observe = object->client->bridge != NULL
		? observer_find(object->meta->interface, opcode)
		: NULL;
	if (observe != NULL) {
		observe(object, args);
	}
	// An object the guest has already destroyed cannot be named to it: the
	// guest would have ignored the event, so it is dropped.
	bool drop = false;
	for (size_t i = 0; i < count; i++) {
		if (types[i] == 'o' && args[i].o != NULL && !nullable[i]) {
			struct wl_proxy *arg = (struct wl_proxy *)args[i].o;
			drop = drop || !forward_is_relayed(arg) ||
				wl_proxy_get_user_data(arg) == NULL;
		} else if (types[i] == 'o' && args[i].o == NULL && !nullable[i]) {
			drop = true;
		}
	}
	if (drop) {
		for (size_t i = 0; i < count; i++) {
			if (types[i] == 'n' && args[i].o != NULL) {
				wl_proxy_destroy((struct wl_proxy *)args[i].o);
			}
		}
		forward_close_fds(types, count, args);
		if (destructor) {
			end_pair(object);
		}
		return 0;
	}
	// libwayland-client unrefs the proxies in `args` after this returns:
	// translate into a copy.
	union wl_argument out[WCP_MAX_ARGS];
	memcpy(out, args, count * sizeof(out[0]));
	for (size_t i = 0; i < count; i++) {
		if (types[i] == 'o' && args[i].o != NULL) {
			struct wl_proxy *arg = (struct wl_proxy *)args[i].o;
			struct wcp_object *arg_object =
				forward_is_relayed(arg) ? wl_proxy_get_user_data(arg) : NULL;
			out[i].o = arg_object != NULL ? (struct wl_object *)arg_object->resource
						      : NULL;
		} else if (types[i] == 'n') {
			// libwayland-client made the new proxy; the guest gets its twin.
			struct wl_proxy *new_proxy = (struct wl_proxy *)args[i].o;
			struct wl_resource *new_resource =
				wl_resource_create(wl_resource_get_client(object->resource),
					msg->types[i], (int)wl_proxy_get_version(new_proxy), 0);
			if (new_resource == NULL) {
				wl_proxy_destroy(new_proxy);
				client_fail(object->client, "out of memory");
				forward_close_fds(types, count, args);
				return 0;
			}
			struct wcp_object *created =
				forward_create(object->client, new_resource, new_proxy);
			out[i].o = created != NULL ? (struct wl_object *)new_resource : NULL;
		}
	}
	wl_resource_post_event_array(object->resource, opcode, out);
	forward_close_fds(types, count, args);
	if (destructor) {
		end_pair(object);
	}
	return 0;
}

/** A new object for the resource, dispatching its requests; NULL (resource destroyed) on failure. */
static struct wcp_object *object_create(
	struct wcp_client *client, struct wl_resource *resource, const char *interface) {
	const struct wcp_interface_meta *meta = metadata_find(interface);
	struct wcp_object *object = meta != NULL ? calloc(1, sizeof(*object)) : NULL;
	if (object == NULL) {
		wl_resource_post_no_memory(resource);
		wl_resource_destroy(resource);
		return NULL;
	}
	object->resource = resource;
	object->client = client;
	object->meta = meta;
	wl_list_init(&object->dependents);
	wl_list_init(&object->dependent_link);
	wl_list_insert(&client->objects, &object->link);
	wl_resource_set_dispatcher(
		resource, dispatch_request, &relay_marker, object, handle_resource_destroy);
	return object;
}

struct wcp_object *forward_create(
	struct wcp_client *client, struct wl_resource *resource, struct wl_proxy *proxy) {
	if (proxy == NULL) {
		// libwayland-client could not allocate it.
		wl_resource_post_no_memory(resource);
		wl_resource_destroy(resource);
		return NULL;
	}
	const char *name = wl_proxy_get_class(proxy);
	struct wcp_object *object = object_create(client, resource, name);
	if (object == NULL) {
		wcp_log(WCP_ERROR, "cannot relay a %s", name);
		wl_proxy_destroy(proxy);
		return NULL;
	}
	object->proxy = proxy;
	wl_proxy_add_dispatcher(proxy, dispatch_event, &relay_marker, object);
	return object;
}

struct wcp_object *forward_create_local(struct wcp_client *client, struct wl_resource *resource) {
	struct wcp_object *object =
		object_create(client, resource, wl_resource_get_class(resource));
	if (object != NULL) {
		object->local = true;
	}
	return object;
}

struct wcp_object *forward_create_inert(struct wcp_client *client, struct wl_resource *resource) {
	return object_create(client, resource, wl_resource_get_class(resource));
}

void forward_replace_proxy(struct wcp_object *object, struct wl_proxy *proxy) {
	object->proxy = proxy;
	wl_proxy_add_dispatcher(proxy, dispatch_event, &relay_marker, object);
}

bool forward_is_relayed(struct wl_proxy *proxy) {
	return wl_proxy_get_listener(proxy) == &relay_marker;
}

void forward_detach(struct wcp_object *object) {
	if (object->proxy != NULL) {
		wl_proxy_destroy(object->proxy);
		object->proxy = NULL;
	}
	if (object->data_destroy != NULL) {
		object->data_destroy(object->data);
		object->data_destroy = NULL;
		object->data = NULL;
	}
	wl_list_remove(&object->link);
	object->client = NULL;
}

struct wcp_object *forward_find_host_id(struct wcp_client *client, uint32_t id) {
	struct wcp_object *object;
	wl_list_for_each(object, &client->objects, link) {
		if (object->proxy != NULL && wl_proxy_get_id(object->proxy) == id) {
			return object;
		}
	}
	return NULL;
}
