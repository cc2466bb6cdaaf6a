#include "session/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

bool notify_datagram(const char *address, const char *state) {
	if (address == NULL || address[0] == '\0') {
		return true;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(address);
	if ((address[0] != '/' && address[0] != '@') || len >= sizeof(addr.sun_path)) {
		wcp_log(WCP_ERROR, "NOTIFY_SOCKET=%s is not a socket path or @abstract name",
			address);
		return false;
	}
	memcpy(addr.sun_path, address, len);
	if (address[0] == '@') {
		addr.sun_path[0] = '\0'; // abstract: no terminating NUL counts
	} else {
		len++;
	}
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		wcp_log_errno(WCP_ERROR, "cannot create the notification socket");
		return false;
	}
	ssize_t sent;
	do {
		sent = sendto(
			fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	} while (sent < 0 && errno == EINTR);
	if (sent < 0) {
		wcp_log_errno(WCP_ERROR, "cannot notify the service manager at %s", address);
	}
	close(fd);
	return sent >= 0;
}

bool notify_send(const char *state) {
#if HAVE_LIBSYSTEMD
	int ret = sd_notify(0, state);
	if (ret < 0) {
		errno = -ret;
		wcp_log_errno(WCP_ERROR, "cannot notify the service manager");
		return false;
	}
	return true;
#else
	return notify_datagram(getenv("NOTIFY_SOCKET"), state);
#endif
}
