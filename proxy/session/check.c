#include "session/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-client.h>

#include "virtgpu/device.h"
#include "virtgpu/probe.h"

/** What the checks found so far. */
struct check_report {
	FILE *out;
	unsigned int problems;
};

/** The error lines a callee logged, joined, for the checklist. */
struct check_messages {
	char text[512];
};

static void report(struct check_report *report, enum wcp_virtgpu_probe_state state,
	const char *what, const char *detail) {
	static const char *const tags[] = {
		[WCP_VIRTGPU_PROBE_OK] = "ok",
		[WCP_VIRTGPU_PROBE_FAILED] = "PROBLEM",
		[WCP_VIRTGPU_PROBE_NOT_RUN] = "not run",
	};
	fprintf(report->out, "%-8s %s: %s\n", tags[state], what, detail);
	if (state != WCP_VIRTGPU_PROBE_OK) {
		report->problems++;
	}
}

static void collect_message(enum wcp_log_level level, const char *message, void *data) {
	struct check_messages *messages = data;
	if (level != WCP_ERROR) {
		return;
	}
	size_t len = strlen(messages->text);
	snprintf(messages->text + len, sizeof(messages->text) - len, "%s%s", len > 0 ? "; " : "",
		message);
}

static void check_runtime_dir(struct check_report *out, const char *socket) {
	static const char what[] = "XDG_RUNTIME_DIR";
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	char detail[512];
	// The socket is made as NAME.new and renamed: the longest path it takes.
	const char *name = socket != NULL ? socket : "wayland-0";
	size_t longest = dir != NULL ? strlen(dir) + 1 + strlen(name) + strlen(".new") : 0;
	size_t limit = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
	if (dir == NULL || dir[0] != '/') {
		report(out, WCP_VIRTGPU_PROBE_FAILED, what,
			"not set to an absolute path; the Wayland socket lives there: log in "
			"through a session manager (pam_systemd or elogind sets it), or export it");
	} else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(detail, sizeof(detail), "%s is not a directory: create it (mode 0700)",
			dir);
		report(out, WCP_VIRTGPU_PROBE_FAILED, what, detail);
	} else if (longest > limit) {
		snprintf(detail, sizeof(detail),
			"%s is too long a path: the socket's path %s/%s.new would have %zu bytes, more "
			"than the %zu a socket's may have; use a shorter directory or --socket",
			dir, dir, name, longest, limit);
		report(out, WCP_VIRTGPU_PROBE_FAILED, what, detail);
	} else if (access(dir, W_OK | X_OK) != 0) {
		snprintf(detail, sizeof(detail),
			"%s is not writable by this user: it must be the user's own directory",
			dir);
		report(out, WCP_VIRTGPU_PROBE_FAILED, what, detail);
	} else {
		report(out, WCP_VIRTGPU_PROBE_OK, what, dir);
	}
}

static void check_host_compositor(struct check_report *out, const char *host_display) {
	static const char what[] = "host compositor (--device=none)";
	struct wl_display *host = wl_display_connect(host_display);
	const char *name = host_display != NULL ? host_display : getenv("WAYLAND_DISPLAY");
	char detail[512];
	if (host == NULL) {
		snprintf(detail, sizeof(detail),
			"cannot connect to %s: give --host-display=NAME of a running compositor",
			name != NULL ? name : "wayland-0 (WAYLAND_DISPLAY is not set)");
		report(out, WCP_VIRTGPU_PROBE_FAILED, what, detail);
		return;
	}
	wl_display_disconnect(host);
	report(out, WCP_VIRTGPU_PROBE_OK, what, name != NULL ? name : "wayland-0");
}

/** Opens the device, reporting the diagnostics it logs as the checklist's line. */
static struct wcp_virtgpu_device *check_device(struct check_report *out, const char *spec) {
	static const char what[] = "virtio-gpu render node and driver";
	struct check_messages messages = {0};
	log_set_handler(collect_message, &messages);
	struct wcp_virtgpu_device *device = virtgpu_device_open(spec);
	log_set_handler(NULL, NULL);
	if (device == NULL) {
		report(out, WCP_VIRTGPU_PROBE_FAILED, what,
			messages.text[0] != '\0' ? messages.text : "the device cannot be opened");
		return NULL;
	}
	char detail[256];
	bool emu = strcmp(device->impl->name, "emu") == 0;
	snprintf(detail, sizeof(detail), "%s (%s)", device->name,
		emu ? "wl-cross-emu, the emulated device" : "driver virtio_gpu");
	report(out, WCP_VIRTGPU_PROBE_OK, what, detail);
	return device;
}

static void check_cross_domain(struct check_report *out, struct wcp_virtgpu_device *device) {
	struct wcp_virtgpu_probe_item items[WCP_VIRTGPU_PROBE_MAX_ITEMS];
	size_t count = virtgpu_probe_report(
		device, WCP_CD_CHANNEL_WAYLAND, items, WCP_VIRTGPU_PROBE_MAX_ITEMS, NULL);
	for (size_t i = 0; i < count && i < WCP_VIRTGPU_PROBE_MAX_ITEMS; i++) {
		report(out, items[i].state, items[i].what, items[i].detail);
	}
}

bool check_run(const struct wcp_config *config, FILE *out) {
	struct check_report checks = {.out = out};
	check_runtime_dir(&checks, config->socket);
	if (config_is_direct(config)) {
		check_host_compositor(&checks, config->host_display);
	} else {
		struct wcp_virtgpu_device *device = check_device(&checks, config->device);
		if (device != NULL) {
			check_cross_domain(&checks, device);
			virtgpu_device_destroy(device);
		} else {
			report(&checks, WCP_VIRTGPU_PROBE_NOT_RUN,
				"cross-domain support of the device",
				"needs: a virtio-gpu render node");
		}
	}
	if (checks.problems == 0) {
		fprintf(out, "The proxy can run.\n");
	} else {
		fprintf(out, "The proxy cannot run: %u check%s did not pass.\n", checks.problems,
			checks.problems == 1 ? "" : "s");
	}
	return checks.problems == 0;
}
