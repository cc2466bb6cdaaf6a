#ifndef WCP_TESTS_EMU_FIXTURE_H
#define WCP_TESTS_EMU_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "virtgpu/cross_domain.h"
#include "virtgpu/device.h"

/**
 * A wl-cross-emu ($WCP_EMU) in a fresh directory, with a fake host
 * compositor: a plain SOCK_STREAM listener at host.sock that the test
 * accepts and drives itself.
 */
struct wcp_emu_fixture {
	char dir[PATH_MAX];
	char emu_socket[PATH_MAX];
	char host_socket[PATH_MAX];
	char spec[PATH_MAX + 8]; // "emu:<emu_socket>", for virtgpu_device_open
	int listener; // the fake host's listening socket; -1 with a real compositor
	int host; // the accepted connection, -1 before
	struct wcp_proc *emu;
	struct wcp_virtgpu_device *device;
	// After emu_fixture_channel():
	uint32_t query_bo, query_res, channel_bo, channel_res;
	uint8_t *query_ring, *channel_ring;
};

/**
 * Starts the emulator with extra arguments (NULL-terminated, may be NULL)
 * for the compositor at `display`, or for the fake host when it is NULL.
 */
void emu_fixture_spawn(struct wcp_emu_fixture *f, const char *display, const char *const *args);

/** emu_fixture_spawn for the fake host, then opens f->device. */
void emu_fixture_start(struct wcp_emu_fixture *f, const char *const *args);

/** Closes everything and stops the emulator; its exit code. */
int emu_fixture_stop(struct wcp_emu_fixture *f);

/** CONTEXT_INIT for cross-domain: 2 rings, ring 1 polled; the result. */
int emu_fixture_context(struct wcp_emu_fixture *f);

/** Submits the 20-byte INIT of `channel_type` naming the fixture's two rings. */
void emu_fixture_init(struct wcp_emu_fixture *f, uint32_t channel_type);

/** Context, two mapped ring pages, INIT of `channel_type` (Wayland: and accepts the host). */
void emu_fixture_channel(struct wcp_emu_fixture *f, uint32_t channel_type);

/** Submits `size` command bytes on `ring` (WCP_VIRTGPU_RING_NONE: none); asserts success. */
void emu_fixture_submit(struct wcp_emu_fixture *f, const void *cmd, size_t size, uint32_t ring);

/** Submits a POLL on the channel ring. */
void emu_fixture_poll(struct wcp_emu_fixture *f);

/** Whether a fence event arrives within timeout_ms (it is read and checked). */
bool emu_fixture_event(struct wcp_emu_fixture *f, int timeout_ms);

/** POLL, then waits for its event; asserts it comes. */
void emu_fixture_poll_event(struct wcp_emu_fixture *f);

/** SEND of data with identifiers (ids/types may be NULL when n is 0). */
void emu_fixture_send(struct wcp_emu_fixture *f, const void *data, uint32_t size,
	const uint32_t *ids, const uint32_t *types, uint32_t n);

/** WRITE to a host write pipe. */
void emu_fixture_write(
	struct wcp_emu_fixture *f, uint32_t id, const void *data, uint32_t size, bool hang_up);

/** Host side: one sendmsg with fds (n may be 0). */
void emu_fixture_host_send(
	struct wcp_emu_fixture *f, const void *data, size_t size, const int *fds, int n);

/**
 * Host side: one recvmsg within timeout_ms into buf; received fds go to
 * fds (up to max_fds, *n_fds set). Returns the byte count, -1 on timeout.
 */
long emu_fixture_host_recv(struct wcp_emu_fixture *f, void *buf, size_t size, int *fds, int max_fds,
	int *n_fds, int timeout_ms);

/** A memfd of `size` bytes filled with `fill`. */
int emu_fixture_memfd(size_t size, uint8_t fill);

#endif
