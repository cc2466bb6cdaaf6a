#include "bench.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/copy.h"

#define MIB (1024.0 * 1024.0)

/** What one scenario on one path comes to, over its repetitions. */
struct summary {
	uint32_t ok; // repetitions that delivered frames
	double median, min, max; // frames/s or round trips/s
	double relay_ms, emu_ms, weston_ms, client_ms; // CPU per frame, medians
	// Waiting for a CPU per frame, medians; NAN without schedstat.
	double relay_wait_ms, emu_wait_ms, weston_wait_ms, client_wait_ms;
	uint64_t damage_bytes, copy_bytes;
	double copy_ms; // the proxy's time copying, per commit, median; NAN where not counted
};

struct wcp_sample *results_sample(
	const struct wcp_results *results, size_t s, enum wcp_path_kind p, uint32_t r) {
	return &results->samples[(s * WCP_PATH_COUNT + p) * results->settings.reps + r];
}

static bool has_path(const struct wcp_results *results, enum wcp_path_kind kind) {
	for (size_t i = 0; i < results->path_count; i++) {
		if (results->paths[i] == kind) {
			return true;
		}
	}
	return false;
}

static struct summary summarize(const struct wcp_results *results, size_t s, enum wcp_path_kind p) {
	uint32_t reps = results->settings.reps;
	double rates[WCP_BENCH_MAX_REPS], relay[WCP_BENCH_MAX_REPS], emu[WCP_BENCH_MAX_REPS],
		weston[WCP_BENCH_MAX_REPS], client[WCP_BENCH_MAX_REPS];
	double copy[WCP_BENCH_MAX_REPS];
	double waits[4][WCP_BENCH_MAX_REPS];
	uint32_t copies = 0, counted_waits = 0;
	struct summary sum = {.median = NAN, .min = NAN, .max = NAN, .copy_ms = NAN};
	if (!has_path(results, p)) {
		sum.relay_ms = sum.emu_ms = sum.weston_ms = sum.client_ms = NAN;
		sum.relay_wait_ms = sum.emu_wait_ms = sum.weston_wait_ms = sum.client_wait_ms = NAN;
		return sum;
	}
	for (uint32_t r = 0; r < reps; r++) {
		const struct wcp_sample *sample = results_sample(results, s, p, r);
		if (!sample->ok) {
			continue;
		}
		double frames = (double)sample->frames;
		rates[sum.ok] = sample->rate;
		relay[sum.ok] = sample->relay_cpu_s * 1000.0 / frames;
		emu[sum.ok] = sample->emu_cpu_s * 1000.0 / frames;
		weston[sum.ok] = sample->weston_cpu_s * 1000.0 / frames;
		client[sum.ok] = sample->client_cpu_s * 1000.0 / frames;
		// Waits are counted for every sample of a run, or for none.
		if (!isnan(sample->client_wait_s)) {
			waits[0][counted_waits] = sample->relay_wait_s * 1000.0 / frames;
			waits[1][counted_waits] = sample->emu_wait_s * 1000.0 / frames;
			waits[2][counted_waits] = sample->weston_wait_s * 1000.0 / frames;
			waits[3][counted_waits] = sample->client_wait_s * 1000.0 / frames;
			counted_waits++;
		}
		sum.min = sum.ok == 0 || sample->rate < sum.min ? sample->rate : sum.min;
		sum.max = sum.ok == 0 || sample->rate > sum.max ? sample->rate : sum.max;
		sum.damage_bytes = sample->damage_bytes;
		sum.copy_bytes = sample->copy_bytes;
		if (!isnan(sample->copy_ms)) {
			copy[copies++] = sample->copy_ms;
		}
		sum.ok++;
	}
	sum.median = sample_median(rates, sum.ok);
	sum.relay_ms = sample_median(relay, sum.ok);
	sum.emu_ms = sample_median(emu, sum.ok);
	sum.weston_ms = sample_median(weston, sum.ok);
	sum.client_ms = sample_median(client, sum.ok);
	sum.copy_ms = copies > 0 ? sample_median(copy, copies) : NAN;
	sum.relay_wait_ms = sample_median(waits[0], counted_waits);
	sum.emu_wait_ms = sample_median(waits[1], counted_waits);
	sum.weston_wait_ms = sample_median(waits[2], counted_waits);
	sum.client_wait_ms = sample_median(waits[3], counted_waits);
	return sum;
}

/** A number in a table cell with `decimals` digits and a suffix, or a dash when unknown. */
static void cell(FILE *out, int decimals, double value, const char *suffix) {
	fputs(" | ", out);
	if (isnan(value) || isinf(value)) {
		fputs("–", out);
	} else {
		fprintf(out, "%.*f%s", decimals, value, suffix);
	}
}

static double ratio(double a, double b) {
	return b > 0 ? a / b : NAN;
}

static const char *pacing_text(const char *pacing) {
	return strcmp(pacing, "sync") == 0 ? "wl_display.sync after each commit"
					   : "frame callbacks";
}

static const char *damage_text(const char *damage) {
	if (strcmp(damage, "full") == 0) {
		return "full damage";
	}
	return strcmp(damage, "band") == 0 ? "a full-width band of 10% of the height"
					   : "8 rectangles of 1/30 x 1/30 (0.9%)";
}

static void describe(const struct wcp_results *results, size_t s, FILE *out) {
	const struct wcp_scenario *sc = results->scenarios[s];
	if (sc->kind == WCP_SCENARIO_ROUNDTRIP) {
		fprintf(out,
			"One client doing `wl_display.sync` round trips and nothing else.\n\n");
		return;
	}
	bool fullscreen =
		sc->window_width == sc->output_width && sc->window_height == sc->output_height;
	fprintf(out,
		"%" PRIu32 " client%s, %s%" PRId32 "x%" PRId32 " XRGB8888 with 3 buffers, %s, %s.",
		sc->clients, sc->clients == 1 ? "" : "s",
		fullscreen ? "fullscreen " : "windows of ", sc->window_width, sc->window_height,
		damage_text(sc->damage), pacing_text(sc->pacing));
	struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
	for (size_t i = 0; direct.ok == 0 && i < results->path_count; i++) {
		direct = summarize(results, s, results->paths[i]);
	}
	if (direct.ok > 0) {
		double floor_ms = (double)direct.damage_bytes / results->bandwidth[s] * 1000.0;
		fprintf(out,
			" Damaged per frame: %.3f MiB. memcpy floor of the damage: %.3f ms at the"
			" %.2f GB/s of a frame-sized copy, %.3f ms out of cache, %.3f ms from a"
			" frame another process has just written (%.2f GB/s).",
			(double)direct.damage_bytes / MIB, floor_ms, results->bandwidth[s] / 1e9,
			(double)direct.damage_bytes / results->streaming_bandwidth * 1000.0,
			(double)direct.damage_bytes / results->fresh_bandwidth[s] * 1000.0,
			results->fresh_bandwidth[s] / 1e9);
	}
	struct summary emu = summarize(results, s, WCP_PATH_EMU);
	if (emu.ok > 0 && emu.copy_bytes > 0) {
		fprintf(out,
			" The proxy over cross-domain copied %.3f MiB per commit into host memory"
			" (the damage since the host buffer it chose was last written), in %.3f ms.",
			(double)emu.copy_bytes / MIB, emu.copy_ms);
	}
	fputs("\n\n", out);
}

static void scenario_table(const struct wcp_results *results, size_t s, FILE *out) {
	const struct wcp_scenario *sc = results->scenarios[s];
	bool frames = sc->kind == WCP_SCENARIO_FRAMES;
	fprintf(out, "### %s\n\n", sc->name);
	describe(results, s, out);
	fprintf(out,
		"| path | %s median | min | max | vs direct | vs waypipe -c none | relay CPU"
		" ms/%s | emulator CPU ms/%s | weston CPU ms/%s | ok |\n",
		frames ? "frames/s" : "round trips/s", frames ? "frame" : "trip",
		frames ? "frame" : "trip", frames ? "frame" : "trip");
	fputs("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n", out);
	struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
	struct summary waypipe = summarize(results, s, WCP_PATH_WAYPIPE);
	for (size_t i = 0; i < results->path_count; i++) {
		enum wcp_path_kind p = results->paths[i];
		struct summary sum = summarize(results, s, p);
		fprintf(out, "| %s", path_title(p));
		cell(out, 1, sum.median, "");
		cell(out, 1, sum.min, "");
		cell(out, 1, sum.max, "");
		cell(out, 2, ratio(sum.median, direct.median), "×");
		cell(out, 2, ratio(sum.median, waypipe.median), "×");
		cell(out, 3, p == WCP_PATH_DIRECT ? NAN : sum.relay_ms, "");
		cell(out, 3, p == WCP_PATH_EMU || p == WCP_PATH_FORWARD ? sum.emu_ms : NAN, "");
		cell(out, 3, sum.weston_ms, "");
		fprintf(out, " | %" PRIu32 "/%" PRIu32 " |\n", sum.ok, results->settings.reps);
	}
	fputs("\n", out);
}

static void memory_table(const struct wcp_results *results, FILE *out) {
	bool any = false;
	for (size_t i = 0; i < results->path_count; i++) {
		any = any || results->memory[results->paths[i]].measured;
	}
	if (!any) {
		return;
	}
	fprintf(out,
		"### Memory of the proxy\n\n"
		"Resident memory from /proc/PID/status, in MiB. Idle clients have a window"
		" and no buffer. During a run, the proxy maps each client's pool and, over"
		" cross-domain, its surfaces' host buffers: that memory (RssShmem) is the"
		" client's own buffers again and is shown apart from the rest (RssAnon +"
		" RssFile).\n\n");
	fputs("| path | idle | idle peak (VmHWM) | 1 idle client | per extra idle client |"
	      " emulator idle |",
		out);
	size_t full = results->scenario_count;
	for (size_t s = 0; s < results->scenario_count; s++) {
		if (strcmp(results->scenarios[s]->name, "1080p-full-sync") == 0) {
			full = s;
		}
	}
	if (full < results->scenario_count) {
		fputs(" 1080p-full-sync: peak | buffers mapped (RssShmem) | the rest |", out);
	}
	fputs("\n| --- | --: | --: | --: | --: | --: |", out);
	fputs(full < results->scenario_count ? " --: | --: | --: |\n" : "\n", out);
	for (size_t i = 0; i < results->path_count; i++) {
		enum wcp_path_kind p = results->paths[i];
		const struct wcp_memory_result *m = &results->memory[p];
		if (!m->measured) {
			continue;
		}
		fprintf(out, "| %s", path_title(p));
		cell(out, 2, (double)m->idle.vm_rss / 1024.0, "");
		cell(out, 2, (double)m->idle.vm_hwm / 1024.0, "");
		cell(out, 2, (double)m->one.vm_rss / 1024.0, "");
		cell(out, 3,
			((double)m->many.vm_rss - (double)m->one.vm_rss) / 1024.0 /
				(double)(m->many_clients - 1),
			"");
		cell(out, 2, p == WCP_PATH_EMU ? (double)m->emu_idle.vm_rss / 1024.0 : NAN, "");
		if (full < results->scenario_count) {
			const struct wcp_sample *last = NULL;
			for (uint32_t r = 0; r < results->settings.reps; r++) {
				const struct wcp_sample *sample =
					results_sample(results, full, p, r);
				last = sample->has_memory ? sample : last;
			}
			double hwm = last != NULL ? (double)last->proxy_memory.vm_hwm : NAN;
			double shmem = last != NULL ? (double)last->proxy_memory.rss_shmem : NAN;
			double rest = last != NULL ? (double)(last->proxy_memory.rss_anon +
							     last->proxy_memory.rss_file)
						   : NAN;
			cell(out, 2, hwm / 1024.0, "");
			cell(out, 2, shmem / 1024.0, "");
			cell(out, 2, rest / 1024.0, "");
		}
		fputs(" |\n", out);
	}
	fputs("\n", out);
}

static size_t find_scenario(const struct wcp_results *results, const char *name) {
	for (size_t s = 0; s < results->scenario_count; s++) {
		if (strcmp(results->scenarios[s]->name, name) == 0) {
			return s;
		}
	}
	return results->scenario_count;
}

/** The scenarios the per-frame targets are read from: one client, sync paced. */
static bool one_client_sync(const struct wcp_scenario *sc) {
	return sc->kind == WCP_SCENARIO_FRAMES && sc->clients == 1 &&
		strcmp(sc->pacing, "sync") == 0;
}

/** A target's figure in each repetition on its own: its range, and how many meet the limit. */
struct by_rep {
	uint32_t count, met;
	double min, max;
};

struct target_row {
	const char *target, *scenario;
	double measured, limit;
	int decimals; // of the measured value and the limit
	const char *suffix;
	bool at_most; // measured must be <= limit (else >=)
	double bare; // the same figure for the two bare forwarders; NAN where none
	struct by_rep reps; // count 0 where the figure is not one per repetition
};

static bool meets(double value, double limit, bool at_most) {
	return at_most ? value <= limit : value >= limit;
}

static void by_rep_add(struct target_row *row, double value) {
	struct by_rep *b = &row->reps;
	if (isnan(value) || isinf(value)) {
		return;
	}
	b->min = b->count == 0 || value < b->min ? value : b->min;
	b->max = b->count == 0 || value > b->max ? value : b->max;
	b->met += meets(value, row->limit, row->at_most) ? 1 : 0;
	b->count++;
}

/*
 * Each repetition's rate on path p over its rate on path `over` in the same
 * round of the interleaving: the two ran seconds apart, under much the same load.
 */
static void by_rep_ratios(const struct wcp_results *results, size_t s, enum wcp_path_kind p,
	enum wcp_path_kind over, struct target_row *row) {
	if (!has_path(results, p) || !has_path(results, over)) {
		return;
	}
	for (uint32_t r = 0; r < results->settings.reps; r++) {
		const struct wcp_sample *a = results_sample(results, s, p, r);
		const struct wcp_sample *b = results_sample(results, s, over, r);
		if (a->ok && b->ok) {
			by_rep_add(row, ratio(a->rate, b->rate));
		}
	}
}

/* Each repetition's CPU per frame of the process where the proxy is. */
static void by_rep_relay_cpu(
	const struct wcp_results *results, size_t s, enum wcp_path_kind p, struct target_row *row) {
	if (!has_path(results, p)) {
		return;
	}
	for (uint32_t r = 0; r < results->settings.reps; r++) {
		const struct wcp_sample *a = results_sample(results, s, p, r);
		if (a->ok && a->frames > 0) {
			by_rep_add(row, a->relay_cpu_s * 1000.0 / (double)a->frames);
		}
	}
}

static void target_line(FILE *out, FILE *raw, const struct target_row *row) {
	const char *met = isnan(row->measured)                   ? "not measured"
		: meets(row->measured, row->limit, row->at_most) ? "yes"
								 : "no";
	const struct by_rep *b = &row->reps;
	if (raw != NULL) {
		fprintf(raw,
			"target name=\"%s\" scenario=%s measured=%.6g limit=%.6g met=%s"
			" bare=%.6g reps=%" PRIu32 " reps_met=%" PRIu32
			" rep_min=%.6g rep_max=%.6g\n",
			row->target, row->scenario, row->measured, row->limit,
			strcmp(met, "not measured") == 0 ? "n/a" : met, row->bare, b->count, b->met,
			b->count > 0 ? b->min : NAN, b->count > 0 ? b->max : NAN);
		return;
	}
	fprintf(out, "| %s | %s", row->target, row->scenario);
	cell(out, row->decimals, row->measured, row->suffix);
	cell(out, row->decimals, row->limit, row->suffix);
	fprintf(out, " | %s", met);
	if (b->count == 0) {
		fputs(" | –", out);
	} else {
		fprintf(out, " | %.*f–%.*f%s, %" PRIu32 " of %" PRIu32, row->decimals, b->min,
			row->decimals, b->max, row->suffix, b->met, b->count);
	}
	cell(out, row->decimals, row->bare, row->suffix);
	fputs(" |\n", out);
}

/** The performance targets against the figures of proxy + emulator; to `out` as markdown or `raw`. */
static void targets(const struct wcp_results *results, FILE *out, FILE *raw) {
	if (raw == NULL) {
		fputs("### Targets (proxy + emulator)\n\n"
		      "Measured is the figure from the medians above. By repetition takes each"
		      " repetition on its own: its rate over direct's (or waypipe's) in the same"
		      " round of the interleaving, a few seconds apart, or its CPU per frame;"
		      " the lowest and highest of those, and in how many the limit is met."
		      " The last column is the same figure for the two bare forwarders: a path of"
		      " the same shape, with a process where the proxy is and one where the"
		      " emulator is, that passes messages on and does nothing else. Where it"
		      " misses a limit too, the limit is out of reach of that shape in this"
		      " run.\n\n"
		      "| target | scenario | measured | limit | met | by repetition |"
		      " two bare forwarders |\n"
		      "| --- | --- | --: | --: | --- | --: | --: |\n",
			out);
	}
	struct {
		const char *target, *scenario;
		double limit;
	} vs_direct[] = {
		{"frames/s vs direct, sync paced, full damage", "1080p-full-sync", 0.5},
		{"frames/s vs direct, sync paced, 10% band", "1080p-band-sync", 0.7},
		{"frames/s vs direct, frame paced", "1080p-full-frame", 0.95},
		{"frames/s vs direct, frame paced", "1080p-band-frame", 0.95},
		{"frames/s vs direct, frame paced", "1080p-rects-frame", 0.95},
		{"frames/s vs direct, frame paced", "2160p-full-frame", 0.95},
		{"frames/s vs direct, frame paced", "2160p-band-frame", 0.95},
		{"frames/s vs direct, frame paced", "2160p-rects-frame", 0.95},
		{"round trips/s vs direct (time ≤ 3×)", "roundtrip", 1.0 / 3.0},
	};
	for (size_t i = 0; i < sizeof(vs_direct) / sizeof(vs_direct[0]); i++) {
		size_t s = find_scenario(results, vs_direct[i].scenario);
		if (s == results->scenario_count) {
			continue;
		}
		struct summary emu = summarize(results, s, WCP_PATH_EMU);
		struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
		struct summary bare = summarize(results, s, WCP_PATH_FORWARD);
		struct target_row row = {vs_direct[i].target, vs_direct[i].scenario,
			ratio(emu.median, direct.median), vs_direct[i].limit, 2, "×", false,
			ratio(bare.median, direct.median), {0}};
		by_rep_ratios(results, s, WCP_PATH_EMU, WCP_PATH_DIRECT, &row);
		target_line(out, raw, &row);
		if (i == 0) {
			struct summary waypipe = summarize(results, s, WCP_PATH_WAYPIPE);
			row = (struct target_row){"frames/s vs waypipe -c none", "1080p-full-sync",
				ratio(emu.median, waypipe.median), 10.0, 2, "×", false,
				ratio(bare.median, waypipe.median), {0}};
			by_rep_ratios(results, s, WCP_PATH_EMU, WCP_PATH_WAYPIPE, &row);
			target_line(out, raw, &row);
		}
	}
	for (size_t s = 0; s < results->scenario_count; s++) {
		if (!one_client_sync(results->scenarios[s])) {
			continue;
		}
		const struct wcp_scenario *sc = results->scenarios[s];
		struct summary emu = summarize(results, s, WCP_PATH_EMU);
		double floor_ms = (double)emu.damage_bytes / results->bandwidth[s] * 1000.0;
		// The forwarder where the proxy is.
		struct target_row row = {"proxy CPU per frame ≤ 2× memcpy floor (ms)", sc->name,
			emu.relay_ms, 2.0 * floor_ms, 3, "", true,
			summarize(results, s, WCP_PATH_FORWARD).relay_ms, {0}};
		by_rep_relay_cpu(results, s, WCP_PATH_EMU, &row);
		target_line(out, raw, &row);
	}
	const struct wcp_memory_result *m = &results->memory[WCP_PATH_EMU];
	if (m->measured) {
		target_line(out, raw,
			&(struct target_row){"proxy RSS idle (MiB)", "memory",
				(double)m->idle.vm_rss / 1024.0, 8.0, 2, "", true, NAN, {0}});
		target_line(out, raw,
			&(struct target_row){"proxy RSS per extra idle client (MiB)", "memory",
				((double)m->many.vm_rss - (double)m->one.vm_rss) / 1024.0 /
					(double)(m->many_clients - 1),
				1.0, 3, "", true, NAN, {0}});
	}
	if (raw == NULL) {
		fputs("\n", out);
	}
}

/*
 * What a handoff adds to a frame over drawing it alone: the drawing's
 * slow-down and the copy; NaN when that placement was not measured.
 */
static double handoff_cost(double draw_ms, double copy_ms, const struct wcp_handoff *h) {
	if (draw_ms <= 0.0 || h->draw_alone_ms <= 0.0) {
		return NAN;
	}
	return fmax(draw_ms - h->draw_alone_ms, 0.0) + copy_ms;
}

/* The handoff of each window size, measured apart from the paths (bandwidth.c). */
static void handoff_table(const struct wcp_results *results, FILE *out) {
	bool header = false;
	for (size_t s = 0; s < results->scenario_count; s++) {
		const struct wcp_scenario *sc = results->scenarios[s];
		bool first = sc->kind == WCP_SCENARIO_FRAMES;
		for (size_t t = 0; t < s && first; t++) {
			first = results->scenarios[t]->kind != WCP_SCENARIO_FRAMES ||
				results->scenarios[t]->window_width != sc->window_width ||
				results->scenarios[t]->window_height != sc->window_height;
		}
		const struct wcp_handoff *h = &results->handoff[s];
		if (!first || h->draw_alone_ms <= 0.0) {
			continue;
		}
		if (!header) {
			fprintf(out,
				"### Where the client and the proxy run\n\n"
				"Each frame is drawn by the client and then copied by the proxy."
				" Measured apart from the paths, in the same run (medians of %d"
				" frames): one process draws a whole frame a pixel at a time, as the"
				" benchmark client does, and a second copies it as the proxy does,"
				" into %d buffers in turn, on one CPU, on two (CPUs %d and %d), and"
				" on two with the copy evicting each line once it has read it"
				" (copy_stream_evict). On two CPUs the copy reads lines the other"
				" CPU has just written, and the next drawing takes them back. %s\n\n"
				"| frame | drawing alone (ms) | one CPU: drawing (ms) | copy (ms) |"
				" two CPUs: drawing (ms) | copy (ms) | two CPUs, evicted: drawing"
				" (ms) | copy (ms) |\n"
				"| --- | --: | --: | --: | --: | --: | --: | --: |\n",
				WCP_HANDOFF_FRAMES, WCP_BENCH_DESTINATIONS, h->cpus[0], h->cpus[1],
				h->cpus_share_cache
					? "sysfs says these two CPUs share a last-level cache, so the"
					  " proxy would not evict between them (--copy-evict=auto)."
					: "sysfs does not say that these two CPUs share a last-level"
					  " cache, so the proxy evicts between them"
					  " (--copy-evict=auto).");
			header = true;
		}
		fprintf(out, "| %" PRId32 "x%" PRId32, sc->window_width, sc->window_height);
		cell(out, 3, h->draw_alone_ms, "");
		cell(out, 3, h->draw_same_ms, "");
		cell(out, 3, h->copy_same_ms, "");
		cell(out, 3, h->draw_apart_ms > 0.0 ? h->draw_apart_ms : NAN, "");
		cell(out, 3, h->draw_apart_ms > 0.0 ? h->copy_apart_ms : NAN, "");
		cell(out, 3, h->draw_evicted_ms > 0.0 ? h->draw_evicted_ms : NAN, "");
		cell(out, 3, h->draw_evicted_ms > 0.0 ? h->copy_evicted_ms : NAN, "");
		fputs(" |\n", out);
	}
	if (header) {
		fputs("\n", out);
	}
}

/** The client's and weston's waits for a CPU per frame together. */
static double client_weston_wait(const struct summary *sum) {
	return sum->client_wait_ms + sum->weston_wait_ms;
}

/*
 * The roundtrip scenario over the emulator (*emu), the time it adds to
 * direct's round trip (*added_ms) and how much longer than direct the
 * client and weston wait for a CPU in it (*wait_ms, unless NULL); false
 * when the run did not include it.
 */
static bool roundtrip_added(
	const struct wcp_results *results, struct summary *emu, double *added_ms, double *wait_ms) {
	size_t rt = find_scenario(results, "roundtrip");
	if (rt == results->scenario_count) {
		return false;
	}
	*emu = summarize(results, rt, WCP_PATH_EMU);
	struct summary direct = summarize(results, rt, WCP_PATH_DIRECT);
	*added_ms = 1000.0 / emu->median - 1000.0 / direct.median;
	if (wait_ms != NULL) {
		*wait_ms = client_weston_wait(emu) - client_weston_wait(&direct);
	}
	return true;
}

/*
 * What the device path leaves: a sync-paced frame is one guest round trip
 * plus its copy, so the round trip's added time (from the roundtrip
 * scenario of the same run) and the copy at its memcpy floor bound the
 * ratio to direct that any relay over this device could reach; the proxy's
 * CPU for a round trip that copies nothing is paid by every frame too.
 */
static void bounds(const struct wcp_results *results, FILE *out, FILE *raw) {
	struct summary rt_emu;
	double added_ms;
	if (!roundtrip_added(results, &rt_emu, &added_ms, NULL)) {
		return;
	}
	if (raw == NULL) {
		fputs("### What the emulated path leaves\n\n"
		      "A sync-paced frame is one round trip plus its copy. The round trip's added"
		      " time over direct (the roundtrip scenario above) and the copy at its memcpy"
		      " floor give the best ratio to direct that a relay over this device could"
		      " reach; the proxy's CPU for a round trip that copies nothing is paid by"
		      " every frame as well.\n\n"
		      "The last three columns put the handoff measured below in the copy's place"
		      " (scaled to the damage): the drawing's slow-down and the copy with the"
		      " client and the proxy on one CPU, on two, and on two with the copy"
		      " evicting what it reads (only copies of 1 MiB or more per commit"
		      " evict).\n\n"
		      "| scenario | direct ms/frame | round trip adds (ms) | copy floor (ms) |"
		      " best possible vs direct | proxy CPU, empty round trip (ms) |"
		      " 2× copy floor (ms) | with the handoff, one CPU |"
		      " two CPUs | two CPUs, evicting |\n"
		      "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n",
			out);
	}
	for (size_t s = 0; s < results->scenario_count; s++) {
		if (!one_client_sync(results->scenarios[s])) {
			continue;
		}
		const struct wcp_scenario *sc = results->scenarios[s];
		struct summary emu = summarize(results, s, WCP_PATH_EMU);
		struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
		double direct_ms = 1000.0 / direct.median;
		double floor_ms = (double)emu.damage_bytes / results->bandwidth[s] * 1000.0;
		double best = direct_ms / (direct_ms + added_ms + floor_ms);
		const struct wcp_handoff *h = &results->handoff[s];
		double share = (double)emu.damage_bytes /
			((double)sc->window_width * (double)sc->window_height * 4.0);
		double one_cpu = direct_ms /
			(direct_ms + added_ms +
				share * handoff_cost(h->draw_same_ms, h->copy_same_ms, h));
		double two_cpus = direct_ms /
			(direct_ms + added_ms +
				share * handoff_cost(h->draw_apart_ms, h->copy_apart_ms, h));
		// Only a copy of 1 MiB or more per commit can evict.
		double evicting = (double)emu.copy_bytes < WCP_COPY_STREAM_MIN ? NAN
									       : direct_ms /
				(direct_ms + added_ms +
					share *
						handoff_cost(
							h->draw_evicted_ms, h->copy_evicted_ms, h));
		if (raw != NULL) {
			fprintf(raw,
				"bound scenario=%s direct_ms=%.6g added_ms=%.6g floor_ms=%.6g "
				"best_ratio=%.6g empty_trip_cpu_ms=%.6g one_cpu_ratio=%.6g "
				"two_cpus_ratio=%.6g evicting_ratio=%.6g\n",
				sc->name, direct_ms, added_ms, floor_ms, best, rt_emu.relay_ms,
				one_cpu, two_cpus, evicting);
			continue;
		}
		fprintf(out, "| %s", sc->name);
		cell(out, 3, direct_ms, "");
		cell(out, 3, added_ms, "");
		cell(out, 3, floor_ms, "");
		cell(out, 2, best, "×");
		cell(out, 3, rt_emu.relay_ms, "");
		cell(out, 3, 2.0 * floor_ms, "");
		cell(out, 2, one_cpu, "×");
		cell(out, 2, two_cpus, "×");
		cell(out, 2, evicting, "×");
		fputs(" |\n", out);
	}
	if (raw == NULL) {
		fputs("\n", out);
	}
}

/*
 * Where a sync-paced frame's time goes over the emulated path, from figures
 * measured in the path itself: the round trip's added time, the proxy's own
 * copy time (from its counters), what the client's drawing costs more than
 * direct (its CPU per frame) and how much longer than direct the client and
 * weston waited for a CPU, beyond the extra they wait in a round trip (which
 * its added time holds); what these leave is the rest.
 */
static void frame_time(const struct wcp_results *results, FILE *out, FILE *raw) {
	struct summary rt_emu;
	double added_ms, rt_wait_ms;
	if (!roundtrip_added(results, &rt_emu, &added_ms, &rt_wait_ms)) {
		return;
	}
	if (raw == NULL) {
		fputs("### Where a frame's time goes over the emulator\n\n"
		      "Each sync-paced frame over the proxy and emulator, against direct, taken"
		      " apart with figures measured in the path: the round trip's added time"
		      " (the roundtrip scenario), the time the proxy spent in its copy (its own"
		      " counters, per commit), how much more CPU the client spent per frame than"
		      " direct (drawing into lines the proxy has read), and how much longer than"
		      " direct the client and weston waited for a CPU, woken or preempted, beyond"
		      " the extra they wait in a round trip (which its added time holds; the"
		      " table below). Without scheduler statistics the rest holds those waits."
		      " The copy is also set against a bare memcpy of the same bytes from a"
		      " frame another process has just written.\n\n"
		      "| scenario | direct ms/frame | over the emulator | round trip adds |"
		      " proxy's copy | copy vs bare memcpy | client's extra CPU |"
		      " client and weston wait more | rest |\n"
		      "| --- | --: | --: | --: | --: | --: | --: | --: | --: |\n",
			out);
	}
	for (size_t s = 0; s < results->scenario_count; s++) {
		if (!one_client_sync(results->scenarios[s])) {
			continue;
		}
		struct summary emu = summarize(results, s, WCP_PATH_EMU);
		struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
		double direct_ms = 1000.0 / direct.median;
		double emu_ms = 1000.0 / emu.median;
		double memcpy_ms = (double)emu.copy_bytes / results->fresh_bandwidth[s] * 1000.0;
		double client_ms = emu.client_ms - direct.client_ms;
		// Beyond the extra they wait in a round trip, which its added time holds.
		double wait_ms =
			client_weston_wait(&emu) - client_weston_wait(&direct) - rt_wait_ms;
		double rest_ms = emu_ms - direct_ms - added_ms - emu.copy_ms - client_ms -
			(isnan(wait_ms) ? 0.0 : wait_ms);
		const char *name = results->scenarios[s]->name;
		if (raw != NULL) {
			fprintf(raw,
				"frame_time scenario=%s direct_ms=%.6g emu_ms=%.6g added_ms=%.6g "
				"copy_ms=%.6g memcpy_ms=%.6g client_extra_ms=%.6g wait_extra_ms=%.6g "
				"rest_ms=%.6g\n",
				name, direct_ms, emu_ms, added_ms, emu.copy_ms, memcpy_ms,
				client_ms, wait_ms, rest_ms);
			continue;
		}
		fprintf(out, "| %s", name);
		cell(out, 3, direct_ms, "");
		cell(out, 3, emu_ms, "");
		cell(out, 3, added_ms, "");
		cell(out, 3, emu.copy_ms, "");
		cell(out, 2, ratio(emu.copy_ms, memcpy_ms), "×");
		cell(out, 3, client_ms, "");
		cell(out, 3, wait_ms, "");
		cell(out, 3, rest_ms, "");
		fputs(" |\n", out);
	}
	if (raw == NULL) {
		fputs("\n", out);
	}
}

/*
 * Time spent woken but waiting for a CPU, per frame (or round trip), for
 * the one-client sync-paced scenarios and the round trip, direct and over
 * the emulator: on such a path the processes run one after another, so a
 * wait is on the frame's path unless it overlaps another process's work.
 */
static void waits_table(const struct wcp_results *results, FILE *out) {
	if (!has_path(results, WCP_PATH_DIRECT) || !has_path(results, WCP_PATH_EMU)) {
		return;
	}
	fputs("### Waiting for a CPU\n\n"
	      "The time each process spent woken (or preempted) but waiting for a CPU, in ms"
	      " per frame or round trip: the run-queue delay of /proc/PID/schedstat over the"
	      " measured window. The processes of a sync-paced path run one after another:"
	      " the client and weston are each woken once a frame to pass it on, and those"
	      " waits are on the frame's path (weston's also hold its wake-ups to repaint"
	      " at the output's rate, which are not); the proxy's and the emulator's can"
	      " overlap the client's drawing (the proxy's next cross-domain POLL, a"
	      " preemption after the reply).\n\n"
	      "| scenario | direct: client | weston | over the emulator: client | weston |"
	      " proxy | emulator |\n"
	      "| --- | --: | --: | --: | --: | --: | --: |\n",
		out);
	for (size_t s = 0; s < results->scenario_count; s++) {
		const struct wcp_scenario *sc = results->scenarios[s];
		if (sc->kind != WCP_SCENARIO_ROUNDTRIP && !one_client_sync(sc)) {
			continue;
		}
		struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
		struct summary emu = summarize(results, s, WCP_PATH_EMU);
		fprintf(out, "| %s", sc->name);
		cell(out, 3, direct.client_wait_ms, "");
		cell(out, 3, direct.weston_wait_ms, "");
		cell(out, 3, emu.client_wait_ms, "");
		cell(out, 3, emu.weston_wait_ms, "");
		cell(out, 3, emu.relay_wait_ms, "");
		cell(out, 3, emu.emu_wait_ms, "");
		fputs(" |\n", out);
	}
	fputs("\n", out);
}

/* What waking a process costs, measured apart from the paths (wakeup.c). */
static void wakeup_table(const struct wcp_results *results, FILE *out) {
	const struct wcp_wakeup *w = &results->wakeup;
	if (w->same.reader_cpu < 0) {
		return;
	}
	char cpus[64] = "Only one CPU is allowed here: nothing ran apart.";
	if (w->apart[0].reader_cpu >= 0) {
		snprintf(cpus, sizeof(cpus), "The writer ran on CPU %d, the reader on CPU %d.",
			w->apart[0].writer_cpu, w->apart[0].reader_cpu);
	}
	fprintf(out,
		"### Waking a process\n\n"
		"Each process of a path wakes the next one with a write into a socket, and"
		" a frame crosses between the CPUs several times. Measured apart from the"
		" paths, in the same run (medians of %d): a process writes a byte into a pipe"
		" whose reader sleeps in read(), on the other CPU after that CPU has had"
		" nothing to run for the time in the first column, or on the writer's own"
		" CPU; how long the write takes the writer, and how long after it began the"
		" reader runs. After a copy or a drawing, the other CPU has had nothing to"
		" run for as long as it took. %s\n\n"
		"| reader | its CPU idle before (µs) | the write takes (µs) | the reader runs"
		" after (µs) |\n"
		"| --- | --: | --: | --: |\n",
		WCP_WAKEUP_COUNT, cpus);
	for (int i = 0; i < WCP_WAKEUP_GAPS && w->apart[i].reader_cpu >= 0; i++) {
		fprintf(out, "| other CPU | %" PRIu32, wcp_wakeup_gap_us[i]);
		cell(out, 1, w->apart[i].write_us, "");
		cell(out, 1, w->apart[i].latency_us, "");
		fputs(" |\n", out);
	}
	fputs("| same CPU | –", out);
	cell(out, 1, w->same.write_us, "");
	cell(out, 1, w->same.latency_us, "");
	fputs(" |\n\n", out);
}

void report_markdown(const struct wcp_results *results, FILE *out) {
	const struct wcp_machine *m = &results->machine;
	const struct wcp_settings *st = &results->settings;
	fprintf(out, "## Results\n\n");
	fprintf(out, "Command: `%s`\n\n", st->command);
	fprintf(out,
		"Machine: %s, %ld cores online, %s RAM, Linux %s; load average at the start: %s."
		" Versions: %s, %s, libwayland %s, %s (%s build). Single-core memcpy of 128 MiB"
		" (out of cache): %.2f GB/s.\n\n",
		m->cpu, m->cores, m->memory, m->kernel, m->load, m->weston, m->waypipe,
		m->libwayland, m->proxy, m->build_type, results->streaming_bandwidth / 1e9);
	fprintf(out,
		"Each path ran %" PRIu32 " times per scenario, interleaved (A B C D … A B C D …),"
		" for %" PRIu32 " ms after a %" PRIu32 " ms warm-up; the whole run took %.0f s."
		" CPU is user + system time, from each process's CPU-time clock"
		" (clock_getcpuclockid, to the nanosecond), over the measured window; for"
		" waypipe, \"relay\" is both of its processes, and for the two forwarders,"
		" \"relay\" is the one the client connects to and \"emulator\" the one that"
		" connects to weston.\n\n",
		st->reps, st->duration_ms, st->warmup_ms, results->wall_s);
	for (size_t s = 0; s < results->scenario_count; s++) {
		scenario_table(results, s, out);
	}
	memory_table(results, out);
	targets(results, out, NULL);
	bounds(results, out, NULL);
	frame_time(results, out, NULL);
	waits_table(results, out);
	handoff_table(results, out);
	wakeup_table(results, out);
}

void report_raw(const struct wcp_results *results, FILE *out) {
	for (size_t s = 0; s < results->scenario_count; s++) {
		const char *name = results->scenarios[s]->name;
		fprintf(out, "bandwidth scenario=%s bytes_per_s=%.0f fresh_bytes_per_s=%.0f\n",
			name, results->bandwidth[s], results->fresh_bandwidth[s]);
		const struct wcp_handoff *h = &results->handoff[s];
		fprintf(out,
			"handoff scenario=%s draw_alone_ms=%.4f draw_same_ms=%.4f copy_same_ms=%.4f"
			" draw_apart_ms=%.4f copy_apart_ms=%.4f draw_evicted_ms=%.4f"
			" copy_evicted_ms=%.4f\n",
			name, h->draw_alone_ms, h->draw_same_ms, h->copy_same_ms, h->draw_apart_ms,
			h->copy_apart_ms, h->draw_evicted_ms, h->copy_evicted_ms);
		for (size_t i = 0; i < results->path_count; i++) {
			enum wcp_path_kind p = results->paths[i];
			for (uint32_t r = 0; r < results->settings.reps; r++) {
				const struct wcp_sample *x = results_sample(results, s, p, r);
				fprintf(out,
					"sample scenario=%s path=%s rep=%" PRIu32
					" ok=%d frames=%" PRIu64
					" elapsed_s=%.6f rate=%.3f relay_cpu_s=%.6f emu_cpu_s=%.6f"
					" weston_cpu_s=%.6f client_cpu_s=%.6f damage_bytes=%" PRIu64
					" copy_bytes=%" PRIu64
					" copy_ms=%.6g relay_wait_s=%.6g emu_wait_s=%.6g"
					" weston_wait_s=%.6g client_wait_s=%.6g"
					" proxy_hwm_kib=%" PRIu64 " proxy_shmem_kib=%" PRIu64 "\n",
					name, path_name(p), r + 1, x->ok ? 1 : 0, x->frames,
					x->elapsed_s, x->rate, x->relay_cpu_s, x->emu_cpu_s,
					x->weston_cpu_s, x->client_cpu_s, x->damage_bytes,
					x->copy_bytes, x->copy_ms, x->relay_wait_s, x->emu_wait_s,
					x->weston_wait_s, x->client_wait_s, x->proxy_memory.vm_hwm,
					x->proxy_memory.rss_shmem);
			}
			struct summary sum = summarize(results, s, p);
			struct summary direct = summarize(results, s, WCP_PATH_DIRECT);
			struct summary waypipe = summarize(results, s, WCP_PATH_WAYPIPE);
			fprintf(out,
				"summary scenario=%s path=%s ok=%" PRIu32 " median=%.3f min=%.3f"
				" max=%.3f vs_direct=%.4f vs_waypipe=%.4f relay_cpu_ms=%.4f"
				" emu_cpu_ms=%.4f weston_cpu_ms=%.4f client_cpu_ms=%.4f copy_ms=%.6g"
				" relay_wait_ms=%.6g emu_wait_ms=%.6g weston_wait_ms=%.6g"
				" client_wait_ms=%.6g\n",
				name, path_name(p), sum.ok, sum.median, sum.min, sum.max,
				ratio(sum.median, direct.median), ratio(sum.median, waypipe.median),
				sum.relay_ms, sum.emu_ms, sum.weston_ms, sum.client_ms, sum.copy_ms,
				sum.relay_wait_ms, sum.emu_wait_ms, sum.weston_wait_ms,
				sum.client_wait_ms);
		}
	}
	for (size_t i = 0; i < results->path_count; i++) {
		enum wcp_path_kind p = results->paths[i];
		const struct wcp_memory_result *m = &results->memory[p];
		if (!m->measured) {
			continue;
		}
		fprintf(out,
			"memory path=%s idle_rss_kib=%" PRIu64 " idle_hwm_kib=%" PRIu64
			" one_client_rss_kib=%" PRIu64 " clients=%" PRIu32
			" clients_rss_kib=%" PRIu64 " emu_idle_rss_kib=%" PRIu64 "\n",
			path_name(p), m->idle.vm_rss, m->idle.vm_hwm, m->one.vm_rss,
			m->many_clients, m->many.vm_rss, m->emu_idle.vm_rss);
	}
	const struct wcp_wakeup *w = &results->wakeup;
	for (int i = -1; i < WCP_WAKEUP_GAPS; i++) {
		const struct wcp_wake_series *x = i < 0 ? &w->same : &w->apart[i];
		if (x->reader_cpu >= 0) {
			fprintf(out,
				"wakeup writer_cpu=%d reader_cpu=%d idle_us=%" PRIu32
				" write_us=%.3f latency_us=%.3f\n",
				x->writer_cpu, x->reader_cpu, i < 0 ? 0 : wcp_wakeup_gap_us[i],
				x->write_us, x->latency_us);
		}
	}
	targets(results, NULL, out);
	bounds(results, NULL, out);
	frame_time(results, NULL, out);
}
