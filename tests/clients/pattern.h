#ifndef WCP_TESTS_PATTERN_H
#define WCP_TESTS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * The deterministic content of the test clients, shared with the tests that
 * check what the compositor shows. A frame's content is a pure function of
 * (frame, x, y), and each frame repaints only its damage, so the expected
 * screen after N frames is computed by replaying the same frames into a
 * model image.
 */

/** Pixel formats drawn by the test clients; the values are wl_shm codes. */
enum wcp_format {
	WCP_FORMAT_ARGB8888 = 0,
	WCP_FORMAT_XRGB8888 = 1,
	WCP_FORMAT_RGB565 = 0x36314752,
};

/** What each frame after the first one repaints (frame 0 is always full). */
enum wcp_damage_mode {
	WCP_DAMAGE_FULL,
	WCP_DAMAGE_BAND, // one full-width band, a tenth of the height, moving down
	WCP_DAMAGE_RECTS, // 8 rectangles of 1/30 x 1/30 of the buffer (~1%)
	WCP_DAMAGE_PIXELS, // 16 single pixels
};

/** Most rectangles a frame's damage has. */
#define WCP_DAMAGE_MAX_RECTS 16

struct wcp_rect {
	int32_t x, y, width, height;
};

struct wcp_pattern {
	enum wcp_format format;
	enum wcp_damage_mode damage;
	bool solid; // fill with `color` instead of the moving pattern
	uint32_t color; // 0xAARRGGBB, premultiplied as wl_shm's ARGB8888; used when `solid`
};

/** A model of a buffer's pixels, in the pattern's format. */
struct wcp_pattern_image {
	enum wcp_format format;
	int32_t width, height, stride;
	uint8_t *data;
};

/** Bytes per pixel of a format, 0 for an unknown one. */
int32_t pattern_format_bpp(enum wcp_format format);

/** Parses "xrgb8888", "argb8888" or "rgb565"; false for anything else. */
bool pattern_format_parse(const char *name, enum wcp_format *format);

/** Parses "full", "band", "rects" or "pixels"; false for anything else. */
bool pattern_damage_parse(const char *name, enum wcp_damage_mode *mode);

/**
 * Writes the damage of `frame` for a width x height buffer into `out` and
 * returns how many rectangles it has (at most WCP_DAMAGE_MAX_RECTS). The
 * rectangles lie inside the buffer.
 */
size_t pattern_damage(enum wcp_damage_mode mode, uint32_t frame, int32_t width, int32_t height,
	struct wcp_rect out[static WCP_DAMAGE_MAX_RECTS]);

/** The 0xAARRGGBB colour that `frame` paints at (x, y). */
uint32_t pattern_color(const struct wcp_pattern *pattern, uint32_t frame, int32_t x, int32_t y);

/**
 * Paints `rect` of `frame` into pixels laid out as the pattern's format; the
 * rectangle must lie inside the pixels.
 */
void pattern_fill(const struct wcp_pattern *pattern, uint32_t frame, uint8_t *data, int32_t stride,
	const struct wcp_rect *rect);

/**
 * Fills `rect` of 32-bit pixels with one value, a pixel at a time, as a
 * simple client draws (the benchmark client and the benchmark's own
 * measurements of drawing share it); the rectangle must lie inside.
 */
void pattern_fill_solid(uint8_t *data, size_t stride, const struct wcp_rect *rect, uint32_t value);

/** Paints the whole damage of `frame` (a size of width x height) into data. */
void pattern_draw_frame(const struct wcp_pattern *pattern, uint32_t frame, uint8_t *data,
	int32_t stride, int32_t width, int32_t height);

/**
 * The colour a compositor shows for one stored, opaque pixel: X formats get
 * an opaque alpha, RGB565 is widened by replicating its high bits (as
 * pixman does). A translucent ARGB8888 pixel is returned as stored; what
 * shows depends on what lies under it.
 */
uint32_t pattern_pixel_to_argb(enum wcp_format format, const uint8_t *pixel);

/** Allocates a zeroed model image; NULL on failure. */
struct wcp_pattern_image *pattern_image_create(
	enum wcp_format format, int32_t width, int32_t height);
void pattern_image_destroy(struct wcp_pattern_image *image);

/**
 * Replays frames into the model as a client does: frame `first` painted
 * whole (a client's first frame, or its first after a resize), then frames
 * first+1 .. end-1 painted over their damage.
 */
void pattern_image_replay(struct wcp_pattern_image *image, const struct wcp_pattern *pattern,
	uint32_t first, uint32_t end);

/** The colour the model shows at (x, y), as pattern_pixel_to_argb. */
uint32_t pattern_image_argb(const struct wcp_pattern_image *image, int32_t x, int32_t y);

#endif
