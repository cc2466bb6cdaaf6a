/* Blob resources: global ids, memfd memory, dormant after the last handle. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "log.h"

int emu_resource_memfd(uint64_t size) {
	int fd = memfd_create("wl-cross-emu-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		wcp_log_errno(WCP_ERROR, "memfd_create");
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		wcp_log_errno(
			WCP_ERROR, "cannot size a blob of %llu bytes", (unsigned long long)size);
		close(fd);
		return -1;
	}
	// A blob is memory of a fixed size, as in a VM: a guest that truncates
	// its fd must not make the emulator's own mapping (rings) fault.
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		wcp_log_errno(WCP_ERROR, "cannot seal a blob's size");
		close(fd);
		return -1;
	}
	return fd;
}

struct wcp_emu_resource *emu_resource_create(struct wcp_emu_host *host, struct wcp_emu_file *owner,
	uint32_t blob_mem, uint32_t blob_flags, uint64_t size, int fd) {
	struct stat st;
	if (fstat(fd, &st) < 0) {
		wcp_log_errno(WCP_ERROR, "fstat of a blob's memory");
		goto error_fd;
	}
	struct wcp_emu_resource *resource = calloc(1, sizeof(*resource));
	if (resource == NULL) {
		wcp_log(WCP_ERROR, "out of memory");
		goto error_fd;
	}
	resource->id = host->next_resource_id++;
	if (host->next_resource_id == 0) {
		host->next_resource_id = 1;
	}
	resource->blob_mem = blob_mem;
	resource->blob_flags = blob_flags;
	resource->size = size;
	resource->fd = fd;
	resource->dev = st.st_dev;
	resource->ino = st.st_ino;
	resource->handles = 1;
	resource->owner = owner;
	wl_list_insert(host->resources.prev, &resource->link);
	return resource;

error_fd:
	close(fd);
	return NULL;
}

struct wcp_emu_resource *emu_resource_find(struct wcp_emu_host *host, uint32_t id) {
	struct wcp_emu_resource *resource;
	wl_list_for_each(resource, &host->resources, link) {
		if (resource->id == id) {
			return resource;
		}
	}
	return NULL;
}

struct wcp_emu_resource *emu_resource_find_fd(struct wcp_emu_host *host, int fd) {
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return NULL;
	}
	struct wcp_emu_resource *resource;
	wl_list_for_each(resource, &host->resources, link) {
		if (resource->dev == st.st_dev && resource->ino == st.st_ino) {
			return resource;
		}
	}
	return NULL;
}

void *emu_resource_map(struct wcp_emu_resource *resource) {
	if (resource->map != NULL || resource->fd < 0) {
		return resource->map;
	}
	void *map = mmap(NULL, resource->size, PROT_READ | PROT_WRITE, MAP_SHARED, resource->fd, 0);
	if (map == MAP_FAILED) {
		wcp_log_errno(WCP_ERROR, "cannot map resource %u", resource->id);
		return NULL;
	}
	resource->map = map;
	return map;
}

static void resource_unmap(struct wcp_emu_resource *resource) {
	if (resource->map != NULL) {
		munmap(resource->map, resource->size);
		resource->map = NULL;
	}
}

static void resource_free(struct wcp_emu_resource *resource) {
	resource_unmap(resource);
	if (resource->fd >= 0) {
		close(resource->fd);
	}
	wl_list_remove(&resource->link);
	free(resource);
}

void emu_resource_unref(struct wcp_emu_resource *resource) {
	if (--resource->handles > 0) {
		return;
	}
	if (!resource->exported || resource->owner == NULL) {
		resource_free(resource);
		return;
	}
	resource_unmap(resource);
	close(resource->fd);
	resource->fd = -1;
}

void emu_resource_release_owner(struct wcp_emu_host *host, struct wcp_emu_file *owner) {
	struct wcp_emu_resource *resource, *tmp;
	wl_list_for_each_safe(resource, tmp, &host->resources, link) {
		if (resource->owner != owner) {
			continue;
		}
		resource->owner = NULL;
		if (resource->handles == 0) {
			resource_free(resource);
		}
	}
}

void emu_resource_destroy_all(struct wcp_emu_host *host) {
	struct wcp_emu_resource *resource, *tmp;
	wl_list_for_each_safe(resource, tmp, &host->resources, link) {
		resource_free(resource);
	}
}
