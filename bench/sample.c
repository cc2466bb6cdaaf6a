#include "sample.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/** Reads the process group of `pid` from /proc/PID/stat. */
static bool read_pgrp(pid_t pid, pid_t *pgrp) {
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	bool ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	// The command name is in parentheses and may hold spaces: fields are
	// counted from the last ')'.
	char *p = ok ? strrchr(line, ')') : NULL;
	if (p == NULL) {
		return false;
	}
	int pg;
	// Fields 3 (state) to 5 (pgrp).
	if (sscanf(p + 1, " %*c %*d %d", &pg) != 1) {
		return false;
	}
	*pgrp = pg;
	return true;
}

/*
 * The CPU time of `pid` so far, user and system, of all its threads (those
 * that have exited included), to the nanosecond: the process's CPU-time
 * clock. /proc/PID/stat counts the same in clock ticks, 10 ms apart, which
 * is coarse next to a frame. False if the process is gone.
 */
static bool read_cpu(pid_t pid, double *seconds) {
	clockid_t clock;
	struct timespec now;
	if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &now) != 0) {
		return false;
	}
	*seconds = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	return true;
}

/* Whether this kernel keeps scheduler statistics (CONFIG_SCHED_INFO). Asked once. */
static bool have_schedstat(void) {
	static int known = -1;
	if (known < 0) {
		known = access("/proc/self/schedstat", R_OK) == 0;
	}
	return known == 1;
}

/*
 * The run-queue delay of every thread of `pid` together, in ns: the second
 * field of /proc/PID/task/TID/schedstat. False if the process is gone.
 */
static bool read_wait(pid_t pid, uint64_t *ns) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		return false;
	}
	uint64_t total = 0;
	bool found = false;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		char file[320];
		snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", (int)pid, entry->d_name);
		FILE *f = fopen(file, "re");
		if (f == NULL) {
			continue; // a thread that has just exited
		}
		unsigned long long run, wait;
		if (fscanf(f, "%llu %llu", &run, &wait) == 2) {
			total += wait;
			found = true;
		}
		fclose(f);
	}
	closedir(dir);
	*ns = total;
	return found;
}

/*
 * Reads the times of `pid` into *out, and its process group; false if it is
 * gone. With `pgid` above 0, a process of another group is left unread.
 */
static bool read_times(pid_t pid, pid_t pgid, struct wcp_times *out) {
	pid_t pgrp;
	uint64_t ns = 0;
	double cpu;
	if (!read_pgrp(pid, &pgrp) || (pgid > 0 && pgrp != pgid)) {
		return false;
	}
	if (!read_cpu(pid, &cpu) || (have_schedstat() && !read_wait(pid, &ns))) {
		return false;
	}
	out->cpu = cpu;
	out->wait = have_schedstat() ? (double)ns / 1e9 : NAN;
	return true;
}

struct wcp_times sample_process_times(pid_t pid) {
	struct wcp_times times = {0};
	if (!read_times(pid, 0, &times)) {
		return (struct wcp_times){.wait = have_schedstat() ? 0.0 : NAN};
	}
	return times;
}

struct wcp_times sample_group_times(pid_t pgid, pid_t exclude) {
	struct wcp_times total = {.wait = have_schedstat() ? 0.0 : NAN};
	DIR *dir = opendir("/proc");
	if (dir == NULL) {
		return total;
	}
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == exclude) {
			continue;
		}
		struct wcp_times times;
		if (read_times((pid_t)pid, pgid, &times)) {
			total.cpu += times.cpu;
			total.wait += times.wait;
		}
	}
	closedir(dir);
	return total;
}

struct wcp_times sample_times_sub(struct wcp_times a, struct wcp_times b) {
	return (struct wcp_times){.cpu = a.cpu - b.cpu, .wait = a.wait - b.wait};
}

bool sample_memory(pid_t pid, struct wcp_memory *out) {
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	*out = (struct wcp_memory){0};
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{"VmHWM:", offsetof(struct wcp_memory, vm_hwm)},
		{"VmRSS:", offsetof(struct wcp_memory, vm_rss)},
		{"RssAnon:", offsetof(struct wcp_memory, rss_anon)},
		{"RssFile:", offsetof(struct wcp_memory, rss_file)},
		{"RssShmem:", offsetof(struct wcp_memory, rss_shmem)},
	};
	bool found = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			size_t len = strlen(fields[i].key);
			if (strncmp(line, fields[i].key, len) == 0) {
				uint64_t *value = (uint64_t *)((char *)out + fields[i].offset);
				*value = strtoull(line + len, NULL, 10);
				found = true;
			}
		}
	}
	fclose(f);
	return found;
}

static int compare_doubles(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double sample_median(double *values, size_t count) {
	if (count == 0) {
		return NAN;
	}
	qsort(values, count, sizeof(*values), compare_doubles);
	return count % 2 == 1 ? values[count / 2]
			      : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}
