/*
 * wcp-demo: wl-cross-proxy doing its job, shown in a screenshot.
 *
 * Starts a headless weston as the "host" compositor, wl-cross-emu as the
 * VM's virtio-gpu device with its cross-domain host side, and
 * wl-cross-proxy on it. Several clients run through the proxy (weston's
 * own simple-shm and flower when installed, and our pattern client); the
 * demo checks that the pattern client's pixels on the host's screen are
 * exactly what it drew, saves a screenshot and prints its path.
 * Everything it started is stopped before it exits.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "pattern.h"
#include "proc.h"
#include "relay.h"
#include "scene.h"
#include "shm_client.h"
#include "test.h"
#include "weston.h"

#define PATTERN_FRAMES 90

static const char usage[] =
	"usage: wcp-demo [--output FILE.png]\n"
	"Runs clients through wl-cross-proxy and wl-cross-emu on a headless weston\n"
	"and saves a screenshot.\n";

/** Finds the programs built beside this one (build/tests/wcp-demo). */
static void find_programs(void) {
	proc_find_built("WCP_SHM_CLIENT", "tests/clients/wcp-shm-client");
	proc_find_built("WCP_PROXY", "proxy/wl-cross-proxy");
	proc_find_built("WCP_EMU", "emu/wl-cross-emu");
}

static void print_scene(struct wcp_weston *weston) {
	struct wcp_scene scene;
	if (!weston_scene_read(weston, &scene)) {
		return;
	}
	for (size_t i = 0; i < scene.count; i++) {
		const struct wcp_scene_view *v = &scene.views[i];
		if (strcmp(v->role, "xdg_toplevel") != 0) {
			continue;
		}
		printf("  window '%s' (%s) at (%d, %d), %dx%d\n", v->title, v->app_id, (int)v->x1,
			(int)v->y1, (int)(v->x2 - v->x1), (int)(v->y2 - v->y1));
	}
	scene_finish(&scene);
}

static struct wcp_proc *start_stock(
	struct wcp_weston *weston, struct wcp_relay *relay, const char *name, const char *title) {
	if (!proc_have_program(name)) {
		printf("  (%s is not installed; skipped)\n", name);
		return NULL;
	}
	const char *argv[] = {name, NULL};
	const char *env[] = {relay->env_display, NULL};
	struct wcp_proc *proc = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	struct wcp_scene_view view;
	if (proc == NULL || !weston_scene_wait(weston, "xdg_toplevel", title, NULL, 10000, &view)) {
		test_error("%s did not show a window", name);
	}
	return proc;
}

int main(int argc, char *argv[]) {
	const char *output = "wl-cross-proxy-demo.png";
	static const struct option options[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_guard_process(120);
	find_programs();

	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){800, 600, NULL});
	printf("host: headless weston %dx%d on %s/%s\n", (int)weston->width, (int)weston->height,
		weston->runtime_dir, weston->socket);
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	printf("guest: wl-cross-proxy on %s, over cross-domain through wl-cross-emu\n",
		relay->socket);

	struct wcp_proc *shm = start_stock(weston, relay, "weston-simple-shm", "simple-shm");
	struct wcp_proc *flower = start_stock(weston, relay, "weston-flower", "Flower");
	const char *args[] = {"--size", "320x240", "--damage", "band", "--frames", "90", "--title",
		"wcp pattern", "--app-id", "org.wl-cross-proxy.pattern", NULL};
	struct wcp_shm_client *pattern_client = shm_client_start(relay->env_display, args);
	if (!shm_client_wait_ready(pattern_client, 20000) ||
		pattern_client->acked != PATTERN_FRAMES) {
		test_error("the pattern client did not get its frames acknowledged");
	}
	struct wcp_scene_view view;
	if (!weston_scene_wait(weston, "xdg_toplevel", "wcp pattern", NULL, 5000, &view)) {
		test_error("the pattern client's window is not in the scene graph");
	}
	printf("windows on the host's screen:\n");
	print_scene(weston);

	struct wcp_image *shot = weston_screenshot(weston, output);
	struct wcp_pattern pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_BAND};
	struct wcp_pattern_image *model = pattern_image_create(pattern.format, 320, 240);
	if (model == NULL) {
		test_error("out of memory");
	}
	pattern_image_replay(model, &pattern, 0, PATTERN_FRAMES);
	struct wcp_image *want = image_from_pattern(model);
	pattern_image_destroy(model);
	if (want == NULL) {
		test_error("out of memory");
	}
	// The pattern window was mapped last, so it is on top and fully visible.
	struct wcp_image_diff diff;
	if (!image_region_equal(shot, view.x1, view.y1, want, 0, 0, 320, 240, &diff)) {
		test_error("the pattern client's window differs from what it drew in %zu pixels",
			diff.count);
	}
	printf("pattern client after %d frames: pixel-exact on screen\n", PATTERN_FRAMES);
	image_destroy(want);
	image_destroy(shot);

	int code = shm_client_stop(pattern_client);
	proc_stop(flower, WCP_PROC_GRACE_MS);
	proc_stop(shm, WCP_PROC_GRACE_MS);
	relay_stop(relay);
	weston_stop(weston);
	char real[PATH_MAX];
	printf("screenshot: %s\n", realpath(output, real) != NULL ? real : output);
	return code == 0 ? 0 : 1;
}
