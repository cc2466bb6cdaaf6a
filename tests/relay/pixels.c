/*
 * What a client draws with shm, on weston's screen through wl-cross-proxy,
 * straight (--device=none) and through wl-cross-emu: pixel for pixel, and
 * what the proxy copies into host memory on the way (its counters).
 */
#include <sched.h>
#include <signal.h>
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
#include "util/copy.h"
#include "util/cpu.h"
#include "weston.h"

/** The proxy's copy counters, from the "stats:" line it logs on SIGUSR1. */
struct copy_counters {
	uint64_t commits, bytes, evicted;
	uint64_t ns; // time spent copying
	int clients; // now
	uint64_t host_buffers, host_bytes; // now
};

/** The last "stats:" line of the log, and how many there are. */
static const char *last_stats(const char *log, int *count) {
	const char *last = NULL;
	*count = 0;
	for (const char *at = strstr(log, " stats: "); at != NULL;
		at = strstr(at + 1, " stats: ")) {
		last = at;
		(*count)++;
	}
	return last;
}

static struct copy_counters copy_counters(struct wcp_relay *relay) {
	char *log = test_read_file(relay->log_path, NULL);
	test_assert(log != NULL);
	int before, count;
	last_stats(log, &before);
	free(log);
	test_assert(kill(relay->proxy->pid, SIGUSR1) == 0);
	long long deadline = proc_now_ms() + 5000;
	for (;;) {
		log = test_read_file(relay->log_path, NULL);
		test_assert(log != NULL);
		const char *line = last_stats(log, &count);
		if (count > before) {
			unsigned long long c, b, e, ns, hb, hm;
			int clients;
			test_assert(sscanf(line,
					    " stats: shm_commits=%llu shm_copied_bytes=%llu"
					    " shm_evicted_bytes=%llu shm_copy_ns=%llu clients=%d"
					    " host_buffers=%llu host_buffer_bytes=%llu",
					    &c, &b, &e, &ns, &clients, &hb, &hm) == 7);
			free(log);
			return (struct copy_counters){.commits = c,
				.bytes = b,
				.evicted = e,
				.ns = ns,
				.clients = clients,
				.host_buffers = hb,
				.host_bytes = hm};
		}
		free(log);
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(10);
	}
}

/** How the pattern client runs in check_pattern_run. */
struct pattern_run {
	const char *format, *damage, *pacing, *buffers;
	const char *row_padding; // NULL: none
	const cpu_set_t *after_start; // the test's own affinity once the client has started
	struct copy_counters *live; // the proxy's counters once the frames are on screen
};

/**
 * Runs the pattern client fullscreen for 100 frames and checks that it is
 * on screen exactly as it drew it (the same as without the proxy: the
 * harness tests show the model is what weston shows directly).
 */
static void check_pattern_run(
	struct wcp_weston *weston, struct wcp_relay *relay, const struct pattern_run *run) {
	const char *args[] = {"--fullscreen", "--format", run->format, "--damage", run->damage,
		"--frames", "100", "--buffers", run->buffers, "--pacing", run->pacing,
		run->row_padding != NULL ? "--row-padding" : NULL, run->row_padding, NULL};
	struct wcp_shm_client *client = shm_client_start(relay->env_display, args);
	if (run->after_start != NULL) {
		test_assert(sched_setaffinity(0, sizeof(*run->after_start), run->after_start) == 0);
	}
	test_assert(shm_client_wait_ready(client, 30000));
	test_assert(client->acked == 100);
	struct wcp_pattern pattern = {0};
	test_assert(pattern_format_parse(run->format, &pattern.format));
	test_assert(pattern_damage_parse(run->damage, &pattern.damage));
	struct wcp_pattern_image *model =
		pattern_image_create(pattern.format, weston->width, weston->height);
	pattern_image_replay(model, &pattern, 0, 100);
	struct wcp_image *want = image_from_pattern(model);
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_image_diff diff;
	if (!image_region_equal(shot, 0, 0, want, 0, 0, weston->width, weston->height, &diff)) {
		test_fail("%s: %s/%s/%s, %s buffers: %zu pixels differ, first at (%d, %d)",
			relay_mode_name(relay->mode), run->format, run->damage, run->pacing,
			run->buffers, diff.count, (int)diff.x, (int)diff.y);
	}
	image_destroy(shot);
	image_destroy(want);
	pattern_image_destroy(model);
	if (run->live != NULL) {
		*run->live = copy_counters(relay);
	}
	test_assert(shm_client_stop(client) == 0);
}

static void check_pattern(struct wcp_weston *weston, struct wcp_relay *relay, const char *format,
	const char *damage, const char *pacing, const char *buffers) {
	check_pattern_run(weston, relay,
		&(struct pattern_run){
			.format = format, .damage = damage, .pacing = pacing, .buffers = buffers});
}

/** Full damage, sync paced, 3 buffers; the test's own affinity becomes `after_start`. */
static void check_pattern_pinned(
	struct wcp_weston *weston, struct wcp_relay *relay, const cpu_set_t *after_start) {
	check_pattern_run(weston, relay,
		&(struct pattern_run){.format = "xrgb8888",
			.damage = "full",
			.pacing = "sync",
			.buffers = "3",
			.after_start = after_start});
}

/** Every format and damage mode, 3 buffers, the pacings alternating. */
static void check_pixels(enum wcp_relay_mode mode) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	struct wcp_relay *relay = relay_start(weston, mode);
	static const char *const formats[] = {"xrgb8888", "argb8888", "rgb565"};
	static const char *const damages[] = {"full", "band", "rects", "pixels"};
	for (size_t f = 0; f < 3; f++) {
		for (size_t d = 0; d < 4; d++) {
			const char *pacing = (f + d) % 2 == 0 ? "sync" : "frame";
			check_pattern(weston, relay, formats[f], damages[d], pacing, "3");
		}
	}
	relay_stop(relay);
	weston_stop(weston);
}

TEST_OPTS(pattern_client_is_pixel_exact_direct, .timeout_s = 120) {
	check_pixels(WCP_RELAY_DIRECT);
}

TEST_OPTS(pattern_client_is_pixel_exact_over_cross_domain, .timeout_s = 120) {
	check_pixels(WCP_RELAY_EMU);
}

/**
 * Over cross-domain the host shows a copy, so the guest's buffer is
 * released as soon as the commit has copied it: a client with a single
 * buffer runs at full speed (straight to weston it would wait for a
 * release that comes only when another buffer replaces it), and the host
 * buffers it is copied into are never written while the host holds them.
 */
TEST_OPTS(one_buffer_is_enough_over_cross_domain, .timeout_s = 120) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	static const char *const damages[] = {"full", "band", "rects", "pixels"};
	for (size_t d = 0; d < 4; d++) {
		check_pattern(weston, relay, "xrgb8888", damages[d], "sync", "1");
		check_pattern(weston, relay, "xrgb8888", damages[d], "frame", "1");
	}
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * Over cross-domain, host memory follows the pixels, not the guest's
 * stride: rows padded by 1 MiB (a 240-row buffer spans 240 MiB of its
 * pool) arrive pixel-exact in host buffers of the rows alone.
 */
TEST_OPTS(padded_rows_cost_the_host_only_their_pixels, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	static const char *const formats[] = {"xrgb8888", "rgb565"};
	static const uint64_t bpp[] = {4, 2};
	for (size_t f = 0; f < 2; f++) {
		struct copy_counters live;
		check_pattern_run(weston, relay,
			&(struct pattern_run){.format = formats[f],
				.damage = "band",
				.pacing = "sync",
				.buffers = "2",
				.row_padding = "1048576",
				.live = &live});
		test_log("%s: %llu host buffers of %llu bytes in all", formats[f],
			(unsigned long long)live.host_buffers, (unsigned long long)live.host_bytes);
		uint64_t pixels = 320 * 240 * bpp[f];
		test_assert(live.host_buffers >= 1);
		test_assert(live.host_bytes <= live.host_buffers * (pixels + 65536));
	}
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * A tight stride of an odd number of 2-byte pixels is not a multiple of 4
 * bytes, which weston's libwayland takes and its renderer (pixman) cannot
 * draw from; the host copy's rows are aligned, so the frames arrive
 * pixel-exact all the same.
 */
TEST_OPTS(odd_width_tight_rows_reach_the_host_aligned, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){321, 241, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	struct copy_counters live;
	check_pattern_run(weston, relay,
		&(struct pattern_run){.format = "rgb565",
			.damage = "band",
			.pacing = "sync",
			.buffers = "2",
			.live = &live});
	test_assert(live.host_buffers >= 1);
	test_assert(live.host_bytes >= live.host_buffers * 322 * 2 * 241);
	relay_stop(relay);
	weston_stop(weston);
}

/**
 * Damage reaches as far as a buffer does: a buffer of one column and
 * 2^24 + 16 rows, damaged whole in every frame, is copied whole into each
 * host buffer it reuses, its last rows too.
 */
TEST_OPTS(damage_covers_buffers_of_more_than_2_24_rows, .timeout_s = 120) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	const uint64_t rows = (1u << 24) + 16, frames = 6;
	const char *args[] = {"--size", "1x16777232", "--damage", "full", "--pacing", "sync",
		"--buffers", "1", "--frames", "6", NULL};
	struct wcp_shm_client *client = shm_client_start(relay->env_display, args);
	test_assert(shm_client_wait_ready(client, 60000));
	test_assert(client->acked == frames);
	struct copy_counters counters = copy_counters(relay);
	test_log("%llu commits, %llu bytes copied", (unsigned long long)counters.commits,
		(unsigned long long)counters.bytes);
	test_assert(counters.commits == frames);
	test_assert(counters.bytes == frames * rows * 4);
	test_assert(shm_client_stop(client) == 0);
	relay_stop(relay);
	weston_stop(weston);
}

/*
 * Whether the copy time is a time: at least what a copy at a byte per
 * picosecond (faster than any machine) would take, and no more than the
 * wall time it was spent in.
 */
static bool copy_time_plausible(const struct copy_counters *counters, long long wall_ms) {
	return counters->ns >= counters->bytes / 1000 && counters->ns > 0 &&
		counters->ns <= (uint64_t)wall_ms * 1000000u;
}

/**
 * What the proxy copies follows the damage: a whole frame for full damage,
 * and for 16 single pixels a frame, two frames' pixels (the host buffer
 * being written last showed the frame before the previous one) after the
 * first whole copies.
 */
TEST_OPTS(copies_follow_the_damage, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	const uint64_t frame = 320 * 240 * 4;
	static const char *const damages[] = {"full", "pixels"};
	for (size_t i = 0; i < 2; i++) {
		long long start = proc_now_ms();
		struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
		check_pattern(weston, relay, "xrgb8888", damages[i], "sync", "1");
		struct copy_counters counters = copy_counters(relay);
		test_log("%s: %llu commits, %llu bytes copied in %llu ns", damages[i],
			(unsigned long long)counters.commits, (unsigned long long)counters.bytes,
			(unsigned long long)counters.ns);
		test_assert(counters.commits == 100);
		if (i == 0) {
			test_assert(counters.bytes == counters.commits * frame);
		} else {
			test_assert(counters.bytes <= 2 * frame + counters.commits * 2 * 16 * 4);
		}
		test_assert(copy_time_plausible(&counters, proc_now_ms() - start));
		// Once the client has left, its surfaces' host buffers are gone.
		while (counters.clients > 0) {
			test_assert(proc_now_ms() - start < 30000);
			proc_sleep_ms(10);
			counters = copy_counters(relay);
		}
		test_assert(counters.host_buffers == 0 && counters.host_bytes == 0);
		relay_stop(relay);
	}
	weston_stop(weston);
}

static void pin(pid_t pid, int cpu) {
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	test_assert(sched_setaffinity(pid, sizeof(one), &one) == 0);
}

/**
 * A large copy drops what it read from the proxy's caches by --copy-evict:
 * with the client and the proxy pinned to one CPU, never; pinned to two,
 * every whole-frame copy with other-cpu, none with never, and with auto
 * every one unless sysfs says the two CPUs share a last-level cache. Only
 * the client is pinned with the proxy (the test runs anywhere), and the
 * frames arrive pixel-exact throughout.
 */
TEST_OPTS(large_copies_evict_by_where_the_client_runs, .timeout_s = 180) {
	cpu_set_t allowed;
	test_assert(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	int cpus[2];
	test_assert(cpu_first_allowed(cpus));
	if (cpus[1] < 0) {
		test_skip("one CPU is allowed here: no client can run on another");
	}
	struct wcp_cpu_caches caches;
	test_assert(cpu_caches_init(&caches, "/sys/devices/system/cpu"));
	bool shared = cpu_caches_shared(&caches, cpus[0], cpus[1]);
	cpu_caches_finish(&caches);
	test_log("CPUs %d and %d %s a last-level cache", cpus[0], cpus[1],
		shared ? "share" : "are not known to share");

	// 3 MiB frames: each copy streams (WCP_COPY_STREAM_MIN).
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){1024, 768, NULL});
	const uint64_t frame = 1024 * 768 * 4;
	static const char *const policies[] = {
		[WCP_COPY_EVICT_AUTO] = "auto",
		[WCP_COPY_EVICT_OTHER_CPU] = "other-cpu",
		[WCP_COPY_EVICT_NEVER] = "never",
	};
	for (size_t p = 0; p < 3; p++) {
		test_assert(setenv("WL_CROSS_PROXY_COPY_EVICT", policies[p], 1) == 0);
		for (int apart = 0; apart < 2; apart++) {
			struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
			pin(relay->proxy->pid, cpus[apart]);
			// The client inherits this; the test goes back to any CPU
			// once it has started.
			pin(0, cpus[0]);
			check_pattern_pinned(weston, relay, &allowed);
			struct copy_counters counters = copy_counters(relay);
			test_log("%s, %s: %llu commits, %llu bytes copied, %llu evicted",
				policies[p], apart ? "two CPUs" : "one CPU",
				(unsigned long long)counters.commits,
				(unsigned long long)counters.bytes,
				(unsigned long long)counters.evicted);
			test_assert(counters.commits == 100 &&
				counters.bytes == counters.commits * frame);
			bool evicts = apart && WCP_COPY_EVICTS &&
				(p == WCP_COPY_EVICT_OTHER_CPU ||
					(p == WCP_COPY_EVICT_AUTO && !shared));
			test_assert(counters.evicted == (evicts ? counters.bytes : 0));
			relay_stop(relay);
		}
	}
	test_assert(unsetenv("WL_CROSS_PROXY_COPY_EVICT") == 0);
	weston_stop(weston);
}

TEST_OPTS(resized_pool_and_window_over_cross_domain, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){320, 240, NULL});
	struct wcp_relay *relay = relay_start(weston, WCP_RELAY_EMU);
	const char *args[] = {"--size", "60x40", "--damage", "rects", "--buffers", "3", "--frames",
		"30", "--resize", "10:150x100", "--resize", "20:120x90", "--title", "resizing",
		NULL};
	struct wcp_shm_client *client = shm_client_start(relay->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "resizing", NULL, 5000, &view));
	struct wcp_pattern pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_RECTS};
	struct wcp_pattern_image *model = pattern_image_create(pattern.format, 120, 90);
	pattern_image_replay(model, &pattern, 20, 30);
	struct wcp_image *want = image_from_pattern(model);
	struct wcp_image *shot = weston_screenshot(weston, NULL);
	struct wcp_image_diff diff;
	test_assert(image_region_equal(shot, view.x1, view.y1, want, 0, 0, 120, 90, &diff));
	image_destroy(shot);
	image_destroy(want);
	pattern_image_destroy(model);
	test_assert(shm_client_stop(client) == 0);
	relay_stop(relay);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
