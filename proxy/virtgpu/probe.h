#ifndef WCP_VIRTGPU_PROBE_H
#define WCP_VIRTGPU_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtgpu/cross_domain.h"
#include "virtgpu/device.h"

/**
 * Whether a virtio-gpu device can carry a cross-domain channel: the guest
 * kernel's and the device's features, the cross-domain capset, and the
 * host's channel configuration. Each check that fails says what is wrong
 * and what the user can change (kernel, VMM options).
 */

enum wcp_virtgpu_probe_state {
	WCP_VIRTGPU_PROBE_OK = 0,
	WCP_VIRTGPU_PROBE_FAILED,
	/** Not run because a check it depends on failed (detail names it). */
	WCP_VIRTGPU_PROBE_NOT_RUN,
};

/** One line of the checklist. */
struct wcp_virtgpu_probe_item {
	/** What is checked, e.g. "guest kernel supports context init". */
	const char *what;
	enum wcp_virtgpu_probe_state state;
	/** When OK, the value found; otherwise what is wrong and what to do. */
	char detail[256];
};

/** The number of items virtgpu_probe_report fills at most. */
#define WCP_VIRTGPU_PROBE_MAX_ITEMS 8

/**
 * Runs every check for a cross-domain channel of channel_type (a
 * WCP_CD_CHANNEL_* value) and describes each in items[0..max). Checks
 * whose prerequisites failed are reported as NOT_RUN. Logs nothing.
 * When caps is not NULL and the capabilities could be read, they are
 * stored there (else it is zeroed). Returns the number of items filled.
 */
size_t virtgpu_probe_report(struct wcp_virtgpu_device *device, uint32_t channel_type,
	struct wcp_virtgpu_probe_item *items, size_t max, struct wcp_cd_caps *caps);

/**
 * Runs virtgpu_probe_report and logs each failed check once, at error
 * level. Returns true, with *caps filled (caps may be NULL), when every
 * check passed.
 */
bool virtgpu_probe_cross_domain(
	struct wcp_virtgpu_device *device, uint32_t channel_type, struct wcp_cd_caps *caps);

/** "wayland", "camera", "none", or "unknown" for a channel type. */
const char *virtgpu_channel_name(uint32_t channel_type);

/** "ok", "FAILED" or "not run". */
const char *virtgpu_probe_state_name(enum wcp_virtgpu_probe_state state);

#endif
