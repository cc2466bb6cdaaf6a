/*
 * wl-cross-proxy as a program: its socket, the command it runs, how it
 * stops and what it passes on to the command (signals, fd limits).
 */
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"
#include "weston.h"

/** Runs argv to its end (within 20 s) and returns its exit code. */
static int run_to_exit(const char *const argv[]) {
	struct wcp_proc *proc = proc_spawn(argv, NULL);
	test_assert(proc != NULL && proc_wait(proc, 20000));
	int code = proc_exit_code(proc);
	proc_stop(proc, 0);
	return code;
}

TEST(bad_device_fails_before_the_socket) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	const char *argv[] = {
		proxy, "--device=emu:/nonexistent/emu.sock", "--socket=wcp-bad", NULL};
	test_assert(run_to_exit(argv) == 1);
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/wcp-bad", weston->runtime_dir);
	test_assert(access(path, F_OK) != 0);
	weston_stop(weston);
}

/* A socket name a file of another kind has: the proxy refuses it and leaves the file. */
TEST(name_held_by_a_file_that_is_no_socket) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char path[PATH_MAX], host[96];
	test_format(path, sizeof(path), "%s/wcp-file", weston->runtime_dir);
	FILE *file = fopen(path, "we");
	test_assert(file != NULL && fputs("kept", file) >= 0 && fclose(file) == 0);
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	const char *argv[] = {proxy, "--device=none", host, "--socket=wcp-file", NULL};
	test_assert(run_to_exit(argv) == 1);
	size_t size;
	char *kept = test_read_file(path, &size);
	test_assert(kept != NULL && size == 4 && memcmp(kept, "kept", 4) == 0);
	free(kept);
	weston_stop(weston);
}

TEST(command_runs_on_the_socket_and_gives_its_status) {
	if (!proc_have_program("wayland-info")) {
		test_skip("wayland-info is not installed (Debian package wayland-utils)");
	}
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char host[96];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	const char *argv[] = {proxy, "--device=none", host, "--", "sh", "-c",
		"case \"$WAYLAND_DISPLAY\" in wayland-*) wayland-info >/dev/null && exit 7;; esac; "
		"exit 1",
		NULL};
	test_assert(run_to_exit(argv) == 7);
	weston_stop(weston);
}

/**
 * Runs the proxy with `script` as its command, sends the proxy SIGTERM once
 * the command has written its ready file, and returns the proxy's exit code.
 */
static int stop_with_command(struct wcp_weston *weston, const char *script) {
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char host[96], ready[PATH_MAX], command[512];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(ready, sizeof(ready), "%s/command-ready", weston->runtime_dir);
	unlink(ready);
	test_format(command, sizeof(command), "%s; : > '%s'; while :; do sleep 0.05; done", script,
		ready);
	const char *argv[] = {proxy, "--device=none", host, "--", "sh", "-c", command, NULL};
	struct wcp_proc *proc = proc_spawn(argv, NULL);
	test_assert(proc != NULL);
	for (long long deadline = proc_now_ms() + 10000; access(ready, F_OK) != 0;) {
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(20);
	}
	test_assert(kill(proc->pid, SIGTERM) == 0);
	test_assert(proc_wait(proc, 15000));
	int code = proc_exit_code(proc);
	proc_stop(proc, 0);
	return code;
}

/*
 * SIGTERM to a proxy that runs a command goes to the command first: the
 * proxy ends once it has, with its status; a command that ignores it is
 * killed after 5 s. Either way nothing is left running (the harness's
 * leftover check).
 */
TEST_OPTS(stop_signal_goes_to_the_command_first, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	test_assert(stop_with_command(weston, "trap 'exit 7' TERM") == 7);
	test_assert(stop_with_command(weston, "trap '' TERM") == 128 + SIGKILL);
	weston_stop(weston);
}

/** Appends what the pty's master has to read to `text` (a NUL-terminated buffer of `size`). */
static void drain_pty(int master, char *text, size_t size) {
	size_t len = strlen(text);
	ssize_t n;
	char buf[512];
	while ((n = read(master, buf, sizeof(buf))) > 0) {
		size_t room = size - 1 - len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		memcpy(text + len, buf, take);
		len += take;
		text[len] = '\0';
	}
}

/*
 * Ctrl-C in the terminal the proxy runs a command in: the kernel sends
 * SIGINT to both, as they share a process group. The command has it
 * already, so the proxy passes nothing on and kills nothing: a command
 * that carries on after it (a shell, an interpreter) gets one SIGINT and
 * keeps running with the proxy. SIGTERM still goes to the command.
 */
TEST_OPTS(ctrl_c_in_a_terminal_is_left_to_the_command, .timeout_s = 60) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char host[96], ready[PATH_MAX], count[PATH_MAX];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	test_format(ready, sizeof(ready), "%s/command-ready", weston->runtime_dir);
	test_format(count, sizeof(count), "%s/interrupts", weston->runtime_dir);
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	test_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(proxy, proxy, "--device=none", host, "--", "sh", "-c",
			"trap 'echo interrupted >> \"$0\"' INT; : > \"$1\"; "
			"while :; do sleep 0.05; done",
			count, ready, (char *)NULL);
		_exit(127);
	}
	fcntl(master, F_SETFL, O_NONBLOCK);
	static char output[16384];
	output[0] = '\0';
	for (long long deadline = proc_now_ms() + 10000; access(ready, F_OK) != 0;) {
		test_assert(proc_now_ms() < deadline);
		drain_pty(master, output, sizeof(output));
		proc_sleep_ms(10);
	}
	// Ctrl-C, as the terminal's line discipline reads it.
	test_assert(write(master, "\x03", 1) == 1);
	for (long long deadline = proc_now_ms() + 10000;
		strstr(output, "from the terminal: left to the command") == NULL;) {
		if (proc_now_ms() >= deadline) {
			test_fail("the proxy did not leave Ctrl-C to its command:\n%s", output);
		}
		drain_pty(master, output, sizeof(output));
		proc_sleep_ms(10);
	}
	for (long long deadline = proc_now_ms() + 10000; access(count, F_OK) != 0;) {
		test_assert(proc_now_ms() < deadline);
		proc_sleep_ms(10);
	}
	char *lines = test_read_file(count, NULL);
	test_assert(lines != NULL && strcmp(lines, "interrupted\n") == 0);
	free(lines);
	int status;
	test_assert(waitpid(pid, &status, WNOHANG) == 0);

	test_assert(kill(pid, SIGTERM) == 0);
	long long deadline = proc_now_ms() + 15000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		test_assert(proc_now_ms() < deadline);
		drain_pty(master, output, sizeof(output));
		proc_sleep_ms(10);
	}
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM);
	close(master);
	weston_stop(weston);
}

/** The value of `key` (e.g. "SigIgn") in this process's /proc/self/status. */
static void own_status(const char *key, char *out, size_t size) {
	FILE *f = fopen("/proc/self/status", "re");
	test_assert(f != NULL);
	char line[256];
	size_t len = strlen(key);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			const char *value = line + len + 1 + strspn(line + len + 1, " \t");
			test_format(out, size, "%.*s", (int)strcspn(value, "\n"), value);
			found = true;
		}
	}
	fclose(f);
	test_assert(found);
}

/** Runs `grep -qE PATTERN /proc/self/status` as the proxy's command; true if it matched. */
static bool command_status_matches(const char *host, const char *pattern) {
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	const char *argv[] = {proxy, "--device=none", host, "--", "grep", "-qE", pattern,
		"/proc/self/status", NULL};
	return run_to_exit(argv) == 0;
}

/* The command's ignored signals are the proxy's parent's, whatever the proxy ignores. */
static void check_command_ignores_as_parent(const char *host) {
	char ignored[64], pattern[96];
	own_status("SigIgn", ignored, sizeof(ignored));
	test_format(pattern, sizeof(pattern), "^SigIgn:[[:space:]]+%s$", ignored);
	test_assert(command_status_matches(host, pattern));
}

TEST(command_starts_with_the_signals_the_proxy_was_given) {
	struct wcp_weston *weston = weston_start(NULL);
	char host[96];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	// Nothing blocked: Ctrl-C and kill reach the command, though the proxy
	// blocks what its loop reads through signalfds.
	test_assert(command_status_matches(host, "^SigBlk:[[:space:]]+0+$"));
	// Ignored as the proxy found them: SIGPIPE, which the proxy ignores for
	// itself, only if its parent ignored it too, and SIGHUP under nohup.
	check_command_ignores_as_parent(host);
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old_pipe, old_hup;
	sigemptyset(&ignore.sa_mask);
	test_assert(sigaction(SIGPIPE, &ignore, &old_pipe) == 0);
	test_assert(sigaction(SIGHUP, &ignore, &old_hup) == 0);
	check_command_ignores_as_parent(host);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	weston_stop(weston);
}

TEST(command_ends_the_proxy_though_child_signals_were_ignored) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char host[96];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	// The proxy's parent ignores SIGCHLD, which exec keeps: the proxy must
	// still learn that its command ended, and the command still finds
	// SIGCHLD ignored (bit 17: 0x10000 in SigIgn).
	const char *argv[] = {"env", "--ignore-signal=CHLD", proxy, "--device=none", host, "--",
		"grep", "-qE", "^SigIgn:[[:space:]]+[0-9a-f]*[13579bdf][0-9a-f]{4}$",
		"/proc/self/status", NULL};
	test_assert(run_to_exit(argv) == 0);
	weston_stop(weston);
}

/**
 * The proxy allows itself every fd its hard limit allows, and its command
 * starts with the soft limit the proxy was given.
 */
TEST(proxy_takes_every_fd_allowed_and_its_command_the_limit_given) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *proxy = getenv("WCP_PROXY");
	test_assert(proxy != NULL);
	char host[96];
	test_format(host, sizeof(host), "--host-display=%s", weston->socket);
	// The command's parent is the proxy.
	const char *argv[] = {"prlimit", "--nofile=256:4096", proxy, "--device=none", host, "--",
		"sh", "-c",
		"test \"$(ulimit -n)\" = 256 && "
		"grep -qE '^Max open files +4096 +4096 ' /proc/$PPID/limits",
		NULL};
	test_assert(run_to_exit(argv) == 0);
	weston_stop(weston);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
