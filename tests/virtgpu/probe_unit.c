/*
 * virtgpu_probe_report and virtgpu_probe_cross_domain against an in-process
 * fake device that answers GETPARAM and GET_CAPS like a kernel would: every
 * way the probe can fail yields its item and exactly one error line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "test.h"
#include "virtgpu/device.h"
#include "virtgpu/probe.h"

struct fake_device {
	struct wcp_virtgpu_device base;
	bool old_kernel; // GETPARAM CONTEXT_INIT and SUPPORTED_CAPSET_IDs: -EINVAL
	int32_t context_init;
	int32_t blob;
	int32_t host_visible;
	int32_t capset_ids;
	int get_caps_error; // -errno for GET_CAPS, 0 to answer
	struct wcp_cd_caps caps;
};

static int fake_ioctl(struct wcp_virtgpu_device *device, uint32_t request, void *arg) {
	struct fake_device *fake = (struct fake_device *)device;
	if (request == WCP_IOCTL_VIRTGPU_GETPARAM) {
		struct drm_virtgpu_getparam *param = arg;
		int32_t value;
		switch (param->param) {
		case WCP_VIRTGPU_PARAM_CAPSET_QUERY_FIX:
			value = 1;
			break;
		case WCP_VIRTGPU_PARAM_RESOURCE_BLOB:
			value = fake->blob;
			break;
		case WCP_VIRTGPU_PARAM_HOST_VISIBLE:
			value = fake->host_visible;
			break;
		case WCP_VIRTGPU_PARAM_CONTEXT_INIT:
			if (fake->old_kernel) {
				return -EINVAL;
			}
			value = fake->context_init;
			break;
		case WCP_VIRTGPU_PARAM_SUPPORTED_CAPSET_IDS:
			if (fake->old_kernel) {
				return -EINVAL;
			}
			value = fake->capset_ids;
			break;
		default:
			return -EINVAL;
		}
		memcpy((void *)(uintptr_t)param->value, &value, sizeof(value));
		return 0;
	}
	if (request == WCP_IOCTL_VIRTGPU_GET_CAPS) {
		struct drm_virtgpu_get_caps *get = arg;
		if (fake->get_caps_error != 0) {
			return fake->get_caps_error;
		}
		if (get->cap_set_id != WCP_VIRTGPU_CAPSET_CROSS_DOMAIN || get->cap_set_ver != 0 ||
			get->size != sizeof(fake->caps)) {
			return -EINVAL;
		}
		memcpy((void *)(uintptr_t)get->addr, &fake->caps, sizeof(fake->caps));
		return 0;
	}
	return -ENOTTY;
}

static void fake_destroy(struct wcp_virtgpu_device *device) {
	free(device);
}

static const struct wcp_virtgpu_device_impl fake_impl = {
	.name = "fake",
	.ioctl = fake_ioctl,
	.destroy = fake_destroy,
};

/** A device on which the probe for Wayland passes. */
static struct fake_device *fake_create(void) {
	struct fake_device *fake = calloc(1, sizeof(*fake));
	test_assert(fake != NULL);
	fake->base.impl = &fake_impl;
	fake->base.event_fd = -1;
	test_format(fake->base.name, sizeof(fake->base.name), "fake:%s", test_name());
	fake->context_init = 1;
	fake->blob = 1;
	fake->host_visible = 1;
	fake->capset_ids = 1 << 5;
	fake->caps = (struct wcp_cd_caps){
		.version = 1,
		.supported_channels = 1u << WCP_CD_CHANNEL_WAYLAND,
		.supports_dmabuf = 1,
	};
	return fake;
}

/**
 * Runs the probe for Wayland on fake, capturing its log, and checks that it
 * fails with exactly one error line containing each of the needles.
 */
static void expect_failure(struct fake_device *fake, const char *const *needles) {
	struct wcp_capture capture;
	struct wcp_cd_caps caps;
	capture_begin(&capture);
	bool ok = virtgpu_probe_cross_domain(&fake->base, WCP_CD_CHANNEL_WAYLAND, &caps);
	capture_end(&capture);
	virtgpu_device_destroy(&fake->base);
	test_assert(!ok);
	test_assert(capture_count_lines(&capture, " error ") == 1);
	for (size_t i = 0; needles[i] != NULL; i++) {
		if (strstr(capture.text, needles[i]) == NULL) {
			test_fail("the diagnostic lacks \"%s\"", needles[i]);
		}
	}
}

TEST(probe_passes_on_a_good_device) {
	struct fake_device *fake = fake_create();
	struct wcp_virtgpu_probe_item items[WCP_VIRTGPU_PROBE_MAX_ITEMS];
	struct wcp_cd_caps caps;
	size_t count = virtgpu_probe_report(
		&fake->base, WCP_CD_CHANNEL_WAYLAND, items, WCP_VIRTGPU_PROBE_MAX_ITEMS, &caps);
	test_assert(count == 7);
	for (size_t i = 0; i < count; i++) {
		test_log("%-45s %-7s %s", items[i].what, virtgpu_probe_state_name(items[i].state),
			items[i].detail);
		test_assert(items[i].state == WCP_VIRTGPU_PROBE_OK);
	}
	test_assert(caps.version == 1 && caps.supported_channels == 2);

	struct wcp_capture capture;
	capture_begin(&capture);
	memset(&caps, 0, sizeof(caps));
	bool ok = virtgpu_probe_cross_domain(&fake->base, WCP_CD_CHANNEL_WAYLAND, &caps);
	capture_end(&capture);
	test_assert(ok);
	test_assert(caps.version == 1 && caps.supports_dmabuf == 1);
	test_assert(capture_count_lines(&capture, " error ") == 0);
	test_assert(virtgpu_probe_cross_domain(&fake->base, WCP_CD_CHANNEL_NONE, NULL));
	virtgpu_device_destroy(&fake->base);
}

TEST(old_kernel_is_one_message) {
	struct fake_device *fake = fake_create();
	fake->old_kernel = true;
	struct wcp_virtgpu_probe_item items[WCP_VIRTGPU_PROBE_MAX_ITEMS];
	size_t count = virtgpu_probe_report(
		&fake->base, WCP_CD_CHANNEL_WAYLAND, items, WCP_VIRTGPU_PROBE_MAX_ITEMS, NULL);
	test_assert(count == 7);
	test_assert(items[0].state == WCP_VIRTGPU_PROBE_FAILED);
	for (size_t i = 1; i < count; i++) {
		test_assert(items[i].state == WCP_VIRTGPU_PROBE_NOT_RUN);
	}
	expect_failure(fake,
		(const char *const[]){
			"guest kernel lacks virtio-gpu context init: Linux 5.16 or newer is required",
			NULL});
}

TEST(device_without_context_types) {
	struct fake_device *fake = fake_create();
	fake->context_init = 0;
	fake->capset_ids = 0;
	expect_failure(fake,
		(const char *const[]){"offers no context types",
			"crosvm --gpu=context-types=cross-domain",
			"virtio-gpu-rutabaga-pci,cross-domain=on", NULL});
}

TEST(no_blob_resources) {
	struct fake_device *fake = fake_create();
	fake->blob = 0;
	expect_failure(fake, (const char *const[]){"does not offer blob resources", NULL});
}

TEST(no_host_visible_memory) {
	struct fake_device *fake = fake_create();
	fake->host_visible = 0;
	expect_failure(fake,
		(const char *const[]){"no host-visible memory window", "hostmem=", "pci-bar-size",
			"krun_set_gpu_options2", NULL});
}

TEST(no_cross_domain_capset) {
	struct fake_device *fake = fake_create();
	fake->capset_ids = (1 << 1) | (1 << 2); // virgl, virgl2
	expect_failure(fake,
		(const char *const[]){"no cross-domain capset (capset ids 0x6)",
			"not started with the cross-domain context type", NULL});
}

TEST(get_caps_refused) {
	struct fake_device *fake = fake_create();
	fake->get_caps_error = -EINVAL;
	expect_failure(fake, (const char *const[]){"GET_CAPS", "Invalid argument", NULL});
}

TEST(no_wayland_socket) {
	struct fake_device *fake = fake_create();
	fake->caps.supported_channels = 0;
	expect_failure(fake,
		(const char *const[]){
			"the host offers cross-domain but has no Wayland socket configured",
			"--wayland-sock", "wayland-socket-path=", "WAYLAND_DISPLAY", NULL});
}

TEST(independent_failures_are_each_reported) {
	struct fake_device *fake = fake_create();
	fake->blob = 0;
	fake->host_visible = 0;
	fake->caps.supported_channels = 1u << WCP_CD_CHANNEL_CAMERA;
	struct wcp_virtgpu_probe_item items[WCP_VIRTGPU_PROBE_MAX_ITEMS];
	size_t count = virtgpu_probe_report(
		&fake->base, WCP_CD_CHANNEL_WAYLAND, items, WCP_VIRTGPU_PROBE_MAX_ITEMS, NULL);
	size_t failed = 0;
	for (size_t i = 0; i < count; i++) {
		failed += items[i].state == WCP_VIRTGPU_PROBE_FAILED;
	}
	test_assert(failed == 3);
	// The camera channel is there: probing for it fails only on blob and host-visible.
	struct wcp_capture capture;
	capture_begin(&capture);
	bool ok = virtgpu_probe_cross_domain(&fake->base, WCP_CD_CHANNEL_CAMERA, NULL);
	capture_end(&capture);
	test_assert(!ok);
	test_assert(capture_count_lines(&capture, " error ") == 2);
	// A short array gets the first items; the count says how many there are.
	test_assert(
		virtgpu_probe_report(&fake->base, WCP_CD_CHANNEL_WAYLAND, items, 2, NULL) == count);
	virtgpu_device_destroy(&fake->base);
}

TEST(channel_names) {
	test_assert(strcmp(virtgpu_channel_name(WCP_CD_CHANNEL_WAYLAND), "wayland") == 0);
	test_assert(strcmp(virtgpu_channel_name(WCP_CD_CHANNEL_NONE), "none") == 0);
	test_assert(strcmp(virtgpu_channel_name(12345), "unknown") == 0);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
