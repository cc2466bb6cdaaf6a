#include "virtgpu/device.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define DRM_DIR "/dev/dri"
#define RENDER_MINOR_FIRST 128
#define RENDER_MINOR_LAST 191
#define VIRTIO_GPU_DRIVER "virtio_gpu"

#define VMM_ADVICE \
	"start the VMM with a virtio-gpu device that has the cross-domain context type, " \
	"e.g. crosvm --gpu=context-types=cross-domain --wayland-sock PATH; " \
	"QEMU -device virtio-gpu-rutabaga-pci,cross-domain=on,hostmem=4G " \
	"(plus wayland-socket-path=PATH for a non-default socket); " \
	"libkrun: enable the GPU with krun_set_gpu_options2()"

struct wcp_virtgpu_drm {
	struct wcp_virtgpu_device base;
	int fd;
};

static struct wcp_virtgpu_drm *drm_from_device(struct wcp_virtgpu_device *device) {
	// base is the first member.
	return (struct wcp_virtgpu_drm *)device;
}

static int drm_ioctl(struct wcp_virtgpu_device *device, uint32_t request, void *arg) {
	struct wcp_virtgpu_drm *drm = drm_from_device(device);
	int ret;
	do {
		ret = ioctl(drm->fd, (unsigned long)request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static void *drm_map(struct wcp_virtgpu_device *device, uint32_t bo_handle, size_t size) {
	struct wcp_virtgpu_drm *drm = drm_from_device(device);
	struct drm_virtgpu_map arg = {.handle = bo_handle};
	int ret = drm_ioctl(device, WCP_IOCTL_VIRTGPU_MAP, &arg);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	void *ptr =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, drm->fd, (off_t)arg.offset);
	return ptr == MAP_FAILED ? NULL : ptr;
}

static void drm_destroy(struct wcp_virtgpu_device *device) {
	struct wcp_virtgpu_drm *drm = drm_from_device(device);
	close(drm->fd);
	free(drm);
}

static const struct wcp_virtgpu_device_impl drm_impl = {
	.name = "drm",
	.ioctl = drm_ioctl,
	.map = drm_map,
	.destroy = drm_destroy,
};

/**
 * The driver name of a DRM fd, into name (NUL-terminated, truncated to
 * size); 0 or -errno (-ENOTTY or -EINVAL when fd is not a DRM device).
 */
static int drm_driver_name(int fd, char *name, size_t size) {
	struct drm_version version = {
		.name_len = size - 1,
		.name = name,
	};
	int ret;
	do {
		ret = ioctl(fd, DRM_IOCTL_VERSION, &version);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	if (ret == -1) {
		return -errno;
	}
	// name_len is the full length; the kernel copied at most size - 1 bytes.
	size_t len = version.name_len < size - 1 ? version.name_len : size - 1;
	name[len] = '\0';
	return 0;
}

static struct wcp_virtgpu_device *drm_device_create(int fd, const char *path) {
	struct wcp_virtgpu_drm *drm = calloc(1, sizeof(*drm));
	if (drm == NULL) {
		wcp_log_errno(WCP_ERROR, "cannot allocate the device for %s", path);
		return NULL;
	}
	drm->base.impl = &drm_impl;
	drm->base.event_fd = fd;
	snprintf(drm->base.name, sizeof(drm->base.name), "%s", path);
	drm->fd = fd;
	return &drm->base;
}

/** The group owning path, for the permission advice; "render" if unknown. */
static void drm_node_group(const char *path, char *group, size_t size) {
	snprintf(group, size, "render");
	struct stat st;
	if (stat(path, &st) != 0) {
		return;
	}
	struct group grp;
	struct group *result = NULL;
	char buf[1024];
	if (getgrgid_r(st.st_gid, &grp, buf, sizeof(buf), &result) == 0 && result != NULL) {
		snprintf(group, size, "%s", result->gr_name);
	}
}

static void drm_log_permission_denied(const char *path) {
	char group[64];
	drm_node_group(path, group, sizeof(group));
	wcp_log(WCP_ERROR,
		"cannot open %s: permission denied; add the user to the '%s' group that owns it "
		"(e.g. usermod -aG %s USER, then log in again) or run with access to the node",
		path, group, group);
}

static struct wcp_virtgpu_device *drm_open_path(const char *path) {
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM) {
			drm_log_permission_denied(path);
		} else {
			wcp_log_errno(WCP_ERROR, "cannot open the render node %s", path);
		}
		return NULL;
	}
	char driver[64];
	int ret = drm_driver_name(fd, driver, sizeof(driver));
	if (ret < 0) {
		wcp_log(WCP_ERROR,
			"%s is not a DRM device (DRM_IOCTL_VERSION: %s); give a virtio_gpu render "
			"node such as %s/renderD128",
			path, strerror(-ret), DRM_DIR);
		goto error_fd;
	}
	if (strcmp(driver, VIRTIO_GPU_DRIVER) != 0) {
		wcp_log(WCP_ERROR,
			"%s is a DRM device of driver '%s', not virtio_gpu; give the virtio_gpu "
			"render node, or no path to search %s for it",
			path, driver, DRM_DIR);
		goto error_fd;
	}
	struct wcp_virtgpu_device *device = drm_device_create(fd, path);
	if (device == NULL) {
		goto error_fd;
	}
	return device;

error_fd:
	close(fd);
	return NULL;
}

static struct wcp_virtgpu_device *drm_search(void) {
	char denied[64] = "";
	char other[192] = "";
	for (int minor = RENDER_MINOR_FIRST; minor <= RENDER_MINOR_LAST; minor++) {
		char path[64];
		snprintf(path, sizeof(path), "%s/renderD%d", DRM_DIR, minor);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			if ((errno == EACCES || errno == EPERM) && denied[0] == '\0') {
				snprintf(denied, sizeof(denied), "%s", path);
			}
			continue;
		}
		char driver[64];
		if (drm_driver_name(fd, driver, sizeof(driver)) != 0) {
			close(fd);
			continue;
		}
		if (strcmp(driver, VIRTIO_GPU_DRIVER) == 0) {
			struct wcp_virtgpu_device *device = drm_device_create(fd, path);
			if (device == NULL) {
				close(fd);
			}
			return device;
		}
		if (other[0] == '\0') {
			snprintf(other, sizeof(other), " (%s is driver '%s')", path, driver);
		}
		close(fd);
	}
	if (denied[0] != '\0') {
		// The node we cannot open may well be the virtio_gpu one.
		drm_log_permission_denied(denied);
		return NULL;
	}
	struct stat st;
	if (stat(DRM_DIR, &st) != 0) {
		wcp_log(WCP_ERROR,
			"no virtio_gpu render node in %s (it does not exist): the VM has no virtio-gpu "
			"device; " VMM_ADVICE,
			DRM_DIR);
	} else {
		wcp_log(WCP_ERROR,
			"no virtio_gpu render node in %s%s: the VM has no virtio-gpu device, or the guest "
			"kernel lacks CONFIG_DRM_VIRTIO_GPU; " VMM_ADVICE,
			DRM_DIR, other);
	}
	return NULL;
}

struct wcp_virtgpu_device *virtgpu_drm_open(const char *path) {
	if (path != NULL) {
		return drm_open_path(path);
	}
	return drm_search();
}
