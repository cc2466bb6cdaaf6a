#ifndef WCP_TESTS_SCENE_H
#define WCP_TESTS_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "weston.h"

/**
 * Weston's scene graph as `weston-debug scene-graph` prints it: one entry
 * per view, with its role, owner, title, app_id and position.
 */

struct wcp_scene_view {
	char role[32]; // "xdg_toplevel", "(null)", ...
	int pid;
	uint32_t surface_id;
	char title[128]; // empty when the view has none
	char app_id[128]; // empty when the view has none
	int32_t x1, y1, x2, y2; // position: (x1, y1) -> (x2, y2)
};

struct wcp_scene {
	size_t count;
	struct wcp_scene_view *views;
};

/** Parses the text weston-debug prints; false when it is not a scene graph. */
bool scene_parse(const char *text, struct wcp_scene *scene);

void scene_finish(struct wcp_scene *scene);

/** Reads weston's current scene graph; false on failure. */
bool weston_scene_read(struct wcp_weston *weston, struct wcp_scene *scene);

/** The first view matching every non-NULL field; NULL when none does. */
const struct wcp_scene_view *scene_find(
	const struct wcp_scene *scene, const char *role, const char *title, const char *app_id);

/**
 * Reads the scene graph until a view matches (as scene_find) or timeout_ms
 * passes. On success *out is the matching view; false on timeout.
 */
bool weston_scene_wait(struct wcp_weston *weston, const char *role, const char *title,
	const char *app_id, int timeout_ms, struct wcp_scene_view *out);

/**
 * Takes a screenshot with weston-screenshooter. When save_as is not NULL,
 * the PNG is also kept there. Ends the test with an error on failure.
 */
struct wcp_image *weston_screenshot(struct wcp_weston *weston, const char *save_as);

#endif
