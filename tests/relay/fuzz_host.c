#include "fuzz_host.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client-protocol.h>
#include <wayland-server.h>

#include "fuzz_conn.h"
#include "test.h"
#include "wayland/metadata.h"

static uint64_t host_rng;

/** A number below `below` (xorshift64*). */
static uint32_t host_rnd(uint32_t below) {
	host_rng ^= host_rng >> 12;
	host_rng ^= host_rng << 25;
	host_rng ^= host_rng >> 27;
	return (uint32_t)(((host_rng * 0x2545f4914f6cdd1dull) >> 32) % below);
}

/** The globals the host offers, each at the version of the proxy's XML. */
static const char *const host_globals[] = {
	"wl_compositor",
	"wl_subcompositor",
	"wl_data_device_manager",
	"wl_output",
	"wl_seat",
	"xdg_wm_base",
	"wp_viewporter",
	"wp_presentation",
	"wp_single_pixel_buffer_manager_v1",
	"wp_fractional_scale_manager_v1",
	"wp_content_type_manager_v1",
	"xdg_activation_v1",
	"zwp_idle_inhibit_manager_v1",
	"zwp_input_timestamps_manager_v1",
	"zwp_keyboard_shortcuts_inhibit_manager_v1",
	"zwp_pointer_constraints_v1",
	"zwp_pointer_gestures_v1",
	"zwp_primary_selection_device_manager_v1",
	"zwp_relative_pointer_manager_v1",
	"zwp_tablet_manager_v2",
	"zwp_text_input_manager_v3",
	"zxdg_decoration_manager_v1",
	"zxdg_exporter_v2",
	"zxdg_importer_v2",
	"zxdg_output_manager_v1",
};

/** A buffer the host keeps after it was replaced, as compositors sometimes do. */
struct host_held {
	struct wl_resource *buffer;
	struct wl_listener destroy;
};

#define HOST_HELD 3

/** A host wl_surface: the buffer shown, the one attached, frame callbacks. */
struct host_surface {
	struct wl_resource *pending, *current;
	struct wl_listener pending_destroy, current_destroy;
	struct host_held held[HOST_HELD];
	struct wl_list callbacks; // wl_resource links
};

static void host_held_destroy(struct wl_listener *listener, void *data) {
	struct host_held *held = wl_container_of(listener, held, destroy);
	wl_list_remove(&listener->link);
	held->buffer = NULL;
}

/** Releases held buffers: all of them, or only `buffer` when not NULL. */
static void host_release_held(struct host_surface *surface, struct wl_resource *buffer, bool send) {
	for (size_t i = 0; i < HOST_HELD; i++) {
		struct host_held *held = &surface->held[i];
		if (held->buffer != NULL && (buffer == NULL || held->buffer == buffer)) {
			if (send) {
				wl_buffer_send_release(held->buffer);
			}
			wl_list_remove(&held->destroy.link);
			held->buffer = NULL;
		}
	}
}

/** Keeps a replaced buffer; false when there is no room. */
static bool host_hold(struct host_surface *surface, struct wl_resource *buffer) {
	for (size_t i = 0; i < HOST_HELD; i++) {
		struct host_held *held = &surface->held[i];
		if (held->buffer == NULL) {
			held->buffer = buffer;
			held->destroy.notify = host_held_destroy;
			wl_resource_add_destroy_listener(buffer, &held->destroy);
			return true;
		}
	}
	return false;
}

static void host_pending_destroy(struct wl_listener *listener, void *data) {
	struct host_surface *surface = wl_container_of(listener, surface, pending_destroy);
	wl_list_remove(&listener->link);
	surface->pending = NULL;
}

static void host_current_destroy(struct wl_listener *listener, void *data) {
	struct host_surface *surface = wl_container_of(listener, surface, current_destroy);
	wl_list_remove(&listener->link);
	surface->current = NULL;
}

static void host_set_buffer(
	struct wl_resource **slot, struct wl_listener *listener, struct wl_resource *buffer) {
	if (*slot != NULL) {
		wl_list_remove(&listener->link);
	}
	*slot = buffer;
	if (buffer != NULL) {
		wl_resource_add_destroy_listener(buffer, listener);
	}
}

static void host_surface_destroy(struct wl_resource *resource) {
	struct host_surface *surface = wl_resource_get_user_data(resource);
	host_set_buffer(&surface->pending, &surface->pending_destroy, NULL);
	host_set_buffer(&surface->current, &surface->current_destroy, NULL);
	host_release_held(surface, NULL, false);
	struct wl_resource *callback, *tmp;
	wl_resource_for_each_safe(callback, tmp, &surface->callbacks) {
		wl_resource_destroy(callback);
	}
	free(surface);
}

static void host_callback_destroy(struct wl_resource *resource) {
	wl_list_remove(wl_resource_get_link(resource));
}

static void host_commit(struct host_surface *surface) {
	if (surface->pending != surface->current) {
		// The replaced buffer is released now or kept for a while.
		if (surface->current != NULL &&
			(host_rnd(2) == 0 || !host_hold(surface, surface->current))) {
			wl_buffer_send_release(surface->current);
		}
		if (surface->pending != NULL) {
			host_release_held(surface, surface->pending, false); // shown again
		}
		host_set_buffer(&surface->current, &surface->current_destroy, surface->pending);
	}
	if (host_rnd(3) == 0) {
		host_release_held(surface, NULL, true);
	}
	struct wl_resource *callback, *tmp;
	wl_resource_for_each_safe(callback, tmp, &surface->callbacks) {
		wl_callback_send_done(callback, 0);
		wl_resource_destroy(callback);
	}
}

/*
 * Random events. A connection that binds more than wl_compositor (not the
 * bystander) gets now and then an event the host makes up: well typed, on
 * any of its objects, with objects of its own, strings (interface names
 * among them, for wl_registry.global), arrays, memory of a few sizes (none
 * too) and pipes, as a host that misbehaves might send.
 *
 * None makes an object. libwayland-client 1.21 loses such an event, new id
 * and all, when it reaches an object already destroyed on the client's
 * side, after which the next id the host gives out is refused and the
 * connection ends; and it never frees the objects made by events it read
 * but did not dispatch because a protocol error came with them. Either is
 * a race of every libwayland client, proxy or not, which would end or leak
 * connections here at random. The relay of objects the host makes is
 * tested against sway (wl_data_offer, in relay-seat).
 */

/** A host client, as far as random events go. */
struct host_client {
	struct wl_listener destroy;
	bool random_events;
};

static void host_client_destroy(struct wl_listener *listener, void *data) {
	struct host_client *host_client = wl_container_of(listener, host_client, destroy);
	wl_list_remove(&listener->link);
	free(host_client);
}

static struct host_client *host_client_get(struct wl_client *client) {
	struct host_client *host_client;
	struct wl_listener *listener = wl_client_get_destroy_listener(client, host_client_destroy);
	if (listener != NULL) {
		return wl_container_of(listener, host_client, destroy);
	}
	host_client = calloc(1, sizeof(*host_client));
	test_assert(host_client != NULL);
	host_client->destroy.notify = host_client_destroy;
	wl_client_add_destroy_listener(client, &host_client->destroy);
	return host_client;
}

/** A random pick among a client's resources of one interface (any, for NULL). */
struct host_pick {
	const struct wl_interface *type;
	struct wl_resource *chosen;
	uint32_t seen;
};

static enum wl_iterator_result host_pick_one(struct wl_resource *resource, void *data) {
	struct host_pick *pick = data;
	const char *class = wl_resource_get_class(resource);
	if (strcmp(class, "wl_display") == 0 ||
		(pick->type != NULL && strcmp(class, pick->type->name) != 0)) {
		return WL_ITERATOR_CONTINUE;
	}
	if (host_rnd(++pick->seen) == 0) {
		pick->chosen = resource;
	}
	return WL_ITERATOR_CONTINUE;
}

static struct wl_resource *host_pick(struct wl_client *client, const struct wl_interface *type) {
	struct host_pick pick = {.type = type};
	wl_client_for_each_resource(client, host_pick_one, &pick);
	return pick.chosen;
}

/** An fd to send: shared memory of a few sizes, or a pipe's write end. */
static int host_random_fd(void) {
	if (host_rnd(3) == 0) {
		int fds[2];
		test_assert(pipe2(fds, O_CLOEXEC) == 0);
		close(fds[0]);
		return fds[1];
	}
	static const off_t sizes[] = {0, 1, 4096, 10000};
	int fd = memfd_create("fuzz-host", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, sizes[host_rnd(4)]) == 0);
	return fd;
}

#define HOST_EVENT_ARGS 20

/**
 * Sends a made-up event on one of the client's objects. `busy` is the object
 * whose request is being handled: it is not ended by a destructor event.
 */
static void host_random_event(struct wl_client *client, struct wl_resource *busy) {
	// Keyboards now and then: their keymap is the event with an fd.
	struct wl_resource *target =
		host_rnd(4) == 0 ? host_pick(client, &wl_keyboard_interface) : NULL;
	if (target == NULL) {
		target = host_pick(client, NULL);
	}
	const struct wcp_interface_meta *meta =
		target != NULL ? metadata_find(wl_resource_get_class(target)) : NULL;
	if (meta == NULL || meta->interface->event_count == 0) {
		return;
	}
	uint32_t opcode = host_rnd((uint32_t)meta->interface->event_count);
	const struct wl_message *msg = &meta->interface->events[opcode];
	int version = wl_resource_get_version(target);
	bool destructor = opcode < 32 && (meta->destructor_events & (1u << opcode));
	if (fuzz_conn_since(msg) > (uint32_t)version || (destructor && target == busy) ||
		strchr(msg->signature, 'n') != NULL) {
		return;
	}
	union wl_argument args[HOST_EVENT_ARGS] = {0};
	int fds[HOST_EVENT_ARGS];
	size_t fd_count = 0;
	struct wl_array arrays[HOST_EVENT_ARGS];
	size_t array_count = 0;
	char strings[HOST_EVENT_ARGS][32];
	bool complete = true, nullable;
	int arg = 0;
	for (const char *p = fuzz_conn_next_arg(msg->signature, &nullable);
		*p != '\0' && arg < HOST_EVENT_ARGS && complete;
		p = fuzz_conn_next_arg(p + 1, &nullable), arg++) {
		switch (*p) {
		case 'i':
		case 'u':
		case 'f':
			args[arg].u = host_rnd(4) == 0 ? host_rng >> 32 : host_rnd(16);
			break;
		case 's':
			if (nullable && host_rnd(4) == 0) {
				args[arg].s = NULL;
			} else if (host_rnd(2) == 0) {
				// A name the proxy knows (for wl_registry.global).
				args[arg].s = host_globals[host_rnd(
					sizeof(host_globals) / sizeof(host_globals[0]))];
			} else {
				size_t len = host_rnd(sizeof(strings[0]) - 1);
				for (size_t i = 0; i < len; i++) {
					strings[arg][i] = (char)('a' + host_rnd(26));
				}
				strings[arg][len] = '\0';
				args[arg].s = strings[arg];
			}
			break;
		case 'o':
			args[arg].o = host_rnd(8) == 0 && nullable
				? NULL
				: (struct wl_object *)host_pick(client, msg->types[arg]);
			complete = args[arg].o != NULL || nullable;
			break;
		case 'a': {
			struct wl_array *array = &arrays[array_count++];
			wl_array_init(array);
			uint32_t len = host_rnd(33);
			uint8_t *bytes = wl_array_add(array, len);
			test_assert(len == 0 || bytes != NULL);
			for (uint32_t i = 0; i < len; i++) {
				bytes[i] = (uint8_t)host_rnd(256);
			}
			args[arg].a = array;
			break;
		}
		case 'h':
			fds[fd_count] = host_random_fd();
			args[arg].h = fds[fd_count++];
			break;
		}
	}
	if (complete) {
		// libwayland sends copies of the fds.
		wl_resource_post_event_array(target, opcode, args);
	}
	for (size_t i = 0; i < fd_count; i++) {
		close(fds[i]);
	}
	for (size_t i = 0; i < array_count; i++) {
		wl_array_release(&arrays[i]);
	}
	if (complete && destructor) {
		wl_resource_destroy(target);
	}
}

static int host_dispatch(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *resource = target;
	struct wl_client *client = wl_resource_get_client(resource);
	const char *class = wl_resource_get_class(resource);
	bool is_surface = strcmp(class, "wl_surface") == 0;
	int arg = 0;
	bool nullable;
	for (const char *p = fuzz_conn_next_arg(msg->signature, &nullable); *p != '\0';
		p = fuzz_conn_next_arg(p + 1, &nullable), arg++) {
		if (*p == 'n') {
			const struct wl_interface *type = msg->types[arg];
			struct wl_resource *made = wl_resource_create(
				client, type, wl_resource_get_version(resource), args[arg].n);
			if (made == NULL) {
				wl_client_post_no_memory(client);
				return 0;
			}
			if (strcmp(type->name, "wl_surface") == 0) {
				struct host_surface *surface = calloc(1, sizeof(*surface));
				if (surface == NULL) {
					wl_resource_destroy(made);
					wl_client_post_no_memory(client);
					return 0;
				}
				surface->pending_destroy.notify = host_pending_destroy;
				surface->current_destroy.notify = host_current_destroy;
				wl_list_init(&surface->callbacks);
				wl_resource_set_dispatcher(
					made, host_dispatch, NULL, surface, host_surface_destroy);
			} else if (is_surface && opcode == WL_SURFACE_FRAME) {
				struct host_surface *surface = wl_resource_get_user_data(resource);
				wl_list_insert(&surface->callbacks, wl_resource_get_link(made));
				wl_resource_set_dispatcher(
					made, host_dispatch, NULL, NULL, host_callback_destroy);
			} else {
				wl_resource_set_dispatcher(made, host_dispatch, NULL, NULL, NULL);
			}
			if (strcmp(type->name, "wl_keyboard") == 0 &&
				host_client_get(client)->random_events) {
				// A keymap first, as compositors send, of one of the
				// fds random events send.
				int fd = host_random_fd();
				wl_keyboard_send_keymap(made, WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1, fd,
					host_rnd(10001));
				close(fd);
			}
		}
	}
	if (is_surface) {
		struct host_surface *surface = wl_resource_get_user_data(resource);
		if (opcode == WL_SURFACE_ATTACH) {
			host_set_buffer(&surface->pending, &surface->pending_destroy,
				(struct wl_resource *)args[0].o);
		} else if (opcode == WL_SURFACE_COMMIT) {
			host_commit(surface);
		}
	}
	if (host_client_get(client)->random_events && host_rnd(8) == 0) {
		host_random_event(client, resource);
	}
	const struct wcp_interface_meta *meta = metadata_find(class);
	if (meta != NULL && fuzz_conn_is_destructor(meta->interface, opcode)) {
		wl_resource_destroy(resource);
	}
	return 0;
}

static void host_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	const struct wl_interface *interface = data;
	struct wl_resource *resource = wl_resource_create(client, interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_dispatcher(resource, host_dispatch, NULL, NULL, NULL);
	if (strcmp(interface->name, "wl_compositor") != 0) {
		host_client_get(client)->random_events = true;
	}
}

static int host_terminate(int signal_number, void *data) {
	wl_display_terminate(data);
	return 0;
}

static void host_log(const char *fmt, va_list args) {
	// Quiet: the errors it raises reach the test through the proxy.
}

/** Runs the host until SIGTERM; writes a byte to notify_fd once it listens. */
static void host_run(const char *socket_name, int notify_fd) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	wl_log_set_handler_server(host_log);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	struct wl_display *display = wl_display_create();
	if (display == NULL || wl_display_add_socket(display, socket_name) != 0 ||
		wl_display_init_shm(display) != 0) {
		_exit(2);
	}
	for (size_t i = 0; i < sizeof(host_globals) / sizeof(host_globals[0]); i++) {
		const struct wcp_interface_meta *meta = metadata_find(host_globals[i]);
		if (meta == NULL) {
			_exit(3);
		}
		wl_global_create(display, meta->interface, meta->interface->version,
			(void *)meta->interface, host_bind);
	}
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	wl_event_loop_add_signal(loop, SIGTERM, host_terminate, display);
	if (write(notify_fd, "s", 1) != 1) {
		_exit(4);
	}
	wl_display_run(display);
	wl_display_destroy_clients(display);
	wl_display_destroy(display);
	_exit(0);
}

pid_t fuzz_host_start(const char *socket_name, uint64_t seed) {
	int notify[2];
	test_assert(pipe2(notify, O_CLOEXEC) == 0);
	pid_t pid = fork();
	test_assert(pid >= 0);
	if (pid == 0) {
		close(notify[0]);
		host_rng = seed;
		host_run(socket_name, notify[1]);
	}
	close(notify[1]);
	struct pollfd pfd = {notify[0], POLLIN, 0};
	char byte;
	test_assert(poll(&pfd, 1, 5000) == 1 && read(notify[0], &byte, 1) == 1);
	close(notify[0]);
	return pid;
}

void fuzz_host_stop(pid_t pid) {
	test_assert(kill(pid, SIGTERM) == 0);
	int status;
	test_assert(waitpid(pid, &status, 0) == pid);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
