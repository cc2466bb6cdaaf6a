#include "session/export.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"

#define EXPORT_TOOL "dbus-update-activation-environment"
#define EXPORT_TIMEOUT_MS 5000

extern char **environ;

/** Waits up to EXPORT_TIMEOUT_MS for pid; its wait status, or -1 after killing it. */
static int wait_bounded(pid_t pid) {
	for (int waited = 0; waited < EXPORT_TIMEOUT_MS; waited += 10) {
		int status;
		pid_t ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid) {
			return status;
		}
		if (ret < 0 && errno != EINTR) {
			return -1;
		}
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

bool export_display(const char *name) {
	char assignment[256];
	int len = snprintf(assignment, sizeof(assignment), "WAYLAND_DISPLAY=%s", name);
	if (len < 0 || (size_t)len >= sizeof(assignment)) {
		wcp_log(WCP_ERROR, "WAYLAND_DISPLAY=%s is too long to export", name);
		return false;
	}
	char *argv[] = {EXPORT_TOOL, "--systemd", assignment, NULL};
	// The tool starts with default signal handling: the proxy ignores SIGPIPE.
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	pid_t pid;
	int err = posix_spawnp(&pid, EXPORT_TOOL, NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err != 0) {
		wcp_log(WCP_INFO,
			"cannot run " EXPORT_TOOL " (%s; package dbus-bin): %s is not exported to "
			"the session; set it in the clients' environment",
			strerror(err), assignment);
		return false;
	}
	int status = wait_bounded(pid);
	if (status == -1) {
		wcp_log(WCP_INFO, EXPORT_TOOL " did not finish in %d ms: %s is not exported",
			EXPORT_TIMEOUT_MS, assignment);
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		wcp_log(WCP_INFO,
			EXPORT_TOOL " failed (status %d; is there a D-Bus session bus?): %s is not "
				    "exported to the session",
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			assignment);
		return false;
	}
	wcp_log(WCP_INFO, "exported %s to the D-Bus and systemd user environments", assignment);
	return true;
}
