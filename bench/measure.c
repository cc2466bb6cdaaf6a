#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/** How long an idle proxy is left to settle before its memory is read. */
#define SETTLE_MS 300

struct line_reader {
	int fd;
	char buf[4096];
	size_t len;
};

/**
 * The next line from the reader, without its newline, into `line`. False at
 * end of file, on an error, or when `deadline` (proc_now_ms) passes.
 */
static bool read_line(struct line_reader *reader, char *line, size_t size, long long deadline) {
	for (;;) {
		char *newline = memchr(reader->buf, '\n', reader->len);
		if (newline != NULL) {
			size_t n = (size_t)(newline - reader->buf);
			snprintf(line, size, "%.*s", (int)n, reader->buf);
			reader->len -= n + 1;
			memmove(reader->buf, newline + 1, reader->len);
			return true;
		}
		if (reader->len == sizeof(reader->buf)) {
			reader->len = 0; // a line longer than any the client prints
		}
		long long left = deadline - proc_now_ms();
		if (left <= 0) {
			return false;
		}
		struct pollfd pfd = {.fd = reader->fd, .events = POLLIN};
		int ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR) {
			continue;
		}
		if (ret <= 0) {
			return false;
		}
		ssize_t got = read(
			reader->fd, reader->buf + reader->len, sizeof(reader->buf) - reader->len);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return false;
		}
		reader->len += (size_t)got;
	}
}

/** The number after " key=" in a client's line; false if it has none. */
static bool field(const char *line, const char *key, double *value) {
	char pattern[64];
	snprintf(pattern, sizeof(pattern), " %s=", key);
	const char *p = strstr(line, pattern);
	if (p == NULL) {
		return false;
	}
	char *end;
	*value = strtod(p + strlen(pattern), &end);
	return end != p + strlen(pattern);
}

/** A started client with its stdout on a pipe. */
struct client_run {
	struct wcp_proc *proc;
	struct line_reader reader;
	char log[4096];
};

static bool client_start(struct client_run *run, struct wcp_path *path, struct wcp_weston *weston,
	const char *const argv[]) {
	test_format(run->log, sizeof(run->log), "%s/bench-client.log", weston->runtime_dir);
	unlink(run->log);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "pipe: %s\n", strerror(errno));
		return false;
	}
	run->proc = path_spawn_client(path, argv, fds[1], run->log);
	close(fds[1]);
	run->reader = (struct line_reader){.fd = fds[0]};
	if (run->proc == NULL) {
		close(fds[0]);
		fprintf(stderr, "cannot start %s\n", argv[0]);
		return false;
	}
	return true;
}

/** Reads lines until one starts with `word`; false (log shown) otherwise. */
static bool client_expect(
	struct client_run *run, const char *word, char *line, size_t size, long long deadline) {
	size_t len = strlen(word);
	while (read_line(&run->reader, line, size, deadline)) {
		if (strncmp(line, word, len) == 0 && line[len] == ' ') {
			return true;
		}
	}
	fprintf(stderr, "the client did not print '%s' (%s); its log:\n", word,
		proc_now_ms() >= deadline ? "timed out" : "it ended");
	test_dump_log_tail(run->log);
	return false;
}

/** Stops the client (and a waypipe server around it), which waits for SIGTERM. */
static void client_stop(struct client_run *run) {
	proc_stop(run->proc, WCP_PROC_GRACE_MS);
	close(run->reader.fd);
}

/** The times of a measured window's processes at one edge of it. */
struct window_times {
	struct wcp_times relay, emu, weston, client;
};

static void read_times(const struct wcp_path *path, const struct wcp_weston *weston, pid_t client,
	struct window_times *out) {
	path_times(path, client, &out->relay, &out->emu);
	out->weston = sample_process_times(weston->proc->pid);
	out->client = sample_process_times(client);
}

/** The proxy's copy counters, from the "stats:" lines it logs on SIGUSR1. */
struct copy_stats {
	double commits, copied, ns;
};

/** The number of "stats:" lines in the log; the last one's counters into *last. */
static int read_stats(const char *log, struct copy_stats *last) {
	FILE *f = fopen(log, "re");
	if (f == NULL) {
		return 0;
	}
	char line[512];
	int count = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, " stats: ") != NULL &&
			field(line, "shm_commits", &last->commits) &&
			field(line, "shm_copied_bytes", &last->copied) &&
			field(line, "shm_copy_ns", &last->ns)) {
			count++;
		}
	}
	fclose(f);
	return count;
}

/** Asks the proxy over cross-domain for its counters; false on another path or no answer. */
static bool proxy_copy_stats(const struct wcp_path *path, struct copy_stats *out) {
	pid_t proxy = path_proxy_pid(path);
	if (path->kind != WCP_PATH_EMU || proxy <= 0) {
		return false;
	}
	struct copy_stats ignored;
	int before = read_stats(path->relay->log_path, &ignored);
	if (kill(proxy, SIGUSR1) != 0) {
		return false;
	}
	long long deadline = proc_now_ms() + 2000;
	while (read_stats(path->relay->log_path, out) <= before) {
		if (proc_now_ms() > deadline) {
			return false;
		}
		proc_sleep_ms(2);
	}
	return true;
}

bool measure_run(struct wcp_path *path, struct wcp_weston *weston, const char *const argv[],
	uint32_t timeout_ms, struct wcp_sample *out) {
	*out = (struct wcp_sample){.copy_ms = NAN};
	struct client_run run;
	if (!client_start(&run, path, weston, argv)) {
		return false;
	}
	long long deadline = proc_now_ms() + timeout_ms;
	char line[512];
	double pid;
	struct window_times start, end;
	struct copy_stats copy_start, copy_end;
	bool has_copy = false;
	bool ok = client_expect(&run, "measure", line, sizeof(line), deadline) &&
		field(line, "pid", &pid);
	if (ok) {
		read_times(path, weston, (pid_t)pid, &start);
		has_copy = proxy_copy_stats(path, &copy_start);
		ok = client_expect(&run, "result", line, sizeof(line), deadline);
	}
	if (ok) {
		read_times(path, weston, (pid_t)pid, &end);
		has_copy = has_copy && proxy_copy_stats(path, &copy_end);
		pid_t proxy = path_proxy_pid(path);
		out->has_memory = proxy > 0 && sample_memory(proxy, &out->proxy_memory);
		double frames, elapsed, rate, damage;
		ok = field(line, "frames", &frames) && field(line, "elapsed_s", &elapsed) &&
			field(line, "rate", &rate) && field(line, "damage_bytes", &damage);
		if (!ok) {
			fprintf(stderr, "malformed client result: %s\n", line);
		}
		out->frames = (uint64_t)frames;
		out->elapsed_s = elapsed;
		out->rate = rate;
		out->damage_bytes = (uint64_t)damage;
		double commits = has_copy ? copy_end.commits - copy_start.commits : 0;
		out->copy_bytes = commits > 0
			? (uint64_t)((copy_end.copied - copy_start.copied) / commits)
			: 0;
		out->copy_ms = commits > 0 ? (copy_end.ns - copy_start.ns) / commits / 1e6 : NAN;
		struct wcp_times relay_times = sample_times_sub(end.relay, start.relay);
		struct wcp_times emu_times = sample_times_sub(end.emu, start.emu);
		struct wcp_times weston_times = sample_times_sub(end.weston, start.weston);
		struct wcp_times client_times = sample_times_sub(end.client, start.client);
		out->relay_cpu_s = relay_times.cpu;
		out->emu_cpu_s = emu_times.cpu;
		out->weston_cpu_s = weston_times.cpu;
		out->client_cpu_s = client_times.cpu;
		out->relay_wait_s = relay_times.wait;
		out->emu_wait_s = emu_times.wait;
		out->weston_wait_s = weston_times.wait;
		out->client_wait_s = client_times.wait;
	}
	client_stop(&run);
	out->ok = ok && out->frames > 0;
	return out->ok;
}

/** Runs `clients` idle clients and reads the proxy's memory once they are up. */
static bool memory_with_clients(struct wcp_path *path, struct wcp_weston *weston,
	const char *client, uint32_t clients, struct wcp_memory *out) {
	char count[16];
	snprintf(count, sizeof(count), "%" PRIu32, clients);
	const char *argv[] = {
		client, "--mode", "idle", "--clients", count, "--size", "64x64", NULL};
	struct client_run run;
	if (!client_start(&run, path, weston, argv)) {
		return false;
	}
	char line[256];
	bool ok = client_expect(&run, "ready", line, sizeof(line), proc_now_ms() + 20000);
	if (ok) {
		proc_sleep_ms(SETTLE_MS);
		ok = sample_memory(path_proxy_pid(path), out);
	}
	client_stop(&run);
	return ok;
}

bool measure_memory(struct wcp_path *path, struct wcp_weston *weston, const char *client,
	uint32_t extra, struct wcp_memory_result *out) {
	*out = (struct wcp_memory_result){.many_clients = 1 + extra};
	proc_sleep_ms(SETTLE_MS);
	if (!sample_memory(path_proxy_pid(path), &out->idle)) {
		return false;
	}
	if (path->relay->emu != NULL) {
		sample_memory(path->relay->emu->pid, &out->emu_idle);
	}
	out->measured = memory_with_clients(path, weston, client, 1, &out->one) &&
		memory_with_clients(path, weston, client, 1 + extra, &out->many);
	return out->measured;
}
