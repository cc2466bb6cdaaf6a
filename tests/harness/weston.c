#include "weston.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-client.h>

#include "test.h"

static const char weston_ini[] = "[core]\n"
				 "idle-time=0\n"
				 "require-input=false\n"
				 "[shell]\n"
				 "background-color=0xff203040\n"
				 "panel-position=none\n"
				 "locking=false\n"
				 "animation=none\n"
				 "startup-animation=none\n"
				 "close-animation=none\n"
				 "focus-animation=none\n";

struct global_probe {
	const char *name;
	bool found;
};

static void handle_registry_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct global_probe *probe = data;
	if (strcmp(interface, probe->name) == 0) {
		probe->found = true;
	}
}

static void handle_registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener probe_listener = {
	.global = handle_registry_global,
	.global_remove = handle_registry_global_remove,
};

bool weston_has_global(const char *socket, const char *global) {
	struct wl_display *display = wl_display_connect(socket);
	if (display == NULL) {
		return false;
	}
	struct global_probe probe = {.name = global};
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &probe_listener, &probe);
	int ret = wl_display_roundtrip(display);
	wl_registry_destroy(registry);
	wl_display_disconnect(display);
	return ret >= 0 && probe.found;
}

void weston_dump_log(const struct wcp_weston *weston) {
	test_dump_log_tail(weston->log_path);
}

static bool write_file(const char *path, const char *text) {
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		return false;
	}
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

struct wcp_weston *weston_start(const struct wcp_weston_opts *opts) {
	if (!proc_have_program("weston")) {
		test_skip("weston is not installed (Debian package weston)");
	}
	struct wcp_weston *weston = calloc(1, sizeof(*weston));
	if (weston == NULL) {
		test_error("out of memory");
	}
	weston->width = opts != NULL && opts->width > 0 ? opts->width : 640;
	weston->height = opts != NULL && opts->height > 0 ? opts->height : 480;
	if (opts != NULL && opts->socket != NULL) {
		snprintf(weston->socket, sizeof(weston->socket), "%s", opts->socket);
	} else {
		snprintf(weston->socket, sizeof(weston->socket), "wcp-host-%d", (int)getpid());
	}
	snprintf(weston->env_display, sizeof(weston->env_display), "WAYLAND_DISPLAY=%s",
		weston->socket);
	test_runtime_dir_create(weston->runtime_dir);

	char ini[PATH_MAX], arg_width[32], arg_height[32], arg_socket[96],
		arg_config[PATH_MAX + 16], arg_log[PATH_MAX + 16];
	test_format(ini, sizeof(ini), "%s/weston.ini", weston->runtime_dir);
	test_format(
		weston->log_path, sizeof(weston->log_path), "%s/weston.log", weston->runtime_dir);
	if (!write_file(ini, weston_ini)) {
		test_error("cannot write %s", ini);
	}
	snprintf(arg_width, sizeof(arg_width), "--width=%d", (int)weston->width);
	snprintf(arg_height, sizeof(arg_height), "--height=%d", (int)weston->height);
	snprintf(arg_socket, sizeof(arg_socket), "--socket=%s", weston->socket);
	test_format(arg_config, sizeof(arg_config), "--config=%s", ini);
	test_format(arg_log, sizeof(arg_log), "--log=%s", weston->log_path);
	const char *argv[] = {"weston", "--backend=headless-backend.so", "--use-pixman", arg_width,
		arg_height, arg_socket, arg_config, "--debug", "--idle-time=0", arg_log, NULL};
	weston->proc = proc_spawn(argv, &(struct wcp_proc_opts){.output = weston->log_path});
	if (weston->proc == NULL) {
		test_error("cannot start weston");
	}

	char socket_path[PATH_MAX];
	test_format(socket_path, sizeof(socket_path), "%s/%s", weston->runtime_dir, weston->socket);
	long long deadline = proc_now_ms() + 10000;
	while (proc_now_ms() < deadline) {
		if (!proc_alive(weston->proc)) {
			weston_dump_log(weston);
			test_error("weston exited at start-up with code %d",
				proc_exit_code(weston->proc));
		}
		if (access(socket_path, F_OK) == 0 &&
			weston_has_global(weston->socket, "xdg_wm_base")) {
			return weston;
		}
		proc_sleep_ms(20);
	}
	weston_dump_log(weston);
	test_error("weston did not offer xdg_wm_base within 10 s");
}

void weston_stop(struct wcp_weston *weston) {
	if (weston == NULL) {
		return;
	}
	proc_stop(weston->proc, WCP_PROC_GRACE_MS);
	test_remove_tree(weston->runtime_dir);
	free(weston);
}
