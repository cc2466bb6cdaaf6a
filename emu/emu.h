#ifndef WCP_EMU_EMU_H
#define WCP_EMU_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

/**
 * wl-cross-emu: a userspace stand-in for the guest kernel's virtio-gpu
 * driver and a rutabaga cross-domain host. One connection of the emu
 * backend is one opened render node (struct wcp_emu_file, device.c); its
 * context's cross-domain host side is struct wcp_emu_cd (cross_domain.c);
 * resources are global (resource.c), as virtio-gpu resource ids are.
 */

/** How the emulated VM is set up (the command line). */
struct wcp_emu_config {
	bool context_init; // GETPARAM CONTEXT_INIT
	bool resource_blob; // GETPARAM RESOURCE_BLOB
	bool host_visible; // GETPARAM HOST_VISIBLE
	uint64_t capsets; // GETPARAM SUPPORTED_CAPSET_IDs
	const char *wayland_path; // the host compositor's socket; NULL: none configured
	bool short_images; // image requirements of one page, whatever the image
	bool stalled_images; // image requirement queries never complete
	bool blank_fences; // every other channel fence signalled at once, with no event written
};

struct wcp_emu_host {
	struct wl_event_loop *loop;
	struct wcp_emu_config config;
	struct wl_list resources; // wcp_emu_resource.link
	uint32_t next_resource_id;
	struct wl_list draining; // host write pipes of closed contexts, still being written
	struct wl_list read_pipes; // every context's read pipes (wcp_emu_read_pipe.host_link)
};

struct wcp_emu_file;

/**
 * A blob resource. Its memory is a memfd; while no GEM handle refers to
 * it but a dma-buf of it was exported, the memfd is closed (the guest's
 * dma-buf fds keep the memory) and the resource is "dormant": importing
 * one of those fds gives it its memory back.
 */
struct wcp_emu_resource {
	struct wl_list link;
	uint32_t id;
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint64_t size;
	int fd; // -1 while dormant
	void *map; // the emulator's own mapping (rings), made at first use; NULL if none
	dev_t dev;
	ino_t ino;
	unsigned int handles; // GEM handles on it, over all files
	bool exported;
	bool stalled; // named by a submission that never completes: WAIT finds it busy
	struct wcp_emu_file *owner; // the file that created it; NULL once that closed
};

/* resource.c */

/** A new resource owning memfd `fd` (taken, closed on failure); NULL (logged) on failure. */
struct wcp_emu_resource *emu_resource_create(struct wcp_emu_host *host, struct wcp_emu_file *owner,
	uint32_t blob_mem, uint32_t blob_flags, uint64_t size, int fd);

struct wcp_emu_resource *emu_resource_find(struct wcp_emu_host *host, uint32_t id);

/** The resource whose memory `fd` is (same file), or NULL. */
struct wcp_emu_resource *emu_resource_find_fd(struct wcp_emu_host *host, int fd);

/** The emulator's mapping of the whole resource, made once; NULL (logged) on failure. */
void *emu_resource_map(struct wcp_emu_resource *resource);

/** Drops one GEM handle: the resource is freed or goes dormant when it was the last. */
void emu_resource_unref(struct wcp_emu_resource *resource);

/** A file closes: forgets its dormant resources and its ownership of the others. */
void emu_resource_release_owner(struct wcp_emu_host *host, struct wcp_emu_file *owner);

/** Frees every resource (at exit). */
void emu_resource_destroy_all(struct wcp_emu_host *host);

/** A memfd of `size` bytes (CLOEXEC); -1 (logged) on failure. */
int emu_resource_memfd(uint64_t size);

/* device.c */

/** A new DRM file; *event_fd gets the read end of its event pipe (the caller sends and closes it). */
struct wcp_emu_file *emu_device_file_create(struct wcp_emu_host *host, int *event_fd);

void emu_device_file_destroy(struct wcp_emu_file *file);

/** What a request leaves for the reply. */
struct wcp_emu_answer {
	void *extra; // WCP_EMU_MAX_MESSAGE - headers bytes of room
	size_t extra_max;
	size_t extra_size;
	int fd; // -1: none; the caller sends and closes it
};

/** The request's result (0 or -errno); WCP_EMU_MALFORMED closes the connection. */
#define WCP_EMU_MALFORMED 1

/**
 * Performs one request; arg (arg_size bytes) is updated in place. extra is
 * the request's pointer data, fd the fd it carried (-1; closed by the caller).
 */
int emu_device_request(struct wcp_emu_file *file, uint32_t request, void *arg, size_t arg_size,
	const uint8_t *extra, size_t extra_size, int fd, struct wcp_emu_answer *answer);

/** The resource with this id if this file's context has it attached (holds a GEM handle). */
struct wcp_emu_resource *emu_device_attached(struct wcp_emu_file *file, uint32_t res_id);

/** A fence of ring `ring` was signalled by the host: queue its event if the ring is polled. */
void emu_device_fence_signalled(struct wcp_emu_file *file, uint32_t ring);

/* cross_domain.c */

struct wcp_emu_cd;

struct wcp_emu_cd *emu_cross_domain_create(struct wcp_emu_host *host, struct wcp_emu_file *file);

void emu_cross_domain_destroy(struct wcp_emu_cd *cd);

/** Frees the host write pipes that closed contexts left to drain (at exit). */
void emu_cross_domain_host_finish(struct wcp_emu_host *host);

/**
 * Processes the commands of one EXECBUFFER (all errors are host-side:
 * logged). False when the host leaves one of them unfinished for ever
 * (--stalled-images): the submission's fence never signals.
 */
bool emu_cross_domain_submit(struct wcp_emu_cd *cd, const uint8_t *commands, size_t size);

/** A fence on `ring` was created after a submission. */
void emu_cross_domain_fence(struct wcp_emu_cd *cd, uint32_t ring);

/**
 * RESOURCE_CREATE_BLOB of a host item: *fd gets the memory for a new
 * resource of `size` bytes; -EINVAL for an unknown item or a size mismatch.
 */
int emu_cross_domain_blob(struct wcp_emu_cd *cd, uint64_t blob_id, uint64_t size, int *fd);

#endif
