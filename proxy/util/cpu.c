#include "util/cpu.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most CPUs described; beyond, a CPU counts as undescribed. */
#define CPU_LIMIT 65536

/* "processor" is field 39 of /proc/PID/stat (proc(5)), counting from 1. */
#define STAT_PROCESSOR_FIELD 39

/* A small sysfs file's text, without its trailing newline; false if unreadable. */
static bool read_text(const char *path, char *out, size_t size) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0) {
		return false;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return true;
}

/* The lowest CPU of a cpulist ("0-3,8-11" or "5"); -1 when it has none. */
static int list_lowest(const char *list) {
	int lowest = -1;
	const char *p = list;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		char *end;
		long cpu = strtol(p, &end, 10);
		if (cpu <= INT_MAX && (lowest < 0 || cpu < lowest)) {
			lowest = (int)cpu;
		}
		p = end;
	}
	return lowest;
}

/* The lowest CPU sharing cpu's highest-level cache; -1 when sysfs does not say. */
static int llc_group(const char *cpu_dir, int cpu) {
	long best_level = 0;
	int group = -1;
	for (int index = 0;; index++) {
		char path[PATH_MAX], text[4096];
		snprintf(path, sizeof(path), "%s/cpu%d/cache/index%d/level", cpu_dir, cpu, index);
		if (!read_text(path, text, sizeof(text))) {
			break;
		}
		long level = strtol(text, NULL, 10);
		snprintf(path, sizeof(path), "%s/cpu%d/cache/index%d/shared_cpu_list", cpu_dir, cpu,
			index);
		if (level > best_level && read_text(path, text, sizeof(text))) {
			best_level = level;
			group = list_lowest(text);
		}
	}
	return group;
}

bool cpu_caches_init(struct wcp_cpu_caches *caches, const char *cpu_dir) {
	*caches = (struct wcp_cpu_caches){0};
	DIR *dir = opendir(cpu_dir);
	if (dir == NULL) {
		return true;
	}
	int highest = -1;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		// cpu0, cpu1, ... and not cpufreq or cpuidle.
		const char *digits = entry->d_name + 3;
		if (strncmp(entry->d_name, "cpu", 3) != 0 || !isdigit((unsigned char)*digits)) {
			continue;
		}
		char *end;
		long cpu = strtol(digits, &end, 10);
		if (*end == '\0' && cpu < CPU_LIMIT && cpu > highest) {
			highest = (int)cpu;
		}
	}
	closedir(dir);
	if (highest < 0) {
		return true;
	}
	caches->group = calloc((size_t)highest + 1, sizeof(*caches->group));
	if (caches->group == NULL) {
		return false;
	}
	caches->count = highest + 1;
	for (int cpu = 0; cpu <= highest; cpu++) {
		caches->group[cpu] = llc_group(cpu_dir, cpu);
	}
	return true;
}

void cpu_caches_finish(struct wcp_cpu_caches *caches) {
	free(caches->group);
	*caches = (struct wcp_cpu_caches){0};
}

bool cpu_caches_shared(const struct wcp_cpu_caches *caches, int a, int b) {
	if (a == b) {
		return true;
	}
	if (a < 0 || b < 0 || a >= caches->count || b >= caches->count) {
		return false;
	}
	return caches->group[a] >= 0 && caches->group[a] == caches->group[b];
}

int cpu_parse_stat(const char *text) {
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields after it start at the last ')'.
	const char *p = strrchr(text, ')');
	if (p == NULL) {
		return -1;
	}
	int field = 2;
	for (p++; *p != '\0'; p++) {
		if (*p != ' ') {
			continue;
		}
		if (++field == STAT_PROCESSOR_FIELD) {
			char *end;
			long cpu = strtol(p + 1, &end, 10);
			return end != p + 1 && cpu >= 0 && cpu <= INT_MAX ? (int)cpu : -1;
		}
	}
	return -1;
}

int cpu_of_task(int stat_fd) {
	char text[1024];
	ssize_t n = pread(stat_fd, text, sizeof(text) - 1, 0);
	if (n <= 0) {
		return -1;
	}
	text[n] = '\0';
	return cpu_parse_stat(text);
}

bool cpu_first_allowed(int cpus[2]) {
	cpus[0] = cpus[1] = -1;
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		return false;
	}
	for (int cpu = 0, found = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (CPU_ISSET(cpu, &allowed)) {
			cpus[found++] = cpu;
		}
	}
	return true;
}
