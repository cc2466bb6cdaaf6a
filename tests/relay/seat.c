/*
 * wl-cross-proxy and a seat: keymaps, keys, capability changes and
 * selections, relayed between wcp-seat-client and a headless sway, straight
 * (--device=none) and through wl-cross-emu. Host-side peers (wtype,
 * wl-copy, wl-paste) talk to sway directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-client.h>

#include "proc.h"
#include "relay.h"
#include "seat_client.h"
#include "sway.h"
#include "test.h"

#define EVENT_TIMEOUT_MS 10000

struct fixture {
	enum wcp_relay_mode mode;
	struct wcp_sway *sway;
	struct wcp_relay *relay;
	struct wcp_proc *keyboard; // may be NULL
};

static void fixture_start(struct fixture *f, enum wcp_relay_mode mode, bool keyboard) {
	*f = (struct fixture){.mode = mode};
	f->sway = sway_start();
	if (keyboard) {
		f->keyboard = sway_keyboard_start(f->sway);
	}
	struct wcp_relay_host host = sway_relay_host(f->sway);
	f->relay = relay_start_on(&host, mode);
}

static void fixture_stop(struct fixture *f) {
	relay_stop(f->relay);
	proc_stop(f->keyboard, WCP_PROC_GRACE_MS);
	sway_stop(f->sway);
}

static void require_program(const char *name, const char *package) {
	if (!proc_have_program(name)) {
		test_skip("%s is not installed (Debian package %s)", name, package);
	}
}

/** Runs a host-side program on sway to completion; fails the test unless it succeeds. */
static void run_on_host(const struct fixture *f, const char *const argv[]) {
	const char *env[] = {f->sway->env_display, NULL};
	char *out = NULL;
	int code = proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 10000, &out);
	free(out);
	if (code != 0) {
		test_fail("%s exited with %d", argv[0], code);
	}
}

/**
 * Starts a host-side program on sway with the file at `path` as its stdin
 * (`flags` O_RDONLY) or its stdout (O_WRONLY...).
 */
static struct wcp_proc *spawn_on_host(
	const struct fixture *f, const char *const argv[], const char *path, int flags) {
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		test_error("cannot open %s: %s", path, strerror(errno));
	}
	const char *env[] = {f->sway->env_display, NULL};
	struct wcp_proc_opts opts = {.env = env};
	if ((flags & O_ACCMODE) == O_RDONLY) {
		opts.stdin_fd = fd;
	} else {
		opts.stdout_fd = fd;
	}
	struct wcp_proc *proc = proc_spawn(argv, &opts);
	close(fd);
	if (proc == NULL) {
		test_error("cannot start %s", argv[0]);
	}
	return proc;
}

/** A file in sway's runtime dir. */
static void file_path(const struct fixture *f, const char *name, char path[static PATH_MAX]) {
	test_format(path, PATH_MAX, "%s/%s", f->sway->runtime_dir, name);
}

static void write_bytes(const char *path, const void *data, size_t size) {
	FILE *file = fopen(path, "we");
	if (file == NULL) {
		test_error("cannot write %s: %s", path, strerror(errno));
	}
	bool ok = fwrite(data, 1, size, file) == size;
	if (fclose(file) != 0 || !ok) {
		test_error("cannot write %s", path);
	}
}

/** The whole file; *size gets its length. Free with free(). */
static uint8_t *read_bytes(const char *path, size_t *size) {
	char *data = test_read_file(path, size);
	if (data == NULL) {
		test_fail("cannot read %s: %s", path, strerror(errno));
	}
	return (uint8_t *)data;
}

/** Fails the test unless the file holds exactly `size` bytes of `want`. */
static void check_file(const char *path, const uint8_t *want, size_t size, const char *what) {
	size_t got_size;
	uint8_t *got = read_bytes(path, &got_size);
	if (got_size != size) {
		test_fail("%s: %zu bytes arrived, %zu were sent", what, got_size, size);
	}
	for (size_t i = 0; i < size; i++) {
		if (got[i] != want[i]) {
			test_fail("%s: byte %zu is 0x%02x, 0x%02x was sent", what, i, got[i],
				want[i]);
		}
	}
	free(got);
}

/* Keymaps */

/** Runs `keymap FILE` on a display and returns the keymap's bytes. */
static uint8_t *client_keymap(const char *display_env, const char *path, size_t *size) {
	const char *args[] = {"keymap", path, NULL};
	struct wcp_seat_client *client = seat_client_start(display_env, args);
	test_assert(seat_client_expect(client, "keymap ", EVENT_TIMEOUT_MS, NULL, 0));
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
	return read_bytes(path, size);
}

/**
 * The host's keymap fd (a shared-memory file) reaches a guest client as an
 * fd it can map privately, and what it maps is what a client of sway's own
 * reads, byte for byte. The client also compiles it with xkbcommon.
 */
static void check_keymap(enum wcp_relay_mode mode) {
	struct fixture f;
	fixture_start(&f, mode, true);
	char direct_path[PATH_MAX], relayed_path[PATH_MAX];
	file_path(&f, "keymap-direct", direct_path);
	file_path(&f, "keymap-relayed", relayed_path);
	size_t want_size, got_size;
	uint8_t *want = client_keymap(f.sway->env_display, direct_path, &want_size);
	uint8_t *got = client_keymap(f.relay->env_display, relayed_path, &got_size);
	test_log("%s: the keymap is %zu bytes directly, %zu through the proxy",
		relay_mode_name(mode), want_size, got_size);
	test_assert(want_size > 1000 && memcmp(want, "xkb_keymap {", 12) == 0);
	check_file(relayed_path, want, want_size, "the relayed keymap");
	free(want);
	free(got);
	fixture_stop(&f);
}

TEST(keymap_fd_is_usable_direct) {
	check_keymap(WCP_RELAY_DIRECT);
}

TEST(keymap_fd_is_usable_over_cross_domain) {
	check_keymap(WCP_RELAY_EMU);
}

/* Keys */

/**
 * Keys typed on the host reach the focused guest window: the text that
 * xkbcommon makes of the relayed keymap, keycodes and modifiers is the text
 * typed, and a held Control shows up as a modifier.
 */
static void check_keys(enum wcp_relay_mode mode) {
	struct fixture f;
	fixture_start(&f, mode, true);
	static const char text[] = "hello Wörld";
	// 11 characters, then x with Control held.
	const char *args[] = {"keys", "12", NULL};
	struct wcp_seat_client *client = seat_client_start(f.relay->env_display, args);
	test_assert(seat_client_expect(client, "focused", EVENT_TIMEOUT_MS, NULL, 0));
	run_on_host(&f, (const char *const[]){"wtype", text, NULL});
	run_on_host(&f, (const char *const[]){"wtype", "-M", "ctrl", "x", "-m", "ctrl", NULL});
	char line[256];
	test_assert(seat_client_expect(client, "modifiers Control", EVENT_TIMEOUT_MS, NULL, 0));
	test_assert(seat_client_expect(client, "key ", EVENT_TIMEOUT_MS, line, sizeof(line)));
	test_assert(strcmp(strchr(line + 4, ' '), " x") == 0);
	test_assert(seat_client_expect(client, "text ", EVENT_TIMEOUT_MS, line, sizeof(line)));
	if (strcmp(line + 5, text) != 0) {
		test_fail("%s: the guest got \"%s\" for \"%s\"", relay_mode_name(mode), line + 5,
			text);
	}
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
	fixture_stop(&f);
}

TEST(keys_reach_the_focused_guest_direct) {
	check_keys(WCP_RELAY_DIRECT);
}

TEST(keys_reach_the_focused_guest_over_cross_domain) {
	check_keys(WCP_RELAY_EMU);
}

/* Capabilities */

/**
 * The seat's keyboard capability comes and goes with a virtual keyboard on
 * the host, and the guest sees each change; each time it comes, the guest's
 * new wl_keyboard gets a keymap.
 */
static void check_capabilities(enum wcp_relay_mode mode) {
	struct fixture f;
	fixture_start(&f, mode, false);
	const char *args[] = {"caps", NULL};
	struct wcp_seat_client *client = seat_client_start(f.relay->env_display, args);
	test_assert(seat_client_expect(client, "capabilities 0", EVENT_TIMEOUT_MS, NULL, 0));
	for (int round = 0; round < 2; round++) {
		struct wcp_proc *keyboard = sway_keyboard_start(f.sway);
		char line[64];
		test_assert(seat_client_expect(
			client, "capabilities ", EVENT_TIMEOUT_MS, line, sizeof(line)));
		test_assert(strcmp(line, "capabilities 2") == 0);
		test_assert(seat_client_expect(client, "keymap ", EVENT_TIMEOUT_MS, NULL, 0));
		proc_stop(keyboard, WCP_PROC_GRACE_MS);
		test_assert(seat_client_expect(
			client, "capabilities ", EVENT_TIMEOUT_MS, line, sizeof(line)));
		test_assert(strcmp(line, "capabilities 0") == 0);
	}
	// It was never told to end, and it is still connected.
	test_assert(proc_alive(client->proc));
	seat_client_finish(client, 0);
	fixture_stop(&f);
}

TEST(capabilities_follow_the_host_direct) {
	check_capabilities(WCP_RELAY_DIRECT);
}

TEST(capabilities_follow_the_host_over_cross_domain) {
	check_capabilities(WCP_RELAY_EMU);
}

/* Selections */

#define LARGE_SIZE (1024 * 1024)

struct payload {
	const char *name;
	const char *mime;
	uint8_t *bytes;
	size_t size;
};

/** A short text and 1 MiB of pseudo-random bytes (xorshift32, fixed seed). */
static void payloads_create(struct payload payloads[2], const char *text) {
	uint8_t *large = malloc(LARGE_SIZE);
	char *copy = strdup(text);
	if (large == NULL || copy == NULL) {
		test_error("out of memory");
	}
	uint32_t x = 0x9e3779b9;
	for (size_t i = 0; i < LARGE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		large[i] = (uint8_t)(x >> 24);
	}
	payloads[0] =
		(struct payload){"text", "text/plain;charset=utf-8", (uint8_t *)copy, strlen(text)};
	payloads[1] = (struct payload){"1 MiB", "application/octet-stream", large, LARGE_SIZE};
}

static void payloads_destroy(struct payload payloads[2]) {
	free(payloads[0].bytes);
	free(payloads[1].bytes);
}

/** One selection case: which selection, which payload, and the files it uses. */
struct selection_case {
	const struct fixture *f;
	bool primary;
	const struct payload *payload;
	char source_path[PATH_MAX]; // holds the payload
	char pasted_path[PATH_MAX]; // gets what arrived
};

/** wcp-seat-client's arguments for `command` ("copy" or "paste") on `path`. */
static void selection_args(const struct selection_case *c, const char *command, const char *path,
	const char *args[6]) {
	size_t n = 0;
	args[n++] = command;
	if (c->primary) {
		args[n++] = "--primary";
	}
	args[n++] = c->payload->mime;
	args[n++] = path;
	args[n] = NULL;
}

/**
 * Runs `run` for each selection (clipboard, then primary) and each payload
 * (`text`, then 1 MiB of pseudo-random bytes) on one sway with a keyboard.
 */
static void run_selection_cases(
	enum wcp_relay_mode mode, const char *text, void (*run)(const struct selection_case *c)) {
	require_program("wl-copy", "wl-clipboard");
	require_program("wl-paste", "wl-clipboard");
	struct fixture f;
	fixture_start(&f, mode, true);
	struct payload payloads[2];
	payloads_create(payloads, text);
	struct selection_case c = {.f = &f};
	file_path(&f, "source", c.source_path);
	file_path(&f, "pasted", c.pasted_path);
	for (int primary = 0; primary < 2; primary++) {
		for (size_t i = 0; i < 2; i++) {
			c.primary = primary;
			c.payload = &payloads[i];
			test_log("%s: %s on the %s", relay_mode_name(mode), c.payload->name,
				primary ? "primary selection" : "clipboard");
			write_bytes(c.source_path, c.payload->bytes, c.payload->size);
			run(&c);
			check_file(
				c.pasted_path, c.payload->bytes, c.payload->size, c.payload->name);
		}
	}
	payloads_destroy(payloads);
	fixture_stop(&f);
}

/** Runs wl-paste on the host for the case's selection, into its pasted file. */
static void host_paste(const struct selection_case *c) {
	const char *argv[] = {"wl-paste", "--no-newline", "--type", c->payload->mime,
		c->primary ? "--primary" : NULL, NULL};
	struct wcp_proc *paste =
		spawn_on_host(c->f, argv, c->pasted_path, O_WRONLY | O_CREAT | O_TRUNC);
	if (!proc_wait(paste, 20000)) {
		test_fail("wl-paste did not finish within 20 s");
	}
	int code = proc_stop(paste, 0);
	if (code != 0) {
		test_fail("wl-paste exited with %d", code);
	}
}

/**
 * A guest client's selection reaches a host client exactly, through the
 * source's pipe. When the host clears the selection, the guest's source is
 * cancelled.
 */
static void copy_to_host(const struct selection_case *c) {
	const char *args[6];
	selection_args(c, "copy", c->source_path, args);
	struct wcp_seat_client *client = seat_client_start(c->f->relay->env_display, args);
	test_assert(seat_client_expect(client, "selection set", EVENT_TIMEOUT_MS, NULL, 0));
	host_paste(c);
	test_assert(seat_client_expect(client, "sent ", EVENT_TIMEOUT_MS, NULL, 0));
	const char *clear[] = {"wl-copy", "--clear", c->primary ? "--primary" : NULL, NULL};
	run_on_host(c->f, clear);
	test_assert(seat_client_expect(client, "cancelled", EVENT_TIMEOUT_MS, NULL, 0));
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
}

/**
 * A host client's selection (wl-copy) reaches a focused guest client
 * exactly: the offer with its type, then the bytes through the guest's pipe.
 */
static void paste_from_host(const struct selection_case *c) {
	const char *copy_argv[] = {"wl-copy", "--foreground", "--type", c->payload->mime,
		c->primary ? "--primary" : NULL, NULL};
	struct wcp_proc *copy = spawn_on_host(c->f, copy_argv, c->source_path, O_RDONLY);
	const char *args[6];
	selection_args(c, "paste", c->pasted_path, args);
	struct wcp_seat_client *client = seat_client_start(c->f->relay->env_display, args);
	test_assert(seat_client_expect(client, "received ", EVENT_TIMEOUT_MS, NULL, 0));
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
	test_assert(proc_alive(copy));
	proc_stop(copy, WCP_PROC_GRACE_MS);
}

TEST_OPTS(selection_from_guest_to_host_direct, .timeout_s = 60) {
	run_selection_cases(WCP_RELAY_DIRECT, "from the guest: héllo\n", copy_to_host);
}

TEST_OPTS(selection_from_guest_to_host_over_cross_domain, .timeout_s = 60) {
	run_selection_cases(WCP_RELAY_EMU, "from the guest: héllo\n", copy_to_host);
}

TEST_OPTS(selection_from_host_to_guest_direct, .timeout_s = 60) {
	run_selection_cases(WCP_RELAY_DIRECT, "from the host: wörld", paste_from_host);
}

TEST_OPTS(selection_from_host_to_guest_over_cross_domain, .timeout_s = 60) {
	run_selection_cases(WCP_RELAY_EMU, "from the host: wörld", paste_from_host);
}

/** Pastes the host's selection through a pipe and checks it is `text`. */
static void paste_text(const struct fixture *f, const char *text, const char *path) {
	const char *args[] = {"paste", "text/plain;charset=utf-8", path, NULL};
	struct wcp_seat_client *client = seat_client_start(f->relay->env_display, args);
	test_assert(seat_client_expect(client, "received ", EVENT_TIMEOUT_MS, NULL, 0));
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
	check_file(path, (const uint8_t *)text, strlen(text), "text");
}

/** Whether the proxy's log has a line with `text`. */
static bool proxy_logged(const struct fixture *f, const char *text) {
	size_t size;
	char *log = test_read_file(f->relay->log_path, &size);
	bool found = log != NULL && strstr(log, text) != NULL;
	free(log);
	return found;
}

/**
 * A guest that hands the host a file to write the selection into. A
 * compositor takes any fd, so straight to sway the file fills. Over
 * cross-domain only pipes and device buffers cross: the guest ends with a
 * protocol error that says so, and the proxy and its other clients carry
 * on.
 */
static void check_fd_that_cannot_cross(enum wcp_relay_mode mode) {
	require_program("wl-copy", "wl-clipboard");
	struct fixture f;
	fixture_start(&f, mode, true);
	const char *text = "written by the host";
	char source[PATH_MAX], pasted[PATH_MAX];
	file_path(&f, "source", source);
	file_path(&f, "pasted", pasted);
	write_bytes(source, text, strlen(text));
	const char *copy_argv[] = {
		"wl-copy", "--foreground", "--type", "text/plain;charset=utf-8", NULL};
	struct wcp_proc *copy = spawn_on_host(&f, copy_argv, source, O_RDONLY);

	const char *args[] = {"paste", "--into-file", "text/plain;charset=utf-8", pasted, NULL};
	struct wcp_seat_client *client = seat_client_start(f.relay->env_display, args);
	if (mode == WCP_RELAY_DIRECT) {
		test_assert(seat_client_expect(client, "handed over", EVENT_TIMEOUT_MS, NULL, 0));
		test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
		// The host writes the file on its own time.
		long long deadline = proc_now_ms() + EVENT_TIMEOUT_MS;
		struct stat st;
		while ((stat(pasted, &st) != 0 || (size_t)st.st_size < strlen(text)) &&
			proc_now_ms() < deadline) {
			proc_sleep_ms(20);
		}
		check_file(pasted, (const uint8_t *)text, strlen(text), "text");
	} else {
		char line[128];
		test_assert(seat_client_expect(
			client, "protocol error ", EVENT_TIMEOUT_MS, line, sizeof(line)));
		test_assert(strcmp(line, "protocol error 3 on wl_display") == 0);
		test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) != 0);
		// The error names the fd's kind.
		test_assert(proxy_logged(&f,
			"wl_data_offer.receive: a memfd, shared memory or "
			"file cannot cross the cross-domain channel"));
		test_assert(proc_alive(f.relay->proxy));
		paste_text(&f, text, pasted);
	}
	proc_stop(copy, WCP_PROC_GRACE_MS);
	fixture_stop(&f);
}

TEST_OPTS(fd_that_cannot_cross_direct, .timeout_s = 60) {
	check_fd_that_cannot_cross(WCP_RELAY_DIRECT);
}

TEST_OPTS(fd_that_cannot_cross_over_cross_domain, .timeout_s = 60) {
	check_fd_that_cannot_cross(WCP_RELAY_EMU);
}

/* More than the proxy keeps for a pipe's reader (64 MiB). */
#define UNREAD_SIZE (80 * 1024 * 1024)

/**
 * Over cross-domain, a guest that asks for 80 MiB of the host's selection
 * and does not read its pipe: the proxy keeps 64 MiB for it, then closes
 * the pipe with a line in its log, rather than take ever more memory.
 * Once the guest reads, it gets what the pipe held, a prefix of the
 * selection, and the end of the file; the proxy and the guest carry on.
 */
TEST_OPTS(selection_left_unread_is_cut_over_cross_domain, .timeout_s = 90) {
	require_program("wl-copy", "wl-clipboard");
	struct fixture f;
	fixture_start(&f, WCP_RELAY_EMU, true);
	uint8_t *bytes = malloc(UNREAD_SIZE);
	test_assert(bytes != NULL);
	for (size_t i = 0; i < UNREAD_SIZE; i++) {
		bytes[i] = (uint8_t)(i * 7 + (i >> 12));
	}
	char source[PATH_MAX], pasted[PATH_MAX], go[PATH_MAX];
	file_path(&f, "source", source);
	file_path(&f, "pasted", pasted);
	file_path(&f, "go", go);
	write_bytes(source, bytes, UNREAD_SIZE);
	const char *mime = "application/octet-stream";
	const char *copy_argv[] = {"wl-copy", "--foreground", "--type", mime, NULL};
	struct wcp_proc *copy = spawn_on_host(&f, copy_argv, source, O_RDONLY);

	const char *args[] = {"paste", "--read-after", go, mime, pasted, NULL};
	struct wcp_seat_client *client = seat_client_start(f.relay->env_display, args);
	test_assert(seat_client_expect(client, "asked", EVENT_TIMEOUT_MS, NULL, 0));
	for (long long deadline = proc_now_ms() + 30000;
		!proxy_logged(&f, "unread; the pipe is closed");) {
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(50);
	}
	write_bytes(go, "", 0);
	char line[64];
	test_assert(seat_client_expect(client, "received ", EVENT_TIMEOUT_MS, line, sizeof(line)));
	test_assert(seat_client_finish(client, EVENT_TIMEOUT_MS) == 0);
	size_t got_size;
	uint8_t *got = read_bytes(pasted, &got_size);
	test_log("%s of %d bytes", line, UNREAD_SIZE);
	test_assert(got_size > 0 && got_size < UNREAD_SIZE);
	test_assert(memcmp(got, bytes, got_size) == 0);
	free(got);
	free(bytes);
	test_assert(proc_alive(f.relay->proxy));
	proc_stop(copy, WCP_PROC_GRACE_MS);
	fixture_stop(&f);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
