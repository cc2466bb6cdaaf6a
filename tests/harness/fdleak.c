#include "fdleak.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

bool fdleak_snapshot(struct wcp_fd_set *set) {
	*set = (struct wcp_fd_set){0};
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL) {
		return false;
	}
	int own = dirfd(dir);
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || end == entry->d_name || fd == own) {
			continue;
		}
		if (fd >= 0 && fd < WCP_FD_SET_MAX) {
			set->open[fd / 8] |= (unsigned char)(1u << (fd % 8));
			set->count++;
		}
	}
	closedir(dir);
	return true;
}

bool fdleak_contains(const struct wcp_fd_set *set, int fd) {
	if (fd < 0 || fd >= WCP_FD_SET_MAX) {
		return false;
	}
	return (set->open[fd / 8] >> (fd % 8)) & 1u;
}

int fdleak_report(const struct wcp_fd_set *before, const struct wcp_fd_set *after, FILE *out) {
	int leaked = 0;
	for (int fd = 0; fd < WCP_FD_SET_MAX; fd++) {
		if (!fdleak_contains(after, fd) || fdleak_contains(before, fd)) {
			continue;
		}
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		fprintf(out, "leaked fd %d -> %s\n", fd, target);
		leaked++;
	}
	return leaked;
}
