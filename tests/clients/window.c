#include "window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "xdg-shell-client-protocol.h"

static void handle_wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = handle_wm_base_ping,
};

static void handle_shm_format(void *data, struct wl_shm *shm, uint32_t format) {
	struct wcp_window *window = data;
	if (format == window->format) {
		window->format_offered = true;
	}
}

static const struct wl_shm_listener shm_listener = {
	.format = handle_shm_format,
};

static void handle_registry_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct wcp_window *window = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0 && window->compositor == NULL) {
		window->compositor_version = version < 4 ? version : 4;
		window->compositor = wl_registry_bind(
			registry, name, &wl_compositor_interface, window->compositor_version);
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && window->shm == NULL) {
		window->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		wl_shm_add_listener(window->shm, &shm_listener, window);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && window->wm_base == NULL) {
		// Up to version 3: later versions only add events the clients ignore.
		window->wm_base = wl_registry_bind(
			registry, name, &xdg_wm_base_interface, version < 3 ? version : 3);
		xdg_wm_base_add_listener(window->wm_base, &wm_base_listener, window);
	}
}

static void handle_registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_registry_global,
	.global_remove = handle_registry_global_remove,
};

static void handle_xdg_surface_configure(
	void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	struct wcp_window *window = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	window->configure_width = window->pending_width;
	window->configure_height = window->pending_height;
	window->configures++;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = handle_xdg_surface_configure,
};

static void handle_toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t width,
	int32_t height, struct wl_array *states) {
	struct wcp_window *window = data;
	window->pending_width = width;
	window->pending_height = height;
}

static void handle_toplevel_close(void *data, struct xdg_toplevel *toplevel) {
	struct wcp_window *window = data;
	window->closed = true;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = handle_toplevel_configure,
	.close = handle_toplevel_close,
};

static void handle_buffer_release(void *data, struct wl_buffer *wl_buffer) {
	bool *busy = data;
	*busy = false;
}

const struct wl_buffer_listener window_buffer_listener = {
	.release = handle_buffer_release,
};

bool window_connect(struct wcp_window *window, const char *prog, uint32_t format) {
	*window = (struct wcp_window){.prog = prog, .format = format};
	window->display = wl_display_connect(NULL);
	if (window->display == NULL) {
		fprintf(stderr, "%s: cannot connect to the Wayland display: %s\n", prog,
			strerror(errno));
		return false;
	}
	window->registry = wl_display_get_registry(window->display);
	wl_registry_add_listener(window->registry, &registry_listener, window);
	return true;
}

enum wcp_window_globals window_check_globals(const struct wcp_window *window) {
	if (window->compositor == NULL || window->shm == NULL || window->wm_base == NULL) {
		fprintf(stderr, "%s: the compositor lacks %s\n", window->prog,
			window->compositor == NULL    ? "wl_compositor"
				: window->shm == NULL ? "wl_shm"
						      : "xdg_wm_base");
		return WCP_WINDOW_GLOBALS_MISSING;
	}
	if (!window->format_offered) {
		fprintf(stderr, "%s: wl_shm does not offer format 0x%08" PRIx32 "\n", window->prog,
			window->format);
		return WCP_WINDOW_FORMAT_MISSING;
	}
	return WCP_WINDOW_GLOBALS_OK;
}

void window_create_toplevel(
	struct wcp_window *window, const char *title, const char *app_id, bool fullscreen) {
	window->surface = wl_compositor_create_surface(window->compositor);
	window->xdg_surface = xdg_wm_base_get_xdg_surface(window->wm_base, window->surface);
	xdg_surface_add_listener(window->xdg_surface, &xdg_surface_listener, window);
	window->toplevel = xdg_surface_get_toplevel(window->xdg_surface);
	xdg_toplevel_add_listener(window->toplevel, &toplevel_listener, window);
	xdg_toplevel_set_title(window->toplevel, title);
	xdg_toplevel_set_app_id(window->toplevel, app_id);
	if (fullscreen) {
		xdg_toplevel_set_fullscreen(window->toplevel, NULL);
	}
	wl_surface_commit(window->surface);
}

void window_report_error(const struct wcp_window *window) {
	int err = wl_display_get_error(window->display);
	if (err == EPROTO) {
		const struct wl_interface *interface;
		uint32_t id;
		uint32_t code = wl_display_get_protocol_error(window->display, &interface, &id);
		fprintf(stderr, "%s: protocol error %" PRIu32 " on %s@%" PRIu32 "\n", window->prog,
			code, interface != NULL ? interface->name : "unknown", id);
	} else {
		fprintf(stderr, "%s: Wayland connection error: %s\n", window->prog,
			strerror(err != 0 ? err : errno));
	}
}

void window_finish(struct wcp_window *window) {
	if (window->toplevel != NULL) {
		xdg_toplevel_destroy(window->toplevel);
	}
	if (window->xdg_surface != NULL) {
		xdg_surface_destroy(window->xdg_surface);
	}
	if (window->surface != NULL) {
		wl_surface_destroy(window->surface);
	}
	if (window->wm_base != NULL) {
		xdg_wm_base_destroy(window->wm_base);
	}
	if (window->shm != NULL) {
		wl_shm_destroy(window->shm);
	}
	if (window->compositor != NULL) {
		wl_compositor_destroy(window->compositor);
	}
	if (window->registry != NULL) {
		wl_registry_destroy(window->registry);
	}
	if (window->display != NULL) {
		wl_display_flush(window->display);
		wl_display_disconnect(window->display);
	}
	*window = (struct wcp_window){0};
}
