#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample.h"
#include "test.h"

#define MAX_CLIENT_ARGS 32

static const struct {
	const char *name, *title;
} paths[WCP_PATH_COUNT] = {
	[WCP_PATH_DIRECT] = {"direct", "direct"},
	[WCP_PATH_EMU] = {"emu", "proxy + emulator"},
	[WCP_PATH_NONE] = {"none", "proxy --device=none"},
	[WCP_PATH_FORWARD] = {"forward", "two bare forwarders"},
	[WCP_PATH_WAYPIPE] = {"waypipe", "waypipe -c none"},
	[WCP_PATH_WAYPIPE_LZ4] = {"waypipe-lz4", "waypipe -c lz4"},
};

const char *path_name(enum wcp_path_kind kind) {
	return paths[kind].name;
}

const char *path_title(enum wcp_path_kind kind) {
	return paths[kind].title;
}

bool path_parse(const char *name, enum wcp_path_kind *kind) {
	for (int i = 0; i < WCP_PATH_COUNT; i++) {
		if (strcmp(name, paths[i].name) == 0) {
			*kind = (enum wcp_path_kind)i;
			return true;
		}
	}
	return false;
}

static bool is_waypipe(enum wcp_path_kind kind) {
	return kind == WCP_PATH_WAYPIPE || kind == WCP_PATH_WAYPIPE_LZ4;
}

bool path_available(enum wcp_path_kind kind, const char **why) {
	if (is_waypipe(kind) && !proc_have_program("waypipe")) {
		*why = "waypipe is not installed (Debian package waypipe)";
		return false;
	}
	return true;
}

static const char *compression(enum wcp_path_kind kind) {
	return kind == WCP_PATH_WAYPIPE_LZ4 ? "lz4" : "none";
}

static void start_waypipe(struct wcp_path *path, struct wcp_weston *weston) {
	static unsigned int serial;
	test_format(path->waypipe_socket, sizeof(path->waypipe_socket), "%s/waypipe-%u.sock",
		weston->runtime_dir, serial);
	test_format(
		path->waypipe_display, sizeof(path->waypipe_display), "waypipe-%u-display", serial);
	serial++;
	unlink(path->waypipe_socket);
	const char *env[] = {weston->env_display, NULL};
	const char *argv[] = {"waypipe", "--no-gpu", "-c", compression(path->kind), "--socket",
		path->waypipe_socket, "client", NULL};
	char log[4096];
	test_format(log, sizeof(log), "%s/waypipe.log", weston->runtime_dir);
	path->waypipe = proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log});
	if (path->waypipe == NULL) {
		test_error("cannot start waypipe");
	}
	if (!proc_wait_socket(path->waypipe, path->waypipe_socket, 10000)) {
		test_error("waypipe client did not create %s (see %s)", path->waypipe_socket, log);
	}
}

/*
 * Starts a forwarder from the socket `from` to `to`, both names in weston's
 * runtime directory, and waits for it to listen.
 */
static struct wcp_proc *start_forwarder(
	struct wcp_weston *weston, const char *from, const char *to) {
	const char *program = getenv("WCP_BENCH_FORWARD");
	if (program == NULL) {
		test_error("WCP_BENCH_FORWARD is not set");
	}
	char listen_path[4096], connect_path[4096], log[4096];
	test_format(listen_path, sizeof(listen_path), "%s/%s", weston->runtime_dir, from);
	test_format(connect_path, sizeof(connect_path), "%s/%s", weston->runtime_dir, to);
	test_format(log, sizeof(log), "%s/%s.log", weston->runtime_dir, from);
	unlink(listen_path);
	const char *argv[] = {program, listen_path, connect_path, NULL};
	struct wcp_proc *proc = proc_spawn(argv, &(struct wcp_proc_opts){.output = log});
	if (proc == NULL) {
		test_error("cannot start %s", program);
	}
	if (!proc_wait_socket(proc, listen_path, 10000)) {
		test_error("wcp-bench-forward did not create %s (see %s)", listen_path, log);
	}
	return proc;
}

/* Two forwarders in a row in front of weston; the client connects to the first. */
static void start_forward(struct wcp_path *path, struct wcp_weston *weston) {
	static unsigned int serial;
	test_format(path->forward_sockets[0], sizeof(path->forward_sockets[0]), "forward-%u-guest",
		serial);
	test_format(path->forward_sockets[1], sizeof(path->forward_sockets[1]), "forward-%u-host",
		serial);
	serial++;
	path->forwarders[1] = start_forwarder(weston, path->forward_sockets[1], weston->socket);
	path->forwarders[0] =
		start_forwarder(weston, path->forward_sockets[0], path->forward_sockets[1]);
	test_format(path->env_display, sizeof(path->env_display), "WAYLAND_DISPLAY=%s",
		path->forward_sockets[0]);
	test_format(path->runtime_dir, sizeof(path->runtime_dir), "%s", weston->runtime_dir);
}

struct wcp_path *path_start(
	enum wcp_path_kind kind, struct wcp_weston *weston, const char *const *proxy_wrapper) {
	struct wcp_path *path = calloc(1, sizeof(*path));
	if (path == NULL) {
		test_error("out of memory");
	}
	path->kind = kind;
	switch (kind) {
	case WCP_PATH_DIRECT:
		test_format(
			path->env_display, sizeof(path->env_display), "%s", weston->env_display);
		break;
	case WCP_PATH_EMU:
	case WCP_PATH_NONE:
		path->relay = relay_start_wrapped(weston,
			kind == WCP_PATH_EMU ? WCP_RELAY_EMU : WCP_RELAY_DIRECT, proxy_wrapper);
		test_format(path->env_display, sizeof(path->env_display), "%s",
			path->relay->env_display);
		break;
	case WCP_PATH_FORWARD:
		start_forward(path, weston);
		break;
	case WCP_PATH_WAYPIPE:
	case WCP_PATH_WAYPIPE_LZ4:
		start_waypipe(path, weston);
		break;
	case WCP_PATH_COUNT:
		abort();
	}
	return path;
}

struct wcp_proc *path_spawn_client(
	struct wcp_path *path, const char *const argv[], int stdout_fd, const char *log) {
	struct wcp_proc_opts opts = {.output = log, .stdout_fd = stdout_fd};
	if (!is_waypipe(path->kind)) {
		const char *env[] = {path->env_display, NULL};
		opts.env = env;
		return proc_spawn(argv, &opts);
	}
	// waypipe's guest side runs the client with WAYLAND_DISPLAY at its own socket.
	const char *wrapped[MAX_CLIENT_ARGS + 12] = {"waypipe", "--no-gpu", "-c",
		compression(path->kind), "--socket", path->waypipe_socket, "--display",
		path->waypipe_display, "server", "--"};
	size_t n = 10;
	for (size_t i = 0; argv[i] != NULL; i++) {
		if (i == MAX_CLIENT_ARGS) {
			test_error("a client command of more than %d words", MAX_CLIENT_ARGS);
		}
		wrapped[n++] = argv[i];
	}
	wrapped[n] = NULL;
	struct wcp_proc *server = proc_spawn(wrapped, &opts);
	if (server != NULL) {
		path->relay_group = server->pid;
	}
	return server;
}

void path_times(
	const struct wcp_path *path, pid_t client, struct wcp_times *relay, struct wcp_times *emu) {
	*relay = *emu = (struct wcp_times){0};
	if (path->relay != NULL) {
		*relay = sample_process_times(path_proxy_pid(path));
		if (path->relay->emu != NULL) {
			*emu = sample_process_times(path->relay->emu->pid);
		}
	} else if (path->forwarders[0] != NULL) {
		*relay = sample_process_times(path->forwarders[0]->pid);
		*emu = sample_process_times(path->forwarders[1]->pid);
	} else if (path->waypipe != NULL) {
		*relay = sample_group_times(path->waypipe->pid, 0);
		if (path->relay_group > 0) {
			struct wcp_times client_side =
				sample_group_times(path->relay_group, client);
			relay->cpu += client_side.cpu;
			relay->wait += client_side.wait;
		}
	}
}

/** Whether /proc says the process runs the program `name`. */
static bool process_is(pid_t pid, const char *name) {
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	bool ok = fgets(comm, sizeof(comm), f) != NULL;
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return ok && strcmp(comm, name) == 0;
}

pid_t path_proxy_pid(const struct wcp_path *path) {
	if (path->relay == NULL) {
		return 0;
	}
	pid_t pid = path->relay->proxy->pid;
	if (process_is(pid, "wl-cross-proxy")) {
		return pid;
	}
	char children[64];
	snprintf(children, sizeof(children), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(children, "re");
	int child;
	while (f != NULL && fscanf(f, "%d", &child) == 1) {
		if (process_is(child, "wl-cross-proxy")) {
			fclose(f);
			return child;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return pid;
}

void path_stop(struct wcp_path *path) {
	if (path == NULL) {
		return;
	}
	relay_stop(path->relay);
	for (int i = 0; i < 2; i++) {
		if (path->forwarders[i] == NULL) {
			continue;
		}
		proc_stop(path->forwarders[i], WCP_PROC_GRACE_MS);
		char socket_path[4096];
		test_format(socket_path, sizeof(socket_path), "%s/%s", path->runtime_dir,
			path->forward_sockets[i]);
		unlink(socket_path);
	}
	proc_stop(path->waypipe, WCP_PROC_GRACE_MS);
	if (path->waypipe_socket[0] != '\0') {
		unlink(path->waypipe_socket);
	}
	free(path);
}
