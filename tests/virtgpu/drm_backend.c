/*
 * The drm backend on a machine without a virtio_gpu render node: each way
 * of failing to open one yields one error line that says what is wrong and
 * what to do. Also: the request numbers the backend sends agree with
 * libdrm's header and the kernel's values.
 */
#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "test.h"
#include "virtgpu/device.h"
#include "virtgpu/uapi.h"

static bool have_render_nodes(void) {
	DIR *dir = opendir("/dev/dri");
	if (dir == NULL) {
		return false;
	}
	bool found = false;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strncmp(entry->d_name, "renderD", strlen("renderD")) == 0) {
			found = true;
		}
	}
	closedir(dir);
	return found;
}

TEST(search_without_node_explains_vmm_setup) {
	bool have_dri = access("/dev/dri", F_OK) == 0;
	struct wcp_capture capture;
	capture_begin(&capture);
	struct wcp_virtgpu_device *device = virtgpu_drm_open(NULL);
	capture_end(&capture);
	if (device != NULL) {
		test_log("found %s", device->name);
		virtgpu_device_destroy(device);
		test_skip(
			"this machine has a virtio_gpu render node, so the absent case cannot run");
	}
	test_assert(capture_count_lines(&capture, " error ") == 1);
	if (have_dri && have_render_nodes() && strstr(capture.text, "permission denied") != NULL) {
		// A node we may not open could be the virtio_gpu one: the advice is the group.
		test_assert(strstr(capture.text, "group") != NULL);
		return;
	}
	test_assert(strstr(capture.text, "no virtio_gpu render node in /dev/dri") != NULL);
	test_assert(strstr(capture.text, "crosvm --gpu=context-types=cross-domain") != NULL);
	test_assert(strstr(capture.text, "virtio-gpu-rutabaga-pci,cross-domain=on") != NULL);
	test_assert(strstr(capture.text, "krun_set_gpu_options2") != NULL);
	if (!have_dri) {
		test_assert(strstr(capture.text, "does not exist") != NULL);
	}
}

TEST(dev_null_is_not_a_drm_device) {
	struct wcp_capture capture;
	capture_begin(&capture);
	struct wcp_virtgpu_device *device = virtgpu_drm_open("/dev/null");
	capture_end(&capture);
	test_assert(device == NULL);
	test_assert(capture_count_lines(&capture, " error ") == 1);
	test_assert(strstr(capture.text, "/dev/null is not a DRM device") != NULL);
	test_assert(strstr(capture.text, "renderD128") != NULL);
}

TEST(missing_path_is_named) {
	struct wcp_capture capture;
	capture_begin(&capture);
	struct wcp_virtgpu_device *device = virtgpu_drm_open("/nonexistent");
	capture_end(&capture);
	test_assert(device == NULL);
	test_assert(capture_count_lines(&capture, " error ") == 1);
	test_assert(strstr(capture.text, "/nonexistent") != NULL);
	test_assert(strstr(capture.text, "No such file or directory") != NULL);
}

TEST(device_open_routes_paths_to_drm) {
	struct wcp_capture capture;
	capture_begin(&capture);
	struct wcp_virtgpu_device *device = virtgpu_device_open("/dev/null");
	capture_end(&capture);
	test_assert(device == NULL);
	test_assert(strstr(capture.text, "/dev/null is not a DRM device") != NULL);
}

TEST(request_numbers_agree_with_libdrm) {
	test_assert(WCP_IOCTL_VIRTGPU_MAP == DRM_IOCTL_VIRTGPU_MAP);
	test_assert(WCP_IOCTL_VIRTGPU_GETPARAM == DRM_IOCTL_VIRTGPU_GETPARAM);
	test_assert(WCP_IOCTL_VIRTGPU_RESOURCE_INFO == DRM_IOCTL_VIRTGPU_RESOURCE_INFO);
	test_assert(WCP_IOCTL_VIRTGPU_WAIT == DRM_IOCTL_VIRTGPU_WAIT);
	test_assert(WCP_IOCTL_VIRTGPU_GET_CAPS == DRM_IOCTL_VIRTGPU_GET_CAPS);
	// libdrm's execbuffer struct is the 32-byte prefix: same request but for the size.
	test_assert(_IOC_NR(WCP_IOCTL_VIRTGPU_EXECBUFFER) == _IOC_NR(DRM_IOCTL_VIRTGPU_EXECBUFFER));
	test_assert(
		_IOC_TYPE(WCP_IOCTL_VIRTGPU_EXECBUFFER) == _IOC_TYPE(DRM_IOCTL_VIRTGPU_EXECBUFFER));
	test_assert(
		_IOC_DIR(WCP_IOCTL_VIRTGPU_EXECBUFFER) == _IOC_DIR(DRM_IOCTL_VIRTGPU_EXECBUFFER));
	test_assert(
		_IOC_SIZE(DRM_IOCTL_VIRTGPU_EXECBUFFER) == sizeof(struct drm_virtgpu_execbuffer));
	// The values of the kernel's uAPI (x86-64, arm64, riscv encodings).
	test_assert(WCP_IOCTL_VIRTGPU_MAP == 0xc0106441u);
	test_assert(WCP_IOCTL_VIRTGPU_EXECBUFFER == 0xc0406442u);
	test_assert(WCP_IOCTL_VIRTGPU_GETPARAM == 0xc0106443u);
	test_assert(WCP_IOCTL_VIRTGPU_RESOURCE_INFO == 0xc0106445u);
	test_assert(WCP_IOCTL_VIRTGPU_WAIT == 0xc0086448u);
	test_assert(WCP_IOCTL_VIRTGPU_GET_CAPS == 0xc0186449u);
	test_assert(WCP_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB == 0xc030644au);
	test_assert(WCP_IOCTL_VIRTGPU_CONTEXT_INIT == 0xc010644bu);
	// The generic DRM requests device.c takes from libdrm.
	test_assert(DRM_IOCTL_PRIME_HANDLE_TO_FD == 0xc00c642du);
	test_assert(DRM_IOCTL_PRIME_FD_TO_HANDLE == 0xc00c642eu);
	test_assert(DRM_IOCTL_GEM_CLOSE == 0x40086409u);
	test_assert(DRM_IOCTL_VERSION == _IOWR('d', 0x00, struct drm_version));
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
