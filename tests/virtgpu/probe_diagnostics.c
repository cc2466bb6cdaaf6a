/*
 * The probe against wl-cross-emu (WCP_EMU) set up as VMs that lack one
 * thing each: the probe fails with the one diagnostic for that thing; with
 * nothing missing it passes and reads the host's capabilities.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "proc.h"
#include "test.h"
#include "virtgpu/device.h"
#include "virtgpu/probe.h"

#define EMU_START_TIMEOUT_MS 5000

struct emu_run {
	char dir[64];
	char socket[128];
	char spec[160];
	struct wcp_proc *proc;
};

/** Starts wl-cross-emu with the extra switches (NULL-terminated) and waits for its socket. */
static void emu_start(struct emu_run *run, const char *const *switches) {
	const char *emu = getenv("WCP_EMU");
	if (emu == NULL || emu[0] == '\0') {
		test_fail(
			"WCP_EMU is not set: run through meson test, which points it at wl-cross-emu");
	}
	test_format(run->dir, sizeof(run->dir), "/tmp/wcp-probe-XXXXXX");
	if (mkdtemp(run->dir) == NULL) {
		test_error("mkdtemp failed");
	}
	test_remove_at_end(run->dir);
	test_format(run->socket, sizeof(run->socket), "%s/emu.sock", run->dir);
	test_format(run->spec, sizeof(run->spec), "emu:%s", run->socket);
	char log_path[128], runtime_env[96];
	test_format(log_path, sizeof(log_path), "%s/emu.log", run->dir);
	test_format(runtime_env, sizeof(runtime_env), "XDG_RUNTIME_DIR=%s", run->dir);

	const char *argv[16] = {emu, "--listen", run->socket, "--wayland-display", "wayland-probe"};
	size_t argc = 5;
	for (size_t i = 0; switches[i] != NULL; i++) {
		if (argc + 1 >= sizeof(argv) / sizeof(argv[0])) {
			test_error("too many switches");
		}
		argv[argc++] = switches[i];
	}
	argv[argc] = NULL;
	const char *env[] = {runtime_env, NULL};
	struct wcp_proc_opts opts = {.env = env, .output = log_path};
	run->proc = proc_spawn(argv, &opts);
	if (run->proc == NULL) {
		test_error("cannot start %s", emu);
	}
	long long deadline = proc_now_ms() + EMU_START_TIMEOUT_MS;
	while (access(run->socket, F_OK) != 0) {
		if (!proc_alive(run->proc)) {
			test_fail("wl-cross-emu exited with %d before listening (log: %s)",
				proc_exit_code(run->proc), log_path);
		}
		if (proc_now_ms() > deadline) {
			test_fail("wl-cross-emu did not create %s in %d ms", run->socket,
				EMU_START_TIMEOUT_MS);
		}
		proc_sleep_ms(10);
	}
}

static void emu_stop(struct emu_run *run) {
	proc_stop(run->proc, WCP_PROC_GRACE_MS);
	run->proc = NULL;
}

/**
 * Starts the emulator with `switches`, probes it for Wayland and checks
 * that the probe fails with one error line that contains every needle.
 */
static void expect_failure(const char *const *switches, const char *const *needles) {
	struct emu_run run;
	emu_start(&run, switches);
	struct wcp_virtgpu_device *device = virtgpu_device_open(run.spec);
	test_assert(device != NULL);
	struct wcp_capture capture;
	struct wcp_cd_caps caps;
	capture_begin(&capture);
	bool ok = virtgpu_probe_cross_domain(device, WCP_CD_CHANNEL_WAYLAND, &caps);
	capture_end(&capture);
	virtgpu_device_destroy(device);
	emu_stop(&run);
	test_assert(!ok);
	test_assert(capture_count_lines(&capture, " error ") == 1);
	for (size_t i = 0; needles[i] != NULL; i++) {
		if (strstr(capture.text, needles[i]) == NULL) {
			test_fail("the diagnostic lacks \"%s\"", needles[i]);
		}
	}
}

TEST(emu_default_passes) {
	struct emu_run run;
	emu_start(&run, (const char *const[]){NULL});
	struct wcp_virtgpu_device *device = virtgpu_device_open(run.spec);
	test_assert(device != NULL);
	struct wcp_capture capture;
	struct wcp_cd_caps caps = {0};
	capture_begin(&capture);
	bool ok = virtgpu_probe_cross_domain(device, WCP_CD_CHANNEL_WAYLAND, &caps);
	capture_end(&capture);
	virtgpu_device_destroy(device);
	emu_stop(&run);
	test_assert(ok);
	test_assert(capture_count_lines(&capture, " error ") == 0);
	test_assert(caps.version == 1);
	test_assert((caps.supported_channels & (1u << WCP_CD_CHANNEL_WAYLAND)) != 0);
}

TEST(emu_no_context_init) {
	expect_failure((const char *const[]){"--no-context-init", NULL},
		(const char *const[]){"no context init", "crosvm --gpu=context-types=cross-domain",
			"virtio-gpu-rutabaga-pci,cross-domain=on", NULL});
}

TEST(emu_no_blob) {
	expect_failure((const char *const[]){"--no-blob", NULL},
		(const char *const[]){"does not offer blob resources", NULL});
}

TEST(emu_no_host_visible) {
	expect_failure((const char *const[]){"--no-host-visible", NULL},
		(const char *const[]){"no host-visible memory window", "hostmem=", NULL});
}

TEST(emu_no_cross_domain_capset) {
	// Only virgl2 (capset 2): a VMM started without the cross-domain context type.
	expect_failure((const char *const[]){"--capsets", "0x4", NULL},
		(const char *const[]){"no cross-domain capset (capset ids 0x4)",
			"not started with the cross-domain context type", NULL});
}

TEST(emu_no_wayland_socket) {
	expect_failure((const char *const[]){"--no-wayland", NULL},
		(const char *const[]){"has no Wayland socket configured", "--wayland-sock",
			"wayland-socket-path=", NULL});
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
