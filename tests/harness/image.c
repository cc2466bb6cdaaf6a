#include "image.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wcp_image *image_create(int32_t width, int32_t height) {
	if (width <= 0 || height <= 0) {
		return NULL;
	}
	struct wcp_image *image = calloc(1, sizeof(*image));
	if (image == NULL) {
		return NULL;
	}
	image->width = width;
	image->height = height;
	image->pixels = calloc((size_t)width * (size_t)height, sizeof(*image->pixels));
	if (image->pixels == NULL) {
		free(image);
		return NULL;
	}
	return image;
}

void image_destroy(struct wcp_image *image) {
	if (image == NULL) {
		return;
	}
	free(image->pixels);
	free(image);
}

struct wcp_image *image_load_png(const char *path) {
	png_image png = {.version = PNG_IMAGE_VERSION};
	if (!png_image_begin_read_from_file(&png, path)) {
		fprintf(stderr, "cannot read %s: %s\n", path, png.message);
		return NULL;
	}
	// BGRA in memory is 0xAARRGGBB in a little-endian uint32_t.
	png.format = PNG_FORMAT_BGRA;
	struct wcp_image *image = image_create((int32_t)png.width, (int32_t)png.height);
	if (image == NULL) {
		png_image_free(&png);
		return NULL;
	}
	if (!png_image_finish_read(&png, NULL, image->pixels, 0, NULL)) {
		fprintf(stderr, "cannot decode %s: %s\n", path, png.message);
		image_destroy(image);
		return NULL;
	}
	return image;
}

bool image_save_png(const struct wcp_image *image, const char *path) {
	png_image png = {
		.version = PNG_IMAGE_VERSION,
		.width = (png_uint_32)image->width,
		.height = (png_uint_32)image->height,
		.format = PNG_FORMAT_BGRA,
	};
	if (!png_image_write_to_file(&png, path, 0, image->pixels, 0, NULL)) {
		fprintf(stderr, "cannot write %s: %s\n", path, png.message);
		return false;
	}
	return true;
}

struct wcp_image *image_from_pattern(const struct wcp_pattern_image *model) {
	struct wcp_image *image = image_create(model->width, model->height);
	if (image == NULL) {
		return NULL;
	}
	for (int32_t y = 0; y < model->height; y++) {
		for (int32_t x = 0; x < model->width; x++) {
			image->pixels[(size_t)y * (size_t)model->width + (size_t)x] =
				pattern_image_argb(model, x, y);
		}
	}
	return image;
}

uint32_t image_get(const struct wcp_image *image, int32_t x, int32_t y) {
	if (x < 0 || y < 0 || x >= image->width || y >= image->height) {
		return 0;
	}
	return image->pixels[(size_t)y * (size_t)image->width + (size_t)x];
}

size_t image_count_color(
	const struct wcp_image *image, struct wcp_rect rect, uint32_t argb, uint32_t mask) {
	int32_t x0 = rect.x < 0 ? 0 : rect.x;
	int32_t y0 = rect.y < 0 ? 0 : rect.y;
	int32_t x1 = rect.x + rect.width > image->width ? image->width : rect.x + rect.width;
	int32_t y1 = rect.y + rect.height > image->height ? image->height : rect.y + rect.height;
	size_t count = 0;
	for (int32_t y = y0; y < y1; y++) {
		const uint32_t *row = image->pixels + (size_t)y * (size_t)image->width;
		for (int32_t x = x0; x < x1; x++) {
			if (((row[x] ^ argb) & mask) == 0) {
				count++;
			}
		}
	}
	return count;
}

static bool region_fits(
	const struct wcp_image *image, int32_t x, int32_t y, int32_t width, int32_t height) {
	return x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= image->width &&
		y + height <= image->height;
}

bool image_region_equal(const struct wcp_image *got, int32_t gx, int32_t gy,
	const struct wcp_image *want, int32_t wx, int32_t wy, int32_t width, int32_t height,
	struct wcp_image_diff *diff) {
	*diff = (struct wcp_image_diff){0};
	if (!region_fits(got, gx, gy, width, height) || !region_fits(want, wx, wy, width, height)) {
		diff->count = (size_t)-1;
		return false;
	}
	for (int32_t y = 0; y < height; y++) {
		for (int32_t x = 0; x < width; x++) {
			uint32_t g = image_get(got, gx + x, gy + y);
			uint32_t w = image_get(want, wx + x, wy + y);
			if (g == w) {
				continue;
			}
			if (diff->count == 0) {
				diff->x = x;
				diff->y = y;
				diff->got = g;
				diff->want = w;
			}
			diff->count++;
		}
	}
	return diff->count == 0;
}
