#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define ENV_PREFIX "WL_CROSS_PROXY_"

enum config_key {
	KEY_DEVICE = 256,
	KEY_HOST_DISPLAY,
	KEY_SOCKET,
	KEY_LOG_LEVEL,
	KEY_EXPORT_ENV,
	KEY_COPY_EVICT,
	KEY_CHECK,
	KEY_PRINT_ENV,
	KEY_VERSION,
	KEY_HELP,
};

/** One option: its long name, argument, help lines, and whether a variable sets it. */
struct config_option {
	const char *name;
	const char *arg; // NULL for a switch
	enum config_key key;
	bool setting; // also WL_CROSS_PROXY_<NAME>
	const char *help; // lines separated by '\n'
};

static const struct config_option options[] = {
	{"device", "SPEC", KEY_DEVICE, true,
		"the virtio-gpu render node: a path; emu:PATH for\n"
		"wl-cross-emu's socket; or none, straight to the host\n"
		"compositor of --host-display (default: the first\n"
		"render node whose driver is virtio_gpu)"},
	{"host-display", "NAME", KEY_HOST_DISPLAY, true,
		"with --device=none, the compositor to connect to\n"
		"(default: $WAYLAND_DISPLAY)"},
	{"socket", "NAME", KEY_SOCKET, true,
		"the Wayland socket to create in $XDG_RUNTIME_DIR\n"
		"(default: the first free wayland-N); a socket passed\n"
		"by systemd (LISTEN_FDS) is used instead"},
	{"log-level", "LEVEL", KEY_LOG_LEVEL, true, "silent, error, info (default) or debug"},
	{"export-env", NULL, KEY_EXPORT_ENV, true,
		"once listening, put WAYLAND_DISPLAY into the D-Bus\n"
		"activation and systemd user environments\n"
		"(variable: 1 or 0)"},
	{"copy-evict", "WHEN", KEY_COPY_EVICT, true,
		"when a copy of 1 MiB or more from a client's buffer\n"
		"drops what it read from the CPU caches: auto (default:\n"
		"the client last ran on a CPU that sysfs does not say\n"
		"shares the proxy's last-level cache), other-cpu (on\n"
		"any other CPU) or never"},
	{"check", NULL, KEY_CHECK, false,
		"check that this guest can run the proxy: print a\n"
		"checklist with the fix for each problem, and exit\n"
		"(status 0: it can)"},
	{"print-env", NULL, KEY_PRINT_ENV, false,
		"print export WAYLAND_DISPLAY=NAME for shells, NAME\n"
		"being --socket or else the session's socket"},
	{"version", NULL, KEY_VERSION, false, "print the version and exit"},
	{"help", NULL, KEY_HELP, false, "print this help and exit"},
};

#define OPTION_COUNT (sizeof(options) / sizeof(options[0]))

/** WL_CROSS_PROXY_<NAME> of an option, into buf. */
static void env_name(const struct config_option *option, char *buf, size_t size) {
	snprintf(buf, size, ENV_PREFIX "%s", option->name);
	for (char *c = buf + strlen(ENV_PREFIX); *c != '\0'; c++) {
		*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
	}
}

void config_usage(FILE *out) {
	fputs("usage: wl-cross-proxy [options] [-- COMMAND [ARGS...]]\n"
	      "\n"
	      "Relays Wayland clients in a VM guest to the host compositor over the\n"
	      "virtio-gpu cross-domain channel.\n"
	      "\n",
		out);
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		const struct config_option *option = &options[i];
		char head[64];
		snprintf(head, sizeof(head), "--%s%s%s", option->name, option->arg ? "=" : "",
			option->arg ? option->arg : "");
		fprintf(out, "  %-21s ", head);
		for (const char *line = option->help; *line != '\0';) {
			const char *end = strchrnul(line, '\n');
			fprintf(out, "%s%.*s\n",
				line == option->help ? "" : "                        ",
				(int)(end - line), line);
			line = *end == '\n' ? end + 1 : end;
		}
		if (option->setting) {
			char env[64];
			env_name(option, env, sizeof(env));
			fprintf(out, "                        environment: %s\n", env);
		}
	}
	fputs("\n"
	      "The command line wins over the environment; an empty variable is unset.\n"
	      "With -- COMMAND, runs COMMAND with WAYLAND_DISPLAY set to the socket and\n"
	      "exits with its status when it exits. Readiness goes to $NOTIFY_SOCKET.\n"
	      "\n"
	      "WL_CROSS_PROXY_DEBUG=guest,host (or all) traces every message relayed\n"
	      "in that direction. SIGUSR1 logs how much shm memory was copied.\n",
		out);
}

static bool parse_bool(const char *text, bool *value) {
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(text, yes[i]) == 0 || strcmp(text, no[i]) == 0) {
			*value = strcmp(text, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static bool parse_copy_evict(const char *text, enum wcp_copy_evict *value) {
	static const char *const names[] = {
		[WCP_COPY_EVICT_AUTO] = "auto",
		[WCP_COPY_EVICT_OTHER_CPU] = "other-cpu",
		[WCP_COPY_EVICT_NEVER] = "never",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == WCP_COPY_EVICT_NEVER + 1,
		"a name for every rule");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(text, names[i]) == 0) {
			*value = (enum wcp_copy_evict)i;
			return true;
		}
	}
	return false;
}

/** Whether a name has a control character (a newline would start another line of it). */
static bool has_control(const char *name) {
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			return true;
		}
	}
	return false;
}

/** Applies one setting; `source` names it in the error message. */
static bool apply(
	struct wcp_config *config, enum config_key key, const char *value, const char *source) {
	switch (key) {
	case KEY_DEVICE:
		config->device = value;
		return true;
	case KEY_HOST_DISPLAY:
		config->host_display = value;
		return true;
	case KEY_SOCKET:
		if (value[0] == '\0' || strchr(value, '/') != NULL || has_control(value)) {
			// It goes into the readiness status and the exported environment.
			fprintf(stderr,
				"wl-cross-proxy: %s: a socket name has no '/' and no control "
				"character, and is not empty\n",
				source);
			return false;
		}
		config->socket = value;
		return true;
	case KEY_LOG_LEVEL:
		if (!log_level_parse(value, &config->log_level)) {
			fprintf(stderr, "wl-cross-proxy: %s: unknown log level %s\n", source,
				value);
			return false;
		}
		return true;
	case KEY_COPY_EVICT:
		if (!parse_copy_evict(value, &config->copy_evict)) {
			fprintf(stderr,
				"wl-cross-proxy: %s: want auto, other-cpu or never, not %s\n",
				source, value);
			return false;
		}
		return true;
	case KEY_EXPORT_ENV:
		if (value == NULL) {
			config->export_env = true;
		} else if (!parse_bool(value, &config->export_env)) {
			fprintf(stderr, "wl-cross-proxy: %s: want 1 or 0, not %s\n", source, value);
			return false;
		}
		return true;
	default:
		return false;
	}
}

/** Applies the variables of the settings the command line did not give. */
static bool apply_environment(struct wcp_config *config, const bool given[OPTION_COUNT]) {
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		if (!options[i].setting || given[i]) {
			continue;
		}
		char name[64];
		env_name(&options[i], name, sizeof(name));
		const char *value = getenv(name);
		if (value != NULL && value[0] != '\0' &&
			!apply(config, options[i].key, value, name)) {
			return false;
		}
	}
	return true;
}

static bool apply_argument(struct wcp_config *config, enum config_key key, const char *value,
	bool given[OPTION_COUNT]) {
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		if (options[i].key == key) {
			char source[64];
			snprintf(source, sizeof(source), "--%s", options[i].name);
			given[i] = true;
			return apply(config, key, value, source);
		}
	}
	return false;
}

bool config_parse(int argc, char *argv[], struct wcp_config *config, int *exit_code) {
	*config = (struct wcp_config){
		.log_level = WCP_INFO,
	};
	*exit_code = 2;
	// The command line first: a variable it overrides is not even read, so
	// that a bad one in the session cannot stand in the way of a good option,
	// nor of --help.
	bool given[OPTION_COUNT] = {false};
	struct option long_options[OPTION_COUNT + 1];
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		long_options[i] = (struct option){
			.name = options[i].name,
			.has_arg = options[i].arg != NULL ? required_argument : no_argument,
			.val = (int)options[i].key,
		};
	}
	long_options[OPTION_COUNT] = (struct option){0};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case KEY_CHECK:
			config->action = WCP_ACTION_CHECK;
			break;
		case KEY_PRINT_ENV:
			config->action = WCP_ACTION_PRINT_ENV;
			break;
		case KEY_VERSION:
			printf("wl-cross-proxy %s\n", WCP_VERSION);
			*exit_code = 0;
			return false;
		case 'h':
		case KEY_HELP:
			config_usage(stdout);
			*exit_code = 0;
			return false;
		case '?':
			config_usage(stderr);
			return false;
		default:
			if (!apply_argument(config, (enum config_key)opt, optarg, given)) {
				return false;
			}
		}
	}
	if (!apply_environment(config, given)) {
		return false;
	}
	if (optind < argc) {
		config->command = &argv[optind];
	}
	return true;
}

bool config_is_direct(const struct wcp_config *config) {
	return config->device != NULL && strcmp(config->device, "none") == 0;
}
