#include "wayland/hold.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-protocol.h>

#include "client.h"
#include "log.h"
#include "util/clock.h"
#include "wayland/forward.h"
#include "wayland/metadata.h"
#include "wayland/registry.h"

/** How long a commit waits for a host buffer before it takes one beyond the usual. */
#define PATIENCE_MS 100

/** What a client may have held at once; past that it is ended. */
#define MAX_BYTES (4u << 20)
#define MAX_FDS 256

// Marks placeholder resources.
static const int placeholder_marker;

/** A resource a held request names, cleared when it is destroyed meanwhile. */
struct wcp_held_ref {
	struct wl_resource *resource;
	bool named; // the request named one (it was not null)
	struct wl_listener destroy;
};

struct wcp_held_request {
	const struct wl_interface *interface; // the target's
	uint32_t opcode;
	const struct wl_message *msg;
	size_t count, bytes, fds;
	const struct wl_interface *made; // the type of the object it makes, if any
	int made_version;
	char types[WCP_MAX_ARGS];
	union wl_argument args[WCP_MAX_ARGS]; // strings and arrays are copies
	struct wl_list link; // wcp_hold.requests
	struct wcp_held_ref refs[]; // the target, then one per argument
};

static void handle_ref_destroy(struct wl_listener *listener, void *data) {
	struct wcp_held_ref *ref = wl_container_of(listener, ref, destroy);
	wl_list_remove(&listener->link);
	ref->resource = NULL;
}

static void ref_set(struct wcp_held_ref *ref, struct wl_resource *resource) {
	ref->named = resource != NULL;
	ref->resource = resource;
	if (resource != NULL) {
		ref->destroy.notify = handle_ref_destroy;
		wl_resource_add_destroy_listener(resource, &ref->destroy);
	}
}

static void ref_clear(struct wcp_held_ref *ref) {
	if (ref->resource != NULL) {
		wl_list_remove(&ref->destroy.link);
		ref->resource = NULL;
	}
}

/** Frees a held request; its fds are closed unless a handler took them. */
static void held_destroy(struct wcp_hold *hold, struct wcp_held_request *held, bool close_fds) {
	wl_list_remove(&held->link);
	hold->bytes -= held->bytes;
	hold->fds -= held->fds;
	ref_clear(&held->refs[0]);
	for (size_t i = 0; i < held->count; i++) {
		ref_clear(&held->refs[i + 1]);
		if (held->types[i] == 's') {
			free((char *)held->args[i].s);
		} else if (held->types[i] == 'a' && held->args[i].a != NULL) {
			wl_array_release(held->args[i].a);
			free(held->args[i].a);
		} else if (held->types[i] == 'h' && close_fds && held->args[i].h >= 0) {
			close(held->args[i].h);
		}
	}
	free(held);
}

void hold_init(struct wcp_hold *hold) {
	*hold = (struct wcp_hold){0};
	wl_list_init(&hold->requests);
}

void hold_finish(struct wcp_hold *hold) {
	struct wcp_held_request *held, *tmp;
	wl_list_for_each_safe(held, tmp, &hold->requests, link) {
		held_destroy(hold, held, true);
	}
	hold->waiting = false;
}

static int dispatch_placeholder(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *resource = target;
	struct wcp_client *client = client_from_wl(wl_resource_get_client(resource));
	const struct wl_interface *interface = wl_resource_get_user_data(resource);
	if (forward_refuse_errored(client, msg, args)) {
		return 0;
	}
	if (client != NULL && hold_request(client, interface, resource, opcode, msg, args)) {
		return 0;
	}
	// Its object was never made (its creation failed): the request goes nowhere.
	char types[WCP_MAX_ARGS];
	forward_close_fds(types, forward_arg_types(msg->signature, types, NULL), args);
	return 0;
}

/**
 * The interface and version of the object a held request's new_id makes,
 * as its handler will make it; false when there is none to make.
 */
static bool new_object_type(const struct wl_interface *target_interface, struct wl_resource *target,
	const struct wl_message *msg, const union wl_argument *args, size_t index,
	const struct wl_interface **interface, int *version) {
	if (target_interface == &wl_display_interface) {
		*interface = msg->types[index];
		*version = 1;
	} else if (target_interface == &wl_registry_interface) {
		// bind(name, interface, version, id)
		const struct wcp_interface_meta *meta = metadata_find(args[1].s);
		*interface = meta != NULL ? meta->interface : NULL;
		*version = (int)args[2].u;
	} else {
		*interface = msg->types[index];
		// wl_shm_pool.create_buffer makes version 1 buffers, as libwayland's wl_shm.
		*version = target_interface == &wl_shm_pool_interface
			? 1
			: wl_resource_get_version(target);
	}
	return *interface != NULL && *version > 0;
}

static void make_placeholder(struct wl_client *wl_client, const struct wl_interface *interface,
	int version, uint32_t id) {
	if (wl_client_get_object(wl_client, id) != NULL) {
		return; // made already (a commit held again)
	}
	struct wl_resource *resource = wl_resource_create(wl_client, interface, version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(wl_client);
		return;
	}
	wl_resource_set_dispatcher(
		resource, dispatch_placeholder, &placeholder_marker, (void *)interface, NULL);
}

/** Copies a request into the queue (at its head with `first`); false when out of memory. */
static bool hold_add(struct wcp_client *client, const struct wl_interface *interface,
	struct wl_resource *target, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args, bool first) {
	char types[WCP_MAX_ARGS];
	size_t count = forward_arg_types(msg->signature, types, NULL);
	size_t size = sizeof(struct wcp_held_request) + (count + 1) * sizeof(struct wcp_held_ref);
	struct wcp_held_request *held = calloc(1, size);
	if (held == NULL) {
		return false;
	}
	*held = (struct wcp_held_request){
		.interface = interface,
		.opcode = opcode,
		.msg = msg,
		.count = count,
		.bytes = size,
	};
	memcpy(held->types, types, count);
	wl_list_init(&held->link);
	ref_set(&held->refs[0], target);
	bool ok = true;
	for (size_t i = 0; i < count; i++) {
		held->args[i] = args[i];
		if (types[i] == 'o') {
			ref_set(&held->refs[i + 1], (struct wl_resource *)args[i].o);
		} else if (types[i] == 's' && args[i].s != NULL) {
			held->args[i].s = strdup(args[i].s);
			ok = ok && held->args[i].s != NULL;
			held->bytes += strlen(args[i].s) + 1;
		} else if (types[i] == 'a' && args[i].a != NULL) {
			struct wl_array *copy = malloc(sizeof(*copy));
			held->args[i].a = copy;
			if (copy != NULL) {
				wl_array_init(copy);
				ok = ok && wl_array_copy(copy, args[i].a) == 0;
			}
			ok = ok && copy != NULL;
			held->bytes += sizeof(*copy) + args[i].a->size;
		} else if (types[i] == 'h') {
			held->fds++;
		} else if (types[i] == 'n') {
			const struct wl_interface *made;
			int version;
			if (new_object_type(interface, target, msg, args, i, &made, &version)) {
				held->made = made;
				held->made_version = version;
				make_placeholder(
					wl_resource_get_client(target), made, version, args[i].n);
			}
		}
	}
	if (first) {
		wl_list_insert(&client->hold.requests, &held->link);
	} else {
		wl_list_insert(client->hold.requests.prev, &held->link);
	}
	client->hold.bytes += held->bytes;
	client->hold.fds += held->fds;
	if (!ok) {
		held_destroy(&client->hold, held, false); // the caller closes the fds
	}
	return ok;
}

bool hold_request(struct wcp_client *client, const struct wl_interface *interface,
	struct wl_resource *target, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	struct wcp_hold *hold = &client->hold;
	if (hold->replaying || (!hold->waiting && wl_list_empty(&hold->requests))) {
		return false;
	}
	if (!hold_add(client, interface, target, opcode, msg, args, false)) {
		char types[WCP_MAX_ARGS];
		forward_close_fds(types, forward_arg_types(msg->signature, types, NULL), args);
		wl_client_post_no_memory(client->client);
		client_fail(client, "out of memory");
	} else if (hold->bytes > MAX_BYTES || hold->fds > MAX_FDS) {
		wl_client_post_implementation_error(client->client,
			"more than %u MiB or %d fds of requests sent while a commit waited for "
			"the host compositor",
			MAX_BYTES >> 20, MAX_FDS);
		client_fail(client, "too many requests held back");
	}
	return true;
}

void hold_wait(struct wcp_client *client, const struct wl_interface *interface,
	struct wl_resource *target, uint32_t opcode, const struct wl_message *msg,
	union wl_argument *args) {
	struct wcp_hold *hold = &client->hold;
	if (!hold_add(client, interface, target, opcode, msg, args, true)) {
		wl_client_post_no_memory(client->client);
		client_fail(client, "out of memory");
		return;
	}
	if (!hold->waiting) {
		hold->waiting = true;
		hold->spent = false;
		hold->since = clock_ms();
	}
}

void hold_resume(struct wcp_client *client) {
	if (client->hold.waiting) {
		client->hold.resume = true;
	}
}

/** Whether `resource` is a placeholder of `interface` (NULL: of no type known). */
static bool is_placeholder(struct wl_resource *resource, const struct wl_interface *interface) {
	return resource != NULL && interface != NULL &&
		wl_resource_instance_of(resource, interface, &placeholder_marker);
}

/**
 * A held request that goes nowhere still makes its object, inert, as
 * forward.c's requests on inert objects do: its placeholder would
 * otherwise stay, and the guest could name it in requests to come.
 */
static void drop_held(
	struct wcp_client *client, struct wcp_held_request *held, union wl_argument *args) {
	forward_close_fds(held->types, held->count, args);
	for (size_t i = 0; i < held->count && held->made != NULL; i++) {
		if (held->types[i] != 'n') {
			continue;
		}
		struct wl_resource *resource = hold_resource_create(
			client->client, held->made, held->made_version, args[i].n);
		if (resource == NULL) {
			wl_client_post_no_memory(client->client);
		} else {
			forward_create_inert(client, resource); // out of memory: posted
		}
	}
}

/** Hands a held request to its handler, as libwayland would have. */
static void replay(struct wcp_client *client, struct wcp_held_request *held) {
	struct wl_resource *target = held->refs[0].resource;
	bool gone = target == NULL || is_placeholder(target, held->interface);
	union wl_argument args[WCP_MAX_ARGS];
	for (size_t i = 0; i < held->count; i++) {
		args[i] = held->args[i];
		if (held->types[i] == 'o') {
			const struct wcp_held_ref *ref = &held->refs[i + 1];
			gone = gone || (ref->named && ref->resource == NULL) ||
				is_placeholder(ref->resource, held->msg->types[i]);
			args[i].o = (struct wl_object *)ref->resource;
		}
	}
	if (gone) {
		// Destroyed meanwhile, by the host or by the guest itself: the
		// request goes nowhere, as one on an inert object.
		drop_held(client, held, args);
	} else if (wl_resource_get_id(target) == 1 || held->interface == &wl_registry_interface) {
		registry_dispatch(target, held->opcode, held->msg, args);
	} else {
		forward_dispatch(target, held->opcode, held->msg, args);
	}
}

int hold_step(struct wcp_client *client) {
	struct wcp_hold *hold = &client->hold;
	if (!hold->waiting || client->fail_idle != NULL || client->errored) {
		return -1;
	}
	long long since = hold->since, left = since + PATIENCE_MS - clock_ms();
	if (!hold->resume && (hold->spent || left > 0)) {
		return hold->spent ? -1 : (int)left;
	}
	bool overdue = hold->overdue = !hold->resume;
	hold->resume = false;
	hold->waiting = false;
	hold->replaying = true;
	bool first = true;
	while (!hold->waiting && !wl_list_empty(&hold->requests) && client->fail_idle == NULL &&
		!client->errored) {
		struct wcp_held_request *held = wl_container_of(hold->requests.next, held, link);
		wl_list_remove(&held->link);
		wl_list_init(&held->link);
		replay(client, held);
		held_destroy(hold, held, false); // the handler took the fds
		if (first && hold->waiting) {
			// The same commit waits on, for good once it was overdue.
			hold->since = since;
			hold->spent = overdue;
		}
		first = false;
		hold->overdue = false;
	}
	hold->replaying = false;
	if (!hold->waiting || hold->spent) {
		return -1;
	}
	left = hold->since + PATIENCE_MS - clock_ms();
	return left > 0 ? (int)left : 0;
}

struct wl_resource *hold_resource_create(
	struct wl_client *client, const struct wl_interface *interface, int version, uint32_t id) {
	struct wl_resource *placeholder = id != 0 ? wl_client_get_object(client, id) : NULL;
	if (placeholder != NULL &&
		wl_resource_instance_of(placeholder, interface, &placeholder_marker)) {
		return placeholder;
	}
	return wl_resource_create(client, interface, version, id);
}
