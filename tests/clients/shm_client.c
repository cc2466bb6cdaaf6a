/*
 * wcp-shm-client: a Wayland client drawing deterministic wl_shm frames (see pattern.h) into an
 * xdg_toplevel, for the compositor tests and the benchmarks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "pattern.h"
#include "window.h"

#define PROG "wcp-shm-client"
#define MAX_BUFFERS 16
#define MAX_RESIZES 8
#define MAX_DIMENSION (1 << 25)
#define MAX_ROW_PADDING (64u << 20)
// After SIGTERM/SIGINT, how long the last committed frame may take to be acknowledged.
#define STOP_GRACE_MS 1000

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_CONNECTION = 3,
	EXIT_FORMAT = 4,
};

enum pacing {
	PACING_FRAME,
	PACING_SYNC,
};

struct resize {
	uint32_t frame;
	int32_t width, height;
};

struct options {
	int32_t width, height;
	bool fullscreen;
	struct wcp_pattern pattern;
	enum pacing pacing;
	uint32_t buffers;
	uint32_t row_padding; // bytes each row's stride has beyond its pixels
	uint32_t frames; // 0: until stopped
	struct resize resizes[MAX_RESIZES];
	size_t resize_count;
	const char *title, *app_id, *ready_file;
	bool hold;
	uint32_t timeout_ms; // 0: none
};

struct buffer {
	struct wl_buffer *wl_buffer;
	size_t offset;
	bool busy; // attached and not yet released by the compositor
};

struct client {
	struct options opts;
	struct wcp_window window;
	int signal_fd;

	int pool_fd;
	struct wl_shm_pool *pool;
	uint8_t *pool_data;
	size_t pool_size;
	struct buffer buffers[MAX_BUFFERS];
	struct wcp_pattern_image *model;
	int32_t width, height; // of the buffers and the model, 0 before the first frame

	uint32_t configures_applied; // window.configures that prepare_size has seen

	struct wl_callback *ack_callback; // the frame callback or sync of the last commit
	uint32_t committed, acked;
	bool repaint_whole;
	bool stop; // a signal
	bool sync_done;
};

enum wait_result {
	WAIT_OK,
	WAIT_TIMEOUT,
	WAIT_ERROR,
};

static int64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *format_name(enum wcp_format format) {
	switch (format) {
	case WCP_FORMAT_ARGB8888:
		return "argb8888";
	case WCP_FORMAT_XRGB8888:
		return "xrgb8888";
	case WCP_FORMAT_RGB565:
		return "rgb565";
	}
	return "unknown";
}

static void usage(FILE *out) {
	fprintf(out,
		"Usage: " PROG " [options]\n"
		"  --size WxH          window size (default 256x256)\n"
		"  --fullscreen        go fullscreen at the size the compositor configures\n"
		"  --format F          xrgb8888 (default), argb8888 or rgb565\n"
		"  --color 0xAARRGGBB  a solid colour instead of the moving pattern\n"
		"  --damage M          full (default), band, rects or pixels\n"
		"  --pacing P          frame (default, frame callbacks) or sync (wl_display.sync)\n"
		"  --buffers N         buffers in the one wl_shm_pool, 1..16 (default 2)\n"
		"  --row-padding N     bytes of stride beyond each row's pixels (default 0)\n"
		"  --frames N          frames to draw, 0 = until SIGTERM/SIGINT (default 60)\n"
		"  --resize F:WxH      resize to WxH before frame F (up to 8 times)\n"
		"  --title S, --app-id S  toplevel title and app id (default " PROG ")\n"
		"  --ready-file PATH   after the last acknowledged frame, write\n"
		"                      'frames=<committed> acked=<acked>' to PATH\n"
		"  --hold              after the last frame, stay up until SIGTERM/SIGINT\n"
		"  --timeout-ms N      drawing time limit, 0 = none (default 20000); with\n"
		"                      --frames 0, the longest wait for one acknowledgement\n"
		"Exit status: 0 every frame acknowledged, 1 frames missing or timeout,\n"
		"2 usage error, 3 connection or protocol error, 4 format not offered.\n");
}

// strtoul accepts leading blanks and signs; the options only take plain numbers.
static bool parse_ulong(
	const char *s, int base, unsigned long max, unsigned long *out, const char **end) {
	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, base);
	if (errno != 0 || e == s || v > max) {
		return false;
	}
	if (end != NULL) {
		*end = e;
	} else if (*e != '\0') {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
	unsigned long v;
	if (!parse_ulong(s, 10, max, &v, NULL) || v < min) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_size(const char *s, int32_t *width, int32_t *height) {
	unsigned long w, h;
	const char *end;
	if (!parse_ulong(s, 10, MAX_DIMENSION, &w, &end) || *end != 'x' ||
		!parse_ulong(end + 1, 10, MAX_DIMENSION, &h, NULL) || w == 0 || h == 0) {
		return false;
	}
	*width = (int32_t)w;
	*height = (int32_t)h;
	return true;
}

static bool parse_resize(const char *s, struct resize *resize) {
	unsigned long frame;
	const char *end;
	if (!parse_ulong(s, 10, UINT32_MAX, &frame, &end) || *end != ':') {
		return false;
	}
	resize->frame = (uint32_t)frame;
	return parse_size(end + 1, &resize->width, &resize->height);
}

static uint64_t row_stride(int32_t width, const struct options *opts) {
	return (uint64_t)width * (uint64_t)pattern_format_bpp(opts->pattern.format) +
		opts->row_padding;
}

static bool pool_size_fits(int32_t width, int32_t height, const struct options *opts) {
	uint64_t size = row_stride(width, opts) * (uint64_t)height * opts->buffers;
	return size <= INT32_MAX;
}

static int parse_options(int argc, char *argv[], struct options *opts) {
	enum {
		OPT_SIZE = 256,
		OPT_FULLSCREEN,
		OPT_FORMAT,
		OPT_COLOR,
		OPT_DAMAGE,
		OPT_PACING,
		OPT_BUFFERS,
		OPT_FRAMES,
		OPT_RESIZE,
		OPT_TITLE,
		OPT_APP_ID,
		OPT_READY_FILE,
		OPT_HOLD,
		OPT_TIMEOUT_MS,
		OPT_ROW_PADDING,
	};
	static const struct option long_options[] = {
		{"size", required_argument, NULL, OPT_SIZE},
		{"fullscreen", no_argument, NULL, OPT_FULLSCREEN},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"color", required_argument, NULL, OPT_COLOR},
		{"damage", required_argument, NULL, OPT_DAMAGE},
		{"pacing", required_argument, NULL, OPT_PACING},
		{"buffers", required_argument, NULL, OPT_BUFFERS},
		{"frames", required_argument, NULL, OPT_FRAMES},
		{"resize", required_argument, NULL, OPT_RESIZE},
		{"title", required_argument, NULL, OPT_TITLE},
		{"app-id", required_argument, NULL, OPT_APP_ID},
		{"ready-file", required_argument, NULL, OPT_READY_FILE},
		{"hold", no_argument, NULL, OPT_HOLD},
		{"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
		{"row-padding", required_argument, NULL, OPT_ROW_PADDING},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*opts = (struct options){
		.width = 256,
		.height = 256,
		.pattern = {.format = WCP_FORMAT_XRGB8888, .damage = WCP_DAMAGE_FULL},
		.pacing = PACING_FRAME,
		.buffers = 2,
		.frames = 60,
		.title = PROG,
		.app_id = PROG,
		.timeout_ms = 20000,
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		unsigned long color;
		bool ok = true;
		switch (opt) {
		case OPT_SIZE:
			ok = parse_size(optarg, &opts->width, &opts->height);
			break;
		case OPT_FULLSCREEN:
			opts->fullscreen = true;
			break;
		case OPT_FORMAT:
			ok = pattern_format_parse(optarg, &opts->pattern.format);
			break;
		case OPT_COLOR:
			ok = parse_ulong(optarg, 0, UINT32_MAX, &color, NULL);
			opts->pattern.solid = true;
			opts->pattern.color = (uint32_t)color;
			break;
		case OPT_DAMAGE:
			ok = pattern_damage_parse(optarg, &opts->pattern.damage);
			break;
		case OPT_PACING:
			if (strcmp(optarg, "frame") == 0) {
				opts->pacing = PACING_FRAME;
			} else if (strcmp(optarg, "sync") == 0) {
				opts->pacing = PACING_SYNC;
			} else {
				ok = false;
			}
			break;
		case OPT_BUFFERS:
			ok = parse_u32(optarg, 1, MAX_BUFFERS, &opts->buffers);
			break;
		case OPT_FRAMES:
			ok = parse_u32(optarg, 0, UINT32_MAX, &opts->frames);
			break;
		case OPT_RESIZE:
			if (opts->resize_count == MAX_RESIZES) {
				fprintf(stderr, PROG ": at most %d --resize options\n",
					MAX_RESIZES);
				return EXIT_USAGE;
			}
			ok = parse_resize(optarg, &opts->resizes[opts->resize_count]);
			opts->resize_count++;
			break;
		case OPT_TITLE:
			opts->title = optarg;
			break;
		case OPT_APP_ID:
			opts->app_id = optarg;
			break;
		case OPT_READY_FILE:
			opts->ready_file = optarg;
			break;
		case OPT_HOLD:
			opts->hold = true;
			break;
		case OPT_TIMEOUT_MS:
			ok = parse_u32(optarg, 0, INT32_MAX, &opts->timeout_ms);
			break;
		case OPT_ROW_PADDING:
			ok = parse_u32(optarg, 0, MAX_ROW_PADDING, &opts->row_padding);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
		if (!ok) {
			fprintf(stderr, PROG ": invalid argument '%s' for --%s\n", optarg,
				long_options[opt - OPT_SIZE].name);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (opts->fullscreen && opts->resize_count > 0) {
		fprintf(stderr, PROG ": --resize cannot be combined with --fullscreen\n");
		return EXIT_USAGE;
	}
	struct resize initial = {0, opts->width, opts->height};
	for (size_t i = 0; i <= opts->resize_count; i++) {
		const struct resize *r = i < opts->resize_count ? &opts->resizes[i] : &initial;
		if (!pool_size_fits(r->width, r->height, opts)) {
			fprintf(stderr,
				PROG ": %" PRIu32 " buffers of %" PRId32 "x%" PRId32
				     " exceed the 2 GiB pool limit\n",
				opts->buffers, r->width, r->height);
			return EXIT_USAGE;
		}
		if (r == &initial) {
			break;
		}
		if (opts->frames != 0 && r->frame >= opts->frames) {
			fprintf(stderr, PROG ": --resize frame %" PRIu32 " is not below --frames\n",
				r->frame);
			return EXIT_USAGE;
		}
		for (size_t j = 0; j < i; j++) {
			if (opts->resizes[j].frame == r->frame) {
				fprintf(stderr,
					PROG ": two --resize options for frame %" PRIu32 "\n",
					r->frame);
				return EXIT_USAGE;
			}
		}
	}
	return -1;
}

static void handle_ack_callback_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct client *c = data;
	wl_callback_destroy(callback);
	c->ack_callback = NULL;
	c->acked++;
}

static const struct wl_callback_listener ack_callback_listener = {
	.done = handle_ack_callback_done,
};

static void handle_sync_callback_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct client *c = data;
	wl_callback_destroy(callback);
	c->sync_done = true;
}

static const struct wl_callback_listener sync_callback_listener = {
	.done = handle_sync_callback_done,
};

/*
 * Reads and dispatches what the compositor sent, waiting at most until `deadline` (a
 * CLOCK_MONOTONIC time in ms, or -1 for none); a signal on the signalfd sets c->stop.
 */
static enum wait_result dispatch_once(struct client *c, int64_t deadline) {
	if (wl_display_prepare_read(c->window.display) != 0) {
		// Events were already queued: handle them before sleeping.
		return wl_display_dispatch_pending(c->window.display) < 0 ? WAIT_ERROR : WAIT_OK;
	}
	struct pollfd fds[2] = {
		{.fd = wl_display_get_fd(c->window.display), .events = POLLIN},
		{.fd = c->signal_fd, .events = POLLIN},
	};
	// EPIPE is left to the read below, which picks up the protocol error that caused it.
	if (wl_display_flush(c->window.display) < 0 && errno == EAGAIN) {
		fds[0].events |= POLLOUT;
	}
	int timeout = -1;
	if (deadline >= 0) {
		int64_t left = deadline - now_ms();
		timeout = left < 0 ? 0 : (left > INT_MAX ? INT_MAX : (int)left);
	}
	int n = poll(fds, 2, timeout);
	if (n < 0) {
		wl_display_cancel_read(c->window.display);
		if (errno == EINTR) {
			return WAIT_OK;
		}
		fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
		return WAIT_ERROR;
	}
	if (fds[1].revents & POLLIN) {
		struct signalfd_siginfo info;
		if (read(c->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
			c->stop = true;
		}
	}
	if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
		if (wl_display_read_events(c->window.display) < 0) {
			return WAIT_ERROR;
		}
	} else {
		wl_display_cancel_read(c->window.display);
	}
	if (wl_display_dispatch_pending(c->window.display) < 0) {
		return WAIT_ERROR;
	}
	if (n == 0) {
		return WAIT_TIMEOUT;
	}
	return WAIT_OK;
}

static enum wait_result roundtrip(struct client *c, int64_t deadline) {
	struct wl_callback *callback = wl_display_sync(c->window.display);
	wl_callback_add_listener(callback, &sync_callback_listener, c);
	c->sync_done = false;
	while (!c->sync_done) {
		enum wait_result result = dispatch_once(c, deadline);
		if (result != WAIT_OK) {
			wl_callback_destroy(callback);
			return result;
		}
	}
	return WAIT_OK;
}

static void destroy_buffers(struct client *c) {
	for (size_t i = 0; i < MAX_BUFFERS; i++) {
		if (c->buffers[i].wl_buffer != NULL) {
			wl_buffer_destroy(c->buffers[i].wl_buffer);
		}
		c->buffers[i] = (struct buffer){0};
	}
}

static void destroy_pool(struct client *c) {
	destroy_buffers(c);
	if (c->pool != NULL) {
		wl_shm_pool_destroy(c->pool);
		c->pool = NULL;
	}
	if (c->pool_data != NULL) {
		munmap(c->pool_data, c->pool_size);
		c->pool_data = NULL;
	}
	if (c->pool_fd >= 0) {
		close(c->pool_fd);
		c->pool_fd = -1;
	}
	c->pool_size = 0;
}

// Grows the memfd and its mapping to `size` bytes, creating them the first time.
static bool grow_pool(struct client *c, size_t size) {
	if (c->pool_fd < 0) {
		c->pool_fd = memfd_create(PROG, MFD_CLOEXEC);
		if (c->pool_fd < 0) {
			fprintf(stderr, PROG ": memfd_create: %s\n", strerror(errno));
			return false;
		}
	}
	if (ftruncate(c->pool_fd, (off_t)size) < 0) {
		fprintf(stderr, PROG ": ftruncate: %s\n", strerror(errno));
		return false;
	}
	if (c->pool_data != NULL) {
		munmap(c->pool_data, c->pool_size);
		c->pool_data = NULL;
	}
	void *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c->pool_fd, 0);
	if (data == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap: %s\n", strerror(errno));
		return false;
	}
	c->pool_data = data;
	c->pool_size = size;
	if (c->pool == NULL) {
		c->pool = wl_shm_create_pool(c->window.shm, c->pool_fd, (int32_t)size);
	} else {
		wl_shm_pool_resize(c->pool, (int32_t)size);
	}
	return true;
}

/*
 * Makes the buffers and the model width x height: the pool grows if it must, the old buffers
 * go (the compositor keeps the one it shows until the next commit replaces it), and the next
 * frame repaints everything.
 */
static bool set_size(struct client *c, int32_t width, int32_t height) {
	enum wcp_format format = c->opts.pattern.format;
	if (!pool_size_fits(width, height, &c->opts)) {
		fprintf(stderr, PROG ": %" PRId32 "x%" PRId32 " is too large for the pool\n", width,
			height);
		return false;
	}
	struct wcp_pattern_image *model = pattern_image_create(format, width, height);
	if (model == NULL) {
		fprintf(stderr, PROG ": cannot allocate a %" PRId32 "x%" PRId32 " image\n", width,
			height);
		return false;
	}
	int32_t stride = (int32_t)row_stride(width, &c->opts);
	size_t buffer_size = (size_t)stride * (size_t)height;
	pattern_image_destroy(c->model);
	c->model = model;
	destroy_buffers(c);
	size_t needed = buffer_size * c->opts.buffers;
	if (needed > c->pool_size && !grow_pool(c, needed)) {
		return false;
	}
	for (uint32_t i = 0; i < c->opts.buffers; i++) {
		struct buffer *buffer = &c->buffers[i];
		buffer->offset = buffer_size * i;
		buffer->wl_buffer = wl_shm_pool_create_buffer(
			c->pool, (int32_t)buffer->offset, width, height, stride, (uint32_t)format);
		wl_buffer_add_listener(buffer->wl_buffer, &window_buffer_listener, &buffer->busy);
	}
	c->width = width;
	c->height = height;
	c->repaint_whole = true;
	return true;
}

static struct buffer *free_buffer(struct client *c) {
	for (uint32_t i = 0; i < c->opts.buffers; i++) {
		if (!c->buffers[i].busy) {
			return &c->buffers[i];
		}
	}
	return NULL;
}

// Applies a --resize of this frame, a fullscreen configure, or the first frame's size.
static bool prepare_size(struct client *c) {
	int32_t width = c->width, height = c->height;
	bool resize = false;
	if (c->width == 0) {
		width = c->opts.width;
		height = c->opts.height;
		resize = true;
	}
	const struct wcp_window *window = &c->window;
	if (c->opts.fullscreen && window->configures != c->configures_applied) {
		c->configures_applied = window->configures;
		if (window->configure_width > 0 && window->configure_height > 0 &&
			(window->configure_width != c->width ||
				window->configure_height != c->height)) {
			width = window->configure_width;
			height = window->configure_height;
			resize = true;
		}
	}
	for (size_t i = 0; i < c->opts.resize_count; i++) {
		const struct resize *r = &c->opts.resizes[i];
		if (r->frame == c->committed) {
			width = r->width;
			height = r->height;
			resize = true;
		}
	}
	if (!resize) {
		return true;
	}
	if (width == c->width && height == c->height) {
		// A --resize to the current size still restarts the content with a whole frame.
		c->repaint_whole = true;
		return true;
	}
	return set_size(c, width, height);
}

static void draw_frame(struct client *c, struct buffer *buffer) {
	struct wcp_pattern_image *model = c->model;
	uint32_t frame = c->committed;
	struct wcp_rect rects[WCP_DAMAGE_MAX_RECTS];
	size_t rect_count;
	if (c->repaint_whole) {
		rects[0] = (struct wcp_rect){0, 0, model->width, model->height};
		rect_count = 1;
		pattern_fill(&c->opts.pattern, frame, model->data, model->stride, &rects[0]);
		c->repaint_whole = false;
	} else {
		pattern_draw_frame(&c->opts.pattern, frame, model->data, model->stride,
			model->width, model->height);
		rect_count = pattern_damage(
			c->opts.pattern.damage, frame, model->width, model->height, rects);
	}
	size_t stride = (size_t)row_stride(model->width, &c->opts);
	if (stride == (size_t)model->stride) {
		memcpy(c->pool_data + buffer->offset, model->data,
			(size_t)model->stride * (size_t)model->height);
	} else {
		for (int32_t y = 0; y < model->height; y++) {
			memcpy(c->pool_data + buffer->offset + (size_t)y * stride,
				model->data + (size_t)y * (size_t)model->stride,
				(size_t)model->stride);
		}
	}

	wl_surface_attach(c->window.surface, buffer->wl_buffer, 0, 0);
	for (size_t i = 0; i < rect_count; i++) {
		const struct wcp_rect *r = &rects[i];
		if (c->window.compositor_version >= 4) {
			wl_surface_damage_buffer(
				c->window.surface, r->x, r->y, r->width, r->height);
		} else {
			wl_surface_damage(c->window.surface, r->x, r->y, r->width, r->height);
		}
	}
	if (c->opts.pacing == PACING_FRAME) {
		c->ack_callback = wl_surface_frame(c->window.surface);
		wl_callback_add_listener(c->ack_callback, &ack_callback_listener, c);
	}
	wl_surface_commit(c->window.surface);
	if (c->opts.pacing == PACING_SYNC) {
		c->ack_callback = wl_display_sync(c->window.display);
		wl_callback_add_listener(c->ack_callback, &ack_callback_listener, c);
	}
	buffer->busy = true;
	c->committed++;
}

/*
 * Draws the frames, each one after the previous one's acknowledgement, then waits for the last
 * acknowledgement. Returns -1 when done, or an exit status.
 */
static int run_frames(struct client *c) {
	const struct options *opts = &c->opts;
	int64_t deadline = opts->timeout_ms > 0 ? now_ms() + opts->timeout_ms : -1;
	bool stopping = false;
	while (true) {
		if ((c->stop || c->window.closed) && !stopping) {
			// Give the frame in flight a moment, so that a run ended by a signal can
			// still account for every frame it committed.
			stopping = true;
			int64_t grace = now_ms() + STOP_GRACE_MS;
			deadline = deadline < 0 || grace < deadline ? grace : deadline;
		}
		if (c->ack_callback == NULL &&
			(stopping || (opts->frames != 0 && c->committed == opts->frames))) {
			return -1;
		}
		if (c->ack_callback == NULL && c->window.configures > 0) {
			if (!prepare_size(c)) {
				return EXIT_FAILED;
			}
			struct buffer *buffer = free_buffer(c);
			if (buffer != NULL) {
				draw_frame(c, buffer);
				continue;
			}
		}
		uint32_t acked = c->acked;
		enum wait_result result = dispatch_once(c, deadline);
		if (result == WAIT_ERROR) {
			window_report_error(&c->window);
			return EXIT_CONNECTION;
		}
		if (result == WAIT_TIMEOUT) {
			if (stopping) {
				fprintf(stderr,
					PROG ": stopped before frame %" PRIu32
					     " was acknowledged\n",
					c->committed - 1);
			} else {
				// A compositor may keep the buffer it shows until another
				// one replaces it, which starves --buffers 1.
				bool starved = c->ack_callback == NULL &&
					c->window.configures > 0 && free_buffer(c) == NULL;
				fprintf(stderr,
					PROG ": timed out after %" PRIu32 " ms%s: frames=%" PRIu32
					     " acked=%" PRIu32 "\n",
					opts->timeout_ms,
					starved ? " waiting for a wl_buffer.release" : "",
					c->committed, c->acked);
			}
			return EXIT_FAILED;
		}
		if (opts->frames == 0 && opts->timeout_ms > 0 && c->acked != acked && !stopping) {
			deadline = now_ms() + opts->timeout_ms;
		}
	}
}

static bool write_ready_file(const struct client *c) {
	const char *path = c->opts.ready_file;
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, PROG ": --ready-file path too long\n");
		return false;
	}
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, PROG ": cannot create %s: %s\n", tmp, strerror(errno));
		return false;
	}
	fprintf(f, "frames=%" PRIu32 " acked=%" PRIu32 "\n", c->committed, c->acked);
	if (fclose(f) != 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path) < 0) {
		fprintf(stderr, PROG ": cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

static int connect_client(struct client *c) {
	if (!window_connect(&c->window, PROG, (uint32_t)c->opts.pattern.format)) {
		return EXIT_CONNECTION;
	}
	int64_t deadline = c->opts.timeout_ms > 0 ? now_ms() + c->opts.timeout_ms : -1;
	// The first roundtrip brings the globals, the second the wl_shm formats.
	for (int i = 0; i < 2; i++) {
		enum wait_result result = roundtrip(c, deadline);
		if (result == WAIT_ERROR) {
			window_report_error(&c->window);
			return EXIT_CONNECTION;
		}
		if (result == WAIT_TIMEOUT) {
			fprintf(stderr, PROG ": timed out waiting for the compositor\n");
			return EXIT_CONNECTION;
		}
	}
	switch (window_check_globals(&c->window)) {
	case WCP_WINDOW_GLOBALS_OK:
		break;
	case WCP_WINDOW_GLOBALS_MISSING:
		return EXIT_CONNECTION;
	case WCP_WINDOW_FORMAT_MISSING:
		fprintf(stderr, PROG ": the format is %s\n", format_name(c->opts.pattern.format));
		return EXIT_FORMAT;
	}
	window_create_toplevel(&c->window, c->opts.title, c->opts.app_id, c->opts.fullscreen);
	return -1;
}

static int hold(struct client *c) {
	while (!c->stop && !c->window.closed) {
		if (dispatch_once(c, -1) == WAIT_ERROR) {
			window_report_error(&c->window);
			return EXIT_CONNECTION;
		}
	}
	return -1;
}

static void destroy_client(struct client *c) {
	if (c->ack_callback != NULL) {
		wl_callback_destroy(c->ack_callback);
	}
	destroy_pool(c);
	pattern_image_destroy(c->model);
	window_finish(&c->window);
	if (c->signal_fd >= 0) {
		close(c->signal_fd);
	}
}

int main(int argc, char *argv[]) {
	struct client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_FAILED;
	}
	c->pool_fd = -1;
	c->signal_fd = -1;
	int status = parse_options(argc, argv, &c->opts);
	if (status >= 0) {
		free(c);
		return status;
	}

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) < 0 ||
		(c->signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, PROG ": cannot set up signal handling: %s\n", strerror(errno));
		status = EXIT_FAILED;
		goto out;
	}

	status = connect_client(c);
	if (status >= 0) {
		goto out;
	}
	status = run_frames(c);
	if (status >= 0) {
		goto out;
	}
	bool complete =
		c->acked == c->committed && (c->opts.frames == 0 || c->committed == c->opts.frames);
	if (c->opts.ready_file != NULL && complete && !write_ready_file(c)) {
		status = EXIT_FAILED;
		goto out;
	}
	if (c->opts.hold) {
		status = hold(c);
		if (status >= 0) {
			goto out;
		}
	}
	status = complete ? EXIT_OK : EXIT_FAILED;

out:
	printf(PROG ": frames=%" PRIu32 " acked=%" PRIu32 " size=%" PRId32 "x%" PRId32
		    " format=%s\n",
		c->committed, c->acked, c->width != 0 ? c->width : c->opts.width,
		c->height != 0 ? c->height : c->opts.height, format_name(c->opts.pattern.format));
	destroy_client(c);
	free(c);
	return status;
}
