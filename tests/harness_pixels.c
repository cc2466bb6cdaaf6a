/*
 * The harness against a real headless weston, no proxy: what the test
 * client draws is found in screenshots, pixel for pixel, for every damage
 * mode, format and pacing, across many frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "pattern.h"
#include "scene.h"
#include "shm_client.h"
#include "test.h"
#include "weston.h"

#define OUT_W 320
#define OUT_H 240

/** Fails the test with the first differing pixel, keeping the screenshot. */
static void expect_region(
	const struct wcp_image *shot, int32_t x, int32_t y, const struct wcp_image *want) {
	struct wcp_image_diff diff;
	if (image_region_equal(shot, x, y, want, 0, 0, want->width, want->height, &diff)) {
		return;
	}
	char path[128];
	snprintf(path, sizeof(path), "%s-failed.png", test_name());
	image_save_png(shot, path);
	if (diff.count == (size_t)-1) {
		test_fail("a %dx%d region at (%d, %d) does not fit the %dx%d screenshot (%s)",
			(int)want->width, (int)want->height, (int)x, (int)y, (int)shot->width,
			(int)shot->height, path);
	}
	test_fail("%zu pixels differ; first at (%d, %d): got 0x%08x, want 0x%08x (%s)", diff.count,
		(int)diff.x, (int)diff.y, diff.got, diff.want, path);
}

static struct wcp_image *expected_image(const struct wcp_pattern *pattern, int32_t width,
	int32_t height, uint32_t first, uint32_t end) {
	struct wcp_pattern_image *model = pattern_image_create(pattern->format, width, height);
	test_assert(model != NULL);
	pattern_image_replay(model, pattern, first, end);
	struct wcp_image *image = image_from_pattern(model);
	pattern_image_destroy(model);
	test_assert(image != NULL);
	return image;
}

/** Runs the client fullscreen and compares the whole screen with the model. */
static void check_fullscreen(
	const char *format, const char *damage, const char *pacing, uint32_t frames) {
	struct wcp_pattern pattern = {0};
	test_assert(pattern_format_parse(format, &pattern.format));
	test_assert(pattern_damage_parse(damage, &pattern.damage));

	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){OUT_W, OUT_H, NULL});
	char count[16];
	snprintf(count, sizeof(count), "%u", (unsigned int)frames);
	const char *args[] = {"--fullscreen", "--format", format, "--damage", damage, "--pacing",
		pacing, "--frames", count, NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	test_assert(client->frames == frames && client->acked == frames);

	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_image *want = expected_image(&pattern, OUT_W, OUT_H, 0, frames);
	expect_region(shot, 0, 0, want);
	image_destroy(want);
	image_destroy(shot);

	test_assert(shm_client_stop(client) == 0);
	weston_stop(weston);
}

TEST(full_damage_xrgb8888_sync) {
	check_fullscreen("xrgb8888", "full", "sync", 12);
}

TEST(full_damage_argb8888_frame) {
	check_fullscreen("argb8888", "full", "frame", 12);
}

TEST(band_damage_xrgb8888_sync) {
	check_fullscreen("xrgb8888", "band", "sync", 40);
}

TEST(band_damage_rgb565_frame) {
	check_fullscreen("rgb565", "band", "frame", 30);
}

TEST(rect_damage_argb8888_sync) {
	check_fullscreen("argb8888", "rects", "sync", 40);
}

TEST(rect_damage_xrgb8888_frame) {
	check_fullscreen("xrgb8888", "rects", "frame", 30);
}

TEST(pixel_damage_rgb565_sync) {
	check_fullscreen("rgb565", "pixels", "sync", 40);
}

TEST(pixel_damage_xrgb8888_frame) {
	check_fullscreen("xrgb8888", "pixels", "frame", 30);
}

TEST(solid_colour_window_is_counted) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){OUT_W, OUT_H, NULL});
	const char *args[] = {"--size", "100x80", "--color", "0xff00c000", "--frames", "3",
		"--title", "solid", NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "solid", NULL, 5000, &view));
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_rect window = {view.x1, view.y1, 100, 80};
	struct wcp_rect screen = {0, 0, OUT_W, OUT_H};
	// The whole window, and nothing else, has the client's colour.
	test_assert(image_count_color(shot, window, 0xff00c000, 0xffffffff) == 100 * 80);
	test_assert(image_count_color(shot, screen, 0xff00c000, 0xffffffff) == 100 * 80);
	// A colour nobody drew is not found: the count is exact, not loose.
	test_assert(image_count_color(shot, screen, 0xffc00000, 0xffffffff) == 0);
	image_destroy(shot);
	test_assert(shm_client_stop(client) == 0);
	weston_stop(weston);
}

TEST(wrong_expectation_is_detected) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){OUT_W, OUT_H, NULL});
	const char *args[] = {"--fullscreen", "--damage", "band", "--frames", "20", NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_pattern pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_BAND};
	// One frame short: only the last band differs, and that is caught.
	struct wcp_image *stale = expected_image(&pattern, OUT_W, OUT_H, 0, 19);
	struct wcp_image_diff diff;
	test_assert(!image_region_equal(shot, 0, 0, stale, 0, 0, OUT_W, OUT_H, &diff));
	struct wcp_rect band[WCP_DAMAGE_MAX_RECTS];
	pattern_damage(pattern.damage, 19, OUT_W, OUT_H, band);
	test_assert(diff.y >= band[0].y && diff.y < band[0].y + band[0].height);
	test_assert(diff.count == (size_t)band[0].width * (size_t)band[0].height);
	struct wcp_image *current = expected_image(&pattern, OUT_W, OUT_H, 0, 20);
	expect_region(shot, 0, 0, current);
	image_destroy(current);
	image_destroy(stale);
	image_destroy(shot);
	test_assert(shm_client_stop(client) == 0);
	weston_stop(weston);
}

TEST(resized_window_shows_its_last_size) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){OUT_W, OUT_H, NULL});
	const char *args[] = {"--size", "60x40", "--damage", "rects", "--buffers", "3", "--frames",
		"30", "--resize", "10:150x100", "--resize", "20:120x90", "--title", "resizing",
		NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	test_assert(client->acked == 30);
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "resizing", NULL, 5000, &view));
	test_assert(view.x2 - view.x1 == 120 && view.y2 - view.y1 == 90);
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_pattern pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_RECTS};
	struct wcp_image *want = expected_image(&pattern, 120, 90, 20, 30);
	expect_region(shot, view.x1, view.y1, want);
	image_destroy(want);
	image_destroy(shot);
	test_assert(shm_client_stop(client) == 0);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
