/*
 * wl-cross-proxy relaying real clients to a real headless weston, straight
 * (--device=none) and through wl-cross-emu.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-client.h>

#include "image.h"
#include "pattern.h"
#include "proc.h"
#include "relay.h"
#include "scene.h"
#include "shm_client.h"
#include "test.h"
#include "wayland/registry.h"
#include "weston.h"
#include "wlinfo.h"
#include "xdg-shell-client-protocol.h"

/** What the registry policy lets through of the host's globals, in wayland-info's form. */
static char *expected_globals(const char *host_globals, bool over_channel) {
	size_t cap = strlen(host_globals) + 1, len = 0;
	char *out = calloc(1, cap);
	const char *line = host_globals;
	while (*line != '\0') {
		char name[128];
		unsigned int version;
		test_assert(sscanf(line, "%127s %u", name, &version) == 2);
		uint32_t allowed = registry_policy(name, version, over_channel);
		if (allowed > 0) {
			len += (size_t)snprintf(out + len, cap - len, "%s %u\n", name, allowed);
		}
		line = strchr(line, '\n') + 1;
	}
	return out;
}

static void check_globals(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, mode);
	char *host = wlinfo_globals(weston->env_display);
	char *got = wlinfo_globals(relay->env_display);
	char *want = expected_globals(host, mode == WCP_RELAY_EMU);
	test_log("%s: host offers\n%sthe proxy offers\n%s", relay_mode_name(mode), host, got);
	// Hidden: weston's private and debug globals, and what has no XML here.
	test_assert(strstr(host, "weston_debug_v1") != NULL && strstr(got, "weston_debug") == NULL);
	test_assert(strstr(got, "xdg_wm_base 3") != NULL && strstr(got, "wl_compositor 4") != NULL);
	test_assert(strcmp(got, want) == 0);
	free(host);
	free(got);
	free(want);
	relay_stop(relay);
	weston_stop(weston);
}

TEST(globals_follow_the_policy_direct) {
	check_globals(WCP_RELAY_DIRECT);
}

TEST(globals_follow_the_policy_over_cross_domain) {
	check_globals(WCP_RELAY_EMU);
}

TEST(registry_policy_clamps_and_hides) {
	// The proxy's XML has wl_compositor 5 (libwayland 1.21).
	test_assert(registry_policy("wl_compositor", 6, false) ==
		(uint32_t)wl_compositor_interface.version);
	test_assert(registry_policy("wl_compositor", 3, false) == 3);
	test_assert(registry_policy("xdg_wm_base", 2, false) == 2);
	test_assert(registry_policy("weston_debug_v1", 1, false) == 0);
	test_assert(registry_policy("zwp_linux_dmabuf_v1", 4, false) == 0);
	test_assert(registry_policy("wl_shm", 1, false) == 1);
	test_assert(registry_policy("wl_shm", 1, true) == 1);
	// Over cross-domain, never a wl_shm that can be released.
	test_assert(registry_policy("wl_shm", 2, true) == 1);
	// Never globals, whatever a host says.
	test_assert(registry_policy("wl_display", 1, false) == 0);
	test_assert(registry_policy("wl_registry", 1, true) == 0);
}

/** Stock clients that draw with shm and run headless; each keeps running until stopped. */
static const char *const stock_clients[] = {
	"weston-simple-shm",
	"weston-simple-damage",
	"weston-flower",
	"weston-smoke",
	"weston-presentation-shm",
	"weston-scaler",
	"weston-transformed",
	"weston-fullscreen",
	"weston-multi-resource",
	"weston-eventdemo",
	"weston-cliptest",
	"weston-resizor",
	"weston-stacking",
	"weston-terminal",
	"weston-subsurfaces",
};
#define STOCK_COUNT (sizeof(stock_clients) / sizeof(stock_clients[0]))

static size_t count_toplevels(struct wcp_weston *weston) {
	struct wcp_scene scene;
	if (!weston_scene_read(weston, &scene)) {
		return 0;
	}
	size_t count = 0;
	for (size_t i = 0; i < scene.count; i++) {
		count += strcmp(scene.views[i].role, "xdg_toplevel") == 0;
	}
	scene_finish(&scene);
	return count;
}

static void check_stock_clients(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){1024, 768, NULL});
	struct wcp_relay *relay = relay_start(weston, mode);
	struct wcp_proc *clients[STOCK_COUNT] = {0};
	size_t started = 0;
	for (size_t i = 0; i < STOCK_COUNT; i++) {
		if (!proc_have_program(stock_clients[i])) {
			test_log("%s is not installed; not run", stock_clients[i]);
			continue;
		}
		const char *argv[] = {stock_clients[i], NULL};
		const char *env[] = {relay->env_display, NULL};
		char log[PATH_MAX];
		test_format(log, sizeof(log), "%s/%s.log", weston->runtime_dir, stock_clients[i]);
		clients[i] = proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log});
		test_assert(clients[i] != NULL);
		started++;
	}
	if (started == 0) {
		test_skip("no weston stock client is installed (Debian package weston)");
	}
	long long deadline = proc_now_ms() + 15000;
	size_t shown;
	while ((shown = count_toplevels(weston)) < started && proc_now_ms() < deadline) {
		proc_sleep_ms(100);
	}
	test_log("%s: %zu of %zu clients show a window", relay_mode_name(mode), shown, started);
	test_assert(shown == started);
	// They keep running: a protocol error would have ended them.
	proc_sleep_ms(3000);
	for (size_t i = 0; i < STOCK_COUNT; i++) {
		if (clients[i] != NULL && !proc_alive(clients[i])) {
			test_fail(
				"%s exited with %d", stock_clients[i], proc_exit_code(clients[i]));
		}
	}
	for (size_t i = 0; i < STOCK_COUNT; i++) {
		proc_stop(clients[i], WCP_PROC_GRACE_MS);
	}
	relay_stop(relay);
	weston_stop(weston);
}

TEST_OPTS(stock_clients_run_direct, .timeout_s = 60) {
	check_stock_clients(WCP_RELAY_DIRECT);
}

TEST_OPTS(stock_clients_run_over_cross_domain, .timeout_s = 60) {
	check_stock_clients(WCP_RELAY_EMU);
}

/** A client of our own in the test process, next to a bystander that must not notice. */
struct error_probe {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct wl_compositor *compositor;
	struct xdg_wm_base *wm_base;
	struct wcp_shm_client *bystander;
};

static void handle_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct error_probe *probe = data;
	if (strcmp(interface, "wl_shm") == 0) {
		probe->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, "wl_compositor") == 0) {
		probe->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
	} else if (strcmp(interface, "xdg_wm_base") == 0) {
		probe->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
	}
}

static void handle_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener probe_listener = {
	.global = handle_global,
	.global_remove = handle_global_remove,
};

/** Connects the probe, with a bystander client run with `args` beside it (NULL: none). */
static void probe_connect_beside(
	struct error_probe *probe, struct wcp_relay *relay, const char *const *args) {
	*probe = (struct error_probe){0};
	if (args != NULL) {
		probe->bystander = shm_client_start(relay->env_display, args);
		test_assert(shm_client_wait_ready(probe->bystander, 20000));
	}
	probe->display = wl_display_connect(relay->socket);
	test_assert(probe->display != NULL);
	probe->registry = wl_display_get_registry(probe->display);
	wl_registry_add_listener(probe->registry, &probe_listener, probe);
	test_assert(wl_display_roundtrip(probe->display) >= 0);
	test_assert(probe->shm != NULL && probe->compositor != NULL);
}

static void probe_connect(struct error_probe *probe, struct wcp_relay *relay) {
	probe_connect_beside(probe, relay, (const char *const[]){"--frames", "5", NULL});
}

/** Disconnects; the proxy and the bystander must have carried on. */
static void probe_finish(struct error_probe *probe, struct wcp_relay *relay) {
	if (probe->wm_base != NULL) {
		xdg_wm_base_destroy(probe->wm_base);
	}
	wl_shm_destroy(probe->shm);
	wl_compositor_destroy(probe->compositor);
	wl_registry_destroy(probe->registry);
	wl_display_disconnect(probe->display);
	test_assert(proc_alive(relay->proxy));
	if (probe->bystander != NULL) {
		test_assert(proc_alive(probe->bystander->proc));
		test_assert(shm_client_stop(probe->bystander) == 0);
	}
}

/*
 * A surface destroyed with a frame callback pending: weston destroys the
 * callback with it, sends no done, and tells only in a delete_id, which
 * libwayland-client keeps to itself. The proxy ends the guest's callback
 * too, so that the guest gets its delete_id and reuses both ids, as it
 * would straight to weston; the proxy would otherwise keep every such
 * callback, and the guest its id, until the client left.
 */
static void check_frame_callback_of_a_destroyed_surface(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, mode);
	struct error_probe probe;
	probe_connect_beside(&probe, relay, NULL);
	for (int round = 0; round < 3; round++) {
		struct wl_surface *surface = wl_compositor_create_surface(probe.compositor);
		struct wl_callback *callback = wl_surface_frame(surface);
		wl_surface_commit(surface);
		test_assert(wl_display_roundtrip(probe.display) >= 0);
		uint32_t ids[2] = {wl_proxy_get_id((struct wl_proxy *)surface),
			wl_proxy_get_id((struct wl_proxy *)callback)};
		wl_surface_destroy(surface);
		wl_callback_destroy(callback);
		// Each round trip's own callback takes a free id and frees it
		// again; after two, both ids are free whatever their order.
		test_assert(wl_display_roundtrip(probe.display) >= 0);
		test_assert(wl_display_roundtrip(probe.display) >= 0);
		enum { REGIONS = 4 };
		struct wl_region *regions[REGIONS];
		bool reused[2] = {false, false};
		for (int i = 0; i < REGIONS; i++) {
			regions[i] = wl_compositor_create_region(probe.compositor);
			uint32_t id = wl_proxy_get_id((struct wl_proxy *)regions[i]);
			reused[0] = reused[0] || id == ids[0];
			reused[1] = reused[1] || id == ids[1];
		}
		test_log("%s: surface %u %s, callback %u %s", relay_mode_name(mode), ids[0],
			reused[0] ? "reused" : "not reused", ids[1],
			reused[1] ? "reused" : "not reused");
		test_assert(reused[0] && reused[1]);
		for (int i = 0; i < REGIONS; i++) {
			wl_region_destroy(regions[i]);
		}
		test_assert(wl_display_roundtrip(probe.display) >= 0);
	}
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

TEST(frame_callback_ends_with_its_surface_direct) {
	check_frame_callback_of_a_destroyed_surface(WCP_RELAY_DIRECT);
}

TEST(frame_callback_ends_with_its_surface_over_cross_domain) {
	check_frame_callback_of_a_destroyed_surface(WCP_RELAY_EMU);
}

TEST(host_protocol_error_reaches_the_guest) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_DIRECT);
	struct error_probe probe;
	probe_connect(&probe, relay);
	struct wl_display *display = probe.display;
	// A pool of size 0 is a protocol error of the host's wl_shm.
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 4096) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, 0);
	close(fd);
	test_assert(wl_display_roundtrip(display) < 0);
	test_assert(wl_display_get_error(display) == EPROTO);
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t code = wl_display_get_protocol_error(display, &interface, &id);
	test_assert(interface == &wl_shm_interface);
	test_assert(id == wl_proxy_get_id((struct wl_proxy *)probe.shm));
	test_assert(code == WL_SHM_ERROR_INVALID_STRIDE);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/** The protocol error a probe's connection ended with: the object's interface and the code. */
static void expect_error(struct error_probe *probe, const struct wl_interface *want_interface,
	uint32_t want_id, uint32_t want_code) {
	test_assert(wl_display_roundtrip(probe->display) < 0);
	test_assert(wl_display_get_error(probe->display) == EPROTO);
	const struct wl_interface *interface;
	uint32_t id;
	uint32_t code = wl_display_get_protocol_error(probe->display, &interface, &id);
	if (interface != want_interface || id != want_id || code != want_code) {
		test_fail("error %u on %s@%u, expected %u on %s@%u", code,
			interface != NULL ? interface->name : "?", id, want_code,
			want_interface->name, want_id);
	}
}

/**
 * Over cross-domain the proxy serves wl_shm pools itself: bad pools and
 * buffers get the errors the host gives straight (run both ways).
 */
static void check_shm_errors(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, mode);
	struct error_probe probe;

	// An fd that cannot be mapped (a pipe).
	probe_connect(&probe, relay);
	int pipe_fds[2];
	test_assert(pipe2(pipe_fds, O_CLOEXEC) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, pipe_fds[0], 4096);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	expect_error(&probe, &wl_shm_interface, wl_proxy_get_id((struct wl_proxy *)probe.shm),
		WL_SHM_ERROR_INVALID_FD);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);

	// A pool made smaller.
	probe_connect(&probe, relay);
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 8192) == 0);
	pool = wl_shm_create_pool(probe.shm, fd, 8192);
	close(fd);
	wl_shm_pool_resize(pool, 4096);
	expect_error(&probe, &wl_shm_pool_interface, wl_proxy_get_id((struct wl_proxy *)pool),
		WL_SHM_ERROR_INVALID_FD);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);

	// A format the host does not offer, and a buffer larger than its pool.
	static const struct {
		uint32_t format;
		int32_t height;
		uint32_t code;
	} cases[] = {
		{WL_SHM_FORMAT_YUYV, 16, WL_SHM_ERROR_INVALID_FORMAT},
		{WL_SHM_FORMAT_XRGB8888, 17, WL_SHM_ERROR_INVALID_STRIDE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		probe_connect(&probe, relay);
		fd = memfd_create("pool", MFD_CLOEXEC);
		test_assert(fd >= 0 && ftruncate(fd, 16 * 16 * 4) == 0);
		pool = wl_shm_create_pool(probe.shm, fd, 16 * 16 * 4);
		close(fd);
		struct wl_buffer *buffer = wl_shm_pool_create_buffer(
			pool, 0, 16, cases[i].height, 16 * 4, cases[i].format);
		expect_error(&probe, &wl_shm_pool_interface,
			wl_proxy_get_id((struct wl_proxy *)pool), cases[i].code);
		wl_buffer_destroy(buffer);
		wl_shm_pool_destroy(pool);
		probe_finish(&probe, relay);
	}
	relay_stop(relay);
	weston_stop(weston);
}

TEST(shm_errors_match_the_host_direct) {
	check_shm_errors(WCP_RELAY_DIRECT);
}

TEST(shm_errors_match_the_host_over_cross_domain) {
	check_shm_errors(WCP_RELAY_EMU);
}

/** Open fds and resident memory (KiB) of a process. */
static void process_usage(pid_t pid, int *fds, long *rss_kib) {
	*fds = proc_open_fds(pid);
	test_assert(*fds >= 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	test_assert(f != NULL);
	char line[256];
	*rss_kib = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", rss_kib) == 1) {
			break;
		}
	}
	fclose(f);
	test_assert(*rss_kib > 0);
}

#define MANY 20

TEST_OPTS(twenty_clients_and_back_to_idle, .timeout_s = 120) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){1024, 768, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	// Idle is measured after one client came and went, so that what
	// libraries set up once for good is not counted as a leak.
	const char *warm_args[] = {"--frames", "3", NULL};
	struct wcp_shm_client *warm = shm_client_start(relay->env_display, warm_args);
	test_assert(shm_client_wait_ready(warm, 20000));
	test_assert(shm_client_stop(warm) == 0);
	proc_sleep_ms(300);
	int idle_fds;
	long idle_rss;
	process_usage(relay->proxy->pid, &idle_fds, &idle_rss);

	struct wcp_shm_client *clients[MANY];
	char titles[MANY][16];
	for (int i = 0; i < MANY; i++) {
		snprintf(titles[i], sizeof(titles[i]), "client %02d", i);
		const char *args[] = {"--size", "96x64", "--damage", "band", "--frames", "120",
			"--buffers", "3", "--title", titles[i], NULL};
		clients[i] = shm_client_start(relay->env_display, args);
	}
	// One of them dies abruptly while all are drawing; the others go on.
	proc_sleep_ms(300);
	kill(clients[7]->proc->pid, SIGKILL);
	for (int i = 0; i < MANY; i++) {
		if (i != 7) {
			test_assert(shm_client_wait_ready(clients[i], 60000));
			test_assert(clients[i]->acked == 120);
		}
	}
	struct wcp_scene scene;
	test_assert(weston_scene_read(weston, &scene));
	for (int i = 0; i < MANY; i++) {
		const struct wcp_scene_view *view =
			scene_find(&scene, "xdg_toplevel", titles[i], NULL);
		test_assert((view == NULL) == (i == 7));
		test_assert(
			view == NULL || (view->x2 - view->x1 == 96 && view->y2 - view->y1 == 64));
	}
	// The scene graph lists views top first: the topmost window is fully
	// visible, and every client drew the same frames.
	const struct wcp_scene_view *first = scene_find(&scene, "xdg_toplevel", NULL, NULL);
	test_assert(first != NULL);
	struct wcp_scene_view top = *first;
	scene_finish(&scene);
	struct wcp_pattern pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_BAND};
	struct wcp_pattern_image *model = pattern_image_create(pattern.format, 96, 64);
	pattern_image_replay(model, &pattern, 0, 120);
	struct wcp_image *want = image_from_pattern(model);
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_image_diff diff;
	test_assert(image_region_equal(shot, top.x1, top.y1, want, 0, 0, 96, 64, &diff));
	image_destroy(shot);
	image_destroy(want);
	pattern_image_destroy(model);

	int busy_fds;
	long busy_rss;
	process_usage(relay->proxy->pid, &busy_fds, &busy_rss);
	for (int i = 0; i < MANY; i++) {
		int code = shm_client_stop(clients[i]);
		test_assert(i == 7 ? code == 128 + SIGKILL : code == 0);
	}
	// The proxy ends each client when it reads its hang-up, and trims its
	// allocator when the last one is gone: on a loaded machine that can take
	// a while.
	int fds;
	long rss;
	long long deadline = proc_now_ms() + 10000;
	do {
		proc_sleep_ms(100);
		process_usage(relay->proxy->pid, &fds, &rss);
	} while (fds != idle_fds && proc_now_ms() < deadline);
	test_log("proxy: idle %d fds, %ld KiB; with %d clients %d fds, %ld KiB; after %d fds, "
		 "%ld KiB",
		idle_fds, idle_rss, MANY - 1, busy_fds, busy_rss, fds, rss);
	test_assert(busy_fds > idle_fds);
	test_assert(fds == idle_fds);
#ifdef __SANITIZE_ADDRESS__
	test_log("resident memory is not compared: AddressSanitizer keeps freed memory");
#else
	// The proxy trims the allocator once idle: all but a little comes back.
	test_assert(rss <= idle_rss + 1024);
#endif
	relay_stop(relay);
	weston_stop(weston);
}

TEST(trace_shows_both_directions) {
	// The proxy inherits this from the test process.
	setenv("WL_CROSS_PROXY_DEBUG", "guest,host", 1);
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	const char *args[] = {"--frames", "3", NULL};
	struct wcp_shm_client *client = shm_client_start(relay->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	test_assert(shm_client_stop(client) == 0);
	char log[PATH_MAX];
	test_format(log, sizeof(log), "%s", relay->log_path);
	relay_stop(relay);
	FILE *f = fopen(log, "re");
	test_assert(f != NULL);
	char line[1024];
	bool commit = false, done = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		commit = commit ||
			(strstr(line, "guest->host wl_surface@") != NULL &&
				strstr(line, ".commit()") != NULL);
		done = done ||
			(strstr(line, "host->guest wl_callback@") != NULL &&
				strstr(line, ".done(") != NULL);
	}
	fclose(f);
	test_assert(commit && done);
	weston_stop(weston);
}

TEST(losing_the_host_ends_clients_not_the_proxy) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	const char *args[] = {"--frames", "0", NULL};
	struct wcp_shm_client *client = shm_client_start(relay->env_display, args);
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", NULL, NULL, 10000, &view));
	// The VM's device side goes away: every channel ends.
	kill(relay->emu->pid, SIGKILL);
	test_assert(proc_wait(relay->emu, 5000));
	proc_stop(relay->emu, 0);
	relay->emu = NULL;
	test_assert(proc_wait(client->proc, 10000));
	test_log("the client ended with %d", proc_exit_code(client->proc));
	test_assert(proc_exit_code(client->proc) != 0);
	shm_client_stop(client);
	test_assert(proc_alive(relay->proxy));
	relay_stop(relay);
	weston_stop(weston);
}

static void handle_xdg_surface_configure(
	void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	xdg_surface_ack_configure(xdg_surface, serial);
	*(bool *)data = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = handle_xdg_surface_configure,
};

static void fill(uint32_t *pixels, size_t count, uint32_t color) {
	for (size_t i = 0; i < count; i++) {
		pixels[i] = color;
	}
}

/** A toplevel with one 64x64 XRGB8888 shm buffer, drawn by hand. */
struct shm_window {
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	int fd;
	uint32_t *pixels;
	struct wl_shm_pool *pool;
	struct wl_buffer *buffer;
};

#define SHM_WINDOW_SIZE 64

static void shm_window_create(struct shm_window *w, struct error_probe *probe, const char *title) {
	test_assert(probe->wm_base != NULL);
	w->surface = wl_compositor_create_surface(probe->compositor);
	w->xdg_surface = xdg_wm_base_get_xdg_surface(probe->wm_base, w->surface);
	bool configured = false;
	xdg_surface_add_listener(w->xdg_surface, &xdg_surface_listener, &configured);
	w->toplevel = xdg_surface_get_toplevel(w->xdg_surface);
	xdg_toplevel_set_title(w->toplevel, title);
	wl_surface_commit(w->surface);
	while (!configured) {
		test_assert(wl_display_dispatch(probe->display) >= 0);
	}
	const int32_t size = SHM_WINDOW_SIZE, stride = size * 4;
	w->fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(w->fd >= 0 && ftruncate(w->fd, stride * size) == 0);
	w->pixels =
		mmap(NULL, (size_t)(stride * size), PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	test_assert(w->pixels != MAP_FAILED);
	w->pool = wl_shm_create_pool(probe->shm, w->fd, stride * size);
	w->buffer =
		wl_shm_pool_create_buffer(w->pool, 0, size, size, stride, WL_SHM_FORMAT_XRGB8888);
}

static void shm_window_fill(struct shm_window *w, uint32_t color) {
	fill(w->pixels, (size_t)SHM_WINDOW_SIZE * SHM_WINDOW_SIZE, color);
}

/** Draws `color` all over, attaches the buffer damaged whole, and commits. */
static void shm_window_show(struct shm_window *w, uint32_t color) {
	shm_window_fill(w, color);
	wl_surface_attach(w->surface, w->buffer, 0, 0);
	wl_surface_damage_buffer(w->surface, 0, 0, SHM_WINDOW_SIZE, SHM_WINDOW_SIZE);
	wl_surface_commit(w->surface);
}

static void shm_window_destroy(struct shm_window *w) {
	xdg_toplevel_destroy(w->toplevel);
	xdg_surface_destroy(w->xdg_surface);
	wl_surface_destroy(w->surface);
	wl_buffer_destroy(w->buffer);
	wl_shm_pool_destroy(w->pool);
	munmap(w->pixels, (size_t)SHM_WINDOW_SIZE * SHM_WINDOW_SIZE * 4);
	close(w->fd);
}

TEST(whole_surface_damage_at_scale_two_is_copied) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct error_probe probe;
	probe_connect(&probe, relay);
	struct shm_window w;
	shm_window_create(&w, &probe, "scaled");
	const int32_t size = SHM_WINDOW_SIZE;
	wl_surface_set_buffer_scale(w.surface, 2);
	shm_window_fill(&w, 0xff0000c0);
	wl_surface_attach(w.surface, w.buffer, 0, 0);
	wl_surface_damage(w.surface, 0, 0, INT32_MAX, INT32_MAX);
	wl_surface_commit(w.surface);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	// The same buffer, redrawn in place and damaged "everywhere" at scale 2.
	shm_window_fill(&w, 0xff00c000);
	wl_surface_damage(w.surface, 0, 0, INT32_MAX, INT32_MAX);
	wl_surface_commit(w.surface);
	test_assert(wl_display_roundtrip(probe.display) >= 0);

	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "scaled", NULL, 5000, &view));
	test_assert(view.x2 - view.x1 == size / 2 && view.y2 - view.y1 == size / 2);
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_rect window = {view.x1, view.y1, size / 2, size / 2};
	test_assert(image_count_color(shot, window, 0xff00c000, 0xffffffff) ==
		(size_t)(size / 2) * (size_t)(size / 2));
	image_destroy(shot);

	shm_window_destroy(&w);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * Commits 40 frames on the window's one buffer, each redrawn in place and
 * damaged, then one of `last`; nothing is flushed. The host cannot release
 * host buffers as fast: the proxy runs out of them on the way.
 */
static void shm_window_burst(struct shm_window *w, uint32_t last) {
	for (uint32_t i = 0; i <= 40; i++) {
		shm_window_fill(w, i == 40 ? last : 0xff000000 | (i * 0x060402u));
		wl_surface_damage_buffer(w->surface, 0, 0, SHM_WINDOW_SIZE, SHM_WINDOW_SIZE);
		wl_surface_commit(w->surface);
	}
}

/** Waits for the window titled `title` to show `color` all over, `size` pixels square. */
static void wait_window_color(
	struct wcp_weston *weston, const char *title, int32_t size, uint32_t color) {
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", title, NULL, 5000, &view));
	test_assert(view.x2 - view.x1 == size && view.y2 - view.y1 == size);
	struct wcp_rect window = {view.x1, view.y1, size, size};
	size_t count = 0;
	for (long long deadline = proc_now_ms() + 5000; proc_now_ms() < deadline;) {
		struct wcp_image *shot = weston_screenshot(weston, NULL);
		count = image_count_color(shot, window, color, 0xffffffff);
		image_destroy(shot);
		if (count == (size_t)size * (size_t)size) {
			break;
		}
		proc_sleep_ms(50);
	}
	test_assert(count == (size_t)size * (size_t)size);
}

/**
 * A client that commits damage on one buffer many times in one go, faster
 * than the host can release its buffers: the proxy holds its commits back
 * until a host buffer comes free instead of ending the client, and the
 * last frame reaches the screen.
 */
TEST(commit_burst_shows_the_last_frame) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct error_probe probe;
	probe_connect(&probe, relay);
	struct shm_window w;
	shm_window_create(&w, &probe, "burst");
	shm_window_show(&w, 0xff000040);
	shm_window_burst(&w, 0xff00c000);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	wait_window_color(weston, "burst", SHM_WINDOW_SIZE, 0xff00c000);
	shm_window_destroy(&w);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * What a client sends after a commit that waits for a host buffer waits
 * with it: the host sees the commit as the client made it, without the
 * requests that came after (a buffer scale, here), which it applies only
 * with the client's next commit. Objects made meanwhile (a pool with its
 * fd, a buffer, a region made and destroyed, a toplevel) work once the
 * commit has gone out.
 */
TEST(requests_after_a_waiting_commit_wait_with_it) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct error_probe probe;
	probe_connect(&probe, relay);
	const int32_t size = SHM_WINDOW_SIZE, stride = size * 4;
	struct shm_window w;
	shm_window_create(&w, &probe, "held");
	shm_window_show(&w, 0xff000040);
	test_assert(wl_display_roundtrip(probe.display) >= 0);

	// All in one flush, behind the burst.
	shm_window_burst(&w, 0xff00c000);
	wl_surface_set_buffer_scale(w.surface, 2);
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, stride * size) == 0);
	uint32_t *pixels =
		mmap(NULL, (size_t)(stride * size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	test_assert(pixels != MAP_FAILED);
	fill(pixels, (size_t)size * (size_t)size, 0xffc00000);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, stride * size);
	close(fd);
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(pool, 0, size, size, stride, WL_SHM_FORMAT_XRGB8888);
	struct wl_region *region = wl_compositor_create_region(probe.compositor);
	wl_region_add(region, 0, 0, 8, 8);
	wl_region_destroy(region);
	struct wl_surface *surface = wl_compositor_create_surface(probe.compositor);
	struct xdg_surface *xdg_surface = xdg_wm_base_get_xdg_surface(probe.wm_base, surface);
	bool configured = false;
	xdg_surface_add_listener(xdg_surface, &xdg_surface_listener, &configured);
	struct xdg_toplevel *toplevel = xdg_surface_get_toplevel(xdg_surface);
	xdg_toplevel_set_title(toplevel, "second");
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	while (!configured) {
		test_assert(wl_display_dispatch(probe.display) >= 0);
	}
	wl_surface_attach(surface, buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, size, size);
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(probe.display) >= 0);

	// The scale was not committed: the window keeps its size.
	wait_window_color(weston, "held", size, 0xff00c000);
	wait_window_color(weston, "second", size, 0xffc00000);
	wl_surface_damage_buffer(w.surface, 0, 0, size, size);
	wl_surface_commit(w.surface);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	wait_window_color(weston, "held", size / 2, 0xff00c000);

	xdg_toplevel_destroy(toplevel);
	xdg_surface_destroy(xdg_surface);
	wl_surface_destroy(surface);
	wl_buffer_destroy(buffer);
	wl_shm_pool_destroy(pool);
	munmap(pixels, (size_t)(stride * size));
	shm_window_destroy(&w);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

TEST(truncated_pool_ends_only_that_client) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct error_probe probe;
	probe_connect(&probe, relay);
	struct wl_display *display = probe.display;
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 64 * 64 * 4) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, 64 * 64 * 4);
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	struct wl_surface *surface = wl_compositor_create_surface(probe.compositor);
	wl_surface_attach(surface, buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, 64, 64);
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(display) >= 0);
	// The memory under the committed buffer goes away; the copy must not kill the proxy.
	test_assert(ftruncate(fd, 0) == 0);
	close(fd);
	wl_surface_attach(surface, buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, 64, 64);
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(display) < 0);
	test_assert(wl_display_get_error(display) == EPROTO);
	wl_surface_destroy(surface);
	wl_buffer_destroy(buffer);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/** Whether a line of the file at `path` holds `text`. */
static bool file_has_line(const char *path, const char *text) {
	FILE *f = fopen(path, "re");
	test_assert(f != NULL);
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, text) != NULL;
	}
	fclose(f);
	return found;
}

/** A relay over an emulator given one of its "host that misbehaves" switches. */
static struct wcp_relay *relay_start_misbehaving(struct wcp_weston *weston, const char *option) {
	const char *const emu_args[] = {option, NULL};
	return relay_start_on(&(struct wcp_relay_host){.display = weston->socket,
				      .runtime_dir = weston->runtime_dir,
				      .emu_args = emu_args},
		WCP_RELAY_EMU);
}

/**
 * A host that offers an image less memory than it takes (the emulator's
 * --short-images answers one page): the client whose buffer would not fit
 * is ended with an error, and one whose buffer fits a page carries on.
 */
TEST(host_memory_short_of_the_image_ends_only_that_client) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start_misbehaving(weston, "--short-images");
	struct error_probe probe;
	probe_connect_beside(
		&probe, relay, (const char *const[]){"--size", "32x32", "--frames", "5", NULL});
	struct wl_display *display = probe.display;
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 64 * 64 * 4) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, 64 * 64 * 4);
	close(fd);
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(pool, 0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	struct wl_surface *surface = wl_compositor_create_surface(probe.compositor);
	wl_surface_attach(surface, buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, 64, 64);
	wl_surface_commit(surface);
	test_assert(wl_display_roundtrip(display) < 0);
	test_assert(wl_display_get_error(display) == EPROTO);
	wl_surface_destroy(surface);
	wl_buffer_destroy(buffer);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);
	test_assert(file_has_line(
		relay->log_path, "the host offers 4096 bytes for an image of 16384 bytes"));
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * A host that never answers an image-requirements query (the emulator's
 * --stalled-images, whose WAIT reports EBUSY as the kernel's does once its
 * 15 s are up): the proxy gives up on the query instead of asking again
 * for ever, ends the client whose buffer needed the memory, and goes on
 * serving the others.
 */
TEST(host_that_never_answers_for_memory_ends_only_that_client) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start_misbehaving(weston, "--stalled-images");
	// Every client that draws is ended: this one draws, and the next does not.
	struct error_probe probe;
	probe_connect_beside(&probe, relay, NULL);
	struct shm_window w;
	shm_window_create(&w, &probe, "stalled");
	shm_window_show(&w, 0xff0000c0);
	test_assert(wl_display_roundtrip(probe.display) < 0);
	test_assert(wl_display_get_error(probe.display) == EPROTO);
	shm_window_destroy(&w);
	probe_finish(&probe, relay);
	test_assert(file_has_line(
		relay->log_path, "the host did not answer a query for image requirements"));
	struct error_probe next;
	probe_connect_beside(&next, relay, NULL);
	test_assert(wl_display_roundtrip(next.display) >= 0);
	probe_finish(&next, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * A host that signals every other channel fence with no event written (the
 * emulator's --blank-fences), so that the ring still holds the event
 * before: the proxy must not take it twice, with its bytes and fds. Clients
 * draw and make round trips as with any host, and the log says, once, what
 * the host did.
 */
TEST(host_that_signals_polls_with_no_event_repeats_nothing) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start_misbehaving(weston, "--blank-fences");
	struct error_probe probe;
	probe_connect_beside(
		&probe, relay, (const char *const[]){"--size", "32x32", "--frames", "30", NULL});
	struct shm_window w;
	shm_window_create(&w, &probe, "blank");
	for (uint32_t i = 0; i < 10; i++) {
		shm_window_show(&w, 0xff000000u | i * 0x151515u);
		test_assert(wl_display_roundtrip(probe.display) >= 0);
	}
	shm_window_destroy(&w);
	probe_finish(&probe, relay);
	test_assert(file_has_line(relay->log_path, "the host signalled a POLL with no event"));
	relay_stop(relay);
	weston_stop(weston);
}

/** A raw connection to the proxy's socket, for messages libwayland would not send. */
static int raw_connect(struct wcp_weston *weston, struct wcp_relay *relay) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	test_format(
		addr.sun_path, sizeof(addr.sun_path), "%s/%s", weston->runtime_dir, relay->socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	test_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return fd;
}

static void raw_send(int fd, const uint32_t *words, size_t count) {
	test_assert(write(fd, words, count * 4) == (ssize_t)(count * 4));
}

/**
 * Reads until the proxy hangs up (a reset, when it left requests unread);
 * fails unless the last message was a wl_display.error with `code`.
 */
static void raw_expect_error(int fd, uint32_t code) {
	uint32_t words[1024];
	size_t have = 0;
	ssize_t n;
	while ((n = read(fd, (char *)words + have, sizeof(words) - have)) > 0) {
		have += (size_t)n;
		test_assert(have < sizeof(words));
	}
	test_assert(n == 0 || errno == ECONNRESET);
	close(fd);
	// The last message: walk them all.
	const uint32_t *last = NULL;
	for (size_t at = 0; have - at >= 8;) {
		last = (const uint32_t *)((const char *)words + at);
		at += last[1] >> 16;
	}
	test_assert(last != NULL && last[0] == 1 && (last[1] & 0xffff) == 0);
	test_log("error %u: %s", last[3], (const char *)&last[5]);
	test_assert(last[3] == code);
}

/**
 * The name of a global, from the registry events of a raw connection that
 * sent get_registry (id 2) and sync (id 3); 0 when there is none.
 */
static uint32_t raw_find_global(int fd, const char *interface) {
	uint32_t words[1024];
	size_t have = 0;
	uint32_t name = 0;
	for (;;) {
		ssize_t n = read(fd, (char *)words + have, sizeof(words) - have);
		test_assert(n > 0);
		have += (size_t)n;
		size_t at = 0;
		while (have - at >= 8) {
			const uint32_t *msg = (const uint32_t *)((const char *)words + at);
			size_t size = msg[1] >> 16;
			test_assert(size >= 8);
			if (have - at < size) {
				break;
			}
			if (msg[0] == 2 && (msg[1] & 0xffff) == 0 &&
				strcmp((const char *)&msg[4], interface) == 0) {
				name = msg[2];
			} else if (msg[0] == 3) {
				return name; // wl_callback.done: every global has come
			}
			at += size;
		}
		memmove(words, (char *)words + at, have - at);
		have -= at;
	}
}

/**
 * Garbage on the wire, a request on an object that does not exist, and a
 * request missing its fd each end only that client: the proxy and a client
 * beside it carry on.
 */
TEST(misbehaving_clients_end_alone) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	const char *args[] = {"--frames", "5", NULL};
	struct wcp_shm_client *bystander = shm_client_start(relay->env_display, args);
	test_assert(shm_client_wait_ready(bystander, 20000));

	// Garbage: a wl_display.sync whose header gives it 4 bytes, less than
	// the header itself.
	int fd = raw_connect(weston, relay);
	raw_send(fd, (const uint32_t[]){1, (4u << 16) | 0}, 2);
	raw_expect_error(fd, WL_DISPLAY_ERROR_INVALID_METHOD);

	// A request on object 1234, which does not exist.
	fd = raw_connect(weston, relay);
	raw_send(fd, (const uint32_t[]){1234, (12u << 16) | 0, 0}, 3);
	raw_expect_error(fd, WL_DISPLAY_ERROR_INVALID_OBJECT);

	// wl_shm.create_pool with no fd attached.
	fd = raw_connect(weston, relay);
	raw_send(fd, (const uint32_t[]){1, (12u << 16) | 1, 2, 1, (12u << 16) | 0, 3}, 6);
	uint32_t shm = raw_find_global(fd, "wl_shm");
	test_assert(shm != 0);
	// wl_registry.bind(shm, "wl_shm", 1, id 4), then create_pool(id 5, fd, 4096).
	uint32_t bind[] = {2, (32u << 16) | 0, shm, 7, 0, 0, 1, 4};
	memcpy(&bind[4], "wl_shm", 7);
	raw_send(fd, bind, 8);
	raw_send(fd, (const uint32_t[]){4, (16u << 16) | 0, 5, 4096}, 4);
	raw_expect_error(fd, WL_DISPLAY_ERROR_INVALID_METHOD);

	proc_sleep_ms(200);
	test_assert(proc_alive(relay->proxy) && proc_alive(bystander->proc));
	test_assert(shm_client_stop(bystander) == 0);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * A request the host refuses, followed at once by many more: the host
 * hangs up while the proxy still writes to it, and the proxy, finding the
 * connection broken, must still read the host's error and pass it on
 * instead of dropping the client without one. Whether the proxy writes
 * again before it reads depends on timing, so it is tried a few times.
 */
static void check_host_error_amid_requests(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, mode);
	// wl_surface.set_buffer_transform(99), then 256 KiB of wl_region.add.
	enum { ADDS = 256 * 1024 / 24 };
	static uint32_t words[3 + ADDS * 6];
	words[0] = 5;
	words[1] = (12u << 16) | 7;
	words[2] = 99;
	for (size_t i = 0; i < ADDS; i++) {
		uint32_t *add = &words[3 + i * 6];
		add[0] = 6;
		add[1] = (24u << 16) | 1;
		add[2] = add[3] = 0;
		add[4] = add[5] = 1;
	}
	for (int round = 0; round < 16; round++) {
		int fd = raw_connect(weston, relay);
		raw_send(fd, (const uint32_t[]){1, (12u << 16) | 1, 2, 1, (12u << 16) | 0, 3}, 6);
		uint32_t compositor = raw_find_global(fd, "wl_compositor");
		test_assert(compositor != 0);
		// bind(compositor, "wl_compositor", 4, id 4), create_surface(5),
		// create_region(6).
		uint32_t bind[] = {2, (40u << 16) | 0, compositor, 14, 0, 0, 0, 0, 4, 4};
		memcpy(&bind[4], "wl_compositor", 14);
		raw_send(fd, bind, 10);
		raw_send(fd, (const uint32_t[]){4, (12u << 16) | 0, 5, 4, (12u << 16) | 1, 6}, 6);
		// The proxy may hang up before it has read them all.
		for (size_t sent = 0; sent < sizeof(words);) {
			ssize_t n = send(
				fd, (const char *)words + sent, sizeof(words) - sent, MSG_NOSIGNAL);
			if (n < 0) {
				test_assert(errno == EPIPE || errno == ECONNRESET);
				break;
			}
			sent += (size_t)n;
		}
		raw_expect_error(fd, WL_SURFACE_ERROR_INVALID_TRANSFORM);
	}
	test_assert(proc_alive(relay->proxy));
	relay_stop(relay);
	weston_stop(weston);
}

TEST(host_error_amid_requests_is_passed_on_direct) {
	check_host_error_amid_requests(WCP_RELAY_DIRECT);
}

TEST(host_error_amid_requests_is_passed_on_over_cross_domain) {
	check_host_error_amid_requests(WCP_RELAY_EMU);
}

/**
 * Over cross-domain the proxy serves pools itself: a client's pools, many
 * from one fd, must not use up the proxy's fds, which every client needs.
 */
TEST(pools_cost_the_proxy_no_fds) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct error_probe probe;
	probe_connect(&probe, relay);
	int before, after;
	long rss;
	process_usage(relay->proxy->pid, &before, &rss);
	enum { POOLS = 200 };
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 8192) == 0);
	struct wl_shm_pool *pools[POOLS];
	for (int i = 0; i < POOLS; i++) {
		pools[i] = wl_shm_create_pool(probe.shm, fd, 4096);
		wl_shm_pool_resize(pools[i], 8192); // which needs no fd either
	}
	close(fd);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	process_usage(relay->proxy->pid, &after, &rss);
	test_log("proxy: %d fds before, %d with %d pools", before, after, POOLS);
	test_assert(after < before + 10);
	for (int i = 0; i < POOLS; i++) {
		wl_shm_pool_destroy(pools[i]);
	}
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * A request whose fd the proxy cannot pass on to the host, for want of
 * fds of its own, ends that client alone (libwayland-client fails the
 * host connection): the proxy and a bystander carry on, and the next
 * client is served once fds are free.
 */
TEST(fd_out_of_reach_ends_only_that_client) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_DIRECT);
	struct error_probe probe;
	probe_connect(&probe, relay);
	pid_t pid = relay->proxy->pid;
	int fds;
	long rss;
	process_usage(pid, &fds, &rss);
	struct rlimit old, tight;
	test_assert(prlimit(pid, RLIMIT_NOFILE, NULL, &old) == 0);
	// Room for the fd the request brings, and none for a copy of it.
	tight = (struct rlimit){.rlim_cur = (rlim_t)fds + 1, .rlim_max = old.rlim_max};
	test_assert(prlimit(pid, RLIMIT_NOFILE, &tight, NULL) == 0);
	int fd = memfd_create("pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 4096) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, 4096);
	close(fd);
	test_assert(wl_display_roundtrip(probe.display) < 0);
	test_assert(prlimit(pid, RLIMIT_NOFILE, &old, NULL) == 0);
	wl_shm_pool_destroy(pool);
	probe_finish(&probe, relay);
	test_assert(file_has_line(relay->log_path, "create_pool: dup failed"));
	probe_connect_beside(&probe, relay, NULL);
	test_assert(wl_display_roundtrip(probe.display) >= 0);
	probe_finish(&probe, relay);
	relay_stop(relay);
	weston_stop(weston);
}

/** User and system CPU time of a process, in clock ticks. */
static long long process_ticks(pid_t pid) {
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	test_assert(f != NULL && fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	// Fields after the command's closing parenthesis: state is the 3rd,
	// utime the 14th and stime the 15th.
	const char *rest = strrchr(line, ')');
	test_assert(rest != NULL);
	long long utime, stime;
	test_assert(sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld",
			    &utime, &stime) == 2);
	return utime + stime;
}

/**
 * Out of fds, the proxy cannot take a new connection: it leaves it queued
 * and looks again a little later, instead of turning on it at full speed,
 * and serves it once fds are free.
 */
TEST(out_of_fds_new_clients_wait_without_a_busy_loop) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_DIRECT);
	pid_t pid = relay->proxy->pid;
	int fds;
	long rss;
	process_usage(pid, &fds, &rss);
	struct rlimit old, none;
	test_assert(prlimit(pid, RLIMIT_NOFILE, NULL, &old) == 0);
	none = (struct rlimit){.rlim_cur = (rlim_t)fds, .rlim_max = old.rlim_max};
	test_assert(prlimit(pid, RLIMIT_NOFILE, &none, NULL) == 0);

	int sock = raw_connect(weston, relay);
	struct timeval wait = {.tv_sec = 10};
	test_assert(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) == 0);
	const uint32_t get_registry[] = {1, (12u << 16) | 1, 2};
	const uint32_t sync[] = {1, (12u << 16) | 0, 3};
	raw_send(sock, get_registry, 3);
	raw_send(sock, sync, 3);
	proc_sleep_ms(300);
	long long start = process_ticks(pid);
	proc_sleep_ms(1000);
	long long spent = process_ticks(pid) - start;
	test_log("proxy: %lld ticks of CPU in 1 s without fds (%ld a second)", spent,
		sysconf(_SC_CLK_TCK));
	test_assert(spent * 4 < sysconf(_SC_CLK_TCK));
	test_assert(file_has_line(relay->log_path, "accept: new clients wait"));

	test_assert(prlimit(pid, RLIMIT_NOFILE, &old, NULL) == 0);
	test_assert(raw_find_global(sock, "wl_compositor") != 0);
	close(sock);
	relay_stop(relay);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
