#ifndef WCP_VIRTGPU_EMU_WIRE_H
#define WCP_VIRTGPU_EMU_WIRE_H

#include <stdint.h>

/**
 * The wire between the emu backend and wl-cross-emu. One SOCK_SEQPACKET
 * connection is one opened render node (one DRM file, one context).
 *
 * On accept, the emulator sends a wcp_emu_hello with one fd: the read end of
 * a pipe on which it writes 8-byte struct drm_event records, exactly as a
 * DRM fd yields them. Then every request is one message:
 *
 *   struct wcp_emu_request, arg_size bytes of the request's uAPI struct,
 *   extra_size bytes of the data its pointers point to (below),
 *
 * and gets one reply message:
 *
 *   struct wcp_emu_reply, arg_size bytes of the struct as the kernel leaves
 *   it, extra_size bytes of data for its output pointers.
 *
 * except an EXECBUFFER sent with WCP_EMU_POSTED, which gets no reply: as
 * the kernel does, the backend checks it (context, flags, ring index, GEM
 * handles) and returns once it is queued, and the emulator carries it out
 * in order with the requests around it. One the emulator still refuses
 * means the two disagree about the kernel's checks: it logs it and closes
 * the connection, which the guest sees as a lost device.
 *
 * Pointer data, by request:
 *   GETPARAM            reply extra: the int32 value
 *   GET_CAPS            reply extra: `size` bytes of the capset
 *   CONTEXT_INIT        request extra: num_params wcp_virtgpu_context_set_param
 *   RESOURCE_CREATE_BLOB request extra: cmd_size bytes of command
 *   EXECBUFFER          request extra: `size` command bytes, then
 *                       num_bo_handles uint32 handles
 *   PRIME_FD_TO_HANDLE  request carries the fd (SCM_RIGHTS)
 *   PRIME_HANDLE_TO_FD  reply carries the fd; its `fd` field is ignored
 *   MAP                 reply carries the blob's memory fd, to be mapped
 *                       at offset 0; the `offset` field is 0
 * Pointer fields inside the structs are passed as they are and ignored.
 */

#define WCP_EMU_MAGIC 0x45504357u // "WCPE"
#define WCP_EMU_VERSION 2u

/** Largest message either side sends. */
#define WCP_EMU_MAX_MESSAGE (128u * 1024u)

struct wcp_emu_hello {
	uint32_t magic;
	uint32_t version;
};

/** wcp_emu_request.flags: no reply (EXECBUFFER only). */
#define WCP_EMU_POSTED 1u

struct wcp_emu_request {
	uint32_t request; // the ioctl request number (WCP_IOCTL_*, DRM_IOCTL_*)
	uint32_t arg_size;
	uint32_t extra_size;
	uint32_t flags; // WCP_EMU_POSTED or 0
};

struct wcp_emu_reply {
	int32_t result; // 0 or -errno, as the ioctl would fail
	uint32_t arg_size;
	uint32_t extra_size;
	uint32_t pad;
};

_Static_assert(sizeof(struct wcp_emu_request) == 16, "request");
_Static_assert(sizeof(struct wcp_emu_reply) == 16, "reply");

#endif
