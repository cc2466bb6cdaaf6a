#include "helper.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

bool wcp_helper_start(struct wcp_helper *h, void (*body)(const void *context, int in, int out),
	const void *context) {
	*h = (struct wcp_helper)WCP_HELPER_NONE;
	if (pipe2(h->to, O_CLOEXEC) < 0 || pipe2(h->from, O_CLOEXEC) < 0) {
		return false;
	}
	h->pid = fork();
	if (h->pid == 0) {
		close(h->to[1]);
		close(h->from[0]);
		body(context, h->to[0], h->from[1]);
		_exit(1);
	}
	// The helper's ends: with them closed here, a helper that ends early
	// is an end of file instead of a wait.
	close(h->to[0]);
	close(h->from[1]);
	h->to[0] = h->from[1] = -1;
	return h->pid > 0;
}

void wcp_helper_finish(struct wcp_helper *h) {
	for (int i = 0; i < 2; i++) {
		if (h->to[i] >= 0) {
			close(h->to[i]);
		}
		if (h->from[i] >= 0) {
			close(h->from[i]);
		}
	}
	if (h->pid > 0) {
		waitpid(h->pid, NULL, 0);
	}
	*h = (struct wcp_helper)WCP_HELPER_NONE;
}

bool wcp_pin_to(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}
