#include "wayland/registry.h"

#include <stdlib.h>
#include <string.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "wayland/forward.h"
#include "wayland/hold.h"
#include "wayland/metadata.h"

uint32_t registry_policy(const char *interface, uint32_t host_version, bool over_channel) {
	const struct wcp_interface_meta *meta = metadata_find(interface);
	if (meta == NULL) {
		return 0; // no XML: the proxy cannot relay it
	}
	if (meta->interface == &wl_display_interface || meta->interface == &wl_registry_interface) {
		// Never globals: a host that offers them is wrong, and the proxy
		// takes objects of these two for its own.
		return 0;
	}
	uint32_t ours = (uint32_t)meta->interface->version;
	if (over_channel && meta->interface == &wl_shm_interface) {
		// The guest's pools and buffers are the proxy's own, made on the
		// host wl_shm the guest bound: version 2's release would destroy
		// that while they still use it.
		ours = 1;
	}
	return host_version < ours ? host_version : ours;
}

static void send_global(struct wl_resource *registry, const struct wcp_host_global *global) {
	if (global->advertised > 0 && !global->removed) {
		wl_registry_send_global(
			registry, global->name, global->interface, global->advertised);
	}
}

static void handle_bind(struct wcp_client *client, struct wl_resource *registry, uint32_t name,
	const char *interface, uint32_t version, uint32_t id) {
	struct wl_client *wl_client = client->client;
	struct wcp_host_global *global, *found = NULL;
	wl_list_for_each(global, &client->host_globals, link) {
		if (global->name == name && global->advertised > 0) {
			found = global;
			break;
		}
	}
	if (found == NULL || strcmp(found->interface, interface) != 0 || version == 0 ||
		version > found->advertised) {
		wl_resource_post_error(registry, WL_DISPLAY_ERROR_INVALID_OBJECT,
			"invalid global %s (%u) version %u", interface, name, version);
		return;
	}
	const struct wl_interface *type = metadata_find(interface)->interface;
	struct wl_resource *resource = hold_resource_create(wl_client, type, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(wl_client);
		return;
	}
	if (found->removed) {
		// The guest had not seen the removal yet: as a compositor does,
		// give it an object that does nothing instead of an error.
		forward_create_inert(client, resource);
		return;
	}
	// name, interface, version and id, as on the guest's wire
	size_t size = 8 + 4 + 4 + ((strlen(interface) + 1 + 3) & ~(size_t)3) + 4 + 4;
	if (!client_host_reserve(client, size, 0)) {
		forward_create_inert(client, resource); // the client is being ended
		return;
	}
	struct wl_proxy *proxy = wl_registry_bind(client->host_registry, name, type, version);
	forward_create(client, resource, proxy);
}

// Marks the guest's wl_registry resources.
static const int registry_marker;

static int dispatch_registry(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *registry = target;
	struct wcp_client *client = wl_resource_get_user_data(registry);
	if (client == NULL || forward_refuse_errored(client, msg, args) ||
		hold_request(client, &wl_registry_interface, registry, opcode, msg, args)) {
		return 0;
	}
	if (opcode == WL_REGISTRY_BIND) {
		handle_bind(client, registry, args[0].u, args[1].s, args[2].u, args[3].n);
	}
	return 0;
}

static void handle_registry_destroy(struct wl_resource *resource) {
	wl_list_remove(wl_resource_get_link(resource));
}

static void send_all_globals(struct wcp_client *client, struct wl_resource *registry) {
	struct wcp_host_global *global;
	wl_list_for_each_reverse(global, &client->host_globals, link) {
		send_global(registry, global);
	}
}

static void get_registry(struct wcp_client *client, struct wl_resource *display, uint32_t id) {
	struct wl_resource *registry =
		hold_resource_create(client->client, &wl_registry_interface, 1, id);
	if (registry == NULL) {
		wl_client_post_no_memory(client->client);
		return;
	}
	wl_resource_set_dispatcher(
		registry, dispatch_registry, &registry_marker, client, handle_registry_destroy);
	wl_list_insert(&client->registries, wl_resource_get_link(registry));
	if (client->registry_sync == NULL) {
		send_all_globals(client, registry);
	}
}

static void display_sync(struct wcp_client *client, uint32_t id) {
	struct wl_resource *callback =
		hold_resource_create(client->client, &wl_callback_interface, 1, id);
	if (callback == NULL) {
		wl_client_post_no_memory(client->client);
		return;
	}
	if (!client_host_reserve(client, 12, 0)) {
		forward_create_inert(client, callback); // the client is being ended
		return;
	}
	// A relayed pair: the host's done is the guest's done.
	forward_create(client, callback, (struct wl_proxy *)wl_display_sync(client->host));
}

static int dispatch_display(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *display = target;
	struct wcp_client *client = wl_resource_get_user_data(display);
	if (forward_refuse_errored(client, msg, args) ||
		hold_request(client, &wl_display_interface, display, opcode, msg, args)) {
		return 0;
	}
	switch (opcode) {
	case WL_DISPLAY_SYNC:
		display_sync(client, args[0].n);
		break;
	case WL_DISPLAY_GET_REGISTRY:
		get_registry(client, display, args[0].n);
		break;
	}
	return 0;
}

int registry_dispatch(struct wl_resource *resource, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	return wl_resource_get_id(resource) == 1
		? dispatch_display(NULL, resource, opcode, msg, args)
		: dispatch_registry(&registry_marker, resource, opcode, msg, args);
}

static void handle_host_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct wcp_client *client = data;
	struct wcp_host_global *global = calloc(1, sizeof(*global));
	if (global == NULL || (global->interface = strdup(interface)) == NULL) {
		free(global);
		client_fail(client, "out of memory");
		return;
	}
	global->name = name;
	global->version = version;
	global->advertised = registry_policy(interface, version, client->bridge != NULL);
	wl_list_insert(&client->host_globals, &global->link);
	if (client->registry_sync == NULL) {
		struct wl_resource *resource;
		wl_resource_for_each(resource, &client->registries) {
			send_global(resource, global);
		}
	}
}

static void handle_host_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
	struct wcp_client *client = data;
	struct wcp_host_global *global, *tmp;
	wl_list_for_each_safe(global, tmp, &client->host_globals, link) {
		if (global->name != name) {
			continue;
		}
		// Guests told of no global yet (the host's list is still coming)
		// are not told of its removal either.
		if (global->advertised > 0 && !global->removed && client->registry_sync == NULL) {
			struct wl_resource *resource;
			wl_resource_for_each(resource, &client->registries) {
				wl_registry_send_global_remove(resource, name);
			}
		}
		// Kept (with the client) for binds already on their way.
		global->removed = true;
	}
}

static const struct wl_registry_listener host_registry_listener = {
	.global = handle_host_global,
	.global_remove = handle_host_global_remove,
};

static void handle_registry_sync_done(void *data, struct wl_callback *callback, uint32_t serial) {
	struct wcp_client *client = data;
	wl_callback_destroy(callback);
	client->registry_sync = NULL;
	// Registries asked for before the host's globals were known get them now.
	struct wl_resource *resource;
	wl_resource_for_each(resource, &client->registries) {
		send_all_globals(client, resource);
	}
}

static const struct wl_callback_listener registry_sync_listener = {
	.done = handle_registry_sync_done,
};

bool registry_init(struct wcp_client *client) {
	client->host_registry = wl_display_get_registry(client->host);
	client->registry_sync = wl_display_sync(client->host);
	if (client->host_registry == NULL || client->registry_sync == NULL) {
		return false;
	}
	wl_registry_add_listener(client->host_registry, &host_registry_listener, client);
	wl_callback_add_listener(client->registry_sync, &registry_sync_listener, client);
	// Object 1 of every client is its wl_display; its requests are ours now.
	// Replacing its dispatcher also drops libwayland's destroy hook, which
	// clears client->display_resource (1.21 has no getter to keep it). The
	// display resource only dies in wl_client_destroy, first of all, where
	// a libwayland that sends delete_id for each resource it destroys
	// would send them through the freed display: client.c destroys every
	// other resource before (client_destroy), and no resource destructor of
	// the proxy may destroy another resource or post an error.
	struct wl_resource *display = wl_client_get_object(client->client, 1);
	wl_resource_set_dispatcher(display, dispatch_display, NULL, client, NULL);
	return true;
}

void registry_finish(struct wcp_client *client) {
	struct wl_resource *resource, *tmp;
	wl_resource_for_each_safe(resource, tmp, &client->registries) {
		// The resources outlive the client struct; make them inert.
		wl_resource_set_user_data(resource, NULL);
		wl_list_remove(wl_resource_get_link(resource));
		wl_list_init(wl_resource_get_link(resource));
	}
	struct wcp_host_global *global, *gtmp;
	wl_list_for_each_safe(global, gtmp, &client->host_globals, link) {
		wl_list_remove(&global->link);
		free(global->interface);
		free(global);
	}
	if (client->registry_sync != NULL) {
		wl_callback_destroy(client->registry_sync);
		client->registry_sync = NULL;
	}
	if (client->host_registry != NULL) {
		wl_registry_destroy(client->host_registry);
		client->host_registry = NULL;
	}
}
