#include "scene.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/** Copies the text between `start` and `end` into dst, truncating. */
static void copy_span(char *dst, size_t size, const char *start, const char *end) {
	size_t len = (size_t)(end - start);
	if (len >= size) {
		len = size - 1;
	}
	memcpy(dst, start, len);
	dst[len] = '\0';
}

/*
 * A view's header line looks like
 *   View 0 (role xdg_toplevel, PID 2910, surface ID 3, top-level window
 *   'simple-shm' of org.freedesktop.weston.simple-shm, 0x55fbff674980):
 * (one line); the title and app_id parts depend on what the client set.
 */
static bool parse_view_header(const char *line, struct wcp_scene_view *view) {
	*view = (struct wcp_scene_view){0};
	const char *p = strstr(line, "(role ");
	if (p == NULL) {
		return false;
	}
	p += strlen("(role ");
	const char *comma = strchr(p, ',');
	if (comma == NULL) {
		return false;
	}
	copy_span(view->role, sizeof(view->role), p, comma);
	const char *pid = strstr(comma, "PID ");
	if (pid != NULL) {
		view->pid = (int)strtol(pid + 4, NULL, 10);
	}
	const char *sid = strstr(comma, "surface ID ");
	if (sid != NULL) {
		view->surface_id = (uint32_t)strtoul(sid + 11, NULL, 10);
	}
	const char *title = strstr(comma, "window '");
	const char *rest = comma;
	if (title != NULL) {
		title += strlen("window '");
		const char *end = strstr(title, "' of ");
		const char *end_plain = strstr(title, "',");
		if (end == NULL || (end_plain != NULL && end_plain < end)) {
			end = end_plain;
		}
		if (end != NULL) {
			copy_span(view->title, sizeof(view->title), title, end);
			rest = end + 1;
		}
	}
	if (strncmp(rest, " of ", 4) == 0) {
		const char *app = rest + 4;
		const char *end = strstr(app, ", 0x");
		if (end != NULL) {
			copy_span(view->app_id, sizeof(view->app_id), app, end);
		}
	}
	return true;
}

bool scene_parse(const char *text, struct wcp_scene *scene) {
	*scene = (struct wcp_scene){0};
	if (strstr(text, "scene graph") == NULL) {
		return false;
	}
	size_t cap = 0;
	struct wcp_scene_view *current = NULL;
	const char *line = text;
	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		char buf[1024];
		copy_span(buf, sizeof(buf), line, line + len);
		const char *s = buf + strspn(buf, "\t ");
		if (strncmp(s, "View ", 5) == 0) {
			if (scene->count == cap) {
				size_t bigger = cap ? cap * 2 : 8;
				struct wcp_scene_view *views =
					realloc(scene->views, bigger * sizeof(*views));
				if (views == NULL) {
					scene_finish(scene);
					return false;
				}
				scene->views = views;
				cap = bigger;
			}
			current = &scene->views[scene->count];
			if (parse_view_header(s, current)) {
				scene->count++;
			} else {
				current = NULL;
			}
		} else if (current != NULL && strncmp(s, "position:", 9) == 0) {
			int x1, y1, x2, y2;
			if (sscanf(s, "position: (%d, %d) -> (%d, %d)", &x1, &y1, &x2, &y2) == 4) {
				current->x1 = x1;
				current->y1 = y1;
				current->x2 = x2;
				current->y2 = y2;
			}
		}
		line += len;
		if (*line == '\n') {
			line++;
		}
	}
	return true;
}

void scene_finish(struct wcp_scene *scene) {
	free(scene->views);
	*scene = (struct wcp_scene){0};
}

bool weston_scene_read(struct wcp_weston *weston, struct wcp_scene *scene) {
	const char *argv[] = {"weston-debug", "scene-graph", NULL};
	const char *env[] = {weston->env_display, NULL};
	char *out;
	int code = proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 10000, &out);
	if (code != 0) {
		free(out);
		test_log("weston-debug scene-graph failed (exit code %d)", code);
		return false;
	}
	bool ok = scene_parse(out, scene);
	free(out);
	return ok;
}

const struct wcp_scene_view *scene_find(
	const struct wcp_scene *scene, const char *role, const char *title, const char *app_id) {
	for (size_t i = 0; i < scene->count; i++) {
		const struct wcp_scene_view *view = &scene->views[i];
		if ((role == NULL || strcmp(view->role, role) == 0) &&
			(title == NULL || strcmp(view->title, title) == 0) &&
			(app_id == NULL || strcmp(view->app_id, app_id) == 0)) {
			return view;
		}
	}
	return NULL;
}

bool weston_scene_wait(struct wcp_weston *weston, const char *role, const char *title,
	const char *app_id, int timeout_ms, struct wcp_scene_view *out) {
	long long deadline = proc_now_ms() + timeout_ms;
	do {
		struct wcp_scene scene;
		if (weston_scene_read(weston, &scene)) {
			const struct wcp_scene_view *view = scene_find(&scene, role, title, app_id);
			if (view != NULL) {
				*out = *view;
				scene_finish(&scene);
				return true;
			}
			scene_finish(&scene);
		}
		proc_sleep_ms(50);
	} while (proc_now_ms() < deadline);
	return false;
}

/** Finds the one PNG file in dir and writes its path; false when none. */
static bool find_png(const char *dir, char path[static PATH_MAX]) {
	DIR *d = opendir(dir);
	if (d == NULL) {
		return false;
	}
	bool found = false;
	struct dirent *entry;
	while (!found && (entry = readdir(d)) != NULL) {
		size_t len = strlen(entry->d_name);
		if (len > 4 && strcmp(entry->d_name + len - 4, ".png") == 0) {
			int len2 = snprintf(path, PATH_MAX, "%s/%s", dir, entry->d_name);
			found = len2 > 0 && len2 < PATH_MAX;
		}
	}
	closedir(d);
	return found;
}

struct wcp_image *weston_screenshot(struct wcp_weston *weston, const char *save_as) {
	if (!proc_have_program("weston-screenshooter")) {
		test_skip("weston-screenshooter is not installed (Debian package weston)");
	}
	// The tool names its file after the time of day, so each shot gets a
	// fresh directory to be found in.
	char dir[PATH_MAX];
	test_format(dir, sizeof(dir), "%s/shot-XXXXXX", weston->runtime_dir);
	if (mkdtemp(dir) == NULL) {
		test_error("mkdtemp %s: %s", dir, strerror(errno));
	}
	const char *argv[] = {"weston-screenshooter", NULL};
	const char *env[] = {weston->env_display, NULL};
	char *out;
	int code = proc_run_capture(
		argv, &(struct wcp_proc_opts){.env = env, .cwd = dir}, 10000, &out);
	free(out);
	char png[PATH_MAX];
	if (code != 0 || !find_png(dir, png)) {
		weston_dump_log(weston);
		test_error("weston-screenshooter failed (exit code %d)", code);
	}
	struct wcp_image *image = image_load_png(png);
	if (image == NULL) {
		test_error("cannot load the screenshot %s", png);
	}
	if (save_as != NULL && !image_save_png(image, save_as)) {
		test_log("cannot keep the screenshot as %s", save_as);
	}
	test_remove_tree(dir);
	return image;
}
