#include "shm_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define MAX_ARGS 64

struct wcp_shm_client *shm_client_start(const char *display_env, const char *const args[]) {
	const char *path = getenv("WCP_SHM_CLIENT");
	if (path == NULL) {
		test_error("WCP_SHM_CLIENT is not set (run the tests through meson)");
	}
	struct wcp_shm_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		test_error("out of memory");
	}
	static unsigned int serial;
	const char *dir = getenv("XDG_RUNTIME_DIR");
	snprintf(client->ready_path, sizeof(client->ready_path), "%s/client-%u.ready",
		dir != NULL ? dir : "/tmp", serial++);
	remove(client->ready_path);

	const char *argv[MAX_ARGS + 5] = {path, "--hold", "--ready-file", client->ready_path};
	size_t argc = 4;
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		if (i == MAX_ARGS) {
			test_error("too many client arguments");
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	const char *env[] = {display_env, NULL};
	client->proc = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	if (client->proc == NULL) {
		test_error("cannot start %s", path);
	}
	return client;
}

bool shm_client_wait_ready(struct wcp_shm_client *client, int timeout_ms) {
	long long deadline = proc_now_ms() + timeout_ms;
	while (proc_now_ms() < deadline) {
		FILE *f = fopen(client->ready_path, "re");
		if (f != NULL) {
			unsigned int frames, acked;
			int n = fscanf(f, "frames=%u acked=%u", &frames, &acked);
			fclose(f);
			if (n == 2) {
				client->frames = frames;
				client->acked = acked;
				return true;
			}
		} else if (errno != ENOENT) {
			test_log("cannot read %s: %s", client->ready_path, strerror(errno));
			return false;
		}
		if (!proc_alive(client->proc)) {
			test_log("wcp-shm-client exited early with code %d",
				proc_exit_code(client->proc));
			return false;
		}
		proc_sleep_ms(10);
	}
	test_log("wcp-shm-client not ready within %d ms", timeout_ms);
	return false;
}

int shm_client_stop(struct wcp_shm_client *client) {
	int code = proc_stop(client->proc, WCP_PROC_GRACE_MS);
	free(client);
	return code;
}
