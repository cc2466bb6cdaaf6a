#ifndef WCP_VIRTGPU_CROSS_DOMAIN_H
#define WCP_VIRTGPU_CROSS_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

/**
 * The virtio-gpu cross-domain protocol (capset 5), as crosvm, QEMU with
 * rutabaga and libkrun hosts speak it. All fields are little-endian; every
 * command starts with the 8-byte header. Commands 8-13 and identifier types
 * 5-7 mean different things in upstream rutabaga and in libkrun, so none
 * of them is used here.
 */

/* Command ids. */
enum {
	WCP_CD_CMD_INIT = 1,
	WCP_CD_CMD_GET_IMAGE_REQUIREMENTS = 2,
	WCP_CD_CMD_POLL = 3,
	WCP_CD_CMD_SEND = 4,
	WCP_CD_CMD_RECEIVE = 5,
	WCP_CD_CMD_READ = 6,
	WCP_CD_CMD_WRITE = 7,
};

/* Channel types; a host offers type T when bit (1 << T) is in supported_channels. */
enum {
	WCP_CD_CHANNEL_NONE = 0,
	WCP_CD_CHANNEL_WAYLAND = 1,
	WCP_CD_CHANNEL_CAMERA = 2,
};

/* Identifier types of SEND and RECEIVE. */
enum {
	WCP_CD_ID_VIRTGPU_BLOB = 1, // G→H: resource id; H→G: host item id usable as blob_id
	WCP_CD_ID_VIRTGPU_SYNC = 2, // reserved, no host implements it
	WCP_CD_ID_READ_PIPE = 3, // G→H: guest reads what the host writes; id guest-predicted
	WCP_CD_ID_WRITE_PIPE = 4, // H→G: guest feeds the host's pipe with WRITE
};

/* Rings of the cross-domain context. */
enum {
	WCP_CD_QUERY_RING = 0,
	WCP_CD_CHANNEL_RING = 1,
};

/** Read-pipe ids are above this; the first one is this plus one. */
#define WCP_CD_PIPE_READ_START 0x80000000u

/** SEND and RECEIVE carry at most this many identifiers. */
#define WCP_CD_MAX_IDENTIFIERS 28

/** Both rings are one 4 KiB page; the host writes only there. */
#define WCP_CD_RING_SIZE 4096

/* gralloc flags of GET_IMAGE_REQUIREMENTS. */
enum {
	WCP_CD_FLAG_SCANOUT = 1 << 0,
	WCP_CD_FLAG_RENDERING = 1 << 2,
	WCP_CD_FLAG_LINEAR = 1 << 4,
	WCP_CD_FLAG_TEXTURING = 1 << 5,
	WCP_CD_FLAG_SW_READ_OFTEN = 1 << 9,
	WCP_CD_FLAG_SW_WRITE_OFTEN = 1 << 11,
};

struct wcp_cd_header {
	uint8_t cmd;
	uint8_t ring_idx; // ignored by hosts; 0
	uint16_t cmd_size; // the whole command, header and payload included
	uint32_t pad;
};

/** The capabilities read with GET_CAPS for capset 5. */
struct wcp_cd_caps {
	uint32_t version; // 1 on every host
	uint32_t supported_channels;
	uint32_t supports_dmabuf;
	uint32_t supports_external_gpu_memory;
};

/** INIT, the 20-byte form that every current host accepts. */
struct wcp_cd_init {
	struct wcp_cd_header hdr;
	uint32_t query_ring_id; // resource id of the query ring page
	uint32_t channel_ring_id; // resource id of the channel ring page
	uint32_t channel_type;
};

struct wcp_cd_get_image_requirements {
	struct wcp_cd_header hdr;
	uint32_t width;
	uint32_t height;
	uint32_t drm_format;
	uint32_t flags;
};

/** The host's answer, written without header at offset 0 of the query ring. */
struct wcp_cd_image_requirements {
	uint32_t strides[4];
	uint32_t offsets[4];
	uint64_t modifier;
	uint64_t size;
	uint32_t blob_id;
	uint32_t map_info;
	int32_t memory_idx;
	int32_t physical_device_idx;
};

struct wcp_cd_poll {
	struct wcp_cd_header hdr;
	uint64_t pad;
};

/** SEND and RECEIVE; opaque_data_size bytes follow. */
struct wcp_cd_send_receive {
	struct wcp_cd_header hdr;
	uint32_t num_identifiers;
	uint32_t opaque_data_size;
	uint32_t identifiers[WCP_CD_MAX_IDENTIFIERS];
	uint32_t identifier_types[WCP_CD_MAX_IDENTIFIERS];
	uint32_t identifier_sizes[WCP_CD_MAX_IDENTIFIERS]; // filled by the host in RECEIVE
};

/** READ and WRITE; opaque_data_size bytes follow. */
struct wcp_cd_read_write {
	struct wcp_cd_header hdr;
	uint32_t identifier;
	uint32_t hang_up;
	uint32_t opaque_data_size;
	uint32_t pad;
};

/** Most payload one RECEIVE carries: what fits in the ring page. */
#define WCP_CD_MAX_RECEIVE_DATA (WCP_CD_RING_SIZE - sizeof(struct wcp_cd_send_receive))

/** Most payload one READ carries. */
#define WCP_CD_MAX_READ_DATA (WCP_CD_RING_SIZE - sizeof(struct wcp_cd_read_write))

/** Most payload one SEND or WRITE carries: cmd_size is 16 bits. */
#define WCP_CD_MAX_SEND_DATA (UINT16_MAX - sizeof(struct wcp_cd_send_receive))
#define WCP_CD_MAX_WRITE_DATA (UINT16_MAX - sizeof(struct wcp_cd_read_write))

_Static_assert(sizeof(struct wcp_cd_header) == 8, "header");
_Static_assert(offsetof(struct wcp_cd_header, cmd_size) == 2, "cmd_size");
_Static_assert(sizeof(struct wcp_cd_caps) == 16, "caps");
_Static_assert(sizeof(struct wcp_cd_init) == 20, "init");
_Static_assert(offsetof(struct wcp_cd_init, query_ring_id) == 8, "query_ring_id");
_Static_assert(offsetof(struct wcp_cd_init, channel_ring_id) == 12, "channel_ring_id");
_Static_assert(offsetof(struct wcp_cd_init, channel_type) == 16, "channel_type");
_Static_assert(sizeof(struct wcp_cd_get_image_requirements) == 24, "get_image_requirements");
_Static_assert(offsetof(struct wcp_cd_get_image_requirements, drm_format) == 16, "drm_format");
_Static_assert(offsetof(struct wcp_cd_get_image_requirements, flags) == 20, "flags");
_Static_assert(sizeof(struct wcp_cd_image_requirements) == 64, "image_requirements");
_Static_assert(offsetof(struct wcp_cd_image_requirements, offsets) == 16, "offsets");
_Static_assert(offsetof(struct wcp_cd_image_requirements, modifier) == 32, "modifier");
_Static_assert(offsetof(struct wcp_cd_image_requirements, size) == 40, "size");
_Static_assert(offsetof(struct wcp_cd_image_requirements, blob_id) == 48, "blob_id");
_Static_assert(offsetof(struct wcp_cd_image_requirements, map_info) == 52, "map_info");
_Static_assert(offsetof(struct wcp_cd_image_requirements, memory_idx) == 56, "memory_idx");
_Static_assert(offsetof(struct wcp_cd_image_requirements, physical_device_idx) == 60, "pdi");
_Static_assert(sizeof(struct wcp_cd_poll) == 16, "poll");
_Static_assert(sizeof(struct wcp_cd_send_receive) == 352, "send_receive");
_Static_assert(offsetof(struct wcp_cd_send_receive, num_identifiers) == 8, "num_identifiers");
_Static_assert(offsetof(struct wcp_cd_send_receive, opaque_data_size) == 12, "data size");
_Static_assert(offsetof(struct wcp_cd_send_receive, identifiers) == 16, "identifiers");
_Static_assert(offsetof(struct wcp_cd_send_receive, identifier_types) == 128, "types");
_Static_assert(offsetof(struct wcp_cd_send_receive, identifier_sizes) == 240, "sizes");
_Static_assert(sizeof(struct wcp_cd_read_write) == 24, "read_write");
_Static_assert(offsetof(struct wcp_cd_read_write, identifier) == 8, "identifier");
_Static_assert(offsetof(struct wcp_cd_read_write, hang_up) == 12, "hang_up");
_Static_assert(offsetof(struct wcp_cd_read_write, opaque_data_size) == 16, "rw data size");
_Static_assert(WCP_CD_MAX_RECEIVE_DATA == 3744, "receive payload");
_Static_assert(WCP_CD_MAX_READ_DATA == 4072, "read payload");

#endif
