/*
 * wcp-bench-client: the benchmark client. One process drives one or more Wayland connections,
 * each with an xdg_toplevel drawn from wl_shm (XRGB8888), and measures how many frames (or
 * wl_display.sync round trips) the compositor acknowledges per second after a warm-up.
 *
 * Output on stdout, one line each, key=value separated by spaces:
 *   ready pid=P clients=N                  (idle mode: every window is configured)
 *   measure pid=P                          (the warm-up is over; the measured window starts)
 *   result pid=P mode=M clients=N frames=F elapsed_s=S rate=R size=WxH damage_bytes=B
 *                                          (the measured window is over)
 * With --hold, the client then stays connected, idle, until SIGTERM: whoever measures it can
 * still read the CPU time of the processes serving it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pixman.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "pattern.h"
#include "window.h"

#define PROG "wcp-bench-client"
#define MAX_BUFFERS 8
#define MAX_CLIENTS 64
#define BPP 4

enum mode {
	MODE_FRAMES,
	MODE_ROUNDTRIP,
	MODE_IDLE,
};

enum pacing {
	PACING_SYNC,
	PACING_FRAME,
};

struct options {
	enum mode mode;
	enum pacing pacing;
	enum wcp_damage_mode damage;
	int32_t width, height;
	bool fullscreen;
	uint32_t buffers;
	uint32_t clients;
	uint32_t warmup_ms, duration_ms, timeout_ms;
	uint32_t warmup_frames; // per client, at the least, before measuring
	uint64_t frames; // 0: run for duration_ms
	bool hold; // after the result, stay connected until SIGTERM
};

struct buffer {
	struct wl_buffer *wl_buffer;
	uint8_t *data;
	bool busy; // attached and not yet released
};

struct bench;

struct conn {
	struct bench *bench;
	struct wcp_window window;

	struct wl_shm_pool *pool;
	uint8_t *pool_data;
	size_t pool_size;
	int32_t width, height;
	struct buffer buffers[MAX_BUFFERS];

	struct wl_callback *pending; // the frame callback or sync in flight
	uint32_t frame; // frames committed
};

struct bench {
	struct options opts;
	struct conn conns[MAX_CLIENTS];
	bool measuring, done;
	int64_t warmup_end_ns, measure_start_ns, measure_end_ns;
	uint64_t acked, acked_start, acked_end;
	uint64_t commits, damage_bytes; // since the measured window started
};

static volatile sig_atomic_t stop_requested;

static void handle_signal(int sig) {
	stop_requested = 1;
}

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *out) {
	fprintf(out,
		"Usage: " PROG " [options]\n"
		"  --mode M          frames (default), roundtrip (wl_display.sync only) or idle\n"
		"                    (windows, no buffers, until SIGTERM)\n"
		"  --size WxH        window size (default 640x480)\n"
		"  --fullscreen      fullscreen, at the size the compositor configures\n"
		"  --damage D        full (default), band (10%%), rects (~1%%) or pixels\n"
		"  --pacing P        sync (wl_display.sync after each commit, default) or frame\n"
		"                    (frame callbacks)\n"
		"  --buffers N       buffers per window, 1..8 (default 3)\n"
		"  --clients N       connections, each with its own window (default 1)\n"
		"  --warmup-ms N     unmeasured time first (default 500)\n"
		"  --warmup-frames N and at least N acknowledgements per client (default 4)\n"
		"  --duration-ms N   measured time (default 2000)\n"
		"  --frames N        measure N acknowledgements instead of a duration\n"
		"  --timeout-ms N    longest wait for one acknowledgement (default 10000)\n"
		"  --hold            after the result, stay connected until SIGTERM\n");
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
	uint64_t v;
	if (!parse_u64(s, min, max, &v)) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_size(const char *s, int32_t *width, int32_t *height) {
	char *end;
	errno = 0;
	long w = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != 'x' || w <= 0 || w > 16384) {
		return false;
	}
	const char *hs = end + 1;
	long h = strtol(hs, &end, 10);
	if (errno != 0 || end == hs || *end != '\0' || h <= 0 || h > 16384) {
		return false;
	}
	*width = (int32_t)w;
	*height = (int32_t)h;
	return true;
}

static bool parse_choice(const char *s, const char *const names[], size_t count, int *out) {
	for (size_t i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

/** Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char *argv[], struct options *opts) {
	static const struct option long_options[] = {
		{"mode", required_argument, NULL, 'm'},
		{"size", required_argument, NULL, 's'},
		{"fullscreen", no_argument, NULL, 'F'},
		{"damage", required_argument, NULL, 'd'},
		{"pacing", required_argument, NULL, 'p'},
		{"buffers", required_argument, NULL, 'b'},
		{"clients", required_argument, NULL, 'c'},
		{"warmup-ms", required_argument, NULL, 'w'},
		{"warmup-frames", required_argument, NULL, 'W'},
		{"duration-ms", required_argument, NULL, 'D'},
		{"frames", required_argument, NULL, 'f'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"hold", no_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const modes[] = {"frames", "roundtrip", "idle"};
	static const char *const pacings[] = {"sync", "frame"};
	*opts = (struct options){
		.mode = MODE_FRAMES,
		.pacing = PACING_SYNC,
		.damage = WCP_DAMAGE_FULL,
		.width = 640,
		.height = 480,
		.buffers = 3,
		.clients = 1,
		.warmup_ms = 500,
		.warmup_frames = 4,
		.duration_ms = 2000,
		.timeout_ms = 10000,
	};
	int opt, choice = 0;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'm':
			ok = parse_choice(optarg, modes, 3, &choice);
			opts->mode = (enum mode)choice;
			break;
		case 's':
			ok = parse_size(optarg, &opts->width, &opts->height);
			break;
		case 'F':
			opts->fullscreen = true;
			break;
		case 'd':
			ok = pattern_damage_parse(optarg, &opts->damage);
			break;
		case 'p':
			ok = parse_choice(optarg, pacings, 2, &choice);
			opts->pacing = (enum pacing)choice;
			break;
		case 'b':
			ok = parse_u32(optarg, 1, MAX_BUFFERS, &opts->buffers);
			break;
		case 'c':
			ok = parse_u32(optarg, 1, MAX_CLIENTS, &opts->clients);
			break;
		case 'w':
			ok = parse_u32(optarg, 0, INT32_MAX, &opts->warmup_ms);
			break;
		case 'W':
			ok = parse_u32(optarg, 0, INT32_MAX, &opts->warmup_frames);
			break;
		case 'D':
			ok = parse_u32(optarg, 1, INT32_MAX, &opts->duration_ms);
			break;
		case 'f':
			ok = parse_u64(optarg, 1, UINT32_MAX, &opts->frames);
			break;
		case 't':
			ok = parse_u32(optarg, 1, INT32_MAX, &opts->timeout_ms);
			break;
		case 'H':
			opts->hold = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, PROG ": invalid argument '%s'\n", optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

/** Counts one acknowledgement and moves the measurement on. */
static void count_ack(struct bench *bench) {
	int64_t now = now_ns();
	bench->acked++;
	// The first frames are slow everywhere (whole copies, first repaints), so the
	// warm-up lasts for a number of frames as well as a time.
	if (!bench->measuring && now >= bench->warmup_end_ns &&
		bench->acked >= (uint64_t)bench->opts.warmup_frames * bench->opts.clients) {
		bench->measuring = true;
		bench->measure_start_ns = now;
		bench->acked_start = bench->acked;
		bench->commits = bench->damage_bytes = 0;
		printf("measure pid=%d\n", (int)getpid());
		fflush(stdout);
		return;
	}
	if (!bench->measuring || bench->done) {
		return;
	}
	uint64_t counted = bench->acked - bench->acked_start;
	bool enough = bench->opts.frames > 0
		? counted >= bench->opts.frames
		: now - bench->measure_start_ns >= (int64_t)bench->opts.duration_ms * 1000000;
	if (enough) {
		bench->done = true;
		bench->measure_end_ns = now;
		bench->acked_end = bench->acked;
	}
}

static void handle_ack_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct conn *conn = data;
	wl_callback_destroy(callback);
	conn->pending = NULL;
	count_ack(conn->bench);
}

static const struct wl_callback_listener ack_listener = {
	.done = handle_ack_done,
};

static bool report_error(struct conn *conn) {
	window_report_error(&conn->window);
	return false;
}

/**
 * Sends what every connection queued, waits up to timeout_ms for any of them to answer and
 * dispatches what came. False on a connection error; *timed_out when nothing came.
 */
static bool dispatch_all(struct bench *bench, int timeout_ms, bool *timed_out) {
	uint32_t n = bench->opts.clients;
	struct pollfd fds[MAX_CLIENTS];
	for (uint32_t i = 0; i < n; i++) {
		struct conn *conn = &bench->conns[i];
		while (wl_display_prepare_read(conn->window.display) != 0) {
			if (wl_display_dispatch_pending(conn->window.display) < 0) {
				return report_error(conn);
			}
		}
		fds[i] = (struct pollfd){
			.fd = wl_display_get_fd(conn->window.display), .events = POLLIN};
		if (wl_display_flush(conn->window.display) < 0 && errno == EAGAIN) {
			fds[i].events |= POLLOUT;
		}
	}
	int ret = poll(fds, n, timeout_ms);
	if (ret < 0 && errno != EINTR) {
		fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
	}
	*timed_out = ret == 0;
	bool ok = ret >= 0 || errno == EINTR;
	for (uint32_t i = 0; i < n; i++) {
		struct conn *conn = &bench->conns[i];
		if (ret > 0 && (fds[i].revents & (POLLIN | POLLERR | POLLHUP))) {
			if (wl_display_read_events(conn->window.display) < 0) {
				ok = report_error(conn);
				continue;
			}
		} else {
			wl_display_cancel_read(conn->window.display);
		}
		if (wl_display_dispatch_pending(conn->window.display) < 0) {
			ok = report_error(conn);
		}
	}
	return ok;
}

static bool connect_conn(struct bench *bench, struct conn *conn) {
	conn->bench = bench;
	if (!window_connect(&conn->window, PROG, WL_SHM_FORMAT_XRGB8888)) {
		return false;
	}
	// The first round trip brings the globals, the second the wl_shm formats.
	for (int i = 0; i < 2; i++) {
		if (wl_display_roundtrip(conn->window.display) < 0) {
			return report_error(conn);
		}
	}
	if (window_check_globals(&conn->window) != WCP_WINDOW_GLOBALS_OK) {
		return false;
	}
	if (conn->window.compositor_version < 4) {
		fprintf(stderr, PROG ": wl_compositor is older than version 4\n");
		return false;
	}
	return true;
}

/** Whether a signal or the compositor (xdg_toplevel.close) asked to stop. */
static bool stopping(const struct bench *bench) {
	for (uint32_t i = 0; i < bench->opts.clients; i++) {
		if (bench->conns[i].window.closed) {
			return true;
		}
	}
	return stop_requested;
}

static bool create_buffers(struct conn *conn, const struct options *opts) {
	conn->width = opts->width;
	conn->height = opts->height;
	const struct wcp_window *window = &conn->window;
	if (opts->fullscreen && window->configure_width > 0 && window->configure_height > 0) {
		conn->width = window->configure_width;
		conn->height = window->configure_height;
	}
	int32_t stride = conn->width * BPP;
	size_t buffer_size = (size_t)stride * (size_t)conn->height;
	conn->pool_size = buffer_size * opts->buffers;
	if (conn->pool_size > INT32_MAX) {
		fprintf(stderr,
			PROG ": %" PRIu32 " buffers of %" PRId32 "x%" PRId32
			     " do not fit one pool\n",
			opts->buffers, conn->width, conn->height);
		return false;
	}
	int fd = memfd_create(PROG, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)conn->pool_size) < 0) {
		fprintf(stderr, PROG ": cannot make a %zu-byte pool: %s\n", conn->pool_size,
			strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return false;
	}
	void *data = mmap(NULL, conn->pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap: %s\n", strerror(errno));
		close(fd);
		return false;
	}
	conn->pool_data = data;
	conn->pool = wl_shm_create_pool(window->shm, fd, (int32_t)conn->pool_size);
	close(fd);
	for (uint32_t i = 0; i < opts->buffers; i++) {
		struct buffer *buffer = &conn->buffers[i];
		buffer->data = conn->pool_data + buffer_size * i;
		buffer->wl_buffer =
			wl_shm_pool_create_buffer(conn->pool, (int32_t)(buffer_size * i),
				conn->width, conn->height, stride, WL_SHM_FORMAT_XRGB8888);
		wl_buffer_add_listener(buffer->wl_buffer, &window_buffer_listener, &buffer->busy);
	}
	return true;
}

static uint64_t region_bytes(pixman_region32_t *region) {
	int count;
	const pixman_box32_t *boxes = pixman_region32_rectangles(region, &count);
	uint64_t pixels = 0;
	for (int i = 0; i < count; i++) {
		pixels += (uint64_t)(boxes[i].x2 - boxes[i].x1) *
			(uint64_t)(boxes[i].y2 - boxes[i].y1);
	}
	return pixels * BPP;
}

/** Draws and commits the next frame into a free buffer; false when every buffer is busy. */
static bool draw_frame(struct conn *conn) {
	const struct options *opts = &conn->bench->opts;
	struct buffer *buffer = NULL;
	for (uint32_t i = 0; i < opts->buffers && buffer == NULL; i++) {
		if (!conn->buffers[i].busy) {
			buffer = &conn->buffers[i];
		}
	}
	if (buffer == NULL) {
		return false;
	}
	struct wcp_rect rects[WCP_DAMAGE_MAX_RECTS];
	size_t count = pattern_damage(opts->damage, conn->frame, conn->width, conn->height, rects);
	uint32_t color = 0xff000000u | (conn->frame * 0x050301u & 0xffffffu);
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	wl_surface_attach(conn->window.surface, buffer->wl_buffer, 0, 0);
	for (size_t i = 0; i < count; i++) {
		const struct wcp_rect *r = &rects[i];
		pattern_fill_solid(buffer->data, (size_t)conn->width * BPP, r, color);
		wl_surface_damage_buffer(conn->window.surface, r->x, r->y, r->width, r->height);
		pixman_region32_union_rect(&damage, &damage, r->x, r->y, (unsigned int)r->width,
			(unsigned int)r->height);
	}
	if (opts->pacing == PACING_FRAME) {
		conn->pending = wl_surface_frame(conn->window.surface);
		wl_callback_add_listener(conn->pending, &ack_listener, conn);
	}
	wl_surface_commit(conn->window.surface);
	if (opts->pacing == PACING_SYNC) {
		conn->pending = wl_display_sync(conn->window.display);
		wl_callback_add_listener(conn->pending, &ack_listener, conn);
	}
	conn->bench->commits++;
	conn->bench->damage_bytes += region_bytes(&damage);
	pixman_region32_fini(&damage);
	buffer->busy = true;
	conn->frame++;
	return true;
}

/** Runs the warm-up and the measured window; false on an error or a timeout. */
static bool run(struct bench *bench) {
	const struct options *opts = &bench->opts;
	bench->warmup_end_ns = now_ns() + (int64_t)opts->warmup_ms * 1000000;
	int64_t last_ack = now_ns();
	uint64_t acked = bench->acked;
	while (!bench->done) {
		if (stopping(bench)) {
			fprintf(stderr, PROG ": stopped before the measurement ended\n");
			return false;
		}
		for (uint32_t i = 0; i < opts->clients; i++) {
			struct conn *conn = &bench->conns[i];
			if (conn->pending != NULL) {
				continue;
			}
			if (opts->mode == MODE_ROUNDTRIP) {
				conn->pending = wl_display_sync(conn->window.display);
				wl_callback_add_listener(conn->pending, &ack_listener, conn);
			} else {
				draw_frame(conn);
			}
		}
		bool timed_out;
		if (!dispatch_all(bench, 100, &timed_out)) {
			return false;
		}
		int64_t now = now_ns();
		if (bench->acked != acked) {
			acked = bench->acked;
			last_ack = now;
		} else if (now - last_ack > (int64_t)opts->timeout_ms * 1000000) {
			fprintf(stderr, PROG ": nothing acknowledged for %" PRIu32 " ms\n",
				opts->timeout_ms);
			return false;
		}
	}
	return true;
}

/** Waits until every window has its first configure. */
static bool wait_configured(struct bench *bench) {
	int64_t deadline = now_ns() + (int64_t)bench->opts.timeout_ms * 1000000;
	for (;;) {
		bool all = true;
		for (uint32_t i = 0; i < bench->opts.clients; i++) {
			all = all && bench->conns[i].window.configures > 0;
		}
		if (all) {
			return true;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, PROG ": no configure within %" PRIu32 " ms\n",
				bench->opts.timeout_ms);
			return false;
		}
		bool timed_out;
		if (!dispatch_all(bench, 100, &timed_out)) {
			return false;
		}
	}
}

/** Keeps the connections served, without drawing, until SIGTERM or SIGINT. */
static bool idle(struct bench *bench) {
	while (!stopping(bench)) {
		bool timed_out;
		if (!dispatch_all(bench, 1000, &timed_out)) {
			return false;
		}
	}
	return true;
}

static void print_result(const struct bench *bench) {
	const struct options *opts = &bench->opts;
	static const char *const modes[] = {"frames", "roundtrip", "idle"};
	uint64_t frames = bench->acked_end - bench->acked_start;
	double elapsed = (double)(bench->measure_end_ns - bench->measure_start_ns) / 1e9;
	uint64_t commits = bench->commits > 0 ? bench->commits : 1;
	const struct conn *first = &bench->conns[0];
	printf("result pid=%d mode=%s clients=%" PRIu32 " frames=%" PRIu64
	       " elapsed_s=%.6f rate=%.3f size=%" PRId32 "x%" PRId32 " damage_bytes=%" PRIu64 "\n",
		(int)getpid(), modes[opts->mode], opts->clients, frames, elapsed,
		elapsed > 0 ? (double)frames / elapsed : 0.0, first->width, first->height,
		bench->damage_bytes / commits);
	fflush(stdout);
}

static void destroy_conn(struct conn *conn) {
	if (conn->pending != NULL) {
		wl_callback_destroy(conn->pending);
	}
	for (size_t i = 0; i < MAX_BUFFERS; i++) {
		struct buffer *buffer = &conn->buffers[i];
		if (buffer->wl_buffer != NULL) {
			wl_buffer_destroy(buffer->wl_buffer);
		}
	}
	if (conn->pool != NULL) {
		wl_shm_pool_destroy(conn->pool);
	}
	if (conn->pool_data != NULL) {
		munmap(conn->pool_data, conn->pool_size);
	}
	window_finish(&conn->window);
}

int main(int argc, char *argv[]) {
	struct bench *bench = calloc(1, sizeof(*bench));
	if (bench == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	int status = parse_options(argc, argv, &bench->opts);
	if (status >= 0) {
		free(bench);
		return status;
	}
	struct sigaction sa = {.sa_handler = handle_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	const struct options *opts = &bench->opts;
	bool ok = true;
	uint32_t connected = 0;
	for (; connected < opts->clients && ok; connected++) {
		ok = connect_conn(bench, &bench->conns[connected]);
	}
	if (ok && opts->mode != MODE_ROUNDTRIP) {
		for (uint32_t i = 0; i < opts->clients; i++) {
			char title[64];
			snprintf(title, sizeof(title), PROG " %" PRIu32, i);
			window_create_toplevel(
				&bench->conns[i].window, title, PROG, opts->fullscreen);
		}
		ok = wait_configured(bench);
	}
	if (ok && opts->mode == MODE_IDLE) {
		printf("ready pid=%d clients=%" PRIu32 "\n", (int)getpid(), opts->clients);
		fflush(stdout);
		ok = idle(bench);
	} else if (ok) {
		for (uint32_t i = 0; i < opts->clients && ok && opts->mode == MODE_FRAMES; i++) {
			ok = create_buffers(&bench->conns[i], opts);
		}
		ok = ok && run(bench);
		if (ok) {
			print_result(bench);
		}
		if (ok && opts->hold) {
			ok = idle(bench);
		}
	}
	for (uint32_t i = 0; i < connected; i++) {
		destroy_conn(&bench->conns[i]);
	}
	free(bench);
	return ok ? 0 : 1;
}
