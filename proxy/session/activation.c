#include "session/activation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_FDS_START 3

static bool parse_number(const char *text, long *value) {
	if (text == NULL || text[0] == '\0') {
		return false;
	}
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && *end == '\0' && *value >= 0;
}

static void forget_environment(void) {
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/** Whether fd is a listening stream socket; its bound path into addr. */
static bool usable_socket(int fd, struct sockaddr_un *addr) {
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		wcp_log_errno(WCP_ERROR, "socket activation: fd %d is not a socket", fd);
		return false;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
		listening = 0;
	}
	len = sizeof(*addr);
	*addr = (struct sockaddr_un){0};
	if (getsockname(fd, (struct sockaddr *)addr, &len) < 0 || addr->sun_family != AF_UNIX ||
		type != SOCK_STREAM || listening == 0 || addr->sun_path[0] == '\0') {
		wcp_log(WCP_ERROR,
			"socket activation: fd %d is not a listening UNIX stream socket bound to a "
			"path; give the socket unit ListenStream=%%t/NAME",
			fd);
		return false;
	}
	return true;
}

/** The WAYLAND_DISPLAY value that reaches the socket at path. */
static bool display_name(const char *path, char *name, size_t size) {
	const char *dir = getenv("XDG_RUNTIME_DIR");
	const char *slash = strrchr(path, '/');
	const char *display = path;
	if (dir != NULL && dir[0] == '/' && slash != NULL &&
		strlen(dir) == (size_t)(slash - path) &&
		strncmp(dir, path, (size_t)(slash - path)) == 0) {
		display = slash + 1;
	}
	int len = snprintf(name, size, "%s", display);
	return len >= 0 && (size_t)len < size;
}

enum wcp_activation_result activation_take(
	int *fd, char *path, size_t path_size, char *name, size_t name_size) {
	long pid, count;
	if (!parse_number(getenv("LISTEN_PID"), &pid) || pid != (long)getpid()) {
		return WCP_ACTIVATION_NONE; // not set, or meant for another process
	}
	bool have_count = parse_number(getenv("LISTEN_FDS"), &count);
	forget_environment();
	if (!have_count || count == 0) {
		return WCP_ACTIVATION_NONE;
	}
	long open_max = sysconf(_SC_OPEN_MAX);
	if (count > (open_max > 0 ? open_max : 1024) - LISTEN_FDS_START) {
		// More than a process may have open: not a service manager's.
		wcp_log(WCP_ERROR, "socket activation: LISTEN_FDS=%ld is more fds than can be open",
			count);
		return WCP_ACTIVATION_ERROR;
	}
	for (long extra = LISTEN_FDS_START + 1; extra < LISTEN_FDS_START + count; extra++) {
		wcp_log(WCP_ERROR,
			"socket activation: fd %ld is not used; the proxy takes one socket", extra);
		close((int)extra);
	}
	int listen_fd = LISTEN_FDS_START;
	struct sockaddr_un addr;
	if (!usable_socket(listen_fd, &addr)) {
		return WCP_ACTIVATION_ERROR;
	}
	int flags = fcntl(listen_fd, F_GETFL);
	if (fcntl(listen_fd, F_SETFD, FD_CLOEXEC) < 0 || flags < 0 ||
		fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		wcp_log_errno(WCP_ERROR, "socket activation: fcntl on fd %d", listen_fd);
		return WCP_ACTIVATION_ERROR;
	}
	int len = snprintf(path, path_size, "%s", addr.sun_path);
	if (len < 0 || (size_t)len >= path_size || !display_name(path, name, name_size)) {
		wcp_log(WCP_ERROR, "socket activation: the socket path %s is too long",
			addr.sun_path);
		return WCP_ACTIVATION_ERROR;
	}
	*fd = listen_fd;
	return WCP_ACTIVATION_SOCKET;
}
