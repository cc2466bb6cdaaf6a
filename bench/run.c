/*
 * wcp-bench: measures frame throughput, round trips, CPU and memory of the ways a Wayland
 * client reaches a compositor (direct, wl-cross-proxy over the emulated cross-domain device or
 * --device=none, waypipe), side by side in one run on one headless weston, and prints the
 * figures as markdown.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <wayland-version.h>

#include "bandwidth.h"
#include "bench.h"
#include "measure.h"
#include "test.h"

#define MAX_GLOBS 32
#define BEGIN_MARK "<!-- wcp-bench results -->"
#define END_MARK "<!-- end of wcp-bench results -->"
#define BUFFER_COUNT "3"

static const struct wcp_scenario scenarios[] = {
	{"1080p-full-sync", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "full", "sync", 1},
	{"1080p-band-sync", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "band", "sync", 1},
	{"1080p-rects-sync", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "rects", "sync", 1},
	{"1080p-full-frame", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "full", "frame", 1},
	{"1080p-band-frame", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "band", "frame", 1},
	{"1080p-rects-frame", WCP_SCENARIO_FRAMES, 1920, 1080, 1920, 1080, "rects", "frame", 1},
	{"1080p-full-sync-16clients", WCP_SCENARIO_FRAMES, 1920, 1080, 480, 270, "full", "sync",
		16},
	{"1080p-full-frame-16clients", WCP_SCENARIO_FRAMES, 1920, 1080, 480, 270, "full", "frame",
		16},
	{"roundtrip", WCP_SCENARIO_ROUNDTRIP, 1920, 1080, 0, 0, "full", "sync", 1},
	{"2160p-full-sync", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "full", "sync", 1},
	{"2160p-band-sync", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "band", "sync", 1},
	{"2160p-rects-sync", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "rects", "sync", 1},
	{"2160p-full-frame", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "full", "frame", 1},
	{"2160p-band-frame", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "band", "frame", 1},
	{"2160p-rects-frame", WCP_SCENARIO_FRAMES, 3840, 2160, 3840, 2160, "rects", "frame", 1},
};
#define SCENARIO_COUNT (sizeof(scenarios) / sizeof(scenarios[0]))

static const char usage[] =
	"usage: wcp-bench [options]\n"
	"Measures direct, wl-cross-proxy (emulated cross-domain and --device=none) and waypipe\n"
	"side by side on one headless weston and prints the figures as markdown.\n"
	"\n"
	"  --quick               2 repetitions of 150 ms, 4 extra idle clients: a smoke test\n"
	"  --reps N              repetitions of each measurement (default 5)\n"
	"  --duration-ms N       measured time of each (default 1200)\n"
	"  --warmup-ms N         unmeasured time before it (default 300)\n"
	"  --scenario GLOB       only the scenarios matching (repeatable; 'memory' is the\n"
	"                        proxy's memory with idle clients); --list shows them\n"
	"  --path LIST           comma-separated: direct,emu,none,forward,waypipe,waypipe-lz4\n"
	"                        (all)\n"
	"  --idle-clients N      extra idle clients for the memory figures (default 16)\n"
	"  --proxy-wrapper CMD   run the proxy under CMD (words split at spaces), e.g.\n"
	"                        'valgrind --tool=callgrind --callgrind-out-file=FILE'\n"
	"  --output FILE         also write the markdown report to FILE\n"
	"  --update FILE         replace the report between the lines '" BEGIN_MARK "' and\n"
	"                        '" END_MARK "' of FILE (docs/performance.md)\n"
	"  --raw FILE            write one key=value line per sample and summary to FILE\n"
	"  --list                list the scenarios and exit\n";

struct run_options {
	struct wcp_settings settings;
	const char *globs[MAX_GLOBS];
	size_t glob_count;
	enum wcp_path_kind paths[WCP_PATH_COUNT];
	size_t path_count;
	const char *output, *raw, *update;
	char wrapper_text[1024];
	const char *wrapper[WCP_RELAY_MAX_WRAPPER + 1]; // NULL-terminated; empty for none
	bool list;
};

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_paths(const char *list, struct run_options *opts) {
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", list);
	opts->path_count = 0;
	char *save = NULL;
	for (char *word = strtok_r(copy, ",", &save); word != NULL;
		word = strtok_r(NULL, ",", &save)) {
		enum wcp_path_kind kind;
		if (!path_parse(word, &kind) || opts->path_count == WCP_PATH_COUNT) {
			return false;
		}
		opts->paths[opts->path_count++] = kind;
	}
	return opts->path_count > 0;
}

static bool parse_wrapper(const char *text, struct run_options *opts) {
	snprintf(opts->wrapper_text, sizeof(opts->wrapper_text), "%s", text);
	size_t n = 0;
	char *save = NULL;
	for (char *word = strtok_r(opts->wrapper_text, " ", &save); word != NULL;
		word = strtok_r(NULL, " ", &save)) {
		if (n == WCP_RELAY_MAX_WRAPPER) {
			return false;
		}
		opts->wrapper[n++] = word;
	}
	opts->wrapper[n] = NULL;
	return n > 0;
}

/** Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char *argv[], struct run_options *opts) {
	static const struct option long_options[] = {
		{"quick", no_argument, NULL, 'q'},
		{"reps", required_argument, NULL, 'r'},
		{"duration-ms", required_argument, NULL, 'd'},
		{"warmup-ms", required_argument, NULL, 'w'},
		{"scenario", required_argument, NULL, 's'},
		{"path", required_argument, NULL, 'p'},
		{"idle-clients", required_argument, NULL, 'i'},
		{"proxy-wrapper", required_argument, NULL, 'W'},
		{"output", required_argument, NULL, 'o'},
		{"raw", required_argument, NULL, 'R'},
		{"update", required_argument, NULL, 'u'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	opts->settings = (struct wcp_settings){
		.reps = 5,
		.warmup_ms = 300,
		.duration_ms = 1200,
		.idle_clients = 16,
	};
	for (int i = 0; i < WCP_PATH_COUNT; i++) {
		opts->paths[opts->path_count++] = (enum wcp_path_kind)i;
	}
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'q':
			opts->settings.reps = 2;
			opts->settings.warmup_ms = 100;
			opts->settings.duration_ms = 150;
			opts->settings.idle_clients = 4;
			break;
		case 'r':
			ok = parse_u32(optarg, 1, WCP_BENCH_MAX_REPS, &opts->settings.reps);
			break;
		case 'd':
			ok = parse_u32(optarg, 1, 600000, &opts->settings.duration_ms);
			break;
		case 'w':
			ok = parse_u32(optarg, 0, 600000, &opts->settings.warmup_ms);
			break;
		case 's':
			ok = opts->glob_count < MAX_GLOBS;
			if (ok) {
				opts->globs[opts->glob_count++] = optarg;
			}
			break;
		case 'p':
			ok = parse_paths(optarg, opts);
			break;
		case 'i':
			ok = parse_u32(optarg, 1, 63, &opts->settings.idle_clients);
			break;
		case 'W':
			ok = parse_wrapper(optarg, opts);
			break;
		case 'o':
			opts->output = optarg;
			break;
		case 'R':
			opts->raw = optarg;
			break;
		case 'u':
			opts->update = optarg;
			break;
		case 'l':
			opts->list = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "wcp-bench: invalid argument '%s'\n", optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wcp-bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

static bool selected(const struct run_options *opts, const char *name) {
	if (opts->glob_count == 0) {
		return true;
	}
	for (size_t i = 0; i < opts->glob_count; i++) {
		if (fnmatch(opts->globs[i], name, 0) == 0) {
			return true;
		}
	}
	return false;
}

/** The first line of `argv`'s output, or "unknown". */
static void first_line_of(const char *const argv[], char *out, size_t size) {
	snprintf(out, size, "unknown");
	char *text;
	if (!proc_have_program(argv[0]) || proc_run_capture(argv, NULL, 10000, &text) != 0) {
		return;
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(out, size, "%s", text);
	free(text);
}

/** The value of the first line of `path` that starts with `key`, after its ':'. */
static void file_field(const char *path, const char *key, char *out, size_t size) {
	snprintf(out, size, "unknown");
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return;
	}
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, strlen(key)) == 0) {
			const char *value = strchr(line, ':');
			value = value != NULL ? value + 1 : line;
			value += strspn(value, " \t");
			snprintf(out, size, "%.*s", (int)strcspn(value, "\n"), value);
			break;
		}
	}
	fclose(f);
}

static void describe_machine(struct wcp_machine *m) {
	file_field("/proc/cpuinfo", "model name", m->cpu, sizeof(m->cpu));
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct utsname un;
	snprintf(m->kernel, sizeof(m->kernel), "%s", uname(&un) == 0 ? un.release : "unknown");
	char total[64];
	file_field("/proc/meminfo", "MemTotal", total, sizeof(total));
	snprintf(m->memory, sizeof(m->memory), "%.1f GiB", strtod(total, NULL) / 1024.0 / 1024.0);
	FILE *f = fopen("/proc/loadavg", "re");
	unsigned int n = 0;
	double load[3] = {0};
	if (f != NULL) {
		n = (unsigned int)fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]);
		fclose(f);
	}
	snprintf(m->load, sizeof(m->load), n == 3 ? "%.2f %.2f %.2f" : "unknown", load[0], load[1],
		load[2]);
	first_line_of(
		(const char *const[]){"weston", "--version", NULL}, m->weston, sizeof(m->weston));
	first_line_of((const char *const[]){"waypipe", "--version", NULL}, m->waypipe,
		sizeof(m->waypipe));
	first_line_of((const char *const[]){getenv("WCP_PROXY"), "--version", NULL}, m->proxy,
		sizeof(m->proxy));
	m->libwayland = WAYLAND_VERSION;
	m->build_type = WCP_BUILD_TYPE;
}

static void client_argv(const struct wcp_scenario *sc, const struct wcp_settings *st,
	char text[4][16], const char *argv[32]) {
	snprintf(text[0], sizeof(text[0]), "%" PRId32 "x%" PRId32, sc->window_width,
		sc->window_height);
	snprintf(text[1], sizeof(text[1]), "%" PRIu32, sc->clients);
	snprintf(text[2], sizeof(text[2]), "%" PRIu32, st->warmup_ms);
	snprintf(text[3], sizeof(text[3]), "%" PRIu32, st->duration_ms);
	size_t n = 0;
	argv[n++] = getenv("WCP_BENCH_CLIENT");
	argv[n++] = "--mode";
	argv[n++] = sc->kind == WCP_SCENARIO_FRAMES ? "frames" : "roundtrip";
	argv[n++] = "--damage";
	argv[n++] = sc->damage;
	argv[n++] = "--pacing";
	argv[n++] = sc->pacing;
	argv[n++] = "--buffers";
	argv[n++] = BUFFER_COUNT;
	argv[n++] = "--clients";
	argv[n++] = text[1];
	argv[n++] = "--warmup-ms";
	argv[n++] = text[2];
	argv[n++] = "--duration-ms";
	argv[n++] = text[3];
	argv[n++] = "--hold";
	if (sc->window_width > 0) {
		argv[n++] = "--size";
		argv[n++] = text[0];
	}
	if (sc->window_width == sc->output_width && sc->window_height == sc->output_height) {
		argv[n++] = "--fullscreen";
	}
	argv[n] = NULL;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Runs every repetition of every path of the scenarios on one output size. */
static void run_output(struct wcp_results *results, const struct run_options *opts, int32_t width,
	int32_t height, size_t *done, size_t total) {
	struct wcp_weston *weston = NULL;
	const struct wcp_settings *st = &results->settings;
	for (size_t s = 0; s < results->scenario_count; s++) {
		const struct wcp_scenario *sc = results->scenarios[s];
		if (sc->output_width != width || sc->output_height != height) {
			continue;
		}
		if (weston == NULL) {
			weston = weston_start(&(struct wcp_weston_opts){width, height, NULL});
		}
		char text[4][16];
		const char *argv[32];
		client_argv(sc, st, text, argv);
		for (uint32_t r = 0; r < st->reps; r++) {
			for (size_t i = 0; i < results->path_count; i++) {
				enum wcp_path_kind p = results->paths[i];
				struct wcp_path *path = path_start(p, weston, opts->wrapper);
				struct wcp_sample *sample = results_sample(results, s, p, r);
				uint32_t timeout = st->warmup_ms + st->duration_ms + 60000;
				measure_run(path, weston, argv, timeout, sample);
				path_stop(path);
				(*done)++;
				fprintf(stderr,
					"[%zu/%zu] %s %s #%" PRIu32 ": %s %.1f/s, relay %.3f ms,"
					" emulator %.3f ms per %s\n",
					*done, total, sc->name, path_name(p), r + 1,
					sample->ok ? "ok" : "FAILED", sample->rate,
					sample->frames > 0 ? sample->relay_cpu_s * 1000.0 /
							(double)sample->frames
							   : 0.0,
					sample->frames > 0 ? sample->emu_cpu_s * 1000.0 /
							(double)sample->frames
							   : 0.0,
					sc->kind == WCP_SCENARIO_FRAMES ? "frame" : "round trip");
			}
		}
	}
	weston_stop(weston);
}

static void run_memory(struct wcp_results *results, const struct run_options *opts) {
	struct wcp_weston *weston = weston_start(&(struct wcp_weston_opts){1920, 1080, NULL});
	for (size_t i = 0; i < results->path_count; i++) {
		enum wcp_path_kind p = results->paths[i];
		if (p != WCP_PATH_EMU && p != WCP_PATH_NONE) {
			continue;
		}
		struct wcp_path *path = path_start(p, weston, opts->wrapper);
		struct wcp_memory_result *m = &results->memory[p];
		bool ok = measure_memory(path, weston, getenv("WCP_BENCH_CLIENT"),
			results->settings.idle_clients, m);
		path_stop(path);
		fprintf(stderr,
			"memory %s: %s, idle %" PRIu64 " KiB, 1 client %" PRIu64 " KiB, %" PRIu32
			" clients %" PRIu64 " KiB\n",
			path_name(p), ok ? "ok" : "FAILED", m->idle.vm_rss, m->one.vm_rss,
			m->many_clients, m->many.vm_rss);
	}
	weston_stop(weston);
}

static bool write_report(const struct wcp_results *results, const char *file, bool raw) {
	FILE *f = fopen(file, "we");
	if (f == NULL) {
		fprintf(stderr, "wcp-bench: cannot write %s: %s\n", file, strerror(errno));
		return false;
	}
	if (raw) {
		report_raw(results, f);
	} else {
		report_markdown(results, f);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "wcp-bench: cannot write %s: %s\n", file, strerror(errno));
		return false;
	}
	return true;
}

/** Replaces what lies between the marker lines of `path` with the report. */
static bool update_report(const struct wcp_results *results, const char *path) {
	char *text = test_read_file(path, NULL);
	char *begin = text != NULL ? strstr(text, BEGIN_MARK "\n") : NULL;
	char *end = begin != NULL ? strstr(begin, END_MARK) : NULL;
	if (end == NULL) {
		fprintf(stderr, "wcp-bench: %s has no lines '%s' and '%s'\n", path, BEGIN_MARK,
			END_MARK);
		free(text);
		return false;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	bool ok = f != NULL;
	if (ok) {
		fwrite(text, 1, (size_t)(begin - text) + strlen(BEGIN_MARK "\n"), f);
		report_markdown(results, f);
		fputs(end, f);
		ok = fclose(f) == 0 && rename(tmp, path) == 0;
	}
	if (!ok) {
		fprintf(stderr, "wcp-bench: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	free(text);
	return ok;
}

/** The command line as the report shows it. */
static char *command_text(int argc, char *argv[]) {
	static char text[2048];
	const char *name = getenv("WCP_BENCH_COMMAND");
	size_t len = (size_t)snprintf(text, sizeof(text), "%s", name != NULL ? name : argv[0]);
	for (int i = 1; i < argc && len < sizeof(text); i++) {
		bool quote = strchr(argv[i], ' ') != NULL || strchr(argv[i], '*') != NULL;
		len += (size_t)snprintf(
			text + len, sizeof(text) - len, quote ? " '%s'" : " %s", argv[i]);
	}
	return text;
}

int main(int argc, char *argv[]) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct run_options opts = {0};
	int status = parse_options(argc, argv, &opts);
	if (status >= 0) {
		return status;
	}
	if (opts.list) {
		for (size_t s = 0; s < SCENARIO_COUNT; s++) {
			printf("%s\n", scenarios[s].name);
		}
		printf("memory\n");
		return 0;
	}
	proc_find_built("WCP_PROXY", "proxy/wl-cross-proxy");
	proc_find_built("WCP_EMU", "emu/wl-cross-emu");
	proc_find_built("WCP_BENCH_CLIENT", "bench/wcp-bench-client");
	proc_find_built("WCP_BENCH_FORWARD", "bench/wcp-bench-forward");

	static struct wcp_results results;
	results.settings = opts.settings;
	results.settings.command = command_text(argc, argv);
	for (size_t i = 0; i < opts.path_count; i++) {
		const char *why;
		if (!path_available(opts.paths[i], &why)) {
			fprintf(stderr, "wcp-bench: %s; leave out path %s with --path\n", why,
				path_name(opts.paths[i]));
			return 77;
		}
		results.paths[results.path_count++] = opts.paths[i];
	}
	for (size_t s = 0; s < SCENARIO_COUNT; s++) {
		if (selected(&opts, scenarios[s].name)) {
			results.scenarios[results.scenario_count++] = &scenarios[s];
		}
	}
	bool memory = selected(&opts, "memory");
	if (results.scenario_count == 0 && !memory) {
		fprintf(stderr, "wcp-bench: no scenario matches; --list shows them\n");
		return 2;
	}
	results.samples = calloc(results.scenario_count * WCP_PATH_COUNT * results.settings.reps,
		sizeof(*results.samples));
	if (results.samples == NULL && results.scenario_count > 0) {
		fprintf(stderr, "wcp-bench: out of memory\n");
		return 1;
	}
	describe_machine(&results.machine);
	results.streaming_bandwidth = bandwidth_memcpy(128u << 20);
	for (size_t s = 0; s < results.scenario_count; s++) {
		const struct wcp_scenario *sc = results.scenarios[s];
		size_t bytes = (size_t)sc->window_width * (size_t)sc->window_height * 4;
		results.bandwidth[s] = 0.0;
		results.fresh_bandwidth[s] = 0.0;
		for (size_t t = 0; t < s && bytes > 0; t++) {
			const struct wcp_scenario *other = results.scenarios[t];
			if (other->window_width == sc->window_width &&
				other->window_height == sc->window_height) {
				results.bandwidth[s] = results.bandwidth[t];
				results.fresh_bandwidth[s] = results.fresh_bandwidth[t];
				results.handoff[s] = results.handoff[t];
			}
		}
		if (results.bandwidth[s] == 0.0 && bytes > 0) {
			results.bandwidth[s] = bandwidth_memcpy(bytes);
			results.fresh_bandwidth[s] = bandwidth_memcpy_fresh(bytes);
			bandwidth_handoff(sc->window_width, sc->window_height, &results.handoff[s]);
		}
	}
	wakeup_measure(&results.wakeup);

	// Helpers are stopped and runtime directories removed however the run ends.
	test_guard_process(0);
	double start = now_s();
	size_t total = results.scenario_count * results.path_count * results.settings.reps;
	size_t done = 0;
	for (size_t s = 0; s < results.scenario_count; s++) {
		const struct wcp_scenario *sc = results.scenarios[s];
		bool first = true;
		for (size_t t = 0; t < s && first; t++) {
			first = results.scenarios[t]->output_width != sc->output_width ||
				results.scenarios[t]->output_height != sc->output_height;
		}
		if (first) {
			run_output(
				&results, &opts, sc->output_width, sc->output_height, &done, total);
		}
	}
	if (memory) {
		run_memory(&results, &opts);
	}
	results.wall_s = now_s() - start;

	report_markdown(&results, stdout);
	bool ok = (opts.output == NULL || write_report(&results, opts.output, false)) &&
		(opts.raw == NULL || write_report(&results, opts.raw, true)) &&
		(opts.update == NULL || update_report(&results, opts.update));
	free(results.samples);
	return ok ? 0 : 1;
}
