/*
 * wcp-seat-client: keymaps, keys, seat capabilities and selections, for the
 * seat tests (see seat_client.h).
 */
#include "seat_client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WINDOW_SIZE 64
#define WINDOW_COLOR 0xff3366aa

static void usage(FILE *out) {
	fprintf(out,
		"Usage: " SEAT_CLIENT_PROG " [--timeout-ms N] COMMAND [ARGS]\n"
		"  keymap FILE                    write the first keymap sent, byte for byte\n"
		"  keys COUNT                     map a window, take focus, and print the text of\n"
		"                                 the next COUNT key presses\n"
		"  caps                           print every change of the seat's capabilities\n"
		"  copy [--primary] MIME FILE     map a window and offer FILE as the selection\n"
		"  paste [--primary] [--into-file | --read-after GO] MIME FILE\n"
		"                                 map a window and write the selection to FILE\n"
		"                                 (with --into-file the host writes FILE itself;\n"
		"                                 with --read-after, its pipe is read only once\n"
		"                                 the file GO exists)\n"
		"Each event it sees is a line on stdout. --timeout-ms (default 30000) ends it\n"
		"with status 3.\n");
}

void seat_client_fail(struct seat_client *c, const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	fputs(SEAT_CLIENT_PROG ": ", stderr);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
	c->failed = true;
}

bool seat_client_dispatch_until(struct seat_client *c, const bool *flag) {
	while (!*flag && !c->failed) {
		if (wl_display_dispatch(c->display) < 0) {
			seat_client_fail(c, "the connection failed: %s", strerror(errno));
		}
	}
	return !c->failed;
}

static void handle_timeout(int sig) {
	static const char msg[] = SEAT_CLIENT_PROG ": timed out\n";
	ssize_t ret = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ret;
	_exit(SEAT_CLIENT_TIMEOUT);
}

bool seat_client_write_file(const char *path, const void *data, size_t size) {
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		return false;
	}
	bool ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok;
}

/* The keyboard: keymaps, focus and keys. */

static void keymap_reset(struct seat_client *c) {
	xkb_state_unref(c->xkb_state);
	xkb_keymap_unref(c->keymap);
	free(c->keymap_text);
	c->xkb_state = NULL;
	c->keymap = NULL;
	c->keymap_text = NULL;
	c->keymap_size = 0;
}

static void handle_keyboard_keymap(
	void *data, struct wl_keyboard *keyboard, uint32_t format, int32_t fd, uint32_t size) {
	struct seat_client *c = data;
	if (format != WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1 || size == 0) {
		seat_client_fail(c, "keymap of format %" PRIu32 " and size %" PRIu32, format, size);
		close(fd);
		return;
	}
	// Since wl_keyboard 7 the fd must be mapped private.
	char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		seat_client_fail(c, "cannot map the keymap fd: %s", strerror(errno));
		return;
	}
	keymap_reset(c);
	c->keymap_text = malloc(size);
	if (c->keymap_text == NULL) {
		munmap(map, size);
		seat_client_fail(c, "out of memory");
		return;
	}
	memcpy(c->keymap_text, map, size);
	c->keymap_size = size;
	munmap(map, size);
	if (c->keymap_text[size - 1] != '\0' || strlen(c->keymap_text) != size - 1) {
		seat_client_fail(c,
			"the keymap is not one NUL-terminated string of %" PRIu32 " bytes", size);
		return;
	}
	c->keymap = xkb_keymap_new_from_string(
		c->xkb, c->keymap_text, XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS);
	c->xkb_state = c->keymap != NULL ? xkb_state_new(c->keymap) : NULL;
	if (c->xkb_state == NULL) {
		seat_client_fail(c, "xkbcommon cannot compile the keymap");
		return;
	}
	c->have_keymap = true;
	printf("keymap %" PRIu32 "\n", size);
}

static void handle_keyboard_enter(void *data, struct wl_keyboard *keyboard, uint32_t serial,
	struct wl_surface *surface, struct wl_array *keys) {
	struct seat_client *c = data;
	if (surface != NULL && surface == c->surface) {
		c->focused = true;
		c->enter_serial = serial;
	}
}

static void handle_keyboard_leave(
	void *data, struct wl_keyboard *keyboard, uint32_t serial, struct wl_surface *surface) {
	struct seat_client *c = data;
	if (surface != NULL && surface == c->surface) {
		c->focused = false;
		printf("left\n");
	}
}

static void handle_keyboard_key(void *data, struct wl_keyboard *keyboard, uint32_t serial,
	uint32_t time, uint32_t key, uint32_t state) {
	struct seat_client *c = data;
	if (!c->focused || state != WL_KEYBOARD_KEY_STATE_PRESSED) {
		return;
	}
	if (c->xkb_state == NULL) {
		seat_client_fail(c, "key %" PRIu32 " pressed before any keymap", key);
		return;
	}
	// xkb keycodes are evdev codes + 8.
	xkb_keysym_t sym = xkb_state_key_get_one_sym(c->xkb_state, key + 8);
	char name[64], utf8[64];
	xkb_keysym_get_name(sym, name, sizeof(name));
	xkb_state_key_get_utf8(c->xkb_state, key + 8, utf8, sizeof(utf8));
	// Control characters (a key with Control held) stay out of the text.
	if ((unsigned char)utf8[0] >= 0x20) {
		size_t len = strlen(c->text);
		snprintf(c->text + len, sizeof(c->text) - len, "%s", utf8);
	}
	c->presses++;
	c->typed = c->presses == c->wanted_presses;
	printf("key %" PRIu32 " %s\n", key, name);
}

static void handle_keyboard_modifiers(void *data, struct wl_keyboard *keyboard, uint32_t serial,
	uint32_t depressed, uint32_t latched, uint32_t locked, uint32_t group) {
	struct seat_client *c = data;
	if (c->xkb_state == NULL) {
		return;
	}
	xkb_state_update_mask(c->xkb_state, depressed, latched, locked, 0, 0, group);
	// The active modifiers by their names in the keymap, e.g. "modifiers Shift+Control".
	char names[256] = "";
	size_t len = 0;
	for (xkb_mod_index_t i = 0; i < xkb_keymap_num_mods(c->keymap); i++) {
		if (xkb_state_mod_index_is_active(c->xkb_state, i, XKB_STATE_MODS_EFFECTIVE) > 0) {
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
				len > 0 ? "+" : "", xkb_keymap_mod_get_name(c->keymap, i));
			if (len >= sizeof(names)) {
				break;
			}
		}
	}
	printf("modifiers %s\n", len > 0 ? names : "none");
}

static void handle_keyboard_repeat_info(
	void *data, struct wl_keyboard *keyboard, int32_t rate, int32_t delay) {
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = handle_keyboard_keymap,
	.enter = handle_keyboard_enter,
	.leave = handle_keyboard_leave,
	.key = handle_keyboard_key,
	.modifiers = handle_keyboard_modifiers,
	.repeat_info = handle_keyboard_repeat_info,
};

static void keyboard_release(struct seat_client *c) {
	if (c->keyboard == NULL) {
		return;
	}
	if (wl_keyboard_get_version(c->keyboard) >= WL_KEYBOARD_RELEASE_SINCE_VERSION) {
		wl_keyboard_release(c->keyboard);
	} else {
		wl_keyboard_destroy(c->keyboard);
	}
	c->keyboard = NULL;
	c->focused = false;
}

static void handle_seat_capabilities(void *data, struct wl_seat *seat, uint32_t capabilities) {
	struct seat_client *c = data;
	c->capabilities = capabilities;
	c->capabilities_known = true;
	printf("capabilities %" PRIu32 "\n", capabilities);
	bool has_keyboard = (capabilities & WL_SEAT_CAPABILITY_KEYBOARD) != 0;
	if (has_keyboard && c->keyboard == NULL) {
		c->keyboard = wl_seat_get_keyboard(seat);
		wl_keyboard_add_listener(c->keyboard, &keyboard_listener, c);
	} else if (!has_keyboard) {
		keyboard_release(c);
	}
}

static void handle_seat_name(void *data, struct wl_seat *seat, const char *name) {
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = handle_seat_capabilities,
	.name = handle_seat_name,
};

/* Globals. */

static void handle_wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = handle_wm_base_ping,
};

static uint32_t min_version(uint32_t offered, uint32_t wanted) {
	return offered < wanted ? offered : wanted;
}

static void handle_registry_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct seat_client *c = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0 && c->compositor == NULL) {
		c->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 1);
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && c->shm == NULL) {
		c->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && c->wm_base == NULL) {
		c->wm_base = wl_registry_bind(
			registry, name, &xdg_wm_base_interface, min_version(version, 2));
		xdg_wm_base_add_listener(c->wm_base, &wm_base_listener, c);
	} else if (strcmp(interface, wl_seat_interface.name) == 0 && c->seat == NULL) {
		c->seat = wl_registry_bind(
			registry, name, &wl_seat_interface, min_version(version, 7));
		wl_seat_add_listener(c->seat, &seat_listener, c);
	} else if (strcmp(interface, wl_data_device_manager_interface.name) == 0 &&
		c->data_device_manager == NULL) {
		c->data_device_manager = wl_registry_bind(
			registry, name, &wl_data_device_manager_interface, min_version(version, 3));
	} else if (strcmp(interface, zwp_primary_selection_device_manager_v1_interface.name) == 0 &&
		c->primary_manager == NULL) {
		c->primary_manager = wl_registry_bind(
			registry, name, &zwp_primary_selection_device_manager_v1_interface, 1);
	}
}

static void handle_registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_registry_global,
	.global_remove = handle_registry_global_remove,
};

/* The window: one solid shm buffer on an xdg_toplevel. */

static struct wl_buffer *create_buffer(struct seat_client *c) {
	const int32_t stride = WINDOW_SIZE * 4;
	const size_t size = (size_t)stride * WINDOW_SIZE;
	int fd = memfd_create(SEAT_CLIENT_PROG, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		seat_client_fail(c, "cannot make the window's memory: %s", strerror(errno));
		goto error_fd;
	}
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		seat_client_fail(c, "cannot map the window's memory: %s", strerror(errno));
		goto error_fd;
	}
	for (size_t i = 0; i < size / 4; i++) {
		pixels[i] = WINDOW_COLOR;
	}
	munmap(pixels, size);
	struct wl_shm_pool *pool = wl_shm_create_pool(c->shm, fd, (int32_t)size);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, 0, WINDOW_SIZE, WINDOW_SIZE, stride, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	return buffer;

error_fd:
	if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

static void handle_xdg_surface_configure(
	void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	struct seat_client *c = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	if (c->buffer == NULL) {
		c->buffer = create_buffer(c);
		wl_surface_attach(c->surface, c->buffer, 0, 0);
		wl_surface_damage(c->surface, 0, 0, WINDOW_SIZE, WINDOW_SIZE);
	}
	wl_surface_commit(c->surface);
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = handle_xdg_surface_configure,
};

static void handle_toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t width,
	int32_t height, struct wl_array *states) {
}

static void handle_toplevel_close(void *data, struct xdg_toplevel *toplevel) {
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = handle_toplevel_configure,
	.close = handle_toplevel_close,
};

bool seat_client_focus(struct seat_client *c) {
	if (c->compositor == NULL || c->shm == NULL || c->wm_base == NULL) {
		seat_client_fail(c, "the compositor lacks wl_compositor, wl_shm or xdg_wm_base");
		return false;
	}
	c->surface = wl_compositor_create_surface(c->compositor);
	c->xdg_surface = xdg_wm_base_get_xdg_surface(c->wm_base, c->surface);
	xdg_surface_add_listener(c->xdg_surface, &xdg_surface_listener, c);
	c->toplevel = xdg_surface_get_toplevel(c->xdg_surface);
	xdg_toplevel_add_listener(c->toplevel, &toplevel_listener, c);
	xdg_toplevel_set_title(c->toplevel, SEAT_CLIENT_PROG);
	xdg_toplevel_set_app_id(c->toplevel, SEAT_CLIENT_PROG);
	wl_surface_commit(c->surface);
	if (!seat_client_dispatch_until(c, &c->focused)) {
		return false;
	}
	printf("focused\n");
	return true;
}

static void window_destroy(struct seat_client *c) {
	if (c->toplevel != NULL) {
		xdg_toplevel_destroy(c->toplevel);
	}
	if (c->xdg_surface != NULL) {
		xdg_surface_destroy(c->xdg_surface);
	}
	if (c->surface != NULL) {
		wl_surface_destroy(c->surface);
	}
	if (c->buffer != NULL) {
		wl_buffer_destroy(c->buffer);
	}
}

/* The commands. */

static int run_keymap(struct seat_client *c) {
	if (!seat_client_dispatch_until(c, &c->have_keymap)) {
		return SEAT_CLIENT_FAILED;
	}
	if (!seat_client_write_file(c->path, c->keymap_text, c->keymap_size)) {
		seat_client_fail(c, "cannot write %s: %s", c->path, strerror(errno));
		return SEAT_CLIENT_FAILED;
	}
	return SEAT_CLIENT_OK;
}

static int run_keys(struct seat_client *c, uint32_t count) {
	c->wanted_presses = count;
	if (!seat_client_focus(c) || !seat_client_dispatch_until(c, &c->typed)) {
		return SEAT_CLIENT_FAILED;
	}
	printf("text %s\n", c->text);
	return SEAT_CLIENT_OK;
}

static int run_caps(struct seat_client *c) {
	bool never = false;
	seat_client_dispatch_until(c, &never);
	return SEAT_CLIENT_FAILED;
}

/** Parses "[--primary] [--into-file | --read-after GO] MIME FILE" of copy and paste. */
static bool parse_selection_args(struct seat_client *c, int argc, char *argv[]) {
	int i = 0;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--primary") == 0) {
			c->primary = true;
		} else if (strcmp(argv[i], "--into-file") == 0) {
			c->into_file = true;
		} else if (strcmp(argv[i], "--read-after") == 0 && i + 1 < argc) {
			c->read_after = argv[++i];
		} else {
			return false;
		}
	}
	if (argc - i != 2) {
		return false;
	}
	c->mime = argv[i];
	c->path = argv[i + 1];
	return true;
}

static int run(struct seat_client *c, int argc, char *argv[]) {
	const char *command = argv[0];
	if (strcmp(command, "keymap") == 0 && argc == 2) {
		c->path = argv[1];
		return run_keymap(c);
	}
	if (strcmp(command, "keys") == 0 && argc == 2) {
		char *end;
		unsigned long count = strtoul(argv[1], &end, 10);
		if (*end == '\0' && count > 0 && count < 256) {
			return run_keys(c, (uint32_t)count);
		}
	}
	if (strcmp(command, "caps") == 0 && argc == 1) {
		return run_caps(c);
	}
	if (strcmp(command, "copy") == 0 && parse_selection_args(c, argc - 1, argv + 1)) {
		return seat_clipboard_copy(c);
	}
	if (strcmp(command, "paste") == 0 && parse_selection_args(c, argc - 1, argv + 1)) {
		return seat_clipboard_paste(c);
	}
	usage(stderr);
	return SEAT_CLIENT_USAGE;
}

static void client_finish(struct seat_client *c) {
	seat_clipboard_finish(c);
	window_destroy(c);
	keyboard_release(c);
	keymap_reset(c);
	xkb_context_unref(c->xkb);
	if (c->seat != NULL) {
		wl_seat_destroy(c->seat);
	}
	if (c->data_device_manager != NULL) {
		wl_data_device_manager_destroy(c->data_device_manager);
	}
	if (c->primary_manager != NULL) {
		zwp_primary_selection_device_manager_v1_destroy(c->primary_manager);
	}
	if (c->wm_base != NULL) {
		xdg_wm_base_destroy(c->wm_base);
	}
	if (c->shm != NULL) {
		wl_shm_destroy(c->shm);
	}
	if (c->compositor != NULL) {
		wl_compositor_destroy(c->compositor);
	}
	if (c->registry != NULL) {
		wl_registry_destroy(c->registry);
	}
	wl_display_disconnect(c->display);
}

int main(int argc, char *argv[]) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	// A reader that goes away must not kill a selection source.
	signal(SIGPIPE, SIG_IGN);
	unsigned long timeout_ms = 30000;
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "--timeout-ms") == 0) {
		char *end;
		timeout_ms = strtoul(argv[2], &end, 10);
		if (*end != '\0') {
			usage(stderr);
			return SEAT_CLIENT_USAGE;
		}
		first = 3;
	}
	if (argc <= first || strcmp(argv[first], "--help") == 0) {
		usage(argc <= first ? stderr : stdout);
		return argc <= first ? SEAT_CLIENT_USAGE : SEAT_CLIENT_OK;
	}
	if (timeout_ms > 0) {
		signal(SIGALRM, handle_timeout);
		alarm((unsigned int)((timeout_ms + 999) / 1000));
	}

	struct seat_client c = {0};
	c.xkb = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	c.display = wl_display_connect(NULL);
	if (c.xkb == NULL || c.display == NULL) {
		fprintf(stderr, SEAT_CLIENT_PROG ": cannot connect to the compositor\n");
		xkb_context_unref(c.xkb);
		return SEAT_CLIENT_FAILED;
	}
	c.registry = wl_display_get_registry(c.display);
	wl_registry_add_listener(c.registry, &registry_listener, &c);
	int status = SEAT_CLIENT_FAILED;
	if (wl_display_roundtrip(c.display) < 0) {
		fprintf(stderr, SEAT_CLIENT_PROG ": the first round trip failed\n");
	} else if (c.seat == NULL) {
		fprintf(stderr, SEAT_CLIENT_PROG ": the compositor offers no wl_seat\n");
	} else {
		status = run(&c, argc - first, argv + first);
	}
	client_finish(&c);
	return status;
}
