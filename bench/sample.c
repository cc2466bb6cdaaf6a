#include "sample.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** Reads pgrp and utime + stime (in clock ticks) from /proc/PID/stat. */
static bool read_stat(pid_t pid, pid_t *pgrp, uint64_t *ticks) {
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
	unsigned long long utime, stime;
	// Fields 3 (state) to 15 (stime); pgrp is field 5.
	if (sscanf(p + 1, " %*c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &pg, &utime,
		    &stime) != 3) {
		return false;
	}
	*pgrp = pg;
	*ticks = utime + stime;
	return true;
}

static double ticks_to_seconds(uint64_t ticks) {
	static long hz;
	if (hz <= 0) {
		hz = sysconf(_SC_CLK_TCK);
	}
	return (double)ticks / (double)(hz > 0 ? hz : 100);
}

double sample_process_cpu(pid_t pid) {
	pid_t pgrp;
	uint64_t ticks;
	return read_stat(pid, &pgrp, &ticks) ? ticks_to_seconds(ticks) : 0.0;
}

double sample_group_cpu(pid_t pgid, pid_t exclude) {
	DIR *dir = opendir("/proc");
	if (dir == NULL) {
		return 0.0;
	}
	uint64_t total = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == exclude) {
			continue;
		}
		pid_t pgrp;
		uint64_t ticks;
		if (read_stat((pid_t)pid, &pgrp, &ticks) && pgrp == pgid) {
			total += ticks;
		}
	}
	closedir(dir);
	return ticks_to_seconds(total);
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
