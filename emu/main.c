/*
 * wl-cross-emu: the guest kernel's virtio-gpu driver and a rutabaga
 * cross-domain host in one userspace process, for the proxy's emu backend.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "log.h"
#include "server.h"

static void usage(FILE *out) {
	fprintf(out,
		"usage: wl-cross-emu --listen PATH [options]\n"
		"  --listen PATH            the socket the proxy's emu backend connects to\n"
		"  --wayland-display NAME   the host compositor (default $WAYLAND_DISPLAY or "
		"wayland-0;\n"
		"                           relative to $XDG_RUNTIME_DIR unless it starts with /)\n"
		"  --log-level LEVEL        silent, error, info (default) or debug\n"
		"A badly set-up VM:\n"
		"  --no-context-init        GETPARAM CONTEXT_INIT is 0\n"
		"  --no-blob                GETPARAM RESOURCE_BLOB is 0\n"
		"  --no-host-visible        GETPARAM HOST_VISIBLE is 0\n"
		"  --capsets MASK           SUPPORTED_CAPSET_IDs (default 0x20: cross-domain only)\n"
		"  --no-wayland             the host has no Wayland socket configured\n"
		"A host that misbehaves:\n"
		"  --short-images           image requirements of one page, whatever the image\n"
		"  --stalled-images         image requirements never answered (WAIT gives up)\n"
		"  --blank-fences           every other channel fence signalled with no event\n");
}

static bool parse_mask(const char *text, uint64_t *mask) {
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
		return false;
	}
	*mask = value;
	return true;
}

/** The Wayland socket as libwayland resolves it; false (logged) when it cannot be. */
static bool resolve_display(const char *name, char *path, size_t size) {
	if (name == NULL) {
		name = getenv("WAYLAND_DISPLAY");
	}
	if (name == NULL || name[0] == '\0') {
		name = "wayland-0";
	}
	int n;
	if (name[0] == '/') {
		n = snprintf(path, size, "%s", name);
	} else {
		const char *dir = getenv("XDG_RUNTIME_DIR");
		if (dir == NULL || dir[0] == '\0') {
			wcp_log(WCP_ERROR,
				"XDG_RUNTIME_DIR is not set: cannot find Wayland display "
				"%s (give --wayland-display an absolute path)",
				name);
			return false;
		}
		n = snprintf(path, size, "%s/%s", dir, name);
	}
	if (n < 0 || (size_t)n >= size) {
		wcp_log(WCP_ERROR, "Wayland display path for %s is too long", name);
		return false;
	}
	return true;
}

static int on_signal(int signal_number, void *data) {
	bool *running = data;
	wcp_log(WCP_INFO, "%s: exiting", strsignal(signal_number));
	*running = false;
	return 0;
}

int main(int argc, char *argv[]) {
	enum {
		OPT_LISTEN = 256,
		OPT_DISPLAY,
		OPT_LOG_LEVEL,
		OPT_NO_CONTEXT_INIT,
		OPT_NO_BLOB,
		OPT_NO_HOST_VISIBLE,
		OPT_CAPSETS,
		OPT_NO_WAYLAND,
		OPT_SHORT_IMAGES,
		OPT_STALLED_IMAGES,
		OPT_BLANK_FENCES,
		OPT_HELP,
	};
	static const struct option options[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"wayland-display", required_argument, NULL, OPT_DISPLAY},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"no-context-init", no_argument, NULL, OPT_NO_CONTEXT_INIT},
		{"no-blob", no_argument, NULL, OPT_NO_BLOB},
		{"no-host-visible", no_argument, NULL, OPT_NO_HOST_VISIBLE},
		{"capsets", required_argument, NULL, OPT_CAPSETS},
		{"no-wayland", no_argument, NULL, OPT_NO_WAYLAND},
		{"short-images", no_argument, NULL, OPT_SHORT_IMAGES},
		{"stalled-images", no_argument, NULL, OPT_STALLED_IMAGES},
		{"blank-fences", no_argument, NULL, OPT_BLANK_FENCES},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	struct wcp_emu_host host = {
		.config =
			{
				.context_init = true,
				.resource_blob = true,
				.host_visible = true,
				.capsets = 1u << 5,
			},
		.next_resource_id = 1,
	};
	const char *listen_path = NULL, *display = NULL;
	bool wayland = true;
	enum wcp_log_level level = WCP_INFO;
	log_init("wl-cross-emu", level);
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			listen_path = optarg;
			break;
		case OPT_DISPLAY:
			display = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (!log_level_parse(optarg, &level)) {
				fprintf(stderr, "wl-cross-emu: unknown log level %s\n", optarg);
				return 2;
			}
			break;
		case OPT_NO_CONTEXT_INIT:
			host.config.context_init = false;
			break;
		case OPT_NO_BLOB:
			host.config.resource_blob = false;
			break;
		case OPT_NO_HOST_VISIBLE:
			host.config.host_visible = false;
			break;
		case OPT_CAPSETS:
			if (!parse_mask(optarg, &host.config.capsets)) {
				fprintf(stderr, "wl-cross-emu: --capsets wants a number, not %s\n",
					optarg);
				return 2;
			}
			break;
		case OPT_NO_WAYLAND:
			wayland = false;
			break;
		case OPT_SHORT_IMAGES:
			host.config.short_images = true;
			break;
		case OPT_STALLED_IMAGES:
			host.config.stalled_images = true;
			break;
		case OPT_BLANK_FENCES:
			host.config.blank_fences = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (listen_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("wl-cross-emu", level);
	// A host compositor or pipe reader that goes away must not kill the emulator.
	signal(SIGPIPE, SIG_IGN);

	char wayland_path[4096];
	if (wayland) {
		if (!resolve_display(display, wayland_path, sizeof(wayland_path))) {
			return 1;
		}
		host.config.wayland_path = wayland_path;
	}
	wl_list_init(&host.resources);
	wl_list_init(&host.draining);
	wl_list_init(&host.read_pipes);

	int status = 1;
	host.loop = wl_event_loop_create();
	if (host.loop == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot create the event loop");
		return 1;
	}
	bool running = true;
	struct wl_event_source *sigint =
		wl_event_loop_add_signal(host.loop, SIGINT, on_signal, &running);
	struct wl_event_source *sigterm =
		wl_event_loop_add_signal(host.loop, SIGTERM, on_signal, &running);
	if (sigint == NULL || sigterm == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot watch signals");
		goto error_signals;
	}
	struct wcp_emu_server *server = emu_server_create(&host, listen_path);
	if (server == NULL) {
		goto error_signals;
	}
	wcp_log(WCP_INFO, "listening on %s; Wayland host %s", listen_path,
		wayland ? wayland_path : "(none)");
	while (running) {
		if (wl_event_loop_dispatch(host.loop, -1) < 0 && errno != EINTR) {
			wcp_log_errno(WCP_ERROR, "event loop");
			break;
		}
	}
	status = running ? 1 : 0;
	emu_server_destroy(server);
	emu_cross_domain_host_finish(&host);
	emu_resource_destroy_all(&host);
error_signals:
	if (sigint != NULL) {
		wl_event_source_remove(sigint);
	}
	if (sigterm != NULL) {
		wl_event_source_remove(sigterm);
	}
	wl_event_loop_destroy(host.loop);
	return status;
}
