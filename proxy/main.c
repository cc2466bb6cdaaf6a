#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "session/activation.h"
#include "session/check.h"
#include "session/export.h"
#include "session/notify.h"
#include "util/sigbus.h"
#include "virtgpu/probe.h"
#include "wayland/forward.h"

static struct wcp_server *running_server;
static pid_t command_pid = -1;
static int command_status = -1;

/* What the proxy was started with, for the command it starts. */
static struct {
	sigset_t mask;
	struct sigaction pipe, bus, child;
	struct rlimit files; // RLIMIT_NOFILE, if files_known
	bool files_known;
} inherited;

/** How long a command has to end once the proxy has passed it a stop signal. */
#define COMMAND_STOP_MS 5000

static struct wl_event_source *command_stop_timer;

static bool command_running(void) {
	return command_pid > 0 && command_status < 0;
}

static void take_command_status(int status) {
	command_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int handle_command_stop_timeout(void *data) {
	wcp_log(WCP_ERROR, "the command (pid %d) did not end within %d ms; killing it",
		(int)command_pid, COMMAND_STOP_MS);
	kill(command_pid, SIGKILL);
	running_server->running = false;
	return 0;
}

static int handle_stop(int sig, void *data) {
	if (command_running() && command_stop_timer == NULL) {
		// The command goes first, as it would without the proxy, and the
		// proxy ends with its status once it has.
		wcp_log(WCP_INFO, "%s: stopping the command (pid %d) first", strsignal(sig),
			(int)command_pid);
		command_stop_timer = wl_event_loop_add_timer(
			running_server->loop, handle_command_stop_timeout, NULL);
		if (command_stop_timer != NULL &&
			wl_event_source_timer_update(command_stop_timer, COMMAND_STOP_MS) == 0 &&
			kill(command_pid, sig) == 0) {
			return 0;
		}
	}
	wcp_log(WCP_INFO, "%s: stopping", strsignal(sig));
	if (command_running()) {
		kill(command_pid, SIGKILL); // asked twice: no more waiting
	}
	running_server->running = false;
	return 0;
}

/*
 * SIGINT has a signalfd of its own, since libwayland's signal sources do
 * not tell who sent a signal. One from the terminal (Ctrl-C: the kernel
 * sends it to the whole foreground process group) has reached a command
 * that shares the proxy's process group already: passing it on would give
 * the command a second one, and start the wait after which it is killed,
 * though it may have meant to carry on (a shell, an interpreter). The
 * command decides, and the proxy ends when it does. Any other SIGINT stops
 * the proxy as SIGTERM does.
 */
static int handle_interrupt(int fd, uint32_t mask, void *data) {
	struct signalfd_siginfo info;
	while (read(fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		if (info.ssi_code == SI_KERNEL && command_running() &&
			getpgid(command_pid) == getpgrp()) {
			wcp_log(WCP_INFO, "%s from the terminal: left to the command (pid %d)",
				strsignal(SIGINT), (int)command_pid);
			continue;
		}
		handle_stop(SIGINT, NULL);
	}
	return 0;
}

/** A source for SIGINT (blocked already) on the loop, with its fd; NULL on failure. */
static struct wl_event_source *add_interrupt_source(struct wl_event_loop *loop, int *fd) {
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	*fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*fd < 0) {
		return NULL;
	}
	struct wl_event_source *source =
		wl_event_loop_add_fd(loop, *fd, WL_EVENT_READABLE, handle_interrupt, NULL);
	if (source == NULL) {
		close(*fd);
		*fd = -1;
	}
	return source;
}

static int handle_child(int sig, void *data) {
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == command_pid) {
			take_command_status(status);
			running_server->running = false;
		}
	}
	return 0;
}

/**
 * Raises the soft limit on open fds to the hard one: every client costs the
 * proxy several, and the loop is epoll's, which has no use for small fd
 * numbers. The command gets the limit the proxy was given.
 */
static void take_every_fd_allowed(void) {
	inherited.files_known = getrlimit(RLIMIT_NOFILE, &inherited.files) == 0;
	if (!inherited.files_known) {
		return;
	}
	struct rlimit all = {inherited.files.rlim_max, inherited.files.rlim_max};
	if (all.rlim_cur != inherited.files.rlim_cur && setrlimit(RLIMIT_NOFILE, &all) != 0) {
		wcp_log_errno(WCP_INFO, "cannot raise the limit on open files");
	}
}

/** Checks, before any socket exists, that the host can be reached. */
static bool verify_host(const struct wcp_config *config) {
	if (config_is_direct(config)) {
		struct wl_display *host = wl_display_connect(config->host_display);
		if (host == NULL) {
			wcp_log_errno(WCP_ERROR, "cannot connect to the host compositor %s",
				config->host_display != NULL ? config->host_display
							     : "($WAYLAND_DISPLAY)");
			return false;
		}
		wl_display_disconnect(host);
		return true;
	}
	struct wcp_virtgpu_device *device = virtgpu_device_open(config->device);
	if (device == NULL) {
		return false;
	}
	struct wcp_cd_caps caps;
	bool ok = virtgpu_probe_cross_domain(device, WCP_CD_CHANNEL_WAYLAND, &caps);
	virtgpu_device_destroy(device);
	return ok;
}

static int handle_stats(int signal_number, void *data) {
	server_log_stats(data);
	return 0;
}

static bool start_command(struct wcp_server *server, char **command) {
	command_pid = fork();
	if (command_pid < 0) {
		wcp_log_errno(WCP_ERROR, "fork");
		return false;
	}
	if (command_pid == 0) {
		// The loop's signalfds blocked some signals, SIGPIPE is ignored,
		// SIGBUS handled and SIGCHLD at its default here: the command
		// starts with what the proxy was started with, as it would
		// without the proxy.
		sigaction(SIGPIPE, &inherited.pipe, NULL);
		sigaction(SIGBUS, &inherited.bus, NULL);
		sigaction(SIGCHLD, &inherited.child, NULL);
		if (inherited.files_known) {
			setrlimit(RLIMIT_NOFILE, &inherited.files);
		}
		sigprocmask(SIG_SETMASK, &inherited.mask, NULL);
		unsetenv("NOTIFY_SOCKET"); // readiness is the proxy's to report
		setenv("WAYLAND_DISPLAY", server->socket_name, 1);
		execvp(command[0], command);
		fprintf(stderr, "wl-cross-proxy: cannot run %s: %s\n", command[0], strerror(errno));
		_exit(127);
	}
	return true;
}

/** The socket: the one a service manager passed, or our own. */
static struct wcp_server *server_start(const struct wcp_config *config) {
	int fd = -1;
	char path[PATH_MAX], name[108];
	enum wcp_activation_result activation =
		activation_take(&fd, path, sizeof(path), name, sizeof(name));
	if (activation == WCP_ACTIVATION_ERROR) {
		return NULL;
	}
	struct wcp_server *server =
		server_create(config_is_direct(config), config->device, config->host_display);
	if (server == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	server->copy_evict = config->copy_evict;
	bool ok = activation == WCP_ACTIVATION_SOCKET ? server_adopt(server, fd, path, name)
						      : server_listen(server, config->socket);
	if (!ok) {
		server_destroy(server);
		return NULL;
	}
	return server;
}

/**
 * `export WAYLAND_DISPLAY=NAME` for sh, quoted when the name needs it: the
 * socket named by --socket, else the session's (the packaged units').
 */
static int print_env(const struct wcp_config *config) {
	const char *name = config->socket != NULL ? config->socket : WCP_SESSION_SOCKET;
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
		strlen(name)) {
		printf("export WAYLAND_DISPLAY=%s\n", name);
	} else {
		fputs("export WAYLAND_DISPLAY='", stdout);
		for (const char *c = name; *c != '\0'; c++) {
			if (*c == '\'') {
				fputs("'\\''", stdout); // close, escaped quote, reopen
			} else {
				putchar(*c);
			}
		}
		fputs("'\n", stdout);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char *argv[]) {
	struct wcp_config config;
	int exit_code = 1;
	if (!config_parse(argc, argv, &config, &exit_code)) {
		return exit_code;
	}
	log_init("wl-cross-proxy", config.log_level);
	// An fd a parent passed for its own connection: libwayland would take it
	// before any display name, for the host in direct mode and in the
	// command, which are to use the names they are given.
	unsetenv("WAYLAND_SOCKET");
	if (config.action == WCP_ACTION_PRINT_ENV) {
		return print_env(&config);
	}
	if (config.action == WCP_ACTION_CHECK) {
		return check_run(&config, stdout) ? 0 : 1;
	}
	forward_trace_init();
	// Kept for a command, before the proxy changes them for itself.
	sigprocmask(SIG_SETMASK, NULL, &inherited.mask);
	sigaction(SIGBUS, NULL, &inherited.bus);
	sigaction(SIGPIPE, NULL, &inherited.pipe);
	sigaction(SIGCHLD, NULL, &inherited.child);
	take_every_fd_allowed();
	// Children are waited for: ignored, as a parent may leave it, SIGCHLD
	// would never tell that the command ended.
	signal(SIGCHLD, SIG_DFL);
	// A guest client that goes away mid-write must not kill the proxy,
	// nor one that shrinks its shm pool under a copy.
	signal(SIGPIPE, SIG_IGN);
	if (!sigbus_init()) {
		wcp_log_errno(WCP_ERROR, "cannot handle SIGBUS");
		return 1;
	}

	if (!verify_host(&config)) {
		return 1;
	}
	// From here the loop's signal sources take these; until it runs they
	// wait, instead of killing a proxy whose socket already exists.
	sigset_t handled;
	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGUSR1);
	sigaddset(&handled, SIGCHLD);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	struct wcp_server *server = server_start(&config);
	if (server == NULL) {
		return 1;
	}
	if (config.export_env) {
		export_display(server->socket_name);
	}
	running_server = server;
	int interrupt_fd = -1;
	struct wl_event_source *signals[] = {
		wl_event_loop_add_signal(server->loop, SIGTERM, handle_stop, NULL),
		add_interrupt_source(server->loop, &interrupt_fd),
		wl_event_loop_add_signal(server->loop, SIGCHLD, handle_child, NULL),
		wl_event_loop_add_signal(server->loop, SIGUSR1, handle_stats, server),
	};
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] == NULL) {
			// Blocked and never read, SIGTERM would not stop the proxy.
			wcp_log_errno(WCP_ERROR, "cannot watch for signals");
			exit_code = 1;
			goto out;
		}
	}
	const char *mode = server->direct ? "direct to the host compositor" : "cross-domain";
	wcp_log(WCP_INFO, "listening on %s (%s)", server->socket_name, mode);
	char status[256];
	snprintf(status, sizeof(status), "READY=1\nSTATUS=WAYLAND_DISPLAY=%s (%s)",
		server->socket_name, mode);
	notify_send(status);
	if (config.command != NULL && !start_command(server, config.command)) {
		exit_code = 1;
	} else {
		server_run(server);
		exit_code = server->failed ? 1 : command_status >= 0 ? command_status : 0;
	}
	notify_send("STOPPING=1");
	if (command_running()) {
		// Not waited for any longer (or the proxy failed): its status is
		// known once it is killed.
		kill(command_pid, SIGKILL);
		int how;
		if (waitpid(command_pid, &how, 0) == command_pid) {
			take_command_status(how);
			// A proxy that failed says so, whatever the command's end.
			exit_code = server->failed ? 1 : command_status;
		}
	}
	if (command_stop_timer != NULL) {
		wl_event_source_remove(command_stop_timer);
	}
out:
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] != NULL) {
			wl_event_source_remove(signals[i]);
		}
	}
	if (interrupt_fd >= 0) {
		close(interrupt_fd);
	}
	server_destroy(server);
	return exit_code;
}
