#include "wayland/interceptors.h"

#include <string.h>
#include <wayland-client-protocol.h>
#include <wayland-server-protocol.h>

#include "wayland/shm.h"
#include "viewporter-client-protocol.h"
#include "wayland/subsurface.h"
#include "wayland/surface.h"
#include "wayland/viewporter.h"

/*
 * Every guest request the relay rewrites over cross-domain, and every host
 * event it watches, in one place. Everything else crosses as it is
 * (wayland/forward.c).
 */
static const struct {
	const struct wl_interface *interface;
	uint32_t opcode;
	wcp_interceptor_func_t handle;
} interceptors[] = {
	{&wl_shm_interface, WL_SHM_CREATE_POOL, wl_shm_req_create_pool},
	{&wl_shm_pool_interface, WL_SHM_POOL_CREATE_BUFFER, wl_shm_pool_req_create_buffer},
	{&wl_shm_pool_interface, WL_SHM_POOL_RESIZE, wl_shm_pool_req_resize},
	{&wl_surface_interface, WL_SURFACE_ATTACH, wl_surface_req_attach},
	{&wl_surface_interface, WL_SURFACE_DAMAGE, wl_surface_req_damage},
	{&wl_surface_interface, WL_SURFACE_DAMAGE_BUFFER, wl_surface_req_damage_buffer},
	{&wl_surface_interface, WL_SURFACE_SET_BUFFER_SCALE, wl_surface_req_set_buffer_scale},
	{&wl_surface_interface, WL_SURFACE_SET_BUFFER_TRANSFORM,
		wl_surface_req_set_buffer_transform},
	{&wl_surface_interface, WL_SURFACE_COMMIT, wl_surface_req_commit},
	{&wl_subcompositor_interface, WL_SUBCOMPOSITOR_GET_SUBSURFACE,
		wl_subcompositor_req_get_subsurface},
	{&wl_subsurface_interface, WL_SUBSURFACE_SET_SYNC, wl_subsurface_req_set_sync},
	{&wl_subsurface_interface, WL_SUBSURFACE_SET_DESYNC, wl_subsurface_req_set_desync},
	{&wp_viewporter_interface, WP_VIEWPORTER_GET_VIEWPORT, wp_viewporter_req_get_viewport},
};

static const struct {
	const struct wl_interface *interface;
	uint32_t opcode;
	wcp_observer_func_t handle;
} observers[] = {
	{&wl_shm_interface, WL_SHM_FORMAT, wl_shm_evt_format},
};

wcp_interceptor_func_t interceptor_find(const struct wl_interface *interface, uint32_t opcode) {
	for (size_t i = 0; i < sizeof(interceptors) / sizeof(interceptors[0]); i++) {
		if (interceptors[i].interface == interface && interceptors[i].opcode == opcode) {
			return interceptors[i].handle;
		}
	}
	return NULL;
}

wcp_observer_func_t observer_find(const struct wl_interface *interface, uint32_t opcode) {
	for (size_t i = 0; i < sizeof(observers) / sizeof(observers[0]); i++) {
		if (observers[i].interface == interface && observers[i].opcode == opcode) {
			return observers[i].handle;
		}
	}
	return NULL;
}
