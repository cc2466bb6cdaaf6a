#include "virtgpu/probe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define CROSVM_CAPSET "crosvm --gpu=context-types=cross-domain"
#define QEMU_CAPSET "QEMU -device virtio-gpu-rutabaga-pci,cross-domain=on"

/* Channel types that only some hosts know (cross-domain.md §1.1). */
enum {
	PROBE_CHANNEL_PIPEWIRE = 0x10,
	PROBE_CHANNEL_X11 = 0x11,
};

const char *virtgpu_channel_name(uint32_t channel_type) {
	switch (channel_type) {
	case WCP_CD_CHANNEL_NONE:
		return "none";
	case WCP_CD_CHANNEL_WAYLAND:
		return "wayland";
	case WCP_CD_CHANNEL_CAMERA:
		return "camera";
	case PROBE_CHANNEL_PIPEWIRE:
		return "pipewire";
	case PROBE_CHANNEL_X11:
		return "x11";
	default:
		return "unknown";
	}
}

const char *virtgpu_probe_state_name(enum wcp_virtgpu_probe_state state) {
	switch (state) {
	case WCP_VIRTGPU_PROBE_OK:
		return "ok";
	case WCP_VIRTGPU_PROBE_FAILED:
		return "FAILED";
	case WCP_VIRTGPU_PROBE_NOT_RUN:
		return "not run";
	}
	return "?";
}

/** The list being filled; items past max are counted but not stored. */
struct probe_list {
	struct wcp_virtgpu_probe_item *items;
	size_t max;
	size_t count;
};

__attribute__((format(printf, 4, 5))) static enum wcp_virtgpu_probe_state probe_add(
	struct probe_list *list, const char *what, enum wcp_virtgpu_probe_state state,
	const char *fmt, ...) {
	if (list->count < list->max) {
		struct wcp_virtgpu_probe_item *item = &list->items[list->count];
		item->what = what;
		item->state = state;
		va_list args;
		va_start(args, fmt);
		vsnprintf(item->detail, sizeof(item->detail), fmt, args);
		va_end(args);
	}
	list->count++;
	return state;
}

static enum wcp_virtgpu_probe_state probe_not_run(
	struct probe_list *list, const char *what, const char *because) {
	return probe_add(list, what, WCP_VIRTGPU_PROBE_NOT_RUN, "needs: %s", because);
}

static const char what_context_init[] = "guest kernel and device support context init";
static const char what_query_fix[] = "guest kernel has the capset query fix";
static const char what_blob[] = "device supports blob resources";
static const char what_host_visible[] = "device has host-visible memory";
static const char what_capset[] = "device offers the cross-domain capset (5)";
static const char what_caps[] = "cross-domain capabilities readable";
static const char what_channel[] = "host has the requested channel configured";

/* GETPARAM returning -EINVAL means the kernel does not know the parameter. */
static enum wcp_virtgpu_probe_state probe_context_init(
	struct wcp_virtgpu_device *device, struct probe_list *list, bool *old_kernel) {
	int32_t value = 0;
	int ret = virtgpu_get_param(device, WCP_VIRTGPU_PARAM_CONTEXT_INIT, &value);
	*old_kernel = ret == -EINVAL;
	if (ret == -EINVAL) {
		return probe_add(list, what_context_init, WCP_VIRTGPU_PROBE_FAILED,
			"guest kernel lacks virtio-gpu context init: Linux 5.16 or newer is "
			"required; boot the VM with a newer kernel");
	}
	if (ret < 0) {
		return probe_add(list, what_context_init, WCP_VIRTGPU_PROBE_FAILED,
			"GETPARAM CONTEXT_INIT on %s failed: %s", device->name, strerror(-ret));
	}
	if (value == 0) {
		return probe_add(list, what_context_init, WCP_VIRTGPU_PROBE_FAILED,
			"the virtio-gpu device offers no context types (no context init): "
			"start the VMM with the cross-domain context type, e.g. " CROSVM_CAPSET
			" or " QEMU_CAPSET);
	}
	return probe_add(list, what_context_init, WCP_VIRTGPU_PROBE_OK, "yes");
}

static enum wcp_virtgpu_probe_state probe_query_fix(
	struct wcp_virtgpu_device *device, struct probe_list *list) {
	int32_t value = 0;
	int ret = virtgpu_get_param(device, WCP_VIRTGPU_PARAM_CAPSET_QUERY_FIX, &value);
	if (ret < 0 || value == 0) {
		return probe_add(list, what_query_fix, WCP_VIRTGPU_PROBE_FAILED,
			"the guest kernel reads capsets by index, not id (GETPARAM CAPSET_QUERY_FIX "
			"%s): Linux 5.16 or newer is required",
			ret < 0 ? strerror(-ret) : "is 0");
	}
	return probe_add(list, what_query_fix, WCP_VIRTGPU_PROBE_OK, "yes");
}

static enum wcp_virtgpu_probe_state probe_blob(
	struct wcp_virtgpu_device *device, struct probe_list *list) {
	int32_t value = 0;
	int ret = virtgpu_get_param(device, WCP_VIRTGPU_PARAM_RESOURCE_BLOB, &value);
	if (ret < 0) {
		return probe_add(list, what_blob, WCP_VIRTGPU_PROBE_FAILED,
			"GETPARAM RESOURCE_BLOB on %s failed: %s", device->name, strerror(-ret));
	}
	if (value == 0) {
		return probe_add(list, what_blob, WCP_VIRTGPU_PROBE_FAILED,
			"the virtio-gpu device does not offer blob resources: use a virtio-gpu "
			"device with blob support, e.g. " QEMU_CAPSET
			" (not plain virtio-gpu-pci) or crosvm --gpu");
	}
	return probe_add(list, what_blob, WCP_VIRTGPU_PROBE_OK, "yes");
}

static enum wcp_virtgpu_probe_state probe_host_visible(
	struct wcp_virtgpu_device *device, struct probe_list *list) {
	int32_t value = 0;
	int ret = virtgpu_get_param(device, WCP_VIRTGPU_PARAM_HOST_VISIBLE, &value);
	if (ret < 0) {
		return probe_add(list, what_host_visible, WCP_VIRTGPU_PROBE_FAILED,
			"GETPARAM HOST_VISIBLE on %s failed: %s", device->name, strerror(-ret));
	}
	if (value == 0) {
		return probe_add(list, what_host_visible, WCP_VIRTGPU_PROBE_FAILED,
			"the virtio-gpu device has no host-visible memory window, needed to map "
			"host buffers: QEMU: add hostmem=SIZE (e.g. hostmem=4G) to "
			"virtio-gpu-rutabaga-pci; crosvm: the --gpu pci-bar-size window; libkrun: a "
			"non-zero shm_size in krun_set_gpu_options2()");
	}
	return probe_add(list, what_host_visible, WCP_VIRTGPU_PROBE_OK, "yes");
}

static enum wcp_virtgpu_probe_state probe_capset(
	struct wcp_virtgpu_device *device, struct probe_list *list) {
	int32_t mask = 0;
	int ret = virtgpu_get_param(device, WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS, &mask);
	if (ret < 0) {
		return probe_add(list, what_capset, WCP_VIRTGPU_PROBE_FAILED,
			"GETPARAM SUPPORTED_CAPSET_IDs on %s failed: %s", device->name,
			strerror(-ret));
	}
	if (((uint32_t)mask & (1u << WCP_VIRTGPU_CAPSET_CROSS_DOMAIN)) == 0) {
		return probe_add(list, what_capset, WCP_VIRTGPU_PROBE_FAILED,
			"the virtio-gpu device offers no cross-domain capset (capset ids 0x%x): the "
			"VMM was not started with the cross-domain context type; use e.g. " CROSVM_CAPSET
			" or " QEMU_CAPSET,
			(uint32_t)mask);
	}
	return probe_add(
		list, what_capset, WCP_VIRTGPU_PROBE_OK, "capset ids 0x%x", (uint32_t)mask);
}

static enum wcp_virtgpu_probe_state probe_caps(
	struct wcp_virtgpu_device *device, struct probe_list *list, struct wcp_cd_caps *caps) {
	int ret = virtgpu_get_caps(
		device, WCP_VIRTGPU_CAPSET_CROSS_DOMAIN, 0, caps, (uint32_t)sizeof(*caps));
	if (ret < 0) {
		memset(caps, 0, sizeof(*caps));
		// EINVAL: the host has no cross-domain capset or context init (WPV #48, #51).
		return probe_add(list, what_caps, WCP_VIRTGPU_PROBE_FAILED,
			"GET_CAPS for the cross-domain capset failed (%s): the host does not serve "
			"cross-domain; start the VMM with the cross-domain context type, e.g. " CROSVM_CAPSET
			" or " QEMU_CAPSET,
			strerror(-ret));
	}
	return probe_add(list, what_caps, WCP_VIRTGPU_PROBE_OK,
		"version %u, channels 0x%x, dmabuf %u", caps->version, caps->supported_channels,
		caps->supports_dmabuf);
}

static enum wcp_virtgpu_probe_state probe_channel(
	struct probe_list *list, uint32_t channel_type, const struct wcp_cd_caps *caps) {
	const char *name = virtgpu_channel_name(channel_type);
	if (channel_type == WCP_CD_CHANNEL_NONE) {
		return probe_add(list, what_channel, WCP_VIRTGPU_PROBE_OK, "none needed");
	}
	if (channel_type >= 32) {
		return probe_add(list, what_channel, WCP_VIRTGPU_PROBE_FAILED,
			"channel type %u cannot be advertised by a host", channel_type);
	}
	if ((caps->supported_channels & (1u << channel_type)) != 0) {
		return probe_add(list, what_channel, WCP_VIRTGPU_PROBE_OK, "%s (type %u)", name,
			channel_type);
	}
	if (channel_type == WCP_CD_CHANNEL_WAYLAND) {
		return probe_add(list, what_channel, WCP_VIRTGPU_PROBE_FAILED,
			"the host offers cross-domain but has no Wayland socket configured "
			"(channels 0x%x): crosvm --wayland-sock PATH; QEMU: wayland-socket-path=PATH "
			"on virtio-gpu-rutabaga-pci; libkrun: XDG_RUNTIME_DIR and WAYLAND_DISPLAY of "
			"the VMM process",
			caps->supported_channels);
	}
	return probe_add(list, what_channel, WCP_VIRTGPU_PROBE_FAILED,
		"the host offers cross-domain but no %s channel (type %u; channels 0x%x): "
		"configure that socket in the VMM",
		name, channel_type, caps->supported_channels);
}

size_t virtgpu_probe_report(struct wcp_virtgpu_device *device, uint32_t channel_type,
	struct wcp_virtgpu_probe_item *items, size_t max, struct wcp_cd_caps *caps) {
	struct probe_list list = {.items = items, .max = max};
	struct wcp_cd_caps local_caps = {0};
	if (caps == NULL) {
		caps = &local_caps;
	}
	memset(caps, 0, sizeof(*caps));

	bool old_kernel = false;
	bool context_ok = probe_context_init(device, &list, &old_kernel) == WCP_VIRTGPU_PROBE_OK;
	if (old_kernel) {
		// Every later parameter or request would fail for the same reason.
		static const char why[] = "a guest kernel with context init";
		probe_not_run(&list, what_query_fix, why);
		probe_not_run(&list, what_blob, why);
		probe_not_run(&list, what_host_visible, why);
		probe_not_run(&list, what_capset, why);
		probe_not_run(&list, what_caps, why);
		probe_not_run(&list, what_channel, why);
		return list.count;
	}
	probe_query_fix(device, &list);
	probe_blob(device, &list);
	probe_host_visible(device, &list);
	if (!context_ok) {
		static const char why[] = "context init";
		probe_not_run(&list, what_capset, why);
		probe_not_run(&list, what_caps, why);
		probe_not_run(&list, what_channel, why);
		return list.count;
	}
	if (probe_capset(device, &list) != WCP_VIRTGPU_PROBE_OK) {
		static const char why[] = "the cross-domain capset";
		probe_not_run(&list, what_caps, why);
		probe_not_run(&list, what_channel, why);
		return list.count;
	}
	if (probe_caps(device, &list, caps) != WCP_VIRTGPU_PROBE_OK) {
		probe_not_run(&list, what_channel, "the cross-domain capabilities");
		return list.count;
	}
	probe_channel(&list, channel_type, caps);
	return list.count;
}

bool virtgpu_probe_cross_domain(
	struct wcp_virtgpu_device *device, uint32_t channel_type, struct wcp_cd_caps *caps) {
	struct wcp_virtgpu_probe_item items[WCP_VIRTGPU_PROBE_MAX_ITEMS];
	struct wcp_cd_caps local_caps;
	if (caps == NULL) {
		caps = &local_caps;
	}
	size_t count = virtgpu_probe_report(
		device, channel_type, items, WCP_VIRTGPU_PROBE_MAX_ITEMS, caps);
	bool ok = true;
	for (size_t i = 0; i < count && i < WCP_VIRTGPU_PROBE_MAX_ITEMS; i++) {
		if (items[i].state == WCP_VIRTGPU_PROBE_FAILED) {
			wcp_log(WCP_ERROR, "%s: %s", device->name, items[i].detail);
		}
		if (items[i].state != WCP_VIRTGPU_PROBE_OK) {
			ok = false;
		}
	}
	if (ok) {
		wcp_log(WCP_DEBUG,
			"%s: cross-domain %s channel available (version %u, channels 0x%x)",
			device->name, virtgpu_channel_name(channel_type), caps->version,
			caps->supported_channels);
	}
	return ok;
}
