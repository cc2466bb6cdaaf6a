/* The listening socket and the emu backend's connections (emu_wire.h). */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util/fdpass.h"
#include "virtgpu/uapi.h"
#include "virtgpu/emu_wire.h"

struct wcp_emu_connection {
	struct wl_list link;
	struct wcp_emu_server *server;
	int fd;
	struct wl_event_source *source;
	struct wcp_emu_file *file;
	unsigned int serial; // for log lines
};

struct wcp_emu_server {
	struct wcp_emu_host *host;
	int fd;
	struct wl_event_source *source;
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	struct wl_list connections;
	unsigned int next_serial;
	uint8_t *buffer; // WCP_EMU_MAX_MESSAGE bytes: one message at a time
	uint8_t *reply_extra; // as large, for the reply's extra data
};

static void connection_destroy(struct wcp_emu_connection *conn) {
	wcp_log(WCP_INFO, "connection %u closed", conn->serial);
	emu_device_file_destroy(conn->file);
	wl_event_source_remove(conn->source);
	close(conn->fd);
	wl_list_remove(&conn->link);
	free(conn);
}

static bool send_reply(struct wcp_emu_connection *conn, int32_t result, const void *arg,
	size_t arg_size, const struct wcp_emu_answer *answer) {
	struct wcp_emu_reply reply = {
		.result = result,
		.arg_size = (uint32_t)arg_size,
		.extra_size = result == 0 ? (uint32_t)answer->extra_size : 0,
	};
	struct iovec iov[3] = {
		{.iov_base = &reply, .iov_len = sizeof(reply)},
		{.iov_base = (void *)arg, .iov_len = arg_size},
		{.iov_base = answer->extra, .iov_len = reply.extra_size},
	};
	bool with_fd = result == 0 && answer->fd >= 0;
	ssize_t n = fdpass_send(conn->fd, iov, 3, &answer->fd, with_fd ? 1 : 0, 0);
	if (n < 0) {
		wcp_log_errno(WCP_ERROR, "connection %u: cannot send a reply", conn->serial);
		return false;
	}
	return true;
}

/** Handles one message; false when the connection is to be closed. */
static bool handle_message(struct wcp_emu_connection *conn) {
	uint8_t *buffer = conn->server->buffer;
	struct iovec iov = {.iov_base = buffer, .iov_len = WCP_EMU_MAX_MESSAGE};
	// A request carries at most one fd; more make it malformed.
	int fd = -1;
	size_t fd_count;
	int flags;
	ssize_t n = fdpass_recv(conn->fd, &iov, 1, &fd, 1, &fd_count, MSG_DONTWAIT, &flags);
	if (n < 0 && errno == EAGAIN) {
		return true;
	}
	if (n < 0) {
		wcp_log_errno(WCP_ERROR, "connection %u: receive failed", conn->serial);
		return false;
	}
	bool keep = false;
	struct wcp_emu_request request;
	if (n == 0) {
		goto out; // the guest closed its device
	}
	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || (size_t)n < sizeof(request)) {
		wcp_log(WCP_ERROR, "connection %u: malformed message of %zd bytes; closing",
			conn->serial, n);
		goto out;
	}
	memcpy(&request, buffer, sizeof(request));
	if ((size_t)n != sizeof(request) + (size_t)request.arg_size + request.extra_size) {
		wcp_log(WCP_ERROR,
			"connection %u: message of %zd bytes does not match its sizes "
			"(%u + %u); closing",
			conn->serial, n, request.arg_size, request.extra_size);
		goto out;
	}
	// The struct is copied out: the reply's extra data is built in the same buffer.
	uint8_t arg[128];
	if (request.arg_size > sizeof(arg)) {
		wcp_log(WCP_ERROR, "connection %u: request 0x%08x with a %u-byte argument; closing",
			conn->serial, request.request, request.arg_size);
		goto out;
	}
	memcpy(arg, buffer + sizeof(request), request.arg_size);
	const uint8_t *extra = buffer + sizeof(request) + request.arg_size;
	struct wcp_emu_answer answer = {
		.extra = conn->server->reply_extra,
		.extra_max = WCP_EMU_MAX_MESSAGE - sizeof(struct wcp_emu_reply) - request.arg_size,
		.fd = -1,
	};
	bool posted = (request.flags & WCP_EMU_POSTED) != 0;
	if ((request.flags & ~WCP_EMU_POSTED) != 0 ||
		(posted && request.request != WCP_IOCTL_VIRTGPU_EXECBUFFER)) {
		wcp_log(WCP_ERROR, "connection %u: request 0x%08x with flags 0x%x; closing",
			conn->serial, request.request, request.flags);
		goto out;
	}
	int result = emu_device_request(conn->file, request.request, arg, request.arg_size, extra,
		request.extra_size, fd, &answer);
	if (posted && result != WCP_EMU_MALFORMED) {
		// Nothing to answer: a refusal means the guest's checks were not the kernel's.
		keep = result == 0;
		if (!keep) {
			wcp_log(WCP_ERROR,
				"connection %u: a posted EXECBUFFER was refused (%s); the device is "
				"lost",
				conn->serial, strerror(-result));
		}
	} else if (result == WCP_EMU_MALFORMED) {
		wcp_log(WCP_ERROR,
			"connection %u: malformed request 0x%08x (%u + %u bytes, %zu fds); "
			"closing",
			conn->serial, request.request, request.arg_size, request.extra_size,
			fd_count);
	} else {
		wcp_log(WCP_DEBUG, "connection %u: request 0x%08x: %d", conn->serial,
			request.request, result);
		keep = send_reply(conn, result, arg, request.arg_size, &answer);
	}
	if (answer.fd >= 0) {
		close(answer.fd);
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	return keep;
}

static int on_connection(int fd, uint32_t mask, void *data) {
	struct wcp_emu_connection *conn = data;
	if (!handle_message(conn)) {
		connection_destroy(conn);
	}
	return 0;
}

static bool send_hello(int fd, int event_fd) {
	struct wcp_emu_hello hello = {.magic = WCP_EMU_MAGIC, .version = WCP_EMU_VERSION};
	struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
	if (fdpass_send(fd, &iov, 1, &event_fd, 1, 0) != (ssize_t)sizeof(hello)) {
		wcp_log_errno(WCP_ERROR, "cannot send the hello");
		return false;
	}
	return true;
}

static int on_listen(int fd, uint32_t mask, void *data) {
	struct wcp_emu_server *server = data;
	int conn_fd = accept4(server->fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn_fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			wcp_log_errno(WCP_ERROR, "accept");
		}
		return 0;
	}
	struct wcp_emu_connection *conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		goto error_fd;
	}
	int event_fd;
	conn->file = emu_device_file_create(server->host, &event_fd);
	if (conn->file == NULL) {
		goto error_conn;
	}
	bool sent = send_hello(conn_fd, event_fd);
	close(event_fd);
	if (!sent) {
		goto error_file;
	}
	conn->source = wl_event_loop_add_fd(
		server->host->loop, conn_fd, WL_EVENT_READABLE, on_connection, conn);
	if (conn->source == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot watch a connection");
		goto error_file;
	}
	conn->server = server;
	conn->fd = conn_fd;
	conn->serial = ++server->next_serial;
	wl_list_insert(&server->connections, &conn->link);
	wcp_log(WCP_INFO, "connection %u opened", conn->serial);
	return 0;

error_file:
	emu_device_file_destroy(conn->file);
error_conn:
	free(conn);
error_fd:
	close(conn_fd);
	return 0;
}

/**
 * Listens on addr. The socket is made under a temporary name and renamed
 * into place once it listens, so that a socket at the path always accepts
 * (a waiting test or proxy may connect as soon as it appears); a stale
 * socket that nobody listens on is replaced.
 */
static int listen_socket(const struct sockaddr_un *addr) {
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		wcp_log_errno(WCP_ERROR, "socket");
		return -1;
	}
	int connected = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
	close(probe);
	if (connected == 0) {
		wcp_log(WCP_ERROR, "%s is in use by another wl-cross-emu", addr->sun_path);
		return -1;
	}
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int n = snprintf(
		tmp.sun_path, sizeof(tmp.sun_path), "%s.%ld", addr->sun_path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp.sun_path)) {
		wcp_log(WCP_ERROR, "socket path %s is too long", addr->sun_path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		wcp_log_errno(WCP_ERROR, "socket");
		return -1;
	}
	unlink(tmp.sun_path);
	if (bind(fd, (const struct sockaddr *)&tmp, sizeof(tmp)) < 0 || listen(fd, 16) < 0 ||
		rename(tmp.sun_path, addr->sun_path) < 0) {
		wcp_log_errno(WCP_ERROR, "cannot listen on %s", addr->sun_path);
		unlink(tmp.sun_path);
		close(fd);
		return -1;
	}
	return fd;
}

struct wcp_emu_server *emu_server_create(struct wcp_emu_host *host, const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "socket path \"%s\" is empty or longer than %zu bytes", path,
			sizeof(addr.sun_path) - 1);
		return NULL;
	}
	memcpy(addr.sun_path, path, len + 1);
	struct wcp_emu_server *server = calloc(1, sizeof(*server));
	if (server == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	server->host = host;
	wl_list_init(&server->connections);
	memcpy(server->path, path, len + 1);
	server->buffer = malloc(WCP_EMU_MAX_MESSAGE);
	server->reply_extra = malloc(WCP_EMU_MAX_MESSAGE);
	if (server->buffer == NULL || server->reply_extra == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		goto error_server;
	}
	server->fd = listen_socket(&addr);
	if (server->fd < 0) {
		goto error_buffer;
	}
	server->source =
		wl_event_loop_add_fd(host->loop, server->fd, WL_EVENT_READABLE, on_listen, server);
	if (server->source == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot watch %s", path);
		goto error_fd;
	}
	return server;

error_fd:
	close(server->fd);
	unlink(path);
error_buffer:
	free(server->reply_extra);
	free(server->buffer);
error_server:
	free(server);
	return NULL;
}

void emu_server_destroy(struct wcp_emu_server *server) {
	if (server == NULL) {
		return;
	}
	struct wcp_emu_connection *conn, *tmp;
	wl_list_for_each_safe(conn, tmp, &server->connections, link) {
		connection_destroy(conn);
	}
	wl_event_source_remove(server->source);
	close(server->fd);
	unlink(server->path);
	free(server->reply_extra);
	free(server->buffer);
	free(server);
}
