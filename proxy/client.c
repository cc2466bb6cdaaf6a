#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>

#include "log.h"
#include "server.h"
#include "util/clock.h"
#include "util/copy.h"
#include "util/cpu.h"
#include "virtgpu/bridge.h"
#include "wayland/forward.h"
#include "wayland/registry.h"

/** How long a request waits for the host to take what is queued before it. */
#define WCP_HOST_WRITE_WAIT_MS 2000

static enum wl_iterator_result destroy_unless_display(struct wl_resource *resource, void *data) {
	if (wl_resource_get_id(resource) != 1) {
		wl_resource_destroy(resource);
	}
	return WL_ITERATOR_CONTINUE;
}

static void client_destroy(struct wcp_client *client) {
	struct wcp_server *server = client->server;
	wl_list_remove(&client->client_destroy.link);
	wl_list_remove(&client->link);
	hold_finish(&client->hold);
	struct wcp_object *object, *tmp;
	wl_list_for_each_safe(object, tmp, &client->objects, link) {
		forward_detach(object);
	}
	registry_finish(client);
	// Every resource goes before the wl_display, whose destroy hook
	// registry.c replaced: libwayland then sends no delete_id through the
	// display once it is gone, whichever way its wl_client_destroy takes.
	wl_client_for_each_resource(client->client, destroy_unless_display, NULL);
	if (client->fail_idle != NULL) {
		wl_event_source_remove(client->fail_idle);
	}
	if (client->host_source != NULL) {
		wl_event_source_remove(client->host_source);
	}
	if (client->host != NULL) {
		wl_display_disconnect(client->host);
	}
	bridge_destroy(client->bridge);
	wl_array_release(&client->shm_formats);
	if (client->stat_fd >= 0) {
		close(client->stat_fd);
	}
	free(client);
	if (wl_list_empty(&server->clients)) {
		// An idle proxy gives back what its clients used, instead of
		// keeping it in the allocator for a session's lifetime.
		malloc_trim(0);
	}
}

static void handle_client_destroy(struct wl_listener *listener, void *data) {
	struct wcp_client *client = wl_container_of(listener, client, client_destroy);
	client_destroy(client);
}

struct wcp_client *client_from_wl(struct wl_client *wl_client) {
	struct wcp_client *client;
	struct wl_listener *listener =
		wl_client_get_destroy_listener(wl_client, handle_client_destroy);
	return listener != NULL ? wl_container_of(listener, client, client_destroy) : NULL;
}

static void handle_fail_idle(void *data) {
	struct wcp_client *client = data;
	// An idle source is gone once it has run.
	client->fail_idle = NULL;
	wl_client_flush(client->client);
	wl_client_destroy(client->client);
}

void client_fail(struct wcp_client *client, const char *why) {
	if (client->fail_idle != NULL) {
		return; // already on its way out
	}
	pid_t pid;
	wl_client_get_credentials(client->client, &pid, NULL, NULL);
	wcp_log(WCP_ERROR, "client (pid %d): %s; disconnecting it", (int)pid, why);
	// Callers may be inside a dispatch of this client or of its host
	// connection: the teardown waits until the loop is back at the top.
	client->fail_idle = wl_event_loop_add_idle(client->server->loop, handle_fail_idle, client);
	if (client->fail_idle == NULL) {
		wl_client_post_no_memory(client->client);
	}
	if (client->host_source != NULL) {
		wl_event_source_fd_update(client->host_source, 0);
	}
}

/** Passes the host's protocol error on to the guest object it was about. */
static void relay_host_error(struct wcp_client *client) {
	int err = wl_display_get_error(client->host);
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t code = wl_display_get_protocol_error(client->host, &interface, &id);
	// libwayland-client gives an error on wl_display itself an errno of its
	// code's (EINVAL for invalid_object and invalid_method, ENOMEM...).
	bool on_display = interface != NULL && strcmp(interface->name, "wl_display") == 0;
	if (err != EPROTO && !on_display) {
		client_fail(client, "the host connection failed");
		return;
	}
	struct wcp_object *object = forward_find_host_id(client, id);
	const char *name = interface != NULL ? interface->name : "unknown";
	struct wl_resource *display = wl_client_get_object(client->client, 1);
	if (on_display && display != NULL) {
		// The display is no relayed object, and is object 1 on both sides.
		wl_resource_post_error(
			display, code, "the host compositor raised error %u on wl_display", code);
	} else if (object != NULL) {
		wl_resource_post_error(object->resource, code,
			"the host compositor raised error %u on %s", code, name);
	} else {
		wl_client_post_implementation_error(client->client,
			"the host compositor raised error %u on %s@%u", code, name, id);
	}
	client_fail(client, "the host compositor raised a protocol error");
}

/*
 * Reads and dispatches what the host sent. By hand, not with
 * wl_display_dispatch, which would block to flush a full socket; with
 * nothing to read it returns at once.
 */
static void read_host(struct wcp_client *client) {
	while (wl_display_prepare_read(client->host) != 0) {
		if (wl_display_dispatch_pending(client->host) < 0) {
			relay_host_error(client);
			return;
		}
	}
	if (wl_display_read_events(client->host) < 0 ||
		wl_display_dispatch_pending(client->host) < 0) {
		relay_host_error(client);
	}
}

/**
 * Writes out what libwayland-client has queued, and passes it on over the
 * bridge; 0 once all of it went, else the flush's errno (EAGAIN: the socket
 * is full). It reads nothing, so it may run amid a dispatch.
 */
static int flush_host(struct wcp_client *client) {
	int sent = wl_display_flush(client->host);
	int flush_errno = errno; // the bridge's own calls may change errno
	if (client->bridge != NULL && (sent > 0 || flush_errno == EAGAIN)) {
		// Straight on to the host, without a trip through the event loop
		// (after a short write too: the socket pair has room again).
		bridge_pump(client->bridge);
	}
	if (sent >= 0) {
		client->host_queued = 0;
		client->host_fds_queued = 0;
		if (client->host_flush_pending) {
			client->host_flush_pending = false;
			wl_event_source_fd_update(client->host_source, WL_EVENT_READABLE);
		}
		return 0;
	}
	if (wl_display_get_error(client->host) != 0) {
		// libwayland-client has given the connection up (a write inside
		// the marshalling of a request failed): its flush reports that
		// error, EAGAIN among them, from now on, and no write will come.
		return wl_display_get_error(client->host) == EAGAIN ? EIO : flush_errno;
	}
	if (flush_errno == EAGAIN && !client->host_flush_pending) {
		client->host_flush_pending = true;
		wl_event_source_fd_update(
			client->host_source, WL_EVENT_READABLE | WL_EVENT_WRITABLE);
	}
	return flush_errno;
}

void client_flush_host(struct wcp_client *client) {
	if (client->fail_idle != NULL) {
		return; // on its way out
	}
	int err = flush_host(client);
	if (client->bridge != NULL) {
		bridge_flush(client->bridge);
	}
	if (client->host_broken) {
		read_host(client); // why client_host_reserve found it over
		if (client->fail_idle == NULL) {
			client_fail(client, "the host connection failed");
		}
		return;
	}
	if (err == 0 || err == EAGAIN) {
		return;
	}
	if (err == EPIPE && wl_display_get_error(client->host) == 0) {
		// The host hung up, most likely after a protocol error that is
		// still to be read: reading finds it, or the end.
		read_host(client);
		return;
	}
	relay_host_error(client);
}

/* libwayland-client's output buffer (connection.c in libwayland 1.21). */
#define HOST_BUFFER_BYTES 4096
#define HOST_BUFFER_FDS 28

bool client_host_reserve(struct wcp_client *client, size_t bytes, size_t fds) {
	if (client->fail_idle != NULL || client->host_broken) {
		return false;
	}
	if (client->host_queued + bytes <= HOST_BUFFER_BYTES &&
		client->host_fds_queued + fds <= HOST_BUFFER_FDS) {
		client->host_queued += bytes;
		client->host_fds_queued += fds;
		return true;
	}
	// The loop waits for this client's host alone, and for a while only:
	// libwayland-client would end the connection at once.
	long long deadline = clock_ms() + WCP_HOST_WRITE_WAIT_MS;
	int err;
	while ((err = flush_host(client)) == EAGAIN) {
		long long left = deadline - clock_ms();
		// Over cross-domain flush_host has emptied the socket pair: it is
		// tried again at once, as nothing else would empty it meanwhile.
		struct pollfd pfd = {wl_display_get_fd(client->host), POLLOUT, 0};
		if (left <= 0 ||
			(client->bridge == NULL && poll(&pfd, 1, (int)left) < 0 &&
				errno != EINTR)) {
			wl_client_post_implementation_error(client->client,
				"the host compositor does not read what the client sends");
			client_fail(client, "the host compositor stopped reading its connection");
			return false;
		}
	}
	if (err != 0) {
		// The connection is over; the loop's own flush reads why (the
		// host's error, as a rule) once this dispatch is done.
		client->host_broken = true;
		return false;
	}
	client->host_queued = bytes;
	client->host_fds_queued = fds;
	return true;
}

void client_read_delivered(struct wcp_client *client) {
	if (client->host_delivered) {
		client->host_delivered = false;
		read_host(client);
	}
}

static int handle_host(int fd, uint32_t mask, void *data) {
	struct wcp_client *client = data;
	if (mask & WL_EVENT_WRITABLE) {
		client_flush_host(client);
		return 0;
	}
	// Data still readable is read before a hang-up is acted on, so that a
	// final protocol error is not lost.
	if (mask & WL_EVENT_READABLE) {
		client->host_delivered = false;
		read_host(client);
		return 0;
	}
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		client_fail(client, "the host closed the connection");
	}
	return 0;
}

static void handle_bridge_closed(void *data, const char *reason) {
	// The host connection sees the closed socket and ends the client.
	wcp_log(WCP_DEBUG, "bridge closed: %s", reason);
}

static void handle_bridge_delivered(void *data) {
	struct wcp_client *client = data;
	client->host_delivered = true;
}

static const struct wcp_cd_bridge_listener bridge_listener = {
	.closed = handle_bridge_closed,
	.delivered = handle_bridge_delivered,
};

/** Opens the host connection: a bridge over a new device, or a socket. */
static bool connect_host(struct wcp_client *client) {
	struct wcp_server *server = client->server;
	if (server->direct) {
		client->host = wl_display_connect(server->host_display);
		if (client->host == NULL) {
			wcp_log_errno(WCP_ERROR, "cannot connect to the host compositor %s",
				server->host_display != NULL ? server->host_display : "(default)");
			return false;
		}
		return true;
	}
	// One guest client, one virtio-gpu context, one host connection.
	struct wcp_virtgpu_device *device = virtgpu_device_open(server->device);
	if (device == NULL) {
		return false;
	}
	int fd;
	client->bridge = bridge_create(
		server->loop, device, WCP_CD_CHANNEL_WAYLAND, &bridge_listener, client, &fd);
	if (client->bridge == NULL) {
		return false;
	}
	// wl_display_connect_to_fd owns the fd, failing or not.
	client->host = wl_display_connect_to_fd(fd);
	if (client->host == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot start a host connection over cross-domain");
		return false;
	}
	return true;
}

bool client_copy_evicts(struct wcp_client *client) {
	enum wcp_copy_evict policy = client->server->copy_evict;
	if (!WCP_COPY_EVICTS || policy == WCP_COPY_EVICT_NEVER) {
		return false;
	}
	if (!client->stat_opened) {
		client->stat_opened = true;
		pid_t pid;
		wl_client_get_credentials(client->client, &pid, NULL, NULL);
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		// A client from another PID namespace has pid 0 here.
		client->stat_fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (client->stat_fd < 0) {
			wcp_log(WCP_DEBUG, "client (pid %d): cannot tell where it runs", (int)pid);
		}
	}
	if (client->stat_fd < 0) {
		return false;
	}
	int theirs = cpu_of_task(client->stat_fd), ours = sched_getcpu();
	if (theirs < 0 || ours < 0 || theirs == ours) {
		return false;
	}
	return policy == WCP_COPY_EVICT_OTHER_CPU ||
		!cpu_caches_shared(&client->server->caches, theirs, ours);
}

struct wcp_client *client_create(struct wcp_server *server, struct wl_client *wl_client) {
	struct wcp_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		wl_client_destroy(wl_client);
		return NULL;
	}
	client->server = server;
	client->client = wl_client;
	wl_list_init(&client->host_globals);
	wl_list_init(&client->registries);
	wl_list_init(&client->objects);
	wl_array_init(&client->shm_formats);
	wl_list_init(&client->subsurfaces);
	hold_init(&client->hold);
	client->stat_fd = -1;
	wl_list_insert(&server->clients, &client->link);
	client->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(wl_client, &client->client_destroy);

	if (!connect_host(client)) {
		goto error;
	}
	client->host_source = wl_event_loop_add_fd(server->loop, wl_display_get_fd(client->host),
		WL_EVENT_READABLE, handle_host, client);
	if (client->host_source == NULL || !registry_init(client)) {
		wcp_log(WCP_ERROR, "cannot set up the host connection");
		goto error;
	}
	return client;

error:
	wl_client_destroy(wl_client);
	return NULL;
}
