#include "seat_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define MAX_ARGS 16

struct wcp_seat_client *seat_client_start(const char *display_env, const char *const args[]) {
	const char *path = getenv("WCP_SEAT_CLIENT");
	if (path == NULL) {
		test_error("WCP_SEAT_CLIENT is not set (run the tests through meson)");
	}
	struct wcp_seat_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		test_error("out of memory");
	}
	const char *argv[MAX_ARGS + 2] = {path};
	size_t argc = 1;
	for (size_t i = 0; args[i] != NULL; i++) {
		if (i == MAX_ARGS) {
			test_error("too many client arguments");
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		test_error("pipe2: %s", strerror(errno));
	}
	const char *env[] = {display_env, NULL};
	client->proc = proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .stdout_fd = fds[1]});
	close(fds[1]);
	if (client->proc == NULL) {
		test_error("cannot start %s", path);
	}
	client->out = fds[0];
	return client;
}

/** Takes one whole line out of `pending` into `line`; false when there is none yet. */
static bool take_line(struct wcp_seat_client *client, char *line, size_t size) {
	char *end = memchr(client->pending, '\n', client->pending_len);
	if (end == NULL) {
		if (client->pending_len == sizeof(client->pending)) {
			test_error("wcp-seat-client printed a line longer than %zu bytes",
				sizeof(client->pending));
		}
		return false;
	}
	size_t len = (size_t)(end - client->pending);
	snprintf(line, size, "%.*s", (int)len, client->pending);
	client->pending_len -= len + 1;
	memmove(client->pending, end + 1, client->pending_len);
	return true;
}

bool seat_client_expect(struct wcp_seat_client *client, const char *prefix, int timeout_ms,
	char *line, size_t size) {
	long long deadline = proc_now_ms() + timeout_ms;
	char got[sizeof(client->pending)];
	for (;;) {
		while (take_line(client, got, sizeof(got))) {
			if (strncmp(got, prefix, strlen(prefix)) == 0) {
				if (line != NULL) {
					snprintf(line, size, "%s", got);
				}
				return true;
			}
			test_log("wcp-seat-client: %s", got);
		}
		long long left = deadline - proc_now_ms();
		if (left <= 0) {
			test_log("wcp-seat-client printed no \"%s\" within %d ms", prefix,
				timeout_ms);
			return false;
		}
		struct pollfd pfd = {.fd = client->out, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) <= 0) {
			continue;
		}
		ssize_t n = read(client->out, client->pending + client->pending_len,
			sizeof(client->pending) - client->pending_len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			proc_wait(client->proc, 1000);
			test_log("wcp-seat-client ended (code %d) before printing \"%s\"",
				proc_exit_code(client->proc), prefix);
			return false;
		}
		client->pending_len += (size_t)n;
	}
}

int seat_client_finish(struct wcp_seat_client *client, int timeout_ms) {
	if (!proc_wait(client->proc, timeout_ms) && timeout_ms > 0) {
		test_log("wcp-seat-client still runs after %d ms; stopping it", timeout_ms);
	}
	int code = proc_stop(client->proc, WCP_PROC_GRACE_MS);
	close(client->out);
	free(client);
	return code;
}
