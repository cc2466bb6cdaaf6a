#include "sway.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>

#include "image.h"
#include "test.h"
#include "weston.h"

// The uid sway runs as when the tests run as root: nobody.
#define SWAY_UID "65534"

static const char sway_config[] = "output HEADLESS-1 resolution 1024x768 position 0 0\n"
				  "default_border none\n"
				  "focus_follows_mouse no\n"
				  "xwayland disable\n";

static const char ready_line[] = "Running compositor on wayland display '";

void sway_dump_log(const struct wcp_sway *sway) {
	test_dump_log_tail(sway->log_path);
}

/** The socket name from sway's "Running compositor" line; false while there is none. */
static bool read_socket_name(struct wcp_sway *sway) {
	FILE *f = fopen(sway->log_path, "re");
	if (f == NULL) {
		return false;
	}
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		const char *at = strstr(line, ready_line);
		if (at == NULL) {
			continue;
		}
		at += strlen(ready_line);
		const char *end = strchr(at, '\'');
		if (end != NULL && end > at && (size_t)(end - at) < sizeof(sway->socket)) {
			snprintf(sway->socket, sizeof(sway->socket), "%.*s", (int)(end - at), at);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void write_config(const char *path) {
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		test_error("cannot write %s: %s", path, strerror(errno));
	}
	bool ok = fputs(sway_config, f) >= 0;
	if (fclose(f) != 0 || !ok) {
		test_error("cannot write %s", path);
	}
}

static void spawn(struct wcp_sway *sway, const char *config) {
	char home[PATH_MAX + 8], runtime[PATH_MAX + 32];
	test_format(home, sizeof(home), "HOME=%s", sway->runtime_dir);
	test_format(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", sway->runtime_dir);
	const char *sway_argv[] = {"env", "-i", home, "PATH=/usr/bin:/bin", runtime,
		"WLR_BACKENDS=headless", "WLR_RENDERER=pixman", "WLR_LIBINPUT_NO_DEVICES=1",
		"WLR_HEADLESS_OUTPUTS=1", "sway", "-c", config, "-d", NULL};
	const char *argv[32];
	size_t argc = 0;
	if (geteuid() == 0) {
		if (chown(sway->runtime_dir, 65534, 65534) < 0) {
			test_error("chown %s: %s", sway->runtime_dir, strerror(errno));
		}
		// The death signal does not survive a change of uid unless asked for.
		const char *drop[] = {"setpriv", "--reuid=" SWAY_UID, "--regid=" SWAY_UID,
			"--clear-groups", "--pdeathsig=KILL"};
		for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
			argv[argc++] = drop[i];
		}
	}
	for (size_t i = 0; sway_argv[i] != NULL; i++) {
		argv[argc++] = sway_argv[i];
	}
	argv[argc] = NULL;
	sway->proc = proc_spawn(argv, &(struct wcp_proc_opts){.output = sway->log_path});
	if (sway->proc == NULL) {
		test_error("cannot start sway");
	}
}

struct wcp_sway *sway_start(void) {
	if (!proc_have_program("sway")) {
		test_skip("sway is not installed (Debian package sway)");
	}
	if (geteuid() == 0 && !proc_have_program("setpriv")) {
		test_skip("setpriv is not installed (Debian package util-linux), and sway "
			  "refuses to run as root");
	}
	struct wcp_sway *sway = calloc(1, sizeof(*sway));
	if (sway == NULL) {
		test_error("out of memory");
	}
	test_runtime_dir_create(sway->runtime_dir);
	char config[PATH_MAX];
	test_format(config, sizeof(config), "%s/sway.config", sway->runtime_dir);
	test_format(sway->log_path, sizeof(sway->log_path), "%s/sway.log", sway->runtime_dir);
	write_config(config);
	spawn(sway, config);

	long long deadline = proc_now_ms() + 10000;
	while (proc_now_ms() < deadline) {
		if (!proc_alive(sway->proc)) {
			sway_dump_log(sway);
			test_error(
				"sway exited at start-up with code %d", proc_exit_code(sway->proc));
		}
		if (read_socket_name(sway)) {
			test_format(sway->socket_path, sizeof(sway->socket_path), "%s/%s",
				sway->runtime_dir, sway->socket);
			test_format(sway->env_display, sizeof(sway->env_display),
				"WAYLAND_DISPLAY=%s", sway->socket);
			if (weston_has_global(sway->socket_path, "wl_seat")) {
				return sway;
			}
		}
		proc_sleep_ms(20);
	}
	sway_dump_log(sway);
	test_error("sway did not come up within 10 s");
}

void sway_stop(struct wcp_sway *sway) {
	if (sway == NULL) {
		return;
	}
	proc_stop(sway->proc, WCP_PROC_GRACE_MS);
	test_remove_tree(sway->runtime_dir);
	free(sway);
}

struct wcp_relay_host sway_relay_host(const struct wcp_sway *sway) {
	return (struct wcp_relay_host){
		.display = sway->socket_path,
		.runtime_dir = sway->runtime_dir,
	};
}

struct seat_probe {
	struct wl_seat *seat;
	uint32_t capabilities;
};

static void handle_seat_capabilities(void *data, struct wl_seat *seat, uint32_t capabilities) {
	struct seat_probe *probe = data;
	probe->capabilities = capabilities;
}

static void handle_seat_name(void *data, struct wl_seat *seat, const char *name) {
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = handle_seat_capabilities,
	.name = handle_seat_name,
};

static void handle_registry_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct seat_probe *probe = data;
	if (probe->seat == NULL && strcmp(interface, wl_seat_interface.name) == 0) {
		probe->seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
		wl_seat_add_listener(probe->seat, &seat_listener, probe);
	}
}

static void handle_registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_registry_global,
	.global_remove = handle_registry_global_remove,
};

uint32_t sway_seat_capabilities(const struct wcp_sway *sway) {
	struct wl_display *display = wl_display_connect(sway->socket_path);
	if (display == NULL) {
		sway_dump_log(sway);
		test_error("cannot connect to sway at %s", sway->socket_path);
	}
	struct seat_probe probe = {0};
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &registry_listener, &probe);
	// The first round trip binds the seat, the second brings its capabilities.
	bool ok = wl_display_roundtrip(display) >= 0 && wl_display_roundtrip(display) >= 0;
	if (probe.seat != NULL) {
		wl_seat_destroy(probe.seat);
	}
	wl_registry_destroy(registry);
	wl_display_disconnect(display);
	if (!ok || probe.seat == NULL) {
		test_error("sway offers no wl_seat");
	}
	return probe.capabilities;
}

struct wcp_proc *sway_keyboard_start(const struct wcp_sway *sway) {
	if (!proc_have_program("wtype")) {
		test_skip("wtype is not installed (Debian package wtype)");
	}
	// wtype makes its virtual keyboard first, then sleeps for 270 s.
	const char *argv[] = {"wtype", "-s", "270000", NULL};
	const char *env[] = {sway->env_display, NULL};
	struct wcp_proc *keyboard = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	if (keyboard == NULL) {
		test_error("cannot start wtype");
	}
	long long deadline = proc_now_ms() + 10000;
	while ((sway_seat_capabilities(sway) & WL_SEAT_CAPABILITY_KEYBOARD) == 0) {
		if (!proc_alive(keyboard)) {
			test_error("wtype exited with %d", proc_exit_code(keyboard));
		}
		if (proc_now_ms() > deadline) {
			test_error("sway's seat got no keyboard from wtype within 10 s");
		}
		proc_sleep_ms(20);
	}
	return keyboard;
}

struct wcp_image *sway_screenshot(const struct wcp_sway *sway) {
	if (!proc_have_program("grim")) {
		test_skip("grim is not installed (Debian package grim)");
	}
	char png[PATH_MAX], display[PATH_MAX + 32];
	test_format(png, sizeof(png), "%s/shot.png", sway->runtime_dir);
	test_format(display, sizeof(display), "WAYLAND_DISPLAY=%s", sway->socket_path);
	const char *argv[] = {"grim", png, NULL};
	const char *env[] = {display, NULL};
	char *out = NULL;
	int code = proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 10000, &out);
	if (code != 0) {
		test_log("grim: %s", out != NULL ? out : "");
		free(out);
		sway_dump_log(sway);
		test_error("grim failed (exit code %d)", code);
	}
	free(out);
	struct wcp_image *image = image_load_png(png);
	if (image == NULL) {
		test_error("cannot load the screenshot %s", png);
	}
	unlink(png);
	return image;
}
