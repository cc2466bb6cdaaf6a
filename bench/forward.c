/*
 * wcp-bench-forward: the least a relay process can do. It listens on a UNIX socket and, for
 * each connection, connects to another socket and passes whatever either side sends to the
 * other as it comes: the bytes of each read and the fds that came with them, with no parsing.
 * Two of them in a row stand where the proxy and the emulator stand, so that the benchmark
 * shows what a path of that shape costs before any work is done on it.
 *
 *   wcp-bench-forward LISTEN CONNECT
 *
 * Each is a socket path, or a name in $XDG_RUNTIME_DIR. LISTEN appears once it accepts
 * connections. One epoll loop, and sends block: with the benchmark's traffic (a few KiB in
 * flight each way at most) they do not wait, though two forwarders in a row could deadlock
 * if both directions filled. It runs until it is killed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROG "wcp-bench-forward"
#define BUF_SIZE 65536
#define MAX_FDS 253 // SCM_MAX_FD

/* One end of a forwarded connection; `peer` is where what it reads goes. */
struct end {
	int fd;
	struct end *peer;
};

static bool socket_address(const char *name, struct sockaddr_un *addr) {
	*addr = (struct sockaddr_un){.sun_family = AF_UNIX};
	const char *dir = getenv("XDG_RUNTIME_DIR");
	int n;
	if (strchr(name, '/') != NULL) {
		n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s", name);
	} else if (dir != NULL) {
		n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", dir, name);
	} else {
		fprintf(stderr, PROG ": %s is a name and XDG_RUNTIME_DIR is not set\n", name);
		return false;
	}
	if (n < 0 || (size_t)n >= sizeof(addr->sun_path)) {
		fprintf(stderr, PROG ": the socket path of %s is too long\n", name);
		return false;
	}
	return true;
}

/*
 * Listens on `name`. The socket is bound under a temporary name and renamed
 * once it listens, so that whoever waits for it to appear can connect.
 */
static int listen_at(const char *name) {
	struct sockaddr_un addr, temp;
	if (!socket_address(name, &addr)) {
		return -1;
	}
	temp = addr;
	int n = snprintf(temp.sun_path, sizeof(temp.sun_path), "%s.%d", addr.sun_path, getpid());
	if (n < 0 || (size_t)n >= sizeof(temp.sun_path)) {
		fprintf(stderr, PROG ": the socket path of %s is too long\n", name);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		goto error;
	}
	unlink(temp.sun_path);
	if (bind(fd, (struct sockaddr *)&temp, sizeof(temp)) < 0) {
		goto error_socket;
	}
	if (listen(fd, 16) < 0 || rename(temp.sun_path, addr.sun_path) < 0) {
		goto error_bound;
	}
	return fd;
error_bound:
	unlink(temp.sun_path);
error_socket:
	close(fd);
error:
	fprintf(stderr, PROG ": cannot listen on %s: %s\n", addr.sun_path, strerror(errno));
	return -1;
}

static int connect_to(const char *name) {
	struct sockaddr_un addr;
	if (!socket_address(name, &addr)) {
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		goto error;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		goto error_socket;
	}
	return fd;
error_socket:
	close(fd);
error:
	fprintf(stderr, PROG ": cannot connect to %s: %s\n", addr.sun_path, strerror(errno));
	return -1;
}

/* Closes both ends of a connection; the epoll set forgets fds as they close. */
static void end_pair(struct end *end) {
	struct end *peer = end->peer;
	close(end->fd);
	close(peer->fd);
	free(end < peer ? end : peer);
}

/*
 * Passes one read from `end` to its peer: the bytes and their fds. False when
 * the connection is over (either side closed, or an error).
 */
static bool pass(struct end *end) {
	static char buf[BUF_SIZE];
	union {
		char data[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.data,
		.msg_controllen = sizeof(control.data)};
	ssize_t len = recvmsg(end->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (len < 0 && (errno == EAGAIN || errno == EINTR)) {
		return true;
	}
	if (len <= 0) {
		return false;
	}
	int fds[MAX_FDS];
	size_t nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds + nfds, CMSG_DATA(c), n * sizeof(int));
			nfds += n;
		}
	}
	bool ok = true;
	if (nfds > 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	} else {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
	// The fds go with the first part sent; a short send sends the rest alone.
	size_t done = 0;
	while (ok && done < (size_t)len) {
		iov = (struct iovec){.iov_base = buf + done, .iov_len = (size_t)len - done};
		ssize_t sent = sendmsg(end->peer->fd, &msg, MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR) {
			continue;
		}
		ok = sent > 0;
		done += ok ? (size_t)sent : 0;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
	for (size_t i = 0; i < nfds; i++) {
		close(fds[i]);
	}
	return ok;
}

/*
 * Connects a newly accepted client to the target and watches both ends; a
 * client that cannot be served is closed, with a line on stderr.
 */
static void accept_one(int epoll_fd, int listen_fd, const char *target) {
	int guest = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (guest < 0) {
		fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
		return;
	}
	int host = connect_to(target);
	if (host < 0) {
		goto error_guest;
	}
	struct end *ends = calloc(2, sizeof(*ends));
	if (ends == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		goto error_host;
	}
	ends[0] = (struct end){.fd = guest, .peer = &ends[1]};
	ends[1] = (struct end){.fd = host, .peer = &ends[0]};
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ends[i]};
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ends[i].fd, &ev) < 0) {
			fprintf(stderr, PROG ": epoll_ctl: %s\n", strerror(errno));
			end_pair(&ends[0]);
			return;
		}
	}
	return;
error_host:
	close(host);
error_guest:
	close(guest);
}

int main(int argc, char *argv[]) {
	if (argc != 3) {
		fprintf(stderr, "usage: " PROG " LISTEN CONNECT\n");
		return 2;
	}
	int listen_fd = listen_at(argv[1]);
	if (listen_fd < 0) {
		return 1;
	}
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		fprintf(stderr, PROG ": epoll: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct epoll_event events[16];
		int n = epoll_wait(epoll_fd, events, 16, -1);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct end *end = events[i].data.ptr;
			if (end == NULL) {
				accept_one(epoll_fd, listen_fd, argv[2]);
			} else if (!pass(end)) {
				// Events for the other end of this pair, later in this batch,
				// would point at freed memory: take no more of the batch. The
				// set is level-triggered, so the others are reported again.
				end_pair(end);
				break;
			}
		}
	}
}
