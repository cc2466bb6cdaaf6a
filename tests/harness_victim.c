/*
 * Tests that go wrong on purpose while a weston runs: harness-reaping runs
 * them and checks that no weston survives. Each writes weston's pid to
 * $WCP_VICTIM_PIDFILE first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "weston.h"

static void start_weston_and_record(void) {
	struct wcp_weston *weston = weston_start(NULL);
	const char *path = getenv("WCP_VICTIM_PIDFILE");
	FILE *f = path != NULL ? fopen(path, "we") : NULL;
	if (f == NULL) {
		test_error("WCP_VICTIM_PIDFILE is not writable");
	}
	fprintf(f, "%d\n", (int)weston->proc->pid);
	fclose(f);
}

TEST(fails_with_weston) {
	start_weston_and_record();
	test_fail("failing on purpose");
}

/* Weston's start has the whole timeout; the hang, a second of it. */
TEST_OPTS(hangs_with_weston, .timeout_s = 30) {
	start_weston_and_record();
	test_set_timeout(1);
	for (;;) {
		pause();
	}
}

/* Waits to be stopped from outside, as meson stops a test (SIGTERM). */
TEST_OPTS(waits_with_weston, .timeout_s = 60) {
	start_weston_and_record();
	for (;;) {
		pause();
	}
}

TEST(crashes_with_weston) {
	start_weston_and_record();
	abort();
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
