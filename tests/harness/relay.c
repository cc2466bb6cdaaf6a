#include "relay.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

const char *relay_mode_name(enum wcp_relay_mode mode) {
	return mode == WCP_RELAY_DIRECT ? "direct" : "emu";
}

static const char *program(const char *variable) {
	const char *path = getenv(variable);
	if (path == NULL) {
		test_error("%s is not set (run the tests through meson)", variable);
	}
	return path;
}

static void wait_socket(struct wcp_proc *proc, const char *path) {
	if (proc_wait_socket(proc, path, 10000)) {
		return;
	}
	if (!proc_alive(proc)) {
		test_error("%s exited with %d before creating %s", proc->name, proc_exit_code(proc),
			path);
	}
	test_error("%s did not create %s", proc->name, path);
}

static struct wcp_relay *start(
	const struct wcp_relay_host *host, enum wcp_relay_mode mode, const char *const *wrapper) {
	struct wcp_relay *relay = calloc(1, sizeof(*relay));
	if (relay == NULL) {
		test_error("out of memory");
	}
	static unsigned int serial;
	relay->mode = mode;
	test_format(
		relay->socket, sizeof(relay->socket), "wcp-proxy-%d-%u", (int)getpid(), serial++);
	test_format(relay->env_display, sizeof(relay->env_display), "WAYLAND_DISPLAY=%s",
		relay->socket);
	test_format(relay->env_runtime_dir, sizeof(relay->env_runtime_dir), "XDG_RUNTIME_DIR=%s",
		host->runtime_dir);
	test_format(relay->log_path, sizeof(relay->log_path), "%s/%s.log", host->runtime_dir,
		relay->socket);
	const char *env[] = {relay->env_runtime_dir, NULL};
	struct wcp_proc_opts opts = {.env = env, .output = relay->log_path};

	char device[PATH_MAX + 16] = "--device=none";
	if (mode == WCP_RELAY_EMU) {
		char emu_socket[PATH_MAX];
		test_format(emu_socket, sizeof(emu_socket), "%s/%s-emu.sock", host->runtime_dir,
			relay->socket);
		const char *argv[16] = {program("WCP_EMU"), "--listen", emu_socket,
			"--wayland-display", host->display, "--log-level", "error"};
		size_t argc = 7;
		for (size_t i = 0; host->emu_args != NULL && host->emu_args[i] != NULL; i++) {
			if (argc == sizeof(argv) / sizeof(argv[0]) - 1) {
				test_error("too many options for wl-cross-emu");
			}
			argv[argc++] = host->emu_args[i];
		}
		argv[argc] = NULL;
		relay->emu = proc_spawn(argv, &opts);
		if (relay->emu == NULL) {
			test_error("cannot start wl-cross-emu");
		}
		wait_socket(relay->emu, emu_socket);
		test_format(device, sizeof(device), "--device=emu:%s", emu_socket);
	}
	char host_arg[PATH_MAX + 32], socket_arg[96];
	test_format(host_arg, sizeof(host_arg), "--host-display=%s", host->display);
	test_format(socket_arg, sizeof(socket_arg), "--socket=%s", relay->socket);
	const char *argv[WCP_RELAY_MAX_WRAPPER + 5];
	size_t argc = 0;
	for (; wrapper != NULL && wrapper[argc] != NULL; argc++) {
		if (argc == WCP_RELAY_MAX_WRAPPER) {
			test_error("a proxy wrapper of more than %d words", WCP_RELAY_MAX_WRAPPER);
		}
		argv[argc] = wrapper[argc];
	}
	relay->wrapped = argc > 0;
	argv[argc++] = program("WCP_PROXY");
	argv[argc++] = device;
	argv[argc++] = host_arg;
	argv[argc++] = socket_arg;
	argv[argc] = NULL;
	relay->proxy = proc_spawn(argv, &opts);
	if (relay->proxy == NULL) {
		test_error("cannot start wl-cross-proxy");
	}
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/%s", host->runtime_dir, relay->socket);
	wait_socket(relay->proxy, path);
	return relay;
}

struct wcp_relay *relay_start_on(const struct wcp_relay_host *host, enum wcp_relay_mode mode) {
	return start(host, mode, NULL);
}

struct wcp_relay *relay_start_wrapped(
	struct wcp_weston *weston, enum wcp_relay_mode mode, const char *const *wrapper) {
	return start(&(struct wcp_relay_host){.display = weston->socket,
			     .runtime_dir = weston->runtime_dir},
		mode, wrapper);
}

struct wcp_relay *relay_start(struct wcp_weston *weston, enum wcp_relay_mode mode) {
	return relay_start_wrapped(weston, mode, NULL);
}

void relay_stop(struct wcp_relay *relay) {
	if (relay == NULL) {
		return;
	}
	int proxy_code = proc_stop(relay->proxy, WCP_PROC_GRACE_MS);
	int emu_code = proc_stop(relay->emu, WCP_PROC_GRACE_MS);
	// The SIGTERM that stops the proxy's process group ends a wrapper that
	// does not catch it (perf, a shell) as it ends the proxy: a clean stop.
	bool proxy_ok = proxy_code == 0 || (relay->wrapped && proxy_code == 128 + SIGTERM);
	if (!proxy_ok || (relay->emu != NULL && emu_code != 0)) {
		FILE *f = fopen(relay->log_path, "re");
		char line[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			fputs(line, stderr);
		}
		if (f != NULL) {
			fclose(f);
		}
		test_fail("wl-cross-proxy exited with %d, wl-cross-emu with %d", proxy_code,
			emu_code);
	}
	free(relay);
}
