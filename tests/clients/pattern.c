#include "pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int32_t pattern_format_bpp(enum wcp_format format) {
	switch (format) {
	case WCP_FORMAT_ARGB8888:
	case WCP_FORMAT_XRGB8888:
		return 4;
	case WCP_FORMAT_RGB565:
		return 2;
	}
	return 0;
}

bool pattern_format_parse(const char *name, enum wcp_format *format) {
	static const struct {
		const char *name;
		enum wcp_format format;
	} names[] = {
		{"argb8888", WCP_FORMAT_ARGB8888},
		{"xrgb8888", WCP_FORMAT_XRGB8888},
		{"rgb565", WCP_FORMAT_RGB565},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*format = names[i].format;
			return true;
		}
	}
	return false;
}

bool pattern_damage_parse(const char *name, enum wcp_damage_mode *mode) {
	static const struct {
		const char *name;
		enum wcp_damage_mode mode;
	} names[] = {
		{"full", WCP_DAMAGE_FULL},
		{"band", WCP_DAMAGE_BAND},
		{"rects", WCP_DAMAGE_RECTS},
		{"pixels", WCP_DAMAGE_PIXELS},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*mode = names[i].mode;
			return true;
		}
	}
	return false;
}

static uint32_t mix(uint32_t frame, uint32_t index) {
	uint32_t h = frame * 0x9e3779b1u ^ (index + 1) * 0x85ebca77u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	h *= 0x297a2d39u;
	h ^= h >> 15;
	return h;
}

static int32_t max_i32(int32_t a, int32_t b) {
	return a > b ? a : b;
}

size_t pattern_damage(enum wcp_damage_mode mode, uint32_t frame, int32_t width, int32_t height,
	struct wcp_rect out[static WCP_DAMAGE_MAX_RECTS]) {
	if (width <= 0 || height <= 0) {
		return 0;
	}
	if (frame == 0 || mode == WCP_DAMAGE_FULL) {
		out[0] = (struct wcp_rect){0, 0, width, height};
		return 1;
	}
	switch (mode) {
	case WCP_DAMAGE_FULL:
		break;
	case WCP_DAMAGE_BAND: {
		int32_t band = max_i32(1, height / 10);
		int32_t step = max_i32(1, height / 23);
		int32_t span = height - band + 1;
		int32_t y = (int32_t)(((uint64_t)(frame - 1) * (uint64_t)step) % (uint64_t)span);
		out[0] = (struct wcp_rect){0, y, width, band};
		return 1;
	}
	case WCP_DAMAGE_RECTS: {
		int32_t rw = max_i32(1, width / 30);
		int32_t rh = max_i32(1, height / 30);
		for (uint32_t i = 0; i < 8; i++) {
			uint32_t h = mix(frame, i);
			out[i] = (struct wcp_rect){
				.x = (int32_t)(h % (uint32_t)(width - rw + 1)),
				.y = (int32_t)((h >> 16) % (uint32_t)(height - rh + 1)),
				.width = rw,
				.height = rh,
			};
		}
		return 8;
	}
	case WCP_DAMAGE_PIXELS:
		for (uint32_t i = 0; i < 16; i++) {
			uint32_t h = mix(frame, i + 100);
			out[i] = (struct wcp_rect){
				.x = (int32_t)(h % (uint32_t)width),
				.y = (int32_t)((h >> 16) % (uint32_t)height),
				.width = 1,
				.height = 1,
			};
		}
		return 16;
	}
	out[0] = (struct wcp_rect){0, 0, width, height};
	return 1;
}

uint32_t pattern_color(const struct wcp_pattern *pattern, uint32_t frame, int32_t x, int32_t y) {
	if (pattern->solid) {
		return pattern->color;
	}
	// Every channel moves by a multiple of 8 per frame, so consecutive
	// frames differ at every pixel even after RGB565's truncation.
	uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
	uint32_t r = (ux * 4 + frame * 16) & 0xff;
	uint32_t g = (uy * 4 + frame * 8) & 0xff;
	uint32_t b = ((ux ^ uy) + frame * 32) & 0xff;
	return 0xff000000u | r << 16 | g << 8 | b;
}

static void store(enum wcp_format format, uint8_t *pixel, uint32_t argb) {
	if (format == WCP_FORMAT_RGB565) {
		uint16_t v = (uint16_t)(((argb >> 8) & 0xf800) | ((argb >> 5) & 0x07e0) |
			((argb >> 3) & 0x001f));
		memcpy(pixel, &v, sizeof(v));
	} else {
		memcpy(pixel, &argb, sizeof(argb));
	}
}

void pattern_fill(const struct wcp_pattern *pattern, uint32_t frame, uint8_t *data, int32_t stride,
	const struct wcp_rect *rect) {
	int32_t bpp = pattern_format_bpp(pattern->format);
	for (int32_t y = rect->y; y < rect->y + rect->height; y++) {
		uint8_t *row = data + (size_t)y * (size_t)stride;
		for (int32_t x = rect->x; x < rect->x + rect->width; x++) {
			store(pattern->format, row + (size_t)x * (size_t)bpp,
				pattern_color(pattern, frame, x, y));
		}
	}
}

void pattern_draw_frame(const struct wcp_pattern *pattern, uint32_t frame, uint8_t *data,
	int32_t stride, int32_t width, int32_t height) {
	struct wcp_rect rects[WCP_DAMAGE_MAX_RECTS];
	size_t n = pattern_damage(pattern->damage, frame, width, height, rects);
	for (size_t i = 0; i < n; i++) {
		pattern_fill(pattern, frame, data, stride, &rects[i]);
	}
}

uint32_t pattern_pixel_to_argb(enum wcp_format format, const uint8_t *pixel) {
	switch (format) {
	case WCP_FORMAT_ARGB8888: {
		uint32_t v;
		memcpy(&v, pixel, sizeof(v));
		return v;
	}
	case WCP_FORMAT_XRGB8888: {
		uint32_t v;
		memcpy(&v, pixel, sizeof(v));
		return v | 0xff000000u;
	}
	case WCP_FORMAT_RGB565: {
		uint16_t v;
		memcpy(&v, pixel, sizeof(v));
		uint32_t r = (v >> 11) & 0x1f, g = (v >> 5) & 0x3f, b = v & 0x1f;
		r = r << 3 | r >> 2;
		g = g << 2 | g >> 4;
		b = b << 3 | b >> 2;
		return 0xff000000u | r << 16 | g << 8 | b;
	}
	}
	return 0;
}

struct wcp_pattern_image *pattern_image_create(
	enum wcp_format format, int32_t width, int32_t height) {
	int32_t bpp = pattern_format_bpp(format);
	if (bpp == 0 || width <= 0 || height <= 0 || width > INT32_MAX / bpp) {
		return NULL;
	}
	struct wcp_pattern_image *image = calloc(1, sizeof(*image));
	if (image == NULL) {
		return NULL;
	}
	image->format = format;
	image->width = width;
	image->height = height;
	image->stride = width * bpp;
	image->data = calloc((size_t)height, (size_t)image->stride);
	if (image->data == NULL) {
		free(image);
		return NULL;
	}
	return image;
}

void pattern_image_destroy(struct wcp_pattern_image *image) {
	if (image == NULL) {
		return;
	}
	free(image->data);
	free(image);
}

void pattern_image_replay(struct wcp_pattern_image *image, const struct wcp_pattern *pattern,
	uint32_t first, uint32_t end) {
	if (first >= end) {
		return;
	}
	struct wcp_rect whole = {0, 0, image->width, image->height};
	pattern_fill(pattern, first, image->data, image->stride, &whole);
	for (uint32_t frame = first + 1; frame < end; frame++) {
		pattern_draw_frame(
			pattern, frame, image->data, image->stride, image->width, image->height);
	}
}

uint32_t pattern_image_argb(const struct wcp_pattern_image *image, int32_t x, int32_t y) {
	int32_t bpp = pattern_format_bpp(image->format);
	return pattern_pixel_to_argb(image->format,
		image->data + (size_t)y * (size_t)image->stride + (size_t)x * (size_t)bpp);
}

void pattern_fill_solid(uint8_t *data, size_t stride, const struct wcp_rect *rect, uint32_t value) {
	for (int32_t y = rect->y; y < rect->y + rect->height; y++) {
		uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * stride) + rect->x;
		for (int32_t x = 0; x < rect->width; x++) {
			row[x] = value;
		}
	}
}
