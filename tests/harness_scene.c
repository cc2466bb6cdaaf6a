/* The scene graph of a real headless weston shows who is on screen, and where. */
#include <string.h>

#include "proc.h"
#include "scene.h"
#include "shm_client.h"
#include "test.h"
#include "weston.h"

TEST(stock_simple_shm_appears) {
	if (!proc_have_program("weston-simple-shm")) {
		test_skip("weston-simple-shm is not installed (Debian package weston)");
	}
	struct wcp_weston *weston = weston_start(NULL);
	const char *argv[] = {"weston-simple-shm", NULL};
	const char *env[] = {weston->env_display, NULL};
	struct wcp_proc *client = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	test_assert(client != NULL);
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "simple-shm", NULL, 10000, &view));
	test_assert(view.pid == client->pid);
	test_assert(strcmp(view.app_id, "org.freedesktop.weston.simple-shm") == 0);
	test_assert(view.x2 - view.x1 == 250 && view.y2 - view.y1 == 250);
	test_assert(proc_alive(client));
	proc_stop(client, WCP_PROC_GRACE_MS);
	weston_stop(weston);
}

TEST(own_client_title_app_id_and_size) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *args[] = {"--size", "200x150", "--title", "scene check", "--app-id",
		"org.example.scene", "--frames", "2", NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	struct wcp_scene scene;
	test_assert(weston_scene_read(weston, &scene));
	const struct wcp_scene_view *view =
		scene_find(&scene, "xdg_toplevel", "scene check", "org.example.scene");
	test_assert(view != NULL);
	test_assert(view->pid == client->proc->pid);
	test_assert(view->x2 - view->x1 == 200 && view->y2 - view->y1 == 150);
	test_assert(view->x1 >= 0 && view->x2 <= 640 && view->y1 >= 0 && view->y2 <= 480);
	scene_finish(&scene);
	test_assert(shm_client_stop(client) == 0);

	// Once the client is gone, so is its view.
	test_assert(weston_scene_read(weston, &scene));
	test_assert(scene_find(&scene, "xdg_toplevel", "scene check", NULL) == NULL);
	scene_finish(&scene);
	weston_stop(weston);
}

TEST(fullscreen_client_covers_the_output) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){400, 300, NULL});
	const char *args[] = {"--fullscreen", "--title", "full", "--frames", "2", NULL};
	struct wcp_shm_client *client = shm_client_start(weston->env_display, args);
	test_assert(shm_client_wait_ready(client, 20000));
	struct wcp_scene_view view;
	test_assert(weston_scene_wait(weston, "xdg_toplevel", "full", NULL, 5000, &view));
	test_assert(view.x1 == 0 && view.y1 == 0 && view.x2 == 400 && view.y2 == 300);
	test_assert(shm_client_stop(client) == 0);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
