/*
 * wl-cross-proxy and synchronized subsurfaces over cross-domain: a
 * subsurface's commits are cached by the host until its parent commits,
 * and a host may hold the buffer of every cached commit until then
 * (wlroots does; weston keeps the last one). The proxy must go on giving
 * such commits host buffers, and the parent's commit must show the last.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "image.h"
#include "proc.h"
#include "relay.h"
#include "scene.h"
#include "sway.h"
#include "test.h"
#include "weston.h"
#include "xdg-shell-client-protocol.h"

#define PARENT_SIZE 64
#define CHILD_SIZE 32
#define CHILD_AT 16
#define PARENT_COLOR 0xff2040c0u

/* More commits than the proxy's four host buffers a surface, and fewer than its eight overdue. */
#define CHILD_FRAMES 7

/* How long the proxy lets a commit wait before it takes a host buffer beyond four. */
#define PATIENCE_MS 100

struct host {
	struct wcp_weston *weston; // one of the two
	struct wcp_sway *sway;
	struct wcp_relay *relay;
};

static struct wcp_image *host_screenshot(const struct host *host) {
	return host->weston != NULL ? weston_screenshot(host->weston, NULL)
				    : sway_screenshot(host->sway);
}

struct client {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
};

static void handle_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = handle_ping,
};

static void handle_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct client *c = data;
	if (strcmp(interface, "wl_compositor") == 0) {
		c->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
	} else if (strcmp(interface, "wl_subcompositor") == 0) {
		c->subcompositor = wl_registry_bind(registry, name, &wl_subcompositor_interface, 1);
	} else if (strcmp(interface, "wl_shm") == 0) {
		c->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, "xdg_wm_base") == 0) {
		c->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(c->wm_base, &wm_base_listener, c);
	}
}

static void handle_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = handle_global,
	.global_remove = handle_global_remove,
};

static void client_connect(struct client *c, const struct wcp_relay *relay) {
	*c = (struct client){0};
	c->display = wl_display_connect(relay->socket);
	test_assert(c->display != NULL);
	c->registry = wl_display_get_registry(c->display);
	wl_registry_add_listener(c->registry, &registry_listener, c);
	test_assert(wl_display_roundtrip(c->display) >= 0);
	test_assert(c->compositor != NULL && c->subcompositor != NULL && c->shm != NULL &&
		c->wm_base != NULL);
}

static void client_disconnect(struct client *c) {
	xdg_wm_base_destroy(c->wm_base);
	wl_shm_destroy(c->shm);
	wl_subcompositor_destroy(c->subcompositor);
	wl_compositor_destroy(c->compositor);
	wl_registry_destroy(c->registry);
	wl_display_disconnect(c->display);
}

/** One XRGB8888 buffer of its own pool, and whether the host has released it. */
struct picture {
	int32_t size;
	uint32_t *pixels;
	struct wl_buffer *buffer;
	bool busy;
};

static void handle_release(void *data, struct wl_buffer *buffer) {
	((struct picture *)data)->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = handle_release,
};

static void picture_create(struct picture *p, struct client *c, int32_t size) {
	*p = (struct picture){.size = size};
	const int32_t stride = size * 4, bytes = stride * size;
	int fd = memfd_create("picture", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, bytes) == 0);
	p->pixels = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	test_assert(p->pixels != MAP_FAILED);
	struct wl_shm_pool *pool = wl_shm_create_pool(c->shm, fd, bytes);
	close(fd);
	p->buffer = wl_shm_pool_create_buffer(pool, 0, size, size, stride, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	wl_buffer_add_listener(p->buffer, &buffer_listener, p);
}

/** Draws `color` all over and attaches it, damaged, to `surface`. */
static void picture_show(struct picture *p, struct wl_surface *surface, uint32_t color) {
	test_assert(!p->busy);
	for (size_t i = 0; i < (size_t)p->size * (size_t)p->size; i++) {
		p->pixels[i] = color;
	}
	wl_surface_attach(surface, p->buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, p->size, p->size);
	p->busy = true;
}

static void picture_destroy(struct picture *p) {
	wl_buffer_destroy(p->buffer);
	munmap(p->pixels, (size_t)p->size * (size_t)p->size * 4);
}

static void handle_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	xdg_surface_ack_configure(xdg_surface, serial);
	*(bool *)data = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = handle_configure,
};

/** Every child frame's colour differs from the others and from the parent's. */
static uint32_t child_color(int frame) {
	return 0xff000000u | (uint32_t)(0x40 + frame * 0x18) << 16 | 0xa000u | (uint32_t)frame;
}

static size_t count_color(const struct wcp_image *shot, uint32_t color) {
	struct wcp_rect all = {0, 0, shot->width, shot->height};
	return image_count_color(shot, all, color, 0x00ffffff);
}

/**
 * A toplevel with a synchronized subsurface that commits CHILD_FRAMES
 * frames, each followed by a round trip, before its parent commits once:
 * every round trip comes back, the screen shows none of the frames until
 * the parent's commit and then the last. Returns the longest round trip
 * after a child frame, in ms.
 */
static long long check_cached_frames(const struct host *host) {
	struct client c;
	client_connect(&c, host->relay);
	struct wl_surface *parent = wl_compositor_create_surface(c.compositor);
	struct xdg_surface *xdg_surface = xdg_wm_base_get_xdg_surface(c.wm_base, parent);
	bool configured = false;
	xdg_surface_add_listener(xdg_surface, &xdg_surface_listener, &configured);
	struct xdg_toplevel *toplevel = xdg_surface_get_toplevel(xdg_surface);
	xdg_toplevel_set_title(toplevel, "cached");
	wl_surface_commit(parent);
	while (!configured) {
		test_assert(wl_display_dispatch(c.display) >= 0);
	}
	struct picture parent_picture, child_pictures[CHILD_FRAMES];
	picture_create(&parent_picture, &c, PARENT_SIZE);
	for (int i = 0; i < CHILD_FRAMES; i++) {
		picture_create(&child_pictures[i], &c, CHILD_SIZE);
	}
	picture_show(&parent_picture, parent, PARENT_COLOR);
	wl_surface_commit(parent);
	test_assert(wl_display_roundtrip(c.display) >= 0);

	struct wl_surface *child = wl_compositor_create_surface(c.compositor);
	struct wl_subsurface *subsurface =
		wl_subcompositor_get_subsurface(c.subcompositor, child, parent);
	wl_subsurface_set_position(subsurface, CHILD_AT, CHILD_AT);
	long long longest = 0;
	for (int i = 0; i < CHILD_FRAMES; i++) {
		// Like any client, it draws into a buffer the host has released.
		struct picture *free_picture = NULL;
		for (int j = 0; j < CHILD_FRAMES && free_picture == NULL; j++) {
			free_picture = child_pictures[j].busy ? NULL : &child_pictures[j];
		}
		picture_show(free_picture, child, child_color(i));
		wl_surface_commit(child);
		long long start = proc_now_ms();
		test_assert(wl_display_roundtrip(c.display) >= 0);
		long long took = proc_now_ms() - start;
		test_log("child frame %d: round trip in %lld ms", i, took);
		longest = took > longest ? took : longest;
	}
	const size_t parent_pixels = (size_t)PARENT_SIZE * PARENT_SIZE;
	const size_t child_pixels = (size_t)CHILD_SIZE * CHILD_SIZE;
	struct wcp_image *shot = host_screenshot(host);
	test_assert(count_color(shot, PARENT_COLOR) == parent_pixels);
	for (int i = 0; i < CHILD_FRAMES; i++) {
		test_assert(count_color(shot, child_color(i)) == 0);
	}
	image_destroy(shot);

	wl_surface_commit(parent);
	test_assert(wl_display_roundtrip(c.display) >= 0);
	size_t parent_count = 0, child_count = 0;
	for (long long deadline = proc_now_ms() + 5000; proc_now_ms() < deadline;) {
		shot = host_screenshot(host);
		parent_count = count_color(shot, PARENT_COLOR);
		child_count = count_color(shot, child_color(CHILD_FRAMES - 1));
		image_destroy(shot);
		if (child_count == child_pixels) {
			break;
		}
		proc_sleep_ms(50);
	}
	test_log("after the parent's commit: %zu parent and %zu child pixels", parent_count,
		child_count);
	test_assert(child_count == child_pixels);
	test_assert(parent_count == parent_pixels - child_pixels);

	wl_subsurface_destroy(subsurface);
	wl_surface_destroy(child);
	xdg_toplevel_destroy(toplevel);
	xdg_surface_destroy(xdg_surface);
	wl_surface_destroy(parent);
	for (int i = 0; i < CHILD_FRAMES; i++) {
		picture_destroy(&child_pictures[i]);
	}
	picture_destroy(&parent_picture);
	client_disconnect(&c);
	test_assert(proc_alive(host->relay->proxy));
	return longest;
}

TEST_OPTS(cached_subsurface_frames_on_weston, .timeout_s = 60) {
	struct host host = {.weston = weston_start(NULL)};
	host.relay = relay_start(host.weston, WCP_RELAY_EMU);
	check_cached_frames(&host);
	relay_stop(host.relay);
	weston_stop(host.weston);
}

/*
 * wlroots keeps every cached commit's buffer: past the fourth, each commit
 * waits PATIENCE_MS for a release that does not come, then takes a host
 * buffer beyond four.
 */
TEST_OPTS(cached_subsurface_frames_on_sway, .timeout_s = 60) {
	struct host host = {.sway = sway_start()};
	struct wcp_relay_host relay_host = sway_relay_host(host.sway);
	host.relay = relay_start_on(&relay_host, WCP_RELAY_EMU);
	long long longest = check_cached_frames(&host);
	test_assert(longest >= PATIENCE_MS - 10);
	relay_stop(host.relay);
	sway_stop(host.sway);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
