/*
 * wl-cross-proxy and synchronized subsurfaces over cross-domain: a
 * subsurface's commits are cached by the host until its parent commits,
 * and a host may hold the buffer of every cached commit until then
 * (wlroots does; weston keeps the last one). The proxy must go on giving
 * such commits host buffers, without writing one the host shows, and the
 * parent's commit must show the last.
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
#define COVER_COLOR 0xffc04020u

/* More commits than the proxy's eight host buffers a surface may have at most. */
#define CHILD_FRAMES 12

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

/** A picture the host has released, as any client draws into. */
static struct picture *picture_free(struct picture *pictures, int count) {
	for (int i = 0; i < count; i++) {
		if (!pictures[i].busy) {
			return &pictures[i];
		}
	}
	test_fail("every picture is held by the host");
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

/** A toplevel with a synchronized subsurface, neither of them drawn yet. */
struct window {
	struct client c;
	struct wl_surface *parent, *child;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct wl_subsurface *subsurface;
	struct picture parent_picture, child_pictures[CHILD_FRAMES];
};

static void window_open(struct window *w, const struct host *host, const char *title) {
	client_connect(&w->c, host->relay);
	w->parent = wl_compositor_create_surface(w->c.compositor);
	w->xdg_surface = xdg_wm_base_get_xdg_surface(w->c.wm_base, w->parent);
	bool configured = false;
	xdg_surface_add_listener(w->xdg_surface, &xdg_surface_listener, &configured);
	w->toplevel = xdg_surface_get_toplevel(w->xdg_surface);
	xdg_toplevel_set_title(w->toplevel, title);
	wl_surface_commit(w->parent);
	while (!configured) {
		test_assert(wl_display_dispatch(w->c.display) >= 0);
	}
	picture_create(&w->parent_picture, &w->c, PARENT_SIZE);
	for (int i = 0; i < CHILD_FRAMES; i++) {
		picture_create(&w->child_pictures[i], &w->c, CHILD_SIZE);
	}
	picture_show(&w->parent_picture, w->parent, PARENT_COLOR);
	wl_surface_commit(w->parent);
	test_assert(wl_display_roundtrip(w->c.display) >= 0);
	w->child = wl_compositor_create_surface(w->c.compositor);
	w->subsurface = wl_subcompositor_get_subsurface(w->c.subcompositor, w->child, w->parent);
	wl_subsurface_set_position(w->subsurface, CHILD_AT, CHILD_AT);
}

static void window_close(struct window *w, const struct host *host) {
	wl_subsurface_destroy(w->subsurface);
	wl_surface_destroy(w->child);
	xdg_toplevel_destroy(w->toplevel);
	xdg_surface_destroy(w->xdg_surface);
	wl_surface_destroy(w->parent);
	for (int i = 0; i < CHILD_FRAMES; i++) {
		picture_destroy(&w->child_pictures[i]);
	}
	picture_destroy(&w->parent_picture);
	client_disconnect(&w->c);
	test_assert(proc_alive(host->relay->proxy));
}

/**
 * Commits child frame `frame` in a picture the host has released, and
 * makes a round trip; returns the picture's index.
 */
static int child_commit(struct window *w, int frame) {
	struct picture *p = picture_free(w->child_pictures, CHILD_FRAMES);
	picture_show(p, w->child, child_color(frame));
	wl_surface_commit(w->child);
	long long start = proc_now_ms();
	test_assert(wl_display_roundtrip(w->c.display) >= 0);
	test_log("child frame %d: round trip in %lld ms", frame, proc_now_ms() - start);
	return (int)(p - w->child_pictures);
}

/** Whether the screen shows the parent and child frame `frame` (-1: no child) exactly. */
static bool shows(const struct host *host, int frame) {
	const size_t parent_pixels = (size_t)PARENT_SIZE * PARENT_SIZE;
	const size_t child_pixels = (size_t)CHILD_SIZE * CHILD_SIZE;
	struct wcp_image *shot = host_screenshot(host);
	size_t parent_count = count_color(shot, PARENT_COLOR);
	bool ok = parent_count == parent_pixels - (frame >= 0 ? child_pixels : 0);
	for (int i = 0; i < CHILD_FRAMES + 4; i++) {
		size_t count = count_color(shot, child_color(i));
		if (count != 0 || i == frame) {
			test_log("parent %zu, child frame %d: %zu pixels", parent_count, i, count);
		}
		ok = ok && count == (i == frame ? child_pixels : 0);
	}
	image_destroy(shot);
	return ok;
}

/** Waits for the screen to show the parent and child frame `frame`. */
static void await_shown(const struct host *host, int frame) {
	for (long long deadline = proc_now_ms() + 5000; !shows(host, frame);) {
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(50);
	}
}

/**
 * CHILD_FRAMES frames of the synchronized subsurface, each followed by a
 * round trip, before its parent commits once: every round trip comes
 * back, the screen shows none of the frames until the parent's commit and
 * then the last. The host holds none of the child's host buffers for an
 * applied commit, so the proxy copies every frame into the same one and
 * hands each guest buffer back at once: the client needs one. `other`,
 * unless NULL, commits before each frame.
 */
static void cached_frames(struct window *w, const struct host *host, struct wl_surface *other) {
	await_shown(host, -1);
	int pictures = 0;
	for (int i = 0; i < CHILD_FRAMES; i++) {
		if (other != NULL) {
			wl_surface_commit(other);
		}
		int used = child_commit(w, i);
		pictures = used + 1 > pictures ? used + 1 : pictures;
	}
	test_assert(shows(host, -1));
	test_assert(pictures == 1);
	wl_surface_commit(w->parent);
	test_assert(wl_display_roundtrip(w->c.display) >= 0);
	await_shown(host, CHILD_FRAMES - 1);
}

static void check_cached_frames(const struct host *host) {
	struct window w;
	window_open(&w, host, "cached");
	cached_frames(&w, host, NULL);
	window_close(&w, host);
}

/**
 * As check_cached_frames, with the child a parent itself (of a subsurface
 * never drawn), and with a surface of the same client that has a
 * subsurface too, and no role, committing before each frame. The host
 * applies none of the child's frames before the parent's commit: the
 * child's own commits are cached, and the other surface's commits apply
 * only what is cached below it.
 */
static void check_cached_frames_among_others(const struct host *host) {
	struct window w;
	window_open(&w, host, "among others");
	struct wl_surface *grandchild = wl_compositor_create_surface(w.c.compositor);
	struct wl_subsurface *grandchild_role =
		wl_subcompositor_get_subsurface(w.c.subcompositor, grandchild, w.child);
	struct wl_surface *other = wl_compositor_create_surface(w.c.compositor);
	struct wl_surface *other_child = wl_compositor_create_surface(w.c.compositor);
	struct wl_subsurface *other_role =
		wl_subcompositor_get_subsurface(w.c.subcompositor, other_child, other);
	cached_frames(&w, host, other);
	wl_subsurface_destroy(other_role);
	wl_surface_destroy(other_child);
	wl_surface_destroy(other);
	wl_subsurface_destroy(grandchild_role);
	wl_surface_destroy(grandchild);
	window_close(&w, host);
}

/**
 * A desynchronized subsurface of the parent, under the child and of its
 * size, that commits damage on its own: the host repaints the child's
 * place, drawing the child from its host buffer again.
 */
struct cover {
	struct wl_surface *surface;
	struct wl_subsurface *subsurface;
	struct picture picture;
};

static void cover_create(struct cover *cover, struct window *w) {
	cover->surface = wl_compositor_create_surface(w->c.compositor);
	cover->subsurface =
		wl_subcompositor_get_subsurface(w->c.subcompositor, cover->surface, w->parent);
	wl_subsurface_set_position(cover->subsurface, CHILD_AT, CHILD_AT);
	wl_subsurface_place_below(cover->subsurface, w->child);
	wl_subsurface_set_desync(cover->subsurface);
	picture_create(&cover->picture, &w->c, CHILD_SIZE);
	picture_show(&cover->picture, cover->surface, COVER_COLOR);
	wl_surface_commit(cover->surface);
}

static void handle_frame_done(void *data, struct wl_callback *callback, uint32_t time) {
	*(bool *)data = true;
	wl_callback_destroy(callback);
}

static const struct wl_callback_listener frame_listener = {
	.done = handle_frame_done,
};

/** Damages the cover and waits for the host to have repainted it. */
static void cover_repaint(struct cover *cover, struct window *w) {
	bool repainted = false;
	wl_callback_add_listener(wl_surface_frame(cover->surface), &frame_listener, &repainted);
	wl_surface_damage_buffer(cover->surface, 0, 0, CHILD_SIZE, CHILD_SIZE);
	wl_surface_commit(cover->surface);
	while (!repainted) {
		test_assert(wl_display_dispatch(w->c.display) >= 0);
	}
}

static void cover_destroy(struct cover *cover) {
	wl_subsurface_destroy(cover->subsurface);
	wl_surface_destroy(cover->surface);
	picture_destroy(&cover->picture);
}

/**
 * A host buffer whose commit the host has applied is on screen: a cached
 * commit made after the parent's commit, or after set_desync, must not
 * write it. A host that draws from the buffer whenever it repaints
 * (weston's pixman renderer) would show the new frame before the parent's
 * commit, once something else makes it repaint there.
 */
static void check_applied_buffers_kept(const struct host *host) {
	struct window w;
	window_open(&w, host, "applied");
	struct cover cover;
	cover_create(&cover, &w);
	child_commit(&w, 0);
	wl_surface_commit(w.parent);
	test_assert(wl_display_roundtrip(w.c.display) >= 0);
	await_shown(host, 0);
	child_commit(&w, 1);
	cover_repaint(&cover, &w);
	test_assert(shows(host, 0));
	wl_surface_commit(w.parent);
	test_assert(wl_display_roundtrip(w.c.display) >= 0);
	await_shown(host, 1);

	// weston applies the cached frame at set_desync; a host may also
	// wait for the next commit, which here is cached again: either way
	// frame 3 waits for the parent.
	child_commit(&w, 2);
	wl_subsurface_set_desync(w.subsurface);
	wl_subsurface_set_sync(w.subsurface);
	test_assert(wl_display_roundtrip(w.c.display) >= 0);
	child_commit(&w, 3);
	cover_repaint(&cover, &w);
	test_assert(shows(host, 2) || shows(host, 1));
	wl_surface_commit(w.parent);
	test_assert(wl_display_roundtrip(w.c.display) >= 0);
	await_shown(host, 3);
	cover_destroy(&cover);
	window_close(&w, host);
}

static void run_on_weston(void (*check)(const struct host *host)) {
	struct host host = {.weston = weston_start(NULL)};
	host.relay = relay_start(host.weston, WCP_RELAY_EMU);
	check(&host);
	relay_stop(host.relay);
	weston_stop(host.weston);
}

static void run_on_sway(void (*check)(const struct host *host)) {
	struct host host = {.sway = sway_start()};
	struct wcp_relay_host relay_host = sway_relay_host(host.sway);
	host.relay = relay_start_on(&relay_host, WCP_RELAY_EMU);
	check(&host);
	relay_stop(host.relay);
	sway_stop(host.sway);
}

/* A test of each check on each host: NAME_on_weston and NAME_on_sway. */
#define ON_BOTH_HOSTS(name, check) \
	TEST_OPTS(name##_on_weston, .timeout_s = 60) { \
		run_on_weston(check); \
	} \
	TEST_OPTS(name##_on_sway, .timeout_s = 60) { \
		run_on_sway(check); \
	}

/* wlroots keeps every cached commit's buffer until the parent's commit. */
ON_BOTH_HOSTS(cached_subsurface_frames, check_cached_frames)
ON_BOTH_HOSTS(cached_frames_among_others, check_cached_frames_among_others)
ON_BOTH_HOSTS(applied_subsurface_buffers, check_applied_buffers_kept)

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
