#include "fuzz_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-client.h>

#include "test.h"
#include "util/fdpass.h"
#include "wayland/metadata.h"

struct fuzz_object *fuzz_conn_find(struct fuzz_conn *conn, uint32_t id) {
	for (size_t i = 0; i < conn->object_count; i++) {
		if (conn->objects[i].id == id) {
			return &conn->objects[i];
		}
	}
	return NULL;
}

struct fuzz_object *fuzz_conn_add(struct fuzz_conn *conn, uint32_t id,
	const struct wl_interface *interface, uint32_t version) {
	if (interface == NULL || conn->object_count == FUZZ_MAX_OBJECTS ||
		fuzz_conn_find(conn, id) != NULL) {
		return NULL;
	}
	struct fuzz_object *object = &conn->objects[conn->object_count++];
	*object = (struct fuzz_object){
		.id = id, .interface = interface, .version = version, .pool = -1};
	return object;
}

void fuzz_conn_remove(struct fuzz_conn *conn, uint32_t id) {
	for (size_t i = 0; i < conn->object_count; i++) {
		if (conn->objects[i].id == id) {
			conn->objects[i] = conn->objects[--conn->object_count];
			return;
		}
	}
}

uint32_t fuzz_conn_since(const struct wl_message *msg) {
	uint32_t since = 0;
	for (const char *p = msg->signature; *p >= '0' && *p <= '9'; p++) {
		since = since * 10 + (uint32_t)(*p - '0');
	}
	return since == 0 ? 1 : since;
}

const char *fuzz_conn_next_arg(const char *p, bool *nullable) {
	*nullable = false;
	for (; (*p >= '0' && *p <= '9') || *p == '?'; p++) {
		*nullable |= *p == '?';
	}
	return p;
}

bool fuzz_conn_is_destructor(const struct wl_interface *interface, uint32_t opcode) {
	const struct wcp_interface_meta *meta = metadata_find(interface->name);
	return meta != NULL && opcode < 32 && (meta->destructor_requests & (1u << opcode));
}

static void pools_close(struct fuzz_conn *conn) {
	for (size_t i = 0; i < conn->pool_count; i++) {
		munmap(conn->pools[i].data, conn->pools[i].map_size);
		close(conn->pools[i].fd);
	}
	conn->pool_count = 0;
}

void fuzz_conn_close(struct fuzz_conn *conn) {
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
	pools_close(conn);
}

/** Walks one event: tracks the objects it makes and ends, and errors. */
static void handle_event(struct fuzz_conn *conn, const uint32_t *words, size_t size) {
	uint32_t id = words[0], opcode = words[1] & 0xffff;
	if (id == 1 && opcode == 0 && size >= 16) {
		conn->errored = true;
		conn->error_code = words[3];
		if (getenv("WCP_FUZZ_VERBOSE") != NULL && size >= 24) {
			test_log("error %u: %.*s", words[3], (int)(size - 20),
				(const char *)&words[5]);
		}
		return;
	}
	if (id == 1 && opcode == 1 && size >= 12) {
		fuzz_conn_remove(conn, words[2]); // delete_id
		return;
	}
	struct fuzz_object *object = fuzz_conn_find(conn, id);
	if (object == NULL || opcode >= (uint32_t)object->interface->event_count) {
		return;
	}
	const struct wl_interface *interface = object->interface;
	uint32_t version = object->version;
	if (id == 2 && opcode == 0 && size >= 20 && conn->global_count < FUZZ_MAX_GLOBALS) {
		// wl_registry.global: name, interface, version.
		uint32_t len = words[3];
		if (len > 0 && 16 + ((len + 3) & ~3u) + 4 <= size) {
			const char *name = (const char *)&words[4];
			const struct wcp_interface_meta *meta =
				name[len - 1] == '\0' ? metadata_find(name) : NULL;
			if (meta != NULL) {
				conn->globals[conn->global_count++] = (struct fuzz_global){
					.name = words[2],
					.version = words[4 + ((len + 3) & ~3u) / 4],
					.interface = meta->interface,
				};
			}
		}
		return;
	}
	if (id == 3) {
		conn->registry_done = true; // the sync after get_registry
	}
	// Objects the server makes (wl_data_device.data_offer and the like).
	const struct wl_message *msg = &interface->events[opcode];
	size_t at = 8;
	int arg = 0;
	bool nullable;
	for (const char *p = fuzz_conn_next_arg(msg->signature, &nullable);
		*p != '\0' && at + 4 <= size; p = fuzz_conn_next_arg(p + 1, &nullable)) {
		if (*p == 'h') {
			arg++;
			continue;
		}
		uint32_t word = words[at / 4];
		if (*p == 's' || *p == 'a') {
			at += 4 + ((word + 3) & ~3u);
		} else {
			if (*p == 'n') {
				fuzz_conn_add(conn, word, msg->types[arg], version);
			}
			at += 4;
		}
		arg++;
	}
	const struct wcp_interface_meta *meta = metadata_find(interface->name);
	if (meta != NULL && opcode < 32 && (meta->destructor_events & (1u << opcode))) {
		fuzz_conn_remove(conn, id);
	}
}

bool fuzz_conn_read(struct fuzz_conn *conn) {
	for (;;) {
		struct iovec iov = {conn->in + conn->in_have, FUZZ_IN_SIZE - conn->in_have};
		int fds[WCP_FDPASS_MAX_FDS];
		size_t fd_count = 0;
		ssize_t n = fdpass_recv(
			conn->fd, &iov, 1, fds, WCP_FDPASS_MAX_FDS, &fd_count, MSG_DONTWAIT, NULL);
		for (size_t i = 0; i < fd_count; i++) {
			close(fds[i]); // keymaps and the like: not looked at
		}
		conn->fds_in += (unsigned int)fd_count;
		if (n < 0 && errno == EAGAIN) {
			return true;
		}
		if (n <= 0) {
			return false;
		}
		conn->in_have += (size_t)n;
		size_t at = 0;
		while (conn->in_have - at >= 8) {
			uint32_t words[2];
			memcpy(words, conn->in + at, 8);
			size_t size = words[1] >> 16;
			test_assert(size >= 8 && size <= 4096);
			if (conn->in_have - at < size) {
				break;
			}
			uint32_t event[1024];
			memcpy(event, conn->in + at, size);
			handle_event(conn, event, size);
			at += size;
		}
		memmove(conn->in, conn->in + at, conn->in_have - at);
		conn->in_have -= at;
	}
}

bool fuzz_conn_send(struct fuzz_conn *conn, const uint32_t *words, size_t size, const int *fds,
	size_t fd_count) {
	size_t done = 0;
	while (done < size) {
		struct pollfd pfd = {conn->fd, POLLIN | POLLOUT, 0};
		test_assert(poll(&pfd, 1, 10000) == 1);
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !fuzz_conn_read(conn)) {
			return false;
		}
		if (!(pfd.revents & POLLOUT)) {
			continue;
		}
		struct iovec iov = {(char *)words + done, size - done};
		// The fds go with the first bytes.
		ssize_t n =
			fdpass_send(conn->fd, &iov, 1, fds, done == 0 ? fd_count : 0, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		done += (size_t)n;
	}
	return true;
}

void fuzz_conn_open(struct fuzz_conn *conn, const char *path) {
	*conn = (struct fuzz_conn){.next_id = 4};
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	test_format(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	test_assert(connect(conn->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	fuzz_conn_add(conn, 1, &wl_display_interface, 1);
	fuzz_conn_add(conn, 2, &wl_registry_interface, 1);
	fuzz_conn_add(conn, 3, &wl_callback_interface, 1);
	const uint32_t hello[] = {1, (12u << 16) | 1, 2, 1, (12u << 16) | 0, 3};
	test_assert(fuzz_conn_send(conn, hello, sizeof(hello), NULL, 0));
}
