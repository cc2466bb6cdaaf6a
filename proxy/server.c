#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "wayland/forward.h"

/* Says which CPUs are known to share a last-level cache (the large copies depend on it). */
static void log_caches(const struct wcp_cpu_caches *caches) {
	int known = 0;
	for (int cpu = 0; cpu < caches->count; cpu++) {
		known += caches->group[cpu] >= 0;
	}
	if (known == 0) {
		wcp_log(WCP_DEBUG,
			"sysfs describes no CPU caches: no two CPUs are known to share one");
	} else {
		wcp_log(WCP_DEBUG, "last-level caches known for %d of %d CPUs", known,
			caches->count);
	}
}

struct wcp_server *server_create(bool direct, const char *device, const char *host_display) {
	struct wcp_server *server = calloc(1, sizeof(*server));
	if (server == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		return NULL;
	}
	server->direct = direct;
	server->device = device;
	server->host_display = host_display;
	server->listen_fd = -1;
	server->lock_fd = -1;
	wl_list_init(&server->clients);
	if (!cpu_caches_init(&server->caches, "/sys/devices/system/cpu")) {
		wcp_log(WCP_ERROR, "out of memory");
		goto error_server;
	}
	log_caches(&server->caches);
	server->display = wl_display_create();
	if (server->display == NULL) {
		wcp_log(WCP_ERROR, "cannot create the Wayland display");
		goto error_caches;
	}
	server->loop = wl_display_get_event_loop(server->display);
	server->error_logger = forward_log_errors(server->display);
	return server;

error_caches:
	cpu_caches_finish(&server->caches);
error_server:
	free(server);
	return NULL;
}

/** How long new connections wait when the proxy has run out of fds or memory. */
#define ACCEPT_PAUSE_MS 250

static int handle_accept_pause(void *data) {
	struct wcp_server *server = data;
	wl_event_source_fd_update(server->listen_source, WL_EVENT_READABLE);
	return 0;
}

/**
 * Stops watching the socket for a while: the connection that could not be
 * taken stays queued, and would otherwise be reported again at once, the
 * loop turning on it with nothing else served. The timer is made with the
 * socket's source, while there are fds to make it.
 */
static void pause_accepting(struct wcp_server *server) {
	wl_event_source_fd_update(server->listen_source, 0);
	wl_event_source_timer_update(server->accept_pause, ACCEPT_PAUSE_MS);
}

static int handle_listen(int fd, uint32_t mask, void *data) {
	struct wcp_server *server = data;
	int client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (client_fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			wcp_log_errno(WCP_ERROR, "accept: new clients wait %d ms", ACCEPT_PAUSE_MS);
			pause_accepting(server);
		} else if (errno != EAGAIN && errno != EINTR) {
			wcp_log_errno(WCP_ERROR, "accept");
		}
		return 0;
	}
	struct ucred peer;
	socklen_t peer_len = sizeof(peer);
	if (server->direct &&
		getsockopt(client_fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 &&
		peer.pid == getpid()) {
		// Its host display names its own socket: each client's host
		// connection would come back as another client, without end.
		wcp_log(WCP_ERROR,
			"the host display is this proxy's own socket %s: there is no compositor "
			"to relay to (set --host-display)",
			server->socket_name);
		close(client_fd);
		server->failed = true;
		server->running = false;
		return 0;
	}
	struct wl_client *wl_client = wl_client_create(server->display, client_fd);
	if (wl_client == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot create a client");
		close(client_fd);
		return 0;
	}
	client_create(server, wl_client);
	return 0;
}

/** Whether something accepts connections at path (a live server, not a stale socket). */
static bool socket_is_served(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(addr.sun_path)) {
		return false;
	}
	memcpy(addr.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	bool served = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return served;
}

/** Opens and takes the lock next to socket_path; false when another server holds it. */
enum socket_result {
	SOCKET_TAKEN, // by us
	SOCKET_IN_USE, // another server has it
	SOCKET_NOT_SOCKET, // logged: something else has the name, and it is left alone
	SOCKET_FAILED, // logged; no other name in the directory would do better
};

static enum socket_result take_lock(struct wcp_server *server) {
	int len = snprintf(
		server->lock_path, sizeof(server->lock_path), "%s.lock", server->socket_path);
	if (len < 0 || (size_t)len >= sizeof(server->lock_path)) {
		wcp_log(WCP_ERROR, "the lock path %s.lock is too long", server->socket_path);
		return SOCKET_FAILED;
	}
	int lock_fd = open(server->lock_path, O_CREAT | O_CLOEXEC | O_RDWR, 0640);
	if (lock_fd < 0) {
		wcp_log_errno(WCP_ERROR, "cannot open the lock %s", server->lock_path);
		return SOCKET_FAILED;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		enum socket_result result = errno == EWOULDBLOCK ? SOCKET_IN_USE : SOCKET_FAILED;
		if (result == SOCKET_FAILED) {
			wcp_log_errno(WCP_ERROR, "cannot lock %s", server->lock_path);
		}
		close(lock_fd);
		return result;
	}
	server->lock_fd = lock_fd;
	return SOCKET_TAKEN;
}

static void release_lock(struct wcp_server *server) {
	if (server->lock_fd >= 0) {
		unlink(server->lock_path);
		close(server->lock_fd);
		server->lock_fd = -1;
	}
}

/** Takes `name` if its lock is free: stale sockets of dead servers are replaced. */
static enum socket_result try_socket(struct wcp_server *server, const char *dir, const char *name) {
	int len = snprintf(server->socket_path, sizeof(server->socket_path), "%s/%s", dir, name);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (len < 0 || (size_t)len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "the socket path %s/%s is too long (%zu bytes at most)", dir,
			name, sizeof(addr.sun_path) - 1);
		return SOCKET_FAILED;
	}
	enum socket_result locked = take_lock(server);
	if (locked != SOCKET_TAKEN) {
		return locked;
	}
	struct stat st;
	if (lstat(server->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		// Only a stale socket is replaced, never a file of another kind.
		wcp_log(WCP_ERROR, "%s exists and is not a socket: it is left alone",
			server->socket_path);
		release_lock(server);
		return SOCKET_NOT_SOCKET;
	}
	if (socket_is_served(server->socket_path)) {
		release_lock(server);
		return SOCKET_IN_USE;
	}
	// Made under a name of its own and renamed once it listens, so that a
	// client that finds the socket never finds it refusing connections.
	len = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s.new", server->socket_path);
	if (len < 0 || (size_t)len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "the socket path %s.new is too long (%zu bytes at most)",
			server->socket_path, sizeof(addr.sun_path) - 1);
		release_lock(server);
		return SOCKET_FAILED;
	}
	unlink(addr.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0 ||
		rename(addr.sun_path, server->socket_path) < 0) {
		wcp_log_errno(WCP_ERROR, "cannot listen on %s", server->socket_path);
		if (fd >= 0) {
			close(fd);
			unlink(addr.sun_path);
		}
		release_lock(server);
		return SOCKET_FAILED;
	}
	server->listen_fd = fd;
	snprintf(server->socket_name, sizeof(server->socket_name), "%s", name);
	return SOCKET_TAKEN;
}

static bool watch_listen_fd(struct wcp_server *server) {
	server->listen_source = wl_event_loop_add_fd(
		server->loop, server->listen_fd, WL_EVENT_READABLE, handle_listen, server);
	server->accept_pause = wl_event_loop_add_timer(server->loop, handle_accept_pause, server);
	if (server->listen_source == NULL || server->accept_pause == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot watch the listening socket");
		return false;
	}
	return true;
}

bool server_listen(struct wcp_server *server, const char *name) {
	const char *dir = getenv("XDG_RUNTIME_DIR");
	if (dir == NULL || dir[0] != '/') {
		wcp_log(WCP_ERROR,
			"XDG_RUNTIME_DIR is not set to an absolute path; the Wayland "
			"socket lives there (log in through a session manager, or set it)");
		return false;
	}
	enum socket_result result = SOCKET_IN_USE;
	if (name != NULL) {
		result = try_socket(server, dir, name);
		if (result == SOCKET_IN_USE) {
			wcp_log(WCP_ERROR,
				"%s/%s is served by another process (a running wl-cross-proxy, or "
				"its systemd socket unit): not starting a second one",
				dir, name);
		}
	} else {
		// Names in use are skipped; a failure would be the same for all.
		for (int i = 0; i < 32 && (result == SOCKET_IN_USE || result == SOCKET_NOT_SOCKET);
			i++) {
			char auto_name[16];
			snprintf(auto_name, sizeof(auto_name), "wayland-%d", i);
			result = try_socket(server, dir, auto_name);
		}
		if (result == SOCKET_IN_USE || result == SOCKET_NOT_SOCKET) {
			wcp_log(WCP_ERROR, "no free wayland-N socket name in %s", dir);
		}
	}
	if (result != SOCKET_TAKEN) {
		return false;
	}
	return watch_listen_fd(server);
}

bool server_adopt(struct wcp_server *server, int fd, const char *path, const char *name) {
	server->listen_fd = fd;
	server->adopted = true;
	int path_len = snprintf(server->socket_path, sizeof(server->socket_path), "%s", path);
	int name_len = snprintf(server->socket_name, sizeof(server->socket_name), "%s", name);
	if (path_len < 0 || (size_t)path_len >= sizeof(server->socket_path) || name_len < 0 ||
		(size_t)name_len >= sizeof(server->socket_name)) {
		wcp_log(WCP_ERROR, "the passed socket's path %s is too long", path);
		return false;
	}
	// The lock tells compositors that pick free wayland-N names to skip this one.
	enum socket_result locked = take_lock(server);
	if (locked != SOCKET_TAKEN) {
		if (locked == SOCKET_IN_USE) {
			wcp_log(WCP_ERROR, "another server holds the lock %s of the passed socket",
				server->lock_path);
		}
		return false;
	}
	return watch_listen_fd(server);
}

void server_run(struct wcp_server *server) {
	server->running = true;
	while (server->running) {
		struct wcp_client *client, *tmp;
		wl_list_for_each_safe(client, tmp, &server->clients, link) {
			client_read_delivered(client);
		}
		// Held requests go on where a host buffer came free, or the wait
		// is over: the loop wakes for the nearest such end.
		int timeout = -1;
		wl_list_for_each_safe(client, tmp, &server->clients, link) {
			int left = hold_step(client);
			timeout = left >= 0 && (timeout < 0 || left < timeout) ? left : timeout;
		}
		wl_display_flush_clients(server->display);
		wl_list_for_each_safe(client, tmp, &server->clients, link) {
			client_flush_host(client);
		}
		wl_event_loop_dispatch(server->loop, timeout);
	}
}

void server_log_stats(const struct wcp_server *server) {
	wcp_log(WCP_INFO,
		"stats: shm_commits=%" PRIu64 " shm_copied_bytes=%" PRIu64
		" shm_evicted_bytes=%" PRIu64 " shm_copy_ns=%" PRIu64 " clients=%d"
		" host_buffers=%" PRIu64 " host_buffer_bytes=%" PRIu64,
		server->shm_commits, server->shm_copied_bytes, server->shm_evicted_bytes,
		server->shm_copy_ns, wl_list_length(&server->clients), server->host_buffers,
		server->host_buffer_bytes);
}

void server_destroy(struct wcp_server *server) {
	if (server == NULL) {
		return;
	}
	// Clients go first: each takes its host connection with it.
	wl_display_destroy_clients(server->display);
	if (server->listen_source != NULL) {
		wl_event_source_remove(server->listen_source);
	}
	if (server->accept_pause != NULL) {
		wl_event_source_remove(server->accept_pause);
	}
	if (server->listen_fd >= 0) {
		close(server->listen_fd);
		if (!server->adopted) {
			unlink(server->socket_path);
		}
	}
	if (server->error_logger != NULL) {
		wl_protocol_logger_destroy(server->error_logger);
	}
	release_lock(server);
	wl_display_destroy(server->display);
	cpu_caches_finish(&server->caches);
	free(server);
}
