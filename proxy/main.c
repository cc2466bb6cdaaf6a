#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>

#include "log.h"
#include "server.h"
#include "util/sigbus.h"
#include "virtgpu/probe.h"
#include "wayland/forward.h"

static const char usage[] =
	"usage: wl-cross-proxy [options] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Relays Wayland clients in a VM guest to the host compositor over the\n"
	"virtio-gpu cross-domain channel.\n"
	"\n"
	"  --device=PATH          the virtio-gpu render node (default: the first\n"
	"                         whose driver is virtio_gpu)\n"
	"  --device=emu:PATH      wl-cross-emu's socket instead of a render node\n"
	"  --device=none          no cross-domain: connect straight to the host\n"
	"                         compositor named by --host-display\n"
	"  --host-display=NAME    with --device=none, the compositor to connect to\n"
	"                         (default: $WAYLAND_DISPLAY)\n"
	"  --socket=NAME          the Wayland socket to create in $XDG_RUNTIME_DIR\n"
	"                         (default: the first free wayland-N)\n"
	"  --log-level=LEVEL      silent, error, info (default) or debug\n"
	"  --version              print the version and exit\n"
	"  --help                 print this help and exit\n"
	"\n"
	"With -- COMMAND, runs COMMAND with WAYLAND_DISPLAY set to the socket and\n"
	"exits with its status when it exits.\n"
	"\n"
	"Environment: WL_CROSS_PROXY_DEBUG=guest,host (or all) traces every\n"
	"message relayed in that direction.\n";

struct wcp_options {
	const char *device; // NULL: search; "none": direct
	const char *host_display;
	const char *socket;
	char **command; // NULL-terminated, may be NULL
};

static struct wcp_server *running_server;
static pid_t command_pid = -1;
static int command_status = -1;

static int handle_stop(int sig, void *data) {
	wcp_log(WCP_INFO, "%s: stopping", strsignal(sig));
	running_server->running = false;
	return 0;
}

static int handle_child(int sig, void *data) {
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == command_pid) {
			command_status =
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			running_server->running = false;
		}
	}
	return 0;
}

static bool parse_options(int argc, char *argv[], struct wcp_options *opts, int *exit_code) {
	static const struct option long_options[] = {
		{"device", required_argument, NULL, 'd'},
		{"host-display", required_argument, NULL, 'H'},
		{"socket", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'l'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum wcp_log_level level = WCP_INFO;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			opts->device = optarg;
			break;
		case 'H':
			opts->host_display = optarg;
			break;
		case 's':
			opts->socket = optarg;
			break;
		case 'l':
			if (!log_level_parse(optarg, &level)) {
				fprintf(stderr, "unknown log level %s\n", optarg);
				*exit_code = 2;
				return false;
			}
			break;
		case 'v':
			printf("wl-cross-proxy %s\n", WCP_VERSION);
			*exit_code = 0;
			return false;
		case 'h':
			fputs(usage, stdout);
			*exit_code = 0;
			return false;
		default:
			fputs(usage, stderr);
			*exit_code = 2;
			return false;
		}
	}
	if (optind < argc) {
		opts->command = &argv[optind];
	}
	log_init("wl-cross-proxy", level);
	return true;
}

/** Checks, before any socket exists, that the host can be reached. */
static bool verify_host(const struct wcp_options *opts) {
	if (opts->device != NULL && strcmp(opts->device, "none") == 0) {
		struct wl_display *host = wl_display_connect(opts->host_display);
		if (host == NULL) {
			wcp_log_errno(WCP_ERROR, "cannot connect to the host compositor %s",
				opts->host_display != NULL ? opts->host_display
							   : "($WAYLAND_DISPLAY)");
			return false;
		}
		wl_display_disconnect(host);
		return true;
	}
	struct wcp_virtgpu_device *device = virtgpu_device_open(opts->device);
	if (device == NULL) {
		return false;
	}
	struct wcp_cd_caps caps;
	bool ok = virtgpu_probe_cross_domain(device, WCP_CD_CHANNEL_WAYLAND, &caps);
	virtgpu_device_destroy(device);
	return ok;
}

static bool start_command(struct wcp_server *server, char **command) {
	command_pid = fork();
	if (command_pid < 0) {
		wcp_log_errno(WCP_ERROR, "fork");
		return false;
	}
	if (command_pid == 0) {
		// The loop's signalfds blocked these, and SIGPIPE is ignored here;
		// the command starts with the defaults.
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		setenv("WAYLAND_DISPLAY", server->socket_name, 1);
		execvp(command[0], command);
		fprintf(stderr, "wl-cross-proxy: cannot run %s: %s\n", command[0], strerror(errno));
		_exit(127);
	}
	return true;
}

int main(int argc, char *argv[]) {
	struct wcp_options opts = {0};
	int exit_code = 1;
	if (!parse_options(argc, argv, &opts, &exit_code)) {
		return exit_code;
	}
	forward_trace_init();
	// A guest client that goes away mid-write must not kill the proxy,
	// nor one that shrinks its shm pool under a copy.
	signal(SIGPIPE, SIG_IGN);
	if (!sigbus_init()) {
		wcp_log_errno(WCP_ERROR, "cannot handle SIGBUS");
		return 1;
	}

	if (!verify_host(&opts)) {
		return 1;
	}
	bool direct = opts.device != NULL && strcmp(opts.device, "none") == 0;
	struct wcp_server *server = server_create(direct, opts.device, opts.host_display);
	if (server == NULL || !server_listen(server, opts.socket)) {
		server_destroy(server);
		return 1;
	}
	running_server = server;
	struct wl_event_source *signals[] = {
		wl_event_loop_add_signal(server->loop, SIGTERM, handle_stop, NULL),
		wl_event_loop_add_signal(server->loop, SIGINT, handle_stop, NULL),
		wl_event_loop_add_signal(server->loop, SIGCHLD, handle_child, NULL),
	};
	wcp_log(WCP_INFO, "listening on %s (%s)", server->socket_name,
		direct ? "direct to the host compositor" : "cross-domain");
	if (opts.command != NULL && !start_command(server, opts.command)) {
		exit_code = 1;
	} else {
		server_run(server);
		exit_code = command_status >= 0 ? command_status : 0;
	}
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i] != NULL) {
			wl_event_source_remove(signals[i]);
		}
	}
	server_destroy(server);
	return exit_code;
}
