/*
 * wl-cross-proxy in a user session: settings from the environment,
 * --print-env, --check against wl-cross-emu and on this machine, socket
 * activation, readiness notification, the export of WAYLAND_DISPLAY, one
 * instance per socket, the session files as installed, and the man pages
 * against --help.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu_fixture.h"
#include "proc.h"
#include "session/notify.h"
#include "shm_client.h"
#include "test.h"
#include "weston.h"

#define START_TIMEOUT_MS 10000

static const char *env_path(const char *variable) {
	const char *path = getenv(variable);
	if (path == NULL || path[0] == '\0') {
		test_error("%s is not set (run the tests through meson)", variable);
	}
	return path;
}

/** A fresh directory for the test's files, removed at its end. */
static void test_dir(char dir[static PATH_MAX]) {
	const char *tmp = getenv("TMPDIR");
	test_format(dir, PATH_MAX, "%s/wcp-session-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		test_error("mkdtemp: %s", strerror(errno));
	}
	test_remove_at_end(dir);
}

/** Makes a directory in `dir` whose path is `length` bytes long, into `out`. */
static void long_dir_in(const char *dir, size_t length, char out[static PATH_MAX]) {
	test_format(out, PATH_MAX, "%s/", dir);
	size_t len = strlen(out);
	test_assert(len < length && length < PATH_MAX);
	memset(out + len, 'd', length - len);
	out[length] = '\0';
	test_assert(mkdir(out, 0700) == 0);
}

static char *read_text(const char *path) {
	char *text = test_read_file(path, NULL);
	if (text == NULL) {
		test_fail("cannot read %s: %s", path, strerror(errno));
	}
	return text;
}

/** Runs argv with env to completion; its exit code, with stdout in *out. */
static int run(const char *const *argv, const char *const *env, char **out) {
	int code = proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 20000, out);
	test_log("%s exited with %d:\n%s", argv[0], code, *out != NULL ? *out : "");
	return code;
}

/* --- settings and --print-env ------------------------------------------ */

static void expect_print_env(const char *variable, const char *option, const char *want) {
	const char *argv[] = {env_path("WCP_PROXY"), "--print-env", option, NULL};
	const char *env[] = {variable, NULL};
	char *out = NULL;
	test_assert(run(argv, variable != NULL ? env : NULL, &out) == 0);
	if (strcmp(out, want) != 0) {
		test_fail("got '%s', want '%s'", out, want);
	}
	free(out);
}

TEST(print_env_follows_command_line_over_environment) {
	expect_print_env(NULL, NULL, "export WAYLAND_DISPLAY=wayland-cross\n");
	expect_print_env(
		"WL_CROSS_PROXY_SOCKET=from-env", NULL, "export WAYLAND_DISPLAY=from-env\n");
	expect_print_env("WL_CROSS_PROXY_SOCKET=", NULL, "export WAYLAND_DISPLAY=wayland-cross\n");
	expect_print_env("WL_CROSS_PROXY_SOCKET=from-env", "--socket=from-cli",
		"export WAYLAND_DISPLAY=from-cli\n");
	expect_print_env(NULL, "--socket=it's", "export WAYLAND_DISPLAY='it'\\''s'\n");
}

/*
 * A bad variable is refused by its name; the option that overrides it
 * wins without reading it, and --help needs none of them.
 */
TEST(bad_variables_are_refused_by_name) {
	static const char *const cases[][3] = {
		{"WL_CROSS_PROXY_LOG_LEVEL=loud", "WL_CROSS_PROXY_LOG_LEVEL: unknown log level",
			"--log-level=error"},
		{"WL_CROSS_PROXY_EXPORT_ENV=maybe", "WL_CROSS_PROXY_EXPORT_ENV: want 1 or 0",
			"--export-env"},
		{"WL_CROSS_PROXY_SOCKET=a/b", "WL_CROSS_PROXY_SOCKET: a socket name has no '/'",
			"--socket=given"},
		{"WL_CROSS_PROXY_SOCKET=a\nMAINPID=1",
			"WL_CROSS_PROXY_SOCKET: a socket name has no '/' and no control character",
			"--socket=given"},
		{"WL_CROSS_PROXY_COPY_EVICT=sometimes",
			"WL_CROSS_PROXY_COPY_EVICT: want auto, other-cpu or never",
			"--copy-evict=never"},
	};
	char dir[PATH_MAX], log_path[PATH_MAX + 16];
	test_dir(dir);
	test_format(log_path, sizeof(log_path), "%s/stderr", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {env_path("WCP_PROXY"), "--print-env", NULL};
		const char *env[] = {cases[i][0], NULL};
		char *out = NULL;
		int code = proc_run_capture(
			argv, &(struct wcp_proc_opts){.env = env, .output = log_path}, 20000, &out);
		free(out);
		char *err = read_text(log_path);
		test_log("%s: exit %d, %s", cases[i][0], code, err);
		test_assert(code == 2);
		test_assert(strstr(err, cases[i][1]) != NULL);
		free(err);
		unlink(log_path);

		const char *overridden[] = {
			env_path("WCP_PROXY"), "--print-env", cases[i][2], NULL};
		code = proc_run_capture(overridden,
			&(struct wcp_proc_opts){.env = env, .output = log_path}, 20000, &out);
		test_log("%s %s: exit %d, %s", cases[i][0], cases[i][2], code, out);
		test_assert(code == 0 && strncmp(out, "export WAYLAND_DISPLAY=", 23) == 0);
		free(out);
		unlink(log_path);
	}
	const char *help[] = {env_path("WCP_PROXY"), "--help", NULL};
	const char *all_bad[] = {cases[0][0], cases[1][0], cases[2][0], cases[4][0], NULL};
	char *out = NULL;
	test_assert(
		proc_run_capture(help, &(struct wcp_proc_opts){.env = all_bad, .output = log_path},
			20000, &out) == 0);
	test_assert(strstr(out, "usage: wl-cross-proxy") != NULL);
	free(out);
}

/** Waits until the socket at path exists, while proc runs. */
static void wait_socket(struct wcp_proc *proc, const char *path) {
	long long deadline = proc_now_ms() + START_TIMEOUT_MS;
	struct stat st;
	while (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (!proc_alive(proc) || proc_now_ms() > deadline) {
			test_fail("%s did not create %s (exit %d)", proc->name, path,
				proc_exit_code(proc));
		}
		proc_sleep_ms(10);
	}
}

/** The pattern client draws `frames` frames through the display in display_env. */
static void expect_client_works(const char *display_env) {
	const char *args[] = {"--frames", "5", "--buffers", "2", NULL};
	struct wcp_shm_client *client = shm_client_start(display_env, args);
	test_assert(shm_client_wait_ready(client, 30000));
	test_assert(client->acked == 5);
	test_assert(shm_client_stop(client) == 0);
}

TEST_OPTS(the_environment_configures_a_running_proxy, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char device[] = "WL_CROSS_PROXY_DEVICE=none", host[128],
	     socket_env[] = "WL_CROSS_PROXY_SOCKET=wcp-from-env", path[PATH_MAX + 32],
	     log_path[PATH_MAX + 32];
	test_format(host, sizeof(host), "WL_CROSS_PROXY_HOST_DISPLAY=%s", weston->socket);
	test_format(path, sizeof(path), "%s/wcp-from-env", weston->runtime_dir);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", weston->runtime_dir);
	const char *env[] = {device, host, socket_env, NULL};
	const char *argv[] = {env_path("WCP_PROXY"), NULL};
	struct wcp_proc *proxy =
		proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log_path});
	wait_socket(proxy, path);
	expect_client_works("WAYLAND_DISPLAY=wcp-from-env");
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	weston_stop(weston);
}

/** Without --socket the proxy takes the first free wayland-N, as compositors do. */
TEST_OPTS(the_default_socket_is_the_first_free_wayland_n, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	const char *argv[] = {env_path("WCP_PROXY"), "--device=none", host, NULL};
	struct wcp_proc *proxies[2];
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		test_format(path, sizeof(path), "%s/wayland-%d", weston->runtime_dir, i);
		proxies[i] = proc_spawn(argv, NULL);
		test_assert(proxies[i] != NULL);
		wait_socket(proxies[i], path);
	}
	expect_client_works("WAYLAND_DISPLAY=wayland-1");
	for (int i = 1; i >= 0; i--) {
		test_assert(proc_stop(proxies[i], WCP_PROC_GRACE_MS) == 0);
	}
	weston_stop(weston);
}

/*
 * The LD_PRELOAD and ASAN_OPTIONS variables that preload the library named
 * by the variable `library` into a proxy: a sanitized proxy accepts a
 * library preloaded before its runtime.
 */
static void preload_env(
	char *preload, size_t preload_size, char *asan, size_t asan_size, const char *library) {
	test_format(preload, preload_size, "LD_PRELOAD=%s", env_path(library));
	const char *options = getenv("ASAN_OPTIONS");
	test_format(asan, asan_size, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		options != NULL ? options : "", options != NULL && options[0] != '\0' ? ":" : "");
}

/*
 * The socket appears only once it listens: a client that connects the
 * moment it finds it is served, even when the proxy is slow between its
 * bind and its listen (a library preloaded into it makes it so).
 */
TEST_OPTS(a_socket_that_appears_takes_connections, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128], preload[PATH_MAX + 16], asan[512], path[PATH_MAX + 32];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	preload_env(preload, sizeof(preload), asan, sizeof(asan), "WCP_SLOW_LISTEN");
	test_format(path, sizeof(path), "%s/wcp-slow", weston->runtime_dir);
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-slow", NULL};
	const char *env[] = {preload, asan, NULL};
	struct wcp_proc *proxy = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	struct stat st;
	long long deadline = proc_now_ms() + START_TIMEOUT_MS;
	while (stat(path, &st) != 0) {
		test_assert(proc_alive(proxy) && proc_now_ms() < deadline);
		proc_sleep_ms(1);
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	test_format(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret != 0) {
		test_fail("connecting the moment %s appeared: %s", path, strerror(errno));
	}
	close(fd);
	expect_client_works("WAYLAND_DISPLAY=wcp-slow");
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	weston_stop(weston);
}

/* --- --check ---------------------------------------------------------- */

/** Runs --check against an emulator started with `switches`; its exit code and output. */
static int check_emu(const char *const *switches, char **out) {
	struct wcp_emu_fixture f;
	emu_fixture_spawn(&f, NULL, switches);
	char device[PATH_MAX + 16], runtime[PATH_MAX + 32];
	test_format(device, sizeof(device), "--device=%s", f.spec);
	test_format(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", f.dir);
	const char *argv[] = {env_path("WCP_PROXY"), "--check", device, NULL};
	const char *env[] = {runtime, NULL};
	int code = run(argv, env, out);
	emu_fixture_stop(&f);
	return code;
}

TEST(check_passes_against_a_well_set_up_emulator) {
	char *out = NULL;
	test_assert(check_emu(NULL, &out) == 0);
	static const char *const lines[] = {
		"ok       XDG_RUNTIME_DIR: /",
		"ok       virtio-gpu render node and driver: emu:",
		"ok       guest kernel and device support context init",
		"ok       device supports blob resources",
		"ok       device has host-visible memory",
		"ok       device offers the cross-domain capset (5): capset ids 0x20",
		"ok       host has the requested channel configured: wayland",
		"The proxy can run.\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (strstr(out, lines[i]) == NULL) {
			test_fail("no line '%s'", lines[i]);
		}
	}
	test_assert(strstr(out, "PROBLEM") == NULL && strstr(out, "not run") == NULL);
	free(out);
}

TEST_OPTS(check_names_what_a_badly_set_up_vm_lacks, .timeout_s = 90) {
	static const struct {
		const char *switches[3];
		const char *line;
	} cases[] = {
		{{"--no-context-init"},
			"PROBLEM  guest kernel and device support context init: the "
			"virtio-gpu device offers no context types"},
		{{"--no-blob"},
			"PROBLEM  device supports blob resources: the virtio-gpu device does "
			"not offer blob resources"},
		{{"--no-host-visible"},
			"PROBLEM  device has host-visible memory: the virtio-gpu "
			"device has no host-visible memory window"},
		{{"--capsets", "0"},
			"PROBLEM  device offers the cross-domain capset (5): the "
			"virtio-gpu device offers no cross-domain capset"},
		{{"--capsets", "0x4"},
			"PROBLEM  device offers the cross-domain capset (5): the "
			"virtio-gpu device offers no cross-domain capset (capset ids 0x4)"},
		{{"--no-wayland"},
			"PROBLEM  host has the requested channel configured: the host "
			"offers cross-domain but has no Wayland socket configured"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		test_assert(check_emu(cases[i].switches, &out) == 1);
		if (strstr(out, cases[i].line) == NULL) {
			test_fail("%s: no line '%s'", cases[i].switches[0], cases[i].line);
		}
		test_assert(strstr(out, "The proxy cannot run") != NULL);
		free(out);
	}
}

/*
 * A WAYLAND_SOCKET the proxy was given, an fd a parent meant for its own
 * connection, is neither the host (direct: here fd 99, which is not open)
 * nor passed to the command (over cross-domain, where the proxy makes no
 * host connection of its own), which libwayland would connect through
 * instead of WAYLAND_DISPLAY.
 */
TEST_OPTS(wayland_socket_is_not_taken_nor_passed_on, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_emu_fixture f;
	emu_fixture_spawn(&f, NULL, NULL);
	char host[128], device[PATH_MAX + 16];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(device, sizeof(device), "--device=%s", f.spec);
	const char *script = "[ -z \"${WAYLAND_SOCKET+set}\" ] && exit 7; exit 1";
	const char *direct[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--", "sh", "-c", script, NULL};
	const char *bridged[] = {env_path("WCP_PROXY"), device, "--", "sh", "-c", script, NULL};
	const char *env[] = {"WAYLAND_SOCKET=99", NULL};
	char *out = NULL;
	test_assert(run(direct, env, &out) == 7);
	free(out);
	env[0] = "WAYLAND_SOCKET=0";
	test_assert(run(bridged, env, &out) == 7);
	free(out);
	emu_fixture_stop(&f);
	weston_stop(weston);
}

TEST(check_without_a_runtime_dir_says_so) {
	struct wcp_emu_fixture f;
	emu_fixture_spawn(&f, NULL, NULL);
	char device[PATH_MAX + 16];
	test_format(device, sizeof(device), "--device=%s", f.spec);
	const char *argv[] = {
		"env", "-u", "XDG_RUNTIME_DIR", env_path("WCP_PROXY"), "--check", device, NULL};
	char *out = NULL;
	test_assert(run(argv, NULL, &out) == 1);
	test_assert(strstr(out, "PROBLEM  XDG_RUNTIME_DIR: not set to an absolute path") != NULL);
	test_assert(strstr(out, "ok       device supports blob resources") != NULL);
	free(out);
	emu_fixture_stop(&f);
}

/**
 * What --check reports on the device is what opening it logged, whatever
 * the log level; and a runtime directory too long for a socket's path is
 * a problem it names.
 */
TEST(check_reports_at_every_log_level_and_a_too_long_runtime_dir) {
	char dir[PATH_MAX], runtime[PATH_MAX + 32], long_dir[PATH_MAX];
	test_dir(dir);
	test_format(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", dir);
	const char *levels[] = {"WL_CROSS_PROXY_LOG_LEVEL=info", "WL_CROSS_PROXY_LOG_LEVEL=silent"};
	for (size_t i = 0; i < 2; i++) {
		const char *argv[] = {env_path("WCP_PROXY"), "--check",
			"--device=emu:/nonexistent/emu.sock", NULL};
		const char *env[] = {runtime, levels[i], NULL};
		char *out = NULL;
		test_assert(run(argv, env, &out) == 1);
		test_assert(strstr(out, "PROBLEM  virtio-gpu render node and driver: ") != NULL);
		test_assert(strstr(out, "/nonexistent/emu.sock") != NULL);
		test_assert(strstr(out, "the device cannot be opened") == NULL);
		free(out);
	}
	long_dir_in(dir, 100, long_dir);
	test_format(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", long_dir);
	struct wcp_emu_fixture f;
	emu_fixture_spawn(&f, NULL, NULL);
	char device[PATH_MAX + 16];
	test_format(device, sizeof(device), "--device=%s", f.spec);
	const char *argv[] = {env_path("WCP_PROXY"), "--check", device, NULL};
	const char *env[] = {runtime, NULL};
	char *out = NULL;
	test_assert(run(argv, env, &out) == 1);
	test_assert(strstr(out, "PROBLEM  XDG_RUNTIME_DIR: ") != NULL);
	test_assert(strstr(out, "is too long a path") != NULL);
	free(out);
	// A short --socket name fits where wayland-0 does not.
	const char *short_argv[] = {env_path("WCP_PROXY"), "--check", device, "--socket=w", NULL};
	test_assert(run(short_argv, env, &out) == 0);
	test_assert(strstr(out, "ok       XDG_RUNTIME_DIR: ") != NULL);
	free(out);
	emu_fixture_stop(&f);
}

TEST(check_finds_no_render_node_on_this_machine) {
	char dir[PATH_MAX], runtime[PATH_MAX + 32];
	test_dir(dir);
	test_format(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", dir);
	const char *argv[] = {env_path("WCP_PROXY"), "--check", NULL};
	const char *env[] = {runtime, "WL_CROSS_PROXY_DEVICE=", NULL};
	char *out = NULL;
	int code = run(argv, env, &out);
	// Other GPUs' nodes do not count: only a virtio_gpu one, or one that
	// may be it and cannot be opened, leaves nothing to show here.
	if (strstr(out, "ok       virtio-gpu render node and driver") != NULL) {
		free(out);
		test_skip("this machine has a virtio_gpu render node: the no-device "
			  "diagnostic cannot be shown");
	}
	if (strstr(out, "permission denied") != NULL) {
		free(out);
		test_skip("a render node of this machine cannot be opened: it may be "
			  "a virtio_gpu one");
	}
	test_assert(code == 1);
	test_assert(strstr(out,
			    "PROBLEM  virtio-gpu render node and driver: no virtio_gpu render "
			    "node in /dev/dri") != NULL);
	test_assert(strstr(out, "crosvm --gpu=context-types=cross-domain") != NULL);
	test_assert(strstr(out, "not run  cross-domain support of the device") != NULL);
	test_assert(strstr(out, "ok       XDG_RUNTIME_DIR") != NULL);
	free(out);
}

TEST(check_in_direct_mode_reaches_the_compositor) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	const char *argv[] = {env_path("WCP_PROXY"), "--check", "--device=none", host, NULL};
	char *out = NULL;
	test_assert(run(argv, NULL, &out) == 0);
	test_assert(strstr(out, "ok       host compositor (--device=none)") != NULL);
	free(out);
	const char *missing[] = {
		env_path("WCP_PROXY"), "--check", "--device=none", "--host-display=wcp-none", NULL};
	test_assert(run(missing, NULL, &out) == 1);
	test_assert(
		strstr(out, "PROBLEM  host compositor (--device=none): cannot connect") != NULL);
	free(out);
	weston_stop(weston);
}

/* --- readiness notification -------------------------------------------- */

struct notify_listener {
	int fd;
	char address[108]; // NOTIFY_SOCKET's value
	char env[128]; // "NOTIFY_SOCKET=<address>"
};

/** A datagram socket standing in for the service manager's. */
static void notify_listen(struct notify_listener *n, const char *dir, bool abstract) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	socklen_t len;
	if (abstract) {
		test_format(n->address, sizeof(n->address), "@wcp-notify-%d-%s", (int)getpid(),
			test_name());
		memcpy(addr.sun_path, n->address, strlen(n->address));
		addr.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(n->address));
	} else {
		test_format(n->address, sizeof(n->address), "%s/notify", dir);
		memcpy(addr.sun_path, n->address, strlen(n->address) + 1);
		len = sizeof(addr);
	}
	test_format(n->env, sizeof(n->env), "NOTIFY_SOCKET=%s", n->address);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&addr, len) < 0) {
		test_error(
			"cannot bind the notification socket %s: %s", n->address, strerror(errno));
	}
}

/** Waits for a datagram containing needle; copies it into buf. */
static bool notify_wait(struct notify_listener *n, const char *needle, char *buf, size_t size) {
	long long deadline = proc_now_ms() + START_TIMEOUT_MS;
	while (proc_now_ms() < deadline) {
		struct pollfd pfd = {.fd = n->fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		ssize_t len = recv(n->fd, buf, size - 1, 0);
		if (len < 0) {
			continue;
		}
		buf[len] = '\0';
		test_log("notification: %s", buf);
		if (strstr(buf, needle) != NULL) {
			return true;
		}
	}
	return false;
}

static void notify_close(struct notify_listener *n) {
	close(n->fd);
	if (n->address[0] == '/') {
		unlink(n->address);
	}
}

TEST(notify_datagram_reaches_paths_and_abstract_names) {
	char dir[PATH_MAX], buf[256];
	test_dir(dir);
	for (int abstract = 0; abstract < 2; abstract++) {
		struct notify_listener n;
		notify_listen(&n, dir, abstract);
		test_assert(notify_datagram(n.address, "READY=1\nSTATUS=test"));
		test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
		test_assert(strcmp(buf, "READY=1\nSTATUS=test") == 0);
		notify_close(&n);
	}
	test_assert(notify_datagram(NULL, "READY=1"));
	test_assert(notify_datagram("", "READY=1"));
	test_assert(!notify_datagram("relative/name", "READY=1"));
	char missing[PATH_MAX + 16];
	test_format(missing, sizeof(missing), "%s/nobody", dir);
	test_assert(!notify_datagram(missing, "READY=1"));
}

/** A listening socket at path, as a systemd socket unit makes it. */
static int listen_at(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	test_format(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		test_error("cannot listen on %s: %s", path, strerror(errno));
	}
	return fd;
}

/**
 * Starts proxy_argv as a service manager does with socket activation:
 * listen_fd as fd 3, LISTEN_FDS=1 and LISTEN_PID naming the proxy itself
 * (a shell sets them, then execs the proxy under the same pid).
 */
static struct wcp_proc *spawn_activated(const char *const *proxy_argv, int listen_fd,
	const char *const *env, const char *log_path) {
	// sh redirects single-digit fds only.
	test_assert(listen_fd >= 3 && listen_fd <= 9);
	char script[256], close_original[16] = "";
	if (listen_fd != 3) {
		test_format(close_original, sizeof(close_original), " %d<&-", listen_fd);
	}
	test_format(script, sizeof(script),
		"exec 3<&%d%s; export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=wayland; "
		"exec \"$@\"",
		listen_fd, close_original);
	const char *argv[16] = {"/bin/sh", "-c", script, "sh"};
	size_t argc = 4;
	for (size_t i = 0; proxy_argv[i] != NULL; i++) {
		test_assert(argc + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = proxy_argv[i];
	}
	argv[argc] = NULL;
	struct wcp_proc *proc = proc_spawn(argv,
		&(struct wcp_proc_opts){.env = env, .output = log_path, .pass_fd = listen_fd});
	test_assert(proc != NULL);
	return proc;
}

/** A stand-in for dbus-update-activation-environment that records its arguments. */
static void fake_export_tool(const char *dir, char path_env[static PATH_MAX + 16]) {
	char tool[PATH_MAX + 64];
	test_format(tool, sizeof(tool), "%s/dbus-update-activation-environment", dir);
	FILE *f = fopen(tool, "we");
	if (f == NULL) {
		test_error("cannot write %s", tool);
	}
	fprintf(f, "#!/bin/sh\necho \"$*\" >> '%s/exported'\n", dir);
	fclose(f);
	chmod(tool, 0755);
	test_format(path_env, PATH_MAX + 16, "PATH=%s:%s", dir, getenv("PATH"));
}

TEST_OPTS(socket_activation_serves_the_passed_socket_and_reports_ready, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char path[PATH_MAX + 32], log_path[PATH_MAX + 32], host[128], buf[512];
	test_format(path, sizeof(path), "%s/wcp-activated", weston->runtime_dir);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", weston->runtime_dir);
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	int listen_fd = listen_at(path);
	struct notify_listener n;
	notify_listen(&n, weston->runtime_dir, false);
	const char *argv[] = {env_path("WCP_PROXY"), "--device=none", host, NULL};
	const char *env[] = {n.env, NULL};
	struct wcp_proc *proxy = spawn_activated(argv, listen_fd, env, log_path);
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
	test_assert(strstr(buf, "STATUS=WAYLAND_DISPLAY=wcp-activated (") != NULL);
	expect_client_works("WAYLAND_DISPLAY=wcp-activated");
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	test_assert(notify_wait(&n, "STOPPING=1", buf, sizeof(buf)));
	// The socket belongs to the service manager: it stays.
	struct stat st;
	test_assert(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	char *log = read_text(log_path);
	test_assert(strstr(log, "listening on wcp-activated") != NULL);
	free(log);
	close(listen_fd);
	notify_close(&n);
	weston_stop(weston);
}

/** Waits for a proxy that refuses to start: exit status 1, and `line` in its log. */
static void expect_refused(struct wcp_proc *proxy, const char *log_path, const char *line) {
	test_assert(proxy != NULL && proc_wait(proxy, 10000));
	test_assert(proc_exit_code(proxy) == 1);
	proc_stop(proxy, 0);
	char *log = read_text(log_path);
	test_assert(strstr(log, line) != NULL);
	free(log);
}

/*
 * Direct to the host, with a host display that names the proxy's own
 * socket (a session whose WAYLAND_DISPLAY is the proxy's socket unit): its
 * host connections would come back to it as clients without end. The
 * proxy says so and exits with 1, also when it runs a command.
 */
TEST_OPTS(own_socket_as_host_display_is_refused, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char path[PATH_MAX + 32], log_path[PATH_MAX + 32];
	test_format(path, sizeof(path), "%s/wcp-loop", weston->runtime_dir);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", weston->runtime_dir);
	int listen_fd = listen_at(path);
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", "--host-display=wcp-loop", NULL};
	struct wcp_proc *proxy = spawn_activated(argv, listen_fd, NULL, log_path);
	close(listen_fd);
	expect_refused(proxy, log_path, "is this proxy's own socket wcp-loop");
	// With a command, which is running when the proxy finds it out: the
	// command is killed, and the exit status is still the proxy's 1.
	unlink(path);
	listen_fd = listen_at(path);
	const char *with_command[] = {env_path("WCP_PROXY"), "--device=none",
		"--host-display=wcp-loop", "--", "sleep", "60", NULL};
	proxy = spawn_activated(with_command, listen_fd, NULL, log_path);
	close(listen_fd);
	expect_refused(proxy, log_path, "is this proxy's own socket wcp-loop");
	weston_stop(weston);
}

/* A LISTEN_FDS larger than a process may have open is refused at once. */
TEST_OPTS(listen_fds_beyond_what_can_be_open_is_refused, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128], log_path[PATH_MAX + 32];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", weston->runtime_dir);
	const char *argv[] = {"/bin/sh", "-c",
		"export LISTEN_PID=$$ LISTEN_FDS=2147483647; exec \"$@\"", "sh",
		env_path("WCP_PROXY"), "--device=none", host, NULL};
	struct wcp_proc *proxy = proc_spawn(argv, &(struct wcp_proc_opts){.output = log_path});
	expect_refused(proxy, log_path, "LISTEN_FDS=2147483647 is more fds than can be open");
	weston_stop(weston);
}

/*
 * A proxy whose loop cannot watch for signals would keep SIGTERM blocked
 * and unread, and could be stopped only by SIGKILL: it says so and exits
 * with 1, and leaves no socket behind (a library preloaded into it makes
 * signalfd fail).
 */
TEST_OPTS(a_loop_that_cannot_watch_signals_is_refused, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128], preload[PATH_MAX + 16], asan[512], path[PATH_MAX + 32];
	char log_path[PATH_MAX + 32];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	preload_env(preload, sizeof(preload), asan, sizeof(asan), "WCP_NO_SIGNALFD");
	test_format(path, sizeof(path), "%s/wcp-deaf", weston->runtime_dir);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", weston->runtime_dir);
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-deaf", NULL};
	const char *env[] = {preload, asan, NULL};
	struct wcp_proc *proxy =
		proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log_path});
	expect_refused(proxy, log_path, "cannot watch for signals");
	struct stat st;
	test_assert(stat(path, &st) != 0 && errno == ENOENT);
	weston_stop(weston);
}

TEST_OPTS(abstract_notify_socket_and_foreign_listen_pid, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char path[PATH_MAX + 32], host[128], buf[512];
	test_format(path, sizeof(path), "%s/wcp-own", weston->runtime_dir);
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	struct notify_listener n;
	notify_listen(&n, NULL, true);
	// LISTEN_PID names another process: those fds are not the proxy's.
	const char *env[] = {n.env, "LISTEN_PID=1", "LISTEN_FDS=1", NULL};
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-own", NULL};
	struct wcp_proc *proxy = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
	test_assert(strstr(buf, "WAYLAND_DISPLAY=wcp-own") != NULL);
	struct stat st;
	test_assert(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	expect_client_works("WAYLAND_DISPLAY=wcp-own");
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	test_assert(stat(path, &st) != 0); // its own socket goes with it
	notify_close(&n);
	weston_stop(weston);
}

TEST_OPTS(a_served_socket_gets_no_second_instance, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[128], log_path[PATH_MAX + 32], path[PATH_MAX + 32];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(log_path, sizeof(log_path), "%s/second.log", weston->runtime_dir);
	test_format(path, sizeof(path), "%s/wcp-unit", weston->runtime_dir);
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-one", NULL};
	struct wcp_proc *first = proc_spawn(argv, NULL);
	char first_path[PATH_MAX + 32];
	test_format(first_path, sizeof(first_path), "%s/wcp-one", weston->runtime_dir);
	wait_socket(first, first_path);

	// A second proxy on the same name, and one on a socket unit's socket.
	int unit_fd = listen_at(path);
	const char *names[] = {"--socket=wcp-one", "--socket=wcp-unit"};
	for (size_t i = 0; i < 2; i++) {
		const char *second_argv[] = {
			env_path("WCP_PROXY"), "--device=none", host, names[i], NULL};
		char *out = NULL;
		int code = proc_run_capture(
			second_argv, &(struct wcp_proc_opts){.output = log_path}, 20000, &out);
		free(out);
		test_assert(code == 1);
	}
	char *log = read_text(log_path);
	test_log("%s", log);
	test_assert(strstr(log, "wcp-one is served by another process") != NULL);
	test_assert(strstr(log, "wcp-unit is served by another process") != NULL);
	free(log);
	struct stat st;
	test_assert(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	expect_client_works("WAYLAND_DISPLAY=wcp-one");
	test_assert(proc_stop(first, WCP_PROC_GRACE_MS) == 0);
	close(unit_fd);
	weston_stop(weston);
}

/** How many times `text` occurs in `haystack`. */
static int occurrences(const char *haystack, const char *text) {
	int count = 0;
	for (const char *at = strstr(haystack, text); at != NULL; at = strstr(at + 1, text)) {
		count++;
	}
	return count;
}

/**
 * A runtime directory where no socket can be made: missing, or too long a
 * path. The proxy says why, once, instead of trying every wayland-N name
 * and calling them all in use.
 */
TEST_OPTS(an_unusable_runtime_dir_is_named_once, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char dir[PATH_MAX], log_path[PATH_MAX + 16], missing[PATH_MAX + 16];
	char host[PATH_MAX + 32], env_missing[PATH_MAX + 32], env_long[PATH_MAX + 32];
	char long_dir[PATH_MAX];
	test_dir(dir);
	// By path: the runtime directory is not the host's.
	test_format(
		host, sizeof(host), "--host-display=%s/%s", weston->runtime_dir, weston->socket);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", dir);
	test_format(missing, sizeof(missing), "%s/missing", dir);
	test_format(env_missing, sizeof(env_missing), "XDG_RUNTIME_DIR=%s", missing);
	// A directory that exists, with a path longer than a socket's may be.
	long_dir_in(dir, 120, long_dir);
	test_format(env_long, sizeof(env_long), "XDG_RUNTIME_DIR=%s", long_dir);
	const char *argv[] = {env_path("WCP_PROXY"), "--device=none", host, NULL};
	const char *envs[] = {env_missing, env_long};
	const char *expected[] = {"wayland-0.lock: No such file or directory", "is too long"};
	for (size_t i = 0; i < 2; i++) {
		unlink(log_path);
		const char *env[] = {envs[i], NULL};
		char *out = NULL;
		int code = proc_run_capture(
			argv, &(struct wcp_proc_opts){.env = env, .output = log_path}, 20000, &out);
		free(out);
		test_assert(code == 1);
		char *log = read_text(log_path);
		test_log("%s", log);
		test_assert(occurrences(log, expected[i]) == 1);
		test_assert(strstr(log, "in use") == NULL && strstr(log, "no free") == NULL);
		free(log);
	}
	weston_stop(weston);
}

TEST_OPTS(export_env_tells_the_session_before_ready, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char dir[PATH_MAX], path_env[PATH_MAX + 16], host[128], buf[512], exported[PATH_MAX + 16];
	test_dir(dir);
	fake_export_tool(dir, path_env);
	test_format(exported, sizeof(exported), "%s/exported", dir);
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	struct notify_listener n;
	notify_listen(&n, dir, false);
	const char *env[] = {n.env, path_env, "WL_CROSS_PROXY_EXPORT_ENV=1", NULL};
	const char *argv[] = {
		env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-exported", NULL};
	struct wcp_proc *proxy = proc_spawn(argv, &(struct wcp_proc_opts){.env = env});
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
	char *args = read_text(exported);
	test_assert(strcmp(args, "--systemd WAYLAND_DISPLAY=wcp-exported\n") == 0);
	free(args);
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	notify_close(&n);
	weston_stop(weston);
}

TEST_OPTS(export_env_without_the_tool_still_runs, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	char dir[PATH_MAX], host[128], buf[512], log_path[PATH_MAX + 16];
	test_dir(dir);
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", dir);
	struct notify_listener n;
	notify_listen(&n, dir, false);
	const char *env[] = {n.env, "PATH=/nonexistent", NULL};
	const char *argv[] = {env_path("WCP_PROXY"), "--device=none", host, "--socket=wcp-alone",
		"--export-env", NULL};
	struct wcp_proc *proxy =
		proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log_path});
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
	expect_client_works("WAYLAND_DISPLAY=wcp-alone");
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	char *log = read_text(log_path);
	test_assert(strstr(log, "cannot run dbus-update-activation-environment") != NULL);
	free(log);
	notify_close(&n);
	weston_stop(weston);
}

/* --- the session files ------------------------------------------------- */

/** The value of the first "key=" line of a file, to the end of the line. */
static void file_value(const char *text, const char *key, char *value, size_t size) {
	size_t key_len = strlen(key);
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *end = strchrnul(line, '\n');
		if (strncmp(line, key, key_len) == 0 && line[key_len] == '=') {
			test_format(value, size, "%.*s", (int)(end - line - (long)key_len - 1),
				line + key_len + 1);
			return;
		}
		line = *end == '\n' ? end + 1 : NULL;
	}
	test_fail("no %s= line", key);
}

TEST_OPTS(the_units_start_the_proxy_by_socket_activation, .timeout_s = 90) {
	char *service = read_text(env_path("WCP_SERVICE_UNIT"));
	char *socket_unit = read_text(env_path("WCP_SOCKET_UNIT"));
	char *environment_d = read_text(env_path("WCP_ENVIRONMENT_D"));
	char *autostart = read_text(env_path("WCP_AUTOSTART"));
	char exec_start[512], type[32], listen[256], display[128], exec[512], export_env[128];
	file_value(service, "ExecStart", exec_start, sizeof(exec_start));
	file_value(service, "Environment", export_env, sizeof(export_env));
	file_value(service, "Type", type, sizeof(type));
	file_value(socket_unit, "ListenStream", listen, sizeof(listen));
	file_value(environment_d, "WAYLAND_DISPLAY", display, sizeof(display));
	file_value(autostart, "Exec", exec, sizeof(exec));
	test_log("ExecStart=%s Type=%s ListenStream=%s WAYLAND_DISPLAY=%s Exec=%s", exec_start,
		type, listen, display, exec);
	// One socket name everywhere: the socket unit's, the environment's, autostart's.
	test_assert(strcmp(type, "notify") == 0);
	// Exporting is the environment's, which a drop-in can change: the
	// command line would win over it.
	test_assert(strcmp(export_env, "WL_CROSS_PROXY_EXPORT_ENV=1") == 0);
	test_assert(strstr(exec_start, "--export-env") == NULL);
	test_assert(strncmp(listen, "%t/", 3) == 0 && strcmp(listen + 3, display) == 0);
	char socket_option[160];
	test_format(socket_option, sizeof(socket_option), " --socket=%s ", display);
	test_assert(strstr(exec, socket_option) != NULL);
	test_assert(strstr(autostart, "X-systemd-skip=true") != NULL);

	const char *argv[8];
	size_t argc = 0;
	for (char *word = strtok(exec_start, " "); word != NULL; word = strtok(NULL, " ")) {
		test_assert(argc + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = word;
	}
	argv[argc] = NULL;
	const char *base = strrchr(argv[0], '/');
	test_assert(base != NULL && strcmp(base, "/wl-cross-proxy") == 0);
	// Installed units run the installed proxy; the build tree's run the built one.
	if (getenv("WCP_UNITS_INSTALLED") != NULL) {
		test_assert(strcmp(argv[0], env_path("WCP_PROXY")) == 0);
	} else {
		argv[0] = env_path("WCP_PROXY");
	}

	struct wcp_weston *weston = weston_start(NULL);
	struct wcp_emu_fixture f;
	char host_path[PATH_MAX + 64], path[PATH_MAX + 160], device[PATH_MAX + 40];
	test_format(host_path, sizeof(host_path), "%s/%s", weston->runtime_dir, weston->socket);
	emu_fixture_spawn(&f, host_path, NULL);
	test_format(path, sizeof(path), "%s/%s", weston->runtime_dir, display);
	test_format(device, sizeof(device), "WL_CROSS_PROXY_DEVICE=%s", f.spec);
	char dir[PATH_MAX], path_env[PATH_MAX + 16], buf[512], log_path[PATH_MAX + 16];
	test_dir(dir);
	fake_export_tool(dir, path_env);
	test_format(log_path, sizeof(log_path), "%s/proxy.log", dir);
	struct notify_listener n;
	notify_listen(&n, dir, false);
	int listen_fd = listen_at(path);
	const char *env[] = {n.env, path_env, device, export_env, NULL};
	struct wcp_proc *proxy = spawn_activated(argv, listen_fd, env, log_path);
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));

	char display_env[160], exported[PATH_MAX + 16], want[192];
	test_format(display_env, sizeof(display_env), "WAYLAND_DISPLAY=%s", display);
	expect_client_works(display_env);
	test_format(exported, sizeof(exported), "%s/exported", dir);
	test_format(want, sizeof(want), "--systemd %s\n", display_env);
	char *args = read_text(exported);
	test_assert(strcmp(args, want) == 0);
	free(args);
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);

	// A drop-in's Environment=WL_CROSS_PROXY_EXPORT_ENV=0 turns it off.
	test_assert(unlink(exported) == 0);
	const char *off_env[] = {n.env, path_env, device, "WL_CROSS_PROXY_EXPORT_ENV=0", NULL};
	proxy = spawn_activated(argv, listen_fd, off_env, log_path);
	test_assert(notify_wait(&n, "READY=1", buf, sizeof(buf)));
	expect_client_works(display_env);
	test_assert(access(exported, F_OK) != 0);
	test_assert(proc_stop(proxy, WCP_PROC_GRACE_MS) == 0);
	close(listen_fd);
	notify_close(&n);
	test_assert(emu_fixture_stop(&f) == 0);
	weston_stop(weston);
	free(service);
	free(socket_unit);
	free(environment_d);
	free(autostart);
}

/* --- man pages ---------------------------------------------------------- */

/** Whether `word` occurs in text, not as the prefix of a longer option or name. */
static bool has_word(const char *text, const char *word) {
	size_t len = strlen(word);
	for (const char *at = strstr(text, word); at != NULL; at = strstr(at + 1, word)) {
		char next = at[len];
		if (!(next == '-' || next == '_' || ('a' <= next && next <= 'z') ||
			    ('A' <= next && next <= 'Z'))) {
			return true;
		}
	}
	return false;
}

/** Every --option and WL_CROSS_PROXY_ variable of `program --help` is in its man page. */
static void check_man_page(const char *program, const char *page_variable) {
	const char *page = getenv(page_variable);
	if (page == NULL || page[0] == '\0') {
		test_skip("%s is not set: the man pages were not built (scdoc missing)",
			page_variable);
	}
	if (!proc_have_program("man")) {
		test_skip("man is not installed (package man-db)");
	}
	const char *help_argv[] = {program, "--help", NULL};
	char *help = NULL;
	test_assert(run(help_argv, NULL, &help) == 0);
	// No hyphenation or justification, ASCII, wide lines: words stay whole.
	const char *man_argv[] = {"man", "--nh", "--nj", "-l", page, NULL};
	const char *man_env[] = {"MANWIDTH=250", "LC_ALL=C", "MANPAGER=cat", NULL};
	char *man = NULL;
	int code = proc_run_capture(man_argv, &(struct wcp_proc_opts){.env = man_env}, 20000, &man);
	test_assert(code == 0 && man != NULL);
	test_assert(strstr(man, "SYNOPSIS") != NULL && strstr(man, "OPTIONS") != NULL);
	size_t count = 0;
	for (const char *at = help; *at != '\0'; at++) {
		bool option = at[0] == '-' && at[1] == '-' && 'a' <= at[2] && at[2] <= 'z' &&
			(at == help || at[-1] == ' ' || at[-1] == '\n' || at[-1] == '[');
		bool variable = strncmp(at, "WL_CROSS_PROXY_", 15) == 0 &&
			(at == help || at[-1] == ' ' || at[-1] == '$');
		if (!option && !variable) {
			continue;
		}
		size_t len = strspn(
			at, option ? "-abcdefghijklmnopqrstuvwxyz" : "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		char word[64];
		test_format(word, sizeof(word), "%.*s", (int)len, at);
		if (!has_word(man, word)) {
			test_fail("%s is in %s --help but not in %s", word, program, page);
		}
		count++;
		at += len - 1;
	}
	test_log("%zu options and variables of %s --help are in %s", count, program, page);
	test_assert(count >= 8);
	free(help);
	free(man);
}

TEST(the_proxy_man_page_lists_every_option) {
	check_man_page(env_path("WCP_PROXY"), "WCP_MAN_PROXY");
}

TEST(the_emulator_man_page_lists_every_option) {
	check_man_page(env_path("WCP_EMU"), "WCP_MAN_EMU");
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
