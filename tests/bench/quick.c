/*
 * The benchmark in its quick mode, on its smallest scenario and the round trip, direct,
 * through the proxy and emulator, and through the two bare forwarders that stand in their
 * place: its output is well-formed, every measurement delivered frames, and the targets'
 * figures by repetition are those of the samples. No timing is checked: the machines that
 * run the tests are shared.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"
#include "util/copy.h"
#include "util/cpu.h"
#include "wakeup.h"

#define SCENARIO "1080p-rects-sync"
#define ROUNDTRIP "roundtrip"
#define REPS 2 // what --quick runs
// 8 rectangles of 1920/30 x 1080/30 pixels, 4 bytes each, where they do not overlap.
#define MAX_DAMAGE_BYTES (8 * 64 * 36 * 4)

/** The text after " key=" in `line`, up to the next space, into `out`. */
static bool field(const char *line, const char *key, char *out, size_t size) {
	char pattern[64];
	test_format(pattern, sizeof(pattern), " %s=", key);
	const char *p = strstr(line, pattern);
	if (p == NULL) {
		return false;
	}
	p += strlen(pattern);
	snprintf(out, size, "%.*s", (int)strcspn(p, " \n"), p);
	return out[0] != '\0';
}

static double number(const char *line, const char *key) {
	char text[64], *end;
	if (!field(line, key, text, sizeof(text))) {
		test_fail("no %s in: %s", key, line);
	}
	double value = strtod(text, &end);
	if (*end != '\0') {
		test_fail("%s is not a number in: %s", key, line);
	}
	return value;
}

/**
 * Checks the time a sample's processes waited for a CPU: counted where the
 * kernel keeps scheduler statistics, NaN where it does not; the relay's and
 * the emulator's only where the path has them (0 elsewhere). Adds the
 * relay's and the emulator's to *relayed_wait.
 */
static void check_waits(const char *line, bool relayed, double *relayed_wait) {
	static const struct {
		const char *key;
		bool relay_side; // the proxy's or the emulator's, or a forwarder's
	} waits[] = {
		{"client_wait_s", false},
		{"weston_wait_s", false},
		{"relay_wait_s", true},
		{"emu_wait_s", true},
	};
	bool counted = access("/proc/self/schedstat", R_OK) == 0;
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		double wait = number(line, waits[i].key);
		if (waits[i].relay_side && !relayed) {
			test_assert(wait == 0);
		} else if (counted) {
			test_assert(wait >= 0);
			*relayed_wait += waits[i].relay_side ? wait : 0;
		} else {
			test_assert(isnan(wait));
		}
	}
}

enum quick_path {
	QUICK_DIRECT,
	QUICK_EMU,
	QUICK_FORWARD,
	QUICK_PATHS,
};

/**
 * A repetition's figure as the test works it out from the raw output, and
 * how far that may be from the benchmark's own, which it rounds only when
 * it prints it.
 */
struct figure {
	double value, slack;
};

/** What the samples give, for the targets' figures by repetition. */
struct quick_samples {
	int count[2][QUICK_PATHS]; // of SCENARIO, of the round trip
	double trip_rate[QUICK_PATHS][REPS]; // round trips/s, printed with 3 decimals
	struct figure relay_ms[REPS]; // the proxy's CPU per frame in SCENARIO
};

/**
 * Checks one "sample" line of the raw output and files its figures in *out;
 * adds the relay's and the emulator's waits to relayed_wait[path].
 */
static void check_sample(
	const char *line, struct quick_samples *out, double relayed_wait[QUICK_PATHS]) {
	char scenario[64], path[32];
	test_assert(field(line, "scenario", scenario, sizeof(scenario)));
	bool trip = strcmp(scenario, ROUNDTRIP) == 0;
	test_assert(trip || strcmp(scenario, SCENARIO) == 0);
	test_assert(field(line, "path", path, sizeof(path)));
	test_assert(strcmp(path, "direct") == 0 || strcmp(path, "emu") == 0 ||
		strcmp(path, "forward") == 0);
	bool emu = strcmp(path, "emu") == 0;
	bool forward = strcmp(path, "forward") == 0;
	enum quick_path kind = emu ? QUICK_EMU : forward ? QUICK_FORWARD : QUICK_DIRECT;
	double rep = number(line, "rep");
	test_assert(rep >= 1 && rep <= REPS);
	size_t r = (size_t)rep - 1;
	test_assert(number(line, "ok") == 1);
	test_assert(number(line, "frames") >= 1);
	test_assert(number(line, "elapsed_s") > 0);
	test_assert(number(line, "rate") > 0);
	out->count[trip ? 1 : 0][kind]++;
	if (trip) {
		// Round trips damage and copy nothing.
		test_assert(number(line, "damage_bytes") == 0 && number(line, "copy_bytes") == 0);
		out->trip_rate[kind][r] = number(line, "rate");
		return;
	}
	if (emu) {
		// CPU seconds are printed with 6 decimals.
		double frames = number(line, "frames");
		out->relay_ms[r] = (struct figure){
			number(line, "relay_cpu_s") * 1000.0 / frames, 0.5e-6 * 1000.0 / frames};
	}
	double damage = number(line, "damage_bytes");
	test_assert(damage > 0 && damage <= MAX_DAMAGE_BYTES);
	// Over cross-domain the proxy copies at least the damage (more while a host
	// buffer catches up); elsewhere nothing is counted.
	test_assert(emu ? number(line, "copy_bytes") >= damage : number(line, "copy_bytes") == 0);
	// The time it spent copying is counted there too.
	test_assert(emu ? number(line, "copy_ms") > 0 : isnan(number(line, "copy_ms")));
	// CPU time is counted to the nanosecond: a relay that has passed frames on
	// has spent some, and so have weston and the client.
	test_assert(emu || forward
			? number(line, "relay_cpu_s") > 0 && number(line, "emu_cpu_s") > 0
			: number(line, "emu_cpu_s") == 0);
	test_assert(number(line, "weston_cpu_s") > 0 && number(line, "client_cpu_s") > 0);
	// The proxy's memory, not its wrapper's: it maps the client's pool.
	test_assert(!emu || number(line, "proxy_shmem_kib") > 0);
	// The forwarders are measured as the proxy and the emulator are.
	test_assert(emu || forward || number(line, "relay_cpu_s") == 0);
	check_waits(line, emu || forward, &relayed_wait[kind]);
}

/**
 * Whether `printed`, with 6 significant digits, is the figure `f`, which
 * the test worked out from rounded figures.
 */
static bool printed_as(double printed, struct figure f) {
	return fabs(printed - f.value) <= 1e-5 * fabs(f.value) + f.slack;
}

static bool meets(double value, double limit, bool at_most) {
	return at_most ? value <= limit : value >= limit;
}

/**
 * Checks a "target" line's figures by repetition against each repetition's
 * own figure in `figures`.
 */
static void check_by_rep(const char *line, const struct figure figures[REPS], bool at_most) {
	double limit = number(line, "limit");
	struct figure lo = figures[0], hi = figures[0];
	int surely_met = 0, maybe_met = 0;
	for (size_t r = 0; r < REPS; r++) {
		struct figure f = figures[r];
		lo = f.value < lo.value ? f : lo;
		hi = f.value > hi.value ? f : hi;
		// A figure as near the limit as the rounding may have met it or not.
		bool low = meets(f.value - f.slack, limit, at_most);
		bool high = meets(f.value + f.slack, limit, at_most);
		surely_met += low && high ? 1 : 0;
		maybe_met += low || high ? 1 : 0;
	}
	test_assert(number(line, "reps") == REPS);
	double met = number(line, "reps_met");
	test_assert(met >= surely_met && met <= maybe_met);
	test_assert(printed_as(number(line, "rep_min"), lo));
	test_assert(printed_as(number(line, "rep_max"), hi));
	// With two repetitions each median is their mean, so the ratio of two
	// medians, or a median, lies between the repetitions' own figures.
	double measured = number(line, "measured");
	test_assert(measured >= lo.value * (1 - 1e-5) - lo.slack &&
		measured <= hi.value * (1 + 1e-5) + hi.slack);
}

/** Checks a "target" line; returns whether it was the round trip's. */
static bool check_target(const char *line, const struct quick_samples *samples) {
	char scenario[64];
	test_assert(field(line, "scenario", scenario, sizeof(scenario)));
	// Every target here has a figure for the two forwarders too (a number:
	// NaN fails).
	test_assert(number(line, "measured") >= 0 && number(line, "bare") >= 0);
	if (strcmp(scenario, ROUNDTRIP) == 0) {
		struct figure ratios[REPS];
		for (size_t r = 0; r < REPS; r++) {
			double emu = samples->trip_rate[QUICK_EMU][r];
			double direct = samples->trip_rate[QUICK_DIRECT][r];
			ratios[r] = (struct figure){
				emu / direct, emu / direct * (0.5e-3 / emu + 0.5e-3 / direct)};
		}
		check_by_rep(line, ratios, false);
		return true;
	}
	// The proxy's CPU per frame, at most twice the copy's floor.
	test_assert(strcmp(scenario, SCENARIO) == 0);
	check_by_rep(line, samples->relay_ms, true);
	return false;
}

/**
 * Checks the "handoff" line: every placement this machine allows was
 * measured (two CPUs need two CPUs in our affinity; eviction needs x86).
 */
static void check_handoff(const char *line) {
	test_assert(number(line, "draw_alone_ms") > 0);
	test_assert(number(line, "draw_same_ms") > 0 && number(line, "copy_same_ms") > 0);
	cpu_set_t allowed;
	test_assert(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	bool apart = CPU_COUNT(&allowed) >= 2;
	test_assert((number(line, "draw_apart_ms") > 0) == apart);
	test_assert((number(line, "copy_apart_ms") > 0) == apart);
	test_assert((number(line, "draw_evicted_ms") > 0) == (apart && WCP_COPY_EVICTS));
	test_assert((number(line, "copy_evicted_ms") > 0) == (apart && WCP_COPY_EVICTS));
}

/**
 * Checks a "wakeup" line: the writer on the first CPU this process may use,
 * the reader on the same one with no idle time before (*same counts it), or
 * on the second, after the next idle time in increasing order (*apart counts
 * them; *last_idle is the one before); each with a write's time and a
 * latency that were measured.
 */
static void check_wakeup(const char *line, int *same, int *apart, double *last_idle) {
	int cpus[2];
	test_assert(cpu_first_allowed(cpus));
	test_assert(number(line, "writer_cpu") == cpus[0]);
	double reader = number(line, "reader_cpu"), idle = number(line, "idle_us");
	if (idle == 0) {
		test_assert(reader == cpus[0] && *same == 0 && *apart == 0);
		(*same)++;
	} else {
		test_assert(cpus[1] >= 0 && reader == cpus[1] && idle > *last_idle);
		*last_idle = idle;
		(*apart)++;
	}
	test_assert(isfinite(number(line, "write_us")) && number(line, "write_us") > 0);
	test_assert(isfinite(number(line, "latency_us")) && number(line, "latency_us") > 0);
}

TEST_OPTS(quick_smallest_scenario, .timeout_s = 120) {
	char dir[PATH_MAX], raw[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	test_format(dir, sizeof(dir), "%s/wcp-bench-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		test_error("mkdtemp %s failed", dir);
	}
	test_remove_at_end(dir);
	test_format(raw, sizeof(raw), "--raw=%s/raw.txt", dir);
	// The proxy runs under a shell, as it would under perf or strace: the
	// figures must still be its own, and the shell that the stopping SIGTERM
	// ends must count as a clean stop.
	const char *argv[] = {getenv("WCP_BENCH"), "--quick", "--scenario", SCENARIO, "--scenario",
		ROUNDTRIP, "--path", "direct,emu,forward", "--proxy-wrapper",
		"sh -c \"$@\";exit sh", raw, NULL};
	if (argv[0] == NULL) {
		test_error("WCP_BENCH is not set (run the tests through meson)");
	}
	char *markdown;
	int code = proc_run_capture(argv, NULL, 100000, &markdown);
	if (code == WCP_TEST_SKIP) {
		test_skip("the benchmark skipped: weston is not installed");
	}
	test_assert(code == 0);
	test_log("report:\n%s", markdown);
	test_assert(strstr(markdown, "### " SCENARIO "\n") != NULL);
	test_assert(strstr(markdown, "| path | frames/s median |") != NULL);
	test_assert(strstr(markdown, "| direct | ") != NULL);
	test_assert(strstr(markdown, "| proxy + emulator | ") != NULL);
	test_assert(strstr(markdown, "| two bare forwarders | ") != NULL);
	test_assert(strstr(markdown, "| met | by repetition | two bare forwarders |") != NULL);
	// The round trip's target row (the first row that names it), taken by
	// repetition: "lowest–highest×, met of reps".
	const char *trip_target = strstr(markdown, "| " ROUNDTRIP " | ");
	test_assert(trip_target != NULL);
	const char *by_rep = strstr(trip_target, "×, ");
	test_assert(by_rep != NULL && by_rep < strchr(trip_target, '\n'));
	test_assert(strstr(markdown, "### What the emulated path leaves\n") != NULL);
	test_assert(strstr(markdown, "| 2/2 |") != NULL);
	test_assert(strstr(markdown, "### Where the client and the proxy run\n") != NULL);
	test_assert(strstr(markdown, "| 1920x1080 | ") != NULL);
	test_assert(strstr(markdown, "### Waking a process\n") != NULL);
	test_assert(strstr(markdown, "\n| same CPU | – | ") != NULL);
	cpu_set_t allowed;
	test_assert(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	bool two_cpus = CPU_COUNT(&allowed) >= 2;
	test_assert((strstr(markdown, "\n| other CPU | ") != NULL) == two_cpus);
	// The waits table has the scenario's row, before the next table's heading.
	const char *waits = strstr(markdown, "### Waiting for a CPU\n");
	test_assert(waits != NULL);
	const char *row = strstr(waits, "\n| " SCENARIO " | ");
	const char *next = strstr(waits + 1, "\n### ");
	test_assert(row != NULL && (next == NULL || row < next));
	free(markdown);

	FILE *f = fopen(raw + strlen("--raw="), "re");
	test_assert(f != NULL);
	char line[1024];
	struct quick_samples samples = {0};
	int summaries = 0, bandwidths = 0, handoffs = 0, targets = 0, trip_targets = 0;
	int wake_same = 0, wake_apart = 0;
	double wake_idle = 0;
	double relayed_wait[QUICK_PATHS] = {0};
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "sample ", 7) == 0) {
			check_sample(line, &samples, relayed_wait);
		} else if (strncmp(line, "summary ", 8) == 0) {
			test_assert(number(line, "ok") == REPS);
			test_assert(number(line, "median") > 0);
			test_assert(number(line, "min") <= number(line, "max"));
			summaries++;
		} else if (strncmp(line, "bandwidth ", 10) == 0) {
			// The copy's floor is measured for scenarios that draw.
			char scenario[64];
			test_assert(field(line, "scenario", scenario, sizeof(scenario)));
			if (strcmp(scenario, SCENARIO) == 0) {
				test_assert(number(line, "bytes_per_s") > 0);
				bandwidths++;
			}
		} else if (strncmp(line, "handoff ", 8) == 0) {
			char scenario[64];
			test_assert(field(line, "scenario", scenario, sizeof(scenario)));
			if (strcmp(scenario, SCENARIO) == 0) {
				check_handoff(line);
				handoffs++;
			}
		} else if (strncmp(line, "wakeup ", 7) == 0) {
			check_wakeup(line, &wake_same, &wake_apart, &wake_idle);
		} else if (strncmp(line, "target ", 7) == 0) {
			trip_targets += check_target(line, &samples) ? 1 : 0;
			targets++;
		} else {
			// What the path leaves and where a frame's time goes, both
			// made with the round trip's figures (a number: NaN fails;
			// its sign is a matter of timing).
			test_assert(strncmp(line, "bound ", 6) == 0 ||
				strncmp(line, "frame_time ", 11) == 0);
			test_assert(isfinite(number(line, "added_ms")));
		}
	}
	fclose(f);
	for (int i = 0; i < QUICK_PATHS; i++) {
		test_assert(samples.count[0][i] == REPS && samples.count[1][i] == REPS);
	}
	test_assert(summaries == 2 * QUICK_PATHS && bandwidths == 1 && handoffs == 1);
	test_assert(targets == 2 && trip_targets == 1);
	test_assert(wake_same == 1 && wake_apart == (two_cpus ? WCP_WAKEUP_GAPS : 0));
	// Processes that are woken hundreds of times in a window wait for a CPU
	// some nanoseconds each: a relay's waits that sum to nothing were not read.
	if (access("/proc/self/schedstat", R_OK) == 0) {
		test_assert(relayed_wait[QUICK_EMU] > 0 && relayed_wait[QUICK_FORWARD] > 0);
	}
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
