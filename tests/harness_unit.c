/* Unit tests of the harness itself and of the test clients' pattern. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdleak.h"
#include "image.h"
#include "pattern.h"
#include "proc.h"
#include "scene.h"
#include "test.h"

static const char sample_scene[] =
	"Weston scene graph at 1662.670983664:\n"
	"\n"
	"Output 0 (headless):\n"
	"\tposition: (0, 0) -> (320, 240)\n"
	"\tmode: 320x240@60.000Hz\n"
	"\n"
	"Layer 5 (pos 0x50000000):\n"
	"\tView 0 (role xdg_toplevel, PID 2910, surface ID 3, top-level window 'simple-shm' "
	"of org.freedesktop.weston.simple-shm, 0x55fbff674980):\n"
	"\t\tposition: (43, 0) -> (293, 250)\n"
	"\t\t[fully opaque]\n"
	"\tView 1 (role xdg_toplevel, PID 77, surface ID 9, top-level window 'no app', "
	"0x55fbff674990):\n"
	"\t\tposition: (-5, 7) -> (10, 20)\n"
	"\n"
	"Layer 6 (pos 0x2):\n"
	"\tView 0 (role (null), PID 2906, surface ID 15, background for output headless, "
	"0x55fbff66d8c0):\n"
	"\t\tposition: (0, 0) -> (320, 240)\n";

TEST(scene_parses_views) {
	struct wcp_scene scene;
	test_assert(scene_parse(sample_scene, &scene));
	test_assert(scene.count == 3);
	const struct wcp_scene_view *v = &scene.views[0];
	test_assert(strcmp(v->role, "xdg_toplevel") == 0);
	test_assert(v->pid == 2910 && v->surface_id == 3);
	test_assert(strcmp(v->title, "simple-shm") == 0);
	test_assert(strcmp(v->app_id, "org.freedesktop.weston.simple-shm") == 0);
	test_assert(v->x1 == 43 && v->y1 == 0 && v->x2 == 293 && v->y2 == 250);
	v = &scene.views[1];
	test_assert(strcmp(v->title, "no app") == 0 && v->app_id[0] == '\0');
	test_assert(v->x1 == -5 && v->y1 == 7 && v->x2 == 10 && v->y2 == 20);
	v = &scene.views[2];
	test_assert(strcmp(v->role, "(null)") == 0 && v->title[0] == '\0');
	test_assert(scene_find(&scene, "xdg_toplevel", NULL, "org.freedesktop.weston.simple-shm") ==
		&scene.views[0]);
	test_assert(scene_find(&scene, NULL, "absent", NULL) == NULL);
	scene_finish(&scene);
	test_assert(!scene_parse("not a scene", &scene));
}

TEST(image_counts_and_compares) {
	struct wcp_image *a = image_create(8, 4);
	struct wcp_image *b = image_create(8, 4);
	test_assert(a != NULL && b != NULL);
	for (size_t i = 0; i < 32; i++) {
		a->pixels[i] = b->pixels[i] = 0xff102030;
	}
	a->pixels[1 * 8 + 2] = 0xffff0000;
	struct wcp_rect all = {0, 0, 8, 4};
	test_assert(image_count_color(a, all, 0xffff0000, 0xffffffff) == 1);
	test_assert(image_count_color(a, all, 0xff102030, 0xffffffff) == 31);
	test_assert(image_count_color(a, (struct wcp_rect){-4, -4, 6, 6}, 0xff102030, ~0u) == 4);
	test_assert(image_count_color(a, all, 0x00ff0000, 0x00ff0000) == 1);
	struct wcp_image_diff diff;
	test_assert(!image_region_equal(a, 0, 0, b, 0, 0, 8, 4, &diff));
	test_assert(diff.count == 1 && diff.x == 2 && diff.y == 1);
	test_assert(diff.got == 0xffff0000 && diff.want == 0xff102030);
	test_assert(image_region_equal(a, 3, 0, b, 3, 0, 5, 4, &diff));
	test_assert(!image_region_equal(a, 4, 0, b, 0, 0, 5, 4, &diff));
	image_destroy(a);
	image_destroy(b);
}

TEST(image_png_round_trip) {
	char path[] = "/tmp/wcp-png-XXXXXX";
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	close(fd);
	struct wcp_image *a = image_create(5, 3);
	for (size_t i = 0; i < 15; i++) {
		a->pixels[i] = 0xff000000u | (uint32_t)i * 0x010203u;
	}
	test_assert(image_save_png(a, path));
	struct wcp_image *b = image_load_png(path);
	unlink(path);
	test_assert(b != NULL && b->width == 5 && b->height == 3);
	test_assert(memcmp(a->pixels, b->pixels, 15 * sizeof(uint32_t)) == 0);
	image_destroy(a);
	image_destroy(b);
}

TEST(pattern_damage_stays_inside) {
	enum wcp_damage_mode modes[] = {
		WCP_DAMAGE_FULL, WCP_DAMAGE_BAND, WCP_DAMAGE_RECTS, WCP_DAMAGE_PIXELS};
	int32_t sizes[][2] = {{1, 1}, {7, 3}, {640, 480}, {1920, 1080}, {31, 400}};
	for (size_t m = 0; m < 4; m++) {
		for (size_t s = 0; s < 5; s++) {
			for (uint32_t f = 0; f < 200; f++) {
				struct wcp_rect r[WCP_DAMAGE_MAX_RECTS];
				int32_t w = sizes[s][0], h = sizes[s][1];
				size_t n = pattern_damage(modes[m], f, w, h, r);
				test_assert(n >= 1 && n <= WCP_DAMAGE_MAX_RECTS);
				for (size_t i = 0; i < n; i++) {
					test_assert(r[i].x >= 0 && r[i].y >= 0);
					test_assert(r[i].width > 0 && r[i].height > 0);
					test_assert(r[i].x + r[i].width <= w);
					test_assert(r[i].y + r[i].height <= h);
				}
			}
		}
	}
	struct wcp_rect r[WCP_DAMAGE_MAX_RECTS];
	test_assert(pattern_damage(WCP_DAMAGE_BAND, 5, 1920, 1080, r) == 1);
	test_assert(r[0].width == 1920 && r[0].height == 108);
	test_assert(pattern_damage(WCP_DAMAGE_RECTS, 5, 1920, 1080, r) == 8);
	test_assert(r[0].width == 64 && r[0].height == 36);
	test_assert(pattern_damage(WCP_DAMAGE_PIXELS, 5, 1920, 1080, r) == 16);
	test_assert(pattern_damage(WCP_DAMAGE_RECTS, 0, 1920, 1080, r) == 1);
	test_assert(r[0].width == 1920 && r[0].height == 1080);
}

TEST(pattern_changes_every_frame) {
	struct wcp_pattern p = {.format = WCP_FORMAT_RGB565};
	for (uint32_t f = 0; f < 64; f++) {
		for (int32_t y = 0; y < 40; y += 3) {
			for (int32_t x = 0; x < 40; x += 3) {
				uint8_t a[2], b[2];
				pattern_fill(&p, f, a, 2, &(struct wcp_rect){0, 0, 1, 1});
				pattern_fill(&p, f + 1, b, 2, &(struct wcp_rect){0, 0, 1, 1});
				test_assert(memcmp(a, b, 2) != 0);
			}
		}
	}
	struct wcp_pattern solid = {
		.format = WCP_FORMAT_XRGB8888, .solid = true, .color = 0x123456};
	test_assert(pattern_color(&solid, 9, 3, 4) == 0x123456);
}

TEST(pattern_formats_widen_like_pixman) {
	uint8_t px[4];
	uint16_t v = 0xf81f; // red 31, green 0, blue 31
	memcpy(px, &v, 2);
	test_assert(pattern_pixel_to_argb(WCP_FORMAT_RGB565, px) == 0xffff00ff);
	v = 0x07e0;
	memcpy(px, &v, 2);
	test_assert(pattern_pixel_to_argb(WCP_FORMAT_RGB565, px) == 0xff00ff00);
	uint32_t x = 0x00abcdef;
	memcpy(px, &x, 4);
	test_assert(pattern_pixel_to_argb(WCP_FORMAT_XRGB8888, px) == 0xffabcdef);
	test_assert(pattern_pixel_to_argb(WCP_FORMAT_ARGB8888, px) == 0x00abcdef);
	enum wcp_format f;
	test_assert(pattern_format_parse("rgb565", &f) && f == WCP_FORMAT_RGB565);
	test_assert(!pattern_format_parse("bgr888", &f));
}

TEST(pattern_replay_matches_frame_by_frame) {
	struct wcp_pattern p = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_BAND};
	struct wcp_pattern_image *a = pattern_image_create(p.format, 50, 40);
	struct wcp_pattern_image *b = pattern_image_create(p.format, 50, 40);
	pattern_image_replay(a, &p, 0, 12);
	for (uint32_t f = 0; f < 12; f++) {
		pattern_draw_frame(&p, f, b->data, b->stride, 50, 40);
	}
	test_assert(memcmp(a->data, b->data, (size_t)a->stride * 40) == 0);
	// Frame 11's band shows frame 11, the rest of the image older frames.
	struct wcp_rect band[WCP_DAMAGE_MAX_RECTS];
	pattern_damage(p.damage, 11, 50, 40, band);
	test_assert(pattern_image_argb(a, 0, band[0].y) == pattern_color(&p, 11, 0, band[0].y));
	pattern_image_destroy(a);
	pattern_image_destroy(b);
}

TEST(fdleak_sees_a_new_fd) {
	struct wcp_fd_set before, after;
	test_assert(fdleak_snapshot(&before));
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	test_assert(fd >= 0);
	test_assert(fdleak_snapshot(&after));
	test_assert(fdleak_contains(&after, fd) && !fdleak_contains(&before, fd));
	FILE *sink = fopen("/dev/null", "we");
	test_assert(fdleak_report(&before, &after, sink) == 1);
	fclose(sink);
	close(fd);
	test_assert(fdleak_snapshot(&after));
	test_assert(after.count == before.count);
}

TEST(proc_stop_escalates_to_sigkill) {
	char dir[PATH_MAX], ready[PATH_MAX + 16];
	test_runtime_dir_create(dir);
	test_format(ready, sizeof(ready), "%s/ready", dir);
	// The file tells that the shell ignores SIGTERM by now.
	const char *argv[] = {
		"sh", "-c", "trap '' TERM; : > \"$0\"; while :; do sleep 1; done", ready, NULL};
	struct wcp_proc *proc = proc_spawn(argv, NULL);
	test_assert(proc != NULL);
	for (long long deadline = proc_now_ms() + 10000; access(ready, F_OK) != 0;) {
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(10);
	}
	pid_t pid = proc->pid;
	long long start = proc_now_ms();
	int code = proc_stop(proc, 300);
	test_assert(code == 128 + SIGKILL);
	test_assert(proc_now_ms() - start >= 300);
	test_assert(kill(pid, 0) < 0);
}

TEST(proc_run_capture_reads_output) {
	const char *argv[] = {"sh", "-c", "echo hello; echo \"$WCP_X\"; exit 3", NULL};
	const char *env[] = {"WCP_X=world", NULL};
	char *out;
	test_assert(proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 5000, &out) == 3);
	test_assert(strcmp(out, "hello\nworld\n") == 0);
	free(out);
	const char *slow[] = {"sleep", "30", NULL};
	long long start = proc_now_ms();
	test_assert(proc_run_capture(slow, NULL, 200, &out) == -1);
	test_assert(out == NULL);
	test_assert(proc_now_ms() - start < 5000);
	test_assert(proc_have_program("sh"));
	test_assert(!proc_have_program("wcp-no-such-program"));
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
