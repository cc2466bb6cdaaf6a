/*
 * Where processes run (util/cpu.c): the CPU field of /proc/PID/stat, and
 * which CPUs share a last-level cache, from a sysfs tree made here.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/cpu.h"

TEST(stat_processor_field_is_found_past_any_command_name) {
	// Fields 3 to 38 are 1s here, field 39 (processor) is 5, 40 on are 0s.
	char tail[512] = "";
	for (int field = 3; field <= 52; field++) {
		size_t len = strlen(tail);
		snprintf(tail + len, sizeof(tail) - len, " %d",
			field < 39            ? 1
				: field == 39 ? 5
					      : 0);
	}
	char text[600];
	test_format(text, sizeof(text), "1234 (wcp-client)%s\n", tail);
	test_assert(cpu_parse_stat(text) == 5);
	// A command name may hold spaces and parentheses.
	test_format(text, sizeof(text), "1234 (a) (b c) d)%s\n", tail);
	test_assert(cpu_parse_stat(text) == 5);
	test_assert(cpu_parse_stat("1234 (short) S 1 2 3\n") == -1);
	test_assert(cpu_parse_stat("no parenthesis") == -1);
	test_assert(cpu_parse_stat("") == -1);
}

TEST(our_own_cpu_is_read_from_proc) {
	cpu_set_t allowed, one;
	test_assert(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	test_assert(fd >= 0);
	// Pinned to each allowed CPU in turn (a few), the stat file follows.
	int tried = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && tried < 4; cpu++) {
		if (!CPU_ISSET(cpu, &allowed)) {
			continue;
		}
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		test_assert(sched_setaffinity(0, sizeof(one), &one) == 0);
		test_assert(cpu_of_task(fd) == cpu);
		tried++;
	}
	test_assert(tried > 0);
	test_assert(sched_setaffinity(0, sizeof(allowed), &allowed) == 0);
	close(fd);
	test_assert(cpu_of_task(-1) == -1);
}

TEST(first_allowed_cpus_follow_the_affinity) {
	cpu_set_t allowed, some;
	test_assert(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	int lowest = -1, highest = -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &allowed)) {
			lowest = lowest < 0 ? cpu : lowest;
			highest = cpu;
		}
	}
	int cpus[2];
	test_assert(cpu_first_allowed(cpus));
	test_assert(cpus[0] == lowest);
	test_assert(highest == lowest
			? cpus[1] == -1
			: cpus[1] > lowest && cpus[1] <= highest && CPU_ISSET(cpus[1], &allowed));
	// Narrowed to the highest CPU alone, then to it and the lowest: the
	// lowest comes first, and nothing else is named.
	CPU_ZERO(&some);
	CPU_SET(highest, &some);
	test_assert(sched_setaffinity(0, sizeof(some), &some) == 0);
	test_assert(cpu_first_allowed(cpus));
	test_assert(cpus[0] == highest && cpus[1] == -1);
	if (highest != lowest) {
		CPU_SET(lowest, &some);
		test_assert(sched_setaffinity(0, sizeof(some), &some) == 0);
		test_assert(cpu_first_allowed(cpus));
		test_assert(cpus[0] == lowest && cpus[1] == highest);
	}
	test_assert(sched_setaffinity(0, sizeof(allowed), &allowed) == 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	test_assert(f != NULL);
	test_assert(fputs(text, f) >= 0);
	test_assert(fclose(f) == 0);
}

/* Describes cache `index` of `cpu` under root: its level and who shares it. */
static void add_cache(const char *root, int cpu, int index, const char *level, const char *list) {
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/cpu%d", root, cpu);
	mkdir(path, 0755);
	test_format(path, sizeof(path), "%s/cpu%d/cache", root, cpu);
	mkdir(path, 0755);
	test_format(path, sizeof(path), "%s/cpu%d/cache/index%d", root, cpu, index);
	test_assert(mkdir(path, 0755) == 0);
	write_file(path, "level", level);
	write_file(path, "shared_cpu_list", list);
}

TEST(last_level_caches_come_from_sysfs) {
	char root[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	test_format(root, sizeof(root), "%s/wcp-cpu-XXXXXX", tmp != NULL ? tmp : "/tmp");
	test_assert(mkdtemp(root) != NULL);
	test_remove_at_end(root);
	// Two groups of two CPUs, each CPU with private L1 and L2; cpu4 says
	// nothing of its caches; cpu5 is missing (offline); cpu6 only has an L1.
	static const char *const groups[] = {"0-1\n", "0-1\n", "2,3\n", "2,3\n"};
	for (int cpu = 0; cpu < 4; cpu++) {
		char own[16];
		test_format(own, sizeof(own), "%d\n", cpu);
		add_cache(root, cpu, 0, "1\n", own);
		add_cache(root, cpu, 1, "1\n", own);
		add_cache(root, cpu, 2, "2\n", own);
		add_cache(root, cpu, 3, "3\n", groups[cpu]);
	}
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/cpu4", root);
	test_assert(mkdir(path, 0755) == 0);
	add_cache(root, 6, 0, "1\n", "6\n");
	test_format(path, sizeof(path), "%s/cpufreq", root);
	test_assert(mkdir(path, 0755) == 0);

	struct wcp_cpu_caches caches;
	test_assert(cpu_caches_init(&caches, root));
	test_assert(caches.count == 7);
	test_assert(cpu_caches_shared(&caches, 0, 1) && cpu_caches_shared(&caches, 3, 2));
	test_assert(!cpu_caches_shared(&caches, 1, 2) && !cpu_caches_shared(&caches, 0, 3));
	// Unknown, offline or out of range: not known to share, except with itself.
	test_assert(!cpu_caches_shared(&caches, 4, 0) && !cpu_caches_shared(&caches, 5, 0));
	test_assert(!cpu_caches_shared(&caches, 6, 0) && !cpu_caches_shared(&caches, 0, 7));
	test_assert(!cpu_caches_shared(&caches, -1, 0));
	test_assert(cpu_caches_shared(&caches, 4, 4) && cpu_caches_shared(&caches, 9, 9));
	cpu_caches_finish(&caches);
	test_assert(caches.count == 0 && caches.group == NULL);

	// No sysfs at all: nothing is known, and that is no error.
	test_format(path, sizeof(path), "%s/none", root);
	test_assert(cpu_caches_init(&caches, path));
	test_assert(caches.count == 0 && !cpu_caches_shared(&caches, 0, 1));
	cpu_caches_finish(&caches);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
