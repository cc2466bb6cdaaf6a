#include "util/fdpass.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

union fdpass_control {
	char buf[CMSG_SPACE(sizeof(int) * WCP_FDPASS_MAX_FDS)];
	struct cmsghdr align;
};

ssize_t fdpass_send(
	int sock, const struct iovec *iov, size_t iovcnt, const int *fds, size_t count, int flags) {
	if (count > WCP_FDPASS_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	union fdpass_control control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};
	if (count > 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

ssize_t fdpass_recv(int sock, const struct iovec *iov, size_t iovcnt, int *fds, size_t max,
	size_t *count, int flags, int *msg_flags) {
	union fdpass_control control;
	struct msghdr msg = {
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = iovcnt,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	*count = 0;
	if (msg_flags != NULL) {
		*msg_flags = 0;
	}
	ssize_t n;
	do {
		n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -1;
	}
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		size_t num = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < num; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (*count < max) {
				fds[(*count)++] = fd;
			} else {
				close(fd);
				msg.msg_flags |= MSG_CTRUNC;
			}
		}
	}
	if (msg_flags != NULL) {
		*msg_flags = msg.msg_flags;
	}
	return n;
}
