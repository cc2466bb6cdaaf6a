/*
 * Races between the guest and the host, and a host's quirks, staged with a
 * small host compositor of the test's own: a bind that crosses the removal
 * of its global, an event that names an object the guest has just
 * destroyed, a keymap that is /dev/null, a host that stops reading
 * while a guest sends more than the sockets hold, and one that never
 * releases a buffer. Straight to a compositor none ends the client;
 * through the proxy none may, but for a client that sends without end
 * while the host keeps every buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include "proc.h"
#include "relay.h"
#include "test.h"
#include "xdg-output-unstable-v1-client-protocol.h"

#define HOST_SOCKET "wcp-globals-host"
#define HOST_STALL_SCALE 99 // wl_surface.set_buffer_scale(99) stalls the host
#define HOST_STALL_MS 500
#define HOST_RELEASE_SCALE 98 // ... and (98) releases the surface's buffers but its newest
#define HOST_ATTACHES 64
#define HOST_DISPLAY_ERROR_SCALE 97 // ... and (97) raises invalid_method on wl_display

/*
 * The host: wl_compositor, wl_subcompositor, wl_output,
 * zxdg_output_manager_v1 and wl_seat, whose objects accept every request
 * and do nothing (a released wl_output stays alive on this side, as if the
 * release were still on its way, and no buffer is released unless asked),
 * libwayland's wl_shm, and a wl_surface.set_buffer_scale(99) stalls it for
 * half a second; set_buffer_scale(98) releases every buffer attached to
 * the surface but the one attached last; set_buffer_scale(97) makes it raise
 * a protocol error on wl_display itself. The
 * seat has a keyboard without a keymap: its keymap event is of format
 * no_keymap with /dev/null of size 0, as wlroots sends it. SIGUSR1
 * removes the wl_output global;
 * SIGUSR2 sends wl_surface.enter for the newest surface and output. It
 * writes a byte to its pipe for each thing it did: 's' started, 'b' bound
 * an output, 'r' removed, 'e' sent enter, 'a' had a buffer attached again
 * before it released it.
 */

struct host {
	int notify_fd;
	struct wl_global *output_global;
	struct wl_resource *surface, *output; // the newest
	struct {
		struct wl_resource *surface;
		uint32_t buffer; // its id: the proxy keeps its host buffers
	} attaches[HOST_ATTACHES]; // not released yet, oldest first
	int attach_count;
};

static void host_notify(struct host *host, char what) {
	if (write(host->notify_fd, &what, 1) != 1) {
		_exit(3);
	}
}

/** The host's wl_surface.attach and set_buffer_scale(HOST_RELEASE_SCALE). */
static void host_follow_buffers(struct host *host, struct wl_resource *surface,
	const struct wl_message *msg, union wl_argument *args) {
	if (strcmp(msg->name, "attach") == 0 && args[0].o != NULL &&
		host->attach_count < HOST_ATTACHES) {
		uint32_t id = wl_resource_get_id((struct wl_resource *)args[0].o);
		for (int i = 0; i < host->attach_count; i++) {
			if (host->attaches[i].buffer == id) {
				host_notify(host, 'a'); // attached again before its release
				break;
			}
		}
		host->attaches[host->attach_count].surface = surface;
		host->attaches[host->attach_count++].buffer = id;
		return;
	}
	if (strcmp(msg->name, "set_buffer_scale") != 0 || args[0].i != HOST_RELEASE_SCALE) {
		return;
	}
	int newest = -1, kept = 0;
	for (int i = 0; i < host->attach_count; i++) {
		newest = host->attaches[i].surface == surface ? i : newest;
	}
	for (int i = 0; i < host->attach_count; i++) {
		struct wl_resource *buffer = wl_client_get_object(
			wl_resource_get_client(surface), host->attaches[i].buffer);
		bool release = host->attaches[i].surface == surface && i != newest;
		if (release && buffer != NULL) {
			wl_buffer_send_release(buffer);
		} else if (!release) {
			host->attaches[kept++] = host->attaches[i];
		}
	}
	host->attach_count = kept;
}

static int host_ignore(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *resource = target;
	struct host *host = wl_resource_get_user_data(resource);
	if (strcmp(msg->name, "set_buffer_scale") == 0 && args[0].i == HOST_STALL_SCALE) {
		proc_sleep_ms(HOST_STALL_MS); // reading nothing meanwhile
	}
	if (strcmp(msg->name, "set_buffer_scale") == 0 && args[0].i == HOST_DISPLAY_ERROR_SCALE) {
		wl_resource_post_error(wl_client_get_object(wl_resource_get_client(resource), 1),
			WL_DISPLAY_ERROR_INVALID_METHOD, "raised on the display");
		return 0;
	}
	host_follow_buffers(host, resource, msg, args);
	for (const char *p = msg->signature; *p != '\0'; p++) {
		if (*p == 'n') {
			// create_surface, create_region, get_xdg_output: the first argument.
			struct wl_resource *created =
				wl_resource_create(wl_resource_get_client(resource), msg->types[0],
					wl_resource_get_version(resource), args[0].n);
			wl_resource_set_dispatcher(created, host_ignore, NULL, host, NULL);
			if (strcmp(msg->name, "create_surface") == 0) {
				host->surface = created;
			}
		}
	}
	return 0;
}

static void host_bind_output(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct host *host = data;
	host->output = wl_resource_create(client, &wl_output_interface, 3, id);
	wl_resource_set_dispatcher(host->output, host_ignore, NULL, host, NULL);
	host_notify(host, 'b');
}

static void host_bind_compositor(
	struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct wl_resource *resource = wl_resource_create(client, &wl_compositor_interface, 4, id);
	wl_resource_set_dispatcher(resource, host_ignore, NULL, data, NULL);
}

static void host_bind_subcompositor(
	struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct wl_resource *resource =
		wl_resource_create(client, &wl_subcompositor_interface, 1, id);
	wl_resource_set_dispatcher(resource, host_ignore, NULL, data, NULL);
}

static void host_bind_xdg_output_manager(
	struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct wl_resource *resource =
		wl_resource_create(client, &zxdg_output_manager_v1_interface, 3, id);
	wl_resource_set_dispatcher(resource, host_ignore, NULL, data, NULL);
}

static int host_seat_request(const void *impl, void *target, uint32_t opcode,
	const struct wl_message *msg, union wl_argument *args) {
	struct wl_resource *seat = target;
	if (opcode != WL_SEAT_GET_KEYBOARD) {
		return host_ignore(impl, target, opcode, msg, args);
	}
	struct wl_resource *keyboard = wl_resource_create(wl_resource_get_client(seat),
		&wl_keyboard_interface, wl_resource_get_version(seat), args[0].n);
	wl_resource_set_dispatcher(
		keyboard, host_ignore, NULL, wl_resource_get_user_data(seat), NULL);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0) {
		_exit(4);
	}
	wl_keyboard_send_keymap(keyboard, WL_KEYBOARD_KEYMAP_FORMAT_NO_KEYMAP, null_fd, 0);
	close(null_fd);
	return 0;
}

static void host_bind_seat(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct wl_resource *resource =
		wl_resource_create(client, &wl_seat_interface, (int)version, id);
	wl_resource_set_dispatcher(resource, host_seat_request, NULL, data, NULL);
	wl_seat_send_capabilities(resource, WL_SEAT_CAPABILITY_KEYBOARD);
}

static int host_signal(int signal_number, void *data) {
	struct host *host = data;
	if (signal_number == SIGUSR1) {
		wl_global_remove(host->output_global);
		host_notify(host, 'r');
	} else if (host->surface != NULL && host->output != NULL) {
		wl_surface_send_enter(host->surface, host->output);
		host_notify(host, 'e');
	}
	return 0;
}

static int host_terminate(int signal_number, void *data) {
	wl_display_terminate(data);
	return 0;
}

static void host_run(int notify_fd) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct host host = {.notify_fd = notify_fd};
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	struct wl_display *display = wl_display_create();
	if (display == NULL || wl_display_add_socket(display, HOST_SOCKET) != 0) {
		_exit(2);
	}
	wl_global_create(display, &wl_compositor_interface, 4, &host, host_bind_compositor);
	wl_global_create(display, &wl_subcompositor_interface, 1, &host, host_bind_subcompositor);
	host.output_global =
		wl_global_create(display, &wl_output_interface, 3, &host, host_bind_output);
	wl_global_create(
		display, &zxdg_output_manager_v1_interface, 3, &host, host_bind_xdg_output_manager);
	wl_global_create(display, &wl_seat_interface, 5, &host, host_bind_seat);
	if (wl_display_init_shm(display) != 0) {
		_exit(2);
	}
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	wl_event_loop_add_signal(loop, SIGUSR1, host_signal, &host);
	wl_event_loop_add_signal(loop, SIGUSR2, host_signal, &host);
	wl_event_loop_add_signal(loop, SIGTERM, host_terminate, display);
	host_notify(&host, 's');
	wl_display_run(display);
	wl_display_destroy(display);
	_exit(0);
}

/** The next byte the host wrote, or 0 when none comes within timeout_ms. */
static char host_next(int fd, int timeout_ms) {
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char what;
	if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &what, 1) != 1) {
		return 0;
	}
	return what;
}

/* The guest. */

struct guest {
	pid_t host;
	int host_fd; // the host's notifications
	struct wcp_relay *relay;
	struct wl_display *display;
	struct wl_registry *registry;
	uint32_t output_name, compositor_name, subcompositor_name, xdg_output_manager_name,
		seat_name, shm_name;
	uint32_t removed_name;
	int enters;
};

static void guest_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct guest *guest = data;
	if (strcmp(interface, "wl_output") == 0) {
		guest->output_name = name;
	} else if (strcmp(interface, "wl_compositor") == 0) {
		guest->compositor_name = name;
	} else if (strcmp(interface, "wl_subcompositor") == 0) {
		guest->subcompositor_name = name;
	} else if (strcmp(interface, "zxdg_output_manager_v1") == 0) {
		guest->xdg_output_manager_name = name;
	} else if (strcmp(interface, "wl_seat") == 0) {
		guest->seat_name = name;
	} else if (strcmp(interface, "wl_shm") == 0) {
		guest->shm_name = name;
	}
}

static void guest_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
	struct guest *guest = data;
	guest->removed_name = name;
}

static const struct wl_registry_listener guest_registry_listener = {
	.global = guest_global,
	.global_remove = guest_global_remove,
};

/** Starts the host and the proxy before it, and connects the guest. */
static void guest_start_on(struct guest *guest, enum wcp_relay_mode mode) {
	*guest = (struct guest){0};
	char runtime_dir[PATH_MAX];
	test_runtime_dir_create(runtime_dir);
	int notify[2];
	test_assert(pipe2(notify, O_CLOEXEC) == 0);
	guest->host = fork();
	test_assert(guest->host >= 0);
	if (guest->host == 0) {
		close(notify[0]);
		host_run(notify[1]);
	}
	close(notify[1]);
	guest->host_fd = notify[0];
	test_assert(host_next(guest->host_fd, 5000) == 's');
	guest->relay = relay_start_on(
		&(struct wcp_relay_host){.display = HOST_SOCKET, .runtime_dir = runtime_dir}, mode);
	guest->display = wl_display_connect(guest->relay->socket);
	test_assert(guest->display != NULL);
	guest->registry = wl_display_get_registry(guest->display);
	wl_registry_add_listener(guest->registry, &guest_registry_listener, guest);
	test_assert(wl_display_roundtrip(guest->display) >= 0);
	test_assert(guest->output_name != 0 && guest->compositor_name != 0);
}

static void guest_start(struct guest *guest) {
	guest_start_on(guest, WCP_RELAY_DIRECT);
}

static void guest_stop(struct guest *guest) {
	wl_registry_destroy(guest->registry);
	wl_display_disconnect(guest->display);
	relay_stop(guest->relay);
	test_assert(kill(guest->host, SIGTERM) == 0);
	int status;
	test_assert(waitpid(guest->host, &status, 0) == guest->host);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(guest->host_fd);
}

TEST(bind_crossing_a_global_removal_gets_an_inert_object) {
	struct guest guest;
	guest_start(&guest);
	// The host removes the output while the guest, not having read the
	// removal yet, binds it.
	test_assert(kill(guest.host, SIGUSR1) == 0);
	test_assert(host_next(guest.host_fd, 5000) == 'r');
	// Once the guest's socket has something to read, the proxy has read
	// the removal and passed it on; the guest reads it only after the bind.
	struct pollfd pfd = {.fd = wl_display_get_fd(guest.display), .events = POLLIN};
	test_assert(poll(&pfd, 1, 10000) == 1);
	struct wl_output *output =
		wl_registry_bind(guest.registry, guest.output_name, &wl_output_interface, 3);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(guest.removed_name == guest.output_name);
	// The object does nothing, as clients use a new output: the xdg_output
	// made for it is inert too. Both can be destroyed; the host saw no bind.
	test_assert(guest.xdg_output_manager_name != 0);
	struct zxdg_output_manager_v1 *manager = wl_registry_bind(guest.registry,
		guest.xdg_output_manager_name, &zxdg_output_manager_v1_interface, 3);
	struct zxdg_output_v1 *xdg_output = zxdg_output_manager_v1_get_xdg_output(manager, output);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	zxdg_output_v1_destroy(xdg_output);
	zxdg_output_manager_v1_destroy(manager);
	wl_output_release(output);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(host_next(guest.host_fd, 100) == 0);
	guest_stop(&guest);
}

static void surface_enter(void *data, struct wl_surface *surface, struct wl_output *output) {
	struct guest *guest = data;
	guest->enters++;
}

static void surface_leave(void *data, struct wl_surface *surface, struct wl_output *output) {
}

static const struct wl_surface_listener surface_listener = {
	.enter = surface_enter,
	.leave = surface_leave,
};

TEST(event_naming_an_object_the_guest_destroyed_is_dropped) {
	struct guest guest;
	guest_start(&guest);
	struct wl_compositor *compositor = wl_registry_bind(
		guest.registry, guest.compositor_name, &wl_compositor_interface, 4);
	struct wl_surface *surface = wl_compositor_create_surface(compositor);
	wl_surface_add_listener(surface, &surface_listener, &guest);
	struct wl_output *output =
		wl_registry_bind(guest.registry, guest.output_name, &wl_output_interface, 3);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(host_next(guest.host_fd, 5000) == 'b');
	// The guest releases its output; the host names it in an event as
	// if the release had not reached it yet.
	wl_output_release(output);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(kill(guest.host, SIGUSR2) == 0);
	test_assert(host_next(guest.host_fd, 5000) == 'e');
	proc_sleep_ms(200);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(guest.enters == 0);
	wl_surface_destroy(surface);
	wl_compositor_destroy(compositor);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	guest_stop(&guest);
}

/*
 * A host error on wl_display itself reaches the guest on its own
 * wl_display with the same code, as any other object's error does.
 */
static void check_host_error_on_the_display(enum wcp_relay_mode mode) {
	struct guest guest;
	guest_start_on(&guest, mode);
	struct wl_compositor *compositor = wl_registry_bind(
		guest.registry, guest.compositor_name, &wl_compositor_interface, 4);
	struct wl_surface *surface = wl_compositor_create_surface(compositor);
	wl_surface_set_buffer_scale(surface, HOST_DISPLAY_ERROR_SCALE);
	test_assert(wl_display_roundtrip(guest.display) < 0);
	int error = wl_display_get_error(guest.display);
	// libwayland-client's errno for invalid_method on the display.
	test_assert(error == EINVAL);
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t code = wl_display_get_protocol_error(guest.display, &interface, &id);
	test_log("%s: %s, error %u on %s@%u", relay_mode_name(mode), strerror(error), code,
		interface != NULL ? interface->name : "?", id);
	test_assert(interface == &wl_display_interface && id == 1);
	test_assert(code == WL_DISPLAY_ERROR_INVALID_METHOD);
	test_assert(proc_alive(guest.relay->proxy));
	wl_surface_destroy(surface);
	wl_compositor_destroy(compositor);
	guest_stop(&guest);
}

TEST(host_error_on_the_display_direct) {
	check_host_error_on_the_display(WCP_RELAY_DIRECT);
}

TEST(host_error_on_the_display_over_cross_domain) {
	check_host_error_on_the_display(WCP_RELAY_EMU);
}

/** What the guest's keyboard was sent as its keymap. */
struct keymap_seen {
	int events;
	uint32_t format, size;
	int fd_flags; // F_GETFD of the fd that came: -1 when it was not one
	ssize_t read; // what reading it gave
};

static void keymap(
	void *data, struct wl_keyboard *keyboard, uint32_t format, int32_t fd, uint32_t size) {
	struct keymap_seen *seen = data;
	seen->events++;
	seen->format = format;
	seen->size = size;
	seen->fd_flags = fcntl(fd, F_GETFD);
	char byte;
	seen->read = read(fd, &byte, 1);
	close(fd);
}

static void keyboard_enter(void *data, struct wl_keyboard *keyboard, uint32_t serial,
	struct wl_surface *surface, struct wl_array *keys) {
}

static void keyboard_leave(
	void *data, struct wl_keyboard *keyboard, uint32_t serial, struct wl_surface *surface) {
}

static void keyboard_key(void *data, struct wl_keyboard *keyboard, uint32_t serial, uint32_t time,
	uint32_t key, uint32_t state) {
}

static void keyboard_modifiers(void *data, struct wl_keyboard *keyboard, uint32_t serial,
	uint32_t depressed, uint32_t latched, uint32_t locked, uint32_t group) {
}

static void keyboard_repeat_info(
	void *data, struct wl_keyboard *keyboard, int32_t rate, int32_t delay) {
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = keymap,
	.enter = keyboard_enter,
	.leave = keyboard_leave,
	.key = keyboard_key,
	.modifiers = keyboard_modifiers,
	.repeat_info = keyboard_repeat_info,
};

/*
 * /dev/null is memory of size 0 to the host side of cross-domain, of which
 * no blob can be made: the guest gets an empty file in its place, and
 * keeps its connection, as it does straight from the host (the direct
 * case, where the fd crosses as it is).
 */
static void check_keymap_of_dev_null(enum wcp_relay_mode mode) {
	struct guest guest;
	guest_start_on(&guest, mode);
	test_assert(guest.seat_name != 0);
	struct wl_seat *seat =
		wl_registry_bind(guest.registry, guest.seat_name, &wl_seat_interface, 5);
	struct wl_keyboard *keyboard = wl_seat_get_keyboard(seat);
	struct keymap_seen seen = {0};
	wl_keyboard_add_listener(keyboard, &keyboard_listener, &seen);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_assert(seen.events == 1);
	test_assert(seen.format == WL_KEYBOARD_KEYMAP_FORMAT_NO_KEYMAP && seen.size == 0);
	test_assert(seen.fd_flags >= 0 && seen.read == 0);
	wl_keyboard_release(keyboard);
	wl_seat_release(seat);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	guest_stop(&guest);
}

TEST(keymap_of_dev_null_reaches_the_guest_direct) {
	check_keymap_of_dev_null(WCP_RELAY_DIRECT);
}

TEST(keymap_of_dev_null_reaches_the_guest_over_cross_domain) {
	check_keymap_of_dev_null(WCP_RELAY_EMU);
}

/*
 * A guest sends far more than the sockets hold while the host reads
 * nothing. libwayland-client 1.21 gives a connection up when a request
 * fills its buffer and the socket takes nothing; the proxy makes room
 * first, waiting for the host, so the guest keeps its connection and the
 * host gets every request. Over cross-domain the bridge empties its
 * socket pair at every flush and the proxy never waits: that case shows
 * the path holds as well.
 */
static void check_burst_to_a_stalled_host(enum wcp_relay_mode mode) {
	struct guest guest;
	guest_start_on(&guest, mode);
	struct wl_compositor *compositor = wl_registry_bind(
		guest.registry, guest.compositor_name, &wl_compositor_interface, 4);
	struct wl_surface *surface = wl_compositor_create_surface(compositor);
	struct wl_region *region = wl_compositor_create_region(compositor);
	wl_surface_set_buffer_scale(surface, HOST_STALL_SCALE);
	// 600 KiB of wl_region.add, sent as a client that minds a full socket
	// does: flushed often, waiting until the socket takes more.
	int fd = wl_display_get_fd(guest.display);
	long long start = proc_now_ms();
	for (int i = 0; i < 25600; i++) {
		wl_region_add(region, i, 0, 1, 1);
		while (i % 100 == 99 && wl_display_flush(guest.display) < 0) {
			test_assert(errno == EAGAIN);
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			test_assert(poll(&pfd, 1, 10000) == 1);
		}
	}
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	test_log("the burst and a round trip took %lld ms", proc_now_ms() - start);
	wl_region_destroy(region);
	wl_surface_destroy(surface);
	wl_compositor_destroy(compositor);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	guest_stop(&guest);
}

TEST(burst_waits_for_a_stalled_host_direct) {
	check_burst_to_a_stalled_host(WCP_RELAY_DIRECT);
}

TEST(burst_waits_for_a_stalled_host_over_cross_domain) {
	check_burst_to_a_stalled_host(WCP_RELAY_EMU);
}

/** A guest surface with one 64x64 shm buffer, and the fd of its pool. */
struct kept_surface {
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct wl_surface *surface;
	struct wl_buffer *buffer;
	struct wl_callback *sync; // the round trip that waits
	int fd;
};

/** Destroys the guest's objects (the connection may be over). */
static void kept_surface_finish(struct kept_surface *kept) {
	wl_callback_destroy(kept->sync);
	wl_surface_destroy(kept->surface);
	wl_buffer_destroy(kept->buffer);
	wl_shm_destroy(kept->shm);
	wl_compositor_destroy(kept->compositor);
	close(kept->fd);
}

static void done(void *data, struct wl_callback *callback, uint32_t serial) {
	*(bool *)data = true;
}

static const struct wl_callback_listener done_listener = {
	.done = done,
};

/**
 * Over cross-domain, to a host that keeps every buffer, commits frames,
 * each with a round trip, as long as the proxy lets them through: four at
 * once (its host buffers), four more each after a wait (it makes more),
 * and not the ninth, which waits on with what follows it (a round trip).
 */
static void commit_until_held(struct guest *guest, struct kept_surface *kept) {
	guest_start_on(guest, WCP_RELAY_EMU);
	test_assert(guest->shm_name != 0);
	kept->compositor = wl_registry_bind(
		guest->registry, guest->compositor_name, &wl_compositor_interface, 4);
	kept->shm = wl_registry_bind(guest->registry, guest->shm_name, &wl_shm_interface, 1);
	kept->surface = wl_compositor_create_surface(kept->compositor);
	kept->fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(kept->fd >= 0 && ftruncate(kept->fd, 64 * 64 * 4) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(kept->shm, kept->fd, 64 * 64 * 4);
	kept->buffer = wl_shm_pool_create_buffer(pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	wl_surface_attach(kept->surface, kept->buffer, 0, 0);
	long long took[8];
	for (int i = 0; i < 8; i++) {
		wl_surface_damage_buffer(kept->surface, 0, 0, 64, 64);
		wl_surface_commit(kept->surface);
		long long start = proc_now_ms();
		test_assert(wl_display_roundtrip(guest->display) >= 0);
		took[i] = proc_now_ms() - start;
	}
	test_log("round trips after each commit: %lld %lld %lld %lld, then %lld %lld %lld %lld ms",
		took[0], took[1], took[2], took[3], took[4], took[5], took[6], took[7]);
	for (int i = 4; i < 8; i++) {
		test_assert(took[i] >= 90); // the proxy's patience: 100 ms
	}
	wl_surface_damage_buffer(kept->surface, 0, 0, 64, 64);
	wl_surface_commit(kept->surface);
	bool synced = false;
	kept->sync = wl_display_sync(guest->display);
	wl_callback_add_listener(kept->sync, &done_listener, &synced);
	test_assert(wl_display_flush(guest->display) >= 0);
	struct pollfd pfd = {.fd = wl_display_get_fd(guest->display), .events = POLLIN};
	test_assert(poll(&pfd, 1, 500) == 0);
	test_assert(!synced);
}

static bool log_has(struct guest *guest, const char *text) {
	size_t size;
	char *log = test_read_file(guest->relay->log_path, &size);
	test_assert(log != NULL);
	bool found = strstr(log, text) != NULL;
	free(log);
	return found;
}

/**
 * A host that keeps every buffer holds the client's commits back, and all
 * it sends after them; one that sends on without end is ended once the
 * proxy holds 4 MiB of it, and the proxy carries on.
 */
TEST(client_held_by_a_keeping_host_ends_past_a_limit) {
	struct guest guest;
	struct kept_surface kept;
	commit_until_held(&guest, &kept);
	struct wl_region *region = wl_compositor_create_region(kept.compositor);
	int fd = wl_display_get_fd(guest.display);
	bool ended = false;
	int sent = 0;
	for (; sent < 1000000 && !ended; sent++) {
		wl_region_add(region, sent, 0, 1, 1);
		while (!ended && sent % 100 == 99 && wl_display_flush(guest.display) < 0) {
			ended = errno != EAGAIN;
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			test_assert(ended || poll(&pfd, 1, 10000) == 1);
		}
	}
	test_log("ended after %d requests", sent);
	test_assert(ended || wl_display_roundtrip(guest.display) < 0);
	for (long long deadline = proc_now_ms() + 5000;
		!log_has(&guest, "too many requests held back") && proc_now_ms() < deadline;) {
		proc_sleep_ms(50);
	}
	test_assert(log_has(&guest,
		"more than 4 MiB or 256 fds of requests sent while a commit "
		"waited for the host compositor"));
	test_assert(proc_alive(guest.relay->proxy));
	wl_region_destroy(region);
	kept_surface_finish(&kept);
	guest_stop(&guest);
}

/**
 * A client that leaves while its requests are held, fds among them: the
 * proxy drops them and closes the fds.
 */
TEST(client_leaving_while_held_costs_nothing) {
	struct guest guest;
	struct kept_surface kept;
	commit_until_held(&guest, &kept);
	pid_t proxy = guest.relay->proxy->pid;
	int before = proc_open_fds(proxy);
	struct wl_shm_pool *pools[20];
	for (int i = 0; i < 20; i++) {
		pools[i] = wl_shm_create_pool(kept.shm, kept.fd, 64 * 64 * 4);
	}
	test_assert(wl_display_flush(guest.display) >= 0);
	int held = before;
	for (long long deadline = proc_now_ms() + 5000;
		held < before + 20 && proc_now_ms() < deadline;) {
		proc_sleep_ms(20);
		held = proc_open_fds(proxy);
	}
	test_assert(held >= before + 20);
	for (int i = 0; i < 20; i++) {
		wl_shm_pool_destroy(pools[i]);
	}
	kept_surface_finish(&kept);
	wl_registry_destroy(guest.registry);
	wl_display_disconnect(guest.display);
	int after = held;
	for (long long deadline = proc_now_ms() + 5000;
		after > before - 5 && proc_now_ms() < deadline;) {
		proc_sleep_ms(20);
		after = proc_open_fds(proxy);
	}
	test_log("proxy: %d fds, %d with 20 pools held, %d once the client left", before, held,
		after);
	// Its socket and host channel went too.
	test_assert(after <= before - 5);
	guest.display = wl_display_connect(guest.relay->socket);
	test_assert(guest.display != NULL);
	guest.registry = wl_display_get_registry(guest.display);
	test_assert(wl_display_roundtrip(guest.display) >= 0);
	guest_stop(&guest);
}

/** A guest over cross-domain with a surface and an shm pool of `size` bytes. */
struct drawing {
	struct guest guest;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct wl_surface *surface;
	struct wl_shm_pool *pool;
};

static void drawing_start(struct drawing *d, int32_t size) {
	guest_start_on(&d->guest, WCP_RELAY_EMU);
	d->compositor = wl_registry_bind(
		d->guest.registry, d->guest.compositor_name, &wl_compositor_interface, 4);
	d->shm = wl_registry_bind(d->guest.registry, d->guest.shm_name, &wl_shm_interface, 1);
	d->surface = wl_compositor_create_surface(d->compositor);
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, size) == 0);
	d->pool = wl_shm_create_pool(d->shm, fd, size);
	close(fd);
}

/** Destroys what is left of it (the surface and pool, unless NULL) and stops the guest. */
static void drawing_stop(struct drawing *d) {
	if (d->surface != NULL) {
		wl_surface_destroy(d->surface);
	}
	if (d->pool != NULL) {
		wl_shm_pool_destroy(d->pool);
	}
	wl_shm_destroy(d->shm);
	wl_compositor_destroy(d->compositor);
	guest_stop(&d->guest);
}

/**
 * Over cross-domain, to a host that keeps every buffer: behind a commit
 * that waits, the guest destroys a pool, makes a buffer of it all the same
 * (a protocol error straight to a compositor, but the pool still exists
 * while the requests are held), attaches that buffer and commits. Replayed,
 * the buffer's request goes nowhere and the buffer is inert: the commit
 * attaches nothing, and the guest and the proxy carry on.
 */
TEST(held_request_on_an_object_destroyed_meanwhile) {
	struct drawing d;
	drawing_start(&d, 64 * 64 * 4);
	struct wl_surface *surface = d.surface;
	struct wl_shm_pool *pool = d.pool;
	struct wl_buffer *first =
		wl_shm_pool_create_buffer(pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	wl_surface_attach(surface, first, 0, 0);
	for (int i = 0; i < 5; i++) {
		wl_surface_damage_buffer(surface, 0, 0, 64, 64);
		wl_surface_commit(surface);
		if (i < 4) {
			test_assert(wl_display_roundtrip(d.guest.display) >= 0);
		}
	}
	// The fifth commit waits; the pool's destroy is sent without
	// destroying the guest's proxy, which is used once more.
	wl_proxy_marshal_flags((struct wl_proxy *)pool, WL_SHM_POOL_DESTROY, NULL,
		wl_proxy_get_version((struct wl_proxy *)pool), 0);
	struct wl_buffer *orphan =
		wl_shm_pool_create_buffer(pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	wl_surface_attach(surface, orphan, 0, 0);
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	wl_buffer_destroy(orphan);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	test_assert(proc_alive(d.guest.relay->proxy));
	wl_proxy_destroy((struct wl_proxy *)pool);
	d.pool = NULL;
	wl_buffer_destroy(first);
	drawing_stop(&d);
}

static void count_release(void *data, struct wl_buffer *buffer) {
	(*(int *)data)++;
}

static const struct wl_buffer_listener count_release_listener = {
	.release = count_release,
};

/**
 * Over cross-domain, to a host that keeps every buffer: a guest buffer
 * attached in two commits while the proxy holds its release back gets one
 * release, when the surface goes, as a compositor sends one.
 */
TEST(buffer_attached_twice_is_released_once) {
	struct drawing d;
	drawing_start(&d, 2 * 64 * 64 * 4);
	struct wl_surface *surface = d.surface;
	struct wl_buffer *buffers[2];
	int released[2] = {0, 0};
	for (int i = 0; i < 2; i++) {
		buffers[i] = wl_shm_pool_create_buffer(
			d.pool, i * 64 * 64 * 4, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
		wl_buffer_add_listener(buffers[i], &count_release_listener, &released[i]);
	}
	// The first two host buffers give the guest's back at once, the next
	// ones only once the host releases them, or the surface goes.
	for (int i = 0; i < 4; i++) {
		wl_surface_attach(surface, buffers[i / 2], 0, 0);
		wl_surface_damage_buffer(surface, 0, 0, 64, 64);
		wl_surface_commit(surface);
		test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	}
	test_assert(released[0] == 2 && released[1] == 0);
	wl_surface_destroy(surface);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	test_log("releases: %d and %d", released[0], released[1]);
	test_assert(released[1] == 1);
	d.surface = NULL;
	for (int i = 0; i < 2; i++) {
		wl_buffer_destroy(buffers[i]);
	}
	drawing_stop(&d);
}

/**
 * Over cross-domain: a synchronized subsurface's guest buffer whose release
 * the proxy holds back, attached again before its release into the host
 * buffer of its last commit, which only the host's cache holds, gets one
 * release. Each set_desync and set_sync makes the host apply what it had
 * cached, so the next commit takes another host buffer: with three held,
 * the third's guest buffer waits for the host's release.
 */
TEST(buffer_attached_again_before_its_release_is_released_once) {
	struct drawing d;
	drawing_start(&d, 3 * 64 * 64 * 4);
	test_assert(d.guest.subcompositor_name != 0);
	struct wl_subcompositor *subcompositor = wl_registry_bind(
		d.guest.registry, d.guest.subcompositor_name, &wl_subcompositor_interface, 1);
	struct wl_surface *child = wl_compositor_create_surface(d.compositor);
	struct wl_subsurface *subsurface =
		wl_subcompositor_get_subsurface(subcompositor, child, d.surface);
	struct wl_buffer *buffers[3];
	int released[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		buffers[i] = wl_shm_pool_create_buffer(
			d.pool, i * 64 * 64 * 4, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
		wl_buffer_add_listener(buffers[i], &count_release_listener, &released[i]);
		if (i > 0) {
			wl_subsurface_set_desync(subsurface);
			wl_subsurface_set_sync(subsurface);
		}
		wl_surface_attach(child, buffers[i], 0, 0);
		wl_surface_damage_buffer(child, 0, 0, 64, 64);
		wl_surface_commit(child);
		test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	}
	test_assert(released[0] == 1 && released[1] == 1 && released[2] == 0);
	// The host lets the first two host buffers go; the third buffer is
	// attached again, before its release, and committed.
	wl_surface_set_buffer_scale(child, HOST_RELEASE_SCALE);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	wl_surface_set_buffer_scale(child, 1);
	wl_surface_attach(child, buffers[2], 0, 0);
	wl_surface_damage_buffer(child, 0, 0, 64, 64);
	wl_surface_commit(child);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	test_assert(host_next(d.guest.host_fd, 0) == 'a'); // into the same host buffer
	test_assert(released[2] == 1);
	wl_subsurface_destroy(subsurface);
	wl_surface_destroy(child);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	test_log("releases: %d, %d and %d", released[0], released[1], released[2]);
	test_assert(released[0] == 1 && released[1] == 1 && released[2] == 1);
	test_assert(proc_alive(d.guest.relay->proxy));
	for (int i = 0; i < 3; i++) {
		wl_buffer_destroy(buffers[i]);
	}
	wl_subcompositor_destroy(subcompositor);
	drawing_stop(&d);
}

/**
 * Over cross-domain, to a host that refuses nothing: a surface made its own
 * parent in several roles (a compositor's bad_parent error, which comes
 * only after the proxy has read them) that then commits, and goes
 * desynchronized and back: the proxy follows each parent once, and the
 * round trip comes back.
 */
TEST(surface_its_own_parent_in_many_roles) {
	struct drawing d;
	drawing_start(&d, 64 * 64 * 4);
	struct wl_subcompositor *subcompositor = wl_registry_bind(
		d.guest.registry, d.guest.subcompositor_name, &wl_subcompositor_interface, 1);
	struct wl_subsurface *roles[4];
	for (int i = 0; i < 4; i++) {
		roles[i] = wl_subcompositor_get_subsurface(subcompositor, d.surface, d.surface);
	}
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(d.pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	wl_surface_attach(d.surface, buffer, 0, 0);
	wl_surface_commit(d.surface);
	wl_subsurface_set_desync(roles[0]);
	wl_subsurface_set_sync(roles[0]);
	wl_surface_commit(d.surface);
	test_assert(wl_display_roundtrip(d.guest.display) >= 0);
	test_assert(proc_alive(d.guest.relay->proxy));
	for (int i = 0; i < 4; i++) {
		wl_subsurface_destroy(roles[i]);
	}
	wl_buffer_destroy(buffer);
	wl_subcompositor_destroy(subcompositor);
	drawing_stop(&d);
}

/**
 * Commits a buffer of the drawing five times: the host keeps every host
 * buffer, so the fifth commit waits, and what the guest sends next is held.
 */
static struct wl_buffer *commit_until_one_waits(struct drawing *d) {
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(d->pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	wl_surface_attach(d->surface, buffer, 0, 0);
	for (int i = 0; i < 5; i++) {
		wl_surface_damage_buffer(d->surface, 0, 0, 64, 64);
		wl_surface_commit(d->surface);
		if (i < 4) {
			test_assert(wl_display_roundtrip(d->guest.display) >= 0);
		}
	}
	return buffer;
}

/**
 * Over cross-domain, to a host that keeps every buffer: behind a commit
 * that waits, `registries` wl_display.get_registry and a bind the proxy
 * refuses (a wl_output above its version). After the replay, the guest
 * names the output in get_xdg_output, before it has read anything. The
 * proxy carries on and serves the next client; the guest's error, when
 * one reached it, is EPROTO.
 */
static int name_a_refused_output(size_t registries) {
	struct drawing d;
	drawing_start(&d, 64 * 64 * 4);
	struct zxdg_output_manager_v1 *manager = wl_registry_bind(d.guest.registry,
		d.guest.xdg_output_manager_name, &zxdg_output_manager_v1_interface, 3);
	struct wl_buffer *buffer = commit_until_one_waits(&d);
	struct wl_registry **held = calloc(registries + 1, sizeof(*held));
	test_assert(held != NULL);
	for (size_t i = 0; i < registries; i++) {
		held[i] = wl_display_get_registry(d.guest.display);
		if (i % 100 == 99) {
			test_assert(wl_display_flush(d.guest.display) >= 0);
		}
	}
	struct wl_output *refused =
		wl_registry_bind(d.guest.registry, d.guest.output_name, &wl_output_interface, 99);
	test_assert(wl_display_flush(d.guest.display) >= 0);
	// Past the proxy's patience the held requests are replayed in one pass
	// of its loop: the first thing the guest is sent since it was held
	// comes from that pass, and the next request is read after it.
	struct pollfd pfd = {.fd = wl_display_get_fd(d.guest.display), .events = POLLIN};
	test_assert(poll(&pfd, 1, 10000) == 1);
	struct zxdg_output_v1 *xdg_output = zxdg_output_manager_v1_get_xdg_output(manager, refused);
	wl_display_flush(d.guest.display); // the proxy may have closed the connection already
	proc_sleep_ms(200);
	test_assert(proc_alive(d.guest.relay->proxy));
	struct wl_display *next = wl_display_connect(d.guest.relay->socket);
	test_assert(next != NULL && wl_display_roundtrip(next) >= 0);
	wl_display_disconnect(next);
	test_assert(wl_display_roundtrip(d.guest.display) < 0);
	int error = wl_display_get_error(d.guest.display);
	test_assert(proc_alive(d.guest.relay->proxy));
	zxdg_output_v1_destroy(xdg_output);
	wl_proxy_destroy((struct wl_proxy *)refused);
	for (size_t i = 0; i < registries; i++) {
		wl_registry_destroy(held[i]);
	}
	free(held);
	zxdg_output_manager_v1_destroy(manager);
	wl_buffer_destroy(buffer);
	drawing_stop(&d);
	return error;
}

/**
 * Replayed outside the client's dispatch, the refusal ends the client, and
 * the request that names the output is not handled (libwayland would
 * dispatch one more request of a client with an error it did not send
 * itself).
 */
TEST(request_naming_an_object_refused_at_replay) {
	test_assert(name_a_refused_output(0) == EPROTO);
}

/**
 * The globals of a thousand registries, written as they are replayed,
 * fill the guest's socket, and libwayland, once it cannot write an event,
 * sends a client no error at all: the output stays a placeholder, and the
 * request that names it, which libwayland still dispatches, goes nowhere.
 */
TEST(request_naming_an_object_refused_in_silence) {
	name_a_refused_output(1000);
}

int main(int argc, char **argv) {
	return test_main(argc, argv);
}
