#ifndef WCP_TESTS_IMAGE_H
#define WCP_TESTS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pattern.h"

/** An image of 0xAARRGGBB pixels, rows packed (stride = width). */
struct wcp_image {
	int32_t width, height;
	uint32_t *pixels;
};

/** Where two images first differ, and how many pixels do. */
struct wcp_image_diff {
	size_t count;
	int32_t x, y; // of the first difference, relative to the compared region
	uint32_t got, want;
};

/** A zeroed image; NULL on failure. */
struct wcp_image *image_create(int32_t width, int32_t height);
void image_destroy(struct wcp_image *image);

/** Reads a PNG file; NULL (with a message on stderr) on failure. */
struct wcp_image *image_load_png(const char *path);

/** Writes the image as a PNG file; false on failure. */
bool image_save_png(const struct wcp_image *image, const char *path);

/** The pixels a compositor shows for a pattern model, as an image. */
struct wcp_image *image_from_pattern(const struct wcp_pattern_image *model);

/** The pixel at (x, y); 0 outside the image. */
uint32_t image_get(const struct wcp_image *image, int32_t x, int32_t y);

/**
 * Counts the pixels in rect (clipped to the image) whose bits under `mask`
 * equal those of `argb`.
 */
size_t image_count_color(
	const struct wcp_image *image, struct wcp_rect rect, uint32_t argb, uint32_t mask);

/**
 * Compares the width x height region of `got` at (gx, gy) with the region
 * of `want` at (wx, wy), filling `diff`. A region that does not fit in both
 * images is unequal. Returns whether they are equal.
 */
bool image_region_equal(const struct wcp_image *got, int32_t gx, int32_t gy,
	const struct wcp_image *want, int32_t wx, int32_t wy, int32_t width, int32_t height,
	struct wcp_image_diff *diff);

#endif
